"""Base models: the bundled MiniLM by default, any Hub model when online, optionally quantized.

``load_model`` returns ``(model, tokenizer)``: a ``...ForSequenceClassification`` model and its
own tokenizer. Weights are read only from safetensors files and ``trust_remote_code`` is never
enabled, so loading a model cannot run code from the model's folder.
"""

from __future__ import annotations

import copy
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from labkit._quiet import quiet_expected_bnb_notices, quiet_libraries
from labkit.bundled import BUNDLED_MODEL_NAME, verify_bundled_model
from labkit.catalog import QUANTIZATION_LEVELS, check_quantization
from labkit.device import best_device, local_device_map, seeded
from labkit.device import compute_dtype as device_compute_dtype
from labkit.errors import (
    ConfigError,
    ModelIntegrityError,
    OfflineError,
    QuantizationUnavailableError,
)

POOLINGS = ("cls", "mean")

__all__ = [
    "POOLINGS",
    "QUANTIZATION_LEVELS",
    "best_device",
    "bnb_config",
    "check_quantization",
    "count_parameters",
    "from_pretrained_kwargs",
    "load_model",
    "quantization_level",
    "require_quantization_backend",
    "resolve_model_source",
]


@lru_cache(maxsize=4)
def _bitsandbytes_works(bits: int, device: str) -> tuple[bool, str]:
    from labkit import environment

    check = environment.probe_bitsandbytes(bits, device)
    return check.ok, check.detail


def require_quantization_backend(quantization: str | None) -> None:
    """Raise QuantizationUnavailableError when bitsandbytes cannot run this level here.

    The check is ``labkit.environment.probe_bitsandbytes`` (what ``labkit doctor`` reports), run
    once per level and device.
    """
    quantization = check_quantization(quantization)
    if quantization is None:
        return
    bits = 8 if quantization == "8bit" else 4
    device = best_device()
    ok, detail = _bitsandbytes_works(bits, device)
    if not ok:
        other = "'8bit'" if bits == 4 and _bitsandbytes_works(8, device)[0] else "None"
        gpu = (
            "run this lab on a CUDA GPU runtime (Colab: Runtime -> Change runtime type -> "
            "T4 GPU, then `pip install bitsandbytes`)"
            if device != "cuda"
            else "reinstall the CUDA build of bitsandbytes (`pip install -U bitsandbytes`)"
        )
        raise QuantizationUnavailableError(
            f"{quantization} quantization cannot run on this machine: bitsandbytes {detail} "
            f"Use quantization={other} here (None trains without quantization), or {gpu}."
        )


def bnb_config(
    quantization: str | None,
    *,
    double_quant: bool = True,
    compute_dtype: Any = None,
    skip_modules: list[str] | None = None,
) -> Any:
    """The ``BitsAndBytesConfig`` of a level name ("8bit", "4bit-nf4", "4bit-fp4"; None: None).

    ``compute_dtype`` (what 4-bit layers dequantize to and compute in) defaults to
    ``labkit.device.compute_dtype()``: bf16 on a GPU with native bf16, fp16 on older GPUs such
    as the T4, fp32 on a CPU. ``double_quant`` also quantizes the 4-bit scales (QLoRA's double
    quantization). ``skip_modules`` become ``llm_int8_skip_modules``, the modules left
    unquantized; None leaves it to ``load_model``, which fills in the model's head
    (``labkit.methods.head_modules``).
    """
    from transformers import BitsAndBytesConfig

    quantization = check_quantization(quantization)
    if quantization is None:
        return None
    skip = list(skip_modules) if skip_modules is not None else None
    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=skip)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=quantization.split("-")[1],
        bnb_4bit_use_double_quant=double_quant,
        bnb_4bit_compute_dtype=compute_dtype or device_compute_dtype(),
        llm_int8_skip_modules=skip,
    )


def quantization_level(config: Any) -> str | None:
    """The level name of a ``BitsAndBytesConfig``: "8bit", "4bit-nf4" or "4bit-fp4" (None: None)."""
    if config is None:
        return None
    if getattr(config, "load_in_8bit", False):
        return "8bit"
    if getattr(config, "load_in_4bit", False):
        return check_quantization(f"4bit-{config.bnb_4bit_quant_type}")
    raise ConfigError(
        f"{type(config).__name__} sets neither load_in_8bit nor load_in_4bit: labkit quantizes "
        "with bitsandbytes, e.g. BitsAndBytesConfig(load_in_4bit=True, "
        "bnb_4bit_quant_type='nf4')."
    )


