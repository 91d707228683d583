"""Generate exercises/ from solutions/: the solution notebooks are the single source.

In a solution notebook, code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is the
answer. In the exercise it becomes a ``# YOUR CODE HERE`` line followed by a stub: inside an
indented block (a function's body) a bare ``...``; at the top level of a cell one
``name = ...`` line for each variable the answer assigns at its top level (so the check after it
can say "no answer yet" instead of failing on an undefined name), a function's signature with
``...`` as its body for each function it defines, or a bare ``...`` when it does neither. Its
outputs are cleared. Cells after the first solution cell are cleared too (they depend on the
answer), and they are tagged ``raises-exception`` so that nbval runs an unsolved exercise
without failing.

On the website the answers stay folded: every solution cell of a solution notebook carries the
``hide-input`` tag (myst-nb shows such a cell's code only when the reader opens it). This script
adds the tag where it is missing and leaves it off the exercise.

    python tools/make_exercises.py            # write exercises/ (and fold the solution cells)
    python tools/make_exercises.py --check    # exit 1 when either is out of date
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import textwrap
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = re.compile(
    r"^(?P<indent>[ \t]*)### BEGIN SOLUTION[^\n]*\n(?P<body>.*?)^[ \t]*### END SOLUTION[^\n]*\n?",
    re.S | re.M,
)
TITLE = re.compile(r"^(#\s.*?)\s*\(solution\)\s*$", re.M)
FOLD = "hide-input"


def _stub(body: str) -> list[str]:
    """The lines an exercise shows in place of the answer ``body`` (without indentation)."""
    code = textwrap.dedent(body)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return ["..."]
    lines: list[str] = []
    seen: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            end = first.lineno - 1 if first is not None else node.lineno
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                end = first.end_lineno  # keep the docstring: it says what to write
            header = code.splitlines()[node.lineno - 1 - len(node.decorator_list) : end]
            if len(header) == 1 and header[0].rstrip().endswith(":"):
                header = [header[0].rstrip() + " ..."]  # a one-line stub, as ruff formats it
            else:
                header = [*header, "    ..."]
            lines += [*([""] * 2 if lines else []), *header, "", ""]
            continue
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
        )  # fmt: skip
        for target in targets:
            names = target.elts if isinstance(target, ast.Tuple) else [target]
            for item in names:
                if isinstance(item, ast.Name) and item.id not in seen:
                    seen.add(item.id)
                    lines.append(f"{item.id} = ...")
    while lines and not lines[-1]:
        lines.pop()
    return lines or ["..."]


def _strip(source: str) -> str:
    def replace(match: re.Match) -> str:
        indent = match["indent"]
        stub = _stub(match["body"]) if not indent else ["..."]  # inside a block: its body
        lines = ["# YOUR CODE HERE", *stub]
        return "".join(f"{indent}{line}\n" if line else "\n" for line in lines)

    stripped = SOLUTION.sub(replace, source)
    return stripped if source.endswith("\n") else stripped.rstrip("\n")


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
            tags = [t for t in cell.metadata.get("tags", []) if t not in ("raises-exception", FOLD)]
            cell.metadata["tags"] = [*tags, "raises-exception"]
        after_solution = after_solution or has_solution
    return out


def fold_solutions(nb: nbformat.NotebookNode) -> bool:
    """Tag every solution cell ``hide-input`` (folded on the website); True if anything changed."""
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "code" and SOLUTION.search(cell.source):
            tags = cell.metadata.get("tags", [])
            if FOLD not in tags:
                cell.metadata["tags"] = [*tags, FOLD]
                changed = True
    return changed


def expected_exercises() -> dict[Path, str]:
    """Map each exercise path to the text it should have."""
    result = {}
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        result[ROOT / "exercises" / path.name] = nbformat.writes(exercise_from_solution(nb)) + "\n"
    return result


def unfolded_solutions() -> list[Path]:
    """Solution notebooks with a solution cell that is not tagged ``hide-input``."""
    return [
        path
        for path in sorted((ROOT / "solutions").glob("*.ipynb"))
        if fold_solutions(nbformat.read(path, as_version=4))
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report drift")
    args = parser.parse_args(argv)
    unfolded = unfolded_solutions()
    if not args.check:
        for path in unfolded:
            nb = nbformat.read(path, as_version=4)
            fold_solutions(nb)
            nbformat.write(nb, path)
    stale = []
    for path, text in expected_exercises().items():
        if not path.exists() or path.read_text() != text:
            stale.append(path)
            if not args.check:
                path.parent.mkdir(exist_ok=True)
                path.write_text(text)
    if args.check and (stale or unfolded):
        if stale:
            print("out of date (run `make exercises`):", *map(str, stale), sep="\n  ")
        if unfolded:
            print(
                f"solution cells without the {FOLD!r} tag (run `make exercises`):",
                *map(str, unfolded),
                sep="\n  ",
            )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
