"""Practice 7 (beyond the benchmark): leakage, latency percentiles, merging, typos, model card."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from labkit.checks._core import (
    CheckResult,
    Mistake,
    as_array,
    as_number,
    call_learner,
    check_value,
    close,
    fail,
    normalise_word,
    require,
    show,
)


# --- leakage -----------------------------------------------------------------------------------
def leak_counts(task: Any) -> dict[str, int]:
    """The right count and the usual wrong ones, for a task's train and test texts."""
    from labkit.metrics import find_leakage

    train, test = list(task.train.texts), list(task.test.texts)
    validation = list(task.validation.texts)
    train_set, test_set = set(train), set(test)
    return {
        "exact": sum(t in train_set for t in test),
        "distinct": len(train_set & test_set),
        "train_side": sum(t in test_set for t in train),
        "with_validation": sum(t in train_set or t in set(validation) for t in test),
        "normalised": find_leakage(train, test).count,
    }


def check_leak_count(answer: object, task: Any) -> CheckResult:
    """Test examples whose text occurs, character for character, in the training split."""
    counts = leak_counts(task)
    return check_value("leaked test examples", answer, counts["exact"], rel=0, abs_tol=0.5,
                       hint="for each test text, ask whether it is in set(task.train.texts); "
                            "count the yes answers.",
                       mistakes=[
                           Mistake(counts["distinct"], "that counts DISTINCT texts (a set "
                                   "intersection); a message that occurs twice in the test set "
                                   "inflates the score twice: count test examples."),
                           Mistake(counts["train_side"], "that counts TRAINING examples that "
                                   "occur in the test set; the question is about test examples "
                                   "(the score is computed on them)."),
                           Mistake(counts["with_validation"], "that also counts copies in the "
                                   "validation split; the question asks about the training "
                                   "split."),
                           Mistake(counts["normalised"], "that includes near copies (equal "
                                   "after lower-casing and dropping punctuation); count exact "
                                   "copies here."),
                       ])  # fmt: skip


def check_inflation(answer: object, y_true: Any = None, y_pred: Any = None, leaked: Any = None,
                    *, accuracy_all: float | None = None, accuracy_clean: float | None = None,
                    accuracy_leaked: float | None = None) -> CheckResult:  # fmt: skip
    """How much the leaked copies raise the reported accuracy: all minus clean.

    ``check_inflation(inflation, y_true, y_pred, leaked)`` computes the three accuracies itself
    from the test labels, the predictions and the mask of leaked test examples (so the check
    cell shows no solution); the keyword form takes the three accuracies instead.
    """
    import numpy as np

    given = [v is not None for v in (y_true, y_pred, leaked)]
    if any(given):
        if not all(given):
            raise ValueError("pass y_true, y_pred and leaked together.")
        truth, predicted = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
        mask = np.asarray(leaked, dtype=bool).ravel()
        if not truth.size == predicted.size == mask.size:
            raise ValueError(
                f"y_true, y_pred and leaked have {truth.size}, {predicted.size} and {mask.size} "
                "entries; they must describe the same test examples."
            )
        if mask.all() or not mask.any():
            raise ValueError("leaked must mark some test examples, not none or all of them.")
        correct = predicted == truth
        accuracy_all = float(correct.mean())
        accuracy_clean = float(correct[~mask].mean())
        accuracy_leaked = float(correct[mask].mean())
    elif accuracy_all is None or accuracy_clean is None or accuracy_leaked is None:
        raise ValueError("pass y_true, y_pred and leaked (or the three accuracies).")
    expected = accuracy_all - accuracy_clean
    return check_value("inflation", answer, expected, rel=1e-6, abs_tol=1e-9, percent=True,
                       hint="accuracy on the whole test set (what you would report) minus "
                            "accuracy on the test examples that did not leak.",
                       mistakes=[
                           Mistake(-expected, "the sign is reversed: reported (whole test set) "
                                   "minus clean.", echo=False),
                           Mistake(accuracy_leaked - accuracy_clean, "that compares the leaked "
                                   "examples with the clean ones; the inflation of the REPORTED "
                                   "score compares the whole test set with its clean part."),
                       ])  # fmt: skip


