"""Perturbations, the robustness report, the drift report and the latency timer."""

from __future__ import annotations

import random
import string

import numpy as np
import pytest

from labkit import robustness
from labkit.data.task import Split, Task
from labkit.errors import ConfigError
from labkit.robustness import (
    KEYBOARD_NEIGHBOURS,
    KINDS,
    SYNONYMS,
    drift_report,
    perturb,
    perturbed_task,
    robustness_report,
)

SENTENCES = [
    "The food was great and the service was very friendly.",
    "Worst phone I ever bought!!! It broke after 2 days.",
    "I loved this movie, the acting is amazing.",
    "Terrible, bland and slow; the waiter was rude.",
]


def _task() -> Task:
    def split(texts):
        return Split(list(texts), [i % 2 for i in range(len(texts))])

    return Task("tiny", split(SENTENCES), split(SENTENCES[:2]), split(SENTENCES),
                ["negative", "positive"], meta={"licence": "test"})  # fmt: skip


# --- perturbations ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(KINDS))
def test_rate_zero_changes_nothing_and_seeds_repeat(kind) -> None:
    assert perturb(SENTENCES, kind, 0.0, seed=3) == SENTENCES
    assert perturb(SENTENCES, kind, 0.5, seed=3) == perturb(SENTENCES, kind, 0.5, seed=3)


def test_each_kind_changes_text_at_rate_one() -> None:
    for kind in KINDS:
        assert perturb(SENTENCES, kind, 1.0, seed=0) != SENTENCES, kind


def test_higher_rates_change_a_superset_of_words() -> None:
    # The same random numbers are drawn per word whatever the rate: nested changes.
    low, high = perturb(SENTENCES, "casing", 0.3, seed=1), perturb(SENTENCES, "casing", 0.7, seed=1)
    for clean, a, b in zip(SENTENCES, low, high, strict=True):
        for w0, w1, w2 in zip(clean.split(), a.split(), b.split(), strict=True):
            if w1 != w0:
                assert w2 == w1


def test_typos_are_single_keyboard_slips() -> None:
    rng = random.Random(0)
    for _ in range(300):
        word = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))
        typo = robustness.typos(word, rng, rate=1.0)
        assert typo != word or len(set(word)) == 1
        assert abs(len(typo) - len(word)) <= 1
        if len(typo) == len(word):
            diff = [i for i in range(len(word)) if typo[i] != word[i]]
            swapped = len(diff) == 2 and diff[1] == diff[0] + 1 and sorted(typo) == sorted(word)
            substituted = len(diff) == 1 and typo[diff[0]] in KEYBOARD_NEIGHBOURS[word[diff[0]]]
            assert swapped or substituted, (word, typo)
    assert robustness.typos("I am ok", random.Random(0), rate=1.0) == "I am ok"  # short words


def test_keyboard_neighbours_are_symmetric() -> None:
    for letter, near in KEYBOARD_NEIGHBOURS.items():
        assert near and letter not in near
        assert all(letter in KEYBOARD_NEIGHBOURS[n] for n in near)
    assert set(KEYBOARD_NEIGHBOURS["g"]) == set("rtyfhvbn")  # one column away, rows above/below


def test_punctuation_and_synonyms_and_fillers() -> None:
    assert perturb(["Wow!!! Great, really."], "punctuation", 1.0) == ["Wow Great really"]
    swapped = perturb(["Great food, terrible service."], "synonyms", 1.0)[0]
    first, second = swapped.split()[0], swapped.split()[2]
    assert first in {s.capitalize() for s in SYNONYMS["great"]}
    assert second in SYNONYMS["terrible"]
    assert perturb(["zzz qqq"], "synonyms", 1.0) == ["zzz qqq"]  # nothing listed: unchanged
    filled = perturb(["The food was great."], "fillers", 1.0)[0]
    assert filled.endswith("great.") and len(filled.split()) > 4
    assert filled[0].isupper() and "The" not in filled  # "Honestly, the food ..."


def test_bad_kind_and_rate_say_what_to_use() -> None:
    with pytest.raises(ConfigError, match="typos"):
        perturb(SENTENCES, "typo", 0.1)
    for rate in (-0.1, 1.5, True, "0.1", float("nan")):
        with pytest.raises(ConfigError, match="from 0"):
            perturb(SENTENCES, "typos", rate)
    with pytest.raises(ConfigError, match="list of strings"):
        perturb("one string", "typos", 0.1)
    with pytest.raises(ConfigError, match="seed"):
        perturb(SENTENCES, "typos", 0.1, seed=1.5)


def test_perturbed_task_changes_only_the_test_split() -> None:
    task = _task()
    noisy = perturbed_task(task, "typos", 1.0, seed=0)
    assert noisy.train == task.train and noisy.validation == task.validation
    assert noisy.test.labels == task.test.labels and noisy.test.texts != task.test.texts
    assert noisy.meta["perturbation"]["kind"] == "typos" and noisy.meta["licence"] == "test"
    assert "perturbation" not in task.meta  # the original is untouched
    assert noisy.fingerprint() != task.fingerprint()


