"""Checks that turn user input into clean numpy arrays or raise a MetricsError that says why."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence, Sized
from typing import Any

import numpy as np

from labkit.errors import MetricsError

PROBABILITY_TOLERANCE = 1e-3


def _kind_of(item: Any, name: str) -> str:
    """Return "int" or "str" for one label, or raise."""
    if isinstance(item, (bool, np.bool_, int, np.integer)):
        return "int"
    if isinstance(item, str):
        return "str"
    if isinstance(item, (float, np.floating)):
        if not math.isfinite(item):
            raise MetricsError(
                f"{name} contains NaN or an infinite value; every entry must be a class label. "
                "Drop or fill the missing rows first."
            )
        if float(item).is_integer():
            return "int"
        raise MetricsError(
            f"{name} contains {item!r}, which is not a class label. Labels are int or str ids; "
            "if these are scores, pass them as y_score (or use at_threshold)."
        )
    raise MetricsError(
        f"{name} contains {item!r} of type {type(item).__name__}; labels must be int or str."
    )


def as_labels(values: Any, name: str) -> np.ndarray:
    """Convert a sequence of labels into a 1-D int64 or str array (never empty, never mixed)."""
    if values is None or isinstance(values, (str, bytes, dict)):
        raise MetricsError(
            f"{name} must be a list or array of labels, got {type(values).__name__}."
        )
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    if not isinstance(values, np.ndarray):
        if not isinstance(values, Iterable):
            raise MetricsError(f"{name} must be a list or array of labels, got {values!r}.")
        values = list(values)
        array = np.empty(len(values), dtype=object)
        array[:] = values if values else []
    else:
        array = values
    if array.ndim != 1:
        raise MetricsError(
            f"{name} must be 1-D (one label per example); got shape {array.shape}. "
            "For probabilities use y_score; for logits take argmax(-1) first."
        )
    if array.size == 0:
        raise MetricsError(f"{name} is empty: metrics need at least one example.")
    if array.dtype.kind in "iub":
        return array.astype(np.int64)
    if array.dtype.kind == "U":
        return array
    kinds = {_kind_of(item, name) for item in array.tolist()}
    if len(kinds) > 1:
        raise MetricsError(
            f"{name} mixes integer and string labels; use one kind, e.g. all ints 0/1."
        )
    if kinds == {"int"}:
        try:
            return np.asarray([int(item) for item in array.tolist()], dtype=np.int64)
        except OverflowError as error:
            raise MetricsError(
                f"{name} holds an integer too large to be a class id; use small ids like 0, 1, 2."
            ) from error
    return np.asarray([str(item) for item in array.tolist()], dtype=str)


def native(value: Any) -> Any:
    """A numpy scalar as the plain Python value (json-friendly)."""
    return value.item() if isinstance(value, np.generic) else value


def as_positive(positive: Any) -> Any:
    """The positive label as plain int or str (bools and whole floats become ints)."""
    value = native(positive)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def check_same_length(a: Sized, b: Sized, name_a: str, name_b: str) -> None:
    """Raise when two inputs differ in length, quoting both lengths."""
    if len(a) != len(b):
        raise MetricsError(
            f"{name_a} has {len(a)} entries but {name_b} has {len(b)}; they must describe the "
            "same examples in the same order."
        )


def check_same_kind(first: np.ndarray, second: np.ndarray, names: str) -> None:
    """Raise when one array holds ints and the other strings."""
    if (first.dtype.kind == "U") != (second.dtype.kind == "U"):
        raise MetricsError(f"{names} mix integer and string labels; convert both to the same kind.")


def resolve_labels(
    y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[Any] | None, positive: Any
) -> list[Any]:
    """The label list: given (checked) or the sorted union, with the binary fallback."""
    if labels is None:
        found = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
        if len(found) == 1:
            return _complete_single_label(found[0], positive)
        return found
    given = as_labels(labels, "labels")
    check_same_kind(y_true, given, "y_true and labels")
    result = given.tolist()
    if len(set(result)) != len(result):
        raise MetricsError(f"labels {result} contains duplicates; list each class once.")
    if len(result) < 2:
        raise MetricsError(
            f"labels {result} has a single class; a classifier needs at least two, e.g. [0, 1]."
        )
    known = set(result)
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        outside = sorted(set(values.tolist()) - known)
        if outside:
            raise MetricsError(
                f"{name} contains {outside}, which are not in labels {result}. Add them to "
                "labels or fix the data."
            )
    return result


def _complete_single_label(only: Any, positive: Any) -> list[Any]:
    """Only one label was seen: add the missing class of a binary task when it is knowable."""
    positive = native(positive)
    if only != positive and isinstance(only, type(positive)):
        return sorted([only, positive])
    if only == positive and isinstance(positive, int) and not isinstance(positive, bool):
        return sorted([positive, 0 if positive != 0 else 1])
    raise MetricsError(
        f"Only one label ({only!r}) occurs in y_true and y_pred; pass labels=[...] with the "
        "full label set so the missing class is known."
    )


def as_scores(y_score: Any, n: int) -> np.ndarray:
    """Scores as a finite float array of shape (n,) or (n, k)."""
    if isinstance(y_score, (str, bytes)):
        raise MetricsError("y_score must be an array of numbers, not a string.")
    try:
        scores = np.asarray(y_score, dtype=float)
    except (TypeError, ValueError) as error:
        raise MetricsError(
            f"y_score must be numbers in a 1-D array or an (n, k) array: {error}."
        ) from error
    if scores.ndim not in (1, 2):
        raise MetricsError(
            f"y_score must be 1-D (positive-class scores) or 2-D (n, k); got shape {scores.shape}."
        )
    if len(scores) != n:
        raise MetricsError(
            f"y_score has {len(scores)} rows but y_true has {n} examples; give one score "
            "(or one row of probabilities) per example."
        )
    if scores.size and not np.isfinite(scores).all():
        bad = int((~np.isfinite(scores)).sum())
        raise MetricsError(
            f"y_score contains {bad} NaN or infinite values; scores must be finite. Check the "
            "model output (a diverged run gives NaN logits)."
        )
    return scores


def is_probability_vector(scores: np.ndarray) -> bool:
    """True when a 1-D score array lies within [0, 1]."""
    return bool(scores.min() >= 0.0 and scores.max() <= 1.0)


def check_probability_rows(scores: np.ndarray) -> np.ndarray:
    """Check that each row is a probability distribution; return rows renormalised exactly."""
    with np.errstate(over="ignore", invalid="ignore"):  # huge logits may overflow the sum
        sums = scores.sum(axis=1)
        worst = float(np.abs(sums - 1.0).max())
    if not worst <= PROBABILITY_TOLERANCE or scores.min() < 0.0 or scores.max() > 1.0:
        raise MetricsError(
            f"y_score probabilities must sum to 1 per row and lie in [0, 1] (one row sums to "
            f"{float(sums[np.abs(sums - 1.0).argmax()]):.4g}). These look like logits or raw "
            "scores: apply softmax first, e.g. scipy.special.softmax(logits, axis=1)."
        )
    return scores / sums[:, None]
