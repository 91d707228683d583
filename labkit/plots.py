"""Plots for the course: confusion matrices, ROC/PR curves, learning curves and cost comparisons.

Every function draws with matplotlib's object API on ``ax`` (a new figure when ``ax`` is None)
and returns the :class:`~matplotlib.axes.Axes` it drew on; the figure is ``ax.figure``. Nothing
here calls ``plt.show()``: a notebook displays the figure itself, a script saves it.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties
from matplotlib.text import Annotation, Text
from matplotlib.ticker import FixedLocator, NullLocator
from matplotlib.transforms import Bbox, ScaledTranslation

from labkit.errors import MetricsError

__all__ = [
    "confusion_matrix",
    "roc_curve",
    "precision_recall_curve",
    "learning_curves",
    "metric_vs_threshold",
    "method_comparison",
    "rank_sweep",
    "quantization_error",
    "loss_curve",
]

GRID_STYLE: dict[str, Any] = {"alpha": 0.3, "linewidth": 0.6}

# Column name -> readable axis label. Names not listed here are turned into words by _pretty().
AXIS_LABELS: dict[str, str] = {
    "peak_memory_mb": "peak memory (MB)",
    "total_memory_mb": "total memory: model + training peak (MB)",
    "train_peak_mb": "training peak above the model (MB)",
    "footprint_mb": "footprint (MB)",
    "train_seconds": "train seconds",
    "examples_per_s": "examples per second",
    "trainable_params": "trainable parameters",
    "trainable_percent": "trainable parameters (%)",
    "roc_auc": "ROC AUC",
    "f1": "F1",
    "eval_f1": "validation F1",
    "eval_accuracy": "validation accuracy",
    "eval_loss": "validation loss",
    "train_loss": "training loss",
    "rank": "LoRA rank r",
}


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6.0, 4.5)) -> Axes:
    """Return ``ax``, or the axes of a new figure when it is None."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _pretty(name: str) -> str:
    """A readable axis label for a column name (``peak_memory_mb`` -> ``peak memory (MB)``)."""
    if name in AXIS_LABELS:
        return AXIS_LABELS[name]
    words = str(name).replace("_", " ").strip()
    for suffix, unit in ((" mb", " (MB)"), (" gb", " (GB)"), (" ms", " (ms)"), (" s", " (s)")):
        if words.endswith(suffix):
            return words[: -len(suffix)] + unit
    return words


def _frame(data: Any, what: str) -> pd.DataFrame:
    """A DataFrame from a DataFrame, a list of dicts or a dict of columns; never empty."""
    if isinstance(data, pd.DataFrame):
        frame = data
    elif data is None:
        raise MetricsError(f"{what} is None; pass a DataFrame or a list of dicts.")
    else:
        try:
            frame = pd.DataFrame(list(data) if not isinstance(data, Mapping) else data)
        except (TypeError, ValueError) as exc:
            raise MetricsError(
                f"{what} must be a DataFrame or a list of dicts, got {type(data).__name__}."
            ) from exc
    if len(frame) == 0:
        raise MetricsError(f"{what} is empty; it needs at least one row.")
    return frame


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise MetricsError naming every missing column."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MetricsError(
            f"{what} has no column {', '.join(repr(c) for c in missing)}; "
            f"it has {list(map(str, frame.columns))}. Pass a table with "
            f"{'that column' if len(missing) == 1 else 'those columns'}."
        )


