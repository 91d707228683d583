"""Inference latency: how long one forward pass takes, as a distribution, not one number.

``measure_latency(model, tokenizer, texts, batch_size=1)`` cuts ``texts`` into batches,
tokenises each batch once (before timing: what is timed is the model), runs ``warmup``
untimed passes, then times every batch ``repeats`` times under ``torch.inference_mode()`` and
reports the median (p50), the 95th percentile (p95) and the mean, in milliseconds per call
(per batch; with ``batch_size=1`` that is per example). Use it to compare a model with itself
in another form (an unmerged LoRA adapter against the merged one, fp32 against 8-bit or
4-bit) on the same machine, in the same process, with the same texts.

Latency depends on the machine, its load, the number of threads and the sequence lengths, so
numbers from one machine say little about another; bitsandbytes' CPU kernels in particular
are not representative of its GPU kernels.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from labkit.errors import ConfigError


def _positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return value


def measure_latency(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    batch_size: int = 1,
    repeats: int = 3,
    warmup: int = 3,
    max_length: int = 128,
) -> dict[str, Any]:
    """Time the forward pass of ``model`` on ``texts``; returns milliseconds per call.

    Returns ``{"p50_ms", "p95_ms", "mean_ms", "per_example_ms", "n", "batch_size",
    "examples", "device", "threads"}``: ``n`` timed calls (batches x repeats), percentiles
    over them, and ``per_example_ms`` = total timed time / examples timed. The first
    ``warmup`` calls are not timed (first calls allocate memory and pick kernels).
    """
    import numpy as np
    import torch

    if isinstance(texts, str):
        raise ConfigError("texts must be a list of strings, not one string: wrap it, [text].")
    texts = list(texts)
    if not texts or not all(isinstance(t, str) for t in texts):
        raise ConfigError("measure_latency needs a non-empty list of strings to time.")
    batch_size = _positive_int(batch_size, "batch_size")
    repeats = _positive_int(repeats, "repeats")
    warmup = _positive_int(warmup, "warmup", minimum=0)
    max_length = _positive_int(max_length, "max_length", minimum=2)
    try:
        device = next(model.parameters()).device
    except (StopIteration, AttributeError, TypeError):
        device = torch.device("cpu")
    batches = []
    for start in range(0, len(texts), batch_size):
        encoded = tokenizer(texts[start : start + batch_size], truncation=True,
                            max_length=max_length, padding=True, return_tensors="pt")  # fmt: skip
        batches.append(({k: v.to(device) for k, v in encoded.items()},
                        len(texts[start : start + batch_size])))  # fmt: skip

    def synchronise() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    was_training = getattr(model, "training", False)
    model.eval()
    seconds: list[float] = []
    try:
        with torch.inference_mode():
            for i in range(warmup):
                model(**batches[i % len(batches)][0])
            synchronise()
            examples = 0
            for _ in range(repeats):
                for inputs, size in batches:
                    start = time.perf_counter()
                    model(**inputs)
                    synchronise()
                    seconds.append(time.perf_counter() - start)
                    examples += size
    finally:
        model.train(was_training)
    ms = np.array(seconds) * 1000
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "mean_ms": float(ms.mean()),
        "per_example_ms": float(ms.sum() / examples),
        "n": len(seconds),
        "batch_size": batch_size,
        "examples": len(texts),
        "device": device.type,
        "threads": torch.get_num_threads(),
    }
