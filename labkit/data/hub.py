"""Hugging Face Hub data sets by short name, through the ``datasets`` library (online only)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from labkit.errors import DataError, OfflineError


@dataclass(frozen=True)
class HubSpec:
    """Where a data set lives on the Hub and which of its columns and splits labkit uses."""

    path: str
    text_column: str
    label_column: str = "label"
    test_split: str | None = "test"
    config: str | None = None


HUB_DATASETS = {
    # GLUE's SST-2 test labels are hidden, so its validation split serves as the test split.
    "sst2": HubSpec("stanfordnlp/sst2", "sentence", test_split="validation"),
    "imdb": HubSpec("stanfordnlp/imdb", "text"),
    "rotten_tomatoes": HubSpec("cornell-movie-review-data/rotten_tomatoes", "text"),
    "ag_news": HubSpec("fancyzhx/ag_news", "text"),
}
# "sms_spam" is no longer a Hub name: the original UCI files ship with labkit as the built-in
# task "sms_spam" (offline, checksummed). The Hub copy is ucirvine/sms_spam.

_TRUE = {"1", "true", "yes", "on"}


def is_offline() -> bool:
    """True when the Hub is switched off by HF_HUB_OFFLINE or HF_DATASETS_OFFLINE."""
    return any(os.environ.get(v, "").strip().lower() in _TRUE
               for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))  # fmt: skip


def _offline_message(name: str, reason: str) -> str:
    return (
        f"The Hub data set {name!r} cannot be loaded: {reason}. Without a network, use a "
        "built-in task (load_task('sentences'), 'sms_spam', 'reviews' or 'fraud'), or a local "
        "file: download the data "
        f"set once where you are online, save it with pandas as CSV (text and label columns), "
        "then load_task('path/to/file.csv')."
    )


def load_hub(name: str) -> tuple[dict[str, tuple[list[Any], list[Any]]], list[str] | None, str]:
    """Download ``name``; return ({split: (texts, labels)}, label names or None, Hub path)."""
    spec = HUB_DATASETS[name]
    if is_offline():
        raise OfflineError(_offline_message(name, "this machine is offline (HF_HUB_OFFLINE=1)"))
    try:
        import datasets
    except ImportError:
        raise DataError(
            f"Loading {name!r} needs the 'datasets' package: pip install datasets."
        ) from None
    try:
        loaded = datasets.load_dataset(spec.path, spec.config)
    except (ConnectionError, TimeoutError, OSError) as error:
        raise OfflineError(
            _offline_message(name, f"the Hub could not be reached ({error})")
        ) from None
    splits: dict[str, tuple[list[Any], list[Any]]] = {}
    label_names = None
    for split_name in ("train", spec.test_split):
        if split_name is None:
            continue
        if split_name not in loaded:
            raise DataError(f"The Hub data set {spec.path} has no {split_name!r} split "
                            f"(it has {list(loaded)}).")  # fmt: skip
        part = loaded[split_name]
        missing = {spec.text_column, spec.label_column} - set(part.column_names)
        if missing:
            raise DataError(f"The Hub data set {spec.path} has no column(s) {sorted(missing)} "
                            f"(it has {part.column_names}).")  # fmt: skip
        splits["test" if split_name == spec.test_split else "train"] = (
            list(part[spec.text_column]), list(part[spec.label_column]),
        )  # fmt: skip
        feature = part.features.get(spec.label_column)
        label_names = list(getattr(feature, "names", None) or []) or label_names
    return splits, label_names, spec.path