def _pair(y_true: Any, y_other: Any, other_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Two 1-D arrays of equal, non-zero length."""
    if y_true is None or y_other is None:
        raise MetricsError(f"pass both y_true and {other_name}.")
    a = np.asarray(y_true).ravel()
    b = np.asarray(y_other).ravel()
    if a.size == 0 or b.size == 0:
        raise MetricsError(f"y_true and {other_name} are empty; pass at least one example.")
    if a.size != b.size:
        raise MetricsError(
            f"y_true has {a.size} values but {other_name} has {b.size}; "
            "they must describe the same examples, one value each."
        )
    return a, b


def _binary(y_true: Any, y_score: Any, curve: str) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores for a binary curve; a clear error when one class is missing."""
    y, s = _pair(y_true, y_score, "y_score")
    if s.dtype.kind not in "biuf":
        raise MetricsError(
            "y_score must be numbers (the probability or score of the positive class), "
            f"got {s.dtype}."
        )
    classes = np.unique(y)
    if classes.size < 2:
        raise MetricsError(
            f"y_true contains only one class ({classes[0]!r}), so the {curve} is undefined: "
            "it needs both positive and negative examples. Evaluate on a set that holds both "
            "(e.g. a stratified split)."
        )
    if classes.size > 2:
        raise MetricsError(
            f"y_true has {classes.size} classes {list(classes)}; the {curve} is for binary "
            "labels. Pass (y_true == positive_class) and that class's score."
        )
    return y, s


def _style_axes(ax: Axes, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, **GRID_STYLE)


# --------------------------------------------------------------------------------------------
# placement at draw time: labels and legends that avoid the data
# --------------------------------------------------------------------------------------------
# Where a text lands on the page depends on the final size of the axes, which is known only when
# the figure is drawn (after the caller's tight_layout, in a notebook or in savefig). These two
# invisible artists therefore choose positions inside draw(): _LabelPlacer gives each annotation
# the first of its candidate offsets that overlaps no other label, no data point and no edge of
# the axes; _LegendPlacer moves a legend to the corner or side that covers the fewest points of
# all the given axes (a twin axes included) and none of the given annotations.


def _overlap(a: Bbox, b: Bbox) -> float:
    """Area (display pixels) shared by two boxes."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(w, 0.0) * max(h, 0.0)


def _outside(box: Bbox, frame: Bbox) -> float:
    """Area of ``box`` that lies outside ``frame``."""
    return box.width * box.height - _overlap(box, frame)


def _text_box(annotation: Annotation, renderer: Any) -> Bbox:
    """The box of an annotation's text alone (its leader line left out)."""
    annotation.update_positions(renderer)
    return Text.get_window_extent(annotation, renderer)


# (dx, dy) in points, horizontal and vertical alignment; the first ones sit next to the point,
# the later ones further away with a thin leader line to it.
_NEAR = [((6, 5), "left", "bottom"), ((6, -5), "left", "top"), ((-6, 5), "right", "bottom"),
         ((-6, -5), "right", "top"), ((0, 8), "center", "bottom"), ((0, -8), "center", "top")]  # fmt: skip
_FAR = [((dx, dy), ha, "bottom" if dy > 0 else "top")
        for dy in (16, -16, 26, -26) for dx, ha in ((10, "left"), (-10, "right"))]  # fmt: skip


class _LabelPlacer(Artist):
    """Moves ``annotations`` (offset-point annotations) so that they do not overlap each other,
    the ``points`` (data coordinates) or the axes' edges; runs just before the texts draw."""

    def __init__(self, annotations: Sequence[Annotation], points: np.ndarray,
                 candidates: Sequence[tuple[tuple[float, float], str, str]],
                 far: int = 0) -> None:  # fmt: skip
        super().__init__()
        self.annotations = list(annotations)
        self.points = np.asarray(points, dtype=float).reshape(-1, 2)
        self.candidates = list(candidates)
        self.far = far  # candidates from this index on draw a leader line
        self.set_zorder(2.95)  # after lines and markers, before texts (3) and the legend (5)

    def place(self, renderer: Any) -> list[Bbox]:
        ax = self.axes
        frame = ax.get_window_extent(renderer)
        radius = renderer.points_to_pixels(4.5)
        finite = self.points[np.all(np.isfinite(self.points), axis=1)]
        centres = ax.transData.transform(finite) if len(finite) else np.empty((0, 2))
        obstacles = [Bbox.from_extents(x - radius, y - radius, x + radius, y + radius)
                     for x, y in centres]  # fmt: skip
        placed: list[Bbox] = []
        for annotation in self.annotations:
            best: tuple[float, int] | None = None
            for index, (offset, ha, va) in enumerate(self.candidates):
                annotation.xyann = offset
                annotation.set_horizontalalignment(ha)
                annotation.set_verticalalignment(va)
                box = _text_box(annotation, renderer)
                badness = (sum(_overlap(box, other) for other in placed) * 4
                           + sum(_overlap(box, point) for point in obstacles)
                           + _outside(box, frame) * 2)  # fmt: skip
                if best is None or badness < best[0]:
                    best = (badness, index)
                if badness == 0:
                    break
            assert best is not None
            offset, ha, va = self.candidates[best[1]]
            annotation.xyann = offset
            annotation.set_horizontalalignment(ha)
            annotation.set_verticalalignment(va)
            if annotation.arrow_patch is not None:
                annotation.arrow_patch.set_visible(bool(self.far) and best[1] >= self.far)
            placed.append(_text_box(annotation, renderer))
        return placed

    def draw(self, renderer: Any) -> None:
        if self.annotations and self.axes is not None:
            self.place(renderer)

    def get_window_extent(self, renderer: Any = None) -> Bbox:
        return Bbox.null()


# Matplotlib's location codes, in the order they are tried (ties go to the earlier one).
_LEGEND_SPOTS = ("upper right", "upper left", "lower left", "lower right", "center right",
                 "center left", "upper center", "lower center", "center")  # fmt: skip


class _LegendPlacer(Artist):
    """Puts ``legend`` where it covers the fewest line vertices and markers of every axes in
    ``axes`` and none of ``texts``; runs just before the legend draws."""

    def __init__(self, legend: Any, axes: Sequence[Axes], texts: Sequence[Any] = ()) -> None:
        super().__init__()
        self.legend = legend
        self.watch = list(axes)
        self.texts = list(texts)
        self.set_zorder(4.95)

    def badness(self, renderer: Any) -> dict[str, float]:
        """The cost of each candidate location (used by draw; public for tests)."""
        lines, points = [], []
        for ax in self.watch:
            for line in ax.get_lines():
                if not line.get_visible():
                    continue
                path = line.get_transform().transform_path(line.get_path())
                lines.append(path)
            for collection in ax.collections:
                offsets = collection.get_offsets()
                if len(offsets):
                    points.extend(collection.get_offset_transform().transform(offsets))
        texts = [_text_box(t, renderer) for t in self.texts if t.get_visible()]
        scores = {}
        for spot in _LEGEND_SPOTS:
            self.legend.set_loc(spot)
            box = self.legend.get_window_extent(renderer)
            score = float(sum(box.count_contains(path.vertices) for path in lines))
            score += sum(path.intersects_bbox(box, filled=False) for path in lines)
            score += box.count_contains(np.asarray(points)) if points else 0
            score += 20 * sum(_overlap(box, t) > 0 for t in texts)
            scores[spot] = score
        return scores

    def best(self, renderer: Any) -> tuple[str, float]:
        """The least bad location and its cost (0: it covers nothing)."""
        scores = self.badness(renderer)
        spot = min(_LEGEND_SPOTS, key=lambda s: (scores[s], _LEGEND_SPOTS.index(s)))
        return spot, scores[spot]

    def draw(self, renderer: Any) -> None:
        ax = self.axes
        if ax is None or ax.get_legend() is not self.legend:
            return  # the caller replaced or removed the legend: leave theirs alone
        self.legend.set_loc(self.best(renderer)[0])

    def get_window_extent(self, renderer: Any = None) -> Bbox:
        return Bbox.null()


def _renderer(figure: Any) -> Any:
    """The figure's renderer when its canvas has one (Agg, the notebook's inline backend)."""
    get = getattr(figure.canvas, "get_renderer", None)
    try:
        return get() if get is not None else None
    except Exception:  # a backend without a renderer before the first draw
        return None


def _points(size: Any) -> float:
    return float(FontProperties(size=size).get_size_in_points())


def _legend_below(ax: Axes, handles: list, labels: list[str]) -> Any:
    """A legend under the axes' x label, in two columns; it takes part in tight_layout."""
    rc = plt.rcParams
    drop = (rc["xtick.major.size"] + rc["xtick.major.pad"] + 1.3 * _points(rc["xtick.labelsize"])
            + rc["axes.labelpad"] + 1.3 * _points(rc["axes.labelsize"]) + 2)  # fmt: skip
    below = ax.transAxes + ScaledTranslation(0, -drop / 72, ax.figure.dpi_scale_trans)
    return ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                     bbox_transform=below, ncol=2 if len(labels) > 2 else 1,
                     fontsize="small", frameon=False)  # fmt: skip


