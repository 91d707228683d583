"""The task container: train / validation / test splits of texts and integer labels."""

from __future__ import annotations

import hashlib
import html
import json
import random
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from labkit.errors import DataError

SPLIT_NAMES = ("train", "validation", "test")
# What a shrunken validation split keeps of each class at least (when the class has that many).
MIN_PER_CLASS = 5


@dataclass(frozen=True)
class Split:
    """One split: parallel lists of texts and integer label ids.

    ``domains`` is optional: one name per example saying where it comes from (for the real
    ``sentences`` task the site: "amazon", "imdb" or "yelp"), so scores can be broken down by
    source. It is ``None`` for data without such a grouping.
    """

    texts: list[str]
    labels: list[int]
    domains: list[str] | None = None

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise DataError(
                f"A split has {len(self.texts)} texts but {len(self.labels)} labels; they must "
                "pair up one to one."
            )
        if self.domains is not None and len(self.domains) != len(self.texts):
            raise DataError(
                f"A split has {len(self.texts)} texts but {len(self.domains)} domain names; "
                "they must pair up one to one."
            )

    def __len__(self) -> int:
        return len(self.texts)

    def class_counts(self) -> dict[int, int]:
        """Examples per label id, in label order."""
        return dict(sorted(Counter(self.labels).items()))

    def select(self, indices: Sequence[int]) -> Split:
        """The examples at ``indices``, in that order (domains follow along)."""
        domains = None if self.domains is None else [self.domains[i] for i in indices]
        return Split([self.texts[i] for i in indices], [int(self.labels[i]) for i in indices],
                     domains)  # fmt: skip

    def to_frame(self, label_names: Sequence[str] | None = None):
        """A pandas DataFrame with ``text`` and ``label`` (and ``label_name``, ``domain``)."""
        import pandas as pd

        frame = pd.DataFrame({"text": self.texts, "label": self.labels})
        if label_names is not None:
            frame["label_name"] = [label_names[i] for i in self.labels]
        if self.domains is not None:
            frame["domain"] = self.domains
        return frame


@dataclass(frozen=True)
class Task:
    """A classification task: three splits, the label names and where the data came from.

    ``notes`` are sentences for people (what was removed, subsampled or detected). ``meta`` is
    machine-readable provenance, written into run records and model cards; every key is
    optional. The keys labkit sets:

    - ``dataset``, ``citation``, ``doi``, ``url``: what the data is and how to cite it;
    - ``licence`` (e.g. ``"CC BY 4.0"``) and ``licence_note`` (where the licence is stated and
      any discrepancy between copies);
    - ``files``: {file name: sha256} of the shipped files a real task was read from, and
      ``changes``: what was changed in them (``"none"`` for the shipped data sets);
    - ``positive_label``: the name of the class with id 1 in a binary task, and
      ``positive_chosen_by``: ``"task"``, ``"given"`` (``positive=``), ``"label ids"`` (0/1
      labels), ``"known name"`` (spam, fraud, positive, yes, ...) or ``"alphabetical"``;
    - ``dedup_removed``: examples removed as exact or near duplicates before splitting, and
      ``dedup``: the details (``exact``, ``near``, ``conflicting_groups``, ``dropped_ties``,
      ``overlap_with_test``);
    - ``domains``: the domain names present, ``train_domains`` / ``test_domain`` for a
      cross-domain split (per-example domains are in ``Split.domains``);
    - ``label_noise``: the share of training/validation labels flipped on purpose (generated
      tasks; their test labels are clean);
    - ``limit``: the ``limit=`` the task was subsampled with; ``header``: how a file's first row
      was read (``"names"`` or ``"data"``).
    """

    name: str
    train: Split
    validation: Split
    test: Split
    label_names: list[str]
    source: str = ""
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    @property
    def splits(self) -> dict[str, Split]:
        return {name: getattr(self, name) for name in SPLIT_NAMES}

    @property
    def positive_label(self) -> str | None:
        """The name of the class with id 1 in a binary task (None for more classes)."""
        if self.num_labels != 2:
            return None
        return str(self.meta.get("positive_label", self.label_names[1]))

    def with_changes(self, **changes: Any) -> Task:
        """A copy with some fields replaced (notes and meta are copied, not shared)."""
        changes.setdefault("notes", list(self.notes))
        changes.setdefault("meta", dict(self.meta))
        return replace(self, **changes)

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

    def _about(self) -> list[str]:
        """Positive class, citation and licence, as short lines."""
        lines = []
        if self.positive_label is not None:
            lines.append(f"positive class (id 1): {self.positive_label}")
        for key in ("citation", "licence"):
            if self.meta.get(key):
                lines.append(f"{key}: {self.meta[key]}")
        return lines

    def summary(self) -> str:
        """A few lines: sizes and class balance of each split, the positive class, provenance."""
        lines = [f"Task {self.name!r} ({self.source}): labels {self.label_names}"]
        for name, split in self.splits.items():
            counts = split.class_counts()
            balance = ", ".join(f"{self.label_names[i]} {n}" for i, n in counts.items())
            lines.append(f"  {name:<10} {len(split):>6} examples  ({balance})")
        lines.extend(f"  {line}" for line in self._about())
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = "".join(
            f"<tr><td>{name}</td><td>{len(split)}</td>"
            + "".join(f"<td>{split.class_counts().get(i, 0)}</td>" for i in range(self.num_labels))
            + "</tr>"
            for name, split in self.splits.items()
        )
        header = "".join(f"<th>{esc(label)}</th>" for label in self.label_names)
        about = "".join(f"<br><small>{esc(line)}</small>" for line in self._about())
        return (
            f"<b>Task {esc(self.name)}</b> <small>({esc(self.source)})</small>"
            f"<table><tr><th>split</th><th>examples</th>{header}</tr>{rows}</table>{about}"
        )


