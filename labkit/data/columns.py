"""Checking text and label columns and turning labels into integer ids."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from labkit.errors import DataError


def _rows(indices: list[int]) -> str:
    shown = ", ".join(str(i + 1) for i in indices[:5])
    return f"row{'s' if len(indices) > 1 else ''} {shown}{' ...' if len(indices) > 5 else ''}"


def check_texts(texts: Sequence[Any], where: str) -> list[str]:
    """Every text must be a non-empty string; otherwise a DataError names the rows."""
    bad_type = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad_type:
        raise DataError(
            f"{where}: {len(bad_type)} text(s) are missing or not strings ({_rows(bad_type)}, "
            "counting examples from 1). Fill them in or drop those rows."
        )
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    if empty:
        raise DataError(
            f"{where}: {len(empty)} text(s) are empty ({_rows(empty)}, counting examples from "
            "1). Drop those rows; a model cannot classify an empty text."
        )
    return list(texts)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# Class names that usually mean "the class we are looking for": with two string labels, the one
# on this list gets id 1 (the positive class) whatever the alphabet says.
POSITIVE_NAMES = frozenset({
    "1", "true", "t", "yes", "y", "positive", "pos", "spam", "fraud", "fraudulent", "scam",
    "phishing", "toxic", "abusive", "offensive", "hate", "harmful", "malicious", "attack",
    "anomaly", "anomalous", "sarcastic", "relevant", "fake", "bot", "churn", "default", "sick",
    "disease", "defect", "defective",
})  # fmt: skip


def order_classes(classes: Sequence[Any]) -> tuple[list[Any], str]:
    """Sorted classes, except that a binary task puts a known positive name second.

    Returns (classes in id order, rule): rule is "label ids" for integers 0..k-1, "known name"
    when the positive-name rule decided, else "alphabetical" (or "sorted" for other numbers).
    """
    ordered = sorted(classes)
    if all(isinstance(v, int) for v in ordered):
        return ordered, "label ids" if ordered == list(range(len(ordered))) else "sorted"
    if len(ordered) == 2:
        known = [c for c in ordered if str(c).strip().lower() in POSITIVE_NAMES]
        if len(known) == 1:
            return [c for c in ordered if c != known[0]] + known, "known name"
    return ordered, "alphabetical"


def encode_labels(
    values: Sequence[Any],
    where: str,
    *,
    label_names: Sequence[str] | None = None,
    num_labels: int | None = None,
) -> tuple[list[int], list[str], str]:
    """Map labels to ids 0..k-1 and return (ids, label names, ordering rule).

    Integers 0..k-1 are kept as ids; other integers are sorted and numbered; string labels are
    numbered alphabetically, except that in a binary task a known positive name (spam, fraud,
    positive, yes, true, toxic, ...: ``POSITIVE_NAMES``) gets id 1. The rule is one of
    ``order_classes``'s.
    """
    values = [v.item() if hasattr(v, "item") else v for v in values]
    missing = [i for i, v in enumerate(values) if _is_missing(v)]
    if missing:
        raise DataError(f"{where}: {len(missing)} label(s) are missing ({_rows(missing)}, "
                        "counting examples from 1). Fill them in or drop those rows.")  # fmt: skip
    if all(isinstance(v, (bool, int, float)) for v in values):
        if any(isinstance(v, float) and not v.is_integer() for v in values):
            raise DataError(f"{where}: labels such as {next(v for v in values if isinstance(v, float) and not v.is_integer())!r} "
                            "are not whole numbers. Classification needs class ids (0, 1, ...) or "
                            "class names.")  # fmt: skip
        values = [int(v) for v in values]
    else:
        values = [str(v).strip() for v in values]
    classes, rule = order_classes(set(values))
    if len(classes) < 2:
        raise DataError(f"{where}: every label is {classes[0]!r}. A classifier needs at least "
                        "two classes; check the label column.")  # fmt: skip
    if rule == "label ids":
        ids = list(values)
        names = list(label_names) if label_names else [str(c) for c in classes]
    else:
        index = {c: i for i, c in enumerate(classes)}
        ids = [index[v] for v in values]
        names = [str(c) for c in classes]
    if num_labels is not None and (max(ids) >= num_labels or len(names) > num_labels):
        raise DataError(f"{where}: the labels {classes[:10]} make {len(classes)} classes, more "
                        f"than num_labels={num_labels}. Raise num_labels or fix the labels.")  # fmt: skip
    if num_labels is not None and len(names) < num_labels:
        names = names + [str(i) for i in range(len(names), num_labels)]
    return ids, names, rule
