"""Training runs, as building blocks and as one line.

The lessons build the objects they teach themselves (``LoraConfig``, ``BitsAndBytesConfig``,
``TrainingArguments``) and hand them to labkit for the plumbing::

    model, tokenizer = labkit.load_model(quantization_config=BitsAndBytesConfig(...))
    model = get_peft_model(prepare_model_for_kbit_training(model), LoraConfig(...))
    args = TrainingArguments(output_dir="runs/qlora", eval_strategy="epoch", ...)
    result = labkit.fit(model, tokenizer, task, args)          # -> RunResult

``fit`` is ``make_trainer`` (tokenise once, dynamic padding, metrics each epoch, a divergence
guard), a measured ``trainer.train()``, and ``finish`` (test report, efficiency ledger).
``labkit.run(task, "qlora4")`` is the one-line path built on the same blocks. The Hugging Face
``Trainer`` does the training, so ``accelerate launch`` and ``torchrun`` scale it unchanged.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from labkit import catalog
from labkit._quiet import quiet_libraries
from labkit.errors import (
    ConfigError,
    OutOfMemoryError,
    TrainingDivergedError,
    TrainingIneffectiveError,
)
from labkit.profiles import get_profile


@dataclass
class RunConfig:
    """Everything that defines a run; saved in the run record."""

    method: str = "lora"
    model: str | None = None
    quantization: str | None = None
    double_quant: bool = True
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
    precision: str = "fp32"
    pooling: str = "cls"
    compute_dtype: str | None = None

    @property
    def name(self) -> str:
        """The run name of the catalog: "lora", "qlora4", ..."""
        return catalog.run_name(self.method, self.quantization)

    def validate(self) -> None:
        """Raise ConfigError for any option that cannot work, before a model is loaded."""
        from labkit import methods as peft_methods

        self.method, self.quantization = catalog.resolve_run_name(self.method, self.quantization)
        if self.quantization and self.method != "lora":
            raise ConfigError(
                f"method={self.method!r} with quantization={self.quantization!r}: quantized "
                "weights are frozen, so only LoRA can train on them (that is QLoRA). Use "
                "method='qlora4' (or 'qlora8'), or quantization=None."
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
        if self.compute_dtype is not None:
            if self.compute_dtype not in COMPUTE_DTYPES:
                raise ConfigError(
                    f"compute_dtype={self.compute_dtype!r}: use one of {sorted(COMPUTE_DTYPES)} "
                    "(or None: bf16 on a GPU with native bf16, fp16 on older GPUs, fp32 on a CPU)."
                )
            if not str(self.quantization).startswith("4bit"):
                raise ConfigError(
                    f"compute_dtype={self.compute_dtype!r} is what 4-bit layers compute in; this "
                    f"run ({self.name}) has none. Use it with 'qlora4' or 'qlora4-fp4'."
                )
        if self.pooling not in ("cls", "mean"):
            raise ConfigError(
                f"pooling={self.pooling!r}: use 'cls' (the [CLS] vector through the pooler) or "
                "'mean' (the mean of the token vectors)."
            )


COMPUTE_DTYPES = ("bf16", "fp16", "fp32")


def _epochs(n: float) -> str:
    """ "1 epoch", "3 epochs", "0.5 epochs"."""
    return f"{n:g} epoch" + ("" if n == 1 else "s")


def _torch_dtype(name: str | None) -> Any:
    import torch

    return {None: None, "bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[name]


@dataclass
class RunResult:
    """What a run produced: the test report, the history, the ledger, the model and the task.

    ``task`` is kept so threshold and ROC lessons can reach the test labels and texts without
    reloading data; ``test_scores`` are the class probabilities on the test split.
    """

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
    task: Any = field(default=None, repr=False)
    data_meta: dict[str, Any] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return self.report.accuracy

    @property
    def f1(self) -> float:
        return self.report.f1

    @property
    def test_labels(self) -> list[int]:
        """The true label ids of the test split (in the order of ``test_scores``)."""
        if self.task is None:
            raise ConfigError("This RunResult has no task (it was read from a record).")
        return list(self.task.test.labels)

    @property
    def positive_scores(self) -> Any:
        """Probability of the positive class (label id 1) per test example (binary tasks)."""
        if self.test_scores is None or len(self.label_names) != 2:
            raise ConfigError("positive_scores exist for binary tasks with stored test scores.")
        return self.test_scores[:, 1]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (no model)."""
        return {
            "task": self.task_name,
            "label_names": self.label_names,
            "data_fingerprint": self.data_fingerprint,
            "data": self.data_meta,
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
            f"{c['method']}{quant} on {self.task_name} (seed {c['seed']}, {_epochs(c['epochs'])})",
            f"  test accuracy {r.accuracy:.4f}   F1 {r.f1:.4f}   precision {r.precision:.4f}"
            f"   recall {r.recall:.4f}   (positive class: {r.positive_name})"
            if r.is_binary
            else f"  test accuracy {r.accuracy:.4f}   macro F1 {r.f1:.4f}",
            f"  trainable {led['trainable_params']:,} of {led['total_params']:,} parameters "
            f"({led['trainable_percent']:.2f}%)",
            f"  memory: model {led['footprint_mb']:.1f} MB + training peak "
            f"{led['train_peak_mb']:.0f} MB = total {led['total_memory_mb']:.0f} MB "
            f"({led['peak_memory_kind']})",
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


# --- building blocks -----------------------------------------------------------------------
def encode(task: Any, tokenizer: Any, max_length: int = 48) -> dict[str, list[dict[str, Any]]]:
    """Tokenise every split of ``task`` once (no padding: the collator pads each batch).

    Returns ``{"train": rows, "validation": rows, "test": rows}``; each row holds
    ``input_ids``, ``attention_mask`` and ``labels``, the form ``Trainer`` expects.
    """
    if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 2:
        raise ConfigError(f"max_length must be an integer >= 2, got {max_length!r}.")
    encoded = {}
    for name, split in task.splits.items():
        tokens = tokenizer(list(split.texts), truncation=True, max_length=max_length)
        encoded[name] = [
            {"input_ids": ids, "attention_mask": mask, "labels": int(label)}
            for ids, mask, label in zip(
                tokens["input_ids"], tokens["attention_mask"], split.labels, strict=True
            )
        ]
    return encoded


def divergence_guard() -> Any:
    """A ``TrainerCallback`` that stops a run whose loss becomes NaN/inf or explodes."""
    from transformers import TrainerCallback

    class DivergenceGuard(TrainerCallback):
        first: float | None = None

        def on_log(self, args, state, control, logs=None, **kwargs):
            loss = (logs or {}).get("loss")
            if loss is None:
                return
            if self.first is None and math.isfinite(loss):
                self.first = loss
            if not math.isfinite(loss) or (self.first and loss > 10 * max(self.first, 1.0)):
                raise TrainingDivergedError(
                    f"The training loss became {loss} at step {state.global_step} (it started "
                    f"at {self.first}): training diverged. Lower the learning rate (now "
                    f"{args.learning_rate:g}; try a tenth of it), train in fp32 instead of "
                    "fp16, or use a smaller LoRA rank/alpha."
                )

    return DivergenceGuard()


def _compute_metrics(num_labels: int):
    from labkit.metrics import evaluate

    def compute_metrics(prediction: Any) -> dict[str, float]:
        logits, labels = prediction
        report = evaluate(labels, logits.argmax(-1), labels=list(range(num_labels)))
        return {"accuracy": report.accuracy, "f1": report.f1}

    return compute_metrics


def make_trainer(
    model: Any,
    tokenizer: Any,
    task: Any,
    args: Any,
    *,
    max_length: int = 48,
    callbacks: list[Any] | tuple[Any, ...] = (),
    encoded: dict[str, list[dict[str, Any]]] | None = None,
) -> Any:
    """A ``Trainer`` for ``model`` on ``task`` with the notebook's ``TrainingArguments``.

    labkit adds the plumbing: the splits tokenised once (``encode``), dynamic padding, accuracy
    and F1 on the validation split at each evaluation, and a guard that stops a diverging run
    with advice. The trainer keeps the encoded splits as ``trainer.labkit_encoded``. 4-bit
    layers are kept trainable across evaluations (:func:`labkit.models.keep_4bit_layers_trainable`).
    """
    quiet_libraries()
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    if not isinstance(args, TrainingArguments):
        raise ConfigError(
            f"args must be a transformers.TrainingArguments, got {type(args).__name__}. Write "
            "TrainingArguments(output_dir=..., eval_strategy='epoch', ...) (older tutorials "
            "call eval_strategy 'evaluation_strategy': renamed in transformers 4.41, the old name was "
            "removed in 4.51)."
        )
    encoded = encoded or encode(task, tokenizer, max_length)
    from labkit.models import keep_4bit_layers_trainable

    keep_4bit_layers_trainable(model)  # an evaluation must not make 4-bit layers inference-only
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=encoded["train"],
        eval_dataset=encoded["validation"],
        data_collator=DataCollatorWithPadding(tokenizer),
        processing_class=tokenizer,
        compute_metrics=_compute_metrics(len(task.label_names)),
        callbacks=[divergence_guard(), *callbacks],
    )
    if args.disable_tqdm:  # no progress bar asked for: no raw log dicts printed either
        from transformers import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    trainer.labkit_encoded = encoded
    return trainer


