"""Robustness and drift: seeded text perturbations, accuracy under them, and a drift monitor.

**Perturbations.** Each is a function ``(text, rng, rate) -> text`` (``rng`` a
``random.Random``); ``rate`` is the probability that each unit is changed:

- ``typos``: each word of 3 or more letters gets, with probability ``rate``, one typing slip:
  two neighbouring letters swapped, a letter dropped, a key next to a letter pressed as well
  (insertion), or a neighbouring key pressed instead (substitution), on a QWERTY keyboard.
- ``casing``: each word is, with probability ``rate``, written in upper case, lower case or
  title case.
- ``punctuation``: each punctuation character is removed with probability ``rate``.
- ``synonyms``: each word found in :data:`SYNONYMS`, a small list written for this course
  (review vocabulary; each replacement is meant to keep the sentence's sentiment), is replaced
  with probability ``rate`` by one of its synonyms.
- ``fillers``: before each word, with probability ``rate``, a filler phrase such as
  "honestly," is inserted (:data:`FILLERS`; none of them carries sentiment).
- ``paraphrase``: ``synonyms`` and then ``fillers``, both at ``rate``: a paraphrase-like change
  made without a language model.

Every function draws the same random numbers for a word whether or not it changes it, so with
one seed the words changed at a lower rate are among those changed at a higher rate (the
curves of accuracy against rate are not jagged by reshuffling). :func:`perturb` seeds one
generator per text from ``(seed, index)``.

**Drift.** :func:`drift_report` compares a reference window of inputs (the training data, or a
week known to be fine) with a current one, without labels: the share of current words never
seen in the reference (out-of-vocabulary rate), the length distribution (two-sample
Kolmogorov-Smirnov statistic), and, given the model's scores, its confidence and the share of
inputs it assigns to the positive class.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from labkit.errors import ConfigError

# --- the perturbations ---------------------------------------------------------------------
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _keyboard_neighbours() -> dict[str, str]:
    """Letters near each letter on a QWERTY keyboard, modelled as a grid: at most one column
    away, in the same row or the rows above and below (the real rows are staggered, so this
    counts a few diagonal keys that a finger would rarely hit)."""
    position = {c: (r, i) for r, row in enumerate(_ROWS) for i, c in enumerate(row)}
    neighbours = {}
    for c, (r, i) in position.items():
        near = []
        for other, (r2, i2) in position.items():
            if other != c and abs(r2 - r) <= 1 and abs(i2 - i) <= 1:
                near.append(other)
        neighbours[c] = "".join(sorted(near))
    return neighbours


KEYBOARD_NEIGHBOURS = _keyboard_neighbours()

# Written for this course: words common in product, film and restaurant reviews, each with
# replacements meant to keep the sentiment (and the grammar) of the sentence. Small on purpose.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "good": ("fine", "nice", "solid"),
    "great": ("excellent", "terrific", "superb"),
    "excellent": ("outstanding", "superb"),
    "amazing": ("incredible", "fantastic"),
    "fantastic": ("wonderful", "amazing"),
    "wonderful": ("marvellous", "delightful"),
    "perfect": ("flawless", "ideal"),
    "nice": ("pleasant", "lovely"),
    "beautiful": ("lovely", "gorgeous"),
    "delicious": ("tasty", "scrumptious"),
    "friendly": ("welcoming", "warm"),
    "happy": ("pleased", "satisfied"),
    "love": ("adore",),
    "loved": ("adored",),
    "enjoyed": ("liked",),
    "easy": ("simple", "effortless"),
    "fast": ("quick", "speedy"),
    "bad": ("poor", "awful"),
    "terrible": ("awful", "dreadful"),
    "horrible": ("dreadful", "appalling"),
    "awful": ("terrible", "dreadful"),
    "poor": ("weak", "shoddy"),
    "boring": ("dull", "tedious"),
    "rude": ("impolite", "discourteous"),
    "bland": ("tasteless", "flavourless"),
    "slow": ("sluggish",),
    "stupid": ("dumb", "silly"),
    "disappointed": ("dissatisfied",),
    "disappointing": ("underwhelming", "unsatisfying"),
    "movie": ("film", "picture"),
    "film": ("movie",),
    "phone": ("handset",),
    "product": ("item",),
    "restaurant": ("eatery",),
    "waiter": ("server",),
    "price": ("cost",),
    "buy": ("purchase",),
    "bought": ("purchased",),
    "problem": ("issue",),
    "problems": ("issues",),
    "very": ("really", "extremely"),
}

# Filler phrases that add no sentiment, inserted as asides ("the food was, honestly, great").
FILLERS: tuple[str, ...] = (
    "honestly",
    "basically",
    "to be honest",
    "I mean",
    "you know",
    "actually",
    "frankly",
    "in my opinion",
)

_WORD = re.compile(r"[A-Za-z]+")
_PUNCT = re.compile(r"[^\w\s]")
_TOKEN = re.compile(r"\S+")


def _match_case(new: str, old: str) -> str:
    if old.isupper() and len(old) > 1:
        return new.upper()
    if old[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


def _keyed(letter: str, neighbour: str) -> str:
    return neighbour.upper() if letter.isupper() else neighbour


def _typo(word: str, draws: tuple[float, float, float]) -> str:
    """One typing slip in ``word`` (3+ letters), chosen by three numbers in [0, 1)."""
    kind, where, which = draws
    op = int(kind * 4)
    if op == 0:  # swap two neighbouring letters (not the same letter twice)
        i = int(where * (len(word) - 1))
        if word[i].lower() == word[i + 1].lower():
            op = 1
        else:
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    i = int(where * len(word))
    if op == 1:  # drop a letter
        return word[:i] + word[i + 1 :]
    near = KEYBOARD_NEIGHBOURS[word[i].lower()]
    key = _keyed(word[i], near[int(which * len(near))])
    if op == 2:  # a neighbouring key pressed as well
        return word[: i + 1] + key + word[i + 1 :]
    return word[:i] + key + word[i + 1 :]  # a neighbouring key pressed instead


def typos(text: str, rng: random.Random, rate: float = 0.1) -> str:
    """Each word of 3+ letters gets one typing slip with probability ``rate``."""

    def edit(match: re.Match[str]) -> str:
        word = match.group()
        u, *draws = (rng.random() for _ in range(4))
        if len(word) < 3 or u >= rate:
            return word
        return _typo(word, tuple(draws))  # type: ignore[arg-type]

    return _WORD.sub(edit, text)


def casing(text: str, rng: random.Random, rate: float = 0.1) -> str:
    """Each word, with probability ``rate``, in UPPER, lower or Title case."""

    def edit(match: re.Match[str]) -> str:
        word = match.group()
        u, style = rng.random(), rng.random()
        if u >= rate:
            return word
        return (word.upper(), word.lower(), word.title())[int(style * 3)]

    return _WORD.sub(edit, text)


def punctuation(text: str, rng: random.Random, rate: float = 0.1) -> str:
    """Each punctuation character removed with probability ``rate``."""
    return _PUNCT.sub(lambda m: "" if rng.random() < rate else m.group(), text)


def synonyms(text: str, rng: random.Random, rate: float = 0.1) -> str:
    """Each word of :data:`SYNONYMS` replaced by one of its synonyms with probability ``rate``."""

    def edit(match: re.Match[str]) -> str:
        word = match.group()
        options = SYNONYMS.get(word.lower())
        if options is None:
            return word
        u, choice = rng.random(), rng.random()
        if u >= rate:
            return word
        return _match_case(options[int(choice * len(options))], word)

    return _WORD.sub(edit, text)


def fillers(text: str, rng: random.Random, rate: float = 0.1) -> str:
    """Before each word, with probability ``rate``, a filler phrase from :data:`FILLERS`."""
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
    out, last = [], 0
    previous = ""
    for start, end in tokens:
        u, choice = rng.random(), rng.random()
        gap = text[last:start]
        token = text[start:end]
        if u < rate:
            filler = FILLERS[int(choice * len(FILLERS))]
            if not previous or previous[-1] in ".!?":
                gap += filler[:1].upper() + filler[1:] + ", "
                if (
                    token[:1].isupper()
                    and token[1:].islower()
                    and _WORD.fullmatch(token)
                    and token != "I"
                ):  # "Honestly, the food", not "Honestly, The food"
                    token = token.lower()
            elif previous[-1] in ",;:":
                gap += filler + ", "
            else:  # an aside: "was, honestly, great"
                out[-1] += ","
                gap += filler + ", "
        out.append(gap + token)
        previous, last = token, end
    out.append(text[last:])
    return "".join(out)


def paraphrase(text: str, rng: random.Random, rate: float = 0.1) -> str:
    """:func:`synonyms` then :func:`fillers`, both at ``rate``."""
    return fillers(synonyms(text, rng, rate), rng, rate)


Perturbation = Callable[..., str]
KINDS: dict[str, Perturbation] = {
    "typos": typos,
    "casing": casing,
    "punctuation": punctuation,
    "synonyms": synonyms,
    "fillers": fillers,
    "paraphrase": paraphrase,
}


def check_kind(kind: Any) -> Perturbation:
    """The perturbation function of ``kind`` (ConfigError naming the kinds for anything else)."""
    if not isinstance(kind, str) or kind not in KINDS:
        raise ConfigError(
            f"Unknown perturbation kind {kind!r}: use one of {', '.join(map(repr, KINDS))}."
        )
    return KINDS[kind]


def check_rate(rate: Any) -> float:
    """``rate`` as a float in [0, 1] (ConfigError otherwise)."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ConfigError(
            f"rate={rate!r}: a perturbation rate is the probability that each word (or "
            "punctuation mark) is changed, a number from 0 (nothing changes) to 1 (every one "
            "can), e.g. rate=0.1."
        )
    return float(rate)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"seed must be an integer, got {seed!r}.")
    return seed


