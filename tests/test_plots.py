"""Tests of labkit.plots: the drawn content, not only that a figure appears."""

from __future__ import annotations

import sys
import types

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
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
