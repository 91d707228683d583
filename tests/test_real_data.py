"""The real data sets shipped with labkit: integrity, row counts, splits, deduplication, leakage."""

from __future__ import annotations

import ast
import fnmatch
import hashlib
import shutil
import warnings
from collections import Counter
from pathlib import Path

import pytest

from labkit.data import DOMAINS, REAL_TASKS, available_tasks, load_task, real_tasks
from labkit.data.files import read_labelled
from labkit.errors import ConfigError, DataError, LeakageWarning
from labkit.metrics.leakage import normalise

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "labkit" / "data" / "real"
SENTENCE_FILES = {f.domain: DATA / f.path for f in REAL_TASKS["sentences"].files}
SMS_FILE = DATA / REAL_TASKS["sms_spam"].files[0].path


def _load(source, **options):
    """load_task with LeakageWarning turned into an error (a clean task must not warn)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", LeakageWarning)
        return load_task(source, **options)


def _raw(path: Path) -> tuple[list[str], list]:
    columns = read_labelled(path, header=False)
    return columns.texts, columns.labels


# --- integrity ------------------------------------------------------------------------------
def test_shipped_files_have_the_recorded_sha256_also_listed_in_the_readme() -> None:
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    files = [f for spec in REAL_TASKS.values() for f in spec.files]
    for spec_file in files:
        digest = hashlib.sha256((DATA / spec_file.path).read_bytes()).hexdigest()
        assert digest == spec_file.sha256, spec_file.path
        assert f"`{Path(spec_file.path).name}` | `{digest}`" in readme
    # The shared copy the course started from, when this checkout has it.
    for spec_file in files:
        original = ROOT.parent / "shared" / "data" / spec_file.path
        if original.exists():
            assert original.read_bytes() == (DATA / spec_file.path).read_bytes()


def _copy_data(tmp_path: Path) -> Path:
    folder = tmp_path / "real"
    shutil.copytree(DATA, folder)
    return folder


def test_a_tampered_copy_is_refused_with_both_digests(tmp_path) -> None:
    folder = _copy_data(tmp_path)
    damaged = folder / "sms_spam" / "SMSSpamCollection"
    content = damaged.read_bytes()
    damaged.write_bytes(content.replace(b"\n", b"\r\n", 1))  # what an editor's EOL fix does
    actual = hashlib.sha256(damaged.read_bytes()).hexdigest()
    expected = REAL_TASKS["sms_spam"].files[0].sha256
    with pytest.raises(DataError, match=rf"SMSSpamCollection.*{actual}.*{expected}.*Reinstall"):
        real_tasks.load_real("sms_spam", data_dir=folder)


def test_the_data_folder_can_be_redirected_and_a_missing_file_says_reinstall(
    tmp_path, monkeypatch
) -> None:
    folder = _copy_data(tmp_path)
    (folder / "sentiment_sentences" / "yelp_labelled.txt").unlink()
    monkeypatch.setattr(real_tasks, "DATA_DIR", folder)
    assert len(_load_quiet("sentences", domain="amazon", deduplicate=False).test) == 150
    with pytest.raises(DataError, match=r"yelp_labelled.txt' is missing. Reinstall labkit"):
        load_task("sentences", domain="yelp")


def test_the_checksum_is_computed_once_per_process(monkeypatch) -> None:
    load_task("sentences", domain="imdb")

    def no_hashing(*args, **kwargs):
        raise AssertionError("sha256 recomputed")

    monkeypatch.setattr(real_tasks.hashlib, "sha256", no_hashing)
    assert len(load_task("sentences", domain="imdb", deduplicate=False).train) == 700


# --- reading the real files -----------------------------------------------------------------
def test_exact_row_counts_despite_stray_quotes_and_unicode_line_separators() -> None:
    imdb = SENTENCE_FILES["imdb"].read_text(encoding="utf-8")
    # The quirks are really there: a quote that never closes, U+0085 inside sentences.
    assert any(line.startswith('" ') for line in imdb.split("\n"))
    assert "\x85" in imdb and len(imdb.splitlines()) > 1000
    for path in SENTENCE_FILES.values():
        texts, labels = _raw(path)
        assert len(texts) == 1000 and Counter(labels) == {0: 500, 1: 500}
        assert all(t == t.strip() and "\t" not in t for t in texts)
    texts, labels = _raw(SENTENCE_FILES["imdb"])
    assert sum("\x85" in t for t in texts) >= 1 and sum(t.startswith('"') for t in texts) >= 1
    texts, labels = _raw(SMS_FILE)
    assert len(texts) == 5574 and Counter(labels) == {"ham": 4827, "spam": 747}


def test_real_tasks_use_the_generic_reader_for_header_less_files() -> None:
    imdb_task = _load_quiet("sentences", domain="imdb")
    for header in (False, None):  # forced, and detected from the content
        as_file = _load_quiet(SENTENCE_FILES["imdb"], header=header, deduplicate=True)
        for name in ("train", "validation", "test"):
            assert as_file.splits[name].texts == imdb_task.splits[name].texts
            assert as_file.splits[name].labels == imdb_task.splits[name].labels
    assert as_file.label_names == ["0", "1"] and imdb_task.label_names == ["negative", "positive"]
    sms = _load("sms_spam")
    sms_file = _load(SMS_FILE, deduplicate=True)
    assert sms_file.fingerprint() == sms.fingerprint()
    assert sms_file.meta["header"] == "data"


def _load_quiet(source, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        return load_task(source, **options)


# --- sentences -----------------------------------------------------------------------------
def test_sentences_split_70_15_15_stratified_by_site_and_label() -> None:
    raw = _load_quiet("sentences", deduplicate=False)
    assert [len(s) for s in raw.splits.values()] == [2100, 450, 450]
    for split, per_cell in (("train", 350), ("validation", 75), ("test", 75)):
        cells = Counter(zip(raw.splits[split].domains, raw.splits[split].labels, strict=True))
        assert cells == {(d, y): per_cell for d in DOMAINS for y in (0, 1)}
    with warnings.catch_warnings():
        warnings.simplefilter("error", LeakageWarning)  # the default has no leak to warn about
        task = load_task("sentences")
    kept = sum(len(s) for s in task.splits.values())
    removed = task.meta["dedup_removed"]
    assert kept == 3000 - removed and 0 < removed < 60
    assert task.label_names == ["negative", "positive"] and task.positive_label == "positive"
    for split, share in (("train", 0.70), ("validation", 0.15), ("test", 0.15)):
        assert abs(len(task.splits[split]) - share * kept) <= 2
        cells = Counter(zip(task.splits[split].domains, task.splits[split].labels, strict=True))
        expected = share * kept / 6
        assert all(abs(n - expected) <= 0.03 * expected + 2 for n in cells.values()), cells
    # Domains travel with their examples: the same sentence in the file of that site.
    site_texts = {d: set(_raw(path)[0]) for d, path in SENTENCE_FILES.items()}
    for split in task.splits.values():
        assert all(t in site_texts[d] for t, d in zip(split.texts, split.domains, strict=True))
    assert task.meta["domains"] == list(DOMAINS)
    assert task.test.to_frame()["domain"].tolist() == task.test.domains


@pytest.mark.parametrize("site", DOMAINS)
def test_one_site_is_1000_sentences_split_by_label(site) -> None:
    task = _load_quiet("sentences", domain=site, deduplicate=False)
    assert [len(s) for s in task.splits.values()] == [700, 150, 150]
    assert {y: n for y, n in task.test.class_counts().items()} == {0: 75, 1: 75}
    assert set(task.train.domains + task.test.domains) == {site}
    assert task.name == f"sentences-{site}"


def test_cross_site_split_keeps_the_test_site_whole_and_apart() -> None:
    task = _load("sentences", train_domains=["amazon", "imdb"], test_domain="yelp",
                 deduplicate=False)  # fmt: skip
    assert len(task.test) == 1000 and set(task.test.domains) == {"yelp"}
    assert set(task.train.domains + task.validation.domains) == {"amazon", "imdb"}
    test_keys = {normalise(t) for t in task.test.texts}
    train_side = task.train.texts + task.validation.texts
    assert not [t for t in train_side if normalise(t) in test_keys]
    # Independently: how many amazon/imdb sentences share a normalised text with yelp.
    yelp = {normalise(t) for t in _raw(SENTENCE_FILES["yelp"])[0]}
    shared = sum(normalise(t) in yelp for d in ("amazon", "imdb")
                 for t in _raw(SENTENCE_FILES[d])[0])  # fmt: skip
    assert shared > 0 and len(train_side) == 2000 - shared
    assert task.meta["cross_domain_overlap_removed"] == shared
    assert any(f"{shared} training-site sentences" in note for note in task.notes)
    assert abs(len(task.validation) - 0.15 * len(train_side)) <= 1
    assert (task.meta["train_domains"], task.meta["test_domain"]) == (["amazon", "imdb"], "yelp")
    # test_domain alone trains on the other two sites.
    other = _load("sentences", test_domain="yelp", deduplicate=False)
    assert other.fingerprint() == task.fingerprint()
    # The default also removes duplicates inside the training sites.
    default = _load("sentences", test_domain="yelp")
    assert len(default.test) == 1000 and len(default.train) < len(task.train)


@pytest.mark.parametrize(
    ("options", "error", "pattern"),
    [
        ({"train_domains": ["amazon", "yelp"], "test_domain": "yelp"}, ConfigError,
         "also among train_domains"),
        ({"domain": "twitter"}, ConfigError, r"Unknown domain 'twitter'.*amazon.*imdb.*yelp"),
        ({"test_domain": "imbd"}, ConfigError, r"'imbd'.*\['amazon', 'imdb', 'yelp'\]"),
        ({"domain": "imdb", "test_domain": "yelp"}, ConfigError, "either domain="),
        ({"train_domains": ["imdb"]}, ConfigError, "needs test_domain"),
    ],
)  # fmt: skip
def test_bad_domain_options(options, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        load_task("sentences", **options)


def test_domains_only_apply_to_sentences() -> None:
    with pytest.raises(ConfigError, match="for the 'sentences' task"):
        load_task("sms_spam", domain="amazon")


# --- sms_spam ---------------------------------------------------------------------------------
def test_sms_spam_is_deduplicated_before_splitting() -> None:
    texts, labels = _raw(SMS_FILE)
    # Independent count: distinct normalised texts (punctuation-only texts compared as they are).
    distinct = {normalise(t) or f"raw:{t}" for t in texts}
    exact = len(texts) - len(set(texts))
    task = _load("sms_spam")  # no LeakageWarning: nothing left to leak
    kept = sum(len(s) for s in task.splits.values())
    assert kept == len(distinct) and task.meta["dedup_removed"] == len(texts) - len(distinct)
    assert task.meta["dedup"]["exact"] == exact and task.meta["dedup"]["conflicting_groups"] == 0
    assert any(f"Removed {len(texts) - len(distinct)} of 5574" in n for n in task.notes)
    assert task.label_names == ["ham", "spam"] and task.positive_label == "spam"
    for split, share in (("train", 0.70), ("validation", 0.15), ("test", 0.15)):
        assert abs(len(task.splits[split]) - share * kept) <= 1
    rates = [task.positive_rate(name) for name in ("train", "validation", "test")]
    assert max(rates) - min(rates) < 0.005 and 0.11 < rates[0] < 0.14


def test_sms_spam_without_deduplication_reproduces_the_leak() -> None:
    with pytest.warns(LeakageWarning, match=r"of 836 test examples \((\d+\.\d)%\) also appear"):
        task = load_task("sms_spam", deduplicate=False)
    assert sum(len(s) for s in task.splits.values()) == 5574
    leak = task.meta["leakage"]
    assert 0.08 < leak["count"] / leak["n_test"] < 0.15  # about one test message in nine
    assert task.meta["dedup_removed"] == 0 and task.meta["deduplicated"] is False


def test_citation_licence_and_positive_class_in_meta_summary_and_html() -> None:
    for name, doi, positive in (("sms_spam", "10.24432/C5CC84", "spam"),
                                ("sentences", "10.24432/C57604", "positive")):  # fmt: skip
        task = _load_quiet(name)
        assert task.meta["doi"] == doi and task.meta["licence"] == "CC BY 4.0"
        assert doi in task.meta["citation"] and task.meta["url"].endswith(doi)
        assert task.meta["positive_label"] == positive and task.meta["changes"].startswith("none")
        assert set(task.meta["files"].values()) <= {f.sha256 for f in REAL_TASKS[name].files}
        for text in (task.summary(), task._repr_html_()):
            assert "CC BY 4.0" in text and doi in text and f"(id 1): {positive}" in text
    assert "licence: unknown" in REAL_TASKS["sms_spam"].licence_note


def test_limit_caps_training_and_never_the_real_test_split() -> None:
    whole = _load_quiet("sentences")
    task = _load_quiet("sentences", limit=300)
    assert len(task.train) == 300 and len(task.test) == len(whole.test)
    assert len(task.validation) == round(len(whole.validation) * 300 / len(whole.train))
    sms = _load("sms_spam", limit=500)
    assert len(sms.train) == 500 and len(sms.test) == len(_load("sms_spam").test)
    assert 1 in sms.validation.labels


def test_positive_can_be_named_for_a_real_task() -> None:
    task = _load("sms_spam", positive="ham")
    assert task.label_names == ["spam", "ham"] and task.positive_label == "ham"
    assert task.meta["positive_chosen_by"] == "given"
    assert task.positive_rate("test") > 0.8
    with pytest.raises(DataError, match=r"positive='eggs'.*\['ham', 'spam'\]"):
        load_task("sms_spam", positive="eggs")


# --- registration and packaging ----------------------------------------------------------------
def test_real_tasks_are_listed_and_typos_are_suggested() -> None:
    names = available_tasks()
    for name in ("sentences", "sms_spam", "reviews", "fraud"):
        assert name in names
    assert names["sms_spam"].startswith("built-in (real data")
    with pytest.raises(DataError, match=r"Did you mean 'sentences'\?.*'sms_spam'"):
        load_task("sentence")
    with pytest.raises(ConfigError, match="its own test split"):
        load_task("sms_spam", test_source="x.csv")


def test_package_data_ships_every_data_file() -> None:
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["labkit.data"]
    package = ROOT / "labkit" / "data"
    shipped = [p for p in DATA.rglob("*") if p.is_file() and p.name != ".gitattributes"]
    assert len(shipped) == 6
    for path in shipped:
        relative = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative


def test_no_module_of_labkit_data_imports_the_package_itself() -> None:
    for path in (ROOT / "labkit" / "data").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.level == 0 and node.module != "labkit.data", path.name
            if isinstance(node, ast.Import):
                assert all(alias.name != "labkit.data" for alias in node.names), path.name