def _texts(texts: Any) -> list[str]:
    if isinstance(texts, str):
        raise ConfigError("texts must be a list of strings, not one string: wrap it, [text].")
    items = list(texts)
    bad = [i for i, t in enumerate(items) if not isinstance(t, str)]
    if bad:
        raise ConfigError(
            f"texts must all be strings; item {bad[0]} is {type(items[bad[0]]).__name__}."
        )
    return items


def perturb(texts: Sequence[str], kind: str, rate: float, seed: int = 0) -> list[str]:
    """Perturbed copies of ``texts``: ``kind`` at ``rate``, seeded per text from ``(seed, i)``."""
    function = check_kind(kind)
    rate = check_rate(rate)
    seed = _check_seed(seed)
    return [
        function(text, random.Random(f"{seed}/{i}"), rate) for i, text in enumerate(_texts(texts))
    ]


def perturbed_task(task: Any, kind: str, rate: float, seed: int = 0) -> Any:
    """A copy of ``task`` whose TEST split is perturbed; train and validation are unchanged."""
    from labkit.data.task import Split

    test = task.test
    texts = perturb(test.texts, kind, rate, seed)
    changed = sum(a != b for a, b in zip(texts, test.texts, strict=True))
    meta = dict(task.meta)
    meta["perturbation"] = {"kind": kind, "rate": float(rate), "seed": seed, "changed": changed}
    notes = [*task.notes, f"test split perturbed: {kind} at rate {rate:g} (seed {seed}); "
             f"{changed} of {len(texts)} test texts changed"]  # fmt: skip
    return task.with_changes(
        name=f"{task.name}+{kind}@{rate:g}",
        test=Split(texts, list(test.labels), test.domains),
        notes=notes,
        meta=meta,
    )


