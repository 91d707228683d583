"""Practice 5 (evaluating a run): confusion matrix, ROC-AUC, loss, learning curves, verdicts.

Precision, recall, F1 and specificity from the counts are checked by :mod:`labkit.checks.counts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from labkit.checks._core import (
    CheckResult,
    Mistake,
    as_array,
    check_value,
    fail,
    is_missing,
    mentions,
    read_choice,
    require,
    require_reason,
)
from labkit.checks.counts import check_counts, true_counts


def check_confusion_counts(tp: object, fn: object, fp: object, tn: object, y_true: Sequence[int],
                           y_pred: Sequence[int]) -> CheckResult:  # fmt: skip
    """TP, FN, FP, TN of binary predictions (positive label 1)."""
    return check_counts(tp, fn, fp, tn, expected=true_counts(y_true, y_pred), name="counts")


def check_confusion_matrix(matrix: object, y_true: Sequence[int], y_pred: Sequence[int]):
    """The 2 x 2 matrix in scikit-learn's layout: actual in rows, predicted in columns, label order."""
    import numpy as np

    name = "confusion matrix"
    m = as_array(name, matrix)
    if m.shape != (2, 2):
        raise fail(name, f"expected a 2 x 2 matrix, got shape {m.shape}.")
    c = true_counts(y_true, y_pred)
    right = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]], dtype=float)
    if np.array_equal(m, right):
        return CheckResult(name, "actual in rows, predicted in columns: right.")
    if np.array_equal(m, right.T):
        raise fail(name, "the matrix is transposed: the ACTUAL class picks the row and the "
                   "PREDICTED class the column.")  # fmt: skip
    if np.array_equal(m, right[::-1, ::-1]):
        raise fail(
            name,
            "the classes are in reverse order; use label order (0 first), as "
            "scikit-learn's confusion_matrix does, so TP sits bottom right.",
        )
    if np.allclose(m.sum(axis=1), 1) or np.isclose(m.sum(), 1):
        raise fail(name, "these are rates; the question asks for counts of examples.")
    raise fail(name, "not right. Hint: [[TN, FP], [FN, TP]] (row = actual, column = predicted).")


def check_auc(answer: object, y_true: Sequence[int], scores: Any, y_pred: Sequence[int]):
    """ROC-AUC from the positive-class scores."""
    import numpy as np
    from sklearn.metrics import accuracy_score, roc_auc_score

    s = np.asarray(scores, dtype=float)
    auc = float(roc_auc_score(y_true, s))
    return check_value("ROC-AUC", answer, auc, rel=1e-4, percent=True,
                       hint="roc_auc_score(y_true, scores), with the positive class's scores.",
                       mistakes=[
                           Mistake(float(roc_auc_score(y_true, y_pred)), "that is the AUC of the "
                                   "hard 0/1 predictions, a curve with a single threshold. Pass "
                                   "the SCORES (probabilities), so every threshold counts."),
                           Mistake(1 - auc, "that is the AUC of the other class's scores "
                                   "(column 0); use the probability of the positive class."),
                           Mistake(float(accuracy_score(y_true, y_pred)), "that is accuracy."),
                       ])  # fmt: skip


def check_cross_entropy(answer: object, y_true: Sequence[int], probabilities: Any) -> CheckResult:
    """Mean cross-entropy -ln p(true class), natural log, from (n, 2) class probabilities."""
    import numpy as np

    p = np.asarray(probabilities, dtype=float)
    y = np.asarray(y_true, dtype=int)
    true_p = np.clip(p[np.arange(len(y)), y], 1e-12, 1)
    loss = float(-np.log(true_p).mean())
    positive = np.clip(p[:, 1], 1e-12, 1)
    predicted = np.clip(p.max(axis=1), 1e-12, 1)
    return check_value("cross-entropy", answer, loss, rel=1e-3,
                       hint="the mean over examples of -ln(probability given to the TRUE class).",
                       mistakes=[
                           Mistake(-loss, "the sign is off: ln p is negative, the loss is "
                                   "-ln p.", echo=False),
                           Mistake(float(-np.log10(true_p).mean()), "that uses log10; "
                                   "cross-entropy uses the natural log (np.log)."),
                           Mistake(float(-np.log(true_p).sum()), "that is the sum; the loss is "
                                   "the MEAN over examples."),
                           Mistake(float(-np.log(positive).mean()), "that takes the positive "
                                   "class's probability for every example; take the probability "
                                   "of each example's TRUE class."),
                           Mistake(float(-np.log(predicted).mean()), "that takes the probability "
                                   "of the PREDICTED class; the loss uses the true class, so a "
                                   "confident mistake costs a lot."),
                       ])  # fmt: skip


