"""Conventions of the course files: notebooks listed, outputs stored, exercises in sync."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest

from tests.conftest import ROOT

NOTEBOOKS = sorted(
    p
    for folder in ("book", "exercises", "solutions")
    for p in (ROOT / folder).rglob("*.ipynb")
    if ".ipynb_checkpoints" not in p.parts
)
TOC = (ROOT / "_toc.yml").read_text()


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_listed_and_starts_with_the_colab_setup(path) -> None:
    stem = str(path.relative_to(ROOT).with_suffix(""))
    assert stem in TOC, f"{stem} is not in _toc.yml"
    nb = nbformat.read(path, as_version=4)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert '"google.colab" in sys.modules' in first_code.source
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")


@pytest.mark.parametrize(
    "path",
    [p for p in NOTEBOOKS if "exercises" not in p.parts],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_notebook_is_committed_with_outputs_and_no_errors(path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert all(c.execution_count for c in code), f"{path.name}: not executed (run make execute)"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: stored outputs contain an error"


def test_exercises_are_generated_from_solutions() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_exercises.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    solutions = {p.name for p in (ROOT / "solutions").glob("*.ipynb")}
    exercises = {p.name for p in (ROOT / "exercises").glob("*.ipynb")}
    assert solutions == exercises


def test_exercises_hide_the_answers() -> None:
    for path in (ROOT / "exercises").glob("*.ipynb"):
        text = json.dumps(nbformat.read(path, as_version=4).cells)
        assert "BEGIN SOLUTION" not in text and "YOUR CODE HERE" in text


def test_make_exercises_strips_regions() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    from make_exercises import exercise_from_solution

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Practice (solution)"),
        nbformat.v4.new_code_cell("x = 1\n### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION\n"),
        nbformat.v4.new_code_cell("check(answer)"),
    ]
    out = exercise_from_solution(nb)
    assert out.cells[0].source == "# Practice (exercise)"
    assert "answer = 42" not in out.cells[1].source and "# YOUR CODE HERE" in out.cells[1].source
    assert out.cells[1].source.startswith("x = 1\n")
    assert "raises-exception" in out.cells[2].metadata["tags"]
