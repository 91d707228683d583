"""Practice 6 (metrics by hand), also used by practice 5: metrics from the four counts,
the base-rate paradox, choosing a metric from the cost of each error, thresholds from costs."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from labkit.checks._core import (
    CheckResult,
    Mistake,
    as_number,
    call_learner,
    check_value,
    close,
    fail,
    mentions,
    read_choice,
    require,
    require_reason,
    show,
)

TOLERANCE = 1e-4  # relative: F1 (0.8718) and the arithmetic mean of P and R (0.8724) differ by 7e-4


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def rates(tp: int, fn: int, fp: int, tn: int) -> dict[str, float]:
    """Every rate the checks compare with: the right ones and the usual confusions."""
    n = tp + fn + fp + tn
    p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {
        "accuracy": _ratio(tp + tn, n),
        "precision": p,
        "recall": r,
        "specificity": _ratio(tn, tn + fp),
        "f1": _ratio(2 * p * r, p + r),
        "npv": _ratio(tn, tn + fn),
        "fpr": _ratio(fp, fp + tn),
        "miss_rate": _ratio(fn, tp + fn),
        "false_discovery": _ratio(fp, tp + fp),
        "arithmetic_mean": (p + r) / 2,
        "geometric_mean": math.sqrt(p * r),
        "product": p * r,
        "tp_share": _ratio(tp, n),
        "tp_over_tp_tn": _ratio(tp, tp + tn),
        "error_rate": _ratio(fn + fp, n),
    }


def true_counts(y_true: Sequence[Any], y_pred: Sequence[Any], positive: Any = 1) -> dict[str, int]:
    """The four counts of binary labels (for checks that take tp=, fn=, fp=, tn=)."""
    import numpy as np

    truth = np.asarray(y_true) == positive
    pred = np.asarray(y_pred) == positive
    return {
        "tp": int((truth & pred).sum()),
        "fn": int((truth & ~pred).sum()),
        "fp": int((~truth & pred).sum()),
        "tn": int((~truth & ~pred).sum()),
    }


def _metric(name: str, answer: object, key: str, counts: dict[str, int], hint: str,
            mistakes: dict[str, str]) -> CheckResult:  # fmt: skip
    values = rates(**counts)
    return check_value(
        name, answer, values[key], hint=hint, rel=TOLERANCE, percent=True,
        mistakes=[Mistake(values[k], text) for k, text in mistakes.items()],
    )  # fmt: skip


def check_accuracy(answer: object, *, tp: int, fn: int, fp: int, tn: int,
                   name: str = "accuracy") -> CheckResult:  # fmt: skip
    """Accuracy = (TP + TN) / all."""
    return _metric(name, answer, "accuracy", {"tp": tp, "fn": fn, "fp": fp, "tn": tn},
                   "the share of ALL examples the model labels correctly.", {
        "tp_share": "that counts only the true positives; the true negatives are correct "
                    "answers too.",
        "error_rate": "that is the error rate, the share of wrong answers (1 - accuracy).",
        "precision": "that is precision, TP / (TP + FP); accuracy divides by all examples.",
        "recall": "that is recall, TP / (TP + FN); accuracy divides by all examples.",
    })  # fmt: skip


def check_precision(answer: object, *, tp: int, fn: int, fp: int, tn: int,
                    name: str = "precision") -> CheckResult:  # fmt: skip
    """Precision = TP / (TP + FP)."""
    return _metric(name, answer, "precision", {"tp": tp, "fn": fn, "fp": fp, "tn": tn},
                   "of everything the model flagged as positive, what share really is?", {
        "recall": "that is recall, TP / (TP + FN): precision and recall are swapped. Precision "
                  "divides by everything the model PREDICTED positive (TP + FP).",
        "tp_over_tp_tn": "TP / (TP + TN) mixes the two kinds of correct answers; precision's "
                         "denominator is the predicted positives, TP + FP.",
        "accuracy": "that is accuracy; precision looks only at the examples predicted positive.",
        "specificity": "that is specificity, TN / (TN + FP), a rate of the actual negatives.",
        "npv": "TN / (TN + FN) is the precision of the NEGATIVE class (its predicted "
               "negatives); precision here is about the predicted positives.",
        "false_discovery": "that is the share of false alarms among the predicted positives, "
                           "FP / (TP + FP) = 1 - precision.",
        "fpr": "that is the false-positive rate FP / (FP + TN), a rate of the actual negatives.",
    })  # fmt: skip


def check_recall(answer: object, *, tp: int, fn: int, fp: int, tn: int,
                 name: str = "recall") -> CheckResult:  # fmt: skip
    """Recall (sensitivity, TPR) = TP / (TP + FN)."""
    return _metric(name, answer, "recall", {"tp": tp, "fn": fn, "fp": fp, "tn": tn},
                   "of all ACTUAL positives, what share did the model find?", {
        "precision": "that is precision, TP / (TP + FP): precision and recall are swapped. "
                     "Recall divides by the ACTUAL positives (TP + FN).",
        "specificity": "that is specificity, the recall of the NEGATIVE class; recall here is "
                       "about the actual positives.",
        "miss_rate": "that is the miss rate FN / (TP + FN), the share of positives the model "
                     "missed (1 - recall).",
        "accuracy": "that is accuracy; recall looks only at the actual positives.",
        "tp_over_tp_tn": "TP / (TP + TN) mixes the two kinds of correct answers; recall's "
                         "denominator is the actual positives, TP + FN.",
        "tp_share": "that divides by all examples; recall divides by the actual positives.",
    })  # fmt: skip


def check_f1(answer: object, *, tp: int, fn: int, fp: int, tn: int,
             name: str = "F1") -> CheckResult:  # fmt: skip
    """F1 = 2PR / (P + R), the harmonic mean of precision and recall."""
    return _metric(name, answer, "f1", {"tp": tp, "fn": fn, "fp": fp, "tn": tn},
                   "the harmonic mean of precision P and recall R: 2PR / (P + R).", {
        "arithmetic_mean": "that is the arithmetic mean (P + R) / 2. F1 is the HARMONIC mean, "
                           "2PR / (P + R), which a low value pulls down much harder.",
        "geometric_mean": "that is the geometric mean sqrt(P R); F1 is the harmonic mean.",
        "product": "that is P x R; F1 = 2PR / (P + R).",
        "accuracy": "that is accuracy; F1 combines precision and recall.",
        "precision": "that is precision alone; F1 combines precision and recall.",
        "recall": "that is recall alone; F1 combines precision and recall.",
    })  # fmt: skip


def check_specificity(answer: object, *, tp: int, fn: int, fp: int, tn: int,
                      name: str = "specificity") -> CheckResult:  # fmt: skip
    """Specificity (TNR) = TN / (TN + FP)."""
    return _metric(name, answer, "specificity", {"tp": tp, "fn": fn, "fp": fp, "tn": tn},
                   "of all ACTUAL negatives, what share did the model leave alone "
                   "(predict negative)?", {
        "miss_rate": "that is 1 - recall, the miss rate FN / (TP + FN): a rate of the actual "
                     "POSITIVES. Specificity is not 'the opposite of recall': it is the same "
                     "question asked about the actual negatives.",
        "fpr": "that is the false-positive rate FP / (FP + TN), which is 1 - specificity.",
        "npv": "TN / (TN + FN) divides by the PREDICTED negatives; specificity divides by the "
               "ACTUAL negatives (TN + FP).",
        "recall": "that is recall, the rate of the actual positives; specificity is the rate "
                  "of the actual negatives.",
        "accuracy": "that is accuracy; specificity looks only at the actual negatives.",
    })  # fmt: skip


# --- reading counts --------------------------------------------------------------------------
def check_counts(tp: object, fn: object, fp: object, tn: object, *,
                 expected: Mapping[str, int], name: str = "counts") -> CheckResult:  # fmt: skip
    """The four counts read off a confusion matrix (``expected``: tp, fn, fp, tn)."""
    given = {}
    for key, value in (("tp", tp), ("fn", fn), ("fp", fp), ("tn", tn)):
        given[key] = as_number(f"{name}: {key.upper()}", value)
    want = {k: float(v) for k, v in expected.items()}
    if given == want:
        return CheckResult(name, "TP, FN, FP and TN are right.")
    swapped = dict(given, fn=given["fp"], fp=given["fn"])
    if swapped == want:
        raise fail(
            name,
            "FN and FP are swapped. A false NEGATIVE is an actual positive the "
            "model called negative (actual-positive row, predicted-negative column).",
        )
    flipped = {"tp": given["tn"], "tn": given["tp"], "fn": given["fp"], "fp": given["fn"]}
    if flipped == want:
        raise fail(name, "you read the matrix with the classes swapped: the positive class is "
                   "the one the model is meant to detect.")  # fmt: skip
    if sum(given.values()) != sum(want.values()):
        raise fail(
            name,
            f"your four counts add up to {show(sum(given.values()))}, not to the "
            "number of examples: every example falls in exactly one cell.",
        )
    wrong = [k.upper() for k in given if given[k] != want[k]]
    raise fail(
        name,
        f"{', '.join(wrong)} not right. Hint: rows are the actual classes, columns "
        "the predicted ones; T/F says whether the prediction was right, P/N what it was.",
    )


# --- the base-rate paradox -------------------------------------------------------------------
def check_base_rate_accuracy(answer: object, *, positives: int, total: int,
                             name: str = "accuracy of 'always negative'") -> CheckResult:  # fmt: skip
    """Accuracy of the model that always predicts the negative (majority) class."""
    share = positives / total
    return check_value(name, answer, 1 - share, rel=TOLERANCE, percent=True,
                       hint="it is right on every actual negative and wrong on every positive.",
                       mistakes=[Mistake(share, "that is the share of POSITIVES; the 'always "
                                         "negative' model is right on all the negatives.")])  # fmt: skip


def check_base_rate_recall(answer: object, *, name: str = "recall of 'always negative'"):
    """Recall of the model that never predicts the positive class: 0."""
    value = as_number(name, answer)
    if close(value, 0.0, 0, 1e-12):
        return CheckResult(name, f"{show(value)} is right.")
    if value >= 0.9:
        raise fail(name, f"{show(value)} is not right: recall asks how many of the actual "
                   "positives the model finds, and this model never predicts positive. Its "
                   "high ACCURACY comes from the negatives alone.")  # fmt: skip
    raise fail(name, f"{show(value)} is not right. Hint: count the true positives of a model "
               "that never predicts the positive class.")  # fmt: skip


_RECALL_WORDS = [r"recall", r"miss", r"false negative", r"\bfns?\b", r"catch", r"caught",
                 r"\bfind", r"\bfound", r"detect", r"\b88\b", r"\b12 ?%"]  # fmt: skip
READY = {"yes": ("true", "ready", "production-ready", "go"),
         "no": ("false", "not ready", "not production-ready", "no go", "nogo")}  # fmt: skip


def _yes_no(name: str, answer: object) -> bool:
    require(name, answer)
    if isinstance(answer, bool):
        return answer
    return read_choice(name, answer, READY, what="answer") == "yes"


def check_production_ready(ready: object, reason: object, *, accuracy: float, recall: float,
                           minimum: float = 0.85, name: str = "production-ready?") -> CheckResult:  # fmt: skip
    """A model is ready only if it finds the positives: recall at least ``minimum``."""
    answer = _yes_no(name, ready)
    text = require_reason(name, reason)
    expected = recall >= minimum
    if answer and not expected:
        raise fail(name, f"not so fast: recall {recall:.0%} means the model misses "
                   f"{1 - recall:.0%} of the positives it exists to catch. Its {accuracy:.0%} "
                   "accuracy comes from the large negative class: a model that never predicts "
                   "positive would score about as high.")  # fmt: skip
    if not answer and expected:
        raise fail(name, f"recall {recall:.0%} is above the {minimum:.0%} target: why hold it "
                   "back?")  # fmt: skip
    if not mentions(text, _RECALL_WORDS):
        raise fail(name, "the verdict is right, but the reason should say what matters here: "
                   "how many of the positives the model misses (recall).")  # fmt: skip
    return CheckResult(name, "right, and for the right reason.")


# --- choosing a metric from the cost of errors ---------------------------------------------
METRICS = {
    "accuracy": ("acc",),
    "precision": ("ppv", "positive predictive value"),
    "recall": ("sensitivity", "tpr", "true positive rate", "hit rate"),
    "specificity": ("tnr", "true negative rate", "selectivity"),
    "f1": ("f1 score", "f1-score", "f score", "f-measure", "f measure", "f1score"),
    "roc_auc": ("auc", "roc auc", "roc-auc", "auroc", "area under the roc curve"),
}
_MISS = [r"miss", r"false negative", r"\bfns?\b", r"undetect", r"not (?:caught|found|flagged|"
         r"detected)", r"overlook", r"slip", r"stay", r"goes? (?:un|through)"]  # fmt: skip
_ALARM = [r"false (?:alarm|positive)", r"\bfps?\b", r"block", r"legitimate", r"innocent",
          r"honest", r"wrongly", r"by mistake", r"deleted?", r"\blost\b", r"real (?:mail|message)",
          r"never see"]  # fmt: skip
_EQUAL = [r"balanced", r"equal", r"same", r"both", r"50", r"half", r"alike", r"symmetr"]
_AUC = ("ROC-AUC summarises every threshold at once; a deployed model runs at one threshold, "
        "and the question is which error that threshold must avoid.")  # fmt: skip
SCENARIOS: dict[str, dict[str, Any]] = {
    "cancer_screening": {
        "correct": {"recall"},
        "keywords": _MISS,
        "keyword_hint": "say what a missed cancer (a false negative) costs, compared with a "
        "false alarm that only leads to a follow-up test.",
        "wrong": {
            "accuracy": "accuracy counts a missed cancer exactly like a false alarm, and with "
            "few cancers among the screened, a model that finds none still scores "
            "high.",
            "precision": "precision ignores the cancers the model misses (false negatives), "
            "the costly error here; a false alarm only costs a follow-up test.",
            "specificity": "specificity measures how the healthy are treated (false alarms), "
            "not how many cancers are found.",
            "f1": "F1 weighs a miss and a false alarm alike; here a miss costs far more than a "
            "follow-up test.",
            "roc_auc": _AUC,
        },
    },
    "card_blocking": {
        "correct": {"precision", "specificity"},
        "keywords": _ALARM,
        "keyword_hint": "say what a false alarm (an honest customer whose card is blocked) "
        "costs here.",
        "wrong": {
            "recall": "recall counts the frauds caught but ignores the honest customers blocked "
            "by mistake, which is the costly error in this scenario (missed fraud is "
            "refunded cheaply).",
            "accuracy": "with fraud rare, accuracy is dominated by the legitimate majority and "
            "hides how many of the flagged customers were honest.",
            "f1": "F1 gives a missed fraud the same weight as a wrongly blocked customer; here "
            "the blocked customers are the costly error.",
            "roc_auc": _AUC,
        },
    },
    "fraud_refunds": {
        "correct": {"recall"},
        "keywords": _MISS,
        "keyword_hint": "say what a missed fraud (a false negative) costs here, compared with "
        "a cheap confirmation text.",
        "wrong": {
            "precision": "precision ignores the frauds that slip through (false negatives), "
            "the costly error here; a false alarm costs one text message.",
            "specificity": "specificity is about the legitimate transactions (false alarms), "
            "which are cheap here; the costly error is a missed fraud.",
            "accuracy": "with fraud rare, a model that never flags anything has high accuracy "
            "and pays for every fraud.",
            "f1": "F1 weighs a missed fraud like a false alarm; here a miss costs the bank the "
            "whole amount and an alarm one text message.",
            "roc_auc": _AUC,
        },
    },
    "spam_filter": {
        "correct": {"precision", "specificity"},
        "keywords": _ALARM,
        "keyword_hint": "say what a false positive costs: a real message deleted unseen.",
        "wrong": {
            "recall": "recall rewards catching every spam even if real messages are deleted "
            "with it; here a lost real message is the costly error.",
            "accuracy": "accuracy counts a deleted real message like a spam left in the inbox; "
            "they do not cost the same here.",
            "f1": "F1 weighs a spam in the inbox like a real message deleted; the second costs "
            "far more here.",
            "roc_auc": _AUC,
        },
    },
    "content_moderation": {
        "correct": {"recall"},
        "keywords": _MISS,
        "keyword_hint": "say what a harmful post that is not flagged (a false negative) costs, "
        "compared with a minute of a reviewer's time.",
        "wrong": {
            "precision": "precision ignores the harmful posts the filter lets through; here "
            "every flagged post is checked by a person anyway, so false alarms "
            "are cheap.",
            "specificity": "specificity is about harmless posts (false alarms), which the human "
            "reviewers catch anyway; the costly error is a harmful post missed.",
            "accuracy": "harmful posts are rare, so a filter that flags nothing has high "
            "accuracy and lets every one of them through.",
            "f1": "F1 weighs a missed harmful post like a false alarm that a reviewer clears "
            "in a minute.",
            "roc_auc": _AUC,
        },
    },
    "balanced_reviews": {
        "correct": {"accuracy", "f1"},
        "keywords": _EQUAL,
        "keyword_hint": "say why one number for both classes is fine here: the classes are "
        "balanced and both errors cost the same.",
        "wrong": {
            "recall": "recall looks at the actual positives only; here both errors cost the "
            "same and the classes are balanced, so one overall number fits.",
            "precision": "precision looks at the predicted positives only; here both errors "
            "cost the same and the classes are balanced.",
            "specificity": "specificity looks at the actual negatives only; here both errors "
            "cost the same.",
            "roc_auc": _AUC,
        },
    },
}


def check_metric_choices(choices: object) -> CheckResult:
    """``choices`` maps each scenario of ``SCENARIOS`` to ``(metric, reason)``."""
    name = "metric choices"
    require(name, choices)
    if not isinstance(choices, Mapping):
        raise fail(name, "expected a dict: scenario -> (metric, reason).")
    missing = [s for s in SCENARIOS if is_unanswered(choices.get(s))]
    unknown = [s for s in choices if s not in SCENARIOS]
    if unknown:
        raise fail(name, f"unknown scenario {unknown[0]!r}; the scenarios are {list(SCENARIOS)}.")
    problems = []
    for scenario, spec in SCENARIOS.items():
        if scenario in missing:
            continue
        entry = choices[scenario]
        if not isinstance(entry, (tuple, list)) or len(entry) != 2:
            problems.append(f"{scenario}: give a pair (metric, reason).")
            continue
        metric = read_choice(f"{name}: {scenario}", entry[0], METRICS, what="metric")
        reason = require_reason(f"{name}: {scenario}", entry[1])
        if metric not in spec["correct"]:
            problems.append(f"{scenario}: not {metric}: {spec['wrong'][metric]}")
        elif not mentions(reason, spec["keywords"]):
            problems.append(
                f"{scenario}: {metric} fits, but the reason should {spec['keyword_hint']}"
            )
    if problems:
        raise fail(name, "\n  " + "\n  ".join(problems))
    if missing:
        raise fail(name, f"no answer yet for {', '.join(missing)}.")
    return CheckResult(name, f"all {len(SCENARIOS)} choices fit the cost of their errors.")


def is_unanswered(entry: object) -> bool:
    from labkit.checks._core import is_missing

    return is_missing(entry) or (
        isinstance(entry, (tuple, list)) and any(is_missing(e) for e in entry)
    )


# --- thresholds from costs -------------------------------------------------------------------
def _cost(y: Any, s: Any, t: float, cost_fn: float, cost_fp: float) -> float:
    predicted = s >= t
    fn = int((y & ~predicted).sum())
    fp = int((~y & predicted).sum())
    return cost_fn * fn + cost_fp * fp


def _labels_scores(y_true: Any, scores: Any) -> tuple[Any, Any]:
    import numpy as np

    return np.asarray(y_true).astype(bool), np.asarray(scores, dtype=float)


def check_cost_function(function: Callable[[float], float], y_true: Sequence[int], scores: Any,
                        *, cost_fn: float, cost_fp: float) -> CheckResult:  # fmt: skip
    """``function(threshold)`` must return the total cost of the errors at that threshold."""
    import numpy as np

    name = "cost(threshold)"
    require(name, function)
    if not callable(function):
        raise fail(name, "expected a function of the threshold (def cost(threshold): ...).")
    y, s = _labels_scores(y_true, scores)
    grid = [0.1, 0.3, 0.5, 0.7, 0.9]
    given = []
    for t in grid:
        value = call_learner(name, function, t)
        if value is None or value is Ellipsis:
            raise fail(name, "no answer yet: the function returns nothing (add a return).")
        given.append(as_number(f"{name} at {t}", value))
    given_a = np.asarray(given)

    def same(values: list[float]) -> bool:
        return bool(np.allclose(given_a, values, rtol=1e-9, atol=1e-9))

    expected = [_cost(y, s, t, cost_fn, cost_fp) for t in grid]
    strict = [cost_fn * int((y & ~(s > t)).sum()) + cost_fp * int((~y & (s > t)).sum())
              for t in grid]  # fmt: skip
    if same(expected) or same(strict):
        return CheckResult(name, "right at every threshold tried.")
    n = len(y)
    candidates = {
        "the two costs are swapped: a missed positive (FN) costs cost_fn, a false alarm (FP) "
        "cost_fp.": [_cost(y, s, t, cost_fp, cost_fn) for t in grid],
        "that counts the errors without their costs: multiply FN by cost_fn and FP by "
        "cost_fp.": [_cost(y, s, t, 1, 1) for t in grid],
        "that is the cost per example; the question asks for the total cost.":
            [e / n for e in expected],
        "only the false negatives are counted; the false alarms cost something too.":
            [_cost(y, s, t, cost_fn, 0) for t in grid],
        "only the false alarms are counted; the missed positives cost something too.":
            [_cost(y, s, t, 0, cost_fp) for t in grid],
        "the predictions are inverted: a score at or above the threshold means positive.":
            [_cost(y, -s, -t, cost_fn, cost_fp) for t in grid],
    }  # fmt: skip
    for hint, values in candidates.items():
        if same(values):
            raise fail(name, hint)
    raise fail(
        name,
        "wrong at some thresholds. Hint: predict positive where score >= "
        "threshold, count FN and FP, and add cost_fn x FN + cost_fp x FP.",
    )


def check_threshold_choice(threshold: object, y_true: Sequence[int], scores: Any, *,
                           cost_fn: float, cost_fp: float, thresholds: Sequence[float]) -> CheckResult:  # fmt: skip
    """The threshold of ``thresholds`` with the lowest total cost (any of them on a tie)."""
    import numpy as np

    name = "cheapest threshold"
    value = as_number(name, threshold)
    grid = [float(t) for t in thresholds]
    if not any(close(value, t, 0, 1e-9) for t in grid):
        raise fail(name, f"{show(value)} is not one of the thresholds tried; pick from that list.")
    y, s = _labels_scores(y_true, scores)
    costs = np.asarray([_cost(y, s, t, cost_fn, cost_fp) for t in grid])
    mine = costs[[close(value, t, 0, 1e-9) for t in grid].index(True)]
    if mine == costs.min():
        return CheckResult(name, f"{show(value)} is right: no threshold tried costs less.")
    swapped = [_cost(y, s, t, cost_fp, cost_fn) for t in grid]
    accuracy = [float(((s >= t) == y).mean()) for t in grid]
    index = [close(value, t, 0, 1e-9) for t in grid].index(True)
    if swapped[index] == min(swapped):
        raise fail(name, f"{show(value)} would be the cheapest if false alarms cost what a miss "
                   "costs: the two costs are swapped.")  # fmt: skip
    if mine == costs.max():
        raise fail(name, f"{show(value)} is the MOST expensive threshold: pick the lowest cost.")
    if accuracy[index] == max(accuracy):
        raise fail(name, f"{show(value)} gives the best accuracy, which treats a miss and a "
                   "false alarm alike; weigh each error by its cost.")  # fmt: skip
    if close(value, 0.5, 0, 1e-9):
        raise fail(name, "0.5 is the default threshold, not the cheapest one: compute the cost "
                   "at each threshold and take the lowest.")  # fmt: skip
    raise fail(
        name,
        f"{show(value)} is not the cheapest. Hint: compute cost(t) for every "
        "threshold and take the one with the lowest total.",
    )
