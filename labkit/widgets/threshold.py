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
    """Binary test labels (0/1, 1 = the positive class), positive-class scores and the names
    of the two classes (negative first, as everywhere in the course)."""

    y_true: np.ndarray
    y_score: np.ndarray
    positive_name: str = "positive"
    negative_name: str = "negative"

    @property
    def n(self) -> int:
        return int(self.y_true.size)


def _two_names(label_names: Any) -> tuple[str, str]:
    """(negative, positive) from ``label_names``: two names, class 0 first."""
    names = [str(name) for name in label_names]
    if len(names) != 2:
        raise ValueError(
            f"label_names has {len(names)} names; give two, class 0 (negative) first, "
            'e.g. ("ham", "spam")'
        )
    return names[0], names[1]


def scores_from(result_or_labels: Any, y_score: Any = None, positive: Any = 1,
                label_names: Any = None) -> Scores:  # fmt: skip
    """Accept ``(y_true, y_score)`` or a ``RunResult`` (its test labels, positive scores and
    label names). ``label_names`` names the two classes, class 0 (negative) first, e.g.
    ``("ham", "spam")``; without it a RunResult's names are used, else "negative"/"positive"
    (or, for string labels, ``positive`` and the other label)."""
    if y_score is None:
        result = result_or_labels
        if not hasattr(result, "positive_scores"):
            raise TypeError("give (y_true, y_score) or a RunResult of a binary task")
        names = list(getattr(result, "label_names", []) or [])
        if label_names is not None:
            negative, name = _two_names(label_names)
        elif len(names) == 2:
            negative, name = _two_names(names)
        else:
            negative, name = "negative", "positive"
        return Scores(np.asarray(result.test_labels) == 1, np.asarray(result.positive_scores,
                      dtype=float), name, negative)  # fmt: skip
    truth = np.asarray(result_or_labels)
    scores = np.asarray(y_score, dtype=float)
    if scores.ndim == 2 and scores.shape[1] == 2:
        scores = scores[:, 1]
    if truth.shape != scores.shape:
        raise ValueError(f"y_true has {truth.size} labels but y_score has {scores.size} scores")
    if not np.isfinite(scores).all():
        raise ValueError("y_score holds NaN or infinite values")
    if label_names is not None:
        negative, name = _two_names(label_names)
    elif positive in (1, True):
        negative, name = "negative", "positive"
    else:
        others = sorted({str(v) for v in truth.ravel().tolist()} - {str(positive)})
        name = str(positive)
        negative = others[0] if len(others) == 1 else f"not {name}"
    return Scores((truth == positive).astype(bool), scores, name, negative)


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


def _confusion(c: dict[str, int], positive: str, negative: str) -> str:
    """The confusion matrix as the course draws it: actual class in rows, predicted class in
    columns, the negative class (0) first, so true negatives sit top left."""
    cell = "padding:4px 10px;text-align:center;border:1px solid #ccc"
    right, wrong = "background:#e6f2e6", "background:#f8e3e3"
    neg, pos = escape(negative), escape(positive)
    return (
        '<table class="lk-confusion" style="border-collapse:collapse;font-size:12px;margin:0">'
        f'<tr><td></td><th style="{cell}">predicted {neg}</th>'
        f'<th style="{cell}">predicted {pos}</th></tr>'
        f'<tr><th style="{cell}">actual {neg}</th>'
        f'<td style="{cell};{right}" class="lk-tn">TN {c["tn"]}</td>'
        f'<td style="{cell};{wrong}" class="lk-fp">FP {c["fp"]}</td></tr>'
        f'<tr><th style="{cell}">actual {pos}</th>'
        f'<td style="{cell};{wrong}" class="lk-fn">FN {c["fn"]}</td>'
        f'<td style="{cell};{right}" class="lk-tp">TP {c["tp"]}</td></tr></table>'
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
        f'{_confusion(c, scores.positive_name, scores.negative_name)}<table style="{table_style}">'
        f"{listing}</table>{costs}</div><div>{roc}</div><div>{pr}</div></div></div>"
    )