# --- learning curves -----------------------------------------------------------------------------
KINDS = {"overfitting": ("overfit", "overfits", "over-fitting", "over fitting", "overfitted"),
         "underfitting": ("underfit", "underfits", "under-fitting", "under fitting",
                          "underfitted"),
         "fine": ("good", "ok", "okay", "healthy", "good fit", "fits well", "neither", "none",
                  "normal")}  # fmt: skip
_WHY = {
    ("overfitting", "underfitting"): "its training loss falls well; underfitting means the "
    "training loss itself stays high. Look at what the validation loss does after its lowest "
    "point.",
    ("overfitting", "fine"): "look at the last epochs: the validation loss turns up while the "
    "training loss keeps falling.",
    ("underfitting", "overfitting"): "overfitting needs a training loss far below the validation "
    "loss; here the training loss itself barely moves.",
    ("underfitting", "fine"): "the training loss barely falls: the model has not learned the "
    "task yet.",
    ("fine", "overfitting"): "the validation loss does not turn up: it falls (or levels off) "
    "with the training loss.",
    ("fine", "underfitting"): "the training loss falls steadily, and the validation loss with it.",
}


def check_diagnoses(answer: object, histories: Mapping[str, Any]) -> CheckResult:
    """Name each history "overfitting", "underfitting" or "fine" (labkit's diagnose_history)."""
    from labkit.metrics import diagnose_history

    name = "diagnoses"
    require(name, answer)
    if not isinstance(answer, Mapping):
        raise fail(name, f"expected a dict {{run: diagnosis}} for runs {list(histories)}.")
    missing = [k for k in histories if is_missing(answer.get(k))]
    problems = []
    for key, history in histories.items():
        if key in missing:
            continue
        given = read_choice(f"{name}: {key}", answer[key], KINDS, what="diagnosis")
        expected = diagnose_history(history).kind
        if given != expected:
            problems.append(f"{key}: not {given}: {_WHY[(expected, given)]}")
    if problems:
        raise fail(name, "\n  " + "\n  ".join(problems))
    if missing:
        raise fail(name, f"no answer yet for {', '.join(map(str, missing))}.")
    return CheckResult(name, f"all {len(histories)} read right.")


# --- the verdict ---------------------------------------------------------------------------------
VERDICTS = {"good": ("ok", "fine", "keep", "ready"), "acceptable": ("borderline", "so-so"),
            "bad": ("poor", "not good", "reject", "not ready")}  # fmt: skip


def check_verdict(verdict: object, reason: object, *, baseline: Any, candidate: Any,
                  name: str = "verdict") -> CheckResult:  # fmt: skip
    """The course's rule (labkit.metrics.compare): a candidate against its full fine-tuned baseline.

    good: accuracy and F1 within 2 points; bad: a drop over 5 points, or recall collapsing below
    0.5; acceptable in between.
    """
    from labkit.metrics import compare

    given = read_choice(name, verdict, VERDICTS, what="verdict")
    text = require_reason(name, reason)
    rule = compare(baseline, candidate)
    expected = rule.verdict
    collapsed = candidate.recall < 0.5 <= baseline.recall  # compare()'s recall floor
    drop = max(-rule.differences[m]["absolute"] for m in ("accuracy", "f1"))
    if given != expected:
        if collapsed and given != "bad":
            raise fail(name, f"recall collapsed: {candidate.recall:.0%} against the baseline's "
                       f"{baseline.recall:.0%}, so the model misses most of the positives, "
                       "whatever accuracy says.")  # fmt: skip
        if expected == "bad":
            raise fail(name, f"it loses {100 * drop:.1f} points of accuracy or F1; over 5 points "
                       "is more than the savings can excuse.")  # fmt: skip
        if expected == "good":
            raise fail(name, f"the worst drop is {100 * drop:.1f} points (an improvement counts "
                       "as none), within the 2 points the rule allows for much lower memory and "
                       "time.")  # fmt: skip
        raise fail(name, f"the worst drop is {100 * drop:.1f} points: more than 2, less than 5.")
    words = {
        "bad": [r"point", r"drop", r"%", r"lose", r"loss", r"lower", r"accura", r"\bf1\b"]
        + ([r"recall", r"miss", r"positives", r"collaps"] if collapsed else []),
        "good": [r"within", r"point", r"%", r"close", r"similar", r"same", r"match", r"drop",
                 r"memory", r"better", r"beat", r"higher"],
        "acceptable": [r"point", r"%", r"drop", r"between", r"lower", r"lose"],
    }[expected]  # fmt: skip
    if not mentions(text, words):
        raise fail(name, f"'{given}' is right; the reason should name the evidence (which "
                   "metric changed, and by how much).")  # fmt: skip
    return CheckResult(name, f"{given}, for the right reason.")
