"""Re-execute notebooks in place so their stored outputs are fresh.

    python tools/execute_notebooks.py book exercises solutions   # folders or .ipynb files

Exercises are written by tools/make_exercises.py and are not executed (their gaps would fail).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def notebooks(args: list[str]) -> list[Path]:
    found: list[Path] = []
    for arg in args:
        path = Path(arg)
        items = [path] if path.suffix == ".ipynb" else sorted(path.rglob("*.ipynb"))
        found += [p for p in items if ".ipynb_checkpoints" not in p.parts]
    return [p for p in found if p.resolve().parent != ROOT / "exercises"]


def execute(path: Path) -> float:
    start = time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    nbformat.write(nb, path)
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    for path in notebooks(argv or ["book", "solutions"]):
        print(f"{path}: {execute(path):.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
