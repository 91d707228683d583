"""Fuzzing load_task on local files: whatever the file holds, only documented errors escape."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.data import Task, load_task
from labkit.errors import LabkitError, LeakageWarning

FUZZ = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])  # fmt: skip

cells = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-3, max_value=5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
columns = st.lists(
    st.sampled_from(["text", "label", "sentence", "target", "x", "Label ", ""]),
    min_size=1, max_size=3, unique=True,
)  # fmt: skip


def _check(path: Path, **options) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", LeakageWarning)
            task = load_task(path, **options)
    except (LabkitError, LeakageWarning):
        return
    assert isinstance(task, Task)
    for split in task.splits.values():
        assert all(isinstance(t, str) and t.strip() for t in split.texts)
        assert all(0 <= y < task.num_labels for y in split.labels)


@FUZZ
@given(
    names=columns,
    rows=st.lists(st.lists(cells, min_size=3, max_size=3), max_size=40),
    suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".parquet"]),
    limit=st.one_of(st.none(), st.integers(min_value=1, max_value=50)),
)
def test_tables_of_random_cells(names, rows, suffix, limit) -> None:
    frame = pd.DataFrame([row[: len(names)] for row in rows], columns=names)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        try:
            if suffix == ".csv":
                frame.to_csv(path, index=False)
            elif suffix == ".tsv":
                frame.to_csv(path, sep="\t", index=False)
            elif suffix == ".jsonl":
                frame.to_json(path, orient="records", lines=True)
            else:
                frame.astype(str).to_parquet(path)
        except (ValueError, TypeError, OverflowError):
            return  # pandas cannot write this frame; nothing to load
        _check(path, limit=limit)


@FUZZ
@given(
    raw=st.binary(max_size=400),
    suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".parquet", ".json"]),
)
def test_random_bytes(raw, suffix) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"bytes{suffix}"
        path.write_bytes(raw)
        _check(path)


@FUZZ
@given(
    texts=st.lists(st.text(min_size=1, max_size=20), min_size=8, max_size=60),
    labels=st.lists(st.sampled_from(["spam", "ham", "other", 0, 1]), min_size=8, max_size=60),
    encoding=st.sampled_from(["utf-8", "utf-16", "latin-1", "cp1252"]),
    num_labels=st.one_of(st.none(), st.integers(min_value=2, max_value=4)),
)
def test_labelled_text_in_various_encodings(texts, labels, encoding, num_labels) -> None:
    n = min(len(texts), len(labels))
    frame = pd.DataFrame({"text": texts[:n], "label": labels[:n]})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "enc.csv"
        try:
            frame.to_csv(path, index=False, encoding=encoding)
        except UnicodeEncodeError:
            return
        _check(path, num_labels=num_labels)


@FUZZ
@given(
    rows=st.lists(
        st.tuples(st.text(max_size=40), st.sampled_from(["ham", "spam", "0", "1", ""])),
        min_size=1,
        max_size=40,
    ),  # fmt: skip
    label_first=st.booleans(),
    name=st.sampled_from(["data.tsv", "data.txt", "data.csv", "SMSCollection"]),
    header=st.sampled_from([None, False, True]),
    positive=st.sampled_from([None, "spam", "1"]),
    deduplicate=st.booleans(),
)
def test_header_less_files_of_random_text(rows, label_first, name, header, positive,
                                          deduplicate) -> None:  # fmt: skip
    sep = "," if name.endswith(".csv") else "\t"
    lines = [sep.join((y, t) if label_first else (t, y)) for t, y in rows]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        _check(path, header=header, positive=positive, deduplicate=deduplicate, limit=20)
