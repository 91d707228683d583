"""Write the course map (book/course_map.md) from _toc.yml and the notebooks' stored metadata.

For every lesson and practice notebook: its title, what it is about (the first sentence after
the title) and its CPU time on the quick profile (``metadata.labkit.cpu_seconds``,
recorded by tools/execute_notebooks.py). The map is committed; ``--check`` exits 1 when it is
out of date (a test runs that).

    python tools/course_map.py           # write book/course_map.md
    python tools/course_map.py --check   # exit 1 when book/course_map.md is stale
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "book" / "course_map.md"
HEADER = """# Course map

Every lesson and practice notebook, part by part, with the CPU time it needed to run from top to
bottom on the quick profile (the bundled model, the built-in data) when its stored outputs were
produced. On a 2-core laptop the wall-clock time is about the same or less, since PyTorch uses
both cores; the budget is two minutes per lesson, four for the few heavy sweeps. On a GPU the
full profile trains on more data with longer inputs. This page is generated from the notebooks
by `tools/course_map.py`.
"""


def _summary(nb: nbformat.NotebookNode) -> tuple[str, str]:
    first = nb.cells[0].source if nb.cells else ""
    lines = first.strip().splitlines()
    title = lines[0].lstrip("# ").strip() if lines else "?"
    body = " ".join(line.strip() for line in lines[1:] if line.strip()).strip()
    body = re.sub(r"\{[a-z:]+\}`([^`<]*)(<[^>]*>)?`", r"\1", body)  # roles -> their text
    sentence = re.split(r"(?<=[.!?])\s", body, maxsplit=1)[0] if body else ""
    return title, sentence.replace("|", "/")


def _rows(entries: list[dict]) -> list[str]:
    rows = []
    for entry in entries:
        stem = entry.get("file")
        path = ROOT / f"{stem}.ipynb" if stem else None
        if path is not None and path.exists() and not stem.startswith("exercises/"):
            nb = nbformat.read(path, as_version=4)
            title, about = _summary(nb)
            seconds = nb.metadata.get("labkit", {}).get("cpu_seconds")
            shown = f"{seconds / 60:.1f} min" if seconds else "not run"
            target = os.path.relpath(ROOT / stem, TARGET.parent)
            link = f"{{doc}}`{title.replace('`', '')} <{target}>`"  # no code inside a link
            rows.append(f"| {link} | {about} | {shown} |")
        rows += _rows(entry.get("sections", []))
    return rows


def render() -> str:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    out = [HEADER]
    for part in toc.get("parts", []):
        rows = _rows(part.get("chapters", []))
        if not rows:
            continue
        out += [f"## {part['caption']}", "", "| notebook | about | CPU time |",
                "| --- | --- | --- |", *rows, ""]  # fmt: skip
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
