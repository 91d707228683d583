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


def _tiny(kind: str):
    """A small randomly initialised classifier of one architecture (no download)."""
    from transformers import (
        AutoModelForSequenceClassification,
        BertConfig,
        DistilBertConfig,
        GPT2Config,
        LlamaConfig,
        RobertaConfig,
    )

    small = {"vocab_size": 100, "pad_token_id": 0}
    config = {
        "bert": lambda: BertConfig(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            **small,
        ),
        "distilbert": lambda: DistilBertConfig(
            dim=32, n_layers=2, n_heads=2, hidden_dim=64, **small
        ),
        "roberta": lambda: RobertaConfig(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            **small,
        ),
        "gpt2": lambda: GPT2Config(
            n_embd=32, n_layer=2, n_head=2, bos_token_id=0, eos_token_id=0, **small
        ),
        "llama": lambda: LlamaConfig(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            **small,
        ),
    }[kind]()
    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_config(config)


EXPECTED_HEADS = {
    "bert": ["bert.pooler", "classifier"],
    "distilbert": ["classifier", "pre_classifier"],
    "roberta": ["classifier"],
    "gpt2": ["score"],
    "llama": ["score"],
}


@pytest.mark.parametrize("kind", sorted(EXPECTED_HEADS))
def test_head_modules_is_understood_the_same_by_labkit_peft_and_transformers(kind) -> None:
    from peft.utils.other import ModulesToSaveWrapper
    from transformers.quantizers.quantizers_utils import should_convert_module

    model = _tiny(kind)
    heads = methods.head_modules(model)
    assert sorted(heads) == EXPECTED_HEADS[kind]

    def inside(name: str) -> bool:
        return any(name == h or name.startswith(h + ".") for h in heads)

    linear = [n for n, m in model.named_modules() if type(m).__name__ in ("Linear", "Conv1D")]
    # transformers keeps these unquantized (llm_int8_skip_modules)
    kept = {n for n in linear if not should_convert_module(n, heads)}
    assert kept == {n for n in linear if inside(n)}
    # labkit trains these for method="head"
    trained = methods.apply(model, "head")
    assert {n for n, p in trained.named_parameters() if p.requires_grad} == {
        n for n, _ in model.named_parameters() if inside(n)
    }
    # peft wraps and trains these (modules_to_save)
    peft_model = get_peft_model(
        _tiny(kind),
        LoraConfig(task_type="SEQ_CLS", target_modules=methods.resolve_targets(
            _tiny(kind), "attention"), modules_to_save=list(heads)),
    )  # fmt: skip
    wrapped = {
        n.removeprefix("base_model.model.")
        for n, m in peft_model.named_modules()
        if isinstance(m, ModulesToSaveWrapper)
    }
    assert wrapped == set(heads)


def test_distilbert_head_training_includes_the_new_pre_classifier() -> None:
    model = methods.apply(_tiny("distilbert"), "last_n", last_n=1)
    assert model.pre_classifier.weight.requires_grad and model.classifier.weight.requires_grad
    assert model.distilbert.transformer.layer[1].ffn.lin1.weight.requires_grad
    assert not model.distilbert.transformer.layer[0].ffn.lin1.weight.requires_grad


def test_last_n_equal_to_the_depth_trains_layer_0() -> None:
    model = methods.apply(_fresh(), "last_n", last_n=6)
    for index, layer in enumerate(model.bert.encoder.layer):
        assert all(p.requires_grad for p in layer.parameters()), f"layer {index} is frozen"
    assert not model.bert.embeddings.word_embeddings.weight.requires_grad


def test_gpt2_target_presets() -> None:
    model = _tiny("gpt2")
    attention = methods.resolve_targets(model, "attention")
    both = methods.resolve_targets(model, "attention+ffn")
    assert attention == ["transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"]
    assert {n.split(".", 3)[-1] for n in both} == {"attn.c_attn", "mlp.c_fc", "mlp.c_proj"}


