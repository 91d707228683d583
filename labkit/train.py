"""Training runs: ``labkit.run(task, method, ...)`` -> ``RunResult``.

The Hugging Face ``Trainer`` does the training (so ``accelerate launch`` and ``torchrun`` scale
it unchanged); labkit adds the course's plumbing around it: option checks before anything heavy,
tokenising once with dynamic padding, a loss-divergence guard, checkpoints every epoch with
``resume=True``, the test report, the efficiency ledger and an atomic ``save``.
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from labkit import methods as peft_methods
from labkit._quiet import quiet_libraries
from labkit.errors import ConfigError, OutOfMemoryError, TrainingDivergedError
from labkit.models import check_quantization, load_model, require_quantization_backend
from labkit.profiles import get_profile


@dataclass
class RunConfig:
    """Everything that defines a run; saved in the run record."""

    method: str = "lora"
    model: str | None = None
    quantization: str | None = None
    rank: int = 8
    alpha: float | None = None
    dropout: float = 0.1
    targets: str | list[str] = "attention"
    last_n: int = 2
    epochs: float = 3
    batch_size: int = 32
    eval_batch_size: int = 128
    learning_rate: float = 1e-3
    max_length: int = 48
    seed: int = 0
    profile: str = "quick"
    early_stopping_patience: int | None = None
    gradient_checkpointing: bool = False
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06

    def validate(self) -> None:
        """Raise ConfigError for any option that cannot work, before a model is loaded."""
        if self.method not in peft_methods.METHODS:
            raise ConfigError(
                f"Unknown method {self.method!r}: use one of {list(peft_methods.METHODS)} "
                "(QLoRA is method='lora' with quantization='4bit-nf4')."
            )
        self.quantization = check_quantization(self.quantization)
        if self.quantization and self.method != "lora":
            raise ConfigError(
                f"method={self.method!r} with quantization={self.quantization!r}: quantized "
                "weights are frozen, so only LoRA can train on them (that is QLoRA). Use "
                "method='lora', or quantization=None."
            )
        for name in ("epochs", "batch_size", "eval_batch_size", "learning_rate", "max_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"{name} must be a positive number, got {value!r}.")
        for name in ("batch_size", "eval_batch_size", "max_length"):
            if not isinstance(getattr(self, name), int):
                raise ConfigError(f"{name} must be an integer, got {getattr(self, name)!r}.")
        if self.method == "lora":
            alpha = (
                2 * self.rank if self.alpha is None and isinstance(self.rank, int) else self.alpha
            )
            peft_methods.validate_lora_options(self.rank, alpha, self.dropout)


@dataclass
class RunResult:
    """What a run produced: the test report, the history, the ledger and the trained model."""

    config: dict[str, Any]
    report: Any
    history: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    ledger: dict[str, Any]
    task_name: str
    label_names: list[str]
    data_fingerprint: str
    output_dir: str
    model: Any = field(default=None, repr=False)
    tokenizer: Any = field(default=None, repr=False)
    test_scores: Any = field(default=None, repr=False)

    @property
    def accuracy(self) -> float:
        return self.report.accuracy

    @property
    def f1(self) -> float:
        return self.report.f1

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (no model)."""
        return {
            "task": self.task_name,
            "label_names": self.label_names,
            "data_fingerprint": self.data_fingerprint,
            "config": self.config,
            "metrics": self.report.to_dict(),
            "history": self.history,
            "steps": self.steps,
            "ledger": self.ledger,
            "output_dir": self.output_dir,
        }

    def summary(self) -> str:
        """A few readable lines: method, accuracy/F1, parameters, memory and time."""
        c, r, led = self.config, self.report, self.ledger
        quant = f" + {c['quantization']}" if c.get("quantization") else ""
        lines = [
            f"{c['method']}{quant} on {self.task_name} (seed {c['seed']}, {c['epochs']} epochs)",
            f"  test accuracy {r.accuracy:.4f}   F1 {r.f1:.4f}   precision {r.precision:.4f}"
            f"   recall {r.recall:.4f}",
            f"  trainable {led['trainable_params']:,} of {led['total_params']:,} parameters "
            f"({led['trainable_percent']:.2f}%)",
            f"  footprint {led['footprint_mb']:.1f} MB   peak memory +{led['peak_memory_mb']:.0f} MB"
            f" ({led['peak_memory_kind']})",
            f"  train time {led['train_seconds']:.1f} s   {led['train_examples_per_s']:.1f} "
            "examples/s",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"RunResult(\n{self.summary()}\n)"

    def save(self, path: str | Path) -> Path:
        """Write the adapter (safetensors) and the run record to ``path``, atomically."""
        from labkit.adapters import save_adapter

        return save_adapter(self, path)


def _encode(split: Any, tokenizer: Any, max_length: int) -> list[dict[str, Any]]:
    encoded = tokenizer(list(split.texts), truncation=True, max_length=max_length)
    return [
        {"input_ids": ids, "attention_mask": mask, "labels": int(label)}
        for ids, mask, label in zip(
            encoded["input_ids"], encoded["attention_mask"], split.labels, strict=True
        )
    ]


def _precision_flags(device: str) -> dict[str, bool]:
    import torch

    if device != "cuda":
        return {"bf16": False, "fp16": False}
    bf16 = torch.cuda.is_bf16_supported()
    return {"bf16": bf16, "fp16": not bf16}


def _learning_rate(config: RunConfig, profile: Any, given: float | None) -> float:
    if given is not None:
        return given
    return profile.learning_rate_for(config.method)


def _callbacks(config: RunConfig) -> list[Any]:
    from transformers import EarlyStoppingCallback, TrainerCallback

    class DivergenceGuard(TrainerCallback):
        """Stop with a clear message when the loss becomes NaN/inf or explodes."""

        first: float | None = None

        def on_log(self, args, state, control, logs=None, **kwargs):
            loss = (logs or {}).get("loss")
            if loss is None:
                return
            if self.first is None and math.isfinite(loss):
                self.first = loss
            if not math.isfinite(loss) or (self.first and loss > 10 * max(self.first, 1.0)):
                raise TrainingDivergedError(
                    f"The training loss became {loss} at step {state.global_step} (it started at "
                    f"{self.first}): training diverged. Lower the learning rate (now "
                    f"{args.learning_rate:g}; try a tenth of it), train in fp32 instead of "
                    "fp16, or use a smaller LoRA rank/alpha."
                )

    callbacks: list[Any] = [DivergenceGuard()]
    if config.early_stopping_patience:
        callbacks.append(
            EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience)
        )
    return callbacks


