"""Build the website with warnings as errors, then check the HTML a reader gets."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, toc_files

pytestmark = pytest.mark.slow
REPO_URL = "https://github.com/peft-lab/peft-course"


def _source(stem: str) -> Path:
    for suffix in (".ipynb", ".md"):
        if (ROOT / f"{stem}{suffix}").exists():
            return ROOT / f"{stem}{suffix}"
    raise AssertionError(f"_toc.yml lists {stem}, but neither .ipynb nor .md exists")


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("book")
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    assert jb, "jupyter-book is not installed in this environment"
    proc = subprocess.run(
        [jb, "build", str(ROOT), "-W", "-n", "--keep-going", "--path-output", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    return out / "_build" / "html", log


def test_build_has_no_warnings(built_site: tuple[Path, str]) -> None:
    _, log = built_site
    warnings = [line for line in log.splitlines() if re.search(r"\bWARNING\b", line)]
    assert not warnings, "\n".join(warnings)


def test_every_toc_entry_has_a_page(built_site: tuple[Path, str]) -> None:
    html, _ = built_site
    assert (html / "index.html").exists()
    for stem in toc_files():
        _source(stem)
        assert (html / f"{stem}.html").exists(), f"no page for {stem}"


def test_notebook_pages_have_a_colab_button_with_their_path(built_site: tuple[Path, str]) -> None:
    html, _ = built_site
    notebooks = [stem for stem in toc_files() if _source(stem).suffix == ".ipynb"]
    assert notebooks, "the book has no notebook pages"
    for stem in notebooks:
        page = (html / f"{stem}.html").read_text()
        expected = (
            f"https://colab.research.google.com/github/peft-lab/peft-course/blob/main/{stem}.ipynb"
        )
        assert expected in page, f"{stem}: no Colab button pointing at {expected}"


def test_bibliography_renders(built_site: tuple[Path, str]) -> None:
    html, _ = built_site
    page = (html / "book" / "reference" / "bibliography.html").read_text()
    text = re.sub(r"<[^>]+>", " ", page)
    assert "low-rank adaptation of large language models" in text.lower()
    assert "efficient finetuning of quantized" in text.lower()
    intro = (html / "book" / "intro.html").read_text()
    assert "reference/bibliography.html" in intro, (
        "citations in the introduction do not link to the bibliography"
    )


def test_math_renders(built_site: tuple[Path, str]) -> None:
    html, _ = built_site
    intro = (html / "book" / "intro.html").read_text()
    assert "mathjax" in intro.lower()
    assert r"\frac{\alpha}{r}" in intro


def test_repository_settings(built_site: tuple[Path, str]) -> None:
    html, _ = built_site
    assert "book/intro.html" in (html / "index.html").read_text()
    assert REPO_URL in (html / "book" / "intro.html").read_text()
