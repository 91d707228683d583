"""Tests of labkit.plots: the drawn content, not only that a figure appears."""

from __future__ import annotations

import sys
import types

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.text  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    average_precision_score,
    roc_auc_score,
)
from sklearn.metrics import roc_curve as sk_roc_curve  # noqa: E402

from labkit import plots  # noqa: E402
from labkit.errors import MetricsError  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def scores() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = 0.6 * y + rng.random(200)
    return y, s


@pytest.fixture
def history() -> list[dict]:
    return [
        {"epoch": 1, "train_loss": 0.9, "eval_loss": 0.80, "eval_accuracy": 0.60},
        {"epoch": 2, "train_loss": 0.6, "eval_loss": 0.55, "eval_accuracy": 0.72},
        {"epoch": 3, "train_loss": 0.4, "eval_loss": 0.50, "eval_accuracy": 0.78},
        {"epoch": 4, "train_loss": 0.2, "eval_loss": 0.62, "eval_accuracy": 0.76},
    ]


def _legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


# ---------------------------------------------------------------- confusion matrix


def test_confusion_matrix_counts_in_the_right_cells():
    ax = plots.confusion_matrix([1, 1, 1, 0, 0], [1, 0, 1, 0, 1])
    np.testing.assert_array_equal(ax.images[0].get_array(), [[1, 1], [1, 2]])
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
             for t in ax.texts}  # fmt: skip
    assert cells == {(0, 0): "1", (0, 1): "1", (1, 0): "1", (1, 1): "2"}
    assert ax.get_ylabel() == "Actual"
    assert ax.get_xlabel() == "Predicted"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1"]


def test_confusion_matrix_normalized_names_and_given_ax():
    fig, given = plt.subplots()
    ax = plots.confusion_matrix([1, 1, 1, 0, 0], [1, 0, 1, 0, 1], normalize="true",
                                label_names=["neg", "pos"], ax=given)  # fmt: skip
    assert ax is given and ax.figure is fig
    texts = [t.get_text() for t in ax.texts]
    assert texts[::2] == ["50%", "50%", "33%", "67%"]
    assert "n=2" in texts
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.5, 0.5], [1 / 3, 2 / 3]])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["neg", "pos"]


def test_confusion_matrix_precomputed_matrix_and_colorbar():
    ax = plots.confusion_matrix(matrix=[[5, 1, 0], [2, 7, 1], [0, 0, 9]], colorbar=True,
                                label_names=["a", "b", "c"])  # fmt: skip
    assert [t.get_text() for t in ax.texts] == ["5", "1", "0", "2", "7", "1", "0", "0", "9"]
    assert len(ax.figure.axes) == 2  # the colorbar


def test_confusion_matrix_errors():
    with pytest.raises(MetricsError, match="y_true has 3 values but y_pred has 2"):
        plots.confusion_matrix([0, 1, 1], [0, 1])
    with pytest.raises(MetricsError, match="empty"):
        plots.confusion_matrix([], [])
    with pytest.raises(MetricsError, match="square"):
        plots.confusion_matrix(matrix=[[1, 2, 3]])
    with pytest.raises(MetricsError, match="one name per class"):
        plots.confusion_matrix([0, 1], [0, 1], label_names=["only"])


# ---------------------------------------------------------------- ROC and PR


def test_roc_curve_matches_sklearn_and_overlays(scores):
    y, s = scores
    ax = plots.roc_curve(y, s, label="lora")
    fpr, tpr, _ = sk_roc_curve(y, s)
    curve = ax.get_lines()[-1]
    np.testing.assert_allclose(curve.get_xdata(), fpr)
    np.testing.assert_allclose(curve.get_ydata(), tpr)
    auc = roc_auc_score(y, s)
    assert f"AUC = {auc:.3f}" in _legend_texts(ax)[-1]
    assert "lora" in _legend_texts(ax)[-1]
    chance = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(chance) == 1
    assert ax.get_xlabel() == "False positive rate (1 − specificity)"
    assert ax.get_ylabel() == "True positive rate (recall)"

    rng = np.random.default_rng(1)
    again = plots.roc_curve(y, rng.random(200), ax=ax, label="random")
    assert again is ax
    assert len(ax.get_lines()) == 3  # one chance line, two models
    assert len(_legend_texts(ax)) == 3


def test_roc_curve_one_class_is_explained():
    with pytest.raises(MetricsError, match="only one class"):
        plots.roc_curve([1, 1, 1], [0.2, 0.4, 0.9])
    with pytest.raises(MetricsError, match="y_score has 2"):
        plots.roc_curve([0, 1, 1], [0.2, 0.4])


