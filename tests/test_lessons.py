"""Conventions every lesson notebook keeps (see CONTRIBUTING.md).

A lesson opens with objectives and what it assumes, starts with the Colab set-up that installs
from the course repository named in ``_config.yml``, cites at least one reference, stores its
outputs (no code cell that should show something is left empty). The time budget is checked
where it is measured on the machine of record: the root ``conftest.py`` fails a test session in
which nbval runs a lesson for longer than its budget (``lesson_budget`` below).
"""

from __future__ import annotations

import re

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
    """Seconds between the first cell's start and the last cell's end (``tools/course_map.py``
    reads them the same way for the course map)."""
    return _course_map().run_seconds(nb)


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
        shows = not re.match(
            r"^(\s|#|import |from |def |class |@|claim\(|\)|\]|\}|[\w.\[\], ]+\s*=(?!=))", last
        )
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


def _course_map():
    import importlib.util

    spec = importlib.util.spec_from_file_location("course_map", ROOT / "tools" / "course_map.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_course_map_shows_no_citation_keys_and_links_its_doc_roles() -> None:
    course_map = _course_map()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(
        "# A lesson\n\nLoRA {cite}`hu2022lora` keeps $W$ frozen, as in {doc}`from_scratch` and "
        "{doc}`the metrics <../evaluation/metrics>` {cite:t}`dettmers2023qlora`. More text."
    )]  # fmt: skip
    title, about = course_map._summary(nb, ROOT / "book" / "lora")
    assert title == "A lesson"
    assert about == ("LoRA keeps $W$ frozen, as in {doc}`lora/from_scratch` and "
                     "{doc}`the metrics <evaluation/metrics>`.")  # fmt: skip
    nb.cells[0].source = "# Practice\n\nSee {doc}`/book/lora/idea` and {term}`LoRA <LoRA>`."
    assert course_map._summary(nb, ROOT / "solutions")[1] == "See {doc}`lora/idea` and LoRA."
    text = (ROOT / "book" / "course_map.md").read_text()
    keys = re.findall(r"@\w+\{([^,]+),", (ROOT / "references.bib").read_text())
    assert keys and not [key for key in keys if key in text], "a raw citation key in the map"
    for target in re.findall(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`", text):
        assert (ROOT / "book" / f"{target}.ipynb").exists() or (
            ROOT / "book" / f"{target}.md"
        ).exists(), f"{{doc}} link to a missing page: {target}"


def test_the_course_map_shows_wall_clock_time_and_marks_heavy_lessons() -> None:
    course_map = _course_map()
    rows = {line.split(" | ")[0]: line for line in course_map.render().splitlines()
            if line.startswith("| {doc}")}  # fmt: skip
    assert rows
    for path in LESSONS:
        nb = nbformat.read(path, as_version=4)
        stem = path.relative_to(ROOT / "book").with_suffix("").as_posix()
        (row,) = [line for key, line in rows.items() if key.endswith(f"<{stem}>`")]
        seconds = stored_run_seconds(nb)
        cells = [cell.strip() for cell in row.strip("|").split(" | ")]
        assert cells[2] == (f"{seconds / 60:.1f}&nbsp;min" if seconds is not None else "not run")
        heavy = bool(nb.metadata.get("labkit", {}).get("heavy"))
        assert cells[3] == (f"{lesson_budget(nb) // 60}&nbsp;min" + (", *heavy*" if heavy else ""))
