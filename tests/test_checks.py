"""The practice checks: right answers pass in every equivalent form, typical mistakes get their
own hint, the expected answer never appears in a message, and a missing answer says so.

The solution notebooks run every check with the real runs under nbval; here each check is fed
small, fast inputs (tiny models built from a config, fake trainers and tasks).
"""

from __future__ import annotations

import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from peft import LoraConfig, TaskType, get_peft_model
from torch import nn

from labkit import checks
from labkit.checks import ExerciseIncomplete
from labkit.metrics import from_counts

MISSING = (None, ...)


def wrong(check, *args, phrase: str, hidden=(), **kwargs) -> str:
    """Run a check that must fail; assert its hint names the mistake and hides the answer."""
    with pytest.raises(ExerciseIncomplete) as info:
        check(*args, **kwargs)
    message = str(info.value)
    assert phrase.lower() in message.lower(), message
    for value in hidden:
        for shown in _forms(value):
            assert shown not in message, f"{shown!r} (the answer) appears in: {message}"
    assert "no answer yet" not in message
    return message


def _forms(value) -> set[str]:
    if isinstance(value, str):
        return {value}
    value = float(value)
    forms = {f"{value:.4g}", f"{value:,.6g}", f"{value:.6g}"}
    if value != int(value):
        forms.add(f"{value:.4f}")
    return {f for f in forms if len(f.replace(".", "").replace("-", "")) > 2}


def incomplete(check, *args, **kwargs) -> None:
    with pytest.raises(ExerciseIncomplete, match="no answer yet"):
        check(*args, **kwargs)


# --- the core ------------------------------------------------------------------------------------
def test_numbers_in_any_container_and_percentages() -> None:
    expected = 0.25
    for answer in (0.25, 1 / 4, np.float32(0.25), torch.tensor(0.25), torch.tensor([0.25]), 25.0):
        checks.check_value("share", answer, expected, hint="h", percent=True)
    with pytest.raises(ExerciseIncomplete, match="expected one number"):
        checks.check_value("share", torch.tensor([0.25, 0.5]), expected, hint="h")
    with pytest.raises(ExerciseIncomplete, match="drop the quotes"):
        checks.check_value("share", "0.25", expected, hint="h")
    with pytest.raises(ExerciseIncomplete, match="NaN"):
        checks.check_value("share", float("nan"), expected, hint="h")
    for answer in MISSING:
        incomplete(checks.check_value, "share", answer, expected, hint="h")


def test_a_percentage_is_not_accepted_where_it_could_be_a_fraction() -> None:
    wrong(checks.check_value, "share", 0.5, 0.005, hint="generic", percent=True, phrase="generic")


def test_check_each_shows_one_line_per_check() -> None:
    shown = repr(checks.each(checks.check_value("a", 1, 1, hint="h"), checks.check_value(
        "b", 2, 2, hint="h")))  # fmt: skip
    assert shown.count("✅") == 2 and "\n" in shown


# --- practice 1 ----------------------------------------------------------------------------------
def test_parameter_counts() -> None:
    checks.check_dense_parameters(147_840, 384, 384)
    checks.check_lora_parameters(6_144, 384, 384, 8)
    checks.check_fraction("f", 6_144 / 147_840, 6_144 / 147_840, "h")
    checks.check_fraction("f", 100 * 6_144 / 147_840, 6_144 / 147_840, "h")
    wrong(checks.check_dense_parameters, 384 * 384, 384, 384, phrase="forgot the bias",
          hidden=[147_840])  # fmt: skip
    wrong(checks.check_lora_parameters, 8, 384, 384, 8, phrase="rank alone", hidden=[6_144])
    wrong(checks.check_lora_parameters, 8 * 384, 384, 384, 8, phrase="counts A", hidden=[6_144])
    wrong(checks.check_lora_parameters, 384 * 384, 384, 384, 8, phrase="full weight")
    wrong(checks.check_fraction, "f", 147_840 / 6_144, 6_144 / 147_840, "h", phrase="upside down")
    incomplete(checks.check_dense_parameters, ..., 384, 384)


# --- practice 6 and 5: metrics from counts -------------------------------------------------------
COUNTS = {"tp": 85, "fn": 15, "fp": 10, "tn": 90}
RIGHT = {"accuracy": 0.875, "precision": 85 / 95, "recall": 0.85, "f1": 170 / 195,
         "specificity": 0.9}  # fmt: skip
METRIC_CHECKS = {
    "accuracy": checks.check_accuracy,
    "precision": checks.check_precision,
    "recall": checks.check_recall,
    "f1": checks.check_f1,
    "specificity": checks.check_specificity,
}


@pytest.mark.parametrize("metric", RIGHT)
def test_metrics_from_counts_accept_every_form(metric) -> None:
    value = RIGHT[metric]
    for answer in (value, np.float64(value), torch.tensor(value), 100 * value, round(value, 6)):
        METRIC_CHECKS[metric](answer, **COUNTS)
    for answer in MISSING:
        incomplete(METRIC_CHECKS[metric], answer, **COUNTS)


@pytest.mark.parametrize(
    ("metric", "answer", "phrase"),
    [
        ("precision", 0.85, "precision and recall are swapped"),
        ("precision", 85 / 175, "TP / (TP + TN)"),
        ("recall", 85 / 95, "precision and recall are swapped"),
        ("recall", 0.9, "specificity"),
        ("recall", 0.15, "miss rate"),
        ("f1", (85 / 95 + 0.85) / 2, "arithmetic mean"),
        ("f1", (85 / 95 * 0.85) ** 0.5, "geometric mean"),
        ("specificity", 0.15, "1 - recall"),
        ("specificity", 0.10, "false-positive rate"),
        ("specificity", 90 / 105, "PREDICTED negatives"),
        ("accuracy", 85 / 200, "only the true positives"),
        ("accuracy", 0.125, "error rate"),
    ],
)
def test_metric_mistakes_get_their_own_hint(metric, answer, phrase) -> None:
    wrong(METRIC_CHECKS[metric], answer, **COUNTS, phrase=phrase, hidden=[RIGHT[metric]])


def test_the_arithmetic_mean_is_not_taken_for_f1() -> None:
    """F1 0.8718 and (P + R) / 2 = 0.8724 differ by 0.07%: the tolerance must tell them apart."""
    wrong(checks.check_f1, 0.8724, **COUNTS, phrase="arithmetic mean")
    checks.check_f1(0.87179, **COUNTS)


def test_counts_read_off_a_matrix() -> None:
    expected = {"tp": 90, "fn": 10, "fp": 15, "tn": 85}
    checks.check_counts(90, 10, 15, 85, expected=expected)
    checks.check_counts(np.int64(90), 10.0, 15, 85, expected=expected)
    wrong(checks.check_counts, 90, 15, 10, 85, expected=expected, phrase="FN and FP are swapped")
    wrong(checks.check_counts, 85, 15, 10, 90, expected=expected, phrase="classes swapped")
    wrong(checks.check_counts, 90, 10, 15, 80, expected=expected, phrase="add up to")
    incomplete(checks.check_counts, 90, ..., 15, 85, expected=expected)


