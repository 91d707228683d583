"""Interactive explorers for the lessons: trade-offs, memory, decision thresholds.

- :func:`tradeoff_explorer` - LoRA rank x quantization level over a grid of measured runs
  (:mod:`labkit.grid`), with a button that trains the chosen setting now;
- :func:`memory_calculator` - model size, method, rank, batch, sequence length, precision ->
  weights, gradients, optimizer state and activations, against a 16 GB T4, a 24 GB and an
  80 GB card;
- :func:`threshold_explorer` - a decision threshold over a model's test scores -> confusion
  matrix, precision, recall, specificity, F1, the point on the ROC and PR curves, and with
  costs of a false positive and a false negative, the total cost and the cheapest threshold.

Each one is plain logic (``labkit.widgets.tradeoff``, ``.memory``, ``.threshold``: state ->
HTML with small inline SVG charts; unit tests call them directly) plus this thin widget layer.

**Where they must run, and why two modes.** The same call has to work in three places:

1. JupyterLab with ipywidgets 8 and a live kernel;
2. Google Colab, which ships ipywidgets 7.7.1 (upgrading it there breaks Colab's widget
   manager), so only widgets that exist in both 7.7 and 8 are used: SelectionSlider,
   ToggleButtons, Dropdown, FloatText, Button, HTML, Output, HBox/VBox, and
   ``observe`` (no ``Stack``, no ``tooltip``);
3. the static course website, where no kernel runs: ``observe`` callbacks never fire there.
   Only what the saved widget state holds, and links that run in the browser (``jslink`` /
   ``jsdlink``), keep working.

So where ``ipywidgets.Stack`` exists (8.x) an explorer precomputes one HTML panel per value of
its *static* controls (rank x quantization: 28 panels; the threshold: 19; model x method: 21)
and puts them in nested ``Stack`` widgets whose ``selected_index`` follows each control's
``index`` through ``jsdlink``. The page then responds to those controls with no kernel (the
saved state holds every panel; the panels share one Layout and one HTMLStyle to keep the page
small), and JupyterLab behaves the same. Where ``Stack`` is missing (7.7) the explorer falls
back to ``observe``: one HTML widget re-rendered by the kernel, which Colab always has. Controls
that cannot be precomputed (costs, sequence length, a custom model size, "train this setting")
are *live*: they re-render the panels through the kernel, and the page says they need a running
notebook. ``mode="observe"`` forces the fallback (for tests); ``mode="stack"`` requires 8.x.
"""

from __future__ import annotations

from typing import Any

from labkit.widgets import memory, tradeoff
from labkit.widgets import threshold as thresholds
from labkit.widgets.ui import Explorer, Panels, choose_mode, ipywidgets

__all__ = [
    "Explorer",
    "choose_mode",
    "load_grid",
    "memory_calculator",
    "threshold_explorer",
    "tradeoff_explorer",
]

LIVE_NOTE = (
    '<div style="font-size:11px;color:#555">{what} On the website these respond without '
    "Python; {live} need a running notebook (JupyterLab, or Colab: the rocket icon above).</div>"
)


def load_grid(path: Any) -> dict[str, Any]:
    """Read a trade-off grid written by ``python -m labkit grid`` (:func:`labkit.grid.load_grid`)."""
    from labkit.grid import load_grid as _load

    return _load(path)


