"""Real data sets shipped inside labkit: ``sentences`` and ``sms_spam``.

The files in ``labkit/data/real/`` are the published originals, unchanged; ``real/README.md``
gives their provenance, citation and licence. Every load checks each file's sha256 against the
value recorded here (computed once per process and file) and reads it through the same generic
reader as a learner's own header-less tab-separated file (:func:`labkit.data.files.read_labelled`
with ``header=False``), so the real files' quirks (stray quotes, trailing spaces, U+0085 inside
sentences) are handled by the code everyone uses.

- ``sentences``: 3,000 review sentences from three sites (amazon, imdb, yelp; 500 positive and
  500 negative each), split 70/15/15 stratified by (site, label). ``domain=`` keeps one site;
  ``train_domains=`` / ``test_domain=`` train on some sites and test on another (the whole test
  site is the test split; any training sentence whose normalised text also occurs in the test
  site is dropped). Per-example sites are in ``Split.domains``.
- ``sms_spam``: 5,574 SMS messages, 747 spam. Deduplicated by default (exact and near copies,
  before splitting): without that, about one test message in nine has a copy in training.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.data.assemble import SPLIT, TRAIN_VALIDATION, dedup_pool, record_dedup
from labkit.data.columns import check_texts, encode_labels
from labkit.data.dedup import overlapping
from labkit.data.files import read_labelled
from labkit.data.task import Split, Task, stratified_split
from labkit.errors import ConfigError, DataError

# Where the shipped files are; tests point this (or load_real's data_dir) at a copy.
DATA_DIR = Path(__file__).resolve().parent / "real"


@dataclass(frozen=True)
class RealFile:
    """One shipped file: where it is, its sha256, its columns (counted from 1) and its domain."""

    path: str
    sha256: str
    text_column: str
    label_column: str
    rows: int
    domain: str | None = None


@dataclass(frozen=True)
class RealSpec:
    """A shipped data set: its files and everything a run record or model card should say."""

    dataset: str
    description: str
    files: tuple[RealFile, ...]
    label_names: tuple[str, ...] | None
    positive_label: str
    citation: str
    doi: str
    licence: str
    licence_note: str
    deduplicate: bool

    def meta(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset, "citation": self.citation, "doi": self.doi,
            "url": f"https://doi.org/{self.doi}", "licence": self.licence,
            "licence_note": self.licence_note,
            "changes": "none: the original files are shipped unchanged (sha256 checked on load)",
        }  # fmt: skip


_SENTENCES = "sentiment_sentences"
REAL_TASKS: dict[str, RealSpec] = {
    "sentences": RealSpec(
        dataset="Sentiment Labelled Sentences",
        description="real review sentences from amazon, imdb and yelp (3,000, balanced; 2,969 "
        "after removing duplicates, the default); domain= for one site, train_domains= / "
        "test_domain= for a shift between sites",
        files=(
            RealFile(
                f"{_SENTENCES}/amazon_cells_labelled.txt",
                "47003fc0a0d4840b00e96e715b6189bad09e7443a3da41c4cbe12ffc79f86ae3",
                "1",
                "2",
                1000,
                "amazon",
            ),
            RealFile(
                f"{_SENTENCES}/imdb_labelled.txt",
                "29cb10b2bfbc60ea33dcbd5abaa8bcf977b142cec7926c627dd76232aaafbfed",
                "1",
                "2",
                1000,
                "imdb",
            ),
            RealFile(
                f"{_SENTENCES}/yelp_labelled.txt",
                "c76468b7b5c6e56a0804d728345c5f84aa2142ddb214420f61cc9cfd4c00d2ea",
                "1",
                "2",
                1000,
                "yelp",
            ),
        ),  # fmt: skip
        label_names=("negative", "positive"),
        positive_label="positive",
        citation="D. Kotzias, M. Denil, N. de Freitas, P. Smyth. From Group to Individual "
        "Labels Using Deep Features. KDD 2015. UCI Machine Learning Repository, "
        "doi:10.24432/C57604.",
        doi="10.24432/C57604",
        licence="CC BY 4.0",
        licence_note="CC BY 4.0 as listed by the UCI Machine Learning Repository (attribution "
        "required); the authors' readme asks to cite the paper.",
        deduplicate=True,
    ),
    "sms_spam": RealSpec(
        dataset="SMS Spam Collection",
        description="real SMS messages, 13% spam (5,574 with duplicates; deduplicated by "
        "default): accuracy misleads, duplicates leak",
        files=(
            RealFile(
                "sms_spam/SMSSpamCollection",
                "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d",
                "2",
                "1",
                5574,
            ),
        ),  # fmt: skip
        label_names=None,
        positive_label="spam",
        citation="T. A. Almeida, J. M. Gómez Hidalgo, A. Yamakami. Contributions to the Study "
        "of SMS Spam Filtering: New Collection and Results. ACM DocEng 2011. UCI Machine "
        "Learning Repository, doi:10.24432/C5CC84.",
        doi="10.24432/C5CC84",
        licence="CC BY 4.0",
        licence_note="CC BY 4.0 as listed by the UCI Machine Learning Repository; the "
        "collection's own readme provides it for free and with no limitations (copyright and "
        "no-warranty terms aside) and asks users to cite the paper, and some "
        "Hugging Face Hub copies say 'licence: unknown'. The origin decides: UCI / the authors.",
        deduplicate=True,
    ),
}
DOMAINS = tuple(f.domain for f in REAL_TASKS["sentences"].files if f.domain)

_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a file, computed once per process (keyed by path, size and modification time)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _DIGESTS[key]


def verify_file(path: Path, expected: str) -> None:
    """DataError unless ``path`` exists and has sha256 ``expected``."""
    if not path.is_file():
        raise DataError(f"The shipped data file {str(path)!r} is missing. Reinstall labkit "
                        "(pip install --force-reinstall labkit, or pip install -e . in the "
                        "course repository).")  # fmt: skip
    actual = file_sha256(path)
    if actual != expected:
        raise DataError(
            f"The shipped data file {str(path)!r} is not the published original: its sha256 is "
            f"{actual}, expected {expected}. It was changed or damaged (an editor that fixes line "
            "endings or whitespace does that). Reinstall labkit (pip install --force-reinstall "
            "labkit, or git checkout the file in the course repository)."
        )


def _domain_list(value: str | Sequence[str] | None, option: str) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)
    if not items or not all(isinstance(v, str) and v for v in items):
        raise ConfigError(f"{option} must name one or more of {list(DOMAINS)}, got {value!r}.")
    unknown = [v for v in items if v not in DOMAINS]
    if unknown:
        raise ConfigError(f"Unknown domain {unknown[0]!r} in {option}: the sentences come from "
                          f"{list(DOMAINS)}.")  # fmt: skip
    return list(dict.fromkeys(items))


def resolve_domains(
    domain: str | None,
    train_domains: str | Sequence[str] | None,
    test_domain: str | None,
) -> tuple[list[str], str | None]:
    """(domains to split 70/15/15 or train on, the test domain or None)."""
    if domain is not None and (train_domains is not None or test_domain is not None):
        raise ConfigError("Give either domain= (one site, split 70/15/15) or train_domains= / "
                          "test_domain= (train on some sites, test on another), not both.")  # fmt: skip
    if domain is not None:
        if not isinstance(domain, str):
            raise ConfigError(f"domain must be one of {list(DOMAINS)}, got {domain!r}.")
        return _domain_list([domain], "domain") or [], None
    if test_domain is None:
        if train_domains is not None:
            raise ConfigError("train_domains= needs test_domain=: name the site to test on "
                              f"(one of {list(DOMAINS)}).")  # fmt: skip
        return list(DOMAINS), None
    if not isinstance(test_domain, str):
        raise ConfigError(f"test_domain must be one of {list(DOMAINS)}, got {test_domain!r}.")
    test = (_domain_list([test_domain], "test_domain") or [""])[0]
    train = _domain_list(train_domains, "train_domains") or [d for d in DOMAINS if d != test]
    if test in train:
        raise ConfigError(f"test_domain={test!r} is also among train_domains={train}: a "
                          "cross-domain test must use a site the model was not trained on.")  # fmt: skip
    return train, test


def _read(spec_file: RealFile, folder: Path) -> tuple[list[Any], list[Any]]:
    path = folder / spec_file.path
    verify_file(path, spec_file.sha256)
    columns = read_labelled(path, spec_file.text_column, spec_file.label_column, header=False)
    if len(columns.texts) != spec_file.rows:
        raise DataError(f"{path.name!r} gave {len(columns.texts)} rows, expected "
                        f"{spec_file.rows}: the reader mis-split its lines.")  # fmt: skip
    return columns.texts, columns.labels


def load_real(
    name: str,
    *,
    seed: int = 0,
    deduplicate: bool | None = None,
    domain: str | None = None,
    train_domains: str | Sequence[str] | None = None,
    test_domain: str | None = None,
    num_labels: int | None = None,
    data_dir: str | Path | None = None,
) -> Task:
    """Load shipped data set ``name`` (see the module docstring for the options)."""
    spec = REAL_TASKS[name]
    folder = Path(data_dir) if data_dir is not None else DATA_DIR
    if name == "sentences":
        train_domains_, test_domain_ = resolve_domains(domain, train_domains, test_domain)
    elif (domain, train_domains, test_domain) != (None, None, None):
        raise ConfigError(f"domain= / train_domains= / test_domain= are for the 'sentences' "
                          f"task; {name!r} has a single source.")  # fmt: skip
    else:
        train_domains_, test_domain_ = [], None
    deduplicate = spec.deduplicate if deduplicate is None else deduplicate
    texts, values, domains = [], [], []
    for spec_file in spec.files:
        if spec_file.domain is not None and spec_file.domain not in train_domains_ + [test_domain_]:
            continue
        file_texts, file_labels = _read(spec_file, folder)
        check_texts(file_texts, spec_file.path)
        texts += file_texts
        values += file_labels
        domains += [spec_file.domain] * len(file_texts)
    names_given = list(spec.label_names) if spec.label_names else None
    ids, label_names, _ = encode_labels(values, spec.dataset, label_names=names_given,
                                        num_labels=num_labels)  # fmt: skip
    if label_names[1] != spec.positive_label:
        raise DataError(f"{spec.dataset}: expected the positive class {spec.positive_label!r} "
                        f"to get id 1, got labels {label_names}.")  # fmt: skip
    whole = Split(texts, ids, domains if any(domains) else None)
    notes: list[str] = []
    meta = {**spec.meta(), "positive_label": spec.positive_label, "positive_chosen_by": "task",
            "files": {Path(f.path).name: f.sha256 for f in spec.files
                      if f.domain is None or f.domain in train_domains_ + [test_domain_]}}  # fmt: skip
    test: Split | None = None
    if test_domain_ is not None:
        test = whole.select([i for i, d in enumerate(domains) if d == test_domain_])
        pool = whole.select([i for i, d in enumerate(domains) if d != test_domain_])
        meta.update(train_domains=train_domains_, test_domain=test_domain_)
    else:
        pool = whole
    report = None
    if deduplicate:
        keep, relabel, report = dedup_pool(pool.texts, pool.labels, test.texts if test else ())
        pool = pool.select(keep)
        pool = Split(pool.texts, [relabel.get(i, y) for i, y in zip(keep, pool.labels,
                                                                     strict=True)], pool.domains)  # fmt: skip
        if test is not None:
            meta["cross_domain_overlap_removed"] = report.overlap_with_test
    elif test is not None:
        shared = set(overlapping(pool.texts, test.texts))
        pool = pool.select([i for i in range(len(pool)) if i not in shared])
        notes.append(f"{len(shared)} training-site sentences also occur (after normalising) in "
                     f"the test site {test_domain_!r} and were dropped from train/validation")  # fmt: skip
        meta["cross_domain_overlap_removed"] = len(shared)
    record_dedup(notes, meta, report)
    strata = (
        pool.labels
        if pool.domains is None
        else [f"{d}/{y}" for d, y in zip(pool.domains, pool.labels, strict=True)]
    )
    if test is not None:
        train, validation = stratified_split(pool.texts, pool.labels, TRAIN_VALIDATION, seed,
                                             strata=strata, domains=pool.domains)  # fmt: skip
    else:
        train, validation, test = stratified_split(pool.texts, pool.labels, SPLIT, seed,
                                                   strata=strata, domains=pool.domains)  # fmt: skip
    if whole.domains is not None:
        meta["domains"] = sorted({d for s in (train, validation, test) for d in s.domains or []})
    return Task(name=_task_name(name, domain, train_domains_, test_domain_), train=train,
                validation=validation, test=test, label_names=label_names,
                source=f"shipped data set: {spec.dataset} (doi:{spec.doi})", notes=notes,
                meta=meta)  # fmt: skip


def _task_name(name: str, domain: str | None, train: list[str], test: str | None) -> str:
    if domain is not None:
        return f"{name}-{domain}"
    if test is not None:
        return f"{name}-{'-'.join(train)}-to-{test}"
    return name
