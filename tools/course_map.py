"""Write the course map (book/course_map.md) from _toc.yml and the notebooks' stored metadata.

For every lesson and practice notebook: its title, what it is about (the first sentence after
the title), how long it took to run (wall clock, from the start of its first cell to the end of
its last, as stored in the cells' execution timestamps) and, for a lesson, its time budget
(two minutes, four for one marked ``metadata.labkit.heavy``; the root conftest.py enforces
them). It reads stored metadata only and executes nothing. The map is committed; ``--check``
exits 1 when it is out of date (a test runs that).

    python tools/course_map.py           # write book/course_map.md
    python tools/course_map.py --check   # exit 1 when book/course_map.md is stale
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import datetime
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "book" / "course_map.md"
BUDGET_MIN, HEAVY_BUDGET_MIN = 2, 4  # as in conftest.py and tests/test_lessons.py
NBSP = "&nbsp;"  # keeps "1.6 min" on one line in a narrow column
HEADER = """# Course map

Every lesson and practice notebook, part by part, with the time it took to run from top to
bottom when its stored outputs were produced, on the quick profile (the bundled model, the
built-in data): the wall-clock time from the start of its first cell to the end of its last.
A lesson's budget is two minutes; the few heavy ones, which train several models or sweep a
setting, are marked *heavy* and may take four. Practice notebooks have no budget. On a GPU the
full profile trains on more data with longer inputs. This page is generated from the notebooks
by `tools/course_map.py`.
"""

ROLE = re.compile(r"\{([a-z:]+)\}`([^`]*)`")


def _role(match: re.Match, source: Path) -> str:
    """One MyST role of a first sentence, as the course map shows it."""
    kind, content = match.group(1), match.group(2)
    if kind.startswith("cite"):
        return ""  # a citation key means nothing in a one-line summary
    explicit = re.fullmatch(r"(.*?)\s*<([^>]*)>", content, flags=re.S)
    text, target = (explicit.group(1), explicit.group(2)) if explicit else (None, content)
    if kind == "doc":  # keep the link, with its target relative to this page
        path = ROOT / target.lstrip("/") if target.startswith("/") else source / target
        relative = os.path.relpath(path, TARGET.parent).replace(os.sep, "/")
        return f"{{doc}}`{text} <{relative}>`" if text else f"{{doc}}`{relative}`"
    return text if text is not None else content  # term, ref, glue...: their text


def _summary(nb: nbformat.NotebookNode, source: Path = TARGET.parent) -> tuple[str, str]:
    """Title and first sentence of a notebook whose file lies in the folder ``source``."""
    first = nb.cells[0].source if nb.cells else ""
    lines = first.strip().splitlines()
    title = lines[0].lstrip("# ").strip() if lines else "?"
    body = " ".join(line.strip() for line in lines[1:] if line.strip()).strip()
    body = re.sub(r"\s*\{cite(:[a-z]+)?\}`[^`]*`", "", body)  # with the space before it
    body = ROLE.sub(lambda m: _role(m, source), body)
    sentence = re.split(r"(?<=[.!?])\s", body, maxsplit=1)[0] if body else ""
    return title, sentence.replace("|", "/")


def run_seconds(nb: nbformat.NotebookNode) -> float | None:
    """Seconds from the first code cell's start to the last one's end (stored timestamps)."""
    stamps = [c.metadata.get("execution", {}) for c in nb.cells if c.cell_type == "code"]
    starts = [s["iopub.execute_input"] for s in stamps if "iopub.execute_input" in s]
    ends = [s["shell.execute_reply"] for s in stamps if "shell.execute_reply" in s]
    if not starts or not ends:
        return None

    def parse(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))

    return (parse(max(ends)) - parse(min(starts))).total_seconds()


def _budget(stem: str, nb: nbformat.NotebookNode) -> str:
    """A lesson's budget; practice notebooks have none."""
    if not stem.startswith("book/"):
        return "none"
    if nb.metadata.get("labkit", {}).get("heavy"):
        return f"{HEAVY_BUDGET_MIN}{NBSP}min, *heavy*"
    return f"{BUDGET_MIN}{NBSP}min"


def _rows(entries: list[dict]) -> list[str]:
    rows = []
    for entry in entries:
        stem = entry.get("file")
        path = ROOT / f"{stem}.ipynb" if stem else None
        if path is not None and path.exists() and not stem.startswith("exercises/"):
            nb = nbformat.read(path, as_version=4)
            title, about = _summary(nb, path.parent)
            seconds = run_seconds(nb)
            shown = f"{seconds / 60:.1f}{NBSP}min" if seconds is not None else "not run"
            target = os.path.relpath(ROOT / stem, TARGET.parent)
            link = f"{{doc}}`{title.replace('`', '')} <{target}>`"  # no code inside a link
            rows.append(f"| {link} | {about} | {shown} | {_budget(stem, nb)} |")
        rows += _rows(entry.get("sections", []))
    return rows


def render() -> str:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    out = [HEADER]
    for part in toc.get("parts", []):
        rows = _rows(part.get("chapters", []))
        if not rows:
            continue
        out += [f"## {part['caption']}", "", "| notebook | about | run time | budget |",
                "| --- | --- | --- | --- |", *rows, ""]  # fmt: skip
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = TARGET.read_text() if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run python tools/course_map.py")
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