def test_precision_recall_curve_base_rate_and_ap(scores):
    y, s = scores
    fig, given = plt.subplots()
    ax = plots.precision_recall_curve(y, s, ax=given, label="head")
    assert ax is given
    base = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(base) == 1
    np.testing.assert_allclose(base[0].get_ydata(), [y.mean(), y.mean()])
    legend = _legend_texts(ax)
    ap = average_precision_score(y, s)
    assert any(f"AP = {ap:.3f}" in t for t in legend)
    assert any(t.startswith("chance (base rate") and f"{y.mean():.2f}" in t for t in legend)
    with pytest.raises(MetricsError, match="only one class"):
        plots.precision_recall_curve([0, 0], [0.1, 0.3])


# ---------------------------------------------------------------- training curves


def test_learning_curves_lines_best_epoch_and_diagnosis(history):
    diagnosis = types.SimpleNamespace(kind="overfitting", evidence="val loss rises after 3",
                                      best_epoch=3)  # fmt: skip
    ax = plots.learning_curves(history, diagnosis=diagnosis)
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["training loss"].get_ydata(), [0.9, 0.6, 0.4, 0.2])
    np.testing.assert_allclose(lines["validation loss"].get_ydata(), [0.80, 0.55, 0.50, 0.62])
    np.testing.assert_allclose(lines["validation loss"].get_xdata(), [1, 2, 3, 4])
    best = [line for label, line in lines.items() if label.startswith("best epoch")]
    assert len(best) == 1
    np.testing.assert_allclose(best[0].get_xdata(), [3, 3])
    assert "overfitting" in ax.get_title()
    assert "val loss rises after 3" in ax.get_title()
    metric_ax = ax.metric_axes
    assert metric_ax is not None
    np.testing.assert_allclose(metric_ax.get_lines()[0].get_ydata(), [0.60, 0.72, 0.78, 0.76])


def test_learning_curves_dataframe_string_diagnosis_no_metric(history):
    frame = pd.DataFrame(history).drop(columns="eval_accuracy")
    fig, given = plt.subplots()
    ax = plots.learning_curves(frame, diagnosis="fine", ax=given)
    assert ax is given
    assert "fine" in ax.get_title()
    assert ax.metric_axes is None
    ax = plots.learning_curves(frame, diagnosis=None)
    assert ax.get_title() == "Learning curves"


def test_learning_curves_auto_diagnosis_never_breaks_the_plot(history):
    # works whether or not labkit.metrics (and its diagnose_history) is available
    ax = plots.learning_curves(history)
    assert ax.get_title().startswith("Learning curves")
    assert {"training loss", "validation loss"} <= {line.get_label() for line in ax.get_lines()}


def test_learning_curves_auto_uses_diagnose_history(history, monkeypatch):
    fake = types.ModuleType("labkit.metrics")
    fake.diagnose_history = lambda h: types.SimpleNamespace(
        kind="underfitting", evidence=f"{len(h)} epochs seen", best_epoch=3
    )
    monkeypatch.setitem(sys.modules, "labkit.metrics", fake)
    ax = plots.learning_curves(history)
    assert "underfitting" in ax.get_title()
    assert "4 epochs seen" in ax.get_title()


def test_learning_curves_missing_column(history):
    broken = [{k: v for k, v in row.items() if k != "eval_loss"} for row in history]
    with pytest.raises(MetricsError, match="'eval_loss'"):
        plots.learning_curves(broken, diagnosis=None)
    with pytest.raises(MetricsError, match="empty"):
        plots.learning_curves([], diagnosis=None)


def _drawn(fig) -> object:
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _text_box(text, renderer):
    """A text's own box (an annotation's leader line left out)."""
    if hasattr(text, "update_positions"):
        text.update_positions(renderer)
    return matplotlib.text.Text.get_window_extent(text, renderer)


def _vertices(ax) -> np.ndarray:
    """Display coordinates of every line vertex and marker drawn on ``ax``."""
    parts = [line.get_transform().transform_path(line.get_path()).vertices
             for line in ax.get_lines()]  # fmt: skip
    parts += [c.get_offset_transform().transform(c.get_offsets()) for c in ax.collections
              if len(c.get_offsets())]  # fmt: skip
    return np.concatenate(parts) if parts else np.empty((0, 2))


