"""Generate exercises/ from solutions/: the solution notebooks are the single source.

In a solution notebook, code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is the
answer. In the exercise it becomes ``...`` plus a ``# YOUR CODE HERE`` line, and its outputs are
cleared. Cells after the first solution cell are cleared too (they depend on the answer), and
they are tagged ``raises-exception`` so that nbval runs an unsolved exercise without failing.

    python tools/make_exercises.py            # write exercises/
    python tools/make_exercises.py --check    # exit 1 when exercises/ is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = re.compile(
    r"^(?P<indent>[ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*\n?",
    re.S | re.M,
)
TITLE = re.compile(r"^(#\s.*?)\s*\(solution\)\s*$", re.M)


def _strip(source: str) -> str:
    return SOLUTION.sub(lambda m: f"{m['indent']}# YOUR CODE HERE\n{m['indent']}...\n", source)


def exercise_from_solution(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return the exercise version of a solution notebook."""
    out = nbformat.from_dict(nb)
    after_solution = False
    for cell in out.cells:
        if cell.cell_type == "markdown":
            cell.source = TITLE.sub(r"\1 (exercise)", cell.source)
            continue
        has_solution = bool(SOLUTION.search(cell.source))
        if has_solution:
            cell.source = _strip(cell.source)
        if has_solution or after_solution:
            cell.outputs = []
            cell.execution_count = None
            tags = [t for t in cell.metadata.get("tags", []) if t != "raises-exception"]
            cell.metadata["tags"] = [*tags, "raises-exception"]
        after_solution = after_solution or has_solution
    return out


def expected_exercises() -> dict[Path, str]:
    """Map each exercise path to the text it should have."""
    result = {}
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        result[ROOT / "exercises" / path.name] = nbformat.writes(exercise_from_solution(nb)) + "\n"
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report drift")
    args = parser.parse_args(argv)
    stale = []
    for path, text in expected_exercises().items():
        if not path.exists() or path.read_text() != text:
            stale.append(path)
            if not args.check:
                path.parent.mkdir(exist_ok=True)
                path.write_text(text)
    if args.check and stale:
        print("out of date (run `make exercises`):", *map(str, stale), sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