# --- latency ---------------------------------------------------------------------------------------
def _percentile_range(times_ms: Any, q: float) -> tuple[float, float]:
    import numpy as np

    methods = ("linear", "lower", "higher", "nearest", "midpoint", "inverted_cdf",
               "averaged_inverted_cdf", "closest_observation", "interpolated_inverted_cdf",
               "hazen", "weibull", "median_unbiased", "normal_unbiased")  # fmt: skip
    values = [float(np.percentile(times_ms, q, method=m)) for m in methods]
    return min(values), max(values)


def check_timings(times: object, *, repeats: int) -> CheckResult:
    """``repeats`` positive durations in seconds, the warm-up call left out."""
    import numpy as np

    name = "timings"
    if times is None or times is Ellipsis:
        raise fail(name, "no answer yet: the function returns nothing (return the list of times).")
    t = as_array(name, times).ravel()
    if t.size == repeats + 1:
        raise fail(
            name,
            f"{t.size} times for {repeats} calls: leave the warm-up call out (it "
            "pays one-time costs that a served model does not pay on every request).",
        )
    if t.size != repeats:
        raise fail(name, f"{t.size} times; time each of the {repeats} calls separately.")
    if not np.all(t > 0):
        raise fail(
            name,
            "some durations are 0 or negative: end - start, with "
            "time.perf_counter() read just before and just after the call.",
        )
    if np.all(np.diff(t) > 0) and t[-1] > repeats * t[0] * 0.9:
        raise fail(name, "the times only grow: each is measured from the first start; reset "
                   "start before every call.")  # fmt: skip
    return CheckResult(name, f"{repeats} calls timed, median {np.median(t) * 1000:.1f} ms.")


def check_percentiles(p50: object, p95: object, times_s: Sequence[float]) -> CheckResult:
    """p50 and p95 of the timings, in milliseconds (any standard percentile definition)."""

    t = as_array("timings", times_s).ravel() * 1000
    if t.size < 2:
        raise fail("timings", "time the call several times (20 or more) to read percentiles.")
    for label, answer, q in (("p50 (ms)", p50, 50), ("p95 (ms)", p95, 95)):
        value = as_number(label, answer)
        low, high = _percentile_range(t, q)
        slack = 1e-6 * max(1.0, abs(high))
        if low - slack <= value <= high + slack:
            continue
        if low - slack <= value * 1000 <= high + slack:
            raise fail(label, f"{show(value)} looks like seconds; the question asks for "
                       "milliseconds (x 1000).")  # fmt: skip
        other_q = 95 if q == 50 else 50
        lo, hi = _percentile_range(t, other_q)
        if lo - slack <= value <= hi + slack:
            raise fail(label, f"{show(value)} is the p{other_q}: p50 and p95 are swapped.")
        lo, hi = _percentile_range(t, q / 100)
        if lo - slack <= value <= hi + slack:
            raise fail(
                label,
                f"{show(value)} is the {q / 100:g}th percentile: np.percentile "
                f"takes a percentage ({q}), np.quantile a fraction ({q / 100:g}).",
            )
        if close(value, float(t.mean()), 1e-6, 1e-9):
            raise fail(label, f"{show(value)} is the MEAN; a percentile is read from the sorted "
                       "timings (the mean is pulled up by a few slow calls).")  # fmt: skip
        if close(value, float(t.max()), 1e-6, 1e-9):
            raise fail(label, f"{show(value)} is the slowest call; p95 is the time that 95% of "
                       "the calls stay under.")  # fmt: skip
        raise fail(label, f"{show(value)} is not right. Hint: np.percentile(times_ms, {q}).")
    return CheckResult("latency percentiles", "p50 and p95 are right.")


