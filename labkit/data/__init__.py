"""Tasks for the labs: ``load_task(source)`` -> ``Task`` with train / validation / test splits.

``source`` is a built-in offline task ("reviews", "fraud"), a Hugging Face Hub data set by short
name (online only: "sst2", "imdb", "rotten_tomatoes", "sms_spam", "ag_news"), or a local
csv / tsv / jsonl / parquet file.
"""

from __future__ import annotations

import difflib
import warnings
from pathlib import Path
from typing import Any

from labkit.data.builtin import BUILTIN_TASKS, load_builtin, normalise
from labkit.data.columns import check_texts, encode_labels
from labkit.data.files import LABEL_COLUMNS, TEXT_COLUMNS, looks_like_path, pick_column, read_table
from labkit.data.hub import HUB_DATASETS, load_hub
from labkit.data.task import Split, Task, stratified_split, subsample
from labkit.errors import ConfigError, DataError, LeakageWarning

__all__ = ["BUILTIN_TASKS", "HUB_DATASETS", "Split", "Task", "available_tasks", "load_task",
           "normalise"]  # fmt: skip

SPLIT = (0.70, 0.15, 0.15)


def available_tasks() -> dict[str, str]:
    """Names load_task accepts, with a one-line description each."""
    names = {name: f"built-in: {spec.description}" for name, spec in BUILTIN_TASKS.items()}
    names.update({name: f"Hub (online): {spec.path}" for name, spec in HUB_DATASETS.items()})
    return names


def load_task(
    source: str | Path | Task,
    *,
    test_source: str | Path | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    seed: int = 0,
    limit: int | None = None,
    num_labels: int | None = None,
) -> Task:
    """Load a classification task split 70/15/15 (stratified, seeded).

    ``test_source`` gives a separate test file (the source is then split 85/15 into train and
    validation); ``limit`` keeps that many examples in total, stratified; ``num_labels`` checks
    that the labels fit a classifier of that size. A test split that shares examples with the
    training data raises a ``LeakageWarning`` with the counts.
    """
    _check_options(seed, limit, num_labels)
    if isinstance(source, Task):
        return _limit(source, limit, seed)
    if not isinstance(source, (str, Path)) or not str(source).strip():
        raise DataError(f"source={source!r}: pass a task name such as 'reviews' or a file path.")
    name = str(source).strip()
    if name in BUILTIN_TASKS and not Path(name).is_file():
        if test_source is not None:
            raise ConfigError(f"The built-in task {name!r} has its own test split; test_source "
                              "is for your own files.")  # fmt: skip
        task = load_builtin(name, seed=seed, limit=limit)
        if num_labels is not None and num_labels < task.num_labels:
            raise DataError(f"{name!r} has {task.num_labels} labels, more than num_labels="
                            f"{num_labels}.")  # fmt: skip
        return task
    if name in HUB_DATASETS:
        splits, names, path = load_hub(name)
        task = _assemble(name, f"Hugging Face Hub: {path}", splits, names, seed, num_labels)
    elif isinstance(source, Path) or looks_like_path(name):
        task = _from_files(name, test_source, text_column, label_column, seed, num_labels)
    else:
        raise DataError(_unknown_message(name))
    return _warn_leakage(_limit(task, limit, seed))


def _check_options(seed: Any, limit: Any, num_labels: Any) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}.")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0):
        raise ConfigError(f"limit must be a positive integer (or None for all), got {limit!r}.")
    if num_labels is not None and (
        isinstance(num_labels, bool) or not isinstance(num_labels, int) or num_labels < 2
    ):
        raise ConfigError(f"num_labels must be an integer >= 2, got {num_labels!r}.")


def _unknown_message(name: str) -> str:
    known = list(BUILTIN_TASKS) + list(HUB_DATASETS)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return (
        f"Unknown data set {name!r}.{hint} Built-in tasks (offline): {list(BUILTIN_TASKS)}; "
        f"Hub data sets (online): {list(HUB_DATASETS)}; or the path to a .csv, .tsv, .jsonl or "
        ".parquet file with a text and a label column."
    )


def _read_columns(path: str, text_column: str | None, label_column: str | None):
    frame = read_table(path)
    text = pick_column(frame, text_column, TEXT_COLUMNS, "text")
    label = pick_column(frame, label_column, LABEL_COLUMNS, "label")
    if text == label:
        raise DataError(f"The text and label columns are both {text!r}; name two different ones.")
    return frame[text].tolist(), frame[label].tolist()


def _from_files(path, test_path, text_column, label_column, seed, num_labels) -> Task:
    splits = {"train": _read_columns(path, text_column, label_column)}
    if test_path is not None:
        splits["test"] = _read_columns(str(test_path), text_column, label_column)
    return _assemble(Path(path).stem, f"file {path}", splits, None, seed, num_labels)


def _assemble(name, source, splits, label_names, seed, num_labels) -> Task:
    """Check texts and labels of every given split, encode labels jointly, split the rest."""
    for split_name, (texts, _) in splits.items():
        check_texts(texts, f"{source} ({split_name})")
    values = [v for _, labels in splits.values() for v in labels]
    ids, names = encode_labels(values, source, label_names=label_names, num_labels=num_labels)
    train_size = len(splits["train"][1])
    train_texts, train_ids = splits["train"][0], ids[:train_size]
    if "test" in splits:
        train, validation = stratified_split(
            train_texts, train_ids, fractions=(0.70 / 0.85, 0.15 / 0.85), seed=seed
        )
        test = Split(list(splits["test"][0]), ids[train_size:])
    else:
        train, validation, test = stratified_split(train_texts, train_ids, SPLIT, seed=seed)
    return Task(name=name, train=train, validation=validation, test=test, label_names=names,
                source=source)  # fmt: skip


def _limit(task: Task, limit: int | None, seed: int) -> Task:
    total = sum(len(s) for s in task.splits.values())
    if limit is None or limit >= total:
        return task
    scaled = {k: subsample(s, max(1, round(len(s) * limit / total)), seed)
              for k, s in task.splits.items()}  # fmt: skip
    return Task(name=task.name, label_names=task.label_names, source=task.source,
                notes=[*task.notes, f"subsampled to {limit} of {total} examples"], **scaled)  # fmt: skip


def _warn_leakage(task: Task) -> Task:
    from labkit.metrics import find_leakage

    leak = find_leakage(task.train.texts + task.validation.texts, task.test.texts)
    if leak.has_leakage:
        message = (
            f"{leak.count} of {len(task.test)} test examples ({leak.fraction:.1%}) also appear "
            f"in the training or validation data ({leak.exact_count} exact, {leak.near_count} "
            "near-duplicates). Test scores will look better than they are: remove them from "
            "the test data."
        )
        warnings.warn(message, LeakageWarning, stacklevel=3)
        task.notes.append(message)
    return task
