"""labkit.data: built-in tasks, local files, Hub data sets (network mocked) and every bad input."""

from __future__ import annotations

import json
import types
from collections import Counter

import pandas as pd
import pytest

from labkit.data import HUB_DATASETS, Task, load_task, normalise
from labkit.errors import ConfigError, DataError, LeakageWarning, OfflineError


# --- built-in tasks ------------------------------------------------------------------------
def test_reviews_is_balanced_split_70_15_15_and_seeded() -> None:
    task = load_task("reviews")
    sizes = [len(task.train), len(task.validation), len(task.test)]
    assert sum(sizes) == 2000 and sizes == [1400, 300, 300]
    assert task.label_names == ["negative", "positive"]
    assert 0.45 < task.positive_rate("train") < 0.55 and 0.45 < task.positive_rate("test") < 0.55
    assert load_task("reviews").fingerprint() == task.fingerprint()
    assert load_task("reviews", seed=1).fingerprint() != task.fingerprint()


def test_reviews_has_no_duplicates_within_or_across_splits() -> None:
    task = load_task("reviews")
    keys = [normalise(t) for split in task.splits.values() for t in split.texts]
    assert len(keys) == len(set(keys))


def test_reviews_test_split_uses_held_out_words_and_topics() -> None:
    task = load_task("reviews")
    train_words = {w for t in task.train.texts for w in normalise(t).split()}
    test_words = {w for t in task.test.texts for w in normalise(t).split()}
    for held_out in ("superb", "abysmal", "tent", "flight"):
        assert held_out in test_words and held_out not in train_words


def test_reviews_contains_the_hard_constructions() -> None:
    texts = " ".join(load_task("reviews").train.texts).lower()
    for marker in (" not ", ", but ", "although", "overall?", "just what i needed", "anything but"):
        assert marker in texts, marker


def test_fraud_is_imbalanced_between_2_and_5_percent() -> None:
    task = load_task("fraud")
    for split in ("train", "validation", "test"):
        assert 0.02 <= task.positive_rate(split) <= 0.05
    assert task.label_names == ["legitimate", "fraud"]


def test_fraud_cues_appear_in_both_classes_and_the_test_split_is_held_out() -> None:
    task = load_task("fraud")

    def share(split, label, marker):
        texts = [t for t, y in zip(split.texts, split.labels, strict=True) if y == label]
        return sum(marker in t.lower() for t in texts) / len(texts)

    # Links and phone numbers occur in genuine and fraudulent messages alike.
    for label in (0, 1):
        assert share(task.train, label, ".com") > 0.02
    train_words = {w for t in task.train.texts for w in normalise(t).split()}
    test_words = {w for t in task.test.texts for w in normalise(t).split()}
    for held_out in ("meridian", "hmrc", "council", "safe"):
        assert held_out in test_words and held_out not in train_words


def test_limit_subsamples_builtin_tasks_and_keeps_balance() -> None:
    task = load_task("fraud", limit=600)
    assert sum(len(s) for s in task.splits.values()) == 600
    assert all(1 in s.labels for s in task.splits.values())


def test_limit_too_small_says_the_minimum() -> None:
    with pytest.raises(DataError, match=r"too small .* limit >= 267"):
        load_task("fraud", limit=100)


def test_summary_and_html_name_every_split() -> None:
    task = load_task("reviews", limit=200)
    for text in (task.summary(), task._repr_html_()):
        for name in ("train", "validation", "test", "negative", "positive"):
            assert name in text


# --- local files -------------------------------------------------------------------------
def _frame(n: int = 60, labels: tuple = ("bad", "good")) -> pd.DataFrame:
    return pd.DataFrame(
        {"review": [f"example number {i} is {labels[i % 2]}" for i in range(n)],
         "sentiment": [labels[i % 2] for i in range(n)]}
    )  # fmt: skip


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_local_files_of_each_format(tmp_path, suffix) -> None:
    path = tmp_path / f"mine{suffix}"
    frame = _frame()
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    task = load_task(path)
    assert task.name == "mine" and task.label_names == ["bad", "good"]
    assert [len(task.train), len(task.validation), len(task.test)] == [42, 9, 9]
    for split in task.splits.values():
        for text, label in zip(split.texts, split.labels, strict=True):
            assert text.endswith(task.label_names[label])


