"""The efficiency ledger: parameters, memory (estimated and measured), time, throughput.

Measured peaks are honest about their origin: on a CUDA GPU the allocator's peak for the run
(after resetting the counter). On a CPU with glibc (Linux) the peak of the bytes the C heap has
handed out and not yet freed (``mallinfo2``), sampled during the run, minus the bytes in use
when it started: PyTorch's CPU tensors live there, and neither pages freed by earlier runs nor
fragmentation can shift the figure. Elsewhere (macOS, Windows) the peak resident memory of the
process, after collecting garbage, minus the resident memory when the run started.
"""

from __future__ import annotations

import ctypes
import gc
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from labkit.estimate import estimate_memory  # noqa: F401  (labkit.measure.estimate_memory)

MB = 1_000_000  # megabytes (10^6 bytes), as model cards and nvidia-smi report


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]  # fmt: skip


def _glibc_heap_counter() -> Callable[[], int] | None:
    """A function giving the C heap's bytes in use (all arenas), or None without glibc 2.33+."""
    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _MallInfo2

    def heap_in_use() -> int:
        info = mallinfo2()
        return info.uordblks + info.hblkhd  # small blocks in use + large (mmapped) blocks

    return heap_in_use


HEAP_IN_USE = _glibc_heap_counter()


@dataclass
class PeakMemory:
    """Context manager measuring the peak memory used by the code inside it (bytes)."""

    interval: float = 0.01
    device: str = "cpu"
    baseline: int = 0
    peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def increase(self) -> int:
        """Peak minus the memory in use when the block started."""
        return max(0, self.peak - self.baseline)

    def __enter__(self) -> PeakMemory:
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.baseline = self.peak = torch.cuda.memory_allocated()
            return self
        gc.collect()
        self.baseline = self.peak = self._current()

        def sample() -> None:
            while not self._stop.wait(self.interval):
                self.peak = max(self.peak, self._current())

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()
            self.peak = max(self.peak, torch.cuda.max_memory_allocated())
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak = max(self.peak, self._current())

    @property
    def kind(self) -> str:
        """What the figure measures, for reports."""
        if self.device == "cuda":
            return "CUDA allocator peak"
        return "C heap in use" if HEAP_IN_USE else "process RSS increase"

    @staticmethod
    def _current() -> int:
        return HEAP_IN_USE() if HEAP_IN_USE else psutil.Process(os.getpid()).memory_info().rss


def footprint_bytes(model: Any) -> int:
    """Bytes of the model's parameters and buffers as stored (4-bit weights are packed)."""
    seen: set[int] = set()
    total = 0
    for tensor in [*model.parameters(), *model.buffers()]:
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        total += tensor.numel() * tensor.element_size()
        quant_state = getattr(tensor, "quant_state", None)
        if quant_state is not None:  # 4-bit: absmax and the code table live beside the weight
            total += _quant_state_bytes(quant_state)
        scb = getattr(tensor, "SCB", None)
        if scb is not None:  # 8-bit: one scale per row
            total += scb.numel() * scb.element_size()
    return total


def linear_layer_bytes(model: Any) -> tuple[int, int]:
    """(bytes as stored, logical parameters) of the encoder's linear layers.

    These are the layers bitsandbytes quantizes; a 4-bit weight counts as one parameter, and
    its quantization constants (absmax, nested absmax, code table) count as bytes.
    """
    import torch

    size = params = 0
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear) or ".encoder." not in f".{name}.":
            continue
        weight = module.weight
        size += weight.numel() * weight.element_size()
        state = getattr(weight, "quant_state", None)
        if state is not None:
            size += _quant_state_bytes(state)
            params += int(torch.Size(state.shape).numel())
        else:
            params += weight.numel()
        scb = getattr(weight, "SCB", None)
        if scb is not None:
            size += scb.numel() * scb.element_size()
    return size, params


def _quant_state_bytes(state: Any) -> int:
    size = 0
    for name in ("absmax", "code"):
        value = getattr(state, name, None)
        if value is not None:
            size += value.numel() * value.element_size()
    nested = getattr(state, "state2", None)
    if nested is not None:
        size += _quant_state_bytes(nested)
    return size


def directory_bytes(path: str | Path) -> int:
    """Total size of the files under a folder (e.g. a saved adapter)."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def latency_per_example(predict_batch, batch: Any, batch_size: int, repeats: int = 5) -> float:
    """Median seconds per example over ``repeats`` timed calls, after one warm-up call."""
    predict_batch(batch)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict_batch(batch)
        times.append(time.perf_counter() - start)
    return statistics.median(times) / batch_size
