"""labkit.data: built-in tasks, local files, Hub data sets (network mocked) and every bad input."""

from __future__ import annotations

import json
import types
import warnings
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


def test_limit_caps_training_shrinks_validation_and_keeps_the_test_split(tmp_path) -> None:
    path = tmp_path / "d.csv"
    _frame(200).to_csv(path, index=False)
    whole = load_task(path)
    task = load_task(path, limit=70)
    assert [len(whole.train), len(whole.validation), len(whole.test)] == [140, 30, 30]
    assert len(task.train) == 70 and Counter(task.train.labels) == {0: 35, 1: 35}
    assert len(task.validation) == 15 and Counter(task.validation.labels) == {0: 8, 1: 7}
    assert task.test == whole.test and task.meta["limit"] == 70
    assert any("test split is kept whole (30)" in note for note in task.notes)


def test_limit_keeps_a_few_validation_examples_of_every_class(tmp_path) -> None:
    path = tmp_path / "rare.csv"
    rows = [(f"message {i} {'scam' if i % 20 == 0 else 'fine'}", int(i % 20 == 0))
            for i in range(1000)]  # fmt: skip
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    task = load_task(path, limit=100)
    assert len(task.train) == 100 and task.train.class_counts() == {0: 95, 1: 5}
    # 150 validation examples shrink by 100/700, but the rare class keeps 5 (of 7.5 -> 1)
    assert task.validation.class_counts() == {0: 20, 1: 5}
    assert len(task.test) == 150


def test_limit_with_a_separate_test_file_keeps_the_test_file_whole(tmp_path) -> None:
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    _frame(2000).to_csv(train, index=False)
    _frame(300).assign(review=lambda f: f.review + " held out").to_csv(test, index=False)
    task = load_task(train, test_source=test, limit=200)
    assert len(task.test) == 300 and len(task.train) == 200
    assert [len(s) for s in load_task(train, test_source=test).splits.values()] == [1700, 300, 300]
    assert len(task.validation) == round(300 * 200 / 1700)


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
    task = load_task(name, limit=120)
    assert calls == [spec.path]
    assert task.label_names == names and task.source.endswith(spec.path)
    assert len(task.train) == 120  # limit caps the training split only
    if spec.test_split:
        assert task.test.texts[0].startswith("held out") and len(task.test) == 40
    else:
        assert len(task.test) == 30  # 15% of 200, never subsampled


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


# --- generated tasks: label noise stays out of the test split --------------------------------
def test_reviews_label_noise_is_in_training_only() -> None:
    task = load_task("reviews")
    # Generated exactly balanced; only flips move the counts away from half and half.
    assert task.test.class_counts() == {0: 150, 1: 150}
    pool = Counter(task.train.labels + task.validation.labels)
    assert pool != {0: 850, 1: 850} and task.meta["label_noise"] == 0.03
    assert any("test labels are clean" in note for note in task.notes)


def test_available_tasks_lists_generated_real_and_hub_names() -> None:
    from labkit.data import available_tasks

    names = available_tasks()
    assert names["reviews"].startswith("built-in (generated)")
    assert names["sentences"].startswith("built-in (real data")
    assert names["sst2"].startswith("Hub") and "sms_spam" not in HUB_DATASETS


# --- files as people bring them: no header, .txt, no suffix, odd characters -----------------
def _sentences(n: int = 60) -> list[tuple[str, str]]:
    return [(f"this is sentence number {i} about {'good' if i % 2 else 'bad'} things",
             "pos" if i % 2 else "neg") for i in range(n)]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "order", "sep"),
    [("text_first.tsv", "text-label", "\t"), ("label_first.tsv", "label-text", "\t"),
     ("no_header.csv", "text-label", ","), ("sentences.txt", "text-label", "\t"),
     ("SMSLike", "label-text", "\t")],
)  # fmt: skip
def test_header_less_files_are_detected_and_columns_chosen_by_content(tmp_path, name, order,
                                                                      sep) -> None:  # fmt: skip
    rows = _sentences()
    rows = rows if order == "text-label" else [(y, t) for t, y in rows]
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, sep=sep, header=False, index=False)
    task = load_task(path)
    assert task.label_names == ["neg", "pos"] and sum(len(s) for s in task.splits.values()) == 60
    texts = task.train.texts + task.validation.texts + task.test.texts
    assert "this is sentence number 0 about bad things" in texts  # the first row is data
    assert task.meta["header"] == "data"
    assert any("read without a header row" in note and "chosen by content" in note
               for note in task.notes)  # fmt: skip
    forced = load_task(path, header=False)
    assert forced.fingerprint() == task.fingerprint()