def robustness_report(
    model: Any,
    tokenizer: Any,
    task: Any,
    kinds: Sequence[str] = ("typos", "paraphrase"),
    rates: Sequence[float] = (0.05, 0.1, 0.2),
    *,
    seed: int = 0,
    batch_size: int = 64,
    max_length: int = 128,
) -> Any:
    """Accuracy on ``task``'s test split, clean and under each perturbation at each rate.

    Returns a DataFrame, one row per (kind, rate) plus a first ``clean`` row: ``accuracy``,
    ``drop`` (clean accuracy minus this one), ``changed`` (share of test texts the perturbation
    altered) and ``flipped`` (share of predictions that differ from the clean predictions).
    Predictions come from :func:`labkit.adapters.predict`.
    """
    import numpy as np
    import pandas as pd

    from labkit import adapters

    if isinstance(kinds, str):
        kinds = [kinds]
    if isinstance(rates, (int, float)):
        rates = [rates]
    kinds = list(kinds)
    rates = [check_rate(r) for r in rates]
    for kind in kinds:
        check_kind(kind)
    if not kinds or not rates:
        raise ConfigError("Give at least one kind and one rate, e.g. kinds=['typos'], rates=[0.1].")
    texts = list(task.test.texts)
    labels = np.asarray(task.test.labels)

    def predicted(batch: list[str]) -> Any:
        scores = adapters.predict(model, tokenizer, batch, batch_size=batch_size,
                                  max_length=max_length)  # fmt: skip
        return np.asarray(scores).argmax(-1)

    clean = predicted(texts)
    clean_accuracy = float((clean == labels).mean())
    rows = [{"kind": "clean", "rate": 0.0, "accuracy": clean_accuracy, "drop": 0.0,
             "changed": 0.0, "flipped": 0.0}]  # fmt: skip
    for kind in kinds:
        for rate in rates:
            noisy = perturb(texts, kind, rate, seed)
            pred = predicted(noisy)
            accuracy = float((pred == labels).mean())
            rows.append({
                "kind": kind, "rate": rate, "accuracy": accuracy,
                "drop": clean_accuracy - accuracy,
                "changed": float(np.mean([a != b for a, b in zip(noisy, texts, strict=True)])),
                "flipped": float((pred != clean).mean()),
            })  # fmt: skip
    return pd.DataFrame(rows)