CROWDED = {  # three runs of practice 5 and a flat one: curves in every corner of small panels
    "A": ([0.60, 0.35, 0.18, 0.08, 0.03], [0.55, 0.42, 0.45, 0.56, 0.70],
          [0.74, 0.82, 0.83, 0.82, 0.81]),
    "B": ([0.69, 0.68, 0.67, 0.66, 0.66], [0.69, 0.68, 0.68, 0.67, 0.67],
          [0.52, 0.55, 0.56, 0.58, 0.58]),
    "C": ([0.62, 0.38, 0.27, 0.21, 0.18], [0.50, 0.36, 0.30, 0.28, 0.27],
          [0.78, 0.85, 0.88, 0.89, 0.90]),
}  # fmt: skip


def _run(train, evals, accuracy) -> list[dict]:
    return [{"epoch": e + 1, "train_loss": t, "eval_loss": v, "eval_accuracy": a}
            for e, (t, v, a) in enumerate(zip(train, evals, accuracy, strict=True))]  # fmt: skip


@pytest.mark.parametrize("layout", ["one row", "one figure each"])
def test_learning_curves_legend_covers_no_curve_and_no_value(history, layout):
    runs = [_run(*r) for r in CROWDED.values()] + [history]
    if layout == "one row":
        fig, axes = plt.subplots(1, len(runs), figsize=(18, 3.8))
        figures = [fig]
    else:
        figures, axes = zip(*(plt.subplots(figsize=(7, 4.5)) for _ in runs), strict=True)
    drawn = [plots.learning_curves(run, diagnosis=None, ax=ax)
             for ax, run in zip(axes, runs, strict=True)]  # fmt: skip
    for fig in figures:
        fig.tight_layout()
        _drawn(fig)
    for ax in drawn:
        renderer = ax.figure.canvas.get_renderer()
        legend = ax.get_legend()
        assert legend is not None and ax.get_zorder() > ax.metric_axes.get_zorder()  # on top
        box = legend.get_window_extent(renderer)
        for each in (ax, ax.metric_axes):
            assert not box.count_contains(_vertices(each)), "the legend covers a curve"
        (note,) = ax.metric_axes.texts  # the metric's value at the best epoch
        note_box = _text_box(note, renderer)
        assert Bbox.intersection(box, note_box) is None, "the legend covers the value"
        frame = ax.get_window_extent(renderer)
        assert note_box.x1 <= frame.x1 + 1 and note_box.y1 <= frame.y1 + 1  # inside the frame


def test_learning_curves_metric_axis_spans_at_least_ten_points():
    flat = _run([0.7, 0.69, 0.69, 0.69], [0.70, 0.695, 0.694, 0.693], [0.716, 0.73, 0.722, 0.72])
    low, high = plots.learning_curves(flat, diagnosis=None).metric_axes.get_ylim()
    assert high - low >= 0.1 and low <= 0.716 and high >= 0.73
    near_one = _run([0.3, 0.2], [0.3, 0.2], [0.99, 1.0])
    low, high = plots.learning_curves(near_one, diagnosis=None).metric_axes.get_ylim()
    assert high - low >= 0.1 and high <= 1.01  # widened downwards, not past 1
    ax = plots.learning_curves(flat, diagnosis=None, metric_ylim=(0.5, 1.0))
    assert ax.metric_axes.get_ylim() == (0.5, 1.0)
    low, high = plots.learning_curves(
        flat, diagnosis=None, metric_min_span=0
    ).metric_axes.get_ylim()
    assert high - low < 0.05  # matplotlib's own zoom, on request
    wide = _run([0.7, 0.3], [0.7, 0.4], [0.5, 0.9])
    low, high = plots.learning_curves(wide, diagnosis=None).metric_axes.get_ylim()
    assert low < 0.5 and high > 0.9 and high - low < 0.5  # a wide range is left alone
    with pytest.raises(MetricsError, match="metric_ylim"):
        plots.learning_curves(flat, diagnosis=None, metric_ylim=(1.0, 0.5))


def test_loss_curve_raw_and_smoothed():
    steps = [{"step": i, "loss": 1.0 / i} for i in range(1, 101)]
    ax = plots.loss_curve(steps)
    raw, smooth = ax.get_lines()
    np.testing.assert_allclose(raw.get_ydata(), [1.0 / i for i in range(1, 101)])
    assert len(smooth.get_ydata()) == 100
    assert "moving average" in smooth.get_label()
    # a moving average of a decreasing curve lies above it (after the first point)
    assert np.all(smooth.get_ydata()[1:] > raw.get_ydata()[1:])
    with pytest.raises(MetricsError, match="'loss'"):
        plots.loss_curve(pd.DataFrame({"step": [1, 2]}))


