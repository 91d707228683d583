"""The classification report: one call, every headline metric, printable and JSON-ready."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    log_loss,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

from labkit.errors import MetricsError
from labkit.metrics._inputs import (
    as_labels,
    as_positive,
    as_scores,
    check_probability_rows,
    check_same_kind,
    check_same_length,
    is_probability_vector,
    native,
    resolve_labels,
)

HEADLINE = ("accuracy", "precision", "recall", "f1", "specificity", "roc_auc", "log_loss")
PRETTY = {
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "specificity": "Specificity",
    "roc_auc": "ROC-AUC",
    "log_loss": "Log loss",
}
ONE_CLASS_AUC = (
    "ROC-AUC is undefined here: it measures how often a positive example is ranked above a "
    "negative one, and y_true contains only one class ({present}), so there is nothing to rank "
    "against. Evaluate on data that holds both classes."
)
COUNT_LIMIT = 50_000_000


def clean(value: Any) -> Any:
    """Recursively convert numpy values to plain Python and NaN to None (for JSON)."""
    if isinstance(value, dict):
        return {str(native(k)): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [clean(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    value = native(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


@dataclass
class Report:
    """Metrics of one set of predictions.

    Binary tasks report precision, recall, F1 and specificity for the ``positive`` class;
    multi-class tasks report their macro averages. ``confusion_matrix`` has the actual class
    in rows and the predicted class in columns, both in ``labels`` order.
    """

    accuracy: float
    precision: float
    recall: float
    f1: float
    specificity: float
    roc_auc: float | None
    log_loss: float | None
    confusion_matrix: np.ndarray
    support: dict[Any, int]
    n: int
    labels: list[Any]
    label_names: list[str]
    positive: Any
    per_class: pd.DataFrame
    macro: dict[str, float]
    weighted: dict[str, float]
    counts: dict[str, int] | None
    notes: list[str] = field(default_factory=list)

    @property
    def is_binary(self) -> bool:
        """True for a two-class task."""
        return len(self.labels) == 2

    @property
    def false_positive_rate(self) -> float:
        """Share of actual negatives flagged as positive: 1 - specificity."""
        return 1.0 - self.specificity

    @property
    def positive_name(self) -> str:
        """Display name of the positive class (binary) or "macro average"."""
        if self.is_binary and self.positive in self.labels:
            return self.label_names[self.labels.index(self.positive)]
        return "macro average"

    def headline(self) -> dict[str, float | None]:
        """The headline metrics, in display order."""
        return {name: getattr(self, name) for name in HEADLINE}

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-serialisable Python (NaN becomes None)."""
        per_class = self.per_class.to_dict(orient="index")
        data = {
            **self.headline(),
            "false_positive_rate": self.false_positive_rate,
            "n": self.n,
            "is_binary": self.is_binary,
            "labels": list(self.labels),
            "label_names": list(self.label_names),
            "positive": self.positive,
            "confusion_matrix": self.confusion_matrix,
            "support": {name: self.support[label] for label, name in self._named()},
            "per_class": per_class,
            "macro": self.macro,
            "weighted": self.weighted,
            "counts": self.counts,
            "notes": list(self.notes),
        }
        return clean(data)

    def to_frame(self) -> pd.DataFrame:
        """One row per headline metric (index ``metric``, column ``value``); None stays NaN."""
        values = {PRETTY[k]: (np.nan if v is None else v) for k, v in self.headline().items()}
        frame = pd.DataFrame({"value": pd.Series(values, dtype=float)})
        frame.index.name = "metric"
        return frame

    def _named(self) -> list[tuple[Any, str]]:
        return list(zip(self.labels, self.label_names, strict=True))

    def _matrix_lines(self) -> list[str]:
        width = max(8, *(len(name) for name in self.label_names)) + 2
        header = " " * width + "".join(f"{name:>{width}}" for name in self.label_names)
        rows = [
            f"{name:<{width}}" + "".join(f"{int(c):>{width}}" for c in row)
            for name, row in zip(self.label_names, self.confusion_matrix, strict=True)
        ]
        return [header, *rows]

    def __str__(self) -> str:
        scope = f"positive class: {self.positive_name}" if self.is_binary else "macro averages"
        lines = [f"Classification report (n={self.n}, {scope})"]
        for name, value in self.headline().items():
            if name != "log_loss" or value is not None:
                lines.append(f"  {PRETTY[name]:<12} {_fmt(value)}")
        lines.append("Confusion matrix (rows = actual, columns = predicted):")
        lines.extend("  " + line for line in self._matrix_lines())
        lines.extend(f"Note: {note}" for note in self.notes)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><th style='text-align:left'>{PRETTY[k]}</th><td>{_fmt(v)}</td></tr>"
            for k, v in self.headline().items()
        )
        names = [html.escape(name) for name in self.label_names]
        head = "<tr><th>actual \\ predicted</th>" + "".join(f"<th>{n}</th>" for n in names)
        body = "".join(
            f"<tr><th>{name}</th>" + "".join(f"<td>{int(c)}</td>" for c in row) + "</tr>"
            for name, row in zip(names, self.confusion_matrix, strict=True)
        )
        notes = "".join(f"<p><em>{html.escape(note)}</em></p>" for note in self.notes)
        return (
            f"<div><p><b>Classification report</b> (n={self.n})</p>"
            f"<table>{cells}</table><p>Confusion matrix</p>"
            f"<table>{head}</tr>{body}</table>{notes}</div>"
        )