def test_lora_linear_merges_on_the_base_dtype() -> None:
    base = nn.Linear(16, 12, dtype=torch.float64)
    layer = methods.LoRALinear(base, rank=4, alpha=8)
    with torch.no_grad():
        layer.lora_B.normal_()
    merged = layer.merged()
    assert merged.weight.dtype == torch.float64 and merged.weight.device == base.weight.device
    x = torch.randn(3, 16, dtype=torch.float64)
    assert torch.allclose(merged(x), layer(x))


def _train_a_little(model, steps: int = 3) -> None:
    batch = {
        "input_ids": torch.tensor([[101, 2023, 2003, 2204, 102], [101, 2919, 2143, 102, 0]]),
        "attention_mask": torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]]),
        "labels": torch.tensor([1, 0]),
    }
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        model(**batch).loss.backward()
        optimizer.step()


def test_set_lora_rank_starts_from_a_fresh_head() -> None:
    model = methods.apply(load_model(seed=5)[0], "lora", rank=8)
    _train_a_little(model)
    trained = model.base_model.model.classifier.modules_to_save["default"].weight.detach().clone()
    fresh, _ = load_model(seed=5)
    assert not torch.equal(trained, fresh.classifier.weight)
    model = methods.set_lora_rank(model, 2, seed=5)
    head = model.base_model.model.classifier.modules_to_save["default"]
    assert torch.equal(head.weight, fresh.classifier.weight)
    pooler = model.base_model.model.bert.pooler.modules_to_save["default"].dense
    assert torch.equal(pooler.weight, fresh.bert.pooler.dense.weight)
    other = methods.set_lora_rank(model, 2, seed=6)
    fresh6, _ = load_model(seed=6)
    assert torch.equal(
        other.base_model.model.classifier.modules_to_save["default"].weight,
        fresh6.classifier.weight,
    )


@pytest.mark.parametrize(
    ("method", "options"),
    [("full", {}), ("head", {}), ("last_n", {"last_n": 2}), ("lora", {})],
)
def test_gradient_checkpointing_is_on_for_every_method(method, options) -> None:
    model = methods.apply(_fresh(), method, gradient_checkpointing=True, **options)
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    assert base.is_activation_checkpointing
    _train_a_little(model, steps=1)
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad), (
        "a trainable parameter got no gradient"
    )


def test_apply_accepts_a_lora_config() -> None:
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"])
    model = methods.apply(_fresh(), config)
    used = methods.lora_config_of(model)
    assert str(used.task_type) in ("SEQ_CLS", "TaskType.SEQ_CLS")
    assert {"bert.pooler", "classifier"} <= set(used.modules_to_save)
    assert config.modules_to_save is None  # the caller's object is left as written
    assert model.base_model.model.bert.pooler.modules_to_save["default"].dense.weight.requires_grad
    with pytest.raises(ConfigError, match="do not exist in this model.*attention.self.query"):
        methods.apply(_fresh(), LoraConfig(r=4, target_modules=["q_proj"]))
    with pytest.raises(ConfigError, match="alpha must be a positive"):
        methods.apply(_fresh(), LoraConfig(r=4, lora_alpha=0, target_modules=["query"]))
    with pytest.raises(ConfigError, match="larger than the layer width 384"):
        methods.apply(_fresh(), LoraConfig(r=512, target_modules=["query"]))


def test_a_quantized_model_works_with_the_plain_peft_calls() -> None:
    from peft import prepare_model_for_kbit_training

    model, _ = load_model(quantization="8bit")
    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    model = get_peft_model(
        model,
        LoraConfig(
            task_type="SEQ_CLS", target_modules=["query", "value"],
            modules_to_save=methods.head_modules(model),
        ),
    )  # fmt: skip
    _train_a_little(model, steps=1)
    lora = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora and all(p.grad is not None for p in lora)


def test_apply_with_a_lora_config_prepares_a_quantized_model() -> None:
    model, _ = load_model(quantization="4bit-nf4")
    model = methods.apply(
        model, LoraConfig(r=4, target_modules=["query", "value"]), gradient_checkpointing=True
    )
    assert model.get_base_model().is_activation_checkpointing
    _train_a_little(model, steps=1)
    assert model.base_model.model.classifier.modules_to_save["default"].weight.grad is not None
