"""Base models: the bundled default, quantized loading, safe loading, clear errors."""

from __future__ import annotations

import pytest
import torch

from labkit import models
from labkit.errors import ConfigError, ModelIntegrityError, OfflineError
from labkit.measure import footprint_bytes, linear_layer_bytes


@pytest.fixture(scope="module")
def fp32():
    return models.load_model()


def test_bundled_model_loads_offline_with_its_tokenizer(fp32) -> None:
    model, tokenizer = fp32
    assert type(model).__name__ == "BertForSequenceClassification"
    assert model.config.num_labels == 2
    batch = tokenizer(["not bad at all", "awful"], padding=True, return_tensors="pt")
    assert model(**batch).logits.shape == (2, 2)


def test_head_initialisation_is_seeded() -> None:
    a, _ = models.load_model(seed=3)
    b, _ = models.load_model(seed=3)
    c, _ = models.load_model(seed=4)
    assert torch.equal(a.classifier.weight, b.classifier.weight)
    assert not torch.equal(a.classifier.weight, c.classifier.weight)


@pytest.mark.parametrize("level", ["4bit-nf4", "4bit-fp4"])
def test_4bit_linear_layers_take_at_most_016_of_fp32(fp32, level) -> None:
    quantized, _ = models.load_model(quantization=level)
    q_bytes, q_params = linear_layer_bytes(quantized)
    f_bytes, f_params = linear_layer_bytes(fp32[0])
    assert q_params == f_params  # a 4-bit weight still counts as one parameter
    assert q_bytes / f_bytes <= 0.16, q_bytes / f_bytes
    assert footprint_bytes(quantized) < 0.65 * footprint_bytes(fp32[0])


def test_count_parameters_is_correct_under_4bit_packing(fp32) -> None:
    quantized, _ = models.load_model(quantization="4bit-nf4")
    assert models.count_parameters(quantized)[1] == models.count_parameters(fp32[0])[1]


def test_8bit_keeps_the_head_unquantized() -> None:
    model, _ = models.load_model(quantization="8bit")
    assert model.classifier.weight.dtype == torch.float32
    assert model.bert.pooler.dense.weight.dtype == torch.float32
    assert model.bert.encoder.layer[0].attention.self.query.weight.dtype == torch.int8


def test_unknown_quantization_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="Unknown quantization '3bit'.*4bit-nf4"):
        models.load_model(quantization="3bit")


def test_quantization_unavailable_says_why(monkeypatch) -> None:
    from labkit.errors import QuantizationUnavailableError

    monkeypatch.setattr(models, "_bitsandbytes_works", lambda bits, device: (False, "no backend."))
    with pytest.raises(QuantizationUnavailableError, match="cannot run on this machine.*None"):
        models.load_model(quantization="4bit-nf4")


def test_hub_name_offline_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OfflineError, match="offline.*bundled model"):
        models.load_model("some-org/not-on-this-machine")


def test_folder_without_safetensors_is_refused(tmp_path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(ModelIntegrityError, match="only safetensors"):
        models.load_model(str(tmp_path))


def test_too_few_labels() -> None:
    with pytest.raises(ConfigError, match="at least 2 labels"):
        models.load_model(num_labels=1)


def test_bitsandbytes_config_keeps_head_and_uses_double_quant() -> None:
    config = models.bnb_config("4bit-nf4")
    assert config.bnb_4bit_quant_type == "nf4" and config.bnb_4bit_use_double_quant
    assert "classifier" in config.llm_int8_skip_modules
    assert models.bnb_config(None) is None