@dataclass
class TrainingMeasurement:
    """What ``train_measured`` saw: wall time, the model's footprint and the memory peak."""

    seconds: float
    footprint_bytes: int
    memory: Any


def train_measured(trainer: Any, *, resume_from_checkpoint: str | None = None):
    """``trainer.train()`` with its wall time and memory peak measured; returns a measurement.

    The footprint of the model (its weights as stored) is read before training; the peak is
    what training needed on top of it (gradients, optimizer state, activations, temporaries).
    """
    import torch

    from labkit.measure import PeakMemory, footprint_bytes

    device = trainer.args.device.type
    footprint = footprint_bytes(trainer.model)
    try:
        with PeakMemory(device="cuda" if device == "cuda" else "cpu") as memory:
            started = time.perf_counter()
            trainer.train(resume_from_checkpoint=resume_from_checkpoint)
            seconds = time.perf_counter() - started
    except torch.cuda.OutOfMemoryError as error:
        raise OutOfMemoryError(
            f"The GPU ran out of memory at batch size {trainer.args.per_device_train_batch_size}"
            f": {error}. Try a smaller batch (8), 4-bit QLoRA (method='qlora4'), "
            "gradient_checkpointing=True, or a shorter max_length."
        ) from error
    return TrainingMeasurement(seconds, footprint, memory)


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