def test_named_columns_and_integer_labels(tmp_path) -> None:
    path = tmp_path / "data.csv"
    pd.DataFrame({"body": [f"t {i}" for i in range(40)], "y_true": [i % 2 for i in range(40)],
                  "other": range(40)}).to_csv(path, index=False)  # fmt: skip
    task = load_task(str(path), text_column="body", label_column="y_true")
    assert task.label_names == ["0", "1"]
    assert Counter(task.train.labels + task.validation.labels + task.test.labels) == {0: 20, 1: 20}


def test_test_source_gives_the_test_split(tmp_path) -> None:
    train, test = tmp_path / "train.csv", tmp_path / "dev.csv"
    _frame(85).to_csv(train, index=False)
    pd.DataFrame({"text": ["a fresh good one", "a fresh bad one"] * 5,
                  "label": ["good", "bad"] * 5}).to_csv(test, index=False)  # fmt: skip
    task = load_task(train, test_source=test)
    assert len(task.test) == 10 and len(task.train) + len(task.validation) == 85
    assert task.test.labels[:2] == [task.label_names.index("good"), task.label_names.index("bad")]


def test_overlapping_test_file_warns_with_counts(tmp_path) -> None:
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    frame = _frame(60)
    frame.to_csv(train, index=False)
    leaked = frame.iloc[:4].copy()
    leaked.loc[leaked.index[0], "review"] = leaked.iloc[0]["review"].upper() + "!"
    pd.concat([leaked, _frame(8).assign(review=lambda f: f.review + " new")]).to_csv(
        test, index=False
    )
    with pytest.warns(LeakageWarning, match=r"4 of 12 test examples .*3 exact, 1 near"):
        task = load_task(train, test_source=test)
    assert any("near-duplicates" in note for note in task.notes)


def test_limit_on_files_is_stratified(tmp_path) -> None:
    path = tmp_path / "d.csv"
    _frame(200).to_csv(path, index=False)
    task = load_task(path, limit=100)
    assert sum(len(s) for s in task.splits.values()) == 100
    assert Counter(task.train.labels)[0] == Counter(task.train.labels)[1]


# --- the Hub path, network mocked ----------------------------------------------------------
class _FakeSplit:
    def __init__(self, texts, labels, text_column, names):
        self.columns = {text_column: texts, "label": labels}
        self.column_names = list(self.columns)
        self.features = {"label": types.SimpleNamespace(names=names)}

    def __getitem__(self, column):
        return self.columns[column]


@pytest.mark.parametrize("name", sorted(HUB_DATASETS))
def test_hub_names_parse_and_split(monkeypatch, name) -> None:
    import datasets

    spec = HUB_DATASETS[name]
    names = ["World", "Sports", "Business", "Sci/Tech"] if name == "ag_news" else ["neg", "pos"]
    k = len(names)
    calls = []

    def fake_load_dataset(path, config=None):
        calls.append(path)
        fake = {"train": _FakeSplit([f"train text {i}" for i in range(200)],
                                    [i % k for i in range(200)], spec.text_column, names)}  # fmt: skip
        if spec.test_split:
            fake[spec.test_split] = _FakeSplit([f"held out {i}" for i in range(40)],
                                               [i % k for i in range(40)], spec.text_column, names)  # fmt: skip
        return fake

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    task = load_task(name, limit=120 if spec.test_split is None else None)
    assert calls == [spec.path]
    assert task.label_names == names and task.source.endswith(spec.path)
    if spec.test_split:
        assert task.test.texts[0].startswith("held out") and len(task.test) == 40
        assert len(task.train) + len(task.validation) == 200
    else:
        assert sum(len(s) for s in task.splits.values()) == 120


def test_hub_name_offline_names_the_local_file_alternative(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        OfflineError, match=r"'imdb'.*offline.*local file.*load_task\('path/to/file.csv'\)"
    ):
        load_task("imdb")