# --- trade-off explorer ----------------------------------------------------------------------
def tradeoff_explorer(grid: dict[str, Any] | str, *, mode: str = "auto", train: bool = True,
                      rank: int = 8, quant: str = "4bit-nf4") -> Explorer:  # fmt: skip
    """Explore a trade-off grid: a rank slider and a quantization toggle select a measured run;
    its numbers and its place on accuracy-vs-memory and accuracy-vs-time charts are shown.

    ``grid`` is the dict of :func:`labkit.grid.load_grid` or a path to the JSON file. With
    ``train=True`` a button trains the selected setting now (``labkit.run`` with the grid's
    data, sizes and seed) and adds the measured point (diamonds on the charts).
    """
    from labkit.grid import QUANT_LABELS, cpu_seconds

    if not isinstance(grid, dict):
        grid = load_grid(grid)
    widgets = ipywidgets()
    ranks, quants = tradeoff.settings(grid)
    rank_control = widgets.SelectionSlider(
        options=ranks, value=rank if rank in ranks else ranks[0], description="LoRA rank r",
        continuous_update=False, style={"description_width": "initial"},
    )  # fmt: skip
    quant_control = widgets.ToggleButtons(
        options=[(QUANT_LABELS[q], q) for q in quants],
        value=quant if quant in quants else quants[0], description="base weights",
        style={"description_width": "initial"},
    )  # fmt: skip
    extra: list[dict[str, Any]] = []

    def render(index: tuple[int, ...]) -> str:
        q, r = index
        return tradeoff.panel_html(grid, ranks[r], quants[q], extra=extra)

    panels = Panels([quant_control, rank_control], [len(quants), len(ranks)], render, mode)
    children = [quant_control, rank_control, panels.view]
    controls = {"rank": rank_control, "quantization": quant_control}
    if train:
        button = widgets.Button(description="train this setting now", icon="play",
                                layout=widgets.Layout(width="auto"))  # fmt: skip
        status = widgets.HTML(value="")
        output = widgets.Output()

        def on_click(_button: Any) -> None:
            r, q = rank_control.value, quant_control.value
            button.disabled = True
            status.value = (f"training rank {r}, {QUANT_LABELS[q]} on {grid['settings']['data']} "
                            f"({grid['settings']['limit']} examples, "
                            f"{grid['settings']['epochs']:g} epoch) ...")  # fmt: skip
            try:
                started = cpu_seconds()
                with output:
                    result = _train_setting(grid, r, q)
                extra.append(tradeoff.run_as_row(result, r, q, cpu_seconds() - started))
                panels.refresh()
                status.value = (f"done: accuracy {result.report.accuracy:.3f}, total memory "
                                f"{result.ledger['total_memory_mb']:.0f} MB, "
                                f"{result.ledger['train_seconds']:.1f} s")  # fmt: skip
            except Exception as error:  # show it in the widget, keep the explorer usable
                status.value = f"training failed: {type(error).__name__}: {error}"
            finally:
                button.disabled = False

        button.on_click(on_click)
        children += [widgets.HBox([button, status]), output]
        controls["train"] = button
    children.append(widgets.HTML(value=LIVE_NOTE.format(
        what="The rank slider and the quantization buttons select measured runs.",
        live="the training button and its results")))  # fmt: skip
    children.append(widgets.HTML(value=tradeoff.provenance_html(grid)))
    box = widgets.VBox(children)
    return Explorer(box, controls, panels, grid=grid, extra=extra)


def _train_setting(grid: dict[str, Any], rank: int, quant: str) -> Any:
    """One run of the grid's setting (rank, quant) with the grid's data, sizes and seed."""
    from labkit.data import load_task
    from labkit.grid import RUN_NAME
    from labkit.train import run

    s = grid["settings"]
    task = load_task(s["data"], seed=0, limit=s["limit"])
    return run(task, RUN_NAME[quant], rank=rank, epochs=s["epochs"], max_length=s["max_length"],
               seed=s["seeds"][0], progress=True)  # fmt: skip


# --- memory calculator -----------------------------------------------------------------------
def memory_calculator(*, model: str = "7B", method: str = "qlora", mode: str = "auto",
                      rank: int = 16, batch: int = 4, seq_len: int = 512,
                      precision: str = "fp16", custom_billions: float = 3.0) -> Explorer:  # fmt: skip
    """Estimate training memory: weights, gradients, optimizer state and activations in GiB for
    a model size and method, against a free Colab T4 (16 GB), a 24 GB card and an 80 GB card.

    Model and method are precomputed (they work on the website); rank, batch, sequence length,
    precision, gradient checkpointing and the custom size re-render through the kernel.
    """
    widgets = ipywidgets()
    wide = {"description_width": "initial"}
    model_control = widgets.Dropdown(
        options=[(memory.MODEL_LABELS[m], m) for m in memory.MODELS], value=model,
        description="model", style=wide,
    )  # fmt: skip
    method_control = widgets.ToggleButtons(
        options=[(memory.METHOD_LABELS[m], m) for m in memory.METHODS], value=method,
        description="method", style=wide,
    )  # fmt: skip
    rank_control = widgets.SelectionSlider(options=[1, 2, 4, 8, 16, 32, 64, 128], value=rank,
                                           description="LoRA rank", style=wide,
                                           continuous_update=False)  # fmt: skip
    batch_control = widgets.SelectionSlider(options=[1, 2, 4, 8, 16, 32, 64], value=batch,
                                            description="batch size", style=wide,
                                            continuous_update=False)  # fmt: skip
    seq_control = widgets.SelectionSlider(options=[64, 128, 256, 512, 1024, 2048, 4096],
                                          value=seq_len, description="sequence length",
                                          style=wide, continuous_update=False)  # fmt: skip
    precision_control = widgets.ToggleButtons(options=list(memory.PRECISIONS), value=precision,
                                              description="precision", style=wide)  # fmt: skip
    checkpoint_control = widgets.ToggleButtons(options=[("off", False), ("on", True)], value=False,
                                               description="gradient checkpointing", style=wide)  # fmt: skip
    custom_control = widgets.FloatText(value=custom_billions, description="custom size (billions)",
                                       style=wide)  # fmt: skip

    def inputs(index: tuple[int, ...]) -> memory.Inputs:
        m, k = index
        size = custom_control.value if custom_control.value and custom_control.value > 0 else 3.0
        return memory.Inputs(
            model=memory.MODELS[m], method=memory.METHODS[k], rank=rank_control.value,
            batch=batch_control.value, seq_len=seq_control.value,
            precision=precision_control.value, custom_billions=float(size),
            gradient_checkpointing=bool(checkpoint_control.value),
        )  # fmt: skip

    def render(index: tuple[int, ...]) -> str:
        try:
            return memory.panel_html(inputs(index))
        except ValueError as error:
            return f"<div>cannot estimate: {error}</div>"

    panels = Panels([model_control, method_control],
                    [len(memory.MODELS), len(memory.METHODS)], render, mode)  # fmt: skip
    for live in (rank_control, batch_control, seq_control, precision_control, checkpoint_control,
                 custom_control):  # fmt: skip
        live.observe(panels.refresh, names="value")
    note = widgets.HTML(value=LIVE_NOTE.format(
        what="The model menu and the method buttons select precomputed estimates.",
        live="the other controls"))  # fmt: skip
    box = widgets.VBox([
        widgets.HBox([model_control, custom_control]), method_control,
        widgets.HBox([rank_control, batch_control]), widgets.HBox([seq_control]),
        precision_control, checkpoint_control, panels.view, note,
    ])  # fmt: skip
    controls = {"model": model_control, "method": method_control, "rank": rank_control,
                "batch": batch_control, "seq_len": seq_control, "precision": precision_control,
                "gradient_checkpointing": checkpoint_control, "custom_billions": custom_control}  # fmt: skip
    return Explorer(box, controls, panels)