def check_adapter_trained(model: Any) -> None:
    """Raise TrainingIneffectiveError when every LoRA B matrix is still exactly zero.

    B starts at zero, so an adapter whose B never moved computes exactly the base model: its
    scores would be reported as LoRA's while nothing was learned (a frozen adapter, a learning
    rate of 0, an optimizer given the wrong parameters).
    """
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    if lora_b and all(bool((p == 0).all()) for p in lora_b):
        raise TrainingIneffectiveError(
            "Training did not change the LoRA adapter: every lora_B matrix is still zero, so "
            "the model computes exactly what the base model computed. Check that the adapter's "
            "parameters require grad (model.print_trainable_parameters()), that the learning "
            "rate is above 0 and that training ran for at least one step."
        )


def finish(
    trainer: Any,
    task: Any,
    measurement: TrainingMeasurement,
    *,
    config: RunConfig | dict[str, Any] | None = None,
) -> RunResult:
    """Evaluate a trained ``trainer`` on the test split and build the ``RunResult``.

    The ledger holds the parameter counts, the model's footprint, the training peak and their
    sum (``total_memory_mb``: what the process needed for the run), time and throughput.
    """
    import torch

    from labkit.ledger import build_ledger
    from labkit.metrics import evaluate

    check_adapter_trained(trainer.model)
    encoded = getattr(trainer, "labkit_encoded", None) or encode(task, trainer.processing_class)
    prediction = trainer.predict(encoded["test"])
    scores = torch.softmax(torch.as_tensor(prediction.predictions).float(), dim=-1).numpy()
    labels = list(range(len(task.label_names)))
    report = evaluate(
        task.test.labels, scores.argmax(-1), y_score=scores if len(labels) > 2 else scores[:, 1],
        labels=labels, label_names=list(task.label_names),
    )  # fmt: skip
    history, steps = _history(trainer.state.log_history)
    config_dict = _config_dict(config, trainer)
    trained_epochs = trainer.state.epoch or trainer.args.num_train_epochs
    ledger = build_ledger(
        trainer.model, config_dict, measurement=measurement, device=trainer.args.device.type,
        train_examples=len(encoded["train"]) * trained_epochs, tokenizer=trainer.processing_class,
        sample=encoded["test"], processes=trainer.args.world_size,
    )  # fmt: skip
    return RunResult(
        config=config_dict, report=report, history=history, steps=steps, ledger=ledger,
        task_name=getattr(task, "name", "task"), label_names=list(task.label_names),
        data_fingerprint=task.fingerprint(), output_dir=str(trainer.args.output_dir),
        model=trainer.model, tokenizer=trainer.processing_class, test_scores=scores, task=task,
        data_meta=_data_meta(task),
    )  # fmt: skip


