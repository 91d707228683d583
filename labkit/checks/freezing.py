"""Practice 2 (freezing): the data, the head, freezing with requires_grad, Trainer, evaluation."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from labkit.checks._core import (
    CheckResult,
    Mistake,
    as_number,
    check_value,
    close,
    fail,
    first,
    is_missing,
    mentions,
    read_choice,
    require,
    require_reason,
    show,
)

SPLITS = ("train", "validation", "test")
_SPLIT_NAMES = {"train": ("training", "train_split"), "validation": ("val", "valid", "dev", "eval"),
                "test": ("testing", "test_split")}  # fmt: skip


# --- the data ----------------------------------------------------------------------------------
def _read_shares(name: str, shares: object) -> dict[str, float]:
    require(name, shares)
    if isinstance(shares, Mapping):
        values = {}
        for key, value in shares.items():
            split = read_choice(name, str(key), _SPLIT_NAMES, what="split name")
            values[split] = as_number(f"{name}: {split}", value)
    elif isinstance(shares, Sequence) and not isinstance(shares, str) and len(shares) == 3:
        values = {s: as_number(f"{name}: {s}", v) for s, v in zip(SPLITS, shares, strict=True)}
    else:
        raise fail(name, "expected a dict {'train': ..., 'validation': ..., 'test': ...} (or a "
                   "list of the three shares in that order).")  # fmt: skip
    missing = [s for s in SPLITS if s not in values]
    if missing:
        raise fail(name, f"the share of {', '.join(missing)} is missing.")
    return values


def check_split_shares(shares: object, task: Any) -> CheckResult:
    """Each split's share of all examples (fractions or percentages; 2 decimals suffice)."""
    name = "split shares"
    given = _read_shares(name, shares)
    sizes = {s: len(task.splits[s]) for s in SPLITS}
    total = sum(sizes.values())
    expected = {s: sizes[s] / total for s in SPLITS}

    def matches(values: dict[str, float], scale: float = 1.0, tol: float = 0.006) -> bool:
        return all(abs(values[s] - scale * expected[s]) <= scale * tol for s in SPLITS)

    if matches(given):
        return CheckResult(name, "right.")
    if matches(given, 100.0):
        return CheckResult(name, "right (as percentages).")
    if all(close(given[s], sizes[s], 0, 0.5) for s in SPLITS):
        raise fail(name, "these are the numbers of examples; divide each by the total.")
    if close(given["train"], 1.0, 0, 1e-9) or close(given["train"], 100.0, 0, 1e-6):
        raise fail(name, "you divided by the size of the training split; divide by the number "
                   "of examples in all three splits.")  # fmt: skip
    if matches({"train": given["test"], "validation": given["validation"], "test": given["train"]}):
        raise fail(name, "train and test are swapped.")
    total_given = sum(given.values())
    if not (close(total_given, 1.0, 0, 0.02) or close(total_given, 100.0, 0, 2)):
        raise fail(name, f"your shares add up to {show(total_given)}; three shares of one data "
                   "set add up to 1 (or 100%).")  # fmt: skip
    raise fail(
        name,
        "not right. Hint: len(task.train) / (len(task.train) + "
        "len(task.validation) + len(task.test)), and the same for the other two.",
    )


def check_token_count(answer: object, tokenizer: Any, text: str) -> CheckResult:
    """How many tokens the model's tokenizer makes of ``text`` (with its special tokens)."""
    ids = tokenizer(text)["input_ids"]
    special = len(ids) - len(tokenizer(text, add_special_tokens=False)["input_ids"])
    mistakes = [
        Mistake(
            len(text.split()),
            "that is the number of WORDS (text.split()). The tokenizer "
            "cuts rare words into pieces and treats punctuation as tokens of its own.",
        ),
        Mistake(
            len(text),
            "that is the number of characters; count the token ids the tokenizer returns.",
        ),  # fmt: skip
        Mistake(
            len(ids) - special,
            f"that leaves out the {special} special tokens the "
            "tokenizer adds ([CLS] at the start, [SEP] at the end): the model sees them "
            "too.",
        ),  # fmt: skip
    ]
    return check_value(f"tokens in {text[:30]!r}...", answer, len(ids), rel=0, abs_tol=0.5,
                       mistakes=mistakes, hint="len(tokenizer(text)['input_ids']).")  # fmt: skip