def test_hub_unreachable_is_an_offline_error(monkeypatch) -> None:
    import datasets

    def fail(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'stanfordnlp/sst2' on the Hub")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setattr(datasets, "load_dataset", fail)
    with pytest.raises(OfflineError, match="could not be reached.*local file"):
        load_task("sst2")


# --- bad input: one test per case ----------------------------------------------------------
def _write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def test_unknown_task_lists_the_choices_and_suggests() -> None:
    with pytest.raises(
        DataError, match=r"Unknown data set 'review'. Did you mean 'reviews'\?.*sst2"
    ):
        load_task("review")


@pytest.mark.parametrize(
    ("name", "content", "pattern"),
    [
        ("missing.csv", None, "does not exist"),
        ("empty.csv", "", "is empty"),
        ("header.csv", "text,label\n", "header but no examples"),
        ("latin.csv", b"text,label\ncaf\xe9 ok,1\nbad,0\n", "not UTF-8"),
        ("broken.jsonl", '{"text": "a", "label": 1}\n{not json\n', "not a readable jsonl"),
        (
            "nocol.csv",
            "words,label\na,1\nb,0\n",
            r"no text column among \['words', 'label'\].*text_column",
        ),
        ("nolabel.csv", "text,stars\na,1\nb,0\n", r"no label column.*label_column"),
        ("oneclass.csv", "text,label\na,1\nb,1\nc,1\n", "every label is 1.*at least two classes"),
        ("float.csv", "text,label\na,0.5\nb,1.0\n", "not whole numbers"),
        ("blank.csv", 'text,label\n"  ",1\nb,0\nc,1\n', r"empty \(row 1"),
        ("nan.csv", "text,label\n,1\nb,0\nc,1\n", r"missing or not strings \(row 1"),
        ("nolab.csv", "text,label\na,\nb,0\nc,1\n", r"label\(s\) are missing \(row 1"),
        ("data.xlsx", "x", r"file type '.xlsx' is not supported"),
    ],
)
def test_bad_files_raise_data_errors_that_say_what_to_do(tmp_path, name, content, pattern) -> None:
    path = tmp_path / name if content is None else _write(tmp_path, name, content)
    with pytest.raises(DataError, match=pattern):
        load_task(path)


def test_folder_instead_of_file(tmp_path) -> None:
    folder = tmp_path / "data.csv"
    folder.mkdir()
    with pytest.raises(DataError, match="is a folder"):
        load_task(folder)


def test_unreadable_file(tmp_path, monkeypatch) -> None:
    path = _write(tmp_path, "secret.csv", "text,label\na,1\nb,0\n")

    def denied(*args, **kwargs):  # what pandas raises for a file without read permission
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(pd, "read_csv", denied)
    with pytest.raises(DataError, match="permission denied"):
        load_task(path)


def test_too_many_labels_for_num_labels(tmp_path) -> None:
    path = _write(
        tmp_path, "three.csv", "text,label\n" + "".join(f"t{i},{i % 3}\n" for i in range(30))
    )
    with pytest.raises(DataError, match=r"3 classes, more than num_labels=2"):
        load_task(path, num_labels=2)


def test_named_column_that_does_not_exist(tmp_path) -> None:
    path = _write(tmp_path, "d.csv", "text,label\na,1\nb,0\n")
    with pytest.raises(
        DataError, match=r"no text column 'body'; the columns are \['text', 'label'\]"
    ):
        load_task(path, text_column="body")


def test_too_few_examples_per_class_to_split(tmp_path) -> None:
    path = _write(tmp_path, "tiny.csv", "text,label\na,1\nb,0\nc,1\n")
    with pytest.raises(DataError, match="at least 4 examples"):
        load_task(path)


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"limit": 0}, "limit must be a positive integer"),
        ({"num_labels": 1}, "num_labels must be an integer >= 2"),
        ({"test_source": "x.csv"}, "has its own test split"),
    ],
)
def test_bad_options(options, pattern) -> None:
    with pytest.raises(ConfigError, match=pattern):
        load_task("reviews", **options)


def test_not_a_name_or_path() -> None:
    with pytest.raises(DataError, match="pass a task name"):
        load_task(42)  # type: ignore[arg-type]


def test_task_passes_through_and_fingerprint_is_stable() -> None:
    task = load_task("reviews", limit=200)
    assert load_task(task) is task
    assert isinstance(task, Task) and len(task.fingerprint()) == 64
    json.dumps(task.label_names)
