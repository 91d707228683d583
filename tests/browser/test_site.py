"""The built website in a real browser, served from this machine with every other request
blocked: the explorers respond to their controls with no kernel, and the math renders from the
vendored MathJax."""

from __future__ import annotations

import pytest

from labkit.grid import load_grid
from tests.browser import explorers
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # minutes: kept out of `make unit`
GRID = ROOT / "book" / "qlora" / "tradeoff_grid.json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _open(offline_page, url: str) -> None:
    offline_page.page.goto(url, wait_until="load")


def _assert_offline(offline_page) -> None:
    assert not offline_page.blocked, f"the page asked for outside resources: {offline_page.blocked}"
    assert not offline_page.failed, f"requests that failed on this server: {offline_page.failed}"
    # sphinx-thebe 0.3.1 writes its inline `const THEBE_JS_URL` script twice on every page of
    # this theme (a SyntaxError of the theme, not of the widgets); any other error fails.
    errors = [e for e in offline_page.errors if "THEBE_JS_URL" not in e]
    assert not errors, f"JavaScript errors: {errors}"


def test_tradeoff_page_works_without_a_kernel_or_network(site, site_url, offline_page) -> None:
    html = (site / "book" / "qlora" / "tradeoffs.html").read_text()
    assert WIDGET_STATE in html, "the page has no saved widget state: execute the notebook"
    _open(offline_page, f"{site_url}/book/qlora/tradeoffs.html")
    page = offline_page.page
    visited = explorers.check_tradeoff(page, load_grid(GRID),
                                       shot=offline_page.shot("site-tradeoff-explorer"))  # fmt: skip
    assert visited == ["16/4bit-nf4", "16/8bit", "1/none"]
    explorers.check_memory(page, shot=offline_page.shot("site-memory-calculator"))
    assert page.locator("mjx-container").count() > 0, "the page's math did not render"
    _assert_offline(offline_page)


def test_threshold_explorer_pages(site, site_url, offline_page) -> None:
    """Every book page that carries the threshold explorer responds to its slider."""
    pages = [p for p in site.rglob("*.html") if "lk-threshold" in p.read_text(errors="ignore")]
    if not pages:
        pytest.skip("no page of the book shows the threshold explorer yet (tests/browser/"
                    "test_lab.py checks it in JupyterLab)")  # fmt: skip
    for path in pages:
        _open(offline_page, f"{site_url}/{path.relative_to(site).as_posix()}")
        page = offline_page.page
        first = explorers.visible(page, ".lk-threshold")
        assert first, f"{path.name}: the threshold explorer is not shown"
        explorers.press_slider(page, "threshold", "ArrowRight")
        page.wait_for_function(
            """(before) => [...document.querySelectorAll('.lk-threshold')]
                .some((e) => e.offsetParent !== null && e.dataset.threshold !== before)""",
            arg=first[0]["threshold"],
        )
        offline_page.shot(f"site-threshold-{path.stem}")(".lk-threshold")
        _assert_offline(offline_page)


def test_home_page_math_renders_offline(site_url, offline_page) -> None:
    _open(offline_page, f"{site_url}/book/intro.html")
    page = offline_page.page
    page.wait_for_selector("mjx-container", timeout=30_000)
    # W + (alpha / r) B A: typeset as a fraction, the TeX source no longer shown as text
    assert page.locator("mjx-container mjx-mfrac").count() > 0, "no fraction was typeset"
    body = page.locator("article").inner_text()
    assert "\\frac" not in body, "TeX source is shown instead of math"
    offline_page.screenshot("site-home-math")
    _assert_offline(offline_page)