def test_the_base_rate_paradox() -> None:
    checks.check_base_rate_accuracy(0.99, positives=100, total=10_000)
    checks.check_base_rate_accuracy(99, positives=100, total=10_000)
    wrong(checks.check_base_rate_accuracy, 0.01, positives=100, total=10_000,
          phrase="share of POSITIVES", hidden=[0.99])  # fmt: skip
    checks.check_base_rate_recall(0)
    wrong(checks.check_base_rate_recall, 0.99, phrase="high ACCURACY")
    incomplete(checks.check_base_rate_recall, None)


def test_production_ready_needs_the_right_choice_and_reason() -> None:
    reason = "It misses 88% of the frauds: recall 0.12."
    for answer in (False, "no", "Not ready"):
        checks.check_production_ready(answer, reason, accuracy=0.98, recall=0.12)
    wrong(checks.check_production_ready, True, "98% accuracy is excellent", accuracy=0.98,
          recall=0.12, phrase="never predicts positive")  # fmt: skip
    wrong(checks.check_production_ready, False, "its accuracy is 98 percent, too low",
          accuracy=0.98, recall=0.12, phrase="misses (recall)")  # fmt: skip
    with pytest.raises(ExerciseIncomplete, match="too short"):
        checks.check_production_ready(False, "bad", accuracy=0.98, recall=0.12)
    incomplete(checks.check_production_ready, ..., reason, accuracy=0.98, recall=0.12)
    incomplete(checks.check_production_ready, False, ..., accuracy=0.98, recall=0.12)


GOOD_CHOICES = {
    "cancer_screening": ("Sensitivity", "A missed cancer (false negative) can cost a life."),
    "card_blocking": ("specificity", "A false alarm blocks an honest customer's card."),
    "fraud_refunds": ("recall", "Every missed fraud costs the bank the whole amount."),
    "spam_filter": ("PPV", "A real message deleted unseen is the costly error."),
    "content_moderation": ("TPR", "A harmful post that is not flagged stays online."),
    "balanced_reviews": ("F1-score", "Balanced classes and both errors cost the same."),
}


def test_metric_choices_accept_synonyms_and_every_right_metric() -> None:
    checks.check_metric_choices(GOOD_CHOICES)
    alternative = dict(GOOD_CHOICES, card_blocking=("precision", "honest customers get blocked by mistake"),
                       balanced_reviews=("accuracy", "the classes are balanced, errors equal"))  # fmt: skip
    checks.check_metric_choices(alternative)


@pytest.mark.parametrize(
    ("scenario", "choice", "phrase"),
    [
        ("cancer_screening", "accuracy", "counts a missed cancer exactly like a false alarm"),
        ("cancer_screening", "precision", "ignores the cancers the model misses"),
        ("card_blocking", "recall", "ignores the honest customers blocked"),
        ("fraud_refunds", "precision", "slip through"),
        ("spam_filter", "recall", "real messages are deleted"),
        ("content_moderation", "specificity", "reviewers catch anyway"),
        ("balanced_reviews", "recall", "both errors cost the same"),
        ("cancer_screening", "roc_auc", "one threshold"),
    ],
)
def test_a_wrong_metric_choice_is_explained(scenario, choice, phrase) -> None:
    choices = dict(GOOD_CHOICES, **{scenario: (choice, "a reason of enough words here")})
    wrong(checks.check_metric_choices, choices, phrase=phrase)


def test_a_right_metric_needs_a_reason_about_the_costly_error() -> None:
    choices = dict(GOOD_CHOICES, cancer_screening=("recall", "it is the usual metric to use"))
    wrong(checks.check_metric_choices, choices, phrase="missed cancer")
    choices = dict(GOOD_CHOICES, cancer_screening=("kappa", "a reason of enough words"))
    wrong(checks.check_metric_choices, choices, phrase="not one of the metrics")
    incomplete(checks.check_metric_choices, dict(GOOD_CHOICES, spam_filter=(..., ...)))
    incomplete(checks.check_metric_choices, None)


def _screening():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(100, dtype=int), np.zeros(900, dtype=int)]
    s = np.r_[rng.beta(5, 2, 100), rng.beta(2, 5, 900)]
    return y, s


def test_cost_function_and_threshold() -> None:
    y, s = _screening()

    def cost(t, fn_cost=50, fp_cost=1, scale=1.0):
        p = s >= t
        return (fn_cost * int(((y == 1) & ~p).sum()) + fp_cost * int(((y == 0) & p).sum())) * scale

    checks.check_cost_function(cost, y, s, cost_fn=50, cost_fp=1)
    wrong(checks.check_cost_function, lambda t: cost(t, 1, 50), y, s, cost_fn=50, cost_fp=1,
          phrase="costs are swapped")  # fmt: skip
    wrong(checks.check_cost_function, lambda t: cost(t, 1, 1), y, s, cost_fn=50, cost_fp=1,
          phrase="without their costs")  # fmt: skip
    wrong(checks.check_cost_function, lambda t: cost(t, scale=1 / 1000), y, s, cost_fn=50,
          cost_fp=1, phrase="per example")  # fmt: skip
    incomplete(checks.check_cost_function, lambda t: None, y, s, cost_fn=50, cost_fp=1)
    grid = [round(t, 2) for t in np.arange(0.05, 1.0, 0.05)]
    best = min(grid, key=cost)
    checks.check_threshold_choice(best, y, s, cost_fn=50, cost_fp=1, thresholds=grid)
    swapped = min(grid, key=lambda t: cost(t, 1, 50))
    wrong(checks.check_threshold_choice, swapped, y, s, cost_fn=50, cost_fp=1, thresholds=grid,
          phrase="costs are swapped", hidden=[f"{best:.2f}"])  # fmt: skip
    worst = max(grid, key=cost)
    wrong(checks.check_threshold_choice, worst, y, s, cost_fn=50, cost_fp=1, thresholds=grid,
          phrase="MOST expensive")  # fmt: skip
    wrong(checks.check_threshold_choice, 0.42, y, s, cost_fn=50, cost_fp=1, thresholds=grid,
          phrase="not one of the thresholds")  # fmt: skip
    incomplete(checks.check_threshold_choice, ..., y, s, cost_fn=50, cost_fp=1, thresholds=grid)


# --- practice 5: a run's predictions --------------------------------------------------------------
def _predictions():
    rng = np.random.default_rng(1)
    y = (rng.random(300) < 0.2).astype(int)
    s = np.clip(0.35 * y + rng.random(300) * 0.7, 0, 1)
    return y, s, (s >= 0.5).astype(int)