def _place_legend(ax: Axes, handles: list, labels: list[str], watch: Sequence[Axes],
                  texts: Sequence[Any]) -> Any:  # fmt: skip
    """A legend inside ``ax`` where it covers nothing of the ``watch`` axes nor ``texts``, kept
    there as the figure's layout changes; below the axes when every spot inside covers data."""
    legend = ax.legend(handles, labels, loc="upper right", fontsize="small")
    placer = _LegendPlacer(legend, watch, texts)
    renderer = _renderer(ax.figure)
    if renderer is not None:
        for each in watch:  # settle the autoscaled limits before measuring
            each.get_xlim()
            each.get_ylim()
        spot, cost = placer.best(renderer)
        if cost > 0:
            return _legend_below(ax, handles, labels)
        legend.set_loc(spot)
    ax.add_artist(placer)
    return legend


# --------------------------------------------------------------------------------------------
# classification
# --------------------------------------------------------------------------------------------


def confusion_matrix(
    y_true: Any = None,
    y_pred: Any = None,
    *,
    labels: Sequence[Any] | None = None,
    label_names: Sequence[str] | None = None,
    normalize: str | None = None,
    ax: Axes | None = None,
    matrix: Any = None,
    colorbar: bool = False,
    show_counts: bool = True,
    cmap: str = "Blues",
) -> Axes:
    """Heat map of a confusion matrix: actual classes in rows, predicted classes in columns.

    ``normalize="true"`` shows each row as percentages (recall per class), ``"pred"`` each column
    (precision per class), ``"all"`` the whole table; the raw count is added in small text when
    ``show_counts`` is true. Pass ``matrix=`` to draw a precomputed (counts) matrix instead.
    """
    if normalize not in (None, "true", "pred", "all"):
        raise MetricsError(f"normalize={normalize!r}; use None, 'true', 'pred' or 'all'.")
    if matrix is not None:
        if y_true is not None or y_pred is not None:
            raise MetricsError("pass either matrix= or y_true and y_pred, not both.")
        counts = np.asarray(matrix, dtype=float)
        if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.size == 0:
            raise MetricsError(
                f"matrix must be a square 2-D array (classes x classes), got shape {counts.shape}."
            )
        n = counts.shape[0]
        ticks = list(labels) if labels is not None else list(range(n))
    else:
        from sklearn.metrics import confusion_matrix as sk_confusion_matrix

        y, p = _pair(y_true, y_pred, "y_pred")
        ticks = list(labels) if labels is not None else list(np.unique(np.concatenate([y, p])))
        counts = sk_confusion_matrix(y, p, labels=ticks).astype(float)
        n = counts.shape[0]
    if label_names is not None:
        if len(label_names) != n:
            raise MetricsError(
                f"label_names has {len(label_names)} names but the matrix has {n} classes; "
                "pass one name per class, in the order of labels."
            )
        names = [str(x) for x in label_names]
    else:
        if len(ticks) != n:
            raise MetricsError(f"labels has {len(ticks)} entries but the matrix has {n} classes.")
        names = [str(x) for x in ticks]

    if normalize is None:
        shown = counts
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            if normalize == "true":
                shown = counts / counts.sum(axis=1, keepdims=True)
            elif normalize == "pred":
                shown = counts / counts.sum(axis=0, keepdims=True)
            else:
                shown = counts / counts.sum()
        shown = np.nan_to_num(shown)

    ax = _axes(ax, (1.6 + 1.1 * n, 1.2 + 1.0 * n) if n > 3 else (4.5, 4.0))
    vmax = 1.0 if normalize else max(float(shown.max()), 1.0)
    image = ax.imshow(shown, cmap=cmap, vmin=0.0, vmax=vmax)
    threshold = vmax / 2.0
    small = max(6.0, plt.rcParams["font.size"] * 0.75)
    for i in range(n):
        for j in range(n):
            color = "white" if shown[i, j] > threshold else "black"
            if normalize is None:
                value = counts[i, j]
                text = f"{int(value)}" if value == int(value) else f"{value:.3g}"
                ax.text(j, i, text, ha="center", va="center", color=color, fontsize="large")
            else:
                ax.text(j, i, f"{shown[i, j]:.0%}", ha="center", va="center", color=color,
                        fontsize="large")  # fmt: skip
                if show_counts:
                    ax.text(j, i + 0.28, f"n={int(round(counts[i, j]))}", ha="center",
                            va="center", color=color, fontsize=small)  # fmt: skip
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(names)
    ax.set_yticklabels(names)
    ax.set_xlabel("Predicted")
    ax.set_ylabel("Actual")
    title = {None: "Confusion matrix", "true": "Confusion matrix (row %: recall per class)",
             "pred": "Confusion matrix (column %: precision per class)",
             "all": "Confusion matrix (% of all examples)"}[normalize]  # fmt: skip
    ax.set_title(title)
    ax.set_xticks(np.arange(-0.5, n, 1.0), minor=True)
    ax.set_yticks(np.arange(-0.5, n, 1.0), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return ax


def roc_curve(
    y_true: Any, y_score: Any, *, ax: Axes | None = None, label: str | None = None
) -> Axes:
    """ROC curve with its AUC in the legend; call again on the same ``ax`` to overlay models."""
    from sklearn.metrics import roc_auc_score
    from sklearn.metrics import roc_curve as sk_roc_curve

    y, s = _binary(y_true, y_score, "ROC curve")
    fpr, tpr, _ = sk_roc_curve(y, s)
    auc = roc_auc_score(y, s)
    ax = _axes(ax, (5.0, 4.5))
    if not any(line.get_gid() == "chance" for line in ax.get_lines()):
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="chance",
                gid="chance")  # fmt: skip
    text = f"AUC = {auc:.3f}"
    ax.plot(fpr, tpr, linewidth=2, drawstyle="default",
            label=f"{label} ({text})" if label else text)  # fmt: skip
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    _style_axes(ax, "ROC curve", "False positive rate (1 − specificity)",
                "True positive rate (recall)")  # fmt: skip
    ax.legend(loc="lower right")
    return ax


