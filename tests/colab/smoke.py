"""Run inside a fresh environment holding Colab's versions: import labkit, train, show widgets."""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

expected = {}
for line in Path(sys.argv[1]).read_text().splitlines():
    if line.strip() and not line.startswith("#"):
        name, pinned = line.split("==")
        expected[name] = pinned
found = {name: version(name) for name in expected}
assert found == expected, f"the environment does not hold Colab's versions: {found}"

import ipywidgets  # noqa: E402

import labkit  # noqa: E402
import labkit.widgets  # noqa: E402

assert not hasattr(ipywidgets, "Stack"), "ipywidgets 7.7 has no Stack"
result = labkit.run("sentences", "qlora4", limit=64, epochs=1, seed=0, progress=False)
assert 0.0 <= result.accuracy <= 1.0 and result.ledger["trainable_params"] > 0
explorers = [
    labkit.widgets.memory_calculator(model="7B", method="qlora"),
    labkit.widgets.threshold_explorer(result),
]
for explorer in explorers:
    assert isinstance(explorer.widget, ipywidgets.Widget), type(explorer.widget)
    assert explorer.mode == "observe", "without ipywidgets.Stack the explorers use observe"
calculator = explorers[0]
before = calculator.shown()
calculator.controls["method"].value = "full"
assert calculator.shown() != before, "the memory calculator did not respond to its method"
print(
    f"COLAB-SMOKE OK labkit {labkit.__version__}, accuracy {result.accuracy:.3f}, "
    f"{len(explorers)} explorers with ipywidgets {ipywidgets.__version__}"
)