def test_confusion_counts_and_matrix() -> None:
    y, _, p = _predictions()
    c = checks.true_counts(y, p)
    checks.check_confusion_counts(c["tp"], c["fn"], c["fp"], c["tn"], y, p)
    wrong(checks.check_confusion_counts, c["tp"], c["fp"], c["fn"], c["tn"], y, p,
          phrase="FN and FP are swapped")  # fmt: skip
    right = [[c["tn"], c["fp"]], [c["fn"], c["tp"]]]
    for answer in (right, np.array(right), torch.tensor(right)):
        checks.check_confusion_matrix(answer, y, p)
    wrong(checks.check_confusion_matrix, np.array(right).T, y, p, phrase="transposed")
    wrong(checks.check_confusion_matrix, np.array(right)[::-1, ::-1], y, p, phrase="reverse order")
    wrong(checks.check_confusion_matrix, [[1, 2, 3]], y, p, phrase="2 x 2")
    incomplete(checks.check_confusion_matrix, None, y, p)


def test_auc_from_scores_not_predictions() -> None:
    from sklearn.metrics import roc_auc_score

    y, s, p = _predictions()
    auc = roc_auc_score(y, s)
    checks.check_auc(auc, y, s, p)
    checks.check_auc(100 * auc, y, s, p)
    wrong(checks.check_auc, roc_auc_score(y, p), y, s, p, phrase="hard 0/1 predictions",
          hidden=[auc])  # fmt: skip
    wrong(checks.check_auc, 1 - auc, y, s, p, phrase="other class", hidden=[auc])
    incomplete(checks.check_auc, ..., y, s, p)


def test_cross_entropy() -> None:
    y, s, _ = _predictions()
    probabilities = np.c_[1 - s, s].clip(1e-6, 1 - 1e-6)
    loss = -np.log(probabilities[np.arange(len(y)), y]).mean()
    checks.check_cross_entropy(loss, y, probabilities)
    checks.check_cross_entropy(torch.tensor(loss), y, probabilities)
    wrong(checks.check_cross_entropy, -loss, y, probabilities, phrase="sign", hidden=[loss])
    wrong(checks.check_cross_entropy, -loss, y, probabilities, phrase="sign", hidden=[-loss])
    wrong(checks.check_cross_entropy, loss / np.log(10), y, probabilities, phrase="log10")
    wrong(checks.check_cross_entropy, loss * len(y), y, probabilities, phrase="the sum")
    wrong(checks.check_cross_entropy, -np.log(probabilities[:, 1]).mean(), y, probabilities,
          phrase="TRUE class")  # fmt: skip
    incomplete(checks.check_cross_entropy, None, y, probabilities)


def _history(train, evals):
    return [{"epoch": i + 1, "train_loss": t, "eval_loss": v}
            for i, (t, v) in enumerate(zip(train, evals, strict=True))]  # fmt: skip


HISTORIES = {
    "A": _history([0.6, 0.35, 0.18, 0.08, 0.03], [0.55, 0.42, 0.45, 0.56, 0.7]),
    "B": _history([0.69, 0.68, 0.67, 0.66, 0.66], [0.69, 0.68, 0.68, 0.67, 0.67]),
    "C": _history([0.62, 0.38, 0.27, 0.21, 0.18], [0.5, 0.36, 0.3, 0.28, 0.27]),
}


def test_learning_curve_diagnoses() -> None:
    checks.check_diagnoses({"A": "Overfitting", "B": "under-fitting", "C": "good fit"}, HISTORIES)
    message = wrong(checks.check_diagnoses, {"A": "underfitting", "B": "overfitting", "C": "fine"},
                    HISTORIES, phrase="underfitting means the training loss itself stays high")  # fmt: skip
    assert "barely moves" in message
    wrong(checks.check_diagnoses, {"A": "fine", "B": "underfitting", "C": "fine"}, HISTORIES,
          phrase="turns up")  # fmt: skip
    wrong(checks.check_diagnoses, {"A": "overfitting", "B": "sad", "C": "fine"}, HISTORIES,
          phrase="not one of the diagnosis")  # fmt: skip
    incomplete(checks.check_diagnoses, {"A": "overfitting", "B": ..., "C": "fine"}, HISTORIES)


def test_verdicts() -> None:
    full = from_counts(tp=90, fn=10, fp=40, tn=9_860)
    collapsed = from_counts(tp=12, fn=88, fp=112, tn=9_788)
    checks.check_verdict("bad", "Recall collapsed to 0.12: it misses most frauds.", baseline=full,
                         candidate=collapsed)  # fmt: skip
    wrong(checks.check_verdict, "good", "accuracy is 98%, a fine score", baseline=full,
          candidate=collapsed, phrase="recall collapsed")  # fmt: skip
    wrong(checks.check_verdict, "bad", "it is bad, I think so", baseline=full, candidate=collapsed,
          phrase="name the evidence")  # fmt: skip
    close = from_counts(tp=89, fn=11, fp=42, tn=9_858)
    checks.check_verdict("good", "F1 and accuracy stay within 2 points.", baseline=full,
                         candidate=close)  # fmt: skip
    wrong(checks.check_verdict, "bad", "it lost some points of F1", baseline=full, candidate=close,
          phrase="within the 2 points")  # fmt: skip
    drop = from_counts(tp=60, fn=40, fp=40, tn=9_860)
    wrong(checks.check_verdict, "good", "accuracy stays within a point", baseline=full,
          candidate=drop, phrase="over 5 points")  # fmt: skip
    incomplete(checks.check_verdict, ..., "x y z w", baseline=full, candidate=close)


# --- practice 2: freezing ---------------------------------------------------------------------------
def _tiny_bert(layers: int = 3, init: float = 0.02):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=layers,
                        num_attention_heads=2, intermediate_size=16, num_labels=2,
                        initializer_range=init)  # fmt: skip
    model = BertForSequenceClassification(config)
    model.labkit_new_modules = ["classifier"]
    return model


def test_split_shares() -> None:
    task = SimpleNamespace(splits={"train": [0] * 70, "validation": [0] * 15, "test": [0] * 15})
    for answer in ({"train": 0.7, "validation": 0.15, "test": 0.15}, (70, 15, 15),
                   {"Training": 70.0, "val": 15, "test": 15}, [0.7, 0.15, 0.15]):  # fmt: skip
        checks.check_split_shares(answer, task)
    wrong(checks.check_split_shares, {"train": 700, "validation": 150, "test": 150},
          SimpleNamespace(splits={"train": [0] * 700, "validation": [0] * 150, "test": [0] * 150}),
          phrase="numbers of examples")  # fmt: skip
    wrong(checks.check_split_shares, [1.0, 15 / 70, 15 / 70], task, phrase="training split")
    wrong(checks.check_split_shares, [0.15, 0.15, 0.7], task, phrase="swapped")
    incomplete(checks.check_split_shares, None, task)


class _FakeTokenizer:
    def __call__(self, text, add_special_tokens=True):
        pieces = text.replace(",", " ,").replace("'", " ' ").split()
        return {"input_ids": [101, *range(len(pieces)), 102] if add_special_tokens
                else list(range(len(pieces)))}  # fmt: skip


def test_token_count() -> None:
    text = "You can't relate with them, hell you barely can understand them"
    n = len(_FakeTokenizer()(text)["input_ids"])
    checks.check_token_count(n, _FakeTokenizer(), text)
    wrong(checks.check_token_count, len(text.split()), _FakeTokenizer(), text, phrase="WORDS")
    wrong(checks.check_token_count, n - 2, _FakeTokenizer(), text, phrase="special tokens")
    incomplete(checks.check_token_count, ..., _FakeTokenizer(), text)


