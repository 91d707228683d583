"""Removing exact and near duplicates before a data set is split.

Two texts are duplicates when they are identical (*exact*) or equal after
:func:`labkit.metrics.leakage.normalise` (*near*: lower case, punctuation removed, whitespace
collapsed). That is the key the leakage check uses, so a deduplicated data set split at random
shows no leakage. Texts that normalise to nothing (only punctuation) match only exactly.

Of each group of duplicates the first occurrence is kept, where it stood. A group whose copies
carry different labels keeps that first text with the *majority* label; when the labels tie,
there is no label to trust and the whole group is dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from labkit.errors import DataError


def duplicate_key(text: str) -> str:
    """The key two duplicates share: the normalised text (the text itself if that is empty)."""
    # Imported here: labkit.metrics loads scikit-learn, which `import labkit.data` does not need.
    from labkit.metrics.leakage import normalise

    key = normalise(text)
    return key if key else f"\0{text}"


@dataclass(frozen=True)
class DuplicateReport:
    """What :func:`deduplicate` removed.

    ``removed`` counts every example dropped: the copies after the first of each group, ``exact``
    (identical to an earlier text of the group) or ``near`` (equal only once normalised), plus the first copy of each of the ``dropped_ties`` groups (copies with tied
    labels, dropped whole), so ``removed == exact + near + dropped_ties``. ``conflicting_groups``
    counts groups whose copies disagree on the label (resolved by majority, or dropped on a tie);
    ``relabelled`` counts kept examples whose label the majority changed. ``overlap_with_test``
    counts examples dropped because their text is in a separate test set.
    """

    n_before: int
    removed: int
    exact: int
    near: int
    groups: int
    conflicting_groups: int = 0
    dropped_ties: int = 0
    relabelled: int = 0
    overlap_with_test: int = 0

    @property
    def n_after(self) -> int:
        return self.n_before - self.removed

    def __int__(self) -> int:
        return self.removed

    def as_dict(self) -> dict[str, int]:
        """The counts, for task metadata and run records."""
        return {"before": self.n_before, "removed": self.removed, "exact": self.exact,
                "near": self.near, "groups": self.groups,
                "conflicting_groups": self.conflicting_groups,
                "dropped_ties": self.dropped_ties, "relabelled": self.relabelled,
                "overlap_with_test": self.overlap_with_test}  # fmt: skip

    def __str__(self) -> str:
        if not self.removed:
            return f"No duplicates among {self.n_before} examples."
        text = (
            f"Removed {self.removed} of {self.n_before} examples as duplicates ({self.exact} "
            f"exact and {self.near} near copies of {self.groups} texts"
        )
        if self.conflicting_groups:
            text += (
                f"; {self.conflicting_groups} groups had conflicting labels: majority label kept, "
                f"{self.dropped_ties} groups with tied labels dropped whole"
            )
        if self.overlap_with_test:
            text += f"; {self.overlap_with_test} also in the test data"
        return text + f"); {self.n_after} remain."


def plan_deduplication(
    texts: Sequence[str], labels: Sequence[Hashable]
) -> tuple[list[int], dict[int, Hashable], DuplicateReport]:
    """(indices to keep, {index: new label} for relabelled keepers, report)."""
    if len(texts) != len(labels):
        raise DataError(f"deduplicate: {len(texts)} texts but {len(labels)} labels.")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise DataError(f"deduplicate: texts must be strings; item {bad[0]} is {texts[bad[0]]!r}.")
    groups: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        groups.setdefault(duplicate_key(text), []).append(i)
    keep: list[int] = []
    relabel: dict[int, Hashable] = {}
    exact = near = conflicts = ties = 0
    for members in groups.values():
        first = members[0]
        seen = {texts[first]}
        for i in members[1:]:
            exact += texts[i] in seen
            near += texts[i] not in seen
            seen.add(texts[i])
        votes = Counter(labels[i] for i in members).most_common()
        if len(votes) > 1:
            conflicts += 1
            if votes[0][1] == votes[1][1]:
                ties += 1
                continue
            if labels[first] != votes[0][0]:
                relabel[first] = votes[0][0]
        keep.append(first)
    keep.sort()
    report = DuplicateReport(
        n_before=len(texts), removed=len(texts) - len(keep), exact=exact, near=near,
        groups=sum(1 for m in groups.values() if len(m) > 1), conflicting_groups=conflicts,
        dropped_ties=ties, relabelled=len(relabel),
    )  # fmt: skip
    return keep, relabel, report


def deduplicate(
    texts: Iterable[str], labels: Iterable[Any]
) -> tuple[list[str], list[Any], DuplicateReport]:
    """Remove exact and near duplicates: ``texts, labels, report = deduplicate(texts, labels)``.

    Keeps the first occurrence of each text (in order); a group of copies with different
    labels keeps the majority label, and is dropped whole on a tie. ``report.removed`` (also
    ``int(report)``) is the number of examples removed; ``print(report)`` explains it.
    """
    texts, labels = list(texts), list(labels)
    keep, relabel, report = plan_deduplication(texts, labels)
    return [texts[i] for i in keep], [relabel.get(i, labels[i]) for i in keep], report


def overlapping(texts: Sequence[str], others: Iterable[str]) -> list[int]:
    """Indices of ``texts`` whose duplicate key also occurs among ``others``."""
    keys = {duplicate_key(t) for t in others if isinstance(t, str)}
    return [i for i, t in enumerate(texts) if duplicate_key(t) in keys]
