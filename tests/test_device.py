"""Device and precision detection, in one place: a T4's bf16 emulation, torchrun ranks, CPUs.

There is no GPU on the test machine: the CUDA paths are exercised by replacing the few
``torch.cuda`` functions labkit asks (``is_available``, ``is_bf16_supported``, the properties).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from labkit import device, environment, models


def _fake_gpu(monkeypatch, name: str, capability: tuple[int, int]) -> None:
    """Pretend a CUDA GPU of ``capability`` is present; emulated bf16 answers True below 8.0."""
    native = capability >= (8, 0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(
        torch.cuda,
        "is_bf16_supported",
        lambda including_emulation=True: native or including_emulation,
    )
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index=0: capability)
    monkeypatch.setattr(
        torch.cuda,
        "get_device_properties",
        lambda index=0: SimpleNamespace(
            name=name, total_memory=16 * 2**30, major=capability[0], minor=capability[1]
        ),
    )


def test_t4_trains_in_fp16_although_torch_says_bf16_is_supported(monkeypatch) -> None:
    _fake_gpu(monkeypatch, "Tesla T4", (7, 5))
    assert torch.cuda.is_bf16_supported()  # what torch answers, counting emulation
    assert device.precision_flags() == {"bf16": False, "fp16": True}
    assert device.compute_dtype() == torch.float16
    assert models.bnb_config("4bit-nf4").bnb_4bit_compute_dtype == torch.float16


def test_doctor_uses_the_same_detection_on_a_t4(monkeypatch) -> None:
    _fake_gpu(monkeypatch, "Tesla T4", (7, 5))
    info = environment._device_info()
    assert info["device"] == "cuda" and info["name"] == "Tesla T4"
    assert info["bf16"] is False and info["precision"] == "fp16"
    assert info["compute_capability"] == "7.5"
    check = environment._precision_check(info)
    assert "compute capability 8.0+ (Ampere or newer)" in check.detail
    assert "7.5" in check.detail and "fp16" in check.detail


def test_ampere_trains_in_bf16(monkeypatch) -> None:
    _fake_gpu(monkeypatch, "NVIDIA A100", (8, 0))
    assert device.precision_flags() == {"bf16": True, "fp16": False}
    assert device.compute_dtype() == torch.bfloat16
    assert models.bnb_config("4bit-nf4").bnb_4bit_compute_dtype == torch.bfloat16
    info = environment._device_info()
    assert info["bf16"] is True and info["precision"] == "bf16"


def test_cpu_computes_in_fp32(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device.precision_name() == "fp32"
    assert models.bnb_config("4bit-nf4").bnb_4bit_compute_dtype == torch.float32
    assert device.local_device_map() == {"": "cpu"}


@pytest.mark.parametrize("level", ["8bit", "4bit-nf4"])
def test_each_torchrun_rank_loads_on_its_own_gpu(monkeypatch, level) -> None:
    _fake_gpu(monkeypatch, "NVIDIA A100", (8, 0))
    monkeypatch.setenv("LOCAL_RANK", "1")
    kwargs = models.from_pretrained_kwargs(num_labels=2, quantization_config=level)
    assert kwargs["device_map"] == {"": "cuda:1"}
    assert kwargs["quantization_config"].llm_int8_skip_modules is None  # load_model fills it


def test_unquantized_kwargs_ask_for_fp32(monkeypatch) -> None:
    kwargs = models.from_pretrained_kwargs(num_labels=3, label_names=["a", "b", "c"])
    assert kwargs["dtype"] == torch.float32
    assert "device_map" not in kwargs and "quantization_config" not in kwargs
    assert kwargs["id2label"] == {0: "a", 1: "b", 2: "c"}


def test_a_gpu_gets_the_quick_profile_the_pages_were_measured_with(monkeypatch) -> None:
    from labkit.profiles import default_profile

    monkeypatch.delenv("LABKIT_PROFILE", raising=False)
    _fake_gpu(monkeypatch, "Tesla T4", (7, 5))
    assert default_profile() == "quick"
    monkeypatch.setenv("LABKIT_PROFILE", "full")
    assert default_profile() == "full"


def test_an_unknown_labkit_profile_says_which_exist(monkeypatch) -> None:
    from labkit.errors import ConfigError
    from labkit.profiles import default_profile

    monkeypatch.setenv("LABKIT_PROFILE", "huge")
    with pytest.raises(ConfigError, match=r"LABKIT_PROFILE='huge'.*\['full', 'quick'\]"):
        default_profile()