def test_head_names() -> None:
    model = _tiny_bert()
    for head in (["classifier"], "classifier", ["bert.pooler", "classifier"],
                 ["pooler", "classifier"], ["classifier", "pooler.dense"]):  # fmt: skip
        checks.check_head(head, model)
    wrong(checks.check_head, ["bert"], model, phrase="whole pretrained model")
    wrong(checks.check_head, ["bert.pooler"], model, phrase="created new")
    wrong(checks.check_head, ["classifier.weight"], model, phrase="PARAMETER name")
    wrong(
        checks.check_head, ["classifier", "bert.encoder.layer.2"], model, phrase="pretrained body"
    )
    wrong(checks.check_head, ["dense", "classifier"], model, phrase="matches")
    wrong(checks.check_head, ["head"], model, phrase="no module called")
    incomplete(checks.check_head, None, model)
    incomplete(checks.check_head, ["classifier", ...], model)


def _freeze(model, predicate):
    for name, param in model.named_parameters():
        param.requires_grad = bool(predicate(name))
    return model


def test_frozen_body_and_trainable_count() -> None:
    head = ["bert.pooler", "classifier"]
    model = _freeze(_tiny_bert(), lambda n: n.startswith(("bert.pooler.", "classifier.")))
    checks.check_frozen(model, head)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    checks.check_trainable_count(trainable, model)
    wrong(checks.check_trainable_count, sum(p.numel() for p in model.parameters()), model,
          phrase="ALL parameters", hidden=[trainable])  # fmt: skip
    wrong(checks.check_trainable_count, 4, model, phrase="TENSORS")
    incomplete(checks.check_trainable_count, None, model)
    wrong(
        checks.check_frozen, _freeze(_tiny_bert(), lambda n: True), head, phrase="nothing is frozen"
    )
    wrong(
        checks.check_frozen,
        _freeze(_tiny_bert(), lambda n: False),
        head,
        phrase="everything is frozen",
    )
    wrong(checks.check_frozen, _freeze(_tiny_bert(), lambda n: not n.startswith(
        ("bert.pooler.", "classifier."))), head, phrase="inverted")  # fmt: skip
    wrong(checks.check_frozen, _freeze(_tiny_bert(), lambda n: n.startswith(
        ("bert.pooler.", "classifier.", "bert.embeddings."))), head, phrase="still train")  # fmt: skip


def test_last_layers() -> None:
    head = ["classifier"]
    last = ("bert.encoder.layer.1.", "bert.encoder.layer.2.")
    model = _freeze(_tiny_bert(), lambda n: n.startswith(("classifier.", *last)))
    checks.check_last_layers(model, n=2, head=head)
    first = ("bert.encoder.layer.0.", "bert.encoder.layer.1.")
    wrong(checks.check_last_layers, _freeze(_tiny_bert(), lambda n: n.startswith(
        ("classifier.", *first))), n=2, head=head, phrase="FIRST 2 layers")  # fmt: skip
    wrong(checks.check_last_layers, _freeze(_tiny_bert(), lambda n: n.startswith(
        ("classifier.", "bert.encoder.layer.2."))), n=2, head=head, phrase="layers [2] train")  # fmt: skip
    wrong(checks.check_last_layers, _freeze(_tiny_bert(), lambda n: n.startswith(last)), n=2,
          head=head, phrase="should train are frozen")  # fmt: skip


def test_training_arguments(tmp_path) -> None:
    from transformers import TrainingArguments

    def make(**overrides):
        options = {"output_dir": str(tmp_path), "num_train_epochs": 3, "learning_rate": 1e-2,
                   "per_device_train_batch_size": 16, "eval_strategy": "epoch",
                   "report_to": "none", "use_cpu": True, **overrides}  # fmt: skip
        return TrainingArguments(**options)

    asked = {"epochs": 3, "batch_size": 16, "learning_rate": 1e-2}
    checks.check_training_arguments(make(), **asked)
    wrong(
        checks.check_training_arguments, make(eval_strategy="no"), **asked, phrase="eval_strategy"
    )
    wrong(checks.check_training_arguments, make(per_device_train_batch_size=8,
          per_device_eval_batch_size=16), **asked, phrase="EVALUATION batch size")  # fmt: skip
    wrong(checks.check_training_arguments, make(learning_rate=5e-5), **asked, phrase="default")
    wrong(checks.check_training_arguments, make(num_train_epochs=5), **asked, phrase="epochs")
    wrong(checks.check_training_arguments, {"learning_rate": 1e-2}, **asked, phrase="expected")
    incomplete(checks.check_training_arguments, ..., **asked)


class _FakeTrainer:
    """predict() returns fixed metrics per split, like Trainer.predict(...).metrics."""

    def __init__(self):
        self.labkit_encoded = {"validation": "val", "test": "test"}
        self.values = {"val": {"test_accuracy": 0.8125, "test_loss": 0.41, "test_f1": 0.79},
                       "test": {"test_accuracy": 0.7733, "test_loss": 0.47, "test_f1": 0.77}}  # fmt: skip

    def predict(self, data):
        return SimpleNamespace(metrics=self.values[data])


def test_evaluation() -> None:
    trainer = _FakeTrainer()
    checks.check_evaluation(0.8125, 0.7733, trainer)
    checks.check_evaluation(81.25, 77.33, trainer)
    wrong(checks.check_evaluation, 0.7733, 0.8125, trainer, phrase="TEST accuracy")
    wrong(checks.check_evaluation, 0.8125, 0.8125, trainer, phrase="VALIDATION accuracy again",
          hidden=[0.7733])  # fmt: skip
    wrong(checks.check_evaluation, 0.41, 0.7733, trainer, phrase="LOSS")
    wrong(checks.check_evaluation, 0.8125, 0.77, trainer, phrase="F1")
    incomplete(checks.check_evaluation, None, 0.7733, trainer)


def test_tuning_effect() -> None:
    reason = "The learning rate is 200 times smaller, so each step barely moves the head."
    checks.check_tuning_effect("worse", reason, before=0.8, after=0.6, keywords=[r"step"])
    checks.check_tuning_effect("Lower", reason, before=0.8, after=0.6)
    checks.check_tuning_effect("same", reason, before=0.8, after=0.805, tolerance=0.01)
    wrong(checks.check_tuning_effect, "better", reason, before=0.8, after=0.6,
          phrase="compare the numbers again")  # fmt: skip
    wrong(checks.check_tuning_effect, "worse", reason, before=0.8, after=0.805, tolerance=0.01,
          phrase="no real change")  # fmt: skip
    wrong(checks.check_tuning_effect, "worse", "because it is just worse now", before=0.8,
          after=0.6, keywords=[r"step"], phrase="what the change does")  # fmt: skip
    incomplete(checks.check_tuning_effect, None, reason, before=0.8, after=0.6)


