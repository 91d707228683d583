"""Binary decision thresholds: evaluate at one, sweep many, or find the one a target needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_curve,
)

from labkit.errors import MetricsError
from labkit.metrics._inputs import as_labels, as_positive, as_scores, is_probability_vector
from labkit.metrics.report import Report, evaluate

SWEEP_COLUMNS = ["threshold", "accuracy", "precision", "recall", "f1", "specificity"]
COUNT_COLUMNS = ["tp", "fp", "fn", "tn"]


def _binary_inputs(
    y_true: Sequence[Any], y_score: Any, positive: Any
) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Return (is_positive 0/1 array, 1-D scores, [negative, positive] labels)."""
    truth = as_labels(y_true, "y_true")
    scores = as_scores(y_score, len(truth))
    if scores.ndim != 1:
        raise MetricsError(
            f"Threshold functions need 1-D positive-class scores; got shape {scores.shape}. "
            "For an (n, 2) probability array pass y_score[:, 1]."
        )
    positive = as_positive(positive)
    others = sorted(set(truth.tolist()) - {positive})
    if len(others) > 1:
        raise MetricsError(
            f"Thresholds apply to binary tasks; y_true has labels {sorted(set(truth.tolist()))}."
        )
    if others:
        negative = others[0]
    elif isinstance(positive, int) and not isinstance(positive, bool):
        negative = 0 if positive != 0 else 1
    else:
        raise MetricsError(
            f"y_true contains only the positive label {positive!r}; the negative class is "
            "unknown. Evaluate on data that holds both classes."
        )
    if type(negative) is not type(positive):
        raise MetricsError(
            f"positive={positive!r} does not match the labels in y_true ({negative!r}); pass "
            "the positive label with the same type as y_true."
        )
    is_positive = (truth == np.asarray(positive, dtype=truth.dtype)).astype(int)
    return is_positive, scores, sorted([negative, positive])


def _require_both_classes(is_positive: np.ndarray, what: str) -> None:
    if is_positive.min() == is_positive.max():
        only = "positives" if is_positive[0] else "negatives"
        raise MetricsError(
            f"{what} is undefined when y_true holds only {only}: it ranks positive examples "
            "against negative ones, so both classes must be present. Use data with both."
        )


def at_threshold(
    y_true: Sequence[Any], y_score: Any, threshold: float, positive: Any = 1
) -> Report:
    """Predict the positive class when score >= threshold and evaluate those predictions."""
    is_positive, scores, labels = _binary_inputs(y_true, y_score, positive)
    threshold = _check_threshold(threshold)
    positive = as_positive(positive)
    negative = labels[0] if labels[1] == positive else labels[1]
    y_pred = np.where(scores >= threshold, positive, negative)
    return evaluate(y_true, y_pred, y_score=scores, labels=labels, positive=positive)


def _check_threshold(threshold: Any) -> float:
    try:
        value = float(threshold)
    except (TypeError, ValueError) as error:
        raise MetricsError(f"threshold must be a number, got {threshold!r}.") from error
    if not np.isfinite(value):
        raise MetricsError(f"threshold must be a finite number, got {threshold!r}.")
    return value


def _default_thresholds(scores: np.ndarray) -> np.ndarray:
    """0.05..0.95 in steps of 0.05 for probabilities; else the 5%..95% quantiles of the scores."""
    steps = np.round(np.arange(1, 20) * 0.05, 2)
    if is_probability_vector(scores):
        return steps
    return np.unique(np.quantile(scores, steps, method="nearest"))


