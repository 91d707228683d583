"""The task container: train / validation / test splits of texts and integer labels."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from labkit.errors import DataError

SPLIT_NAMES = ("train", "validation", "test")


@dataclass(frozen=True)
class Split:
    """One split: parallel lists of texts and integer label ids."""

    texts: list[str]
    labels: list[int]

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise DataError(
                f"A split has {len(self.texts)} texts but {len(self.labels)} labels; they must "
                "pair up one to one."
            )

    def __len__(self) -> int:
        return len(self.texts)

    def class_counts(self) -> dict[int, int]:
        """Examples per label id, in label order."""
        return dict(sorted(Counter(self.labels).items()))

    def to_frame(self, label_names: Sequence[str] | None = None):
        """A pandas DataFrame with ``text`` and ``label`` (and ``label_name``) columns."""
        import pandas as pd

        frame = pd.DataFrame({"text": self.texts, "label": self.labels})
        if label_names is not None:
            frame["label_name"] = [label_names[i] for i in self.labels]
        return frame


@dataclass(frozen=True)
class Task:
    """A classification task: three splits, the label names and where the data came from."""

    name: str
    train: Split
    validation: Split
    test: Split
    label_names: list[str]
    source: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    @property
    def splits(self) -> dict[str, Split]:
        return {name: getattr(self, name) for name in SPLIT_NAMES}

    def fingerprint(self) -> str:
        """sha256 of every text, label and label name: two tasks match iff their data does."""
        digest = hashlib.sha256()
        digest.update(json.dumps(self.label_names).encode())
        for name, split in self.splits.items():
            digest.update(name.encode())
            for text, label in zip(split.texts, split.labels, strict=True):
                digest.update(json.dumps([text, label]).encode())
        return digest.hexdigest()

    def positive_rate(self, split: str = "train") -> float:
        """Fraction of examples with label id 1 (the positive class of a binary task)."""
        labels = self.splits[split].labels
        return sum(1 for y in labels if y == 1) / max(len(labels), 1)

    def summary(self) -> str:
        """A few lines: sizes and class balance of each split."""
        lines = [f"Task {self.name!r} ({self.source}): labels {self.label_names}"]
        for name, split in self.splits.items():
            counts = split.class_counts()
            balance = ", ".join(f"{self.label_names[i]} {n}" for i, n in counts.items())
            lines.append(f"  {name:<10} {len(split):>6} examples  ({balance})")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{name}</td><td>{len(split)}</td>"
            + "".join(f"<td>{split.class_counts().get(i, 0)}</td>" for i in range(self.num_labels))
            + "</tr>"
            for name, split in self.splits.items()
        )
        header = "".join(f"<th>{label}</th>" for label in self.label_names)
        return (
            f"<b>Task {self.name}</b> <small>({self.source})</small>"
            f"<table><tr><th>split</th><th>examples</th>{header}</tr>{rows}</table>"
        )


def stratified_split(
    texts: Sequence[str], labels: Sequence[int], fractions: Sequence[float], seed: int
) -> list[Split]:
    """Split into len(fractions) parts with the same class balance, seeded.

    Parts are peeled off in order; the last part is what remains.
    """
    from sklearn.model_selection import train_test_split

    texts, labels = list(texts), list(labels)
    parts: list[Split] = []
    remaining = 1.0
    for fraction in fractions[:-1]:
        share = fraction / remaining
        try:
            texts, rest_texts, labels, rest_labels = train_test_split(
                texts, labels, train_size=1 - share, stratify=labels, random_state=seed
            )
        except ValueError as error:
            raise DataError(
                f"Cannot split {len(labels)} examples by class ({error}). Each class needs at "
                "least 4 examples for a stratified train/validation/test split; add data, or "
                "raise limit."
            ) from None
        parts.append(Split(list(rest_texts), [int(y) for y in rest_labels]))
        remaining -= fraction
    parts.append(Split(list(texts), [int(y) for y in labels]))
    return parts


def subsample(split: Split, size: int, seed: int) -> Split:
    """A stratified subsample of ``size`` examples (the split itself if it is not larger)."""
    from sklearn.model_selection import train_test_split

    if size >= len(split):
        return split
    try:
        texts, _, labels, _ = train_test_split(
            split.texts, split.labels, train_size=size, stratify=split.labels, random_state=seed
        )
    except ValueError:
        raise DataError(
            f"limit leaves {size} examples in a split, too few to keep every class "
            f"(class counts {split.class_counts()}). Raise limit."
        ) from None
    return Split(list(texts), [int(y) for y in labels])
