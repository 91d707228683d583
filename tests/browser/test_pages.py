"""Every page of the website as a reader meets it, in a real browser with the network off.

For each page of ``_toc.yml``: it loads with no JavaScript error and no request leaving this
machine, every image loads, every internal link and anchor exists, no stored output is a Python
traceback, no page says its outputs are stale, and at phone width (375 px) the page does not
scroll sideways. Notebook pages carry a Colab button built from ``_config.yml``'s repository.
The site search finds a lesson by a word in it. Screenshots of the home page and two lessons at
desktop and phone width go to ``_build/screenshots/``.
"""

from __future__ import annotations

import functools
import re
import shutil
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest
import yaml

from tests.browser.conftest import _newest_source, _QuietHandler
from tests.conftest import ROOT, toc_files

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
PHONE = {"width": 375, "height": 800}
DESKTOP = {"width": 1280, "height": 1000}
SCREENSHOT_PAGES = ("book/intro", "book/evaluation/metrics", "book/qlora/quantization")


PAGES = toc_files()


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole built website: ``_build/html`` when newer than every source, else a fresh
    build (notebooks are not executed: their stored outputs are shown)."""
    existing = ROOT / "_build" / "html"
    home = existing / "index.html"
    if home.exists() and home.stat().st_mtime >= _newest_source():
        return existing
    out = tmp_path_factory.mktemp("book")
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    assert jb, "jupyter-book is not installed in this environment"
    proc = subprocess.run([jb, "build", str(ROOT), "--keep-going", "--path-output", str(out)],
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    html = out / "_build" / "html"
    assert (html / "index.html").exists(), (proc.stdout + proc.stderr)[-4000:]
    return html


@pytest.fixture(scope="module")
def book_url(book: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(book))
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _ids(html_file: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', html_file.read_text(errors="replace")))


def broken_links(book: Path, page_url: str, hrefs: list[str], site_url: str) -> list[str]:
    """Internal links of a page whose file or anchor does not exist in the built site."""
    broken, ids = [], {}
    for href in hrefs:
        target = urlparse(urljoin(page_url, href))
        if f"{target.scheme}://{target.netloc}" != site_url:
            continue  # external links are not followed (the network is off)
        path = unquote(target.path).lstrip("/") or "index.html"
        file = book / path
        if file.is_dir():
            file = file / "index.html"
        if not file.exists():
            broken.append(f"{href} (no file {path})")
            continue
        if target.fragment and file.suffix == ".html":
            if file not in ids:
                ids[file] = _ids(file)
            if unquote(target.fragment) not in ids[file]:
                broken.append(f"{href} (no anchor #{target.fragment} in {path})")
    return broken


def _javascript_errors(offline_page) -> list[str]:
    # sphinx-thebe writes its inline `const THEBE_JS_URL` script twice on every page of this
    # theme (a SyntaxError of the theme itself); any other error fails.
    return [e for e in offline_page.errors if "THEBE_JS_URL" not in e]


@pytest.mark.parametrize("stem", PAGES)
def test_page_reads_correctly_offline(stem, book, book_url, offline_page) -> None:
    assert (book / f"{stem}.html").exists(), f"{stem}: no page in the built site"
    page = offline_page.page
    page.set_viewport_size(DESKTOP)
    url = f"{book_url}/{stem}.html"
    page.goto(url, wait_until="load")
    page.wait_for_timeout(300)
    assert not offline_page.blocked, f"{stem} asked for outside resources: {offline_page.blocked}"
    assert not offline_page.failed, f"{stem}: requests that failed: {offline_page.failed}"
    assert not _javascript_errors(offline_page), f"{stem}: JavaScript errors"
    missing = page.evaluate(
        "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
        ".map(i => i.getAttribute('src'))"
    )
    assert not missing, f"{stem}: images that did not load: {missing}"
    hrefs = page.evaluate("Array.from(document.querySelectorAll('a[href]'), a => a.href)")
    assert not broken_links(book, url, hrefs, book_url), f"{stem}: broken internal links"
    text = page.inner_text("main") if page.locator("main").count() else page.inner_text("body")
    assert "Traceback (most recent call last)" not in text, f"{stem}: a stored traceback"
    assert page.locator(".output.traceback, .labkit-stale").count() == 0, (
        f"{stem}: an error output or stale outputs (re-execute the notebook)"
    )
    if (ROOT / f"{stem}.ipynb").exists():
        repo = CONFIG["repository"]
        colab = (f"https://colab.research.google.com/github/"
                 f"{repo['url'].removeprefix('https://github.com/')}/blob/{repo['branch']}/"
                 f"{stem}.ipynb")  # fmt: skip
        assert page.locator(f'a[href="{colab}"]').count() > 0, f"{stem}: no Colab button {colab}"
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(200)
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1] + 1, f"{stem}: at 375 px the page scrolls sideways ({width})"
    if stem in SCREENSHOT_PAGES:
        name = stem.split("/")[-1]
        offline_page.screenshot(f"{name}-phone", full_page=False)
        page.set_viewport_size(DESKTOP)
        offline_page.screenshot(f"{name}-desktop", full_page=False)


def test_broken_links_are_found(tmp_path) -> None:
    (tmp_path / "a.html").write_text('<h1 id="top">A</h1>')
    site = "http://127.0.0.1:1"
    links = [f"{site}/a.html#top", f"{site}/a.html#gone", f"{site}/b.html", "https://x.org/"]
    assert broken_links(tmp_path, f"{site}/a.html", links, site) == [
        f"{site}/a.html#gone (no anchor #gone in a.html)",
        f"{site}/b.html (no file b.html)",
    ]


def test_search_finds_a_lesson_by_a_word_in_it(book, book_url, offline_page) -> None:
    page = offline_page.page
    page.goto(f"{book_url}/search.html?q=NF4", wait_until="load")
    page.wait_for_selector("#search-results li a", timeout=30_000)
    found = page.evaluate(
        "Array.from(document.querySelectorAll('#search-results li a'), a => a.href)"
    )
    assert any("book/qlora/quantization.html" in href for href in found), found
    assert not _javascript_errors(offline_page)