def _data_meta(task: Any) -> dict[str, Any]:
    meta = dict(getattr(task, "meta", None) or {})
    meta.setdefault("source", getattr(task, "source", ""))
    return {k: v for k, v in meta.items() if k != "domains"}


def _checkpointing(model: Any) -> bool:
    """Whether activation checkpointing is on (transformers 5 name, then the older one)."""
    for holder in (model, getattr(model, "base_model", None), getattr(model, "model", None)):
        for name in ("is_activation_checkpointing", "is_gradient_checkpointing"):
            if holder is not None and hasattr(type(holder), name):
                return bool(getattr(holder, name))
    return False


def _config_dict(config: RunConfig | dict[str, Any] | None, trainer: Any) -> dict[str, Any]:
    """The run's settings: the RunConfig of ``run``, or what a notebook-built trainer says."""
    if isinstance(config, RunConfig):
        return asdict(config)
    model, args = trainer.model, trainer.args
    peft_config = getattr(model, "peft_config", {}).get("default")
    quantization = getattr(getattr(model, "base_model", model), "labkit_quantization", None)
    if quantization is None:
        quantization = getattr(model, "labkit_quantization", None)
    derived = {
        "method": "lora" if peft_config is not None else "custom",
        "model": None,
        "quantization": quantization,
        "rank": getattr(peft_config, "r", None),
        "alpha": getattr(peft_config, "lora_alpha", None),
        "dropout": getattr(peft_config, "lora_dropout", None),
        "targets": sorted(peft_config.target_modules) if peft_config is not None else None,
        "epochs": args.num_train_epochs,
        "batch_size": args.per_device_train_batch_size,
        "learning_rate": args.learning_rate,
        "seed": args.seed,
        "precision": "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32",
        "gradient_checkpointing": _checkpointing(model),
    }
    derived.update(config or {})
    return derived


def fit(
    model: Any,
    tokenizer: Any,
    task: Any,
    args: Any,
    *,
    max_length: int = 48,
    config: dict[str, Any] | None = None,
    resume_from_checkpoint: str | None = None,
) -> RunResult:
    """Train a model the notebook built, with the notebook's ``TrainingArguments``.

    ``make_trainer`` + ``train_measured`` + ``finish``. ``config`` adds labels to the run record
    (e.g. ``{"method": "head"}``); the rest is read from the model and ``args``.
    """
    trainer = make_trainer(model, tokenizer, task, args, max_length=max_length)
    measurement = train_measured(trainer, resume_from_checkpoint=resume_from_checkpoint)
    return finish(trainer, task, measurement, config=config)


# --- the one-line path ---------------------------------------------------------------------
def training_arguments(config: RunConfig, output_dir: str | Path, *, train_size: int,
                       progress: bool = True, keep_checkpoints: bool = True) -> Any:  # fmt: skip
    """The ``TrainingArguments`` that ``run`` uses for ``config`` (a lesson can print them)."""
    from transformers import TrainingArguments

    from labkit.device import best_device, precision_flags

    device = best_device()
    steps_per_epoch = math.ceil(train_size / config.batch_size)
    save = "epoch" if keep_checkpoints or config.early_stopping_patience else "no"
    return TrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=int(config.warmup_ratio * steps_per_epoch * config.epochs),
        eval_strategy="epoch",
        save_strategy=save,
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
        **precision_flags(device),
    )