def precision_recall_curve(
    y_true: Any, y_score: Any, *, ax: Axes | None = None, label: str | None = None
) -> Axes:
    """Precision-recall curve with the average precision in the legend and the base rate line."""
    from sklearn.metrics import average_precision_score
    from sklearn.metrics import precision_recall_curve as sk_pr_curve

    y, s = _binary(y_true, y_score, "precision-recall curve")
    positive = np.unique(y)[1]
    precision, recall, _ = sk_pr_curve(y, s, pos_label=positive)
    ap = average_precision_score(y == positive, s)
    base_rate = float(np.mean(y == positive))
    ax = _axes(ax, (5.0, 4.5))
    text = f"AP = {ap:.3f}"
    ax.step(recall, precision, where="post", linewidth=2,
            label=f"{label} ({text})" if label else text)  # fmt: skip
    if not any(line.get_gid() == "base_rate" for line in ax.get_lines()):
        ax.axhline(base_rate, linestyle="--", color="grey", linewidth=1,
                   label=f"chance (base rate {base_rate:.2f})", gid="base_rate")  # fmt: skip
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.05)
    _style_axes(ax, "Precision-recall curve", "Recall", "Precision")
    ax.legend(loc="lower left")
    return ax


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------


def _diagnosis_text(diagnosis: Any) -> tuple[str | None, str | None, Any]:
    """(kind, evidence, best_epoch) from a diagnosis object, a string or None."""
    if diagnosis is None:
        return None, None, None
    if isinstance(diagnosis, str):
        return diagnosis, None, None
    if isinstance(diagnosis, Mapping):
        return diagnosis.get("kind"), diagnosis.get("evidence"), diagnosis.get("best_epoch")
    return (getattr(diagnosis, "kind", None), getattr(diagnosis, "evidence", None),
            getattr(diagnosis, "best_epoch", None))  # fmt: skip