# --- robustness report (predictions monkeypatched: no model) ----------------------------------
def test_robustness_report_counts_accuracy_and_flips(monkeypatch) -> None:
    task = _task()

    def fake_predict(model, tokenizer, texts, **kwargs):
        # "positive" when the text is exactly as written (clean), else "negative".
        clean = set(SENTENCES)
        return np.array([[0.0, 1.0] if t in clean else [1.0, 0.0] for t in texts])

    monkeypatch.setattr("labkit.adapters.predict", fake_predict)
    frame = robustness_report(None, None, task, kinds=["typos", "casing"], rates=[0.0, 1.0])
    assert list(frame.columns) == ["kind", "rate", "accuracy", "drop", "changed", "flipped"]
    assert frame.iloc[0]["kind"] == "clean" and frame.iloc[0]["accuracy"] == 0.5
    full = frame[(frame["kind"] == "typos") & (frame["rate"] == 1.0)].iloc[0]
    assert full["changed"] == 1.0 and full["flipped"] == 1.0 and full["accuracy"] == 0.5
    none = frame[(frame["kind"] == "casing") & (frame["rate"] == 0.0)].iloc[0]
    assert none["changed"] == 0.0 and none["drop"] == 0.0
    with pytest.raises(ConfigError, match="Unknown perturbation"):
        robustness_report(None, None, task, kinds=["noise"], rates=[0.1])


# --- drift -----------------------------------------------------------------------------------
def test_drift_report_sees_new_words_and_longer_texts() -> None:
    reference = ["the phone works well"] * 50 + ["battery died fast"] * 50
    same = ["the phone works"] * 30 + ["battery died"] * 30
    shifted = ["the pasta and the service were wonderful tonight at dinner"] * 60
    calm = drift_report(reference, same)
    drift = drift_report(reference, shifted)
    assert calm.oov_rate == 0.0 and drift.oov_rate > 0.5
    assert drift.new_words[0][0] in {"pasta", "and", "service", "were", "wonderful", "tonight",
                                     "at", "dinner"}  # fmt: skip
    assert drift.mean_words_current > drift.mean_words_reference
    assert drift.length_p < 0.01 and drift.flags()["length"] and drift.flags()["oov_rate"]
    assert not calm.flags()["oov_rate"]
    assert "OOV rate" in str(drift) and "length" in drift.to_frame().index[2]


def test_drift_report_with_scores() -> None:
    reference, current = ["a b"] * 100, ["a b"] * 100
    confident = np.r_[np.full(50, 0.95), np.full(50, 0.05)]
    unsure = np.full(100, 0.6)
    report = drift_report(reference, current, reference_scores=confident, current_scores=unsure)
    assert report.mean_confidence_reference == pytest.approx(0.95)
    assert report.mean_confidence_current == pytest.approx(0.6)
    assert report.positive_rate_reference == 0.5 and report.positive_rate_current == 1.0
    flags = report.flags()
    assert flags["confidence"] and flags["positive_rate"]
    two_columns = np.c_[1 - unsure, unsure]
    same = drift_report(reference, current, reference_scores=confident, current_scores=two_columns)
    assert same.positive_rate_current == 1.0
    with pytest.raises(ConfigError, match="both"):
        drift_report(reference, current, reference_scores=confident)
    with pytest.raises(ConfigError, match="probabilities"):
        drift_report(reference, current, reference_scores=confident, current_scores=[[0.1]])
    with pytest.raises(ConfigError, match="in \\[0, 1\\]"):
        drift_report(reference, current, reference_scores=confident, current_scores=[1.5])
    with pytest.raises(ConfigError, match="at least one"):
        drift_report([], current)


# --- latency ---------------------------------------------------------------------------------
class _CountingModel:
    """Stands in for a model: counts calls and checks inference mode."""

    def __init__(self):
        import torch

        self.calls = 0
        self.in_inference = []
        self.training = True
        self.param = torch.nn.Parameter(torch.zeros(1))

    def parameters(self):
        return iter([self.param])

    def eval(self):
        self.training = False

    def train(self, mode=True):
        self.training = mode

    def __call__(self, **inputs):
        import torch

        self.calls += 1
        self.in_inference.append(torch.is_inference_mode_enabled())
        return inputs


def _fake_tokenizer(texts, **kwargs):
    import torch

    return {"input_ids": torch.ones(len(texts), 4, dtype=torch.long)}


def test_latency_excludes_warmup_and_restores_mode() -> None:
    from labkit.latency import measure_latency

    model = _CountingModel()
    result = measure_latency(model, _fake_tokenizer, ["a"] * 5, batch_size=2, repeats=3, warmup=4)
    assert result["n"] == 3 * 3  # 3 batches (2, 2, 1) x 3 repeats; warm-up calls not counted
    assert model.calls == 4 + 9 and all(model.in_inference)
    assert model.training  # put back as it was
    assert result["p50_ms"] <= result["p95_ms"] and result["per_example_ms"] >= 0
    assert set(result) >= {"p50_ms", "p95_ms", "mean_ms", "n", "batch_size", "examples"}
    for bad in ({"batch_size": 0}, {"repeats": 0}, {"warmup": -1}, {"batch_size": 1.5}):
        with pytest.raises(ConfigError):
            measure_latency(model, _fake_tokenizer, ["a"], **bad)
    with pytest.raises(ConfigError, match="non-empty"):
        measure_latency(model, _fake_tokenizer, [])


def test_latency_of_a_tiny_bert() -> None:
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from labkit.bundled import verify_bundled_model
    from labkit.latency import measure_latency

    tokenizer = AutoTokenizer.from_pretrained(str(verify_bundled_model()))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32, num_labels=2)  # fmt: skip
    model = BertForSequenceClassification(config).eval()
    result = measure_latency(model, tokenizer, SENTENCES, batch_size=1, repeats=2, warmup=1)
    assert result["n"] == 8 and result["examples"] == 4 and result["device"] == "cpu"
    assert 0 < result["p50_ms"] < 5000 and not model.training
