"""What the browser tests do with an explorer on a page, and what they expect to see.

Shared by the JupyterLab tests and the website tests: the same controls are moved the same way
(a SelectionSlider by its keyboard handle, a toggle by its button, a menu by its option) and the
visible panel is read back; the expected values come from the Python logic or the stored grid.
"""

from __future__ import annotations

import re
from typing import Any

from labkit import grid as grid_module
from labkit.widgets import memory

VISIBLE = """(selector) => [...document.querySelectorAll(selector)]
    .filter((element) => element.offsetParent !== null)
    .map((element) => ({...element.dataset,
        cells: Object.fromEntries([...element.querySelectorAll('[class^="lk-"]')]
            .map((cell) => [cell.className, cell.textContent.trim()]))}))"""


def visible(page: Any, selector: str) -> list[dict[str, Any]]:
    """The visible elements matching ``selector``: their data-* values and lk-* cell texts."""
    return page.evaluate(VISIBLE, selector)


def wait_for_panel(page: Any, selector: str, timeout: float = 30_000, **data: str) -> dict:
    """Wait until one visible ``selector`` panel has these data-* values; return it."""
    condition = " && ".join(f'e.dataset.{k} === "{v}"' for k, v in data.items())
    page.wait_for_function(
        f"""() => [...document.querySelectorAll('{selector}')]
            .some((e) => e.offsetParent !== null && {condition})""",
        timeout=timeout,
    )
    panels = [p for p in visible(page, selector) if all(p.get(k) == v for k, v in data.items())]
    assert len(panels) == 1, panels
    return panels[0]


def slider(page: Any, label: str) -> Any:
    """The ipywidgets slider whose description is exactly ``label``."""
    return page.locator(".widget-slider").filter(
        has=page.locator(".widget-label", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    )


def press_slider(page: Any, label: str, key: str, times: int = 1) -> None:
    """Move a SelectionSlider by its keyboard handle (its readout is not editable)."""
    handle = slider(page, label).locator(".noUi-handle").first
    handle.focus()
    for _ in range(times):
        handle.press(key)


def click_toggle(page: Any, text: str) -> None:
    page.get_by_role("button", name=text, exact=True).first.click()


def expected_tradeoff(grid: dict, rank: int, quant: str) -> dict[str, str]:
    row = grid_module.find_run(grid, rank, quant)
    return {"lk-accuracy": f"{row['accuracy']:.3f}", "lk-f1": f"{row['f1']:.3f}",
            "lk-total_memory_mb": f"{row['total_memory_mb']:.0f}"}  # fmt: skip


def check_tradeoff(page: Any, grid: dict, shot: Any = None) -> list[str]:
    """Move the trade-off explorer's controls; check the shown numbers against the grid.

    Starts from the explorer's default (rank 8, 4-bit NF4); returns the settings visited.
    """
    visited = []
    panel = wait_for_panel(page, ".lk-tradeoff", rank="8", quant="4bit-nf4")
    assert _subset(expected_tradeoff(grid, 8, "4bit-nf4"), panel["cells"]), panel
    press_slider(page, "LoRA rank r", "ArrowRight")  # 8 -> 16
    panel = wait_for_panel(page, ".lk-tradeoff", rank="16", quant="4bit-nf4")
    assert _subset(expected_tradeoff(grid, 16, "4bit-nf4"), panel["cells"]), panel
    visited.append("16/4bit-nf4")
    click_toggle(page, grid_module.QUANT_LABELS["8bit"])
    panel = wait_for_panel(page, ".lk-tradeoff", rank="16", quant="8bit")
    assert _subset(expected_tradeoff(grid, 16, "8bit"), panel["cells"]), panel
    visited.append("16/8bit")
    press_slider(page, "LoRA rank r", "ArrowLeft", times=4)  # 16 -> 1
    click_toggle(page, grid_module.QUANT_LABELS["none"])
    panel = wait_for_panel(page, ".lk-tradeoff", rank="1", quant="none")
    assert _subset(expected_tradeoff(grid, 1, "none"), panel["cells"]), panel
    visited.append("1/none")
    if shot is not None:
        shot(".lk-tradeoff")
    return visited


def check_memory(page: Any, shot: Any = None) -> None:
    """Pick Llama-2-70B and LoRA in the calculator; the total must be the estimator's."""
    page.locator(".widget-dropdown select").filter(has_text="Llama-2-70B").first.select_option(
        label=memory.MODEL_LABELS["70B"]
    )
    click_toggle(page, memory.METHOD_LABELS["lora"])
    panel = wait_for_panel(page, ".lk-memory", model="70B", method="lora")
    inputs = memory.Inputs(model="70B", method="lora", rank=16, batch=1, seq_len=512)
    total = memory.breakdown_gib(inputs)["total"]
    assert panel["cells"]["lk-total"] == f"{total:.2f} GiB", panel
    if shot is not None:
        shot(".lk-memory")


def check_threshold(page: Any, y_true: Any, y_score: Any, shot: Any = None) -> None:
    """Move the threshold from 0.50 to 0.65; the confusion counts must follow."""
    from labkit.widgets import threshold

    scores = threshold.scores_from(y_true, y_score)
    wait_for_panel(page, ".lk-threshold", threshold="0.50")
    press_slider(page, "threshold", "ArrowRight", times=3)
    panel = wait_for_panel(page, ".lk-threshold", threshold="0.65")
    counts = threshold.counts(scores, 0.65)
    assert panel["cells"]["lk-tp"] == f"TP {counts['tp']}", panel
    assert panel["cells"]["lk-fp"] == f"FP {counts['fp']}", panel
    if shot is not None:
        shot(".lk-threshold")


def _subset(expected: dict[str, str], cells: dict[str, str]) -> bool:
    return all(cells.get(k) == v for k, v in expected.items())
