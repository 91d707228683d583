"""Base models: the bundled MiniLM by default, any Hub model when online, optionally quantized.

``load_model`` returns ``(model, tokenizer)``: a ``...ForSequenceClassification`` model and its
own tokenizer. Weights are read only from safetensors files and ``trust_remote_code`` is never
enabled, so loading a model cannot run code from the model's folder.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from labkit._quiet import quiet_libraries
from labkit.bundled import BUNDLED_MODEL_NAME, verify_bundled_model
from labkit.errors import (
    ConfigError,
    ModelIntegrityError,
    OfflineError,
    QuantizationUnavailableError,
)

QUANTIZATION_LEVELS = (None, "8bit", "4bit-nf4", "4bit-fp4")
# bitsandbytes must not quantize the classification head: 4-bit breaks on its small output
# dimension, and the head is what fine-tuning trains anyway.
UNQUANTIZED_MODULES = ["classifier", "score", "pooler", "pooler.dense"]


def check_quantization(quantization: str | None) -> str | None:
    """Validate a quantization level name ("none" is accepted as None)."""
    if quantization in ("none", "None", ""):
        return None
    if quantization not in QUANTIZATION_LEVELS:
        raise ConfigError(
            f"Unknown quantization {quantization!r}: use one of None (no quantization), "
            "'8bit', '4bit-nf4' (QLoRA's NormalFloat-4) or '4bit-fp4'."
        )
    return quantization


def best_device() -> str:
    """``cuda`` when a CUDA GPU is present, else ``cpu`` (MPS is used only by the Trainer)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@lru_cache(maxsize=4)
def _bitsandbytes_works(bits: int, device: str) -> tuple[bool, str]:
    from labkit.environment import _try_quantized_layer

    check = _try_quantized_layer(bits, device)
    return check.ok, check.detail


def require_quantization_backend(quantization: str | None) -> None:
    """Raise QuantizationUnavailableError when bitsandbytes cannot run this level here."""
    if quantization is None:
        return
    bits = 8 if quantization == "8bit" else 4
    ok, detail = _bitsandbytes_works(bits, best_device())
    if not ok:
        other = "'8bit'" if bits == 4 and _bitsandbytes_works(8, best_device())[0] else "None"
        raise QuantizationUnavailableError(
            f"{quantization} quantization cannot run on this machine: bitsandbytes {detail} "
            f"Use quantization={other} here, or run this lab on a CUDA GPU (e.g. Colab)."
        )


def bnb_config(quantization: str | None, *, double_quant: bool = True, compute_dtype: Any = None):
    """The ``BitsAndBytesConfig`` for a level, keeping the head unquantized (None: no config)."""
    import torch
    from transformers import BitsAndBytesConfig

    quantization = check_quantization(quantization)
    if quantization is None:
        return None
    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=UNQUANTIZED_MODULES)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=quantization.split("-")[1],
        bnb_4bit_use_double_quant=double_quant,
        bnb_4bit_compute_dtype=compute_dtype or torch.float32,
        llm_int8_skip_modules=UNQUANTIZED_MODULES,
    )


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")


def resolve_model_source(name: str | None) -> str:
    """Map ``None`` (and the bundled model's Hub name) to the bundled, verified folder."""
    if name is None or name == BUNDLED_MODEL_NAME:
        return str(verify_bundled_model())
    if Path(name).expanduser().is_dir():
        folder = Path(name).expanduser()
        if not any(folder.glob("*.safetensors")):
            raise ModelIntegrityError(
                f"{folder} has no .safetensors weights. labkit loads only safetensors (pickled "
                "weights can run code when loaded); convert the model with save_pretrained()."
            )
        return str(folder)
    return name


def load_model(
    name: str | None = None,
    *,
    num_labels: int = 2,
    quantization: str | None = None,
    double_quant: bool = True,
    label_names: list[str] | None = None,
    seed: int | None = 0,
) -> tuple[Any, Any]:
    """Load a sequence classifier and its tokenizer.

    ``name=None`` is the bundled all-MiniLM-L6-v2 (offline, sha256-checked); otherwise a Hub
    name or a local folder. ``quantization`` is None, "8bit", "4bit-nf4" or "4bit-fp4"
    (through ``BitsAndBytesConfig``; the head stays in full precision). ``seed`` fixes the
    random initialisation of the new classification head.
    """
    quiet_libraries()
    quantization = check_quantization(quantization)
    if not isinstance(num_labels, int) or num_labels < 2:
        raise ConfigError(f"num_labels={num_labels!r}: a classifier needs at least 2 labels.")
    require_quantization_backend(quantization)
    source = resolve_model_source(name)
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed

    if seed is not None:
        set_seed(seed)
    kwargs: dict[str, Any] = {
        "num_labels": num_labels,
        "use_safetensors": True,
        "trust_remote_code": False,
    }
    if label_names:
        kwargs["id2label"] = dict(enumerate(label_names))
        kwargs["label2id"] = {n: i for i, n in enumerate(label_names)}
    config = bnb_config(quantization, double_quant=double_quant)
    if config is not None:
        kwargs["quantization_config"] = config
        kwargs["device_map"] = {"": best_device()}
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
        model = AutoModelForSequenceClassification.from_pretrained(source, **kwargs)
    except OSError as error:
        if _offline() or "offline" in str(error).lower() or "connect" in str(error).lower():
            raise OfflineError(
                f"Model {name!r} is not on this machine and the Hub cannot be reached (offline). "
                "Use the bundled model (name=None), or download it once online with "
                f"AutoModelForSequenceClassification.from_pretrained({name!r}).save_pretrained("
                "'my_model') and pass the folder path."
            ) from error
        raise ConfigError(
            f"Could not load model {name!r}: {str(error).splitlines()[0]} Check the name "
            "(e.g. 'distilbert-base-uncased') or pass a folder with config.json and "
            "model.safetensors."
        ) from error
    if tokenizer.pad_token is None:  # GPT-2 style models have no padding token
        tokenizer.pad_token = tokenizer.eos_token
        model.config.pad_token_id = tokenizer.pad_token_id
    model.labkit_source = name or BUNDLED_MODEL_NAME
    model.labkit_quantization = quantization
    return model, tokenizer


def count_parameters(model: Any) -> tuple[int, int]:
    """(trainable, total) parameters, counting a packed 4-bit weight as its logical size."""
    trainable = total = 0
    for param in model.parameters():
        n = param.numel()
        quant_state = getattr(param, "quant_state", None)
        if quant_state is not None and getattr(quant_state, "shape", None) is not None:
            n = 1
            for dim in quant_state.shape:
                n *= dim
        total += n
        if param.requires_grad:
            trainable += n
    return trainable, total