# --- the head ----------------------------------------------------------------------------------
def _modules(model: Any) -> dict[str, Any]:
    return dict(model.named_modules())


def _has_params(module: Any) -> bool:
    return any(True for _ in module.parameters())


def _resolve(name: str, modules: dict[str, Any], label: str) -> list[str]:
    """Full module names a learner's name stands for (peft's rule: whole name or ending)."""
    if not isinstance(name, str):
        raise fail(label, f"module names are strings; got {name!r}.")
    found = [m for m in modules if m and (m == name or m.endswith("." + name))]
    if found:
        return found
    parent, _, last = name.rpartition(".")
    if last in ("weight", "bias") and any(m == parent or m.endswith("." + parent)
                                          for m in modules if m):  # fmt: skip
        raise fail(label, f"{name!r} is a PARAMETER name; give the module's name (without "
                   f".{last}): a module holds its weight and its bias.")  # fmt: skip
    raise fail(label, f"this model has no module called {name!r}; the names are the ones "
               "model.named_children() / model.named_modules() print.")  # fmt: skip


def _as_names(label: str, answer: object) -> list[str]:
    require(label, answer)
    if isinstance(answer, str):
        return [answer]
    if isinstance(answer, Iterable) and not isinstance(answer, Mapping):
        names = list(answer)
        if not names:
            raise fail(label, "the list is empty.")
        if any(is_missing(n) for n in names):
            raise fail(label, "no answer yet: a `...` is still in the list.")
        return names
    raise fail(label, f"expected a list of module names, got {answer!r}.")


def _inside(name: str, roots: Iterable[str]) -> bool:
    return any(name == r or name.startswith(r + ".") for r in roots)


def resolve_head(model: Any, head: object, label: str = "head modules") -> list[str]:
    """The full module names the learner's head list stands for (raises on a bad name)."""
    modules = _modules(model)
    resolved: list[str] = []
    for name in _as_names(label, head):
        found = _resolve(name, modules, label)
        with_params = [f for f in found if _has_params(modules[f])]
        if len(with_params) > 1:
            raise fail(label, f"{name!r} matches {len(with_params)} modules ({first(with_params, 2)}"
                       "): give a name that picks one.")  # fmt: skip
        resolved += with_params
    return sorted(set(resolved))


def check_head(head: object, model: Any) -> CheckResult:
    """The modules the classification model adds on top of its pretrained body.

    Accepts the new classifier alone or with BERT's pooler (which feeds it), in any spelling
    that names those modules (short or full names).
    """
    from labkit.methods import head_modules

    label = "head modules"
    allowed = head_modules(model)
    required = list(getattr(model, "labkit_new_modules", None) or [])
    prefix = getattr(model, "base_model_prefix", "")
    names = resolve_head(model, head, label)
    for name in names:
        if not _inside(name, allowed):
            if name == prefix:
                raise fail(label, f"{name!r} is the whole pretrained model (the body): freezing "
                           "everything but it would train almost everything.")  # fmt: skip
            raise fail(
                label,
                f"{name!r} is part of the pretrained body (it came with the "
                "checkpoint), not of the head the classification model adds on top.",
            )
    missing = [r for r in required if not _inside(r, names) and not any(_inside(n, [r])
                                                                         for n in names)]  # fmt: skip
    if missing:
        raise fail(label, "the layer that turns the encoder's output into one score per label "
                   "is missing: it is the one that was created new, with random weights, when "
                   "the model was loaded.")  # fmt: skip
    return CheckResult(label, f"{names} form the head.")


