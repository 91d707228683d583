"""The memory estimator: known sizes, the bundled model against its measured footprint."""

from __future__ import annotations

import pytest

from labkit.errors import ConfigError
from labkit.estimate import KNOWN_SIZES, architecture_of, estimate_memory
from labkit.measure import footprint_bytes
from labkit.models import count_parameters, load_model


@pytest.mark.parametrize(("size", "low", "high"), [("125M", 0.11e9, 0.14e9), ("1B", 1.1e9, 1.3e9),
                         ("7B", 6.5e9, 6.9e9), ("13B", 12.7e9, 13.2e9), ("70B", 68e9, 70e9)])  # fmt: skip
def test_known_sizes_have_their_parameter_counts(size, low, high) -> None:
    assert low <= KNOWN_SIZES[size].total_params <= high


@pytest.mark.parametrize("quantization", [None, "8bit", "4bit-nf4"])
def test_bundled_estimate_agrees_with_measured_footprint_within_10_percent(quantization) -> None:
    model, _ = load_model(quantization=quantization)
    measured = footprint_bytes(model)
    estimated = estimate_memory("bundled", "lora", quantization, rank=8).weights
    lora_bytes = estimate_memory("bundled", "lora", None, rank=8).trainable_params * 4
    assert abs((estimated - lora_bytes) - measured) / measured < 0.10


def test_architecture_of_the_bundled_model_counts_its_parameters() -> None:
    model, _ = load_model()
    assert abs(architecture_of(model).total_params - count_parameters(model)[1]) < 2_000


def test_full_fine_tuning_needs_about_16_bytes_per_parameter() -> None:
    estimate = estimate_memory("7B", "full", precision="fp16", seq_len=1, batch=1)
    per_param = (estimate.weights + estimate.gradients + estimate.optimizer) / estimate.total_params
    assert per_param == pytest.approx(2 + 4 + 8, rel=0.01)  # fp16 weights + fp32 grads + Adam


def test_qlora_7b_fits_a_16gb_t4_and_full_does_not() -> None:
    qlora = estimate_memory("7B", "lora", "4bit-nf4", rank=16, seq_len=512, batch=4,
                            gradient_checkpointing=True)  # fmt: skip
    full = estimate_memory("7B", "full", seq_len=512, batch=4, gradient_checkpointing=True)
    assert qlora.fits(16) and not full.fits(16)
    assert 3.3e9 < qlora.weights < 4.2e9  # about 0.52 bytes per weight plus fp16 embeddings


def test_lower_bits_mean_smaller_weights() -> None:
    sizes = [estimate_memory("13B", "lora", q).weights for q in (None, "8bit", "4bit-nf4")]
    assert sizes[0] > sizes[1] > sizes[2]


def test_estimator_errors() -> None:
    with pytest.raises(ConfigError, match="Unknown model size '3B'"):
        estimate_memory("3B")
    with pytest.raises(ConfigError, match="frozen"):
        estimate_memory("7B", "full", "4bit-nf4")
    with pytest.raises(ConfigError, match="precision"):
        estimate_memory("7B", precision="fp8")
