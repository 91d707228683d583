"""From texts and raw labels to a finished Task: label ids, deduplication, splits, limit, checks.

Every source (files, Hub data sets, the shipped real data sets) goes through these functions,
so they all follow the same rules:

- labels become ids with :func:`labkit.data.columns.encode_labels` (a known positive name such
  as "spam" or "fraud" gets id 1 in a binary task), and ``positive=`` can name the class yourself;
- ``deduplicate`` removes exact and near duplicates *before* splitting, and drops from the
  training side any text that is also in a given test set;
- ``limit`` caps the *training* split; validation shrinks in proportion (keeping at least a few
  examples per class); the test split is never subsampled;
- a test split that shares texts with the training side raises a ``LeakageWarning``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from labkit.data.columns import check_texts, encode_labels
from labkit.data.dedup import DuplicateReport, overlapping, plan_deduplication
from labkit.data.task import Split, Task, shrink, stratified_split, subsample
from labkit.errors import ConfigError, DataError, LeakageWarning

SPLIT = (0.70, 0.15, 0.15)
TRAIN_VALIDATION = (0.85, 0.15)


def dedup_pool(
    texts: Sequence[str],
    labels: Sequence[int],
    test_texts: Sequence[str] = (),
) -> tuple[list[int], dict[int, int], DuplicateReport]:
    """Indices of ``texts`` to keep (duplicates removed, texts also in ``test_texts`` dropped)."""
    keep, relabel, report = plan_deduplication(list(texts), list(labels))
    if test_texts:
        kept_texts = [texts[i] for i in keep]
        dropped = {keep[j] for j in overlapping(kept_texts, test_texts)}
        keep = [i for i in keep if i not in dropped]
        report = replace(report, removed=report.removed + len(dropped),
                         overlap_with_test=len(dropped))  # fmt: skip
    return keep, relabel, report  # type: ignore[return-value]


def record_dedup(notes: list[str], meta: dict[str, Any], report: DuplicateReport | None) -> None:
    """Write what deduplication did into notes and meta (``dedup_removed`` 0 when it did not run)."""
    meta["deduplicated"] = report is not None
    meta["dedup_removed"] = 0 if report is None else report.removed
    if report is not None:
        meta["dedup"] = report.as_dict()
        notes.append(f"deduplicated before splitting: {report}")


def assemble(
    name: str,
    source: str,
    splits: dict[str, tuple[list[Any], list[Any]]],
    label_names: list[str] | None,
    *,
    seed: int,
    num_labels: int | None = None,
    deduplicate: bool = False,
    notes: list[str] | None = None,
    meta: dict[str, Any] | None = None,
) -> Task:
    """Check texts and labels of every given split, encode labels jointly, split the rest.

    ``splits`` holds "train" (split 70/15/15, or 85/15 when "test" is given) and optionally
    "test" (kept whole).
    """
    notes, meta = list(notes or []), dict(meta or {})
    for split_name, (texts, _) in splits.items():
        check_texts(texts, f"{source} ({split_name})")
    values = [v for _, labels in splits.values() for v in labels]
    ids, names, rule = encode_labels(values, source, label_names=label_names,
                                     num_labels=num_labels)  # fmt: skip
    train_size = len(splits["train"][1])
    pool_texts, pool_ids = list(splits["train"][0]), ids[:train_size]
    test = Split(list(splits["test"][0]), ids[train_size:]) if "test" in splits else None
    report = None
    if deduplicate:
        keep, relabel, report = dedup_pool(pool_texts, pool_ids, test.texts if test else ())
        pool_texts = [pool_texts[i] for i in keep]
        pool_ids = [relabel.get(i, pool_ids[i]) for i in keep]
    record_dedup(notes, meta, report)
    if test is not None:
        train, validation = stratified_split(pool_texts, pool_ids, TRAIN_VALIDATION, seed=seed)
    else:
        train, validation, test = stratified_split(pool_texts, pool_ids, SPLIT, seed=seed)
    if len(names) == 2:
        meta.setdefault("positive_label", names[1])
        meta.setdefault("positive_chosen_by", rule)
    return Task(name=name, train=train, validation=validation, test=test, label_names=names,
                source=source, notes=notes, meta=meta)  # fmt: skip


def dedup_task(task: Task) -> Task:
    """A finished task deduplicated: within training and validation, and against the test split.

    Training copies go first, then validation copies of training texts, then any training or
    validation text that is also in the test split (the test split itself is kept whole).
    """
    joined = task.train.texts + task.validation.texts
    labels = task.train.labels + task.validation.labels
    keep, relabel, report = dedup_pool(joined, labels, task.test.texts)
    n = len(task.train)

    def part(split: Split, offset: int) -> Split:
        chosen = [i for i in keep if offset <= i < offset + len(split)]
        kept = split.select([i - offset for i in chosen])
        return replace(kept, labels=[relabel.get(i, y) for i, y in zip(chosen, kept.labels,
                                                                        strict=True)])  # fmt: skip

    notes, meta = list(task.notes), dict(task.meta)
    record_dedup(notes, meta, report)
    return task.with_changes(train=part(task.train, 0), validation=part(task.validation, n),
                             notes=notes, meta=meta)  # fmt: skip


def apply_positive(task: Task, positive: str | int | None) -> Task:
    """Make the class named ``positive`` id 1 (swapping the two ids when needed)."""
    if positive is None:
        return task
    if isinstance(positive, bool) or not isinstance(positive, (str, int)):
        raise ConfigError(f"positive must be a class name (or a 0/1 label value), got "
                          f"{positive!r}.")  # fmt: skip
    if task.num_labels != 2:
        raise ConfigError(f"positive= is for binary tasks; {task.name!r} has {task.num_labels} "
                          f"classes {task.label_names}. Leave positive out.")  # fmt: skip
    names = [str(n) for n in task.label_names]
    wanted = str(positive).strip()
    matches = [i for i, n in enumerate(names) if n == wanted]
    matches = matches or [i for i, n in enumerate(names) if n.lower() == wanted.lower()]
    if not matches and isinstance(positive, int) and positive in (0, 1):
        matches = [positive]  # a 0/1 label value of data whose classes have names
    if len(matches) != 1:
        raise DataError(f"positive={positive!r} is not one of the classes of {task.name!r}: "
                        f"{names}. Name one of them.")  # fmt: skip
    meta = {**task.meta, "positive_chosen_by": "given"}
    if matches[0] == 1:
        return task.with_changes(meta={**meta, "positive_label": names[1]})
    flipped = {name: replace(split, labels=[1 - y for y in split.labels])
               for name, split in task.splits.items()}  # fmt: skip
    return task.with_changes(label_names=[names[1], names[0]], **flipped,
                             meta={**meta, "positive_label": names[0]})  # fmt: skip


def limit_task(task: Task, limit: int | None, seed: int) -> Task:
    """At most ``limit`` training examples (stratified); validation shrinks in proportion.

    The test split is never subsampled: a smaller test set only makes the scores noisier.
    """
    n_train = len(task.train)
    if limit is None or limit >= n_train:
        return task
    train = subsample(task.train, limit, seed)
    validation = shrink(task.validation, limit / n_train, seed)
    notes = [*task.notes, (
        f"limit={limit}: {limit} of {n_train} training examples kept (stratified), validation "
        f"{len(task.validation)} -> {len(validation)}; the test split is kept whole "
        f"({len(task.test)})"
    )]  # fmt: skip
    return task.with_changes(train=train, validation=validation, notes=notes,
                             meta={**task.meta, "limit": limit})  # fmt: skip


def warn_leakage(task: Task, stacklevel: int = 2) -> Task:
    """Warn (LeakageWarning, and a note) when test texts also occur in training or validation."""
    from labkit.metrics.leakage import find_leakage

    leak = find_leakage(task.train.texts + task.validation.texts, task.test.texts)
    task.meta["leakage"] = {"count": leak.count, "exact": leak.exact_count,
                            "near": leak.near_count, "n_test": leak.n_test}  # fmt: skip
    if leak.has_leakage:
        message = (
            f"{leak.count} of {len(task.test)} test examples ({leak.fraction:.1%}) also appear "
            f"in the training or validation data ({leak.exact_count} exact, {leak.near_count} "
            "near-duplicates). Test scores will look better than they are: remove them from "
            "the test data, or load with deduplicate=True."
        )
        warnings.warn(message, LeakageWarning, stacklevel=stacklevel + 1)
        task.notes.append(message)
    return task