def test_header_false_reads_a_first_row_that_looks_like_names_as_data(tmp_path) -> None:
    path = tmp_path / "short.tsv"
    path.write_text("good stuff\tpos\n" + "".join(f"{t}\t{y}\n" for t, y in _sentences(40)))
    # Two short words and a label value: taken for a header, which has no known names.
    with pytest.raises(DataError, match=r"no text column among \['good stuff', 'pos'\].*"
                                        r"header=False \(--no-header\)"):  # fmt: skip
        load_task(path)
    task = load_task(path, header=False)
    assert sum(len(s) for s in task.splits.values()) == 41


def test_header_true_on_a_header_less_file_says_to_pass_header_false(tmp_path) -> None:
    path = tmp_path / "data.tsv"
    pd.DataFrame(_sentences()).to_csv(path, sep="\t", header=False, index=False)
    with pytest.raises(DataError, match=r"no text column among \['this is sentence number 0 .*"
                                        r"header=False"):  # fmt: skip
        load_task(path, header=True)


def test_header_less_file_whose_columns_cannot_be_told_apart(tmp_path) -> None:
    path = tmp_path / "numbers.tsv"
    path.write_text("".join(f"{i}\t{i * 7}\n" for i in range(50)))
    for header in (None, False):
        with pytest.raises(DataError, match=r"without a header row \((the first row looks like "
                           r"data|header=False was given).*cannot tell which column holds the "
                           r"text.*column 1: 50 distinct values.*text_column='1'"):  # fmt: skip
            load_task(path, header=header)


def test_header_less_columns_can_be_named_by_number(tmp_path) -> None:
    path = tmp_path / "three.tsv"
    path.write_text("".join(f"{i}\t{t}\t{y}\n" for i, (t, y) in enumerate(_sentences())))
    task = load_task(path, header=False, text_column=2, label_column="3")
    assert task.label_names == ["neg", "pos"] and task.train.texts[0].startswith("this is")
    assert load_task(path).fingerprint() == task.fingerprint()  # detected: id, text, label


def test_header_option_is_checked(tmp_path) -> None:
    path = tmp_path / "d.jsonl"
    _frame().to_json(path, orient="records", lines=True)
    with pytest.raises(DataError, match="header=False is for csv/tsv files"):
        load_task(path, header=False)
    with pytest.raises(ConfigError, match="header must be True, False or None"):
        load_task(path, header="no")  # type: ignore[arg-type]


def test_stray_quotes_unicode_separators_and_na_texts_are_kept(tmp_path) -> None:
    lines = [
        '" The structure of this film is tight.  \t1',  # a quote that never closes
        "NA\t0",  # a text, not a missing value
        "Great acting\x85 and a fine score.\t1",  # U+0085 inside the sentence
        "Loved it\u2028truly.\t1",
        'A "so-called" comedy.\t0',
        "Dull, dull, dull.\t0",
    ]
    lines += [f'Review {i}: {"fine" if i % 2 else "poor"}, "really".\t{i % 2}' for i in range(20)]
    path = tmp_path / "quirks.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    task = load_task(path, header=False)
    texts = task.train.texts + task.validation.texts + task.test.texts
    assert len(texts) == 26
    assert '" The structure of this film is tight.' in texts  # trailing spaces removed
    assert "NA" in texts and "Great acting\x85 and a fine score." in texts
    assert "Loved it\u2028truly." in texts


def test_a_quoted_csv_still_reads_the_csv_way(tmp_path) -> None:
    path = tmp_path / "quoted.tsv"
    texts = [f'He said "hi {i}"\tthen left' if i % 2 else f"line {i}\nline two" for i in range(20)]
    pd.DataFrame({"text": texts, "label": [i % 2 for i in range(20)]}).to_csv(
        path, sep="\t", index=False
    )
    task = load_task(path)
    assert sorted(task.train.texts + task.validation.texts + task.test.texts) == sorted(texts)


@pytest.mark.parametrize(
    ("name", "content", "pattern"),
    [("words.txt", "just words\nmore words\n", "neither tabs nor commas"),
     ("blank.txt", "\n\n", "is empty")],
)  # fmt: skip
def test_unsniffable_text_files(tmp_path, name, content, pattern) -> None:
    with pytest.raises(DataError, match=pattern):
        load_task(_write(tmp_path, name, content))


