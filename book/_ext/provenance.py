"""Sphinx extension: a footer line on every notebook page saying what produced its outputs.

``tools/execute_notebooks.py`` stores ``metadata.labkit`` in each notebook it executes (labkit
version, data fingerprints, run time); this extension shows it at the end of the page, so a
reader can tell which code and data produced the numbers on it.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any


def _minor(version: str) -> str:
    return ".".join(str(version).split(".")[:2])


def footer(record: dict[str, Any], installed: str | None = None) -> str:
    """The footer HTML for a notebook's ``metadata.labkit`` record ("" when there is none).

    When ``installed`` (the labkit version building the site) has another minor version than
    the one that produced the outputs, the line says the outputs are stale.
    """
    version = record.get("labkit_version")
    if not version:
        return ""
    parts = [f"Outputs produced by labkit {html.escape(str(version))}"]
    if record.get("cpu_seconds") is not None:
        parts.append(f"in {float(record['cpu_seconds']):.0f} s of CPU time")
    data = record.get("data") or []
    if data:
        shown = ", ".join(
            f"{html.escape(d['name'])} ({html.escape(d['fingerprint'][:12])})" for d in data
        )
        parts.append(f"on data {shown}")
    stale = ""
    if installed and _minor(installed) != _minor(version):
        stale = (f' <strong class="labkit-stale">Stale: the installed labkit is '
                 f"{html.escape(installed)}; re-execute this notebook.</strong>")  # fmt: skip
    return f'<p class="labkit-provenance"><small>{" ".join(parts)}.{stale}</small></p>'


def _installed_labkit() -> str | None:
    try:
        import labkit

        return labkit.__version__
    except ImportError:  # labkit not installed where the book is built
        return None


def _add_footer(app, pagename, templatename, context, doctree) -> None:
    source = Path(app.srcdir) / f"{pagename}.ipynb"
    if doctree is None or "body" not in context or not source.is_file():
        return
    try:
        record = json.loads(source.read_text()).get("metadata", {}).get("labkit", {})
    except (OSError, ValueError):
        return
    context["body"] += footer(record, _installed_labkit())


def setup(app) -> dict[str, Any]:
    app.connect("html-page-context", _add_footer)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
