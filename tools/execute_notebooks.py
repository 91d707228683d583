"""Re-execute notebooks in place so their stored outputs are fresh, and record what made them.

    python tools/execute_notebooks.py book exercises solutions   # folders or .ipynb files

After the last cell, a probe cell (not saved) asks the kernel for the labkit version and the
fingerprints of the data sets the notebook holds (every ``Task``, also inside a ``RunResult``);
they go into ``metadata.labkit`` with the wall-clock run time and the kernel's CPU time (user +
system, all threads): the CPU time does not grow when other programs load the machine. ``tests/test_provenance.py`` fails when a
notebook's recorded labkit minor version differs from the package's, so a change that alters
results (bump the minor version) forces re-execution before the website shows stale numbers,
and the website shows the record in a footer line (``book/_ext/provenance.py``).

Exercises are written by tools/make_exercises.py and are not executed (their gaps would fail).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
# The stored outputs are the page's evidence: a statement of the prose that they contradict
# (labkit.notebook.claim) must stop the execution, not print a note.
os.environ.setdefault("LABKIT_STRICT_CLAIMS", "1")
# The Makefile exports MPLBACKEND=Agg (no windows in tests); a kernel started with it would store
# no figures at all. The notebook's inline backend is what the pages need.
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
PROBE = """
import json as _json
def _labkit_provenance():
    import labkit
    from labkit.data import Task
    seen = {}
    def visit(value, depth=0):
        if isinstance(value, Task):
            seen[value.fingerprint()] = value.name
        elif depth < 2 and isinstance(value, (list, tuple, dict)):
            for item in (value.values() if isinstance(value, dict) else value):
                visit(item, depth + 1)
        elif getattr(value, "task", None) is not None and isinstance(value.task, Task):
            visit(value.task, depth + 1)
    for name, value in list(globals().items()):
        if not name.startswith("_"):
            visit(value)
    tasks = [{"name": n, "fingerprint": f[:16]} for f, n in sorted(seen.items(), key=lambda kv: kv[1])]
    import resource
    usage = resource.getrusage(resource.RUSAGE_SELF)  # the kernel process, all its threads
    cpu = round(usage.ru_utime + usage.ru_stime, 1)
    return {"labkit_version": labkit.__version__, "data": tasks, "cpu_seconds": cpu}
print("LABKIT-PROVENANCE " + _json.dumps(_labkit_provenance()))
"""


def notebooks(args: list[str]) -> list[Path]:
    found: list[Path] = []
    for arg in args:
        path = Path(arg)
        items = [path] if path.suffix == ".ipynb" else sorted(path.rglob("*.ipynb"))
        found += [p for p in items if ".ipynb_checkpoints" not in p.parts]
    return [p for p in found if p.resolve().parent != ROOT / "exercises"]


def _provenance(client: NotebookClient) -> dict:
    probe = nbformat.v4.new_code_cell(PROBE)
    client.nb.cells.append(probe)
    try:
        client.execute_cell(probe, len(client.nb.cells) - 1)
    finally:
        client.nb.cells.pop()
    for output in probe.outputs:
        text = output.get("text", "")
        for line in text.splitlines():
            if line.startswith("LABKIT-PROVENANCE "):
                return json.loads(line.removeprefix("LABKIT-PROVENANCE "))
    return {}


# Stored outputs must not show this machine: the virtual environment's absolute site-packages
# path becomes "…/site-packages", the repository's absolute path a relative one.
_SITE_PACKAGES = re.compile(r"(?:/[\w.\-]+)+/site-packages/")


def sanitise_text(text: str) -> str:
    """Replace absolute paths of this machine in one output text."""
    text = _SITE_PACKAGES.sub("…/site-packages/", text)
    return text.replace(f"{ROOT}/", "").replace(str(ROOT), ".")


def sanitise_outputs(nb: nbformat.NotebookNode) -> None:
    """Apply :func:`sanitise_text` to every stored output of ``nb`` in place."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = sanitise_text(output["text"])
            if "traceback" in output:
                output["traceback"] = [sanitise_text(line) for line in output["traceback"]]
            for mime, value in output.get("data", {}).items():
                if isinstance(value, str) and mime.startswith("text/"):
                    output["data"][mime] = sanitise_text(value)


def execute(path: Path) -> float:
    """Execute one notebook in place; returns its run time in seconds."""
    start = time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.reset_execution_trackers()
    with client.setup_kernel():
        info = client.wait_for_reply(client.kc.kernel_info())
        nb.metadata["language_info"] = info["content"]["language_info"]
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
        client.set_widgets_metadata()
        provenance = _provenance(client)
    seconds = time.perf_counter() - start
    record = nb.metadata.setdefault("labkit", {})
    record.update(provenance)
    record["run_seconds"] = round(seconds, 1)
    sanitise_outputs(nb)
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> int:
    for path in notebooks(argv or ["book", "solutions"]):
        print(f"{path}: {execute(path):.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
