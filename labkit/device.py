"""Device and number-format detection, in one place (training, models, doctor and estimates).

bf16 needs native support: NVIDIA GPUs of compute capability 8.0 and newer (Ampere: A100, A10,
RTX 30xx; Ada Lovelace: L4, RTX 40xx; Hopper: H100). ``torch.cuda.is_bf16_supported()`` also answers True on older cards
(the T4 of free Colab is 7.5) because it counts emulation, which is slow; labkit asks with
``including_emulation=False`` and trains in fp16 there.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any


def best_device() -> str:
    """``cuda`` when a CUDA GPU is present, else ``cpu`` (MPS is used only by the Trainer)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def supports_bf16() -> bool:
    """True only where the GPU computes in bf16 natively (no emulation)."""
    import torch

    if not torch.cuda.is_available():
        return False
    try:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except TypeError:  # torch older than 2.3 has no including_emulation and does not emulate
        return bool(torch.cuda.is_bf16_supported())


def precision_flags(device: str | None = None) -> dict[str, bool]:
    """``TrainingArguments`` flags: bf16 where native, fp16 on older GPUs, neither on a CPU."""
    device = device or best_device()
    if device != "cuda":
        return {"bf16": False, "fp16": False}
    bf16 = supports_bf16()
    return {"bf16": bf16, "fp16": not bf16}


def precision_name(device: str | None = None) -> str:
    """ "bf16", "fp16" or "fp32": the training precision labkit uses on ``device``."""
    flags = precision_flags(device)
    return "bf16" if flags["bf16"] else "fp16" if flags["fp16"] else "fp32"


def compute_dtype(device: str | None = None) -> Any:
    """The torch dtype 4-bit layers dequantize to: bf16 / fp16 on a GPU, fp32 on a CPU."""
    import torch

    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[
        precision_name(device)
    ]


def local_device_map(device: str | None = None) -> dict[str, Any]:
    """``device_map`` that puts the whole model on this process's device.

    Under ``torchrun`` / ``accelerate launch`` each process has a ``LOCAL_RANK``; every rank
    must load onto its own GPU (``cuda:LOCAL_RANK``), not all onto ``cuda:0``.
    """
    device = device or best_device()
    if device == "cuda":
        return {"": f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"}
    return {"": device}


@contextlib.contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Run a block under ``torch.manual_seed(seed)`` and restore the random state afterwards.

    The CPU and every CUDA generator are saved and restored, so seeding one step (a head's
    initialisation, an adapter's) does not change what the code around it draws. ``None``
    leaves the random state alone (the block draws from it as usual).
    """
    import torch

    if seed is None:
        yield
        return
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