def _label_names(label_names: Sequence[Any] | None, labels: list[Any]) -> list[str]:
    if label_names is None:
        return [str(label) for label in labels]
    if isinstance(label_names, (str, bytes)) or not hasattr(label_names, "__len__"):
        raise MetricsError("label_names must be a list of names, one per label.")
    if len(label_names) != len(labels):
        raise MetricsError(
            f"label_names has {len(label_names)} names but there are {len(labels)} labels "
            f"{labels}; give one name per label, in the same order."
        )
    names = [str(name) for name in label_names]
    if len(set(names)) != len(names):
        raise MetricsError(f"label_names {names} repeats a name; give each class its own name.")
    return names


def _per_class(y_true: np.ndarray, y_pred: np.ndarray, labels: list[Any]) -> pd.DataFrame:
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0
    )
    matrices = multilabel_confusion_matrix(y_true, y_pred, labels=labels)
    tn, fp = matrices[:, 0, 0], matrices[:, 0, 1]
    negatives = tn + fp
    specificity = np.divide(tn, negatives, out=np.zeros(len(labels)), where=negatives > 0)
    return pd.DataFrame(
        {
            "precision": precision.astype(float),
            "recall": recall.astype(float),
            "f1": f1.astype(float),
            "specificity": specificity.astype(float),
            "support": support.astype(int),
        }
    )


def _averages(y_true: np.ndarray, y_pred: np.ndarray, labels: list[Any], how: str) -> dict:
    p, r, f, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=how, zero_division=0
    )
    return {"precision": float(p), "recall": float(r), "f1": float(f)}


def _score_metrics(
    y_true: np.ndarray, y_score: Any, labels: list[Any], positive: Any, notes: list[str]
) -> tuple[float | None, float | None]:
    """ROC-AUC and log loss from scores; None where undefined (with a note) or not probabilities."""
    scores = as_scores(y_score, len(y_true))
    position = {label: i for i, label in enumerate(labels)}
    y_index = np.asarray([position[v] for v in y_true.tolist()])
    if len(labels) == 2:
        return _binary_scores(y_index, scores, position[positive], notes)
    if scores.ndim != 2 or scores.shape[1] != len(labels):
        raise MetricsError(
            f"A {len(labels)}-class task needs y_score of shape (n, {len(labels)}) with one "
            f"probability column per label; got shape {scores.shape}."
        )
    probs = check_probability_rows(scores)
    loss = float(log_loss(y_index, probs, labels=list(range(len(labels)))))
    missing = [labels[i] for i in range(len(labels)) if not (y_index == i).any()]
    if missing:
        notes.append(
            f"ROC-AUC is undefined: one-vs-rest AUC ranks each class against the others, and "
            f"classes {missing} never occur in y_true. Evaluate on data holding every class."
        )
        return None, loss
    auc = roc_auc_score(y_index, probs, multi_class="ovr", average="macro",
                        labels=list(range(len(labels))))  # fmt: skip
    return float(auc), loss


def _binary_scores(
    y_index: np.ndarray, scores: np.ndarray, pos_index: int, notes: list[str]
) -> tuple[float | None, float | None]:
    if scores.ndim == 2:
        if scores.shape[1] != 2:
            raise MetricsError(
                f"A binary task needs 1-D positive-class scores or an (n, 2) probability array; "
                f"got shape {scores.shape}."
            )
        positive_scores = check_probability_rows(scores)[:, pos_index]
        is_probability = True
    else:
        positive_scores = scores
        is_probability = is_probability_vector(scores)
    is_positive = (y_index == pos_index).astype(int)
    loss = None
    if is_probability:
        loss = float(log_loss(is_positive, positive_scores, labels=[0, 1]))
    if is_positive.min() == is_positive.max():
        present = "only positives" if is_positive[0] else "only negatives"
        notes.append(ONE_CLASS_AUC.format(present=present))
        return None, loss
    with np.errstate(over="ignore"):  # extreme raw scores (1e308) overflow sklearn's diff
        return float(roc_auc_score(is_positive, positive_scores)), loss


