"""PEFT methods: what trains, LoRA from scratch against peft, rank changes, bad options."""

from __future__ import annotations

import pytest
import torch
from peft import LoraConfig, get_peft_model
from torch import nn

from labkit import methods
from labkit.errors import ConfigError
from labkit.models import count_parameters, load_model


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(16, 12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


def _pair(rank: int = 4, alpha: float = 8.0):
    torch.manual_seed(0)
    base = Tiny()
    ours = methods.LoRALinear(nn.Linear(16, 12), rank=rank, alpha=alpha)
    ours.base.load_state_dict(base.proj.state_dict())
    peft_model = get_peft_model(
        base, LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules=["proj"])
    )
    layer = peft_model.base_model.model.proj
    with torch.no_grad():
        ours.lora_A.copy_(layer.lora_A["default"].weight)
        ours.lora_B.copy_(layer.lora_B["default"].weight)
    return ours, peft_model, layer


def test_lora_linear_matches_peft_at_init_and_after_an_update() -> None:
    ours, peft_model, layer = _pair()
    x = torch.randn(5, 16)
    assert torch.allclose(ours(x), peft_model(x), atol=1e-6)
    assert torch.allclose(ours(x), ours.base(x), atol=1e-6)  # B starts at zero
    with torch.no_grad():
        update = torch.randn(12, 4)
        ours.lora_B.copy_(update)
        layer.lora_B["default"].weight.copy_(update)
    assert not torch.allclose(ours(x), ours.base(x), atol=1e-3)
    assert torch.allclose(ours(x), peft_model(x), atol=1e-6)


def test_lora_linear_trains_as_many_parameters_as_peft() -> None:
    ours, peft_model, _ = _pair(rank=4)
    ours_trainable = sum(p.numel() for p in ours.parameters() if p.requires_grad)
    peft_trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    assert ours_trainable == peft_trainable == 4 * (16 + 12)


def test_lora_linear_merges_to_the_same_outputs() -> None:
    ours, _, _ = _pair()
    with torch.no_grad():
        ours.lora_B.normal_()
    x = torch.randn(3, 16)
    assert torch.allclose(ours.merged()(x), ours(x), atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rank": 0, "alpha": 8}, "positive integer"),
        ({"rank": -2, "alpha": 8}, "positive integer"),
        ({"rank": 64, "alpha": 8}, "larger than the layer width 12"),
        ({"rank": 4, "alpha": 0}, "alpha must be a positive"),
        ({"rank": 4, "alpha": 8, "dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"rank": 4, "alpha": 8, "dropout": -0.1}, r"dropout must be in \[0, 1\)"),
    ],
)
def test_lora_linear_rejects_bad_options(kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        methods.LoRALinear(nn.Linear(16, 12), **kwargs)


def _fresh():
    return load_model()[0]


@pytest.mark.parametrize(
    ("method", "options", "low", "high"),
    [
        ("full", {}, 100.0, 100.0),
        ("head", {}, 0.1, 1.0),
        ("last_n", {"last_n": 2}, 10.0, 25.0),
        ("lora", {}, 0.5, 2.0),
        ("lora", {"targets": "attention+ffn"}, 1.0, 3.0),
    ],
)
def test_apply_trains_the_expected_share(method, options, low, high) -> None:
    model = methods.apply(_fresh(), method, **options)
    trainable, total = count_parameters(model)
    assert low <= 100 * trainable / total <= high


def test_head_only_trains_just_the_head() -> None:
    model = methods.apply(_fresh(), "head")
    trained = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert all("classifier" in n or "pooler" in n for n in names), trained


def test_lora_counts_match_the_formula() -> None:
    model = methods.apply(_fresh(), "lora", rank=4, targets=["query", "value"])
    lora = sum(p.numel() for n, p in model.named_parameters() if "lora_" in n and p.requires_grad)
    assert lora == 6 * 2 * 4 * (384 + 384)  # 6 layers x 2 targets x r (d_in + d_out)


def test_unknown_targets_list_the_available_modules() -> None:
    with pytest.raises(ConfigError, match="do not exist in this model.*query"):
        methods.apply(_fresh(), "lora", targets=["q_proj"])


def test_unknown_method_and_bad_last_n() -> None:
    with pytest.raises(ConfigError, match="Unknown method 'adapters'"):
        methods.apply(_fresh(), "adapters")
    with pytest.raises(ConfigError, match="this model has 6 layers"):
        methods.apply(_fresh(), "last_n", last_n=9)


def test_rank_larger_than_width_is_rejected_before_training() -> None:
    with pytest.raises(ConfigError, match="larger than the layer width 384"):
        methods.apply(_fresh(), "lora", rank=512)


def test_set_lora_rank_rebuilds_adapters() -> None:
    model = methods.apply(_fresh(), "lora", rank=8)
    model = methods.set_lora_rank(model, 2)
    assert methods.lora_config_of(model).r == 2
    lora = sum(p.numel() for n, p in model.named_parameters() if "lora_" in n)
    assert lora == 6 * 3 * 2 * (384 + 384)
    assert methods.lora_config_of(model).lora_alpha == 4  # alpha / r kept at 2


def test_quantized_models_only_train_with_lora() -> None:
    model, _ = load_model(quantization="4bit-nf4")
    with pytest.raises(ConfigError, match="cannot train a quantized model"):
        methods.apply(model, "full")
    peft_model = methods.apply(model, "lora")
    trainable, total = count_parameters(peft_model)
    assert trainable / total < 0.02