def test_tuning_effect_noise_is_at_least_two_validation_examples() -> None:
    # practice 2, Q9: 0.703 -> 0.672 on 64 validation sentences is two sentences, the noise of a
    # single run; a tolerance of 0.01 called it "worse"
    reason = "The learning rate is 200 times smaller, so each step barely moves the head."
    before, after = 45 / 64, 43 / 64
    ok = checks.check_tuning_effect("same", reason, before=before, after=after, tolerance=0.01,
                                    n_examples=64)  # fmt: skip
    assert "2 of 64 validation examples" in str(ok) and "noise" in str(ok)
    message = wrong(checks.check_tuning_effect, "worse", reason, before=before, after=after,
                    tolerance=0.01, n_examples=64, phrase="within the noise of a single run")  # fmt: skip
    assert "2 of 64 validation examples" in message and "two validation examples" in message
    message = wrong(checks.check_tuning_effect, "worse", reason, before=before, after=after,
                    n_examples=64, loss_before=0.5175, loss_after=0.6874,
                    phrase="validation loss (0.517 -> 0.687)")  # fmt: skip
    ok = checks.check_tuning_effect("same", reason, before=before, after=after, n_examples=64,
                                    loss_before=0.5175, loss_after=0.6874)  # fmt: skip
    assert "the validation loss can" in str(ok)
    # three sentences are more than the noise band: a real change
    checks.check_tuning_effect("worse", reason, before=before, after=42 / 64, n_examples=64)
    wrong(checks.check_tuning_effect, "same", reason, before=before, after=42 / 64, n_examples=64,
          phrase="real change")  # fmt: skip
    # a larger explicit tolerance still wins; without n_examples the default stays 0.01
    checks.check_tuning_effect("same", reason, before=before, after=42 / 64, n_examples=64,
                               tolerance=0.05)  # fmt: skip
    checks.check_tuning_effect("worse", reason, before=before, after=after)
    with pytest.raises(ValueError, match="n_examples"):
        checks.check_tuning_effect("same", reason, before=before, after=after, n_examples=0)


# --- practice 3: LoRA ---------------------------------------------------------------------------------
def _layer_class(forward):
    class Layer(nn.Module):
        def __init__(self, base, r, alpha, dropout=0.0):
            super().__init__()
            self.base, self.r, self.alpha = base, r, alpha
            for p in base.parameters():
                p.requires_grad = False
            self.lora_A = nn.Parameter(torch.empty(r, base.in_features))
            self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
            nn.init.kaiming_uniform_(self.lora_A, a=5**0.5)
            self.dropout = nn.Dropout(dropout)

        def forward(self, x):
            return forward(self, x)

    return Layer


def _update(s, x):
    return x @ s.lora_A.T @ s.lora_B.T


FORWARDS = {
    "right": lambda s, x: s.base(x) + (s.alpha / s.r) * _update(s, s.dropout(x)),
    "scale is r": lambda s, x: s.base(x) + s.r * _update(s, s.dropout(x)),
    "upside down": lambda s, x: s.base(x) + (s.r / s.alpha) * _update(s, s.dropout(x)),
    "alpha alone": lambda s, x: s.base(x) + s.alpha * _update(s, s.dropout(x)),
    "not scaled": lambda s, x: s.base(x) + _update(s, s.dropout(x)),
    "base(x) is missing": lambda s, x: (s.alpha / s.r) * _update(s, s.dropout(x)),
    "update is missing": lambda s, x: s.base(x),
    "dropout is not applied": lambda s, x: s.base(x) + (s.alpha / s.r) * _update(s, x),
    "update's output": lambda s, x: s.base(x) + (s.alpha / s.r) * s.dropout(_update(s, x)),
    "whole output": lambda s, x: s.dropout(s.base(x) + (s.alpha / s.r) * _update(s, x)),
    "frozen layer also gets": lambda s, x: (
        s.base(s.dropout(x)) + (s.alpha / s.r) * _update(s, s.dropout(x))
    ),
}


@pytest.mark.parametrize("mistake", FORWARDS)
def test_lora_forward(mistake) -> None:
    layer = _layer_class(FORWARDS[mistake])
    if mistake == "right":
        checks.check_lora_forward(layer)
    else:
        wrong(checks.check_lora_forward, layer, phrase=mistake)


def test_lora_forward_unsolved_or_broken() -> None:
    incomplete(checks.check_lora_forward, _layer_class(lambda s, x: None))
    wrong(checks.check_lora_forward, _layer_class(lambda s, x: x @ s.lora_B.T @ s.lora_A.T),
          phrase="raised RuntimeError")  # fmt: skip


def test_same_as_peft() -> None:
    layer = SimpleNamespace(r=4, alpha=8)
    checks.check_peft_config_matches(LoraConfig(r=4, lora_alpha=8, target_modules=["proj"]), layer)
    wrong(checks.check_peft_config_matches, LoraConfig(r=4, lora_alpha=4, target_modules=["proj"]),
          layer, phrase="lora_alpha / r")  # fmt: skip
    wrong(checks.check_peft_config_matches, LoraConfig(r=8, lora_alpha=8, target_modules=["proj"]),
          layer, phrase="shapes")  # fmt: skip
    wrong(checks.check_peft_config_matches, LoraConfig(r=4, lora_alpha=8, target_modules=["fc"]),
          layer, phrase="does not name")  # fmt: skip
    incomplete(checks.check_peft_config_matches, None, layer)
    x = torch.randn(3, 4)
    checks.check_same_outputs(x, x.clone())
    wrong(checks.check_same_outputs, x, 2 * x, phrase="differ")


def test_lora_update_count() -> None:
    options = {"d_in": 384, "d_out": 384, "rank": 8, "n_modules": 12}
    checks.check_lora_update_count(73_728, **options)
    wrong(checks.check_lora_update_count, 8 * 12, **options, phrase="rank alone", hidden=[73_728])
    wrong(checks.check_lora_update_count, 6_144, **options, phrase="ONE layer", hidden=[73_728])
    wrong(checks.check_lora_update_count, 384 * 384 * 12, **options, phrase="full weight")
    incomplete(checks.check_lora_update_count, ..., **options)


@pytest.mark.parametrize(
    "targets",
    [["query", "value"], ["query", "key", "value"], ["attention.self.query", "attention.self.value"],
     ["query", "key", "value", "attention.output.dense"], r".*\.(query|value)",
     [f"bert.encoder.layer.{i}.attention.self.{m}" for i in range(3) for m in ("query", "value")]],
)  # fmt: skip
def test_any_correct_target_list(targets) -> None:
    checks.check_target_modules(targets, _tiny_bert())


@pytest.mark.parametrize(
    ("targets", "phrase"),
    [(["q_proj", "v_proj"], "another architecture"), (["dense"], "feed-forward"),
     (["query", "classifier"], "new head"), ("query", "regular expression"),
     (["attention"], "no linear layer"), (["query.weight"], "parameter name"),
     (["bert.encoder.layer.0.attention.self.query"], "only layer(s) ['0']"),
     (["intermediate.dense"], "feed-forward")],
)  # fmt: skip
def test_wrong_targets(targets, phrase) -> None:
    wrong(checks.check_target_modules, targets, _tiny_bert(), phrase=phrase)