def run(
    task: Any,
    method: str = "lora",
    *,
    model: str | None = None,
    quantization: str | None = None,
    double_quant: bool = True,
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
    pooling: str = "cls",
    compute_dtype: str | None = None,
    progress: bool = True,
) -> RunResult:
    """Fine-tune ``model`` (default: the bundled MiniLM) on ``task`` with one of the methods.

    ``method`` is a run name of :mod:`labkit.catalog`: "full", "head", "last_n", "lora",
    "qlora8" (LoRA on an 8-bit base), "qlora4" (LoRA on a 4-bit NF4 base: QLoRA) or
    "qlora4-fp4"; ``method="lora", quantization="4bit-nf4"`` is the same as "qlora4". 4-bit
    layers compute in the run's precision (bf16 on a GPU that has it, fp16 on a T4, fp32 on a
    CPU; ``compute_dtype="bf16" | "fp16" | "fp32"`` overrides it). ``task`` is a ``Task`` or a name/path for ``load_task``; ``limit`` caps the training
    examples of a task loaded by name (default: the profile's ``limit``; the test split is never
    subsampled). Sizes come from
    the ``profile`` (default ``labkit.default_profile()``: "quick", the sizes the course's pages
    were measured with) unless given. With ``output_dir``,
    checkpoints are kept each epoch and ``resume=True`` continues from the last one; without
    it they go to a temporary folder that is removed at the end. ``pooling`` is how the head
    reads the encoder: ``"cls"`` (the first token, the model's own head) or ``"mean"`` (the
    average over the tokens), see :func:`labkit.models.load_model`.
    """
    from labkit.device import best_device, precision_name

    sizes = get_profile(profile).with_overrides(
        epochs=epochs, batch_size=batch_size, max_length=max_length
    )
    config = RunConfig(
        method=method, model=model, quantization=quantization, double_quant=double_quant,
        rank=rank, alpha=alpha, dropout=dropout, targets=targets, last_n=last_n,
        epochs=sizes.epochs, batch_size=sizes.batch_size, eval_batch_size=sizes.eval_batch_size,
        learning_rate=learning_rate if learning_rate is not None else 1.0,
        max_length=sizes.max_length, seed=seed, profile=sizes.name,
        early_stopping_patience=early_stopping_patience,
        gradient_checkpointing=gradient_checkpointing, precision=precision_name(best_device()),
        pooling=pooling, compute_dtype=compute_dtype,
    )  # fmt: skip
    config.validate()
    if learning_rate is None:
        config.learning_rate = sizes.learning_rate_for(config.method)
    if resume and output_dir is None:
        raise ConfigError("resume=True needs the output_dir of the interrupted run.")
    from labkit.models import require_quantization_backend

    require_quantization_backend(config.quantization)
    if isinstance(task, (str, Path)):
        from labkit.data import load_task

        task = load_task(task, seed=seed, limit=limit if limit is not None else sizes.limit)
    return _train(task, config, output_dir, resume, progress)


def _train(task: Any, config: RunConfig, output_dir: Any, resume: bool, progress: bool):
    quiet_libraries()
    from transformers import PrinterCallback, set_seed
    from transformers.trainer_utils import get_last_checkpoint

    from labkit import methods as peft_methods
    from labkit.models import load_model

    net, tokenizer = load_model(
        config.model, num_labels=len(task.label_names), quantization=config.quantization,
        double_quant=config.double_quant, label_names=list(task.label_names), seed=config.seed,
        pooling=config.pooling, compute_dtype=_torch_dtype(config.compute_dtype),
    )  # fmt: skip
    set_seed(config.seed)
    net = peft_methods.apply(
        net, config.method, last_n=config.last_n, rank=config.rank, alpha=config.alpha,
        dropout=config.dropout, targets=config.targets,
        gradient_checkpointing=config.gradient_checkpointing,
    )  # fmt: skip
    temporary = output_dir is None
    folder = Path(output_dir or tempfile.mkdtemp(prefix="labkit-run-"))
    checkpoint = get_last_checkpoint(str(folder)) if resume and folder.is_dir() else None
    if resume and checkpoint is None:
        raise ConfigError(
            f"resume=True, but {folder} has no checkpoint-* folder to resume from. Run "
            "without resume, or pass the output_dir of the interrupted run."
        )
    try:
        args = training_arguments(
            config, folder, train_size=len(task.train), progress=progress,
            keep_checkpoints=not temporary,
        )  # fmt: skip
        callbacks = []
        if config.early_stopping_patience:
            from transformers import EarlyStoppingCallback

            callbacks.append(EarlyStoppingCallback(config.early_stopping_patience))
        trainer = make_trainer(
            net, tokenizer, task, args, max_length=config.max_length, callbacks=callbacks
        )
        if not progress:
            trainer.remove_callback(PrinterCallback)
        measurement = train_measured(trainer, resume_from_checkpoint=checkpoint)
        result = finish(trainer, task, measurement, config=config)
    finally:
        if temporary:  # Colab's disk fills with forgotten checkpoints otherwise
            shutil.rmtree(folder, ignore_errors=True)
    if temporary:
        result.output_dir = ""
    return result