def check_merged(merged: object, inputs: Mapping[str, Any], reference: Any) -> CheckResult:
    """A plain model with the adapter folded in: no LoRA layers, the adapter model's outputs."""
    import torch

    name = "merged model"
    require(name, merged)
    if hasattr(merged, "peft_config") or any("lora_" in n for n, _ in merged.named_parameters()):
        raise fail(name, "it still holds LoRA layers: merge_and_unload() RETURNS the merged "
                   "model; keep what it returns.")  # fmt: skip
    merged.eval()
    with torch.no_grad():
        logits = merged(**inputs).logits
    scale = float(reference.abs().max()) or 1.0
    # Merging changes the order of the arithmetic: on a GPU (TF32 or 16-bit kernels) that moves
    # the logits by up to about 1e-3 of their size; forgetting the adapter moves them far more.
    logits = logits.to(reference.device, reference.dtype)
    if torch.allclose(logits, reference, atol=2e-3 * scale, rtol=1e-3):
        return CheckResult(name, "no adapter layers left, and the same outputs as the adapter "
                           "model.")  # fmt: skip
    raise fail(
        name,
        "the adapter layers are gone, but the outputs changed: unload() removes the "
        "adapter WITHOUT merging it; merge_and_unload() adds B A x alpha/r into W first.",
    )


# --- robustness --------------------------------------------------------------------------------------
SAMPLE = ("The battery lasts all day and the screen is bright enough to read outside, "
          "which I did not expect at this price.")  # fmt: skip


def check_typo_function(function: Callable[..., Any]) -> CheckResult:
    """``typo(text, rate, rng)``: letter-level typos in about ``rate`` of the words.

    Deterministic for a given ``random.Random``, unchanged at rate 0, changed at rate 0.5, more
    changes at a higher rate, the same number of words give or take a few.
    """
    name = "typo(text, rate, rng)"
    require(name, function)
    if not callable(function):
        raise fail(name, "expected a function typo(text, rate, rng).")
    out = call_learner(name, function, SAMPLE, 0.5, random.Random(1))
    if out is None or out is Ellipsis:
        raise fail(name, "no answer yet: the function returns nothing (add a return).")
    if not isinstance(out, str):
        raise fail(name, f"it should return the new text (a str), got {type(out).__name__}; "
                   "join the words back with ' '.join(words).")  # fmt: skip
    if call_learner(name, function, SAMPLE, 0.0, random.Random(1)) != SAMPLE:
        raise fail(name, "at rate 0 the text must come back unchanged.")
    if out == SAMPLE:
        raise fail(name, "at rate 0.5 nothing changed: change about half of the words.")
    again = call_learner(name, function, SAMPLE, 0.5, random.Random(1))
    if again != out:
        raise fail(name, "two calls with the same seed gave different texts: draw every random "
                   "choice from the rng argument (rng.random(), rng.randrange(...)), not from "
                   "the random module itself.")  # fmt: skip
    words, new_words = SAMPLE.split(), out.split()
    if abs(len(new_words) - len(words)) > 3:
        raise fail(
            name,
            f"the text went from {len(words)} to {len(new_words)} words: a typo "
            "changes letters inside words; keep the words (and the spaces between them).",
        )
    changed = {rate: sum(a != b for a, b in zip(words, call_learner(
        name, function, SAMPLE, rate, random.Random(seed)).split(), strict=False))
        for rate, seed in ((0.1, 2), (0.9, 2))}  # fmt: skip
    if changed[0.9] <= changed[0.1]:
        raise fail(name, "rate 0.9 changed no more words than rate 0.1: let the rate decide how "
                   "many words get a typo (e.g. if rng.random() < rate).")  # fmt: skip
    return CheckResult(name, "deterministic, unchanged at rate 0, more typos at higher rates.")


def check_accuracy_drop(answer: object, *, clean: float, perturbed: float) -> CheckResult:
    """Clean accuracy minus perturbed accuracy (fractions or percentage points)."""
    expected = clean - perturbed
    return check_value("accuracy drop", answer, expected, rel=1e-6, abs_tol=1e-9, percent=True,
                       hint="accuracy on the clean texts minus accuracy on the texts with typos.",
                       mistakes=[Mistake(-expected, "the sign is reversed: clean minus with "
                                         "typos (a loss of accuracy is a positive drop).",
                                         echo=False)])  # fmt: skip


# --- the model card ------------------------------------------------------------------------------------
CARD_FIELDS = {
    "model": ("base_model", "model_name", "base"),
    "method": ("fine_tuning", "training_method", "technique"),
    "data": ("dataset", "training_data", "data_set"),
    "licence": ("license", "data_licence", "data_license"),
    "metrics": ("results", "evaluation", "scores", "test_metrics"),
    "intended_use": ("intended_uses", "use", "uses", "purpose"),
    "limitations": ("limits", "caveats", "risks", "known_limitations"),
}
METRIC_NAMES = ("accuracy", "f1", "precision", "recall")


