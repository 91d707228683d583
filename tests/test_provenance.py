"""Stale outputs: every executed notebook records the labkit version that produced it."""

from __future__ import annotations

import importlib.util

import nbformat
import pytest

import labkit
from tests.conftest import ROOT

EXECUTED = sorted(
    p
    for folder in ("book", "solutions")
    for p in (ROOT / folder).rglob("*.ipynb")
    if ".ipynb_checkpoints" not in p.parts and "_build" not in p.parts
)


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


@pytest.mark.parametrize("path", EXECUTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_outputs_come_from_this_labkit_minor_version(path) -> None:
    record = nbformat.read(path, as_version=4).metadata.get("labkit", {})
    recorded = record.get("labkit_version")
    assert recorded, f"{path.name}: no labkit version recorded; run tools/execute_notebooks.py"
    assert _minor(recorded) == _minor(labkit.__version__), (
        f"{path.name}: outputs were produced by labkit {recorded}, the package is "
        f"{labkit.__version__}: re-execute it (make execute) so the website shows numbers the "
        "code produces now."
    )


def test_the_footer_shows_version_time_and_data() -> None:
    spec = importlib.util.spec_from_file_location("provenance", ROOT / "book/_ext/provenance.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    line = module.footer({"labkit_version": "0.2.0", "cpu_seconds": 41.6,
                          "data": [{"name": "sentences", "fingerprint": "0123456789abcdef"}]})  # fmt: skip
    assert (
        "labkit 0.2.0" in line
        and "in 42 s of CPU time" in line
        and "sentences (0123456789ab)" in line
    )
    assert module.footer({}) == ""
    assert "labkit-stale" not in line and "labkit-stale" not in module.footer(
        {"labkit_version": "0.2.0"}, installed="0.2.5"
    )
    stale = module.footer({"labkit_version": "0.2.0"}, installed="0.3.0")
    assert "labkit-stale" in stale and "0.3.0" in stale


def _execute_notebooks_module():
    spec = importlib.util.spec_from_file_location("execute", ROOT / "tools/execute_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sanitiser_hides_this_machines_paths() -> None:
    module = _execute_notebooks_module()
    text = (
        f"model at /opt/x/.venv/lib/python3.11/site-packages/pkg/model and data at "
        f"{module.ROOT}/book/data.csv in {module.ROOT}"
    )
    assert module.sanitise_text(text) == (
        "model at …/site-packages/pkg/model and data at book/data.csv in ."
    )


@pytest.mark.parametrize("path", EXECUTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_stored_outputs_show_no_absolute_path_of_this_machine(path) -> None:
    sanitise = _execute_notebooks_module().sanitise_text
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        for output in cell.get("outputs", []):
            texts = [output.get("text", "")] + [
                v for k, v in output.get("data", {}).items() if k.startswith("text/")
            ]
            for text in texts:
                assert sanitise(text) == text, (
                    f"{path.name}, cell {index}: a stored output shows an absolute path of the "
                    "machine that ran it; re-execute with tools/execute_notebooks.py"
                )
