"""Conventions every lesson notebook keeps (see CONTRIBUTING.md).

A lesson opens with objectives and what it assumes, starts with the Colab set-up that installs
from the course repository named in ``_config.yml``, cites at least one reference, stores its
outputs (no code cell that should show something is left empty). The time budget is checked
where it is measured on the machine of record: the root ``conftest.py`` fails a test session in
which nbval runs a lesson for longer than its budget (``lesson_budget`` below).
"""

from __future__ import annotations

import re
from datetime import datetime

import nbformat
import pytest
import yaml

from tests.conftest import ROOT

PARTS = ("peft", "lora", "qlora", "evaluation", "beyond")
LESSONS = sorted(
    p
    for part in PARTS
    for p in (ROOT / "book" / part).glob("*.ipynb")
    if ".ipynb_checkpoints" not in p.parts
)
REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
BUDGET_S = 120
HEAVY_BUDGET_S = 240


def lesson_budget(nb: nbformat.NotebookNode) -> int:
    """120 s, or 240 s for a notebook marked heavy (``metadata.labkit.heavy: true``)."""
    return HEAVY_BUDGET_S if nb.metadata.get("labkit", {}).get("heavy") else BUDGET_S


def stored_run_seconds(nb: nbformat.NotebookNode) -> float | None:
    """Seconds between the first cell's start and the last cell's end, from stored metadata."""
    stamps = [c.metadata.get("execution", {}) for c in nb.cells if c.cell_type == "code"]
    starts = [s["iopub.execute_input"] for s in stamps if "iopub.execute_input" in s]
    ends = [s["shell.execute_reply"] for s in stamps if "shell.execute_reply" in s]
    if not starts or not ends:
        return None

    def parse(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))

    return (parse(max(ends)) - parse(min(starts))).total_seconds()


def check_lesson(nb: nbformat.NotebookNode) -> list[str]:
    """Every convention the notebook breaks, as readable sentences (empty: all kept)."""
    problems = []
    cells = nb.cells
    first = cells[0] if cells else None
    if first is None or first.cell_type != "markdown" or not first.source.startswith("# "):
        problems.append("the first cell must be markdown starting with '# Title'")
    intro = first.source if first is not None else ""
    if "You will be able to" not in intro:
        problems.append("the first cell has no 'You will be able to' objectives")
    if len(re.findall(r"^\s*[-*] ", intro.split("You will be able to")[-1], re.M)) < 2:
        problems.append("fewer than 2 objectives in the first cell")
    if "It assumes" not in intro:
        problems.append("the first cell does not say what the lesson assumes ('It assumes')")
    code = [c for c in cells if c.cell_type == "code" and c.source.strip()]
    setup = code[0].source if code else ""
    if '"google.colab" in sys.modules' not in setup or f"git+{REPOSITORY}" not in setup:
        problems.append(f"the first code cell is not the Colab set-up installing git+{REPOSITORY}")
    if re.search(r"pip install[^\n]*(ipywidgets|torch|transformers)", setup):
        problems.append("the Colab cell installs something Colab already ships")
    if len(code) < 2 or "default_profile()" not in code[1].source:
        problems.append("the second code cell does not set PROFILE = labkit.default_profile()")
    text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    if "{cite}" not in text and "{cite:" not in text:
        problems.append("no reference cited with {cite}")
    for i, cell in enumerate(code[1:], start=2):
        last = cell.source.strip().splitlines()[-1]
        shows = not re.match(r"^(\s|#|import |from |def |class |@|\)|\]|\}|[\w.\[\]]+\s*=)", last)
        if shows and not cell.outputs:
            problems.append(f"code cell {i} ends with an expression but has no stored output")
    return problems


def test_there_are_lessons() -> None:
    assert LESSONS, "no lesson notebooks under book/<part>/"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_lesson_keeps_the_conventions(path) -> None:
    problems = check_lesson(nbformat.read(path, as_version=4))
    assert not problems, f"{path.name}: " + "; ".join(problems)


def _lesson(cells: list, setup: str | None = None) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    colab = setup or (
        'import sys\nif "google.colab" in sys.modules:\n'
        f'    %pip install -q "labkit @ git+{REPOSITORY}" bitsandbytes'
    )
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "# A lesson\n\n**You will be able to**\n- do one thing\n- do another\n\n"
            "**It assumes** Python."
        ),
        nbformat.v4.new_code_cell(colab),
        nbformat.v4.new_code_cell("import labkit\nPROFILE = labkit.default_profile()"),
        *cells,
    ]
    return nb


def test_the_convention_check_catches_each_mistake() -> None:
    reference = nbformat.v4.new_markdown_cell("See {cite}`hu2022lora`.")
    shown = nbformat.v4.new_code_cell("1 + 1")
    shown.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"})]
    assert check_lesson(_lesson([reference, shown])) == []
    assert any("reference" in p for p in check_lesson(_lesson([shown])))
    empty = nbformat.v4.new_code_cell("1 + 1")
    assert any("no stored output" in p for p in check_lesson(_lesson([reference, empty])))
    bad_setup = _lesson([reference], setup='%pip install -q "ipywidgets>=8"')
    assert any("Colab set-up" in p for p in check_lesson(bad_setup))
    no_goals = _lesson([reference])
    no_goals.cells[0].source = "# A lesson\n\nText."
    assert any("objectives" in p for p in check_lesson(no_goals))


def test_the_budget_check_reads_stored_times() -> None:
    nb = _lesson([])
    nb.cells[1].metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}
    nb.cells[2].metadata["execution"] = {"shell.execute_reply": "2026-01-01T00:03:00Z"}
    assert stored_run_seconds(nb) == 180 and lesson_budget(nb) == 120
    nb.metadata["labkit"] = {"heavy": True}
    assert lesson_budget(nb) == 240


def test_the_course_map_is_current() -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "course_map.py"), "--check"],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