def test_lora_config_and_adapter_count() -> None:
    model = _tiny_bert()
    good = LoraConfig(task_type=TaskType.SEQ_CLS, r=8, lora_alpha=16, target_modules=["query"])
    checks.check_lora_config(good, model, rank=8, alpha=16)
    wrong(checks.check_lora_config, LoraConfig(r=8, lora_alpha=16, target_modules=["query"]),
          model, rank=8, alpha=16, phrase="stay random")  # fmt: skip
    wrong(checks.check_lora_config, LoraConfig(task_type=TaskType.SEQ_CLS, r=8, lora_alpha=8,
          target_modules=["query"]), model, rank=8, alpha=16, phrase="scale alpha / r is 1")  # fmt: skip
    incomplete(checks.check_lora_config, None, model, rank=8, alpha=16)
    adapted = get_peft_model(_tiny_bert(), good)
    n = sum(p.numel() for name, p in adapted.named_parameters() if "lora_" in name)
    assert n == 8 * (8 + 8) * 3
    checks.check_adapter_count(n, adapted)
    trainable = sum(p.numel() for p in adapted.parameters() if p.requires_grad)
    wrong(checks.check_adapter_count, trainable, adapted, phrase="classifier", hidden=[n])


def test_rank_sweep_and_choice() -> None:
    model = _tiny_bert()
    per_rank = (8 + 8) * 3 * 2  # query and value in 3 layers of width 8
    sweep = {2: {"accuracy": 0.80, "lora_params": 2 * per_rank},
             16: {"accuracy": 0.81, "lora_params": 16 * per_rank}}  # fmt: skip
    checks.check_rank_sweep(sweep, ranks=(2, 16), model=model, targets=["query", "value"])
    piled = {**sweep, 16: {"accuracy": 0.81, "lora_params": 18 * per_rank}}
    wrong(checks.check_rank_sweep, piled, ranks=(2, 16), model=model, targets=["query", "value"],
          phrase="FRESH model")  # fmt: skip
    incomplete(checks.check_rank_sweep, {2: sweep[2], 16: ...}, ranks=(2, 16), model=model,
               targets=["query", "value"])  # fmt: skip
    cheap = "Rank 2 is as accurate with eight times fewer parameters."
    checks.check_rank_choice(2, cheap, sweep, tolerance=0.03)
    wrong(checks.check_rank_choice, 16, "Rank 16 has more capacity, so it must be better.", sweep,
          tolerance=0.03, phrase="buys nothing measurable")  # fmt: skip
    wrong(checks.check_rank_choice, 2, "I just like this one the best.", sweep, tolerance=0.03,
          phrase="saves")  # fmt: skip
    clear = {2: {"accuracy": 0.70, "lora_params": 2 * per_rank},
             16: {"accuracy": 0.80, "lora_params": 16 * per_rank}}  # fmt: skip
    checks.check_rank_choice(16, "Rank 16 is 10 points more accurate.", clear, tolerance=0.03)
    wrong(checks.check_rank_choice, 2, "Fewer parameters are cheaper to keep.", clear,
          tolerance=0.03, phrase="savings cost accuracy")  # fmt: skip
    incomplete(checks.check_rank_choice, ..., cheap, sweep)


# --- practice 4: quantization ---------------------------------------------------------------------
def _weights():
    torch.manual_seed(3)
    w = torch.randn(384) * 0.05
    w[7] = -0.3  # the largest magnitude is negative: max and absmax differ
    return w


def test_absmax_int8_codes() -> None:
    w = _weights()
    scale = 127 / w.abs().max()
    codes = torch.round(w * scale).to(torch.int8)
    for answer in (codes, codes.numpy(), codes.tolist(), codes.float()):
        checks.check_absmax_int8(answer, w)
    wrong(checks.check_absmax_int8, (w * scale).to(torch.int8), w, phrase="truncated")
    wrong(checks.check_absmax_int8, torch.round(w * 255 / w.abs().max()), w, phrase="255")
    wrong(checks.check_absmax_int8, torch.round(w * 127 / w.max()).clamp(-128, 127), w,
          phrase="largest VALUE")  # fmt: skip
    wrong(checks.check_absmax_int8, w * scale, w, phrase="not rounded")
    wrong(checks.check_absmax_int8, torch.round(w), w, phrase="all 0")
    incomplete(checks.check_absmax_int8, None, w)


def test_dequantized_and_error() -> None:
    w = _weights()
    scale = 127 / w.abs().max()
    codes = torch.round(w * scale)
    w_hat = codes / scale
    checks.check_dequantized(w_hat, w)
    wrong(checks.check_dequantized, codes, w, phrase="integer codes")
    wrong(checks.check_dequantized, codes * scale, w, phrase="DIVIDES")
    error = (w - w_hat).abs().mean()
    checks.check_quantization_error(error, w)
    checks.check_quantization_error(error.item(), w.numpy())
    wrong(checks.check_quantization_error, (w - w_hat).mean(), w, phrase="SIGNED", hidden=[error])
    wrong(checks.check_quantization_error, (w - w_hat).abs().max(), w, phrase="largest error")
    wrong(checks.check_quantization_error, ((w - w_hat) ** 2).mean(), w, phrase="SQUARED")
    wrong(checks.check_quantization_error, (w - codes).abs().mean(), w, phrase="integer codes")
    incomplete(checks.check_quantization_error, ..., w)


def test_constant_bits() -> None:
    checks.check_constant_bits(0.5, double_quant=False)
    checks.check_constant_bits(8 / 64 + 32 / (64 * 256), double_quant=True)
    checks.check_constant_bits(0.127, double_quant=True)  # the paper's rounded figure
    wrong(checks.check_constant_bits, 32, double_quant=False, phrase="block of 64")
    wrong(checks.check_constant_bits, 0.5, double_quant=True, phrase="without double",
          hidden=[0.127, 0.1270])  # fmt: skip
    wrong(checks.check_constant_bits, 8 / 64, double_quant=True, phrase="second-level")
    wrong(checks.check_constant_bits, 32 / (64 * 256), double_quant=True, phrase="8-bit constants")
    incomplete(checks.check_constant_bits, None, double_quant=True)


def test_model_gigabytes() -> None:
    dq = 8 / 64 + 32 / (64 * 256)
    right = 7e9 * (4 + dq) / 8 / 1e9
    checks.check_model_gb(right, n_params=7e9, bits=4, constant_bits=dq)
    checks.check_model_gb(right * 1e9, n_params=7e9, bits=4, constant_bits=dq)
    checks.check_model_gb(14, n_params=7e9, bits=16)
    wrong(checks.check_model_gb, 3.5, n_params=7e9, bits=4, constant_bits=dq,
          phrase="without the quantization constants", hidden=[right])  # fmt: skip
    wrong(checks.check_model_gb, 7e9 * 4.5 / 8 / 1e9, n_params=7e9, bits=4, constant_bits=dq,
          phrase="WITHOUT double quantization")  # fmt: skip
    wrong(checks.check_model_gb, 7e9 * (4 + 8 / 64) / 8 / 1e9, n_params=7e9, bits=4,
          constant_bits=dq, phrase="second level")  # fmt: skip
    wrong(checks.check_model_gb, 14e9 / 2**30, n_params=7e9, bits=16, phrase="GiB", hidden=[14])
    wrong(checks.check_model_gb, 112, n_params=7e9, bits=16, phrase="gigaBITS")
    incomplete(checks.check_model_gb, None, n_params=7e9, bits=16)