def _row(is_positive: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    p, r, f, _ = precision_recall_fscore_support(
        is_positive, predicted, labels=[1], average=None, zero_division=0
    )
    tn, fp = confusion_matrix(is_positive, predicted, labels=[0, 1])[0]
    return {
        "accuracy": float(accuracy_score(is_positive, predicted)),
        "precision": float(p[0]),
        "recall": float(r[0]),
        "f1": float(f[0]),
        "specificity": float(tn / (tn + fp)) if tn + fp else 0.0,
    }


def threshold_sweep(
    y_true: Sequence[Any],
    y_score: Any,
    thresholds: Sequence[float] | None = None,
    positive: Any = 1,
    *,
    counts: bool = False,
) -> pd.DataFrame:
    """Metrics at each threshold: columns threshold, accuracy, precision, recall, f1, specificity.

    Default thresholds: 0.05, 0.10, ..., 0.95 when the scores are probabilities, otherwise the
    scores' own 5%, 10%, ..., 95% quantiles (actual score values, duplicates dropped).
    ``counts=True`` adds the confusion counts ``tp``, ``fp``, ``fn``, ``tn`` at each threshold.
    """
    is_positive, scores, _ = _binary_inputs(y_true, y_score, positive)
    if thresholds is None:
        grid = _default_thresholds(scores)
    else:
        if isinstance(thresholds, (str, bytes)) or not hasattr(thresholds, "__iter__"):
            raise MetricsError("thresholds must be a list of numbers, e.g. [0.3, 0.5, 0.7].")
        grid = np.asarray([_check_threshold(t) for t in thresholds], dtype=float)
        if grid.size == 0:
            raise MetricsError("thresholds is empty; give at least one value, or leave it None.")
    rows = []
    for t in grid:
        predicted = (scores >= t).astype(int)
        row = {"threshold": float(t), **_row(is_positive, predicted)}
        if counts:
            row.update(_counts(is_positive, predicted))
        rows.append(row)
    return pd.DataFrame(rows, columns=SWEEP_COLUMNS + (COUNT_COLUMNS if counts else []))


def _counts(is_positive: np.ndarray, predicted: np.ndarray) -> dict[str, int]:
    """Confusion counts of 0/1 truth and 0/1 predictions."""
    hit = predicted == 1
    return {
        "tp": int((hit & (is_positive == 1)).sum()),
        "fp": int((hit & (is_positive == 0)).sum()),
        "fn": int((~hit & (is_positive == 1)).sum()),
        "tn": int((~hit & (is_positive == 0)).sum()),
    }


def roc_points(y_true: Sequence[Any], y_score: Any, positive: Any = 1) -> pd.DataFrame:
    """The ROC curve as a DataFrame with columns fpr, tpr, threshold (from sklearn)."""
    is_positive, scores, _ = _binary_inputs(y_true, y_score, positive)
    _require_both_classes(is_positive, "The ROC curve")
    with np.errstate(over="ignore"):  # extreme raw scores overflow sklearn's diff
        fpr, tpr, cut = roc_curve(is_positive, scores)
    return pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": cut})


@dataclass
class ThresholdChoice:
    """The threshold that reaches a recall or precision target, and what it costs."""

    threshold: float
    recall: float
    precision: float
    specificity: float
    f1: float
    false_positives: int
    false_negatives: int
    target: str = "recall"
    target_value: float = 0.0

    @property
    def cost(self) -> str:
        """One sentence on what the target costs in the other metric and in errors."""
        other, value = (
            ("precision", self.precision) if self.target == "recall" else ("recall", self.recall)
        )
        alarms = _plural(self.false_positives, "false alarm")
        misses = _plural(self.false_negatives, "missed positive")
        return (
            f"Reaching {self.target} {self.target_value:.2f} needs threshold "
            f"{self.threshold:.2f}; {other} falls to {value:.2f} ({alarms}, {misses})."
        )

    def __str__(self) -> str:
        return self.cost


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _check_target(value: Any, name: str) -> float:
    try:
        target = float(value)
    except (TypeError, ValueError) as error:
        raise MetricsError(f"{name} must be a number between 0 and 1, got {value!r}.") from error
    if not 0.0 < target <= 1.0:
        raise MetricsError(f"{name}={value!r} is outside (0, 1]; give a fraction such as 0.9.")
    return target


def threshold_for(
    y_true: Sequence[Any],
    y_score: Any,
    recall: float | None = None,
    precision: float | None = None,
    positive: Any = 1,
) -> ThresholdChoice:
    """Find the threshold for a recall target (highest such threshold) or a precision target
    (lowest such threshold, so recall stays as high as possible). Give exactly one target."""
    if (recall is None) == (precision is None):
        raise MetricsError("Give exactly one target: threshold_for(..., recall=0.9) or precision=.")
    name = "recall" if recall is not None else "precision"
    target = _check_target(recall if recall is not None else precision, name)
    is_positive, scores, _ = _binary_inputs(y_true, y_score, positive)
    _require_both_classes(is_positive, "A precision/recall trade-off")
    with np.errstate(over="ignore"):
        prec, rec, cuts = precision_recall_curve(is_positive, scores)
    prec, rec = prec[:-1], rec[:-1]  # the last point has no threshold
    achieved = rec if name == "recall" else prec
    ok = np.flatnonzero(achieved >= target - 1e-12)
    if ok.size == 0:
        raise MetricsError(
            f"No threshold reaches {name} {target:.2f}; the best reachable {name} on this data "
            f"is {achieved.max():.3f}. Lower the target or improve the model."
        )
    index = ok[-1] if name == "recall" else ok[0]
    chosen = float(cuts[index])
    row = _row(is_positive, (scores >= chosen).astype(int))
    predicted = scores >= chosen
    return ThresholdChoice(
        threshold=chosen,
        recall=row["recall"],
        precision=row["precision"],
        specificity=row["specificity"],
        f1=row["f1"],
        false_positives=int((predicted & (is_positive == 0)).sum()),
        false_negatives=int((~predicted & (is_positive == 1)).sum()),
        target=name,
        target_value=target,
    )


@dataclass
class CostChoice:
    """The threshold with the lowest total cost of errors, and what it costs.

    ``cost`` = ``fp_cost`` x false positives + ``fn_cost`` x false negatives at ``threshold``
    (predict positive when score >= threshold); ``cost_at_half`` is the same at 0.5, the
    default cut-off of a probability.
    """

    threshold: float
    cost: float
    false_positives: int
    false_negatives: int
    fp_cost: float
    fn_cost: float
    cost_at_half: float
    recall: float
    precision: float
    specificity: float

    def __str__(self) -> str:
        return (
            f"Lowest cost {self.cost:g} at threshold {self.threshold:.3f} "
            f"({_plural(self.false_positives, 'false positive')} x {self.fp_cost:g} + "
            f"{_plural(self.false_negatives, 'false negative')} x {self.fn_cost:g}); "
            f"at 0.5 the cost is {self.cost_at_half:g}."
        )


def _check_cost(value: Any, name: str) -> float:
    try:
        cost = float(value)
    except (TypeError, ValueError) as error:
        raise MetricsError(f"{name} must be a number >= 0, got {value!r}.") from error
    if not np.isfinite(cost) or cost < 0:
        raise MetricsError(f"{name}={value!r}: a cost must be a finite number >= 0.")
    return cost


def cost_curve(
    y_true: Sequence[Any], y_score: Any, *, fn_cost: float, fp_cost: float, positive: Any = 1
) -> pd.DataFrame:
    """Total cost at every threshold that changes a prediction.

    Columns ``threshold``, ``fp``, ``fn``, ``cost``, one row per distinct score (predict
    positive when score >= threshold) plus one row above the highest score (nothing predicted
    positive), in increasing threshold order.
    """
    fn_cost = _check_cost(fn_cost, "fn_cost")
    fp_cost = _check_cost(fp_cost, "fp_cost")
    is_positive, scores, _ = _binary_inputs(y_true, y_score, positive)
    cuts = np.unique(scores)
    above = np.nextafter(cuts[-1], np.inf) if cuts.size else 1.0
    cuts = np.append(cuts, above)
    order = np.sort(scores)
    positives = np.sort(scores[is_positive == 1])
    # predicted positive: score >= t; count of scores below t via searchsorted(left)
    negatives_below = np.searchsorted(order, cuts, side="left") - np.searchsorted(
        positives, cuts, side="left"
    )
    fn = np.searchsorted(positives, cuts, side="left")
    fp = int((is_positive == 0).sum()) - negatives_below
    cost = fp_cost * fp + fn_cost * fn
    return pd.DataFrame({"threshold": cuts, "fp": fp, "fn": fn, "cost": cost})


def threshold_for_cost(
    y_true: Sequence[Any],
    y_score: Any,
    *,
    fn_cost: float,
    fp_cost: float,
    positive: Any = 1,
) -> CostChoice:
    """The threshold with the lowest total cost ``fp_cost * FP + fn_cost * FN``.

    Every threshold that changes a prediction is tried (each distinct score, and one above the
    highest). Among equally cheap thresholds the one closest to 0.5 is returned. Costs are in
    any unit (money, minutes, harm), only their ratio matters for the choice:
    ``threshold_for_cost(y, s, fn_cost=5, fp_cost=1)`` says a missed positive is five times
    as bad as a false alarm.
    """
    curve = cost_curve(y_true, y_score, fn_cost=fn_cost, fp_cost=fp_cost, positive=positive)
    fn_cost, fp_cost = float(fn_cost), float(fp_cost)
    if fn_cost == 0 and fp_cost == 0:
        raise MetricsError("fn_cost and fp_cost are both 0: every threshold costs nothing.")
    best = curve["cost"].min()
    cheapest = curve[np.isclose(curve["cost"], best)]
    pick = cheapest.iloc[int(np.argmin(np.abs(cheapest["threshold"].to_numpy() - 0.5)))]
    is_positive, scores, _ = _binary_inputs(y_true, y_score, positive)
    threshold = float(pick["threshold"])
    row = _row(is_positive, (scores >= threshold).astype(int))
    half = _counts(is_positive, (scores >= 0.5).astype(int))
    return CostChoice(
        threshold=threshold,
        cost=float(pick["cost"]),
        false_positives=int(pick["fp"]),
        false_negatives=int(pick["fn"]),
        fp_cost=fp_cost,
        fn_cost=fn_cost,
        cost_at_half=fp_cost * half["fp"] + fn_cost * half["fn"],
        recall=row["recall"],
        precision=row["precision"],
        specificity=row["specificity"],
    )
