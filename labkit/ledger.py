"""Build the efficiency ledger of a finished run (see :mod:`labkit.measure`)."""

from __future__ import annotations

import tempfile
from typing import Any

from labkit.estimate import estimate_memory
from labkit.measure import MB, directory_bytes, footprint_bytes, latency_per_example
from labkit.models import count_parameters


def _latency(model: Any, tokenizer: Any, sample: list[dict], device: str) -> float:
    import torch
    from transformers import DataCollatorWithPadding

    batch = DataCollatorWithPadding(tokenizer)(
        [{k: v for k, v in row.items() if k != "labels"} for row in sample[:32]]
    )
    batch = {k: v.to(device) for k, v in batch.items()}
    was_training = model.training
    model.eval()

    def predict(inputs: dict) -> None:
        with torch.inference_mode():
            model(**inputs)

    seconds = latency_per_example(predict, batch, batch_size=len(sample[:32]))
    model.train(was_training)
    return seconds


def build_ledger(
    model: Any,
    config: Any,
    *,
    memory: Any,
    device: str,
    train_seconds: float,
    train_examples: float,
    tokenizer: Any,
    sample: list[dict],
    processes: int = 1,
) -> dict[str, Any]:
    """Parameters, footprint, adapter size, memory (estimated and measured), time, speed."""
    from labkit.adapters import write_trainable

    trainable, total = count_parameters(model)
    estimate = estimate_memory(
        model, config.method, config.quantization, config.rank if config.method == "lora" else 8,
        seq_len=config.max_length, batch=config.batch_size, targets=config.targets
        if isinstance(config.targets, str) else "all-linear", last_n=config.last_n,
        precision="fp32" if device == "cpu" else "fp16",
        gradient_checkpointing=config.gradient_checkpointing,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        write_trainable(model, folder)
        adapter_bytes = directory_bytes(folder)
    return {
        "trainable_params": trainable,
        "total_params": total,
        "trainable_percent": 100 * trainable / total,
        "footprint_mb": footprint_bytes(model) / MB,
        "adapter_mb": adapter_bytes / MB,
        "estimate_mb": {
            k: v / MB
            for k, v in estimate.to_dict().items()
            if k != "trainable_params" and k != "total_params"
        },  # fmt: skip
        "peak_memory_mb": memory.increase / MB,
        "peak_memory_total_mb": memory.peak / MB,
        "peak_memory_kind": memory.kind,
        "train_seconds": train_seconds,
        "train_examples_per_s": train_examples / train_seconds if train_seconds else 0.0,
        "latency_ms_per_example": 1000 * _latency(model, tokenizer, sample, device),
        "device": device,
        "processes": processes,
    }