def _resolve_quantization_config(
    quantization_config: Any, quantization: str | None, double_quant: bool, compute_dtype: Any
) -> Any:
    """A private ``BitsAndBytesConfig`` (a copy: the caller's object is not changed) or None."""
    from transformers import BitsAndBytesConfig

    legacy = check_quantization(quantization)
    if legacy is not None:
        if quantization_config is not None and quantization_config != legacy:
            raise ConfigError(
                f"quantization_config={quantization_config!r} and quantization={legacy!r} "
                "disagree: give quantization_config only (quantization is its older name)."
            )
        quantization_config = legacy
    if quantization_config is None or isinstance(quantization_config, str):
        return bnb_config(
            quantization_config, double_quant=double_quant, compute_dtype=compute_dtype
        )
    if not isinstance(quantization_config, BitsAndBytesConfig):
        raise ConfigError(
            f"quantization_config must be a BitsAndBytesConfig, a level name "
            f"({', '.join(repr(q) for q in QUANTIZATION_LEVELS)}) or None; got "
            f"{type(quantization_config).__name__}."
        )
    if compute_dtype is not None:
        raise ConfigError(
            "compute_dtype applies to a level name only; with a BitsAndBytesConfig set "
            "bnb_4bit_compute_dtype in the config itself."
        )
    config = copy.deepcopy(quantization_config)
    quantization_level(config)  # a config that quantizes nothing is refused here
    return config


def _config_compute_dtype(config: Any) -> Any:
    """The dtype a quantized model computes in: the 4-bit compute dtype, else the device's."""
    if config is not None and getattr(config, "load_in_4bit", False):
        return config.bnb_4bit_compute_dtype
    return device_compute_dtype()


def from_pretrained_kwargs(
    *,
    num_labels: int = 2,
    quantization_config: Any = None,
    label_names: list[str] | None = None,
    skip_modules: list[str] | None = None,
    double_quant: bool = True,
    compute_dtype: Any = None,
) -> dict[str, Any]:
    """The keyword arguments ``load_model`` passes to ``from_pretrained``.

    Unquantized: ``dtype=torch.float32`` (transformers 5 loads a checkpoint in the dtype it was
    saved in, half precision for many Hub models, unless told otherwise). Quantized: the
    ``BitsAndBytesConfig`` (``skip_modules`` filled into an empty ``llm_int8_skip_modules``),
    ``dtype`` = the compute dtype for the unquantized modules, and ``device_map`` that puts the
    whole model on this process's device (``cuda:LOCAL_RANK`` under torchrun).
    """
    import torch

    config = _resolve_quantization_config(quantization_config, None, double_quant, compute_dtype)
    kwargs: dict[str, Any] = {
        "num_labels": num_labels,
        "use_safetensors": True,
        "trust_remote_code": False,
    }
    if label_names:
        kwargs["id2label"] = dict(enumerate(label_names))
        kwargs["label2id"] = {n: i for i, n in enumerate(label_names)}
    if config is None:
        kwargs["dtype"] = torch.float32
        return kwargs
    if skip_modules and not config.llm_int8_skip_modules:
        config.llm_int8_skip_modules = list(skip_modules)
    kwargs["quantization_config"] = config
    kwargs["dtype"] = _config_compute_dtype(config)
    kwargs["device_map"] = local_device_map()
    return kwargs


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


def _load_error(name: str | None, error: OSError) -> Exception:
    if _offline() or "offline" in str(error).lower() or "connect" in str(error).lower():
        return OfflineError(
            f"Model {name!r} is not on this machine and the Hub cannot be reached (offline). "
            "Use the bundled model (name=None), or download it once online with "
            f"AutoModelForSequenceClassification.from_pretrained({name!r}).save_pretrained("
            "'my_model') and pass the folder path."
        )
    return ConfigError(
        f"Could not load model {name!r}: {str(error).splitlines()[0]} Check the name "
        "(e.g. 'distilbert-base-uncased') or pass a folder with config.json and "
        "model.safetensors."
    )