# --- freezing ----------------------------------------------------------------------------------
def _trainable(model: Any) -> tuple[list[str], list[str]]:
    params = list(model.named_parameters())
    return [n for n, p in params if p.requires_grad], [n for n, _ in params]


def _compare_trainable(label: str, model: Any, should: set[str]) -> None:
    trainable, names = _trainable(model)
    train = set(trainable)
    if train == should:
        return
    everything = set(names)
    if train == everything:
        raise fail(label, "nothing is frozen: every parameter still has requires_grad=True. "
                   "Set it to False on the parameters that should not train.")  # fmt: skip
    if not train:
        raise fail(label, "everything is frozen, the head too: the head must train "
                   "(requires_grad=True), or training changes nothing.")  # fmt: skip
    if train == everything - should:
        raise fail(label, "the condition is inverted: the body trains and the head is frozen.")
    frozen_head = sorted(should - train)
    if frozen_head:
        raise fail(label, f"{len(frozen_head)} parameter(s) that should train are frozen, e.g. "
                   f"{first(frozen_head, 2)}.")  # fmt: skip
    extra = sorted(train - should)
    raise fail(label, f"{len(extra)} parameter(s) still train that should be frozen, e.g. "
               f"{first(extra, 2)}.")  # fmt: skip


def check_frozen(model: Any, head: object) -> CheckResult:
    """Only the head's parameters train; everything else has requires_grad=False."""
    label = "frozen body"
    roots = resolve_head(model, head)
    _, names = _trainable(model)
    should = {n for n in names if _inside(n, roots)}
    _compare_trainable(label, model, should)
    return CheckResult(label, f"{len(should)} of {len(names)} parameter tensors train: the "
                       "head's.")  # fmt: skip


def check_trainable_count(answer: object, model: Any) -> CheckResult:
    """The number of trainable parameters (elements, not tensors)."""
    params = list(model.parameters())
    trainable = sum(p.numel() for p in params if p.requires_grad)
    total = sum(p.numel() for p in params)
    mistakes = [
        Mistake(total, "that is ALL parameters; keep only those with p.requires_grad."),
        Mistake(
            total - trainable, "that counts the FROZEN parameters; keep those with p.requires_grad."
        ),  # fmt: skip
        Mistake(
            sum(1 for p in params if p.requires_grad),
            "that counts parameter TENSORS; add up p.numel(), the number of entries of each.",
        ),  # fmt: skip
        Mistake(
            len(params),
            "that counts all parameter tensors; add up p.numel() of the trainable ones.",
        ),  # fmt: skip
    ]
    return check_value("trainable parameters", answer, trainable, rel=0, abs_tol=0.5,
                       mistakes=mistakes, hint="sum(p.numel() for p in model.parameters() if "
                       "p.requires_grad).")  # fmt: skip


_LAYER = re.compile(r"\.(?:layer|layers|h|block)\.(\d+)\.")


def check_last_layers(model: Any, *, n: int, head: object) -> CheckResult:
    """The head and the last ``n`` encoder layers train; the rest is frozen."""
    label = f"last {n} layers"
    roots = resolve_head(model, head)
    _, names = _trainable(model)
    index = {name: int(m.group(1)) for name in names if (m := _LAYER.search(name))}
    layers = sorted(set(index.values()))
    last = set(layers[-n:])
    should = {x for x in names if _inside(x, roots) or index.get(x) in last}
    trainable = set(_trainable(model)[0])
    if trainable == should:
        return CheckResult(label, f"layers {sorted(last)} and the head train.")
    trained_layers = sorted({index[x] for x in trainable if x in index})
    if set(trained_layers) == set(layers[:n]):
        raise fail(label, f"you unfroze the FIRST {n} layers, {trained_layers}. Layer 0 sits "
                   "next to the embeddings; the last layers are the ones with the highest "
                   "numbers.")  # fmt: skip
    if (
        trained_layers
        and set(trained_layers) != last
        and all({x for x in names if index.get(x) == i} <= trainable for i in trained_layers)
    ):
        raise fail(label, f"layers {trained_layers} train; the text asks for the last {n} of "
                   f"the {len(layers)} layers.")  # fmt: skip
    if any("embeddings" in x for x in trainable):
        raise fail(label, "the embeddings train too; they belong to the frozen body.")
    _compare_trainable(label, model, should)
    raise AssertionError("unreachable")  # pragma: no cover


