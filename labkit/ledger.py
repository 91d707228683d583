"""Build the efficiency ledger of a finished run (see :mod:`labkit.measure`).

Memory is reported as three measured figures that add up:

- ``footprint_mb``: the model's weights and buffers as stored (4-bit weights packed), before
  training;
- ``train_peak_mb``: the peak that training needed on top of the model (gradients, optimizer
  state, activations, temporaries such as dequantized weights);
- ``total_memory_mb`` = footprint + training peak: what the process needed for the run. This
  is the figure to compare between methods (QLoRA's saving is in the footprint) and the
  quantity that the analytic estimate (``estimate_mb["total"]``) predicts.
"""

from __future__ import annotations

from typing import Any

from labkit.measure import MB, latency_per_example
from labkit.models import count_parameters

SAFETENSORS_HEADER_BYTES = 128  # per tensor, about: name, dtype, shape and offsets in JSON


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


def trained_bytes(model: Any) -> int:
    """Bytes a saved adapter (or the trained parameters) takes, computed without writing it.

    The tensors that train (LoRA A and B, a trained head) at their stored precision plus a
    small safetensors header per tensor: within a few hundred bytes of the file on disk.
    """
    return sum(
        p.numel() * p.element_size() + SAFETENSORS_HEADER_BYTES
        for p in model.parameters()
        if p.requires_grad
    )


def _estimate(model: Any, config: dict[str, Any], device: str) -> dict[str, float] | None:
    from labkit.estimate import estimate_memory

    method = config.get("method")
    if method not in ("full", "head", "last_n", "lora"):
        return None
    targets = config.get("targets")
    try:
        estimate = estimate_memory(
            model, method, config.get("quantization"),
            config.get("rank") or 8, seq_len=config.get("max_length") or 48,
            batch=config.get("batch_size") or 16,
            targets=targets if isinstance(targets, str) else "all-linear",
            last_n=config.get("last_n") or 2,
            precision="fp32" if device == "cpu" else "fp16",
            gradient_checkpointing=bool(config.get("gradient_checkpointing")),
        )  # fmt: skip
    except Exception:  # an estimate is a bonus: a model it cannot read must not fail the run
        return None
    parts = {k: v for k, v in estimate.to_dict().items() if not k.endswith("_params")}
    return {k: v / MB for k, v in parts.items() if isinstance(v, (int, float))}


def build_ledger(
    model: Any,
    config: dict[str, Any],
    *,
    measurement: Any,
    device: str,
    train_examples: float,
    tokenizer: Any,
    sample: list[dict],
    processes: int = 1,
) -> dict[str, Any]:
    """Parameters, memory (footprint, training peak, total; estimated too), time, speed."""
    trainable, total = count_parameters(model)
    memory = measurement.memory
    seconds = measurement.seconds
    footprint = measurement.footprint_bytes / MB
    peak = memory.increase / MB
    return {
        "trainable_params": trainable,
        "total_params": total,
        "trainable_percent": 100 * trainable / total,
        "footprint_mb": footprint,
        "train_peak_mb": peak,
        "total_memory_mb": footprint + peak,
        "peak_memory_kind": memory.kind,
        "adapter_mb": trained_bytes(model) / MB,
        "estimate_mb": _estimate(model, config, device),
        "train_seconds": seconds,
        "train_examples_per_s": train_examples / seconds if seconds else 0.0,
        "latency_ms_per_example": 1000 * _latency(model, tokenizer, sample, device),
        "device": device,
        "processes": processes,
    }