# --- which class is positive -----------------------------------------------------------------
def test_a_known_positive_name_gets_id_1_over_the_alphabet(tmp_path) -> None:
    path = tmp_path / "alerts.csv"
    pd.DataFrame({"text": [f"message {i}" for i in range(40)],
                  "label": ["fraud" if i % 4 == 0 else "legitimate" for i in range(40)]}
                 ).to_csv(path, index=False)  # fmt: skip
    task = load_task(path)
    assert task.label_names == ["legitimate", "fraud"] and task.positive_label == "fraud"
    assert task.meta["positive_chosen_by"] == "known name" and task.positive_rate() == 0.25
    assert "positive class (id 1): fraud" in task.summary()
    flipped = load_task(path, positive="legitimate")
    assert flipped.label_names == ["fraud", "legitimate"] and flipped.positive_rate() == 0.75
    assert flipped.train.texts == task.train.texts
    with pytest.raises(DataError, match=r"positive='scam' is not one of the classes.*"
                                        r"\['legitimate', 'fraud'\]"):  # fmt: skip
        load_task(path, positive="scam")


def test_positive_with_0_1_labels_and_with_many_classes(tmp_path) -> None:
    binary = _write(tmp_path, "b.csv", "text,label\n" + "".join(f"t{i},{int(i < 10)}\n"
                                                               for i in range(40)))  # fmt: skip
    assert load_task(binary).positive_label == "1"
    assert load_task(binary, positive=0).positive_label == "0"
    assert load_task(binary, positive=0).positive_rate() == 0.75
    three = _write(tmp_path, "three.csv", "text,label\n" + "".join(f"t{i},{i % 3}\n"
                                                                  for i in range(30)))  # fmt: skip
    assert load_task(three).positive_label is None
    with pytest.raises(ConfigError, match="positive= is for binary tasks.*3 classes"):
        load_task(three, positive="1")


def test_bad_deduplicate_option() -> None:
    with pytest.raises(ConfigError, match="deduplicate must be True, False or None"):
        load_task("reviews", deduplicate="yes")  # type: ignore[arg-type]


# --- deduplication -----------------------------------------------------------------------------
def test_deduplicate_keeps_first_copies_majority_labels_and_drops_ties() -> None:
    from labkit.data import deduplicate

    texts = ["Win a prize!", "hello there", "win a PRIZE", "Win a prize!", "Hello there!",
             "ok", "OK.", "!!!", "???", "!!!"]  # fmt: skip
    labels = ["spam", "ham", "spam", "ham", "spam", "ham", "ham", "ham", "ham", "ham"]
    kept, kept_labels, report = deduplicate(texts, labels)
    # "Win a prize!" x3 -> majority spam; "hello there" x2 -> tie, dropped;
    # "ok" x2 -> one; punctuation-only texts match only exactly.
    assert kept == ["Win a prize!", "ok", "!!!", "???"]
    assert kept_labels == ["spam", "ham", "ham", "ham"]
    assert report.removed == int(report) == 6 and report.n_after == 4
    assert (report.exact, report.near, report.dropped_ties) == (2, 3, 1)
    assert report.conflicting_groups == 2 and report.relabelled == 0
    assert "Removed 6 of 10" in str(report)


def test_deduplicate_on_a_file_before_splitting(tmp_path) -> None:
    path = tmp_path / "dups.csv"
    frame = _frame(60)
    copies = frame.iloc[:10].assign(review=lambda f: f.review.str.upper() + " !")
    pd.concat([frame, frame.iloc[:5], copies]).to_csv(path, index=False)
    with pytest.warns(LeakageWarning):
        load_task(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LeakageWarning)
        task = load_task(path, deduplicate=True)
    assert sum(len(s) for s in task.splits.values()) == 60
    assert task.meta["dedup_removed"] == 15
    assert task.meta["dedup"]["exact"] == 5 and task.meta["dedup"]["near"] == 10
    assert any("Removed 15 of 75" in note for note in task.notes)


def test_deduplicate_drops_training_texts_that_are_in_the_test_file(tmp_path) -> None:
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    frame = _frame(60)
    frame.to_csv(train, index=False)
    pd.concat([frame.iloc[:4], _frame(8).assign(review=lambda f: f.review + " new")]).to_csv(
        test, index=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", LeakageWarning)
        task = load_task(train, test_source=test, deduplicate=True)
    assert len(task.test) == 12 and len(task.train) + len(task.validation) == 56
    assert task.meta["dedup"]["overlap_with_test"] == 4


def test_deduplicate_a_finished_task_and_a_generated_one() -> None:
    task = load_task("reviews", limit=200)
    doubled = task.with_changes(
        train=type(task.train)(
            task.train.texts + task.test.texts[:3], task.train.labels + task.test.labels[:3]
        )  # fmt: skip
    )
    with pytest.warns(LeakageWarning):
        from labkit.data.assemble import warn_leakage

        warn_leakage(doubled.with_changes())
    cleaned = load_task(doubled, deduplicate=True)
    assert len(cleaned.train) == len(task.train) and cleaned.test == task.test
    assert cleaned.meta["dedup"]["overlap_with_test"] == 3
    assert load_task("reviews", limit=200, deduplicate=True).meta["deduplicated"] is True