def check_training_arguments(args: object, *, epochs: float, batch_size: int,
                             learning_rate: float) -> CheckResult:  # fmt: skip
    """``TrainingArguments`` with evaluation every epoch and the asked sizes."""
    name = "TrainingArguments"
    require(name, args)
    from transformers import TrainingArguments

    if not isinstance(args, TrainingArguments):
        raise fail(name, f"expected TrainingArguments(...), got {type(args).__name__}.")
    strategy = str(getattr(args.eval_strategy, "value", args.eval_strategy))
    if strategy != "epoch":
        raise fail(name, f"eval_strategy is {strategy!r}: ask for an evaluation at the end of "
                   "every epoch (eval_strategy='epoch'; older tutorials call it "
                   "evaluation_strategy).")  # fmt: skip
    if not close(float(args.num_train_epochs), float(epochs), 0, 1e-9):
        raise fail(name, f"num_train_epochs is {args.num_train_epochs:g}; the text asks for a "
                   "different number of epochs.")  # fmt: skip
    if args.per_device_train_batch_size != batch_size:
        if args.per_device_eval_batch_size == batch_size:
            raise fail(name, "you set the EVALUATION batch size; the training batch is "
                       "per_device_train_batch_size.")  # fmt: skip
        raise fail(name, f"per_device_train_batch_size is {args.per_device_train_batch_size}; "
                   "the text asks for a different batch size.")  # fmt: skip
    if not close(args.learning_rate, learning_rate, 1e-9, 0):
        if close(args.learning_rate, 5e-5, 1e-9, 0):
            raise fail(name, "learning_rate is still the default 5e-05; set the one the text "
                       "asks for.")  # fmt: skip
        raise fail(name, f"learning_rate is {args.learning_rate:g}; the text asks for another.")
    return CheckResult(name, "evaluation every epoch, and the asked epochs, batch size and "
                       "learning rate.")  # fmt: skip


# --- evaluation --------------------------------------------------------------------------------
def _split_metrics(trainer: Any, split: str) -> dict[str, float]:
    encoded = getattr(trainer, "labkit_encoded", None)
    if encoded is None:
        raise fail("evaluation", "build the trainer with labkit.make_trainer(...) so the check "
                   "can find the encoded splits.")  # fmt: skip
    metrics = trainer.predict(encoded[split]).metrics
    return {k.removeprefix("test_"): float(v) for k, v in metrics.items()}


def check_evaluation(val_accuracy: object, test_accuracy: object, trainer: Any) -> CheckResult:
    """Accuracy on the validation split and on the test split (fractions or percentages)."""
    require("validation accuracy", val_accuracy)
    require("test accuracy", test_accuracy)
    val = _split_metrics(trainer, "validation")
    test = _split_metrics(trainer, "test")
    check_value("validation accuracy", val_accuracy, val["accuracy"], rel=1e-6, percent=True,
                hint="trainer.evaluate() returns a dict; its 'eval_accuracy' entry.",
                mistakes=[
                    Mistake(test["accuracy"], "that is the TEST accuracy; the validation split "
                            "is the one trainer.evaluate() uses by default."),
                    Mistake(val["loss"], "that is the validation LOSS, not the accuracy."),
                    Mistake(val["f1"], "that is the validation F1, not the accuracy."),
                ])  # fmt: skip
    check_value("test accuracy", test_accuracy, test["accuracy"], rel=1e-6, percent=True,
                hint="pass the test split: trainer.evaluate(trainer.labkit_encoded['test']).",
                mistakes=[
                    Mistake(val["accuracy"], "that is the VALIDATION accuracy again: pass the "
                            "test split, trainer.evaluate(trainer.labkit_encoded['test'])."),
                    Mistake(test["loss"], "that is the test LOSS, not the accuracy."),
                    Mistake(test["f1"], "that is the test F1, not the accuracy."),
                ])  # fmt: skip
    return CheckResult("evaluation", "validation and test accuracy are right.")