def _card_fields(card: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in card.items():
        word = normalise_word(str(key))
        for field, synonyms in CARD_FIELDS.items():
            if word in {normalise_word(s) for s in (field, *synonyms)}:
                found[field] = value
    return found


def check_model_card(
    card: object,
    result: Any,
    *,
    report: Any = None,
    other_reports: Mapping[str, Any] | None = None,
) -> CheckResult:
    """A model card (a dict) written from a run record: the fields a reader needs, true numbers.

    The metrics must be those of ``report`` (default: the run's test report,
    ``result.report``); ``other_reports`` maps a description (e.g. "the whole, leaky test set")
    to reports whose numbers must NOT be in the card.
    """
    name = "model card"
    require(name, card)
    if not isinstance(card, Mapping):
        raise fail(
            name,
            "expected a dict of fields (model, method, data, licence, metrics, intended_use, "
            "limitations).",
        )
    fields = _card_fields(card)
    missing = [f for f in CARD_FIELDS if f not in fields]
    if missing:
        raise fail(name, f"missing field(s): {', '.join(missing)}.")
    blank = [f for f, v in fields.items() if v is None or v is Ellipsis or v == ""]
    if blank:
        raise fail(name, f"no answer yet for: {', '.join(blank)}.")
    record = result.to_dict()
    if "minilm" not in str(fields["model"]).lower():
        raise fail(
            name,
            "the model field should name the base model the run fine-tuned (the bundled "
            "all-MiniLM-L6-v2).",
        )
    method = str(record["config"].get("method", ""))
    if method and method.lower() not in str(fields["method"]).lower():
        raise fail(
            name,
            f"the method field should say how it was fine-tuned ({method!r} in the run "
            "record), ideally with the number of trained parameters.",
        )
    data = str(fields["data"]).lower().replace("_", " ")
    task = str(record["task"]).lower().replace("_", " ")
    dataset_words = [
        w for w in str(record["data"].get("dataset", "")).lower().split() if len(w) > 3
    ]
    if task not in data and not any(w in data for w in dataset_words):
        raise fail(name, "the data field should name the data set the model was trained on.")
    licence = str(record["data"].get("licence", ""))
    if licence and normalise_word(licence) not in normalise_word(str(fields["licence"])):
        raise fail(
            name,
            "the licence field should give the data's licence as the task records it "
            "(task.meta['licence']): who may reuse the model depends on it.",
        )
    metrics = fields["metrics"]
    if not isinstance(metrics, Mapping):
        raise fail(name, f"metrics should be a dict with {', '.join(METRIC_NAMES)}.")
    given = {normalise_word(str(k)): v for k, v in metrics.items()}
    truth = report if report is not None else result.report
    last = (record["history"] or [{}])[-1]
    for metric in METRIC_NAMES:
        if metric not in given:
            raise fail(name, f"metrics lacks {metric!r}.")
        value = as_number(f"{name}: {metric}", given[metric])
        true = float(getattr(truth, metric))
        if close(value, true, 1e-3, 1e-4) or close(value, 100 * true, 1e-3, 1e-2):
            continue
        for label, other in (other_reports or {}).items():
            wrong = float(getattr(other, metric))
            if close(value, wrong, 1e-3, 1e-4) or close(value, 100 * wrong, 1e-3, 1e-2):
                raise fail(name, f"{metric} {show(value)} is the number of {label}.")
        if metric in ("accuracy", "f1"):
            val = last.get(f"eval_{metric}")
            if val is not None and close(value, float(val), 1e-3, 1e-4):
                raise fail(
                    name,
                    f"{metric} {show(value)} is the VALIDATION score; a card reports the test "
                    "score.",
                )
        raise fail(name, f"{metric} {show(value)} is not the test {metric} the card should report.")
    for field in ("intended_use", "limitations"):
        if len(str(fields[field]).split()) < 6:
            raise fail(name, f"{field} is too short: a reader needs a sentence or two.")
    return CheckResult(name, "every field a reader needs, with the right numbers.")