def test_nf4_config() -> None:
    from transformers import BitsAndBytesConfig

    def make(**kw):
        return BitsAndBytesConfig(**{"load_in_4bit": True, "bnb_4bit_quant_type": "nf4",
                                     "bnb_4bit_use_double_quant": True, **kw})  # fmt: skip

    checks.check_nf4_config(make())
    checks.check_nf4_config(make(bnb_4bit_compute_dtype=torch.bfloat16))
    wrong(checks.check_nf4_config, make(bnb_4bit_quant_type="fp4"), phrase="NormalFloat")
    wrong(checks.check_nf4_config, make(bnb_4bit_use_double_quant=False), phrase="double")
    wrong(checks.check_nf4_config, BitsAndBytesConfig(load_in_8bit=True), phrase="LLM.int8")
    wrong(checks.check_nf4_config, {"load_in_4bit": True}, phrase="dict")
    incomplete(checks.check_nf4_config, None)


def _fake_quantized(kind: str | None, rank: int | None, head_trains: bool = True):
    """A module tree with layers named like bitsandbytes' and peft's (no bitsandbytes needed)."""
    layer_class = type(kind, (nn.Module,), {}) if kind else nn.Identity

    class Fake(nn.Module):
        def __init__(self):
            super().__init__()
            self.query = layer_class()
            if rank:
                self.lora_A = nn.Parameter(torch.zeros(rank, 4))
                self.lora_B = nn.Parameter(torch.zeros(4, rank))
            self.classifier = nn.Module()
            self.classifier.modules_to_save = nn.Linear(4, 2)
            self.classifier.modules_to_save.requires_grad_(head_trains)

    return Fake()


def test_qlora_model_structure() -> None:
    checks.check_qlora_model(_fake_quantized("Linear4bit", 8))
    wrong(checks.check_qlora_model, _fake_quantized(None, 8), phrase="no quantized layer")
    wrong(checks.check_qlora_model, _fake_quantized("Linear8bitLt", 8), phrase="8-bit")
    wrong(checks.check_qlora_model, _fake_quantized("Linear4bit", None), phrase="no LoRA")
    wrong(checks.check_qlora_model, _fake_quantized("Linear4bit", 8, head_trains=False),
          phrase="classifier does not train")  # fmt: skip
    incomplete(checks.check_qlora_model, None)


def test_real_equivalents() -> None:
    def right(bits, rank):
        return _fake_quantized("Linear8bitLt" if bits == 8 else "Linear4bit", rank)

    checks.check_real_equivalents(right)
    wrong(checks.check_real_equivalents, lambda bits, rank: _fake_quantized("Linear4bit", rank),
          phrase="bits argument is not used")  # fmt: skip
    wrong(checks.check_real_equivalents, lambda bits, rank: _fake_quantized(None, rank),
          phrase="BitsAndBytesConfig")  # fmt: skip
    wrong(checks.check_real_equivalents, lambda bits, rank: right(bits, 8), phrase="set_lora_rank")
    wrong(checks.check_real_equivalents, lambda bits, rank: right(bits, 4), phrase="rank 2")
    wrong(checks.check_real_equivalents, lambda bits, rank: right(bits, None), phrase="no LoRA")
    incomplete(checks.check_real_equivalents, lambda bits, rank: None)


def test_ratio_and_difference() -> None:
    checks.check_ratio("r", 0.6, 60, 100, hint="h")
    wrong(checks.check_ratio, "r", 100 / 60, 60, 100, hint="h", phrase="upside down")
    wrong(checks.check_ratio, "r", 0.4, 60, 100, hint="h", phrase="SAVING")
    checks.check_difference("d", -0.02, 0.80, 0.82, hint="h")
    checks.check_difference("d", -2.0, 0.80, 0.82, hint="h")
    wrong(checks.check_difference, "d", 0.02, 0.80, 0.82, hint="h", phrase="sign is reversed")


# --- practice 7: beyond the benchmark ---------------------------------------------------------------
def _leaky_task():
    train = ["a", "b", "b", "b", "b", "c", "win a prize", "call me"]
    test = ["win a prize", "win a prize", "call me", "Call me!", "new", "new", "new", "b"]
    return SimpleNamespace(train=SimpleNamespace(texts=train), test=SimpleNamespace(texts=test),
                           validation=SimpleNamespace(texts=["new"]))  # fmt: skip


def test_leak_count() -> None:
    task = _leaky_task()
    checks.check_leak_count(4, task)
    wrong(checks.check_leak_count, 3, task, phrase="DISTINCT texts", hidden=["4"])
    wrong(checks.check_leak_count, 6, task, phrase="TRAINING examples")
    wrong(checks.check_leak_count, 7, task, phrase="validation split")
    wrong(checks.check_leak_count, 5, task, phrase="near copies")
    incomplete(checks.check_leak_count, None, task)


def test_inflation() -> None:
    values = {"accuracy_all": 0.96, "accuracy_clean": 0.94, "accuracy_leaked": 1.0}
    checks.check_inflation(0.02, **values)
    checks.check_inflation(2.0, **values)  # percentage points
    wrong(checks.check_inflation, -0.02, **values, phrase="sign is reversed", hidden=[0.02])
    wrong(checks.check_inflation, 0.06, **values, phrase="whole test set with its clean part")
    incomplete(checks.check_inflation, ..., **values)


def test_inflation_from_labels_predictions_and_the_leak_mask() -> None:
    # practice 7, Q2: the check cell passes the arrays; the accuracies are computed inside it
    y_true = np.array([1, 0, 0, 1, 0, 0, 1, 0, 0, 0])
    y_pred = np.array([1, 0, 0, 1, 0, 1, 0, 0, 0, 0])  # wrong on two clean examples
    leaked = np.array([True, True, False, False, False, False, False, False, False, False])
    correct = y_pred == y_true
    inflation = correct.mean() - correct[~leaked].mean()  # 0.8 - 0.75
    result = checks.check_inflation(inflation, y_true, y_pred, leaked)
    assert "is right" in str(result)
    checks.check_inflation(100 * inflation, y_true, y_pred, leaked.tolist())  # points, a list
    wrong(checks.check_inflation, -inflation, y_true, y_pred, leaked, phrase="sign is reversed")
    wrong(checks.check_inflation, correct[leaked].mean() - correct[~leaked].mean(), y_true,
          y_pred, leaked, phrase="whole test set with its clean part")  # fmt: skip
    incomplete(checks.check_inflation, ..., y_true, y_pred, leaked)
    with pytest.raises(ValueError, match="together"):
        checks.check_inflation(inflation, y_true, y_pred)
    with pytest.raises(ValueError, match="same test examples"):
        checks.check_inflation(inflation, y_true, y_pred[:-1], leaked)
    with pytest.raises(ValueError, match="none or all"):
        checks.check_inflation(inflation, y_true, y_pred, np.zeros(10, dtype=bool))
    with pytest.raises(ValueError, match="three accuracies"):
        checks.check_inflation(inflation)


