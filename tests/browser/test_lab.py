"""The explorers in JupyterLab 4 (ipywidgets 8, a live kernel), driven in a real browser.

JupyterLab serves a temporary copy of the trade-off lesson and of ``explorers.ipynb``; the test
clears the stored outputs, runs the cells an explorer needs (not the lesson's training cells,
which the notebook tests run), moves the controls and reads the numbers shown.
"""

from __future__ import annotations

import numpy as np
import pytest

from labkit.grid import load_grid
from tests.browser import explorers
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # minutes: kept out of `make unit`

RUN_CELLS = """async (markers) => {
    const app = window.jupyterapp;
    const panel = app.shell.currentWidget;
    await panel.context.ready;
    await panel.sessionContext.ready;
    await app.commands.execute('notebook:clear-all-cell-outputs');
    const notebook = panel.content;
    const ran = [];
    for (let i = 0; i < notebook.widgets.length; i++) {
        const cell = notebook.widgets[i];
        if (cell.model.type !== 'code') continue;
        const source = cell.model.sharedModel.getSource();
        if (markers.some((m) => source.includes(m))) {
            notebook.activeCellIndex = i;
            await app.commands.execute('notebook:run-cell');
            ran.push(i);
        }
    }
    return ran;
}"""
APP_READY = """() => window.jupyterapp && jupyterapp.shell.currentWidget
    && jupyterapp.shell.currentWidget.sessionContext
    && jupyterapp.shell.currentWidget.sessionContext.session
    && jupyterapp.shell.currentWidget.sessionContext.session.kernel
    && jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'"""


def _open_and_run(offline_page, lab, notebook: str, markers: list[str]) -> list[int]:
    page = offline_page.page
    page.goto(lab.notebook_url(notebook))
    page.wait_for_function(APP_READY, timeout=120_000)
    return page.evaluate(RUN_CELLS, markers)


def test_tradeoff_lesson_explorers_in_jupyterlab(lab, offline_page) -> None:
    ran = _open_and_run(offline_page, lab, "lesson/tradeoffs.ipynb",
                        ["default_profile()", "load_grid(GRID)", "tradeoff_explorer(grid)",
                         "memory_calculator("])  # fmt: skip
    assert len(ran) == 4, f"expected 4 cells to run, ran {ran}"
    page = offline_page.page
    grid = load_grid(ROOT / "book" / "qlora" / "tradeoff_grid.json")
    explorers.check_tradeoff(page, grid, shot=offline_page.shot("lab-tradeoff-explorer"))
    explorers.check_memory(page, shot=offline_page.shot("lab-memory-calculator"))
    assert not offline_page.blocked, offline_page.blocked


def test_threshold_explorer_in_jupyterlab(lab, offline_page) -> None:
    ran = _open_and_run(offline_page, lab, "explorers.ipynb", ["threshold_explorer("])
    assert len(ran) == 1
    rng = np.random.default_rng(7)  # the notebook's data, made the same way
    y_true = rng.integers(0, 2, 200)
    y_score = np.clip(0.35 * y_true + 0.65 * rng.random(200), 0, 1)
    explorers.check_threshold(offline_page.page, y_true, y_score,
                              shot=offline_page.shot("lab-threshold-explorer"))  # fmt: skip
    assert not offline_page.blocked, offline_page.blocked
