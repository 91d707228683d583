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
    config = models.bnb_config("4bit-nf4", skip_modules=["classifier"])
    assert config.bnb_4bit_quant_type == "nf4" and config.bnb_4bit_use_double_quant
    assert config.llm_int8_skip_modules == ["classifier"]
    assert models.bnb_config("4bit-nf4").llm_int8_skip_modules is None  # load_model fills it
    assert models.bnb_config(None) is None


def test_a_half_precision_checkpoint_loads_in_fp32(tmp_path) -> None:
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from labkit.bundled import verify_bundled_model

    config = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64,
    )  # fmt: skip
    BertForSequenceClassification(config).half().save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(str(verify_bundled_model())).save_pretrained(tmp_path)
    model, _ = models.load_model(str(tmp_path))
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def test_load_model_leaves_the_global_random_state_alone() -> None:
    torch.manual_seed(123)
    models.load_model(seed=7)
    after_load = torch.rand(4)
    torch.manual_seed(123)
    assert torch.equal(after_load, torch.rand(4))


def test_a_bitsandbytes_config_written_in_the_notebook_is_completed() -> None:
    from transformers import BitsAndBytesConfig

    config = BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.float32,
    )  # fmt: skip
    model, _ = models.load_model(quantization_config=config)
    assert model.labkit_quantization == "4bit-nf4"
    assert model.labkit_compute_dtype == torch.float32
    assert config.llm_int8_skip_modules is None  # the notebook's object is not changed
    used = model.config.quantization_config
    skip = used["llm_int8_skip_modules"] if isinstance(used, dict) else used.llm_int8_skip_modules
    assert sorted(skip) == ["bert.pooler", "classifier"]
    assert model.bert.pooler.dense.weight.dtype == torch.float32  # the head stays unquantized
    assert type(model.bert.encoder.layer[0].attention.self.query).__name__ == "Linear4bit"


def test_string_levels_and_the_legacy_keyword_agree() -> None:
    assert models.quantization_level(models.bnb_config("4bit-fp4")) == "4bit-fp4"
    assert models.quantization_level(models.bnb_config("8bit")) == "8bit"
    with pytest.raises(ConfigError, match="quantization_config.*quantization"):
        models.load_model(quantization_config="8bit", quantization="4bit-nf4")


def test_4bit_layers_compute_in_the_device_precision() -> None:
    model, _ = models.load_model(quantization="4bit-nf4")
    layer = model.bert.encoder.layer[0].attention.self.query
    assert layer.compute_dtype == torch.float32 == model.labkit_compute_dtype  # CPU: fp32


def test_the_quantization_probe_is_the_doctors(monkeypatch) -> None:
    from labkit import environment
    from labkit.errors import QuantizationUnavailableError

    def broken(bits, device):
        return environment.Check(f"bitsandbytes {bits}-bit", False, "is broken here.")

    monkeypatch.setattr(environment, "probe_bitsandbytes", broken)
    models._bitsandbytes_works.cache_clear()
    try:
        with pytest.raises(QuantizationUnavailableError, match="is broken here.*None"):
            models.require_quantization_backend("4bit-nf4")
    finally:
        models._bitsandbytes_works.cache_clear()


def test_mean_pooling_classifier_reads_the_average_token_vector() -> None:
    from labkit.methods import head_modules

    model, tokenizer = models.load_model(pooling="mean", seed=3)
    assert type(model).__name__ == "BertMeanPoolingForSequenceClassification"
    assert head_modules(model) == ["classifier"] and model.bert.pooler is None
    again, _ = models.load_model(pooling="mean", seed=3)
    assert torch.equal(model.classifier.weight, again.classifier.weight)
    model.eval()
    alone = tokenizer(["not bad at all"], return_tensors="pt")
    batch = tokenizer(["not bad at all", "a much longer second sentence here"], padding=True,
                      return_tensors="pt")  # fmt: skip
    with torch.no_grad():
        first = model(**alone).logits[0]
        padded = model(**batch, labels=torch.tensor([1, 0]))
    assert torch.allclose(first, padded.logits[0], atol=1e-5)  # padding does not count
    assert padded.loss is not None and padded.logits.shape == (2, 2)
    with pytest.raises(ConfigError, match="pooling='max'"):
        models.load_model(pooling="max")
