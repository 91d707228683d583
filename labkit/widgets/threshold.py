"""Logic of the threshold explorer: test labels and scores -> the panel for one threshold.

Plain functions; the widget layer only wires a threshold control and two cost fields to
:func:`panel_html`. Predictions are "positive when score >= threshold", as in
:mod:`labkit.metrics.thresholds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np

from labkit.widgets import _svg

THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(1, 20))  # 0.05 ... 0.95


@dataclass
class Scores:
    """Binary test labels (0/1, 1 = the positive class) and positive-class scores."""

    y_true: np.ndarray
    y_score: np.ndarray
    positive_name: str = "positive"

    @property
    def n(self) -> int:
        return int(self.y_true.size)


def scores_from(result_or_labels: Any, y_score: Any = None, positive: Any = 1) -> Scores:
    """Accept ``(y_true, y_score)`` or a ``RunResult`` (its test labels and positive scores)."""
    if y_score is None:
        result = result_or_labels
        if not hasattr(result, "positive_scores"):
            raise TypeError("give (y_true, y_score) or a RunResult of a binary task")
        names = list(getattr(result, "label_names", []) or [])
        name = names[1] if len(names) == 2 else "positive"
        return Scores(np.asarray(result.test_labels) == 1, np.asarray(result.positive_scores,
                      dtype=float), name)  # fmt: skip
    truth = np.asarray(result_or_labels)
    scores = np.asarray(y_score, dtype=float)
    if scores.ndim == 2 and scores.shape[1] == 2:
        scores = scores[:, 1]
    if truth.shape != scores.shape:
        raise ValueError(f"y_true has {truth.size} labels but y_score has {scores.size} scores")
    if not np.isfinite(scores).all():
        raise ValueError("y_score holds NaN or infinite values")
    name = "positive" if positive in (1, True) else str(positive)
    return Scores((truth == positive).astype(bool), scores, name)


def counts(scores: Scores, threshold: float) -> dict[str, int]:
    """tp, fp, fn, tn at ``threshold``."""
    predicted = scores.y_score >= threshold
    truth = scores.y_true.astype(bool)
    return {"tp": int((predicted & truth).sum()), "fp": int((predicted & ~truth).sum()),
            "fn": int((~predicted & truth).sum()), "tn": int((~predicted & ~truth).sum())}  # fmt: skip


def metrics(c: dict[str, int]) -> dict[str, float]:
    """Precision, recall (TPR), specificity, FPR, F1 and accuracy from counts (0 when undefined)."""

    def ratio(a: float, b: float) -> float:
        return a / b if b else 0.0

    precision = ratio(c["tp"], c["tp"] + c["fp"])
    recall = ratio(c["tp"], c["tp"] + c["fn"])
    return {
        "precision": precision,
        "recall": recall,
        "specificity": ratio(c["tn"], c["tn"] + c["fp"]),
        "fpr": ratio(c["fp"], c["fp"] + c["tn"]),
        "f1": ratio(2 * precision * recall, precision + recall),
        "accuracy": ratio(c["tp"] + c["tn"], sum(c.values())),
    }


def cost(c: dict[str, int], fp_cost: float, fn_cost: float) -> float:
    return fp_cost * c["fp"] + fn_cost * c["fn"]


def curves(scores: Scores) -> dict[str, Any]:
    """ROC (fpr, tpr) and precision-recall (recall, precision) points, from scikit-learn."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    fpr, tpr, _ = roc_curve(scores.y_true, scores.y_score)
    precision, recall, _ = precision_recall_curve(scores.y_true, scores.y_score)
    return {"roc": (fpr.tolist(), tpr.tolist()), "pr": (recall.tolist(), precision.tolist())}


def best_threshold(scores: Scores, fp_cost: float, fn_cost: float) -> Any:
    """The cheapest threshold over every distinct score (:func:`threshold_for_cost`)."""
    from labkit.metrics import threshold_for_cost

    return threshold_for_cost(scores.y_true.astype(int), scores.y_score, fn_cost=fn_cost,
                              fp_cost=fp_cost)  # fmt: skip


def _confusion(c: dict[str, int], name: str) -> str:
    cell = "padding:4px 10px;text-align:center;border:1px solid #ccc"
    return (
        '<table class="lk-confusion" style="border-collapse:collapse;font-size:12px;margin:0">'
        f'<tr><td></td><th style="{cell}">predicted {escape(name)}</th><th style="{cell}">'
        f"predicted not {escape(name)}</th></tr>"
        f'<tr><th style="{cell}">actually {escape(name)}</th><td style="{cell};background:#e6f2e6"'
        f' class="lk-tp">TP {c["tp"]}</td><td style="{cell};background:#f8e3e3" class="lk-fn">'
        f'FN {c["fn"]}</td></tr><tr><th style="{cell}">actually not {escape(name)}</th>'
        f'<td style="{cell};background:#f8e3e3" class="lk-fp">FP {c["fp"]}</td><td style="{cell};'
        f'background:#e6f2e6" class="lk-tn">TN {c["tn"]}</td></tr></table>'
    )


def panel_html(
    scores: Scores,
    threshold: float,
    *,
    fp_cost: float = 1.0,
    fn_cost: float = 1.0,
    curve_points: dict[str, Any] | None = None,
    best: Any = None,
) -> str:
    """The explorer's panel at ``threshold``: confusion matrix, metrics, the cost of its errors,
    the cheapest threshold for these costs, and the point on the ROC and PR curves."""
    c = counts(scores, threshold)
    m = metrics(c)
    points = curve_points or curves(scores)
    best = best if best is not None else best_threshold(scores, fp_cost, fn_cost)
    roc = _svg.curve(*points["roc"], point=(m["fpr"], m["recall"]), diagonal=True,
                     xlabel="false positive rate", ylabel="true positive rate (recall)",
                     title="ROC curve")  # fmt: skip
    pr = _svg.curve(*points["pr"], point=(m["recall"], m["precision"]), xlabel="recall",
                    ylabel="precision", title="precision-recall curve")  # fmt: skip
    names = ("precision", "recall", "specificity", "f1", "accuracy")
    listing = "".join(f'<tr><td>{k if k != "f1" else "F1"}</td><td class="lk-{k}">{m[k]:.3f}'
                      "</td></tr>" for k in names)  # fmt: skip
    table_style = "font-size:12px;margin:6px 0 0 0"
    total = cost(c, fp_cost, fn_cost)
    costs = (
        f'<div style="font-size:12px;margin-top:6px">cost of errors = {fp_cost:g} x FP + '
        f'{fn_cost:g} x FN = <b class="lk-cost">{total:g}</b><br>cheapest threshold for these '
        f'costs: <b class="lk-best">{best.threshold:.3f}</b> (cost {best.cost:g})</div>'
    )
    return (
        f'<div class="lk-threshold" data-threshold="{threshold:.2f}">'
        f'<div style="font-weight:bold;margin:4px 0">threshold {threshold:.2f}: predict '
        f"{escape(scores.positive_name)} when its score is at least {threshold:.2f}</div>"
        '<div style="display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start"><div>'
        f'{_confusion(c, scores.positive_name)}<table style="{table_style}">'
        f"{listing}</table>{costs}</div><div>{roc}</div><div>{pr}</div></div></div>"
    )