def _history(log_history: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    steps = [
        {"step": e["step"], "epoch": round(e["epoch"], 4), "loss": e["loss"]}
        for e in log_history
        if "loss" in e and "eval_loss" not in e
    ]
    history = []
    previous_epoch = 0.0
    for e in log_history:
        if "eval_loss" not in e:
            continue
        epoch = e["epoch"]
        losses = [s["loss"] for s in steps if previous_epoch < s["epoch"] <= epoch + 1e-9]
        row = {
            "epoch": round(epoch, 4),
            "step": e["step"],
            "train_loss": sum(losses) / len(losses) if losses else None,
        }
        row.update({k: v for k, v in e.items() if k.startswith("eval_") and "runtime" not in k
                    and "per_second" not in k})  # fmt: skip
        history.append(row)
        previous_epoch = epoch
    return history, steps


def run(
    task: Any,
    method: str = "lora",
    *,
    model: str | None = None,
    quantization: str | None = None,
    rank: int = 8,
    alpha: float | None = None,
    dropout: float = 0.1,
    targets: str | list[str] = "attention",
    last_n: int = 2,
    epochs: float | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    max_length: int | None = None,
    seed: int = 0,
    profile: str | None = None,
    limit: int | None = None,
    output_dir: str | Path | None = None,
    resume: bool = False,
    early_stopping_patience: int | None = None,
    gradient_checkpointing: bool = False,
    progress: bool = True,
) -> RunResult:
    """Fine-tune ``model`` (default: the bundled MiniLM) on ``task`` with a PEFT ``method``.

    ``task`` is a ``labkit.data.Task`` or anything ``load_task`` accepts ("reviews", "fraud",
    a file path, a Hub name). QLoRA is ``method="lora"`` with ``quantization="4bit-nf4"``.
    Sizes come from the ``profile`` ("quick" on a CPU, "full" on a GPU) unless given.
    Checkpoints are written each epoch to ``output_dir``; ``resume=True`` continues from the
    last one. Returns a ``RunResult`` whose ``.report`` is measured on the test split.
    """
    sizes = get_profile(profile).with_overrides(
        epochs=epochs, batch_size=batch_size, max_length=max_length
    )
    config = RunConfig(
        method=method, model=model, quantization=quantization, rank=rank, alpha=alpha,
        dropout=dropout, targets=targets, last_n=last_n, epochs=sizes.epochs,
        batch_size=sizes.batch_size, eval_batch_size=sizes.eval_batch_size,
        learning_rate=learning_rate if learning_rate is not None else 1.0, max_length=sizes.max_length,
        seed=seed, profile=sizes.name, early_stopping_patience=early_stopping_patience,
        gradient_checkpointing=gradient_checkpointing,
    )  # fmt: skip
    config.validate()
    config.learning_rate = _learning_rate(config, sizes, learning_rate)
    if resume and output_dir is None:
        raise ConfigError("resume=True needs the output_dir of the interrupted run.")
    require_quantization_backend(config.quantization)
    if isinstance(task, (str, Path)):
        from labkit.data import load_task

        task = load_task(task, seed=seed, limit=limit)
    return _train(task, config, output_dir, resume, progress)


def _train(task: Any, config: RunConfig, output_dir: Any, resume: bool, progress: bool):
    quiet_libraries()
    import torch
    from transformers import (
        DataCollatorWithPadding,
        PrinterCallback,
        Trainer,
        TrainingArguments,
        set_seed,
    )
    from transformers.trainer_utils import get_last_checkpoint

    from labkit.ledger import build_ledger
    from labkit.measure import PeakMemory
    from labkit.metrics import evaluate

    device = "cuda" if torch.cuda.is_available() else "cpu"
    net, tokenizer = load_model(
        config.model, num_labels=len(task.label_names), quantization=config.quantization,
        label_names=list(task.label_names), seed=config.seed,
    )  # fmt: skip
    set_seed(config.seed)
    net = peft_methods.apply(
        net, config.method, last_n=config.last_n, rank=config.rank, alpha=config.alpha,
        dropout=config.dropout, targets=config.targets,
        gradient_checkpointing=config.gradient_checkpointing,
    )  # fmt: skip
    train_set = _encode(task.train, tokenizer, config.max_length)
    eval_set = _encode(task.validation, tokenizer, config.max_length)
    test_set = _encode(task.test, tokenizer, config.max_length)

    output_dir = Path(output_dir or tempfile.mkdtemp(prefix="labkit-run-"))
    steps_per_epoch = math.ceil(len(train_set) / config.batch_size)
    args = TrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=int(config.warmup_ratio * steps_per_epoch * config.epochs),
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=2,
        load_best_model_at_end=bool(config.early_stopping_patience),
        metric_for_best_model="eval_loss",
        logging_strategy="steps",
        logging_steps=max(1, steps_per_epoch // 8),
        logging_nan_inf_filter=False,
        seed=config.seed,
        data_seed=config.seed,
        use_cpu=device == "cpu",
        report_to="none",
        disable_tqdm=not progress,
        dataloader_num_workers=0,
        # Classification losses are per-example means; with token averaging on, Trainer scales
        # a peft model's loss by the number of processes (DDP then doubles the step size).
        average_tokens_across_devices=False,
        **_precision_flags(device),
    )

    def compute_metrics(prediction: Any) -> dict[str, float]:
        logits, labels = prediction
        report = evaluate(labels, logits.argmax(-1), labels=list(range(len(task.label_names))))
        return {"accuracy": report.accuracy, "f1": report.f1}

    trainer = Trainer(
        model=net,
        args=args,
        train_dataset=train_set,
        eval_dataset=eval_set,
        data_collator=DataCollatorWithPadding(tokenizer),
        processing_class=tokenizer,
        compute_metrics=compute_metrics,
        callbacks=_callbacks(config),
    )
    if not progress:
        trainer.remove_callback(PrinterCallback)
    checkpoint = get_last_checkpoint(str(output_dir)) if resume and output_dir.is_dir() else None
    if resume and checkpoint is None:
        raise ConfigError(
            f"resume=True, but {output_dir} has no checkpoint-* folder to resume from. Run "
            "without resume, or pass the output_dir of the interrupted run."
        )
    try:
        with PeakMemory(device=device) as memory:
            started = time.perf_counter()
            trainer.train(resume_from_checkpoint=checkpoint)
            train_seconds = time.perf_counter() - started
    except torch.cuda.OutOfMemoryError as error:
        raise OutOfMemoryError(
            f"The GPU ran out of memory at batch size {config.batch_size}: {error}. Try a smaller "
            "batch (batch_size=8), 4-bit QLoRA (method='lora', quantization='4bit-nf4'), "
            "gradient_checkpointing=True, or a shorter max_length."
        ) from error

    prediction = trainer.predict(test_set)
    scores = torch.softmax(torch.as_tensor(prediction.predictions).float(), dim=-1).numpy()
    labels = list(range(len(task.label_names)))
    report = evaluate(
        task.test.labels, scores.argmax(-1), y_score=scores if len(labels) > 2 else scores[:, 1],
        labels=labels, label_names=list(task.label_names),
    )  # fmt: skip
    history, steps = _history(trainer.state.log_history)
    trained_epochs = trainer.state.epoch or config.epochs
    ledger = build_ledger(
        trainer.model, config, memory=memory, device=device, train_seconds=train_seconds,
        train_examples=len(train_set) * trained_epochs, tokenizer=tokenizer, sample=test_set,
        processes=trainer.args.world_size,
    )  # fmt: skip
    return RunResult(
        config=asdict(config), report=report, history=history, steps=steps, ledger=ledger,
        task_name=getattr(task, "name", "task"), label_names=list(task.label_names),
        data_fingerprint=task.fingerprint(), output_dir=str(output_dir), model=trainer.model,
        tokenizer=tokenizer, test_scores=scores,
    )  # fmt: skip