def test_percentiles() -> None:
    times = [0.010 + 0.001 * i for i in range(20)] + [0.2]
    ms = np.array(times) * 1000
    p50, p95 = np.percentile(ms, 50), np.percentile(ms, 95)
    checks.check_percentiles(p50, p95, times)
    checks.check_percentiles(np.percentile(ms, 50, method="lower"),
                             np.percentile(ms, 95, method="nearest"), times)  # fmt: skip
    wrong(checks.check_percentiles, p50 / 1000, p95, times, phrase="seconds")
    wrong(checks.check_percentiles, p50, np.percentile(ms, 0.95), times, phrase="np.quantile")
    wrong(checks.check_percentiles, p95, p50, times, phrase="swapped")
    wrong(checks.check_percentiles, ms.mean(), p95, times, phrase="MEAN")
    wrong(checks.check_percentiles, p50, ms.max(), times, phrase="slowest call")
    incomplete(checks.check_percentiles, None, p95, times)


def test_timings() -> None:
    times = [0.012, 0.011, 0.013] * 10
    checks.check_timings(times, repeats=30)
    checks.check_timings(np.array(times), repeats=30)
    wrong(checks.check_timings, [0.5, *times], repeats=30, phrase="warm-up")
    wrong(checks.check_timings, [0.01 * (i + 1) for i in range(30)], repeats=30,
          phrase="reset start")  # fmt: skip
    wrong(checks.check_timings, [0.0] * 30, repeats=30, phrase="0 or negative")
    incomplete(checks.check_timings, None, repeats=30)


def test_merged_model() -> None:
    config = LoraConfig(task_type=TaskType.SEQ_CLS, r=4, lora_alpha=8, target_modules=["query"],
                        init_lora_weights=False)  # fmt: skip
    inputs = {"input_ids": torch.tensor([[1, 5, 7, 2]])}

    def adapted():
        model = get_peft_model(_tiny_bert(init=0.5), config).eval()
        with torch.no_grad():
            return model, model(**inputs).logits

    model, reference = adapted()
    wrong(checks.check_merged, model, inputs, reference, phrase="still holds LoRA layers")
    checks.check_merged(model.merge_and_unload(), inputs, reference)
    model, reference = adapted()
    wrong(checks.check_merged, model.unload(), inputs, reference, phrase="WITHOUT merging")
    incomplete(checks.check_merged, None, inputs, reference)


def _typo(text, rate, rng):
    words = text.split()
    for i, word in enumerate(words):
        if len(word) >= 2 and rng.random() < rate:
            j = rng.randrange(len(word) - 1)
            words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    return " ".join(words)


def test_typo_function() -> None:
    checks.check_typo_function(_typo)
    wrong(checks.check_typo_function, lambda t, rate, rng: _typo(t, rate, random.Random()),
          phrase="same seed")  # fmt: skip
    wrong(checks.check_typo_function, lambda t, rate, rng: _typo(t, 0.5, rng), phrase="rate 0")
    wrong(checks.check_typo_function, lambda t, rate, rng: t, phrase="nothing changed")
    wrong(checks.check_typo_function, lambda t, rate, rng: _typo(t, rate, rng).split(),
          phrase="a str")  # fmt: skip
    wrong(checks.check_typo_function,
          lambda t, rate, rng: t if rate == 0 else _typo(t, rate, rng).replace(" ", ""),
          phrase="words")  # fmt: skip
    wrong(checks.check_typo_function,
          lambda t, rate, rng: t if rate == 0 else _typo(t, 0.5, random.Random(0)),
          phrase="rate decide")  # fmt: skip
    incomplete(checks.check_typo_function, lambda t, rate, rng: None)


def test_accuracy_drop() -> None:
    checks.check_accuracy_drop(0.04, clean=0.95, perturbed=0.91)
    checks.check_accuracy_drop(4.0, clean=0.95, perturbed=0.91)
    wrong(checks.check_accuracy_drop, -0.04, clean=0.95, perturbed=0.91, phrase="reversed")


def _run(accuracy=0.96):
    report = from_counts(tp=80, fn=20, fp=10, tn=690)
    record = {
        "config": {"method": "lora", "model": None},
        "task": "sms_spam",
        "data": {"dataset": "SMS Spam Collection", "licence": "CC BY 4.0"},
        "history": [{"eval_accuracy": 0.931, "eval_f1": 0.8}],
    }
    return SimpleNamespace(report=report, to_dict=lambda: record)


def _card(report, **changes):
    card = {
        "Model": "all-MiniLM-L6-v2",
        "method": "LoRA, rank 8",
        "dataset": "SMS Spam Collection",
        "license": "CC BY 4.0",
        "metrics": {m: getattr(report, m) for m in ("accuracy", "f1", "precision", "recall")},
        "intended use": "Flag likely spam SMS for a person to review.",
        "limitations": "Small English sample from 2011; typos lower the accuracy.",
    }
    card.update(changes)
    return card


def test_model_card() -> None:
    result = _run()
    clean = from_counts(tp=70, fn=20, fp=10, tn=600)
    checks.check_model_card(_card(clean), result, report=clean,
                            other_reports={"the whole test set": result.report})  # fmt: skip
    percent = _card(clean, metrics={k: 100 * v for k, v in _card(clean)["metrics"].items()})
    checks.check_model_card(percent, result, report=clean)
    wrong(checks.check_model_card, _card(result.report), result, report=clean,
          other_reports={"the whole test set": result.report}, phrase="the whole test set")  # fmt: skip
    wrong(checks.check_model_card, {"model": "x"}, result, phrase="missing field")
    wrong(checks.check_model_card, _card(clean, license="MIT"), result, report=clean,
          phrase="licence")  # fmt: skip
    wrong(checks.check_model_card, _card(clean, method="full fine-tuning"), result, report=clean,
          phrase="method field")  # fmt: skip
    wrong(checks.check_model_card, _card(clean, limitations="none"), result, report=clean,
          phrase="too short")  # fmt: skip
    validation = _card(clean, metrics=dict(_card(clean)["metrics"], accuracy=0.931))
    wrong(checks.check_model_card, validation, result, report=clean, phrase="VALIDATION")
    incomplete(checks.check_model_card, None, result)
    incomplete(checks.check_model_card, _card(clean, limitations=...), result, report=clean)


def test_every_check_is_exported() -> None:
    import inspect

    from labkit.checks import beyond, counts, evaluation, freezing, lora, parameters, qlora

    for module in (beyond, counts, evaluation, freezing, lora, parameters, qlora):
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("check_") and function.__module__ == module.__name__:
                assert getattr(checks, name) is function, name