# --- drift ---------------------------------------------------------------------------------
_VOCAB_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def words(text: str) -> list[str]:
    """Lower-cased words and numbers of ``text`` (the unit of the OOV rate and of lengths)."""
    return _VOCAB_WORD.findall(text.lower())


def _scores(scores: Any, name: str) -> Any:
    import numpy as np

    array = np.asarray(scores, dtype=float)
    if array.ndim == 2 and array.shape[1] == 2:
        array = array[:, 1]
    if array.ndim != 1 or len(array) == 0:
        raise ConfigError(
            f"{name} must hold the model's positive-class probabilities (one per text it "
            f"scored), or an (n, 2) array of class probabilities; got shape {array.shape}."
        )
    if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1:
        raise ConfigError(f"{name} must be probabilities in [0, 1].")
    return array


@dataclass
class DriftReport:
    """What :func:`drift_report` measured; ``to_frame()`` for a table, ``flags()`` for alerts."""

    n_reference: int
    n_current: int
    oov_rate: float
    new_words: list[tuple[str, int]]
    mean_words_reference: float
    mean_words_current: float
    length_ks: float
    length_p: float
    mean_confidence_reference: float | None = None
    mean_confidence_current: float | None = None
    positive_rate_reference: float | None = None
    positive_rate_current: float | None = None
    confidence_ks: float | None = None
    confidence_p: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def has_scores(self) -> bool:
        return self.mean_confidence_reference is not None

    def flags(
        self,
        *,
        alpha: float = 0.01,
        max_oov: float = 0.10,
        max_positive_rate_change: float = 0.10,
        max_confidence_drop: float = 0.05,
    ) -> dict[str, bool]:
        """Which statistics cross a threshold (illustrative defaults: tune them on windows known
        to be fine). KS tests flag when their p-value is below ``alpha``."""
        flags = {
            "oov_rate": self.oov_rate > max_oov,
            "length": self.length_p < alpha,
        }
        if self.has_scores:
            flags["confidence"] = bool(
                self.confidence_p < alpha  # type: ignore[operator]
                or self.mean_confidence_reference - self.mean_confidence_current  # type: ignore[operator]
                > max_confidence_drop
            )
            flags["positive_rate"] = (
                abs(self.positive_rate_current - self.positive_rate_reference)  # type: ignore[operator]
                > max_positive_rate_change
            )
        return flags

    def to_frame(self) -> Any:
        """One row per statistic: reference, current, change."""
        import pandas as pd

        rows = [
            ("texts", self.n_reference, self.n_current),
            ("OOV rate (share of words unseen in reference)", 0.0, self.oov_rate),
            ("mean length (words)", self.mean_words_reference, self.mean_words_current),
        ]
        if self.has_scores:
            rows += [
                ("mean confidence", self.mean_confidence_reference, self.mean_confidence_current),
                ("predicted positive rate", self.positive_rate_reference,
                 self.positive_rate_current),
            ]  # fmt: skip
        frame = pd.DataFrame(rows, columns=["statistic", "reference", "current"])
        frame["change"] = frame["current"] - frame["reference"]
        tests = {"mean length (words)": (self.length_ks, self.length_p)}
        if self.has_scores:
            tests["mean confidence"] = (self.confidence_ks, self.confidence_p)
        frame["KS statistic"] = [tests.get(s, (math.nan, math.nan))[0] for s in frame["statistic"]]
        frame["KS p-value"] = [tests.get(s, (math.nan, math.nan))[1] for s in frame["statistic"]]
        return frame.set_index("statistic")

    def __str__(self) -> str:
        lines = [f"Drift report: {self.n_reference} reference texts, {self.n_current} current"]
        lines.append(f"  OOV rate {self.oov_rate:.3f}; most frequent new words: "
                     + ", ".join(f"{w} ({n})" for w, n in self.new_words[:8]))  # fmt: skip
        lines.append(f"  mean length {self.mean_words_reference:.1f} -> "
                     f"{self.mean_words_current:.1f} words (KS {self.length_ks:.3f}, "
                     f"p = {self.length_p:.2g})")  # fmt: skip
        if self.has_scores:
            lines.append(f"  mean confidence {self.mean_confidence_reference:.3f} -> "
                         f"{self.mean_confidence_current:.3f} (KS {self.confidence_ks:.3f}, "
                         f"p = {self.confidence_p:.2g}); predicted positive rate "
                         f"{self.positive_rate_reference:.3f} -> {self.positive_rate_current:.3f}")  # fmt: skip
        raised = [name for name, on in self.flags().items() if on]
        lines.append("  flags (default thresholds): " + (", ".join(raised) or "none"))
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(float_format=lambda v: f"{v:.3g}")


