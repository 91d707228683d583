"""Measured peak memory on the CPU: honest about memory freed by earlier work in the process."""

from __future__ import annotations

import pytest
import torch

from labkit import measure
from labkit.measure import PeakMemory

SIZE = 200_000_000  # bytes: 50M float32 values
LAYERS, BATCH, WIDTH = 8, 4096, 512
# What backward needs to keep: one (batch x width) float32 input per linear layer.
SAVED_ACTIVATIONS = LAYERS * BATCH * WIDTH * 4


def _train_steps(steps: int = 3) -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(*[torch.nn.Linear(WIDTH, WIDTH) for _ in range(LAYERS)])
    optimizer = torch.optim.AdamW(net.parameters())
    for _ in range(steps):
        net(torch.randn(BATCH, WIDTH)).square().mean().backward()
        optimizer.step()
        optimizer.zero_grad()


@pytest.fixture(params=["heap", "rss"])
def counter(request, monkeypatch) -> str:
    """Each test runs with glibc's heap counter and with the resident-memory fallback."""
    if request.param == "heap" and measure.HEAP_IN_USE is None:
        pytest.skip("no glibc mallinfo2 here")
    if request.param == "rss":
        monkeypatch.setattr(measure, "HEAP_IN_USE", None)
    return request.param


def test_peak_counts_an_allocation_inside_the_block(counter) -> None:
    with PeakMemory() as memory:
        tensor = torch.ones(SIZE // 4)  # writing every page makes it resident
        del tensor
    assert 0.8 * SIZE <= memory.increase <= 1.3 * SIZE


@pytest.mark.skipif(measure.HEAP_IN_USE is None, reason="the RSS fallback cannot promise this")
def test_memory_freed_by_earlier_training_does_not_hide_the_next_peak() -> None:
    assert PeakMemory().kind == "C heap in use"
    # Earlier runs free their activations, but the C allocator keeps many of those pages; the
    # next run is served from them, and a plain RSS difference would report a fraction of it.
    _train_steps()
    _train_steps()
    with PeakMemory() as memory:
        _train_steps()
    assert memory.increase >= SAVED_ACTIVATIONS


def test_memory_held_before_the_block_is_not_counted(counter) -> None:
    held = torch.ones(SIZE // 4)
    with PeakMemory() as memory:
        small = torch.ones(1000)
        del small
    assert memory.increase < 0.2 * SIZE
    del held