# ---------------------------------------------------------------- thresholds and comparisons


def test_metric_vs_threshold_lines_and_mark():
    sweep = [{"threshold": t, "precision": 0.5 + t / 2, "recall": 1 - t, "f1": 0.6}
             for t in np.linspace(0, 1, 11)]  # fmt: skip
    ax = plots.metric_vs_threshold(sweep, mark=0.3)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:3] == ["precision", "recall", "F1"]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), 1 - np.linspace(0, 1, 11))
    np.testing.assert_allclose(ax.get_lines()[3].get_xdata(), [0.3, 0.3])
    with pytest.raises(MetricsError, match="'accuracy'"):
        plots.metric_vs_threshold(sweep, metrics=("accuracy",))


def test_method_comparison_points_names_errorbars():
    table = pd.DataFrame({
        "method": ["full", "lora", "qlora4"],
        "total_memory_mb": [900.0, 400.0, 250.0],
        "train_seconds": [60.0, 30.0, 45.0],
        "accuracy": [0.90, 0.89, 0.88],
        "accuracy_std": [0.01, 0.02, 0.015],
    })  # fmt: skip
    fig, axes = plt.subplots(1, 2)
    ax = plots.method_comparison(table, x="total_memory_mb", y="accuracy", ax=axes[0])
    assert ax is axes[0]
    assert len(ax.collections[0].get_offsets()) == 3
    np.testing.assert_allclose(ax.collections[0].get_offsets(),
                               table[["total_memory_mb", "accuracy"]].to_numpy())  # fmt: skip
    assert [t.get_text() for t in ax.texts] == ["full", "lora", "qlora4"]
    assert len(ax.containers) == 1  # the error bars
    assert ax.get_xlabel() == "total memory: model + training peak (MB)"
    assert ax.get_ylabel() == "accuracy"

    indexed = table.drop(columns="accuracy_std").set_index("method")
    ax = plots.method_comparison(indexed, x="train_seconds", ax=axes[1])
    assert [t.get_text() for t in ax.texts] == ["full", "lora", "qlora4"]
    assert len(ax.containers) == 0
    assert ax.get_xlabel() == "train seconds"
    with pytest.raises(MetricsError, match="'total_memory_mb'"):
        plots.method_comparison(indexed.drop(columns="total_memory_mb"))


def _exact(y, s, t) -> dict[str, float]:
    predicted = np.asarray(s) >= t
    y = np.asarray(y) == 1
    tp, fp = (predicted & y).sum(), (predicted & ~y).sum()
    tn, fn = (~predicted & ~y).sum(), (~predicted & y).sum()
    return {"precision": tp / (tp + fp), "recall": tp / (tp + fn), "specificity": tn / (tn + fp)}


def test_metric_vs_threshold_annotates_values_at_the_exact_threshold():
    from labkit.metrics import threshold_for, threshold_sweep

    rng = np.random.default_rng(5)
    y = (rng.random(300) < 0.2).astype(int)
    s = 1 / (1 + np.exp(-(2.5 * y - 1.5 + rng.normal(0, 1, 300))))
    sweep = threshold_sweep(y, s)  # grid 0.05, 0.10, ..., 0.95
    choice = threshold_for(y, s, recall=0.95)
    assert not np.isclose(sweep["threshold"], choice.threshold).any()  # between grid points
    metrics = ("precision", "recall", "specificity")
    exact = _exact(y, s, choice.threshold)
    grid = {m: np.interp(choice.threshold, sweep["threshold"], sweep[m]) for m in metrics}
    # read off the grid, precision and recall come out a point or two off (the lesson's 0.87
    # against the 0.88 it prints)
    assert [f"{grid[m]:.2f}" for m in metrics] != [f"{exact[m]:.2f}" for m in metrics]

    for call in ({"mark": choice}, {"mark": choice.threshold, "y_true": y, "y_score": s}):
        ax = plots.metric_vs_threshold(sweep, metrics=metrics, **call)
        assert [t.get_text() for t in ax.texts] == [f"{exact[m]:.2f}" for m in metrics]
        np.testing.assert_allclose([t.xy[1] for t in ax.texts], [exact[m] for m in metrics])
        assert any(f"threshold {choice.threshold:.3g}" == t for t in _legend_texts(ax))

    # a bare number between grid points: the mark only, no numbers read off the grid
    ax = plots.metric_vs_threshold(sweep, metrics=metrics, mark=choice.threshold)
    assert len(ax.texts) == 0
    # on a grid point the sweep's own row is exact
    ax = plots.metric_vs_threshold(sweep, metrics=metrics, mark=0.5)
    row = sweep[np.isclose(sweep["threshold"], 0.5)].iloc[0]
    assert [t.get_text() for t in ax.texts] == [f"{row[m]:.2f}" for m in metrics]
    with pytest.raises(MetricsError, match="both y_true and y_score"):
        plots.metric_vs_threshold(sweep, mark=0.3, y_true=y)


