"""Tasks for the labs: ``load_task(source)`` -> ``Task`` with train / validation / test splits.

``source`` is one of:

- a built-in generated task ("reviews", "fraud"): seeded code, for controlled properties;
- a built-in real data set shipped with labkit ("sentences", "sms_spam"): offline, checksummed,
  with citation and licence in ``task.meta``;
- a Hugging Face Hub data set by short name (online only: "sst2", "imdb", "rotten_tomatoes",
  "ag_news");
- a local csv / tsv / txt / jsonl / parquet file, with or without a header row.

No module of this package imports the package itself: ``load_task`` and friends live here and
use the submodules (``files``, ``assemble``, ``builtin``, ``real_tasks``, ``hub``, ``dedup``).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from labkit.data.assemble import (
    apply_positive,
    assemble,
    dedup_task,
    limit_task,
    warn_leakage,
)
from labkit.data.builtin import BUILTIN_TASKS, load_builtin, normalise
from labkit.data.dedup import DuplicateReport, deduplicate
from labkit.data.files import looks_like_path, read_labelled
from labkit.data.hub import HUB_DATASETS, load_hub
from labkit.data.real_tasks import DOMAINS, REAL_TASKS, load_real
from labkit.data.task import Split, Task
from labkit.errors import ConfigError, DataError

__all__ = ["BUILTIN_TASKS", "DOMAINS", "HUB_DATASETS", "REAL_TASKS", "DuplicateReport", "Split",
           "Task", "available_tasks", "deduplicate", "load_task", "normalise"]  # fmt: skip


def available_tasks() -> dict[str, str]:
    """Names load_task accepts, with a one-line description each."""
    names = {name: f"built-in (generated): {spec.description}"
             for name, spec in BUILTIN_TASKS.items()}  # fmt: skip
    names.update({name: f"built-in (real data, shipped): {spec.description}"
                  for name, spec in REAL_TASKS.items()})  # fmt: skip
    names.update({name: f"Hub (online): {spec.path}" for name, spec in HUB_DATASETS.items()})
    return names


def load_task(
    source: str | Path | Task,
    *,
    test_source: str | Path | None = None,
    text_column: str | int | None = None,
    label_column: str | int | None = None,
    seed: int = 0,
    limit: int | None = None,
    num_labels: int | None = None,
    positive: str | int | None = None,
    deduplicate: bool | None = None,
    header: bool | None = None,
    domain: str | None = None,
    train_domains: str | Sequence[str] | None = None,
    test_domain: str | None = None,
) -> Task:
    """Load a classification task split 70/15/15 (stratified, seeded).

    - ``test_source``: a separate test file; the source is then split 85/15 into train and
      validation, and the test file is used whole.
    - ``limit``: at most that many *training* examples (stratified); the validation split
      shrinks in the same proportion (keeping at least 5 of each class that has 5); the test
      split is never subsampled. For the generated tasks "reviews" and "fraud", ``limit`` is
      instead the total number of examples generated (split 70/15/15).
    - ``num_labels``: checks that the labels fit a classifier of that size.
    - ``positive``: the class that gets id 1 in a binary task (the one binary metrics describe).
      Left out: 0/1 labels keep their ids; of two class names, a known positive name (spam,
      fraud, positive, yes, true, toxic, ...) gets id 1, else the alphabetically later one.
      ``task.positive_label`` and ``task.meta["positive_label"]`` say which it is.
    - ``deduplicate``: remove exact and near duplicates (lower case, punctuation removed,
      whitespace collapsed) before splitting, keeping the first copy (majority label when the
      copies disagree; a tie drops the group), and drop from train/validation any text that is
      also in a given test file. Default: True for the shipped real data sets ("sentences",
      "sms_spam"), False for your own files and the generated tasks. Counts go to
      ``task.notes`` and ``task.meta["dedup_removed"]`` / ``["dedup"]``.
    - ``header``: for csv/tsv/txt files, None detects a missing header row, False reads the
      first row as data (columns named "1", "2", ...; chosen by content unless named), True
      reads it as column names.
    - ``domain`` / ``train_domains`` / ``test_domain``: for "sentences" only: one site, or a
      train-on-some-sites, test-on-another split.

    A test split that shares examples with the training data raises a ``LeakageWarning`` with
    the counts.
    """
    _check_options(seed, limit, num_labels, deduplicate)
    if isinstance(source, Task):
        task = apply_positive(source, positive)
        task = dedup_task(task) if deduplicate else task
        return limit_task(task, limit, seed)
    if not isinstance(source, (str, Path)) or not str(source).strip():
        raise DataError(f"source={source!r}: pass a task name such as 'reviews' or a file path.")
    name = str(source).strip()
    builtin = name in BUILTIN_TASKS or name in REAL_TASKS
    if name != "sentences" and (domain, train_domains, test_domain) != (None, None, None):
        raise ConfigError("domain= / train_domains= / test_domain= are for the 'sentences' task "
                          f"(its sites are {list(DOMAINS)}); {name!r} has no domains.")  # fmt: skip
    if builtin and not Path(name).is_file():
        if test_source is not None:
            raise ConfigError(f"The built-in task {name!r} has its own test split; test_source "
                              "is for your own files.")  # fmt: skip
        if name in BUILTIN_TASKS:
            task = load_builtin(name, seed=seed, limit=limit)
            if num_labels is not None and num_labels < task.num_labels:
                raise DataError(f"{name!r} has {task.num_labels} labels, more than num_labels="
                                f"{num_labels}.")  # fmt: skip
            task = dedup_task(task) if deduplicate else task
            return apply_positive(task, positive)
        task = load_real(name, seed=seed, deduplicate=deduplicate, domain=domain,
                         train_domains=train_domains, test_domain=test_domain,
                         num_labels=num_labels)  # fmt: skip
    elif name in HUB_DATASETS:
        splits, names, path = load_hub(name)
        task = assemble(name, f"Hugging Face Hub: {path}", splits, names, seed=seed,
                        num_labels=num_labels, deduplicate=bool(deduplicate))  # fmt: skip
    elif isinstance(source, Path) or looks_like_path(name):
        task = _from_files(name, test_source, text_column, label_column, seed, num_labels,
                           bool(deduplicate), header)  # fmt: skip
    else:
        raise DataError(_unknown_message(name))
    task = limit_task(apply_positive(task, positive), limit, seed)
    return warn_leakage(task, stacklevel=2)


def _check_options(seed: Any, limit: Any, num_labels: Any, deduplicate: Any) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}.")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0):
        raise ConfigError(f"limit must be a positive integer (or None for all), got {limit!r}.")
    if num_labels is not None and (
        isinstance(num_labels, bool) or not isinstance(num_labels, int) or num_labels < 2
    ):
        raise ConfigError(f"num_labels must be an integer >= 2, got {num_labels!r}.")
    if deduplicate not in (None, True, False):
        raise ConfigError(f"deduplicate must be True, False or None (the task's default), got "
                          f"{deduplicate!r}.")  # fmt: skip


def _unknown_message(name: str) -> str:
    builtin = list(BUILTIN_TASKS) + list(REAL_TASKS)
    close = difflib.get_close_matches(name, builtin + list(HUB_DATASETS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return (
        f"Unknown data set {name!r}.{hint} Built-in tasks (offline): {builtin}; "
        f"Hub data sets (online): {list(HUB_DATASETS)}; or the path to a .csv, .tsv, .txt, "
        ".jsonl or .parquet file with a text and a label column."
    )


def _from_files(path, test_path, text_column, label_column, seed, num_labels, dedup, header):
    notes: list[str] = []
    meta: dict[str, Any] = {}
    splits = {}
    for role, file in (("train", path), ("test", test_path)):
        if file is None:
            continue
        columns = read_labelled(file, text_column, label_column, header=header)
        splits[role] = (columns.texts, columns.labels)
        meta.setdefault("header", columns.info.get("header"))
        if columns.info.get("columns_by_content") and "header_detected" in columns.info:
            chosen = columns.info["columns_by_content"]
            notes.append(f"{Path(file).name}: read without a header row "
                         f"({columns.info['header_detected']}); text = column {chosen['text']}, "
                         f"label = column {chosen['label']} (chosen by content)")  # fmt: skip
    return assemble(Path(path).stem, f"file {path}", splits, None, seed=seed,
                    num_labels=num_labels, deduplicate=dedup, notes=notes, meta=meta)  # fmt: skip