def evaluate(
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    y_score: Any = None,
    labels: Sequence[Any] | None = None,
    positive: Any = 1,
    label_names: Sequence[str] | None = None,
) -> Report:
    """Compare predicted labels with true labels and return a :class:`Report`.

    ``y_score`` (optional) adds ROC-AUC and, when the scores are probabilities, log loss:
    1-D positive-class scores or an (n, 2) array for binary tasks, an (n, k) probability
    array for k classes. ``labels`` fixes the label set and its order (default: sorted union
    of y_true and y_pred); ``positive`` picks the class that binary metrics describe.
    """
    truth = as_labels(y_true, "y_true")
    pred = as_labels(y_pred, "y_pred")
    check_same_length(truth, pred, "y_true", "y_pred")
    check_same_kind(truth, pred, "y_true and y_pred")
    positive = as_positive(positive)
    label_list = resolve_labels(truth, pred, labels, positive)
    binary = len(label_list) == 2
    if binary and positive not in label_list:
        raise MetricsError(
            f"positive={positive!r} is not one of the labels {label_list}; pass the label of "
            f"the class you want to detect, e.g. positive={label_list[-1]!r}."
        )
    names = _label_names(label_names, label_list)
    notes: list[str] = []
    table = _per_class(truth, pred, label_list)
    matrix = confusion_matrix(truth, pred, labels=label_list)
    roc_auc, loss = (None, None)
    if y_score is not None:
        roc_auc, loss = _score_metrics(truth, y_score, label_list, positive, notes)
    macro = _averages(truth, pred, label_list, "macro")
    if binary:
        row = table.iloc[label_list.index(positive)]
        headline = {k: float(row[k]) for k in ("precision", "recall", "f1", "specificity")}
        counts = _binary_counts(matrix, label_list.index(positive))
        if counts["tn"] + counts["fp"] == 0:
            notes.append("Specificity is undefined (no actual negatives); reported as 0.")
    else:
        headline = {**macro, "specificity": float(table["specificity"].mean())}
        counts = None
    table.index = pd.Index(names, name="label")
    return Report(
        accuracy=float(accuracy_score(truth, pred)),
        **headline,
        roc_auc=roc_auc,
        log_loss=loss,
        confusion_matrix=matrix.astype(int),
        support={lab: int(s) for lab, s in zip(label_list, table["support"], strict=True)},
        n=len(truth),
        labels=label_list,
        label_names=names,
        positive=positive,
        per_class=table,
        macro=macro,
        weighted=_averages(truth, pred, label_list, "weighted"),
        counts=counts,
        notes=notes,
    )


def _binary_counts(matrix: np.ndarray, pos: int) -> dict[str, int]:
    neg = 1 - pos
    return {
        "tp": int(matrix[pos, pos]),
        "fn": int(matrix[pos, neg]),
        "fp": int(matrix[neg, pos]),
        "tn": int(matrix[neg, neg]),
    }


def from_counts(
    tp: int, fn: int, fp: int, tn: int, *, label_names: Sequence[str] | None = None
) -> Report:
    """Build a binary report from the four confusion-matrix counts (positive label 1)."""
    counts = {"tp": tp, "fn": fn, "fp": fp, "tn": tn}
    for name, value in counts.items():
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise MetricsError(f"{name} must be a whole number of examples, got {value!r}.")
        if value < 0:
            raise MetricsError(f"{name}={value} is negative; counts of examples are 0 or more.")
    total = sum(int(v) for v in counts.values())
    if total == 0:
        raise MetricsError("All four counts are 0: there are no examples to measure.")
    if total > COUNT_LIMIT:
        raise MetricsError(f"The counts add up to {total} examples; keep them under {COUNT_LIMIT}.")
    tp, fn, fp, tn = (int(v) for v in (tp, fn, fp, tn))
    y_true = np.repeat([1, 1, 0, 0], [tp, fn, fp, tn])
    y_pred = np.repeat([1, 0, 1, 0], [tp, fn, fp, tn])
    names = ["negative", "positive"] if label_names is None else label_names
    return evaluate(y_true, y_pred, labels=[0, 1], positive=1, label_names=names)
