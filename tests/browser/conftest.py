"""Fixtures of the real-browser tests: Debian's Chromium driven by Playwright, with every
request that does not go to this machine blocked, against JupyterLab and the built website.

The browser is the system's ``chromium`` (``apt-get install chromium``; ``make test`` installs
it when missing). Playwright's own browser download (``playwright install``) is never used.
When Chromium is missing or cannot start, the tests fail and say how to install it.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import secrets
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import ROOT, toc_files

collect_ignore = ["explorers.ipynb"]  # opened in JupyterLab by test_lab.py, not run by nbval
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip
INSTALL_HINT = (
    "The browser tests need Debian's Chromium: install it with `apt-get install chromium` "
    "(or `make browser`, which `make test` runs), then rerun. Playwright's own browser download "
    "(`playwright install`) is not used."
)
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Sources whose change makes a built site stale (a fresh _build/html is reused).
SITE_SOURCES = ("book", "exercises", "solutions", "_config.yml", "_toc.yml", "references.bib")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the browser -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        pytest.fail(f"Chromium is not installed. {INSTALL_HINT}", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("The Python package playwright is missing: it is pinned in "
                    "requirements.txt (make venv installs it).", pytrace=False)  # fmt: skip
    profile = tempfile.mkdtemp(prefix="labkit-chromium-")
    with sync_playwright() as playwright:
        try:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=executable, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 1000},
            )  # fmt: skip
        except Exception as error:  # Playwright raises its own Error types
            pytest.fail(f"Chromium ({executable}) could not start: {error}. {INSTALL_HINT}",
                        pytrace=False)  # fmt: skip
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


class OfflinePage:
    """A page whose requests to anything but this machine are blocked and recorded."""

    def __init__(self, context: object) -> None:
        self.blocked: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.page = context.new_page()
        self.page.route("**/*", self._route)
        self.page.on("response", self._response)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _route(self, route: object) -> None:
        url = route.request.url
        host = urlparse(url).hostname or ""
        if url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _response(self, response: object) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.status} {response.url}")

    def screenshot(self, name: str, **options: object) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), **options)
        return path

    def shot(self, name: str):
        """A callback for ``tests.browser.explorers``: screenshot the explorer holding the
        given panel (its outermost widget box: controls, panel and notes)."""

        def take(selector: str) -> Path:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            path = SCREENSHOTS / f"{name}.png"
            panel = self.page.locator(f"{selector}:visible")
            box = self.page.locator(".widget-vbox").filter(has=panel).first
            box.scroll_into_view_if_needed()
            box.screenshot(path=str(path))
            return path

        return take


@pytest.fixture
def offline_page(browser: object) -> Iterator[OfflinePage]:
    page = OfflinePage(browser)
    yield page
    page.page.close()


# --- the website -------------------------------------------------------------------------------
def _newest_source() -> float:
    newest = 0.0
    for name in SITE_SOURCES:
        path = ROOT / name
        items = [path] if path.is_file() else path.rglob("*") if path.is_dir() else []
        for item in items:
            if item.is_file() and ".ipynb_checkpoints" not in item.parts:
                newest = max(newest, item.stat().st_mtime)
    return newest


def _fresh(html: Path) -> bool:
    page = html / "book" / "qlora" / "tradeoffs.html"
    return page.exists() and page.stat().st_mtime >= _newest_source()


def widget_pages() -> list[str]:
    """Book pages (toc entries) whose notebooks carry saved widget state."""
    import json

    pages = []
    for stem in toc_files()[1:]:
        path = ROOT / f"{stem}.ipynb"
        if path.exists():
            widgets = json.loads(path.read_text()).get("metadata", {}).get("widgets", {})
            if widgets.get("application/vnd.jupyter.widget-state+json", {}).get("state"):
                pages.append(stem)
    return pages


def build_widget_site(out: Path) -> Path:
    """Build the home page and every page with saved widget state, with the book's own
    configuration and vendored assets, into ``out`` (a minute instead of the whole book)."""
    import yaml

    source = out / "source"
    source.mkdir()
    for name in ("book", "references.bib", "_config.yml"):
        (source / name).symlink_to(ROOT / name)
    pages = widget_pages()
    toc = {"format": "jb-book", "root": "book/intro",
           "chapters": [{"file": stem} for stem in pages]}  # fmt: skip
    (source / "_toc.yml").write_text(yaml.safe_dump(toc))
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    assert jb, "jupyter-book is not installed in this environment"
    proc = subprocess.run(
        [jb, "build", str(source), "--keep-going", "--path-output", str(out)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    html = out / "_build" / "html"
    assert (html / "book" / "intro.html").exists(), (proc.stdout + proc.stderr)[-4000:]
    return html


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built website: ``_build/html`` when it is newer than every source (``make book``),
    else the home page and the widget pages built into a temporary folder."""
    existing = ROOT / "_build" / "html"
    if _fresh(existing):
        return existing
    return build_widget_site(tmp_path_factory.mktemp("site"))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep pytest's output clean
        pass


@pytest.fixture(scope="session")
def site_url(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# --- JupyterLab --------------------------------------------------------------------------------
class Lab:
    def __init__(self, url: str, token: str, root: Path) -> None:
        self.url, self.token, self.root = url, token, root

    def notebook_url(self, relative: str) -> str:
        return f"{self.url}/lab/tree/{relative}?token={self.token}&reset"


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on a free local port, serving a temporary copy of the notebooks the tests
    open (so nothing in the repository is saved over), with its own settings: every cell
    rendered (no windowing) and no autosave."""
    root = tmp_path_factory.mktemp("lab-root")
    (root / "lesson").mkdir()
    for name in ("tradeoffs.ipynb", "tradeoff_grid.json"):
        shutil.copy(ROOT / "book" / "qlora" / name, root / "lesson" / name)
    shutil.copy(ROOT / "tests" / "browser" / "explorers.ipynb", root / "explorers.ipynb")
    settings = tmp_path_factory.mktemp("lab-settings")
    for plugin, values in {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": '{"windowingMode": "none"}',
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": '{"autosave": false}',
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
            '{"fetchNews": "false", "checkForUpdates": false}',
    }.items():  # fmt: skip
        path = settings / plugin
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(values)
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path_factory.mktemp("lab-workspaces")),
               JUPYTER_RUNTIME_DIR=str(tmp_path_factory.mktemp("lab-runtime")),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               MPLBACKEND="Agg")  # fmt: skip
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
               "--ip=127.0.0.1", f"--ServerApp.root_dir={root}",
               f"--IdentityProvider.token={token}", "--ServerApp.disable_check_xsrf=True",
               "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=",
               "--ServerApp.open_browser=False"]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI often run as root
        command.append("--allow-root")
    log = open(tmp_path_factory.mktemp("lab-log") / "jupyter.log", "w")  # noqa: SIM115
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                break
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                process.kill()
                log.close()
                pytest.fail("JupyterLab did not start: " + Path(log.name).read_text()[-3000:])
            time.sleep(1)
    yield Lab(url, token, root)
    process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=20)
    if process.poll() is None:
        process.kill()
    log.close()