CENTRAL = pd.DataFrame({  # the central experiment's table: qlora4, lora and qlora8 side by side
    "method": ["full", "head", "last_n", "lora", "qlora8", "qlora4"],
    "accuracy": [0.861, 0.747, 0.802, 0.875, 0.871, 0.871],
    "accuracy_std": [0.003, 0.005, 0.041, 0.002, 0.005, 0.005],
    "train_seconds": [10.3, 4.2, 6.7, 12.6, 10.1, 8.6],
    "total_memory_mb": [448.0, 130.0, 181.0, 252.0, 269.0, 216.0],
})  # fmt: skip


@pytest.mark.parametrize("figsize", [(12, 4.5), (9, 3.5)])
def test_method_comparison_labels_do_not_overlap(figsize):
    fig, axes = plt.subplots(1, 2, figsize=figsize)
    plots.method_comparison(CENTRAL, x="total_memory_mb", y="accuracy", ax=axes[0])
    plots.method_comparison(CENTRAL, x="train_seconds", y="accuracy", ax=axes[1])
    fig.tight_layout()
    renderer = _drawn(fig)
    for ax in axes:
        assert [t.get_text() for t in ax.texts] == list(CENTRAL["method"])
        boxes = [_text_box(t, renderer) for t in ax.texts]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert Bbox.intersection(a, b) is None, "two labels overlap"
        frame = ax.get_window_extent(renderer)
        centres = ax.transData.transform(
            CENTRAL[
                ["total_memory_mb" if ax is axes[0] else "train_seconds", "accuracy"]
            ].to_numpy()
        )
        for text, box in zip(ax.texts, boxes, strict=True):
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1, text.get_text()
            assert frame.y0 <= box.y0 and box.y1 <= frame.y1, text.get_text()
            assert not box.count_contains(centres), f"{text.get_text()} covers a point"
            assert text.get_fontsize() >= plt.rcParams["font.size"]  # readable at page width


def test_rank_sweep_log2_and_secondary():
    table = pd.DataFrame({"rank": [16, 1, 4, 2, 8], "accuracy": [0.85, 0.7, 0.8, 0.75, 0.84],
                          "f1": [0.8, 0.6, 0.7, 0.65, 0.79],
                          "trainable_params": [16e3, 1e3, 4e3, 2e3, 8e3]})  # fmt: skip
    ax = plots.rank_sweep(table, y=("accuracy", "f1"))
    assert ax.get_xscale() == "log"
    assert ax.xaxis.get_transform().base == 2
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [1, 2, 4, 8, 16])
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.7, 0.75, 0.8, 0.84, 0.85])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4", "8", "16"]
    assert ax.secondary_axes is not None
    assert ax.secondary_axes.get_ylabel() == "trainable parameters"
    with pytest.raises(MetricsError, match="'accuracy'"):
        plots.rank_sweep(table.drop(columns="accuracy"))


def test_quantization_error_mae_in_legend():
    rng = np.random.default_rng(2)
    w = rng.normal(size=2000)
    q8 = w + rng.normal(0, 0.01, 2000)
    q4 = w + rng.normal(0, 0.1, 2000)
    fig, given = plt.subplots()
    ax = plots.quantization_error(w, {"8-bit": q8, "4-bit NF4": q4}, ax=given, bins=40)
    assert ax is given
    legend = _legend_texts(ax)
    assert legend[0] == f"8-bit (MAE {np.mean(np.abs(q8 - w)):.2e})"
    assert legend[1] == f"4-bit NF4 (MAE {np.mean(np.abs(q4 - w)):.2e})"
    assert len(ax.patches) == 2  # one step histogram per level
    with pytest.raises(MetricsError, match="has 3 values but original has 2000"):
        plots.quantization_error(w, {"4-bit": [0.0, 1.0, 2.0]})
    with pytest.raises(MetricsError, match="empty"):
        plots.quantization_error(w, {})


def test_new_figure_when_no_ax():
    ax = plots.loss_curve(pd.DataFrame({"step": [1, 2, 3], "loss": [1.0, 0.8, 0.7]}))
    assert ax.figure is not None
    assert ax in ax.figure.axes
