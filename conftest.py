"""Test-session hooks for the whole repository (unit tests and notebooks under nbval).

- Prints the ten slowest test items and the ten slowest notebooks (nbval runs a notebook as one
  item per cell; a notebook's time is the sum of its cells).
- Fails the session when a lesson notebook, run by nbval here, takes longer than its budget:
  120 s, or 240 s for a notebook marked ``metadata.labkit.heavy``. The machine of record is a
  2-core CPU; ``LABKIT_BUDGET_FACTOR`` scales the budgets for a slower machine.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# Every statement a page makes about its numbers is checked with labkit.notebook.claim; where the
# course is tested a false one fails the notebook (kernels inherit this environment).
os.environ.setdefault("LABKIT_STRICT_CLAIMS", "1")
_ITEM_SECONDS: dict[str, float] = {}
_NOTEBOOK_SECONDS: dict[str, float] = defaultdict(float)


def _budget(notebook: Path) -> float:
    try:
        meta = json.loads(notebook.read_text()).get("metadata", {})
    except (OSError, ValueError):
        return float("inf")
    base = 240 if meta.get("labkit", {}).get("heavy") else 120
    return base * float(os.environ.get("LABKIT_BUDGET_FACTOR", "1"))


def pytest_runtest_logreport(report) -> None:
    _ITEM_SECONDS[report.nodeid] = _ITEM_SECONDS.get(report.nodeid, 0.0) + report.duration
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _NOTEBOOK_SECONDS[path] += report.duration


def _over_budget() -> list[str]:
    lines = []
    for path, seconds in _NOTEBOOK_SECONDS.items():
        if not path.startswith("book/"):
            continue
        budget = _budget(ROOT / path)
        if seconds > budget:
            lines.append(f"{path}: {seconds:.0f} s under nbval, over its {budget:.0f} s budget")
    return lines


def pytest_terminal_summary(terminalreporter) -> None:
    if not _ITEM_SECONDS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("ten slowest items")
    for nodeid, seconds in sorted(_ITEM_SECONDS.items(), key=lambda kv: -kv[1])[:10]:
        write(f"{seconds:8.1f} s  {nodeid}")
    if _NOTEBOOK_SECONDS:
        terminalreporter.section("ten slowest notebooks (sum of their cells)")
        for path, seconds in sorted(_NOTEBOOK_SECONDS.items(), key=lambda kv: -kv[1])[:10]:
            write(f"{seconds:8.1f} s  {path}")
    for line in _over_budget():
        write(f"OVER BUDGET: {line}", red=True)


def pytest_sessionfinish(session, exitstatus) -> None:
    if _over_budget() and exitstatus == 0:
        session.exitstatus = 1