EFFECTS = {"better": ("higher", "improved", "improves", "up", "increase", "increased"),
           "worse": ("lower", "hurt", "hurts", "down", "decrease", "decreased", "dropped"),
           "same": ("no change", "unchanged", "similar", "equal", "no effect", "none")}  # fmt: skip


def check_tuning_effect(effect: object, reason: object, *, before: float, after: float,
                        tolerance: float | None = None, n_examples: int | None = None,
                        loss_before: float | None = None, loss_after: float | None = None,
                        keywords: Sequence[str] = ()) -> CheckResult:  # fmt: skip
    """Did the change make validation accuracy better, worse or leave it the same?

    A change within the noise of one run counts as "same": up to ``tolerance`` (a share, 0.01
    when neither it nor ``n_examples`` is given), and never less than two validation examples
    when ``n_examples`` (the size of the validation split) is given. On 64 sentences accuracy
    moves in steps of 1/64, and a difference of one or two sentences says nothing. With
    ``loss_before``/``loss_after`` (the two runs' validation losses) the feedback points at the
    loss, which can separate runs whose accuracies are within the noise.
    """
    name = "effect of the change"
    chosen = read_choice(name, effect, EFFECTS, what="effect")
    text = require_reason(name, reason)
    if n_examples is not None and (int(n_examples) != n_examples or n_examples < 1):
        raise ValueError(f"n_examples={n_examples!r}: give the number of validation examples.")
    floor = 2 / n_examples if n_examples else 0.0
    band = max(tolerance if tolerance is not None else (0.0 if n_examples else 0.01), floor)
    change = after - before
    expected = "same" if abs(change) <= band + 1e-9 else "better" if change > 0 else "worse"
    size = f"{change:+.3f}"
    if n_examples:
        k = round(abs(change) * n_examples)
        size += f", {k} of {n_examples} validation example{'' if k == 1 else 's'}"
    moved = f"validation accuracy went from {before:.3f} to {after:.3f} ({size})"
    noise = f"up to {band:.3f}" + (
        ", two validation examples" if n_examples and band == floor else ""
    )
    losses = loss_before is not None and loss_after is not None
    if chosen != expected:
        if expected == "same":
            message = (f"{moved}: a difference that small is within the noise of a single run "
                       f"({noise}), so on accuracy it is no real change.")  # fmt: skip
            if losses:
                message += (f" The validation loss ({loss_before:.3f} -> {loss_after:.3f}) is "
                            "the finer signal; say in the reason what it shows.")  # fmt: skip
            raise fail(name, message)
        if chosen == "same":
            raise fail(name, f"{moved}: more than the noise of a single run ({noise}), so it "
                       "counts as a real change; which way did it go?")  # fmt: skip
        raise fail(name, f"compare the numbers again: {moved}.")
    if keywords and not mentions(text, keywords):
        raise fail(name, "the effect is right; now say in the reason what the change does to "
                   "training (e.g. how far each step moves the weights).")  # fmt: skip
    message = f"{chosen}: right ({before:.3f} -> {after:.3f}, {size})."
    if expected == "same":
        message += f" Within the noise of one run ({noise})."
        if losses:
            message += (f" Accuracy cannot tell the two runs apart; the validation loss can: "
                        f"{loss_before:.3f} -> {loss_after:.3f}.")  # fmt: skip
    return CheckResult(name, message)