def _metric_limits(values: np.ndarray, min_span: float) -> tuple[float, float] | None:
    """Limits for a metric axis that span at least ``min_span`` (None: let matplotlib choose).

    A metric that moves 1.5 points over training must not fill the whole axis, or noise looks
    like a collapse; the range is widened around the values, kept inside [0, 1] for a metric
    whose values lie there (accuracy, F1).
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0 or not min_span or min_span <= 0:
        return None
    lo, hi = float(finite.min()), float(finite.max())
    if hi - lo >= min_span:
        return None
    centre = (lo + hi) / 2
    lo, hi = centre - min_span / 2, centre + min_span / 2
    if 0.0 <= finite.min() and finite.max() <= 1.0:
        if lo < 0.0:
            lo, hi = 0.0, min_span
        if hi > 1.0:
            lo, hi = 1.0 - min_span, 1.0
    pad = 0.05 * (hi - lo)
    return lo - pad, hi + pad


def learning_curves(
    history: Any,
    *,
    metric: str | None = "eval_accuracy",
    diagnosis: Any = "auto",
    ax: Axes | None = None,
    metric_ylim: tuple[float, float] | None = None,
    metric_min_span: float = 0.1,
) -> Axes:
    """Training and validation loss per epoch, the metric on a right axis and the best epoch.

    ``diagnosis="auto"`` asks :func:`labkit.metrics.diagnose_history` for a verdict (skipped when
    that is unavailable); pass an object with ``kind``/``evidence``, a string, or None instead.
    The metric axis spans at least ``metric_min_span`` (0.1: ten points of accuracy), so that a
    small wiggle is not drawn as a collapse; ``metric_ylim=(low, high)`` fixes it instead (e.g.
    ``(0.5, 1.0)`` to compare panels), and ``metric_min_span=0`` leaves it to matplotlib.
    The legend goes where it covers the fewest points of both curves' axes and not the value
    written at the best epoch. Returns the loss axes; the metric axes, if drawn, is
    ``ax.metric_axes``.
    """
    frame = _frame(history, "history")
    _require(frame, ["epoch", "train_loss", "eval_loss"], "history")
    if metric_ylim is not None:
        try:
            low, high = (float(v) for v in metric_ylim)
        except (TypeError, ValueError) as exc:
            raise MetricsError(
                f"metric_ylim={metric_ylim!r}; pass two numbers (low, high), e.g. (0.5, 1.0)."
            ) from exc
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise MetricsError(f"metric_ylim={metric_ylim!r}; low must be below high.")
    frame = frame.sort_values("epoch").reset_index(drop=True)
    epochs = frame["epoch"].to_numpy(dtype=float)
    train = pd.to_numeric(frame["train_loss"], errors="coerce").to_numpy(dtype=float)
    val = pd.to_numeric(frame["eval_loss"], errors="coerce").to_numpy(dtype=float)
    if np.all(np.isnan(val)):
        raise MetricsError("history has no eval_loss values; evaluate at least once per epoch.")

    if isinstance(diagnosis, str) and diagnosis == "auto":
        try:
            from labkit.metrics import diagnose_history
        except ImportError:
            diagnosis = None
        else:
            try:
                diagnosis = diagnose_history(history)
            except Exception:  # a missing annotation must never cost the plot
                diagnosis = None
    kind, evidence, _ = _diagnosis_text(diagnosis)

    best = int(np.nanargmin(val))
    best_epoch = float(epochs[best])
    ax = _axes(ax, (7.0, 4.5))
    markers = "o" if len(frame) <= 30 else None
    ax.plot(epochs, train, marker=markers, color="tab:blue", label="training loss")
    ax.plot(epochs, val, marker=markers, color="tab:orange", label="validation loss")
    ax.axvline(best_epoch, color="tab:green", linestyle=":", linewidth=1.5,
               label=f"best epoch {best_epoch:g} (val loss {val[best]:.3f})")  # fmt: skip
    _style_axes(ax, "Learning curves", "Epoch", "Loss")
    handles, labels = ax.get_legend_handles_labels()

    metric_ax = None
    notes = []
    if metric and metric in frame.columns:
        values = pd.to_numeric(frame[metric], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isnan(values)):
            metric_ax = ax.twinx()
            metric_ax.plot(epochs, values, marker=markers, color="tab:purple", linestyle="--",
                           label=_pretty(metric))  # fmt: skip
            metric_ax.set_ylabel(_pretty(metric))
            limits = metric_ylim or _metric_limits(values, metric_min_span)
            if limits is not None:
                metric_ax.set_ylim(*limits)
            m_value = values[best]
            if not np.isnan(m_value):
                # write the value on the side of the point that has room: left of a late best
                # epoch, below a value near the top of the axis
                x_lo, x_hi = float(np.nanmin(epochs)), float(np.nanmax(epochs))
                y_lo, y_hi = metric_ax.get_ylim()
                late = x_hi > x_lo and (best_epoch - x_lo) / (x_hi - x_lo) > 0.7
                high = (m_value - y_lo) / (y_hi - y_lo) > 0.85 if y_hi > y_lo else False
                note = metric_ax.annotate(
                    f"{m_value:.3f}", (best_epoch, m_value), textcoords="offset points",
                    xytext=(-5 if late else 5, -6 if high else 6),
                    ha="right" if late else "left", va="top" if high else "bottom",
                    color="tab:purple", fontsize="small",
                )  # fmt: skip
                notes.append(note)
            h2, l2 = metric_ax.get_legend_handles_labels()
            handles, labels = handles + h2, labels + l2
            # draw the loss axes (and so its legend) above the metric axes: the legend must not
            # sit under the metric's line; the metric axes' background stays transparent
            ax.set_zorder(metric_ax.get_zorder() + 1)
            metric_ax.patch.set_facecolor(ax.patch.get_facecolor())
            metric_ax.patch.set_visible(True)
            ax.patch.set_visible(False)
    ax.metric_axes = metric_ax  # type: ignore[attr-defined]
    _place_legend(ax, handles, labels, [ax] + ([metric_ax] if metric_ax else []), notes)

    if kind:
        title = f"Learning curves: {kind}"
        if evidence:
            title += "\n" + textwrap.fill(str(evidence), width=80)
        ax.set_title(title, fontsize="medium")
    if len(epochs) <= 20 and np.allclose(epochs, np.round(epochs)):
        ax.set_xticks(epochs)
    return ax


def loss_curve(steps: Any, *, ax: Axes | None = None, window: int | None = None) -> Axes:
    """Per-step training loss with a moving average (``window`` steps, chosen from the length)."""
    frame = _frame(steps, "steps")
    _require(frame, ["step", "loss"], "steps")
    frame = frame.sort_values("step")
    x = frame["step"].to_numpy(dtype=float)
    loss = pd.to_numeric(frame["loss"], errors="coerce")
    if window is None:
        window = max(1, min(50, len(frame) // 10))
    if window < 1:
        raise MetricsError(f"window={window}; use a positive number of steps.")
    smooth = loss.rolling(window, min_periods=1).mean().to_numpy(dtype=float)
    ax = _axes(ax, (7.0, 4.0))
    ax.plot(x, loss.to_numpy(dtype=float), color="tab:blue", alpha=0.35, linewidth=1,
            label="loss per step")  # fmt: skip
    ax.plot(x, smooth, color="tab:blue", linewidth=2, label=f"moving average ({window} steps)")
    last = smooth[~np.isnan(smooth)]
    if last.size:
        ax.annotate(f"{last[-1]:.3f}", (x[-1], last[-1]), textcoords="offset points",
                    xytext=(4, 4), fontsize="small")  # fmt: skip
    _style_axes(ax, "Training loss", "Step", "Loss")
    ax.legend(loc="upper right")
    return ax


# --------------------------------------------------------------------------------------------
# thresholds and comparisons
# --------------------------------------------------------------------------------------------


def _exact_values(
    mark: Any, metrics: Sequence[str], y_true: Any, y_score: Any, frame: pd.DataFrame
) -> tuple[float, dict[str, float]]:
    """The threshold to mark and each metric's value exactly there (missing: not known).

    ``mark`` is a number, or an object/mapping with a ``threshold`` and metric values (what
    :func:`labkit.metrics.threshold_for` returns). With ``y_true``/``y_score`` the values are
    computed at the threshold; otherwise they come from ``mark`` itself, or from the sweep when
    the threshold is one of its grid points. Never interpolated between grid points: a value
    read off the grid differs from the one the lesson prints for the same threshold.
    """
    if isinstance(mark, Mapping):
        source: Mapping[str, Any] | None = mark
    elif hasattr(mark, "threshold"):
        source = {name: getattr(mark, name) for name in ("threshold", *metrics)
                  if hasattr(mark, name)}  # fmt: skip
    else:
        source = None
    try:
        threshold = float(source["threshold"] if source is not None else mark)
    except (KeyError, TypeError, ValueError) as exc:
        raise MetricsError(
            f"mark={mark!r}; pass a threshold (a number) or what threshold_for returns."
        ) from exc
    if not np.isfinite(threshold):
        raise MetricsError(f"mark={mark!r}; the threshold must be a finite number.")
    values: dict[str, float] = {}
    if y_true is not None or y_score is not None:
        if y_true is None or y_score is None:
            raise MetricsError("pass both y_true and y_score, or neither.")
        from labkit.metrics import threshold_sweep

        row = threshold_sweep(y_true, y_score, thresholds=[threshold]).iloc[0]
        values = {name: float(row[name]) for name in metrics if name in row.index}
    elif source is not None:
        values = {name: float(source[name]) for name in metrics if name in source}
    if len(values) < len(metrics):
        grid = frame["threshold"].to_numpy(dtype=float)
        hit = np.flatnonzero(np.isclose(grid, threshold, rtol=0.0, atol=1e-9))
        if hit.size:
            row = frame.iloc[int(hit[0])]
            for name in metrics:
                values.setdefault(name, float(row[name]))
    return threshold, values


def metric_vs_threshold(
    sweep: Any,
    *,
    metrics: Sequence[str] = ("precision", "recall", "f1"),
    ax: Axes | None = None,
    mark: Any = None,
    y_true: Any = None,
    y_score: Any = None,
) -> Axes:
    """One line per metric against the decision threshold; ``mark`` draws a chosen threshold.

    The mark is labelled with each metric's value at exactly that threshold. Pass the result of
    :func:`labkit.metrics.threshold_for` as ``mark`` (it carries those values), or a number
    together with ``y_true`` and ``y_score`` (the values are computed). A bare number between
    the sweep's grid points is drawn without values: reading them off the grid would show
    numbers that differ from the ones computed at the threshold.
    """
    frame = _frame(sweep, "sweep")
    if isinstance(metrics, str):
        metrics = (metrics,)
    if not metrics:
        raise MetricsError("metrics is empty; name at least one column to plot.")
    _require(frame, ["threshold", *metrics], "sweep")
    frame = frame.sort_values("threshold")
    ax = _axes(ax, (6.5, 4.0))
    t = frame["threshold"].to_numpy(dtype=float)
    lines = [ax.plot(t, frame[name].to_numpy(dtype=float), linewidth=2, label=_pretty(name))[0]
             for name in metrics]  # fmt: skip
    if mark is not None:
        threshold, values = _exact_values(mark, metrics, y_true, y_score, frame)
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1,
                   label=f"threshold {threshold:.3g}")  # fmt: skip
        notes, points = [], []
        for name, line in zip(metrics, lines, strict=True):
            if name not in values:
                continue
            value = values[name]
            ax.plot([threshold], [value], marker="o", markersize=4, color=line.get_color(),
                    linestyle="none", zorder=2.5)  # fmt: skip
            notes.append(ax.annotate(f"{value:.2f}", (threshold, value), textcoords="offset points",
                                     xytext=(5, 3), fontsize="small", color=line.get_color()))  # fmt: skip
            points.append((threshold, value))
        side = [((5, 3), "left", "bottom"), ((5, -3), "left", "top"), ((-5, 3), "right", "bottom"),
                ((-5, -3), "right", "top"), ((5, 11), "left", "bottom"), ((5, -11), "left", "top"),
                ((-5, 11), "right", "bottom"), ((-5, -11), "right", "top")]  # fmt: skip
        ax.add_artist(_LabelPlacer(notes, np.asarray(points), side))
    _style_axes(ax, "Metrics vs decision threshold", "Threshold", "Score")
    ax.legend(loc="best")
    return ax


def _labels_of(frame: pd.DataFrame, label: str) -> list[str]:
    if label in frame.columns:
        return [str(v) for v in frame[label]]
    if frame.index.name == label or not isinstance(frame.index, pd.RangeIndex):
        return [str(v) for v in frame.index]
    raise MetricsError(
        f"table has no column {label!r} and its index holds no names; "
        f"pass label= the column with the method names (columns: {list(map(str, frame.columns))})."
    )


def method_comparison(
    table: Any,
    *,
    x: str = "total_memory_mb",
    y: str = "accuracy",
    label: str = "method",
    ax: Axes | None = None,
) -> Axes:
    """Scatter of one row per method (cost ``x`` against quality ``y``), each point named.

    Error bars come from ``{x}_std`` / ``{y}_std`` columns when the table has them.
    """
    frame = _frame(table, "table")
    _require(frame, [x, y], "table")
    names = _labels_of(frame, label)
    xs = pd.to_numeric(frame[x], errors="coerce").to_numpy(dtype=float)
    ys = pd.to_numeric(frame[y], errors="coerce").to_numpy(dtype=float)
    ax = _axes(ax, (6.0, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["tab:blue"])
    point_colors = [colors[i % len(colors)] for i in range(len(frame))]
    ax.scatter(xs, ys, s=60, c=point_colors, zorder=3, edgecolors="black", linewidths=0.5)
    yerr = frame[f"{y}_std"].to_numpy(dtype=float) if f"{y}_std" in frame.columns else None
    xerr = frame[f"{x}_std"].to_numpy(dtype=float) if f"{x}_std" in frame.columns else None
    if yerr is not None or xerr is not None:
        ax.errorbar(xs, ys, yerr=yerr, xerr=xerr, fmt="none", ecolor="grey", capsize=3,
                    zorder=2)  # fmt: skip
    notes = [
        ax.annotate(name, (xv, yv), textcoords="offset points", xytext=(6, 5), fontsize="medium",
                    arrowprops={"arrowstyle": "-", "color": "grey", "linewidth": 0.6,
                                "shrinkA": 1, "shrinkB": 4})
        for name, xv, yv in zip(names, xs, ys, strict=True)
    ]  # fmt: skip
    # labels of nearby points would overlap at one fixed offset ("qlora4qlora8"): each label
    # takes the first free spot around its point when the figure is drawn
    ax.add_artist(_LabelPlacer(notes, np.column_stack([xs, ys]), _NEAR + _FAR, far=len(_NEAR)))
    ax.margins(0.15)
    _style_axes(ax, f"{_pretty(y)} vs {_pretty(x)}", _pretty(x), _pretty(y))
    return ax


def rank_sweep(
    table: Any,
    *,
    x: str = "rank",
    y: str | Sequence[str] = ("accuracy",),
    secondary: str | None = "trainable_params",
    ax: Axes | None = None,
) -> Axes:
    """Metric(s) against LoRA rank on a log2 axis; trainable parameters on a right axis.

    Returns the metric axes; the secondary axes, if drawn, is ``ax.secondary_axes``.
    """
    frame = _frame(table, "table")
    metrics = [y] if isinstance(y, str) else list(y)
    if not metrics:
        raise MetricsError("y is empty; name at least one metric column.")
    _require(frame, [x, *metrics], "table")
    frame = frame.sort_values(x)
    xs = pd.to_numeric(frame[x], errors="coerce").to_numpy(dtype=float)
    if np.any(~np.isfinite(xs)) or np.any(xs <= 0):
        raise MetricsError(f"column {x!r} must hold positive numbers (ranks) for a log2 axis.")
    ax = _axes(ax, (6.5, 4.0))
    for name in metrics:
        std = frame[f"{name}_std"].to_numpy(dtype=float) if f"{name}_std" in frame else None
        values = frame[name].to_numpy(dtype=float)
        line = ax.plot(xs, values, marker="o", linewidth=2, label=_pretty(name))[0]
        if std is not None:
            ax.fill_between(xs, values - std, values + std, color=line.get_color(), alpha=0.15)
    ax.set_xscale("log", base=2)
    ticks = np.unique(xs)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    _style_axes(ax, f"{', '.join(_pretty(m) for m in metrics)} vs {_pretty(x)}", _pretty(x),
                _pretty(metrics[0]) if len(metrics) == 1 else "score")  # fmt: skip
    handles, labels = ax.get_legend_handles_labels()
    second = None
    if secondary and secondary in frame.columns:
        second = ax.twinx()
        values = pd.to_numeric(frame[secondary], errors="coerce").to_numpy(dtype=float)
        second.plot(xs, values, marker="s", color="grey", linestyle="--", label=_pretty(secondary))
        second.set_ylabel(_pretty(secondary))
        h2, l2 = second.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.secondary_axes = second  # type: ignore[attr-defined]
    ax.legend(handles, labels, loc="best", fontsize="small")
    return ax


def quantization_error(
    original: Any,
    quantized_by_level: Mapping[str, Any],
    *,
    ax: Axes | None = None,
    bins: int = 60,
) -> Axes:
    """Step histograms of ``quantized - original`` per level, mean absolute error in the legend."""
    base = np.asarray(original, dtype=float).ravel()
    if base.size == 0:
        raise MetricsError("original is empty; pass the weights before quantization.")
    if not quantized_by_level:
        raise MetricsError(
            'quantized_by_level is empty; pass {"8-bit": weights, ...} with at least one level.'
        )
    errors: dict[str, np.ndarray] = {}
    for level, values in quantized_by_level.items():
        q = np.asarray(values, dtype=float).ravel()
        if q.size != base.size:
            raise MetricsError(
                f"level {level!r} has {q.size} values but original has {base.size}; "
                "pass the same tensor, dequantized, for every level."
            )
        errors[str(level)] = q - base
    finite = np.concatenate([e[np.isfinite(e)] for e in errors.values()])
    limit = float(np.max(np.abs(finite))) if finite.size else 1.0
    edges = np.linspace(-limit, limit, bins + 1) if limit > 0 else bins
    ax = _axes(ax, (6.5, 4.0))
    for level, err in errors.items():
        mae = float(np.mean(np.abs(err)))
        ax.hist(err, bins=edges, histtype="step", linewidth=1.8, label=f"{level} (MAE {mae:.2e})")
    ax.axvline(0.0, color="black", linewidth=0.8)
    _style_axes(ax, "Quantization error per weight", "quantized − original", "Number of weights")
    ax.legend(loc="upper right")
    return ax