def load_model(
    name: str | None = None,
    *,
    num_labels: int = 2,
    quantization_config: Any = None,
    quantization: str | None = None,
    double_quant: bool = True,
    compute_dtype: Any = None,
    label_names: list[str] | None = None,
    seed: int | None = 0,
    pooling: str = "cls",
) -> tuple[Any, Any]:
    """Load a sequence classifier and its tokenizer.

    ``name=None`` is the bundled all-MiniLM-L6-v2 (offline, sha256-checked); otherwise a Hub
    name or a local folder. The weights load in fp32 unless quantized.

    ``quantization_config`` is a ``BitsAndBytesConfig`` you write yourself, e.g.
    ``BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
    bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=torch.bfloat16)``, or a level name:
    "8bit", "4bit-nf4", "4bit-fp4" (``quantization=`` is the older name of the level form;
    ``double_quant`` and ``compute_dtype`` shape the config labkit builds for a name, see
    ``bnb_config``). labkit adds what the model needs and leaves your object unchanged: when
    its ``llm_int8_skip_modules`` is empty it is filled with this model's head
    (``labkit.methods.head_modules``: the new classifier, plus BERT's pooler), which stays
    unquantized because it trains; and a ``device_map`` for this process's device. The model
    gets ``labkit_quantization`` (the level name, or None) and ``labkit_compute_dtype``.

    ``seed`` fixes the random initialisation of the new classification head and nothing else:
    the global random state is the same after the call as before (None: an unseeded head).

    Pooling: all-MiniLM-L6-v2 was trained by sentence-transformers with *mean pooling* (the
    average of the token vectors, see its model card and ``1_Pooling/config.json``), while
    ``BertForSequenceClassification`` classifies the [CLS] token's vector through BERT's
    pooler layer, a path the sentence-embedding training never used. Head-only results on
    this model may therefore understate what its sentence vectors can do.
    ``pooling="mean"`` (BERT models only) loads
    ``labkit.pooling.BertMeanPoolingForSequenceClassification`` instead: the same encoder, no
    pooler, and the classifier on the mean of the token vectors, as the model was trained.
    Measured (bench/calibration.py, quick profile, 500 training examples, 3 seeds): head-only
    reaches accuracy 0.888 with mean pooling against 0.809 with CLS on ``sentences``, and F1
    0.798 against 0.750 on ``sms_spam``. "cls" stays the default because it is what
    ``AutoModelForSequenceClassification`` builds for any checkpoint.
    """
    quiet_libraries()
    if pooling not in POOLINGS:
        raise ConfigError(
            f"pooling={pooling!r}: use 'cls' (the [CLS] vector through the pooler, the "
            "transformers default) or 'mean' (the mean of the token vectors)."
        )
    if isinstance(num_labels, bool) or not isinstance(num_labels, int) or num_labels < 2:
        raise ConfigError(f"num_labels={num_labels!r}: a classifier needs at least 2 labels.")
    config = _resolve_quantization_config(
        quantization_config, quantization, double_quant, compute_dtype
    )
    level = quantization_level(config)
    require_quantization_backend(level)
    source = resolve_model_source(name)
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    from labkit.methods import head_modules, skeleton

    model_class: Any = AutoModelForSequenceClassification
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
        skip = None
        if pooling == "mean" or (config is not None and not config.llm_int8_skip_modules):
            model_config = AutoConfig.from_pretrained(
                source, num_labels=num_labels, trust_remote_code=False
            )
            if pooling == "mean":
                model_class = _mean_pooling_class(model_config)
            if config is not None and not config.llm_int8_skip_modules:
                skip = head_modules(skeleton(model_config, model_class))
        kwargs = from_pretrained_kwargs(
            num_labels=num_labels, quantization_config=config, label_names=label_names,
            skip_modules=skip,
        )  # fmt: skip
        if config is not None:
            quiet_expected_bnb_notices(kwargs["dtype"], next(iter(kwargs["device_map"].values())))
        with seeded(seed):
            model, info = model_class.from_pretrained(source, output_loading_info=True, **kwargs)
    except OSError as error:
        raise _load_error(name, error) from error
    if tokenizer.pad_token is None:  # GPT-2 style models have no padding token
        tokenizer.pad_token = tokenizer.eos_token
        model.config.pad_token_id = tokenizer.pad_token_id
    _remember_head(model, info.get("missing_keys", ()), seed)
    model.labkit_source = name or BUNDLED_MODEL_NAME
    model.labkit_quantization = level
    model.labkit_compute_dtype = kwargs["dtype"]
    return model, tokenizer


def _mean_pooling_class(model_config: Any) -> Any:
    if model_config.model_type != "bert":
        raise ConfigError(
            f"pooling='mean' is available for BERT models (such as the bundled MiniLM), not "
            f"{model_config.model_type!r}: use pooling='cls'."
        )
    from labkit.pooling import BertMeanPoolingForSequenceClassification

    return BertMeanPoolingForSequenceClassification


def _remember_head(model: Any, missing_keys: Any, seed: int | None) -> None:
    """Initialise the new head modules from ``seed`` and note which they are.

    ``set_lora_rank`` re-initialises the same modules the same way, so a rank sweep starts
    every rank from the head a fresh ``load_model(seed=seed)`` has.
    """
    from labkit.methods import head_modules, init_modules

    model.labkit_missing_keys = sorted(missing_keys)
    new = [h for h in head_modules(model) if any(k.startswith(h + ".") for k in missing_keys)]
    if seed is not None:
        init_modules(model, new, seed)
    model.labkit_new_modules = new


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


def keep_4bit_layers_trainable(model: Any) -> int:
    """Stop bitsandbytes from repacking 4-bit weights for CPU inference during training.

    On a CPU with AVX512-BF16, bitsandbytes (0.48+) repacks a ``Linear4bit`` weight into an
    inference-only layout the first time the layer runs in eval mode without gradients, e.g.
    the evaluation after an epoch; the next training step then fails ("a view of a leaf
    Variable that requires grad is being used in an in-place operation"). Training code calls
    this first; inference-only code keeps the faster packed kernel. Returns the number of
    4-bit layers changed (0 without bitsandbytes or 4-bit layers).
    """
    changed = 0
    for module in model.modules():
        if getattr(module, "support_avx512bf16_for_cpu", False):
            module.support_avx512bf16_for_cpu = False
            changed += 1
    return changed