def _split_indices(
    indices: list[int], strata: list[Hashable], share: float, seed: int
) -> tuple[list[int], list[int]]:
    """(kept, peeled): ``share`` of ``indices`` peeled off, stratified by ``strata``."""
    from sklearn.model_selection import train_test_split

    try:
        kept, peeled = train_test_split(
            indices, train_size=1 - share, stratify=strata, random_state=seed
        )
    except ValueError as error:
        raise DataError(
            f"Cannot split {len(indices)} examples by class ({error}). Each class needs at "
            "least 4 examples for a stratified train/validation/test split; add data, or "
            "raise limit."
        ) from None
    return list(kept), list(peeled)


def stratified_split(
    texts: Sequence[str],
    labels: Sequence[int],
    fractions: Sequence[float],
    seed: int,
    *,
    strata: Sequence[Hashable] | None = None,
    domains: Sequence[str] | None = None,
) -> list[Split]:
    """Split into len(fractions) parts with the same class balance, seeded.

    Parts are peeled off in order; the last part is what remains. ``strata`` (default: the
    labels) is what the parts keep in proportion, e.g. (domain, label) pairs; ``domains`` are
    carried along into each part.
    """
    whole = Split(list(texts), [int(y) for y in labels], None if domains is None else list(domains))
    keys = list(labels) if strata is None else list(strata)
    indices = list(range(len(whole)))
    parts: list[Split] = []
    remaining = 1.0
    for fraction in fractions[:-1]:
        indices, peeled = _split_indices(indices, [keys[i] for i in indices],
                                         fraction / remaining, seed)  # fmt: skip
        parts.append(whole.select(peeled))
        remaining -= fraction
    parts.append(whole.select(indices))
    return parts


def subsample(split: Split, size: int, seed: int) -> Split:
    """A stratified subsample of ``size`` examples (the split itself if it is not larger)."""
    from sklearn.model_selection import train_test_split

    if size >= len(split):
        return split
    try:
        kept, _ = train_test_split(
            list(range(len(split))), train_size=size, stratify=split.labels, random_state=seed
        )
    except ValueError:
        raise DataError(
            f"limit leaves {size} examples in a split, too few to keep every class "
            f"(class counts {split.class_counts()}). Raise limit."
        ) from None
    return split.select(list(kept))


def shrink(split: Split, ratio: float, seed: int, floor: int = MIN_PER_CLASS) -> Split:
    """Keep ``ratio`` of each class (at least ``floor`` of it, where it has that many).

    Examples keep their order; which ones stay is seeded.
    """
    if ratio >= 1:
        return split
    by_class: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(split.labels):
        by_class[label].append(i)
    # Proportional quotas that add up to round(len * ratio) (largest remainders first)...
    classes = sorted(by_class)
    quotas = {c: len(by_class[c]) * ratio for c in classes}
    counts = {c: int(quotas[c]) for c in classes}
    short = round(len(split) * ratio) - sum(counts.values())
    for c in sorted(classes, key=lambda c: quotas[c] - counts[c], reverse=True)[: max(short, 0)]:
        counts[c] += 1
    # ...then at least ``floor`` of each class, where it has that many.
    rng = random.Random(f"shrink/{seed}")
    kept: list[int] = []
    for c in classes:
        members = by_class[c]
        kept.extend(rng.sample(members, min(len(members), max(floor, counts[c]))))
    return split.select(sorted(kept))
