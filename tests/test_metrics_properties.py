"""Property tests: evaluate() agrees with scikit-learn, and bad input only raises MetricsError."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

from labkit.errors import MetricsError
from labkit.metrics import (
    evaluate,
    find_leakage,
    from_counts,
    judge,
    threshold_for,
    threshold_sweep,
)

FAST = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def binary_case(draw: st.DrawFn) -> tuple[list[int], list[int], list[float]]:
    n = draw(st.integers(2, 40))
    truth = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    pred = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    scores = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    return truth, pred, scores


@st.composite
def multiclass_case(draw: st.DrawFn) -> tuple[list[int], list[int], np.ndarray, int]:
    k = draw(st.integers(3, 5))
    n = draw(st.integers(k, 40))
    truth = draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    pred = draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    raw = draw(st.lists(st.floats(0.01, 1), min_size=n * k, max_size=n * k))
    probs = np.asarray(raw).reshape(n, k)
    return truth, pred, probs / probs.sum(axis=1, keepdims=True), k


@FAST
@given(binary_case())
def test_binary_agrees_with_sklearn(case) -> None:
    truth, pred, scores = case
    report = evaluate(truth, pred, y_score=scores, labels=[0, 1])
    p, r, f, _ = precision_recall_fscore_support(truth, pred, average="binary", zero_division=0)
    assert report.accuracy == pytest.approx(accuracy_score(truth, pred))
    assert (report.precision, report.recall, report.f1) == pytest.approx((p, r, f))
    matrix = confusion_matrix(truth, pred, labels=[0, 1])
    assert np.array_equal(report.confusion_matrix, matrix)
    tn, fp = matrix[0]
    assert report.specificity == pytest.approx(tn / (tn + fp) if tn + fp else 0.0)
    if len(set(truth)) == 2:
        assert report.roc_auc == pytest.approx(roc_auc_score(truth, scores))
    else:
        assert report.roc_auc is None and report.notes


@FAST
@given(multiclass_case())
def test_multiclass_agrees_with_sklearn(case) -> None:
    truth, pred, probs, k = case
    labels = list(range(k))
    report = evaluate(truth, pred, y_score=probs, labels=labels)
    p, r, f, _ = precision_recall_fscore_support(
        truth, pred, labels=labels, average="macro", zero_division=0
    )
    assert report.accuracy == pytest.approx(accuracy_score(truth, pred))
    assert (report.precision, report.recall, report.f1) == pytest.approx((p, r, f))
    assert np.array_equal(report.confusion_matrix, confusion_matrix(truth, pred, labels=labels))
    assert sum(report.support.values()) == len(truth)
    if len(set(truth)) == k:
        expected = roc_auc_score(truth, probs, multi_class="ovr", average="macro", labels=labels)
        assert report.roc_auc == pytest.approx(expected)
    else:
        assert report.roc_auc is None


@FAST
@given(st.one_of(binary_case(), multiclass_case()))
def test_to_dict_is_always_json(case) -> None:
    labels = list(range(case[3])) if len(case) == 4 else [0, 1]
    report = evaluate(case[0], case[1], y_score=case[2], labels=labels)
    data = report.to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    for priority in ("recall", "precision", "f1", "accuracy"):
        assert judge(report, priority).verdict in {"good", "acceptable", "bad"}


@FAST
@given(st.lists(st.integers(0, 1), min_size=2, max_size=30), st.data())
def test_threshold_sweep_matches_evaluate(truth, data) -> None:
    scores = data.draw(st.lists(st.floats(0, 1), min_size=len(truth), max_size=len(truth)))
    table = threshold_sweep(truth, scores, thresholds=[0.5])
    pred = [int(s >= 0.5) for s in scores]
    report = evaluate(truth, pred, labels=[0, 1])
    row = table.iloc[0]
    assert row["recall"] == pytest.approx(report.recall)
    assert row["precision"] == pytest.approx(report.precision)
    assert row["specificity"] == pytest.approx(report.specificity)


@FAST
@given(st.lists(st.tuples(st.integers(0, 1), st.floats(0, 1)), min_size=2, max_size=30),
       st.floats(0.05, 1.0))  # fmt: skip
def test_threshold_for_meets_its_recall_target(pairs, target) -> None:
    truth = [t for t, _ in pairs]
    scores = [s for _, s in pairs]
    assume(len(set(truth)) == 2)
    choice = threshold_for(truth, scores, recall=target)
    assert choice.recall >= target - 1e-9


# --- fuzzing: anything may be rejected, but only with MetricsError -------------------------

LABEL = st.one_of(
    st.integers(-3, 3),
    st.sampled_from(["a", "b", "spam", ""]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
SCORE = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5), st.text())
SHAPED = st.one_of(
    st.lists(LABEL, max_size=8),
    st.lists(st.lists(LABEL, max_size=3), max_size=4),
    LABEL,
    st.text(max_size=5),
)


def _only_metrics_errors(call) -> None:
    try:
        call()
    except MetricsError:
        pass


@FAST
@given(SHAPED, SHAPED, st.one_of(st.none(), st.lists(SCORE, max_size=8),
       st.lists(st.lists(SCORE, max_size=3), max_size=8)), st.one_of(st.none(), SHAPED),
       LABEL)  # fmt: skip
def test_fuzz_evaluate(y_true, y_pred, y_score, labels, positive) -> None:
    _only_metrics_errors(lambda: evaluate(y_true, y_pred, y_score=y_score, labels=labels,
                                          positive=positive))  # fmt: skip


@FAST
@given(st.lists(st.integers(0, 1), min_size=1, max_size=8), st.data())
def test_fuzz_evaluate_with_aligned_scores(truth, data) -> None:
    n = len(truth)
    pred = data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    width = data.draw(st.sampled_from([None, 1, 2, 3]))
    value = st.floats(allow_nan=True, allow_infinity=True)
    if width is None:
        scores = data.draw(st.lists(value, min_size=n, max_size=n))
    else:
        scores = data.draw(st.lists(st.lists(value, min_size=width, max_size=width),
                                    min_size=n, max_size=n))  # fmt: skip
    _only_metrics_errors(lambda: evaluate(truth, pred, y_score=scores))


COUNT = st.one_of(st.integers(-2, 50), st.floats(allow_nan=True), st.none(), st.text(max_size=2))


@FAST
@given(COUNT, COUNT, COUNT, COUNT)
def test_fuzz_from_counts(tp, fn, fp, tn) -> None:
    _only_metrics_errors(lambda: from_counts(tp, fn, fp, tn))
    if all(isinstance(v, int) and v >= 0 for v in (tp, fn, fp, tn)) and tp + fn + fp + tn:
        report = from_counts(tp, fn, fp, tn)
        assert report.n == tp + fn + fp + tn
        assert math.isclose(report.accuracy, (tp + tn) / report.n)


TEXTS = st.one_of(
    st.lists(st.one_of(st.text(max_size=12), st.none(), st.integers()), max_size=10),
    st.text(max_size=5),
    st.none(),
)


@FAST
@given(TEXTS, TEXTS, st.booleans(), st.one_of(st.integers(-1, 5), st.none()))
def test_fuzz_find_leakage(train, test, near, max_examples) -> None:
    _only_metrics_errors(lambda: find_leakage(train, test, near=near, max_examples=max_examples))


@FAST
@given(st.lists(st.text(max_size=10), max_size=10), st.lists(st.text(max_size=10), max_size=10))
def test_leakage_counts_are_consistent(train, test) -> None:
    report = find_leakage(train, test)
    assert report.exact_count == sum(text in set(train) for text in test)
    assert 0 <= report.count <= len(test) and 0.0 <= report.fraction <= 1.0


@FAST
@given(SHAPED, st.one_of(st.lists(SCORE, max_size=8), SCORE),
       st.one_of(st.none(), st.lists(SCORE, max_size=4)))  # fmt: skip
def test_fuzz_threshold_sweep(y_true, y_score, thresholds) -> None:
    _only_metrics_errors(lambda: threshold_sweep(y_true, y_score, thresholds=thresholds))


ROW = st.dictionaries(
    st.sampled_from(["epoch", "train_loss", "eval_loss", "eval_accuracy"]),
    st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none(), st.integers(-2, 9)),
)


@FAST
@given(st.one_of(st.lists(ROW, max_size=6), st.lists(st.integers(), max_size=3), st.text()))
def test_fuzz_diagnose_history(history) -> None:
    from labkit.metrics import diagnose_history

    try:
        diagnosis = diagnose_history(history)
    except MetricsError:
        return
    assert diagnosis.kind in {"overfitting", "underfitting", "fine"}


@FAST
@given(st.lists(st.tuples(st.floats(0, 5), st.floats(0, 5), st.one_of(st.none(), st.floats(0, 1))),
                min_size=2, max_size=8))  # fmt: skip
def test_diagnose_history_on_valid_curves(points) -> None:
    from labkit.metrics import diagnose_history

    history = [{"epoch": i + 1, "train_loss": t, "eval_loss": e, "eval_accuracy": a}
               for i, (t, e, a) in enumerate(points)]  # fmt: skip
    diagnosis = diagnose_history(history)
    evals = [e for _, e, _ in points]
    assert diagnosis.kind in {"overfitting", "underfitting", "fine"}
    assert evals[diagnosis.best_epoch - 1] == min(evals)
