"""Worked examples from the syllabus and the error messages of labkit.metrics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from labkit.errors import MetricsError
from labkit.metrics import at_threshold as at
from labkit.metrics import (
    compare,
    diagnose_history,
    evaluate,
    find_leakage,
    from_counts,
    judge,
    roc_points,
    threshold_for,
    threshold_sweep,
)

# A small hand-checkable scoring example: 4 negatives, 4 positives.
Y = [0, 0, 0, 0, 1, 1, 1, 1]
S = [0.1, 0.3, 0.35, 0.8, 0.4, 0.6, 0.7, 0.9]


# --- syllabus worked numbers -------------------------------------------------------------


def test_worked_example_from_counts() -> None:
    report = from_counts(tp=85, fn=15, fp=10, tn=90)
    assert round(report.precision, 4) == 0.8947
    assert report.recall == pytest.approx(0.85)
    # 2 * 85 / (2 * 85 + 15 + 10) = 0.87179...: the syllabus quotes it truncated as 0.871
    assert report.f1 == pytest.approx(170 / 195)
    assert 0.871 <= report.f1 < 0.872
    assert report.accuracy == pytest.approx(0.875)
    assert report.specificity == pytest.approx(0.90)
    assert report.false_positive_rate == pytest.approx(0.10)
    assert report.n == 200
    assert report.counts == {"tp": 85, "fn": 15, "fp": 10, "tn": 90}
    assert report.is_binary and report.label_names == ["negative", "positive"]


def test_before_after_confusion_matrix_layout() -> None:
    # actual P -> 90 predicted P, 10 predicted N; actual N -> 15 predicted P, 85 predicted N
    report = from_counts(tp=90, fn=10, fp=15, tn=85)
    assert report.labels == [0, 1]
    assert report.confusion_matrix.tolist() == [[85, 15], [10, 90]]  # [[tn, fp], [fn, tp]]
    assert report.precision == pytest.approx(90 / 105)
    assert report.recall == pytest.approx(0.90)
    assert report.specificity == pytest.approx(85 / 100)
    assert report.accuracy == pytest.approx(175 / 200)
    assert report.f1 == pytest.approx(2 * 90 / (2 * 90 + 10 + 15))
    assert report.support == {0: 100, 1: 100}


def test_small_syllabus_ratios() -> None:
    assert from_counts(tp=50, fn=10, fp=10, tn=30).accuracy == pytest.approx(0.8)
    assert from_counts(tp=80, fn=0, fp=20, tn=0).precision == pytest.approx(0.8)
    assert round(from_counts(tp=70, fn=20, fp=0, tn=10).recall, 3) == 0.778


def test_always_not_fraud_is_useless() -> None:
    report = from_counts(tp=0, fn=10, fp=0, tn=990, label_names=["legit", "fraud"])
    assert report.accuracy == pytest.approx(0.99)
    assert report.recall == 0.0 and report.precision == 0.0  # zero_division -> 0
    verdict = judge(report, priority="recall", positive_name="fraud")
    assert verdict.verdict == "bad"
    assert "misses 100% of fraud" in verdict.reason


def test_98_percent_accuracy_fraud_model_is_bad() -> None:
    report = from_counts(tp=3, fn=22, fp=3, tn=1222)
    assert report.accuracy == pytest.approx(0.98)
    assert report.recall == pytest.approx(0.12)
    verdict = judge(report, priority="recall", positive_name="fraud")
    assert verdict.verdict == "bad"
    assert "misses 88% of fraud" in verdict.reason
    assert "98% accuracy is misleading" in verdict.reason
    assert "not production-ready" in verdict.reason


def test_judge_accuracy_on_imbalanced_data_warns_about_the_paradox() -> None:
    report = from_counts(tp=3, fn=22, fp=3, tn=1222)
    verdict = judge(report, priority="accuracy", positive_name="fraud")
    assert "accuracy paradox" in verdict.reason
    assert "fraud is only 2%" in verdict.reason
    balanced = judge(from_counts(tp=85, fn=15, fp=10, tn=90), priority="accuracy")
    assert "paradox" not in balanced.reason and balanced.verdict == "good"


def test_judge_levels_and_precision_wording() -> None:
    report = from_counts(tp=80, fn=20, fp=20, tn=80)  # everything 0.8
    assert judge(report, "f1", minimum=0.75).verdict == "good"
    assert judge(report, "f1", minimum=0.85).verdict == "acceptable"
    assert judge(report, "f1", minimum=0.95).verdict == "bad"
    assert judge(report, "f1", minimum=0.95, margin=0.2).verdict == "acceptable"
    reason = judge(report, "precision", minimum=0.9, positive_name="spam").reason
    assert "20% of the examples it flags as spam are false alarms" in reason


# --- evaluate -----------------------------------------------------------------------------


def test_multiclass_macro_values_by_hand() -> None:
    report = evaluate([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0], label_names=["a", "b", "c"])
    assert not report.is_binary and report.counts is None
    assert report.accuracy == pytest.approx(4 / 6)
    assert report.precision == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert report.recall == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert report.f1 == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert report.specificity == pytest.approx((0.75 + 0.75 + 1.0) / 3)
    assert report.per_class.loc["b", "f1"] == pytest.approx(0.8)
    assert list(report.per_class.columns) == ["precision", "recall", "f1", "specificity", "support"]
    assert report.confusion_matrix.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert report.macro["recall"] == pytest.approx(report.recall)


def test_multiclass_scores_give_auc_and_log_loss() -> None:
    probs = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])
    report = evaluate([0, 1, 2, 1], [0, 1, 2, 0], y_score=probs)
    assert report.roc_auc is not None and 0.5 < report.roc_auc <= 1.0
    expected = -np.mean(np.log([0.8, 0.7, 0.7, 0.3]))
    assert report.log_loss == pytest.approx(expected)


def test_binary_scores_one_and_two_columns_agree() -> None:
    pred = [int(s >= 0.5) for s in S]
    one = evaluate(Y, pred, y_score=S)
    two = evaluate(Y, pred, y_score=np.column_stack([1 - np.array(S), S]))
    assert one.roc_auc == pytest.approx(two.roc_auc)
    assert one.log_loss == pytest.approx(two.log_loss)
    # 13 of the 16 positive/negative pairs are ranked correctly (the negative 0.8 beats the
    # positives 0.4, 0.6 and 0.7)
    assert one.roc_auc == pytest.approx(13 / 16)


def test_raw_scores_give_auc_but_no_log_loss() -> None:
    report = evaluate(Y, [0, 0, 0, 1, 0, 1, 1, 1], y_score=[s * 10 - 5 for s in S])
    assert report.roc_auc == pytest.approx(13 / 16)  # ranking unchanged by the rescaling
    assert report.log_loss is None


def test_string_labels_and_positive() -> None:
    truth = ["ham", "spam", "spam", "ham"]
    report = evaluate(truth, ["ham", "spam", "ham", "ham"], positive="spam")
    assert report.recall == pytest.approx(0.5) and report.precision == pytest.approx(1.0)
    assert report.labels == ["ham", "spam"]


def test_single_class_auc_is_a_note_not_an_error() -> None:
    report = evaluate([1, 1, 1], [1, 0, 1], y_score=[0.9, 0.2, 0.8])
    assert report.roc_auc is None
    assert any("undefined" in note and "rank" in note for note in report.notes)
    assert report.labels == [0, 1]


def test_to_dict_round_trips_through_json() -> None:
    report = evaluate(Y, [int(s >= 0.5) for s in S], y_score=S, label_names=["neg", "pos"])
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["confusion_matrix"] == report.confusion_matrix.tolist()
    assert data["support"] == {"neg": 4, "pos": 4}
    nan_report = from_counts(tp=5, fn=0, fp=0, tn=0)
    assert json.loads(json.dumps(nan_report.to_dict()))["roc_auc"] is None


def test_display_forms() -> None:
    report = from_counts(tp=85, fn=15, fp=10, tn=90, label_names=["legit", "fraud"])
    text = str(report)
    assert "Accuracy" in text and "0.8750" in text and "ROC-AUC" in text and "fraud" in text
    assert "<table" in report._repr_html_() and "legit" in report._repr_html_()
    frame = report.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert frame.loc["Precision", "value"] == pytest.approx(85 / 95)


# --- thresholds ---------------------------------------------------------------------------


def test_at_threshold_by_hand() -> None:
    report = at(Y, S, 0.5)
    assert report.counts == {"tp": 3, "fn": 1, "fp": 1, "tn": 3}
    assert at(Y, S, 0.4).counts == {"tp": 4, "fn": 0, "fp": 1, "tn": 3}  # >= is positive


def test_threshold_sweep_by_hand() -> None:
    table = threshold_sweep(Y, S, thresholds=[0.5, 0.95])
    assert list(table.columns) == ["threshold", "accuracy", "precision", "recall", "f1",
                                   "specificity"]  # fmt: skip
    assert table.iloc[0][["accuracy", "precision", "recall", "specificity"]].tolist() == [
        0.75, 0.75, 0.75, 0.75]  # fmt: skip
    assert table.iloc[1][["precision", "recall", "specificity"]].tolist() == [0.0, 0.0, 1.0]
    default = threshold_sweep(Y, S)
    assert len(default) == 19 and default["threshold"].iloc[0] == pytest.approx(0.05)


def test_roc_points() -> None:
    points = roc_points(Y, S)
    assert list(points.columns) == ["fpr", "tpr", "threshold"]
    assert points["fpr"].iloc[-1] == 1.0 and points["tpr"].iloc[-1] == 1.0
    assert points["tpr"].is_monotonic_increasing


def test_threshold_for_recall_and_precision() -> None:
    choice = threshold_for(Y, S, recall=1.0)
    assert choice.threshold == pytest.approx(0.4)
    assert choice.precision == pytest.approx(0.8)
    assert (choice.false_positives, choice.false_negatives) == (1, 0)
    assert "Reaching recall 1.00 needs threshold 0.40; precision falls to 0.80" in choice.cost
    strict = threshold_for(Y, S, precision=1.0)
    assert strict.threshold == pytest.approx(0.9) and strict.recall == pytest.approx(0.25)
    assert strict.false_negatives == 3


# --- compare ------------------------------------------------------------------------------

BASE = from_counts(tp=90, fn=10, fp=10, tn=90)  # every metric 0.90


def test_compare_good() -> None:
    verdict = compare(BASE, from_counts(tp=89, fn=11, fp=10, tn=90), name="LoRA")
    assert verdict.verdict == "good"
    assert verdict.reason.startswith("LoRA keeps")
    assert verdict.differences["accuracy"]["absolute"] == pytest.approx(-0.005)
    assert set(verdict.differences) == {"accuracy", "f1", "precision", "recall", "specificity"}


def test_compare_acceptable_and_bad() -> None:
    acceptable = compare(BASE, from_counts(tp=84, fn=16, fp=10, tn=90))
    assert acceptable.verdict == "acceptable" and "3.4 points of F1" in acceptable.reason
    bad = compare(BASE, from_counts(tp=75, fn=25, fp=10, tn=90))
    # F1 = 150 / 185 = 0.811 is the larger drop (accuracy falls to 0.825)
    assert bad.verdict == "bad" and "8.9 points of F1" in bad.reason
    assert "0.811 vs 0.900" in bad.reason


def test_exactly_five_points_is_not_bad() -> None:
    base = from_counts(tp=92, fn=8, fp=8, tn=92)
    assert compare(base, from_counts(tp=87, fn=13, fp=13, tn=87)).verdict == "acceptable"


def test_compare_recall_collapse() -> None:
    base = from_counts(tp=6, fn=4, fp=0, tn=990)
    candidate = from_counts(tp=4, fn=6, fp=0, tn=990)
    verdict = compare(base, candidate, metrics=("accuracy",))
    assert verdict.verdict == "bad" and "Recall collapsed" in verdict.reason
    assert compare(base, candidate, metrics=("accuracy",), recall_floor=0.3).verdict == "good"


def test_improvement_is_good() -> None:
    verdict = compare(BASE, from_counts(tp=95, fn=5, fp=5, tn=95))
    assert verdict.verdict == "good" and "beats" in verdict.reason
    assert verdict.differences["f1"]["relative"] == pytest.approx(0.05 / 0.9)


def test_compare_custom_thresholds() -> None:
    candidate = from_counts(tp=84, fn=16, fp=10, tn=90)
    assert compare(BASE, candidate, bad_drop=0.03).verdict == "bad"
    assert compare(BASE, candidate, good_within=0.04).verdict == "good"
    verdict = compare(BASE, candidate, metrics=("precision",))
    assert verdict.verdict == "good"
    assert "VERDICT" not in str(verdict) and "<table" in verdict._repr_html_()


# --- leakage ------------------------------------------------------------------------------


def test_leakage_exact_and_near() -> None:
    train = ["Great movie!", "terrible plot", "It was OK"]
    test = ["Great movie!", "great   MOVIE", "TERRIBLE plot.", "a new review"]
    report = find_leakage(train, test)
    assert (report.exact_count, report.near_count, report.count) == (1, 2, 3)
    assert report.fraction == pytest.approx(0.75) and report.has_leakage
    assert ("great   MOVIE", "Great movie!", "near") in report.examples
    assert "3 of 4" in str(report)
    assert find_leakage(train, test, near=False).count == 1
    assert len(find_leakage(train, test, max_examples=1).examples) == 1


def test_no_leakage() -> None:
    report = find_leakage(["one", "two"], ["three", "!!!"])
    assert not report.has_leakage and report.fraction == 0.0
    assert "No leakage" in str(report)


def test_leakage_is_fast_for_ten_thousand() -> None:
    train = [f"review number {i} was fine" for i in range(10_000)]
    test = [f"Review number {i} was fine!" for i in range(5_000, 15_000)]
    report = find_leakage(train, test)
    assert report.near_count == 5_000 and report.exact_count == 0


# --- diagnose_history ---------------------------------------------------------------------


def _history(train: list[float], evals: list[float], **extra: list[float]) -> list[dict]:
    rows = [{"epoch": i + 1, "train_loss": t, "eval_loss": e} for i, (t, e) in
            enumerate(zip(train, evals, strict=True))]  # fmt: skip
    for key, values in extra.items():
        for row, value in zip(rows, values, strict=True):
            row[key] = value
    return rows


def test_overfitting_history() -> None:
    diagnosis = diagnose_history(_history([0.6, 0.4, 0.25, 0.15, 0.08],
                                          [0.55, 0.45, 0.43, 0.5, 0.6]))  # fmt: skip
    assert diagnosis.kind == "overfitting" and diagnosis.best_epoch == 3
    assert "0.430" in diagnosis.evidence and "0.600" in diagnosis.evidence


def test_underfitting_history() -> None:
    diagnosis = diagnose_history(_history([0.69, 0.68, 0.67], [0.69, 0.69, 0.68]))
    assert diagnosis.kind == "underfitting" and "0.690 -> 0.670" in diagnosis.evidence
    low_accuracy = _history([0.6, 0.35, 0.25], [0.5, 0.38, 0.34], eval_accuracy=[0.4, 0.5, 0.55])
    assert diagnose_history(low_accuracy).kind == "underfitting"


def test_fine_history_from_a_dataframe() -> None:
    frame = pd.DataFrame(_history([0.6, 0.35, 0.25], [0.5, 0.38, 0.34]))
    diagnosis = diagnose_history(frame)
    assert diagnosis.kind == "fine" and diagnosis.best_epoch == 3
    assert "FINE" in str(diagnosis)


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: evaluate([0, 1, 1], [0, 1]), r"y_true has 3 entries but y_pred has 2"),
        (lambda: evaluate([], []), r"y_true is empty"),
        (lambda: evaluate([0, 1, 2], [0, 1, 1], labels=[0, 1]), r"y_true contains \[2\].*labels"),
        (lambda: evaluate([0, 1], [0, 5], labels=[0, 1]), r"y_pred contains \[5\]"),
        (
            lambda: evaluate([0, 1, 2], [0, 1, 2], y_score=[[0.5, 0.5, 0.5]] * 3),
            r"must sum to 1 per row.*softmax",
        ),  # fmt: skip
        (lambda: evaluate(["ham", "spam"], ["ham", "spam"]), r"positive=1 is not one of"),
        (
            lambda: evaluate([0, 1, 1], [0, 1, 1], y_score=[0.1, 0.9]),
            r"y_score has 2 rows but y_true has 3",
        ),  # fmt: skip
        (lambda: evaluate([0, 1], [0, 1], y_score=[0.1, float("nan")]), r"NaN"),
        (lambda: evaluate([0, 1, 2], [0, 1, 2], y_score=[0.1, 0.2, 0.3]), r"shape \(n, 3\)"),
        (lambda: evaluate([0, 1], ["0", "1"]), r"mix integer and string"),
        (lambda: evaluate([0.5, 1], [0, 1]), r"not a class label"),
        (lambda: evaluate([0, 1], [0, 1], label_names=["a"]), r"1 names but there are 2"),
        (lambda: evaluate([0, 1], [0, 1], label_names=["a", "a"]), r"repeats a name"),
        (lambda: from_counts(tp=-1, fn=2, fp=3, tn=4), r"tp=-1 is negative"),
        (lambda: from_counts(0, 0, 0, 0), r"All four counts are 0"),
        (lambda: roc_points([1, 1, 1], [0.2, 0.5, 0.9]), r"undefined.*only positives.*ranks"),
        (lambda: threshold_for(Y, S), r"exactly one target"),
        (lambda: threshold_for(Y, S, recall=0.9, precision=0.9), r"exactly one target"),
        (
            lambda: threshold_for([0, 1], [0.9, 0.1], precision=0.9),
            r"best reachable precision on this data is 0\.500",
        ),  # fmt: skip
        (lambda: threshold_sweep([0, 1, 2], [0.1, 0.2, 0.3]), r"binary tasks"),
        (lambda: judge(BASE, priority="auc"), r"recall.*precision.*f1.*accuracy"),
        (lambda: compare(BASE, BASE, good_within=0.1, bad_drop=0.05), r"good_within <= bad_drop"),
        (lambda: compare(BASE, BASE, metrics=("roc_auc",)), r"Cannot compare \['roc_auc'\]"),
        (lambda: diagnose_history([{"epoch": 1, "train_loss": 1.0}] * 2), r"lacks \['eval_loss'\]"),
        (lambda: diagnose_history(_history([0.5], [0.5])), r"at least 2 epochs"),
        (lambda: diagnose_history(_history([0.5, float("nan")], [0.5, 0.4])), r"diverged"),
        (lambda: find_leakage(["a"], ["a", None]), r"test_texts\[1\] is None"),
        (lambda: find_leakage("abc", ["a"]), r"list of strings"),
    ],
)
def test_errors_name_the_problem(call, message) -> None:
    with pytest.raises(MetricsError, match=message):
        call()


def test_metrics_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        evaluate([0], [0, 1])