# --- threshold explorer ----------------------------------------------------------------------
def threshold_explorer(result_or_labels: Any, y_score: Any = None, *, fp_cost: float = 1.0,
                       fn_cost: float = 1.0, threshold: float = 0.5, positive: Any = 1,
                       label_names: Any = None, mode: str = "auto") -> Explorer:  # fmt: skip
    """Move a decision threshold over a model's test scores and see what it does.

    ``threshold_explorer(result)`` takes a ``RunResult`` of a binary task (its
    ``test_labels``, ``positive_scores`` and ``label_names``); ``threshold_explorer(y_true,
    y_score, label_names=("ham", "spam"))`` takes labels, positive-class scores and the two
    class names, class 0 (negative) first. The confusion matrix has the course's layout:
    actual class in rows, predicted class in columns, the negative class first. The threshold
    (0.05 to 0.95) is precomputed and works on the website; the costs of a false positive and a
    false negative re-render through the kernel (the page shows the costs it was saved with).
    """
    widgets = ipywidgets()
    scores = thresholds.scores_from(result_or_labels, y_score, positive, label_names)
    points = thresholds.curves(scores)
    values = list(thresholds.THRESHOLDS)
    start = min(values, key=lambda t: abs(t - threshold))
    wide = {"description_width": "initial"}
    slider = widgets.SelectionSlider(options=values, value=start, description="threshold",
                                     continuous_update=True, style=wide)  # fmt: skip
    fp_control = widgets.FloatText(value=fp_cost, description="cost of a false positive",
                                   style=wide)  # fmt: skip
    fn_control = widgets.FloatText(value=fn_cost, description="cost of a false negative",
                                   style=wide)  # fmt: skip
    cache: dict[tuple[float, float], Any] = {}

    def costs() -> tuple[float, float]:
        fp = fp_control.value if fp_control.value and fp_control.value > 0 else 0.0
        fn = fn_control.value if fn_control.value and fn_control.value > 0 else 0.0
        return (fp, fn) if fp or fn else (1.0, 1.0)

    def render(index: tuple[int, ...]) -> str:
        fp, fn = costs()
        if (fp, fn) not in cache:
            cache[(fp, fn)] = thresholds.best_threshold(scores, fp, fn)
        return thresholds.panel_html(scores, values[index[0]], fp_cost=fp, fn_cost=fn,
                                    curve_points=points, best=cache[(fp, fn)])  # fmt: skip

    panels = Panels([slider], [len(values)], render, mode)
    fp_control.observe(panels.refresh, names="value")
    fn_control.observe(panels.refresh, names="value")
    note = widgets.HTML(value=LIVE_NOTE.format(
        what="The threshold slider selects precomputed results.", live="the two costs"))  # fmt: skip
    box = widgets.VBox([slider, widgets.HBox([fp_control, fn_control]), panels.view, note])
    controls = {"threshold": slider, "fp_cost": fp_control, "fn_cost": fn_control}
    return Explorer(box, controls, panels, scores=scores)