def drift_report(
    reference_texts: Sequence[str],
    current_texts: Sequence[str],
    *,
    reference_scores: Any = None,
    current_scores: Any = None,
    top: int = 10,
) -> DriftReport:
    """Compare current inputs with a reference window, without labels.

    - **OOV rate**: the share of word occurrences in ``current_texts`` whose word never occurs
      in ``reference_texts`` (words: :func:`words`). New topics and new sites bring new words.
      It grows when the reference is small, so compare it with the rate of a window known to
      be fine (e.g. held-out data from the reference's own source), not with zero.
    - **Length**: mean words per text and the two-sample Kolmogorov-Smirnov statistic (the
      largest gap between the two cumulative distributions of lengths) with its p-value
      (``scipy.stats.ks_2samp``; conservative for whole-number lengths).
    - **Model outputs** (when both score arrays are given: positive-class probabilities or
      (n, 2) probability arrays): mean confidence (the probability of the predicted class),
      the KS test on confidences, and the share predicted positive. The scores need not come
      from the same texts: ``reference_scores`` can be the model's scores on held-out data of
      the reference period (scores on the training texts themselves are overconfident).
    """
    import numpy as np
    from scipy.stats import ks_2samp

    reference, current = _texts(reference_texts), _texts(current_texts)
    if not reference or not current:
        raise ConfigError("drift_report needs at least one reference text and one current text.")
    if (reference_scores is None) != (current_scores is None):
        raise ConfigError("Give both reference_scores and current_scores, or neither.")
    reference_words = [words(t) for t in reference]
    current_words = [words(t) for t in current]
    vocabulary = {w for ws in reference_words for w in ws}
    occurrences = [w for ws in current_words for w in ws]
    unseen = Counter(w for w in occurrences if w not in vocabulary)
    oov = sum(unseen.values()) / len(occurrences) if occurrences else 0.0
    ref_len = np.array([len(ws) for ws in reference_words])
    cur_len = np.array([len(ws) for ws in current_words])
    length = ks_2samp(ref_len, cur_len)
    report = DriftReport(
        n_reference=len(reference), n_current=len(current), oov_rate=float(oov),
        new_words=unseen.most_common(top), mean_words_reference=float(ref_len.mean()),
        mean_words_current=float(cur_len.mean()), length_ks=float(length.statistic),
        length_p=float(length.pvalue),
    )  # fmt: skip
    if reference_scores is not None:
        ref = _scores(reference_scores, "reference_scores")
        cur = _scores(current_scores, "current_scores")
        ref_conf, cur_conf = np.maximum(ref, 1 - ref), np.maximum(cur, 1 - cur)
        confidence = ks_2samp(ref_conf, cur_conf)
        report.mean_confidence_reference = float(ref_conf.mean())
        report.mean_confidence_current = float(cur_conf.mean())
        report.positive_rate_reference = float((ref > 0.5).mean())
        report.positive_rate_current = float((cur > 0.5).mean())
        report.confidence_ks = float(confidence.statistic)
        report.confidence_p = float(confidence.pvalue)
    return report
