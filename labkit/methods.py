"""PEFT strategies: what to train and what to freeze.

``apply(model, method, **options)`` turns a freshly loaded classifier into one of the course's
methods: ``"full"`` (everything trains), ``"head"`` (only the classification head), ``"last_n"``
(the head plus the last N encoder layers) or ``"lora"`` (low-rank adapters through ``peft``; on
a quantized model this is QLoRA). ``LoRALinear`` is the from-scratch layer of the LoRA lesson.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any

import torch
from torch import nn

from labkit.catalog import METHODS
from labkit.errors import ConfigError

__all__ = [
    "METHODS",
    "TARGET_PRESETS",
    "LoRALinear",
    "apply",
    "head_modules",
    "init_modules",
    "linear_module_names",
    "lora_config_of",
    "resolve_targets",
    "set_lora_rank",
    "skeleton",
    "validate_lora_options",
]

# "attention" means the query/key/value input projections of self-attention, in every
# architecture: BERT query/key/value, DistilBERT q_lin/k_lin/v_lin, Llama q_proj/k_proj/v_proj,
# GPT-2's fused c_attn. The attention *output* projection (BERT attention.output.dense,
# DistilBERT out_lin, GPT-2 attn.c_proj, Llama o_proj) is not included, so a preset trains the
# same kind of layers on every model. "attention+ffn" adds the two linear layers of the
# feed-forward block (BERT intermediate.dense and output.dense, DistilBERT lin1/lin2, GPT-2
# mlp.c_fc/mlp.c_proj, Llama gate_proj/up_proj/down_proj).
ATTENTION_NAMES = ("query", "key", "value", "q_lin", "k_lin", "v_lin", "q_proj", "k_proj",
                   "v_proj", "c_attn", "Wqkv")  # fmt: skip
FEED_FORWARD_NAMES = ("intermediate.dense", "lin1", "lin2", "fc1", "fc2", "c_fc", "mlp.c_proj",
                      "gate_proj", "up_proj", "down_proj")  # fmt: skip
TARGET_PRESETS = ("attention", "attention+ffn", "all-linear")


class LoRALinear(nn.Module):
    """A frozen linear layer plus a trainable low-rank update: ``W x + (alpha/r) B A x``.

    A starts random and B at zero, so at initialisation the layer computes exactly what the
    frozen layer computed; training moves only A and B. A and B live on the base layer's device
    and in its dtype.
    """

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float = 0.0):
        super().__init__()
        validate_lora_options(rank, alpha, dropout, width=min(base.in_features, base.out_features))
        self.base = base
        for param in self.base.parameters():
            param.requires_grad = False
        self.rank, self.alpha = rank, alpha
        self.scaling = alpha / rank
        like = {"device": base.weight.device, "dtype": base.weight.dtype}
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features, **like))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, **like))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # the same start as peft
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update = self.dropout(x) @ self.lora_A.T @ self.lora_B.T
        return self.base(x) + self.scaling * update

    def delta_weight(self) -> torch.Tensor:
        """The learned change of the weight matrix, ``(alpha / r) * B @ A``."""
        return self.scaling * (self.lora_B @ self.lora_A)

    def merged(self) -> nn.Linear:
        """A plain linear layer with the update folded in: no extra cost at inference.

        The merged layer has the base layer's device and dtype.
        """
        weight = self.base.weight
        merged = nn.Linear(
            self.base.in_features, self.base.out_features, self.base.bias is not None,
            device=weight.device, dtype=weight.dtype,
        )  # fmt: skip
        with torch.no_grad():
            merged.weight.copy_(weight + self.delta_weight().to(weight.dtype))
            if self.base.bias is not None:
                merged.bias.copy_(self.base.bias)
        return merged


def validate_lora_options(rank: Any, alpha: Any, dropout: Any, width: int | None = None) -> None:
    """Check rank, alpha and dropout before any model is touched."""
    if isinstance(rank, bool) or not isinstance(rank, int) or rank <= 0:
        raise ConfigError(f"LoRA rank must be a positive integer, got {rank!r}; try 8.")
    if width is not None and rank > width:
        raise ConfigError(
            f"LoRA rank {rank} is larger than the layer width {width}: a rank above the width "
            f"adds parameters without adding capacity. Use a rank between 1 and {width} "
            "(4 to 16 is typical)."
        )
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not alpha > 0:
        raise ConfigError(f"LoRA alpha must be a positive number, got {alpha!r}; try 2 * rank.")
    if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ConfigError(f"LoRA dropout must be in [0, 1), got {dropout!r}; try 0.1.")


def head_modules(model: Any) -> list[str]:
    """Full names of the modules that form the classification head of ``model``.

    The head is what a ``...ForSequenceClassification`` model adds on top of its pretrained
    backbone (the module named by ``base_model_prefix``): ``classifier`` for BERT and RoBERTa
    (RoBERTa's is a whole module with ``dense`` and ``out_proj``), ``pre_classifier`` and
    ``classifier`` for DistilBERT (both new, random layers), ``score`` for GPT-2 and Llama.
    BERT's pooler (``bert.pooler``), the dense+tanh layer that turns the [CLS] vector into
    what the classifier reads, belongs to the head too: it comes from the checkpoint, but no
    training shaped it for this task (all-MiniLM-L6-v2 was trained with mean pooling and never
    used it), so freezing it would leave the classifier reading a stale projection. It is
    small (384 x 384 in MiniLM). A model without that structure falls back to the modules whose
    weights were newly initialised at load time; ``model.labkit_head_modules``, when set,
    overrides all of this.

    One list for every consumer: ``apply`` trains these modules (head, last_n), peft copies
    and trains them (``LoraConfig.modules_to_save``) and transformers keeps them unquantized
    (``BitsAndBytesConfig.llm_int8_skip_modules``). The names are full module names, which peft
    (it matches ``name.endswith(entry)``) and transformers (it matches from the start of the
    name up to a dot, or as a suffix) read the same way as labkit. ``model`` may be a
    peft-wrapped model or a transformers config (the model is then built on the meta device,
    with no memory and no weights, just to read its structure).
    """
    from transformers import PretrainedConfig

    if isinstance(model, PretrainedConfig):
        model = skeleton(model)
    model = _unwrap(model)
    declared = getattr(model, "labkit_head_modules", None)
    if declared is not None:
        return sorted(declared)
    prefix = getattr(model, "base_model_prefix", "")
    backbone = getattr(model, prefix, None) if prefix else None
    names: list[str] = []
    if isinstance(backbone, nn.Module) and backbone is not model:
        names = [n for n, child in model.named_children() if n != prefix and _has_params(child)]
        pooler = getattr(backbone, "pooler", None)
        if isinstance(pooler, nn.Module) and _has_params(pooler):
            names.append(f"{prefix}.pooler")
    if not names:  # fallback: what loading initialised
        missing = getattr(model, "labkit_missing_keys", None) or []
        modules = sorted({key.rsplit(".", 1)[0] for key in missing})
        names = [m for m in modules if not any(m.startswith(o + ".") for o in modules)]
    if not names:
        raise ConfigError(
            f"Cannot tell which modules of {type(model).__name__} form its classification head: "
            "load it with labkit.load_model or AutoModelForSequenceClassification, or set "
            "model.labkit_head_modules = ['<module name>', ...]."
        )
    return sorted(names)


def skeleton(config: Any, model_class: Any = None) -> nn.Module:
    """The model of ``config`` built on the meta device: its structure, no memory, no weights.

    ``model_class`` defaults to ``AutoModelForSequenceClassification``.
    """
    if model_class is None:
        from transformers import AutoModelForSequenceClassification

        model_class = AutoModelForSequenceClassification
    build = getattr(model_class, "from_config", None) or model_class._from_config
    with torch.device("meta"):
        return build(config)


def _unwrap(model: Any) -> Any:
    """The transformers model inside a peft model (the model itself otherwise)."""
    if hasattr(model, "peft_config") and callable(getattr(model, "get_base_model", None)):
        return model.get_base_model()
    return model


def _has_params(module: nn.Module) -> bool:
    return any(True for _ in module.parameters())


def _inside(name: str, modules: list[str]) -> bool:
    return any(name == m or name.startswith(m + ".") for m in modules)


def _heads_or_none(model: nn.Module) -> list[str]:
    try:
        return head_modules(model)
    except ConfigError:
        return []


def init_modules(model: nn.Module, names: list[str], seed: int) -> None:
    """Initialise the named modules as transformers initialises new weights, from ``seed``.

    Uses the model's own ``_init_weights`` (``reset_parameters`` for plain PyTorch modules)
    under ``torch.manual_seed(seed)``, module by module in name order; the global random state
    is left as it was. ``load_model`` initialises a new head this way, and ``set_lora_rank``
    repeats it, so both give the same head for the same seed.
    """
    from labkit.device import seeded

    init = getattr(model, "_init_weights", None)
    with seeded(seed), torch.no_grad():
        for name in sorted(names):
            for sub in model.get_submodule(name).modules():
                for param in sub.parameters(recurse=False):
                    param._is_hf_initialized = False  # transformers skips flagged tensors
                if init is not None:
                    init(sub)
                elif hasattr(sub, "reset_parameters"):
                    sub.reset_parameters()


def _is_linear(module: nn.Module) -> bool:
    return isinstance(module, nn.Linear) or type(module).__name__ in (
        "Linear8bitLt", "Linear4bit", "Conv1D")  # fmt: skip


def linear_module_names(model: nn.Module) -> list[str]:
    """Names of the linear layers a LoRA adapter can target (including quantized ones).

    The head's layers are not among them: the head trains whole (``modules_to_save``).
    """
    heads = _heads_or_none(model)
    return [n for n, m in model.named_modules() if _is_linear(m) and not _inside(n, heads)]


def _ending(name: str) -> str:
    """A module name without the backbone prefix and layer number: "attention.self.query"."""
    match = re.search(r"\.(?:layer|layers|h|block)\.\d+\.(.+)$", name)
    return match.group(1) if match else ".".join(name.split(".")[-2:])


def _missing_targets_error(missing: Any, available: list[str]) -> ConfigError:
    endings = sorted({_ending(n) for n in available})
    return ConfigError(
        f"Target modules {missing} do not exist in this model. Linear layers it has (name "
        f"endings; any ending such as the last part works): {endings}; or use a preset: "
        f"{list(TARGET_PRESETS)}."
    )


def resolve_targets(model: nn.Module, targets: str | list[str]) -> list[str]:
    """Turn a preset or explicit names into the module names peft should wrap."""
    available = linear_module_names(model)
    if isinstance(targets, str) and targets not in TARGET_PRESETS:
        targets = [targets]
    if targets == "all-linear":
        wanted = available
    elif targets in ("attention", "attention+ffn"):
        pool = ATTENTION_NAMES + (FEED_FORWARD_NAMES if targets == "attention+ffn" else ())
        wanted = [n for n in available if any(_ends_with(n, s) for s in pool)]
        if targets == "attention+ffn":  # BERT's feed-forward output is "<layer>.output.dense"
            wanted += [n for n in available if re.search(r"layer\.\d+\.output\.dense$", n)]
    else:
        missing = [t for t in targets if not any(_ends_with(n, t) for n in available)]
        if missing:
            raise _missing_targets_error(missing, available)
        wanted = [n for n in available if any(_ends_with(n, t) for t in targets)]
    if not wanted:
        raise ConfigError(
            f"No linear layer of this model matches targets={targets!r}. Its linear layers: "
            f"{available[:12]}...; pass explicit names."
        )
    return sorted(set(wanted))


def _ends_with(name: str, suffix: str) -> bool:
    """peft's rule for a target name: the whole module name or its ending after a dot."""
    return name == suffix or name.endswith("." + suffix)


def _set_trainable(model: nn.Module, predicate) -> None:
    for name, param in model.named_parameters():
        param.requires_grad = bool(predicate(name))


def _layer_index(name: str) -> int | None:
    match = re.search(r"\.(?:layer|layers|h|block)\.(\d+)\.", name)
    return int(match.group(1)) if match else None


def _is_quantized(model: nn.Module) -> bool:
    return bool(
        getattr(model, "is_quantized", False)
        or getattr(model, "quantization_method", None)
        or getattr(model, "is_loaded_in_8bit", False)
        or getattr(model, "is_loaded_in_4bit", False)
    )


def _is_lora_config(method: Any) -> bool:
    try:
        from peft import LoraConfig
    except ImportError:  # pragma: no cover - peft is a dependency
        return False
    return isinstance(method, LoraConfig)


def apply(
    model: nn.Module,
    method: Any,
    *,
    last_n: int = 2,
    rank: int = 8,
    alpha: float | None = None,
    dropout: float = 0.1,
    targets: str | list[str] = "attention",
    gradient_checkpointing: bool = False,
) -> nn.Module:
    """Prepare ``model`` for a PEFT method and return the model to train.

    ``method`` is a name or a ``peft.LoraConfig``:

    - ``"full"``: every parameter trains.
    - ``"head"``: only the classification head, ``head_modules(model)`` (for BERT-style models
      the classifier and the pooler that feeds it).
    - ``"last_n"``: the head plus the last ``last_n`` encoder layers (``last_n`` equal to the
      number of layers trains them all, embeddings excepted).
    - ``"lora"``: peft ``LoraConfig`` adapters of ``rank`` (``alpha`` defaults to 2 * rank) on
      ``targets`` ("attention": the query/key/value projections; "attention+ffn": those plus
      the feed-forward layers; "all-linear"; or a list of module names); the head trains too.
    - a ``LoraConfig`` you wrote: labkit fills ``task_type=SEQ_CLS`` when missing and, when
      ``modules_to_save`` is None, the model's head (the new classification head must train:
      left frozen it stays random), checks rank, alpha, dropout and that the target modules
      exist, and returns ``get_peft_model(model, config)``. Your object is not changed.

    A quantized model is first passed through peft's ``prepare_model_for_kbit_training``
    (LoRA on a quantized base is QLoRA); quantized weights are frozen, so only LoRA trains them.

    ``gradient_checkpointing=True`` recomputes each layer's activations during the backward
    pass instead of keeping them (less memory, about a third more compute), for every method,
    with PyTorch's non-reentrant checkpointing. For ``"head"`` it saves nothing (frozen layers
    keep no activations for the backward pass anyway) but is accepted so a comparison can pass
    the same option to every method.
    """
    quantized = _is_quantized(model)
    if _is_lora_config(method):
        return _apply_lora_config(model, method, quantized, gradient_checkpointing)
    if method not in METHODS:
        raise ConfigError(f"Unknown method {method!r}: use one of {list(METHODS)}.")
    if quantized and method != "lora":
        raise ConfigError(
            f"method={method!r} cannot train a quantized model: 8-bit and 4-bit weights are "
            "frozen. Use method='lora' (QLoRA), or load the model without quantization."
        )
    if method == "lora":
        return _apply_lora(model, rank, alpha, dropout, targets, quantized, gradient_checkpointing)
    heads = head_modules(model) if method != "full" else []
    if method == "full":
        _set_trainable(model, lambda name: True)
    elif method == "head":
        _set_trainable(model, lambda name: _inside(name, heads))
    else:
        indices = {i for n, _ in model.named_parameters() if (i := _layer_index(n)) is not None}
        if (
            isinstance(last_n, bool)
            or not isinstance(last_n, int)
            or not 1 <= last_n <= len(indices)
        ):
            raise ConfigError(
                f"last_n={last_n!r}: this model has {len(indices)} layers; choose 1 to "
                f"{len(indices)} (2 or 3 is typical)."
            )
        first = max(indices) - last_n + 1

        def in_last_layers(name: str) -> bool:
            index = _layer_index(name)
            return index is not None and index >= first

        _set_trainable(model, lambda name: _inside(name, heads) or in_last_layers(name))
    if gradient_checkpointing:
        _enable_checkpointing(model, input_grads=method == "full")
    return model


def _enable_checkpointing(model: nn.Module, *, input_grads: bool) -> None:
    """Turn on non-reentrant activation checkpointing (refused clearly where unsupported).

    transformers also makes the embeddings' output require grad; non-reentrant checkpointing
    does not need that, and with frozen lower layers it would make the backward pass run
    through them for nothing, so it is undone unless ``input_grads``.
    """
    if not getattr(model, "supports_gradient_checkpointing", False):
        raise ConfigError(
            f"{type(model).__name__} does not support gradient checkpointing: use "
            "gradient_checkpointing=False (or a smaller batch size to save memory)."
        )
    options = {"use_reentrant": False}
    if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x name
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=options)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=options)
    if not input_grads and hasattr(model, "disable_input_require_grads"):
        model.disable_input_require_grads()


def _apply_lora(model, rank, alpha, dropout, targets, quantized, gradient_checkpointing):
    from peft import LoraConfig, TaskType

    alpha = 2 * rank if alpha is None and isinstance(rank, int) else alpha
    target_names = resolve_targets(model, targets)
    widths = [_width(model.get_submodule(n)) for n in target_names]
    validate_lora_options(rank, alpha, dropout, width=min(widths) if widths else None)
    config = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=target_names,
        modules_to_save=head_modules(model),
    )
    return _apply_lora_config(model, config, quantized, gradient_checkpointing)


def _apply_lora_config(model, config, quantized, gradient_checkpointing):
    from peft import TaskType, get_peft_model, prepare_model_for_kbit_training

    config = copy.deepcopy(config)
    if config.task_type is None:
        config.task_type = TaskType.SEQ_CLS
    if config.modules_to_save is None:
        config.modules_to_save = head_modules(model)
    names = _config_targets(model, config)
    widths = [_width(model.get_submodule(n)) for n in names]
    validate_lora_options(
        config.r, config.lora_alpha, config.lora_dropout, width=min(widths) if widths else None
    )
    if quantized:
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    elif gradient_checkpointing:
        _enable_checkpointing(model, input_grads=True)
    return get_peft_model(model, config)


def _config_targets(model: nn.Module, config: Any) -> list[str]:
    """The linear layers a LoraConfig's ``target_modules`` picks (ConfigError when none)."""
    linear = [n for n, m in model.named_modules() if _is_linear(m)]
    wanted = config.target_modules
    if wanted is None:  # peft's default for this architecture
        from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING

        model_type = getattr(getattr(model, "config", None), "model_type", None)
        wanted = TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING.get(model_type)
        if wanted is None:
            raise ConfigError(
                f"peft has no default target modules for model type {model_type!r}: set "
                "LoraConfig(target_modules=[...]) or use a preset of "
                f"{list(TARGET_PRESETS)}. Linear layers: {sorted({_ending(n) for n in linear})}."
            )
    if wanted == "all-linear":
        return linear_module_names(model)
    if isinstance(wanted, str):  # peft reads a string as a regular expression
        names = [n for n in linear if re.fullmatch(wanted, n)]
        if not names:
            raise _missing_targets_error([wanted], linear)
        return names
    missing = [t for t in wanted if not any(_ends_with(n, t) for n in linear)]
    if missing:
        raise _missing_targets_error(sorted(missing), linear)
    return [n for n in linear if any(_ends_with(n, t) for t in wanted)]


def _width(module: nn.Module) -> int:
    shape = getattr(getattr(module, "weight", None), "quant_state", None)
    if shape is not None:
        out_f, in_f = shape.shape
    else:
        in_f = getattr(module, "in_features", None) or module.weight.shape[0]
        out_f = getattr(module, "out_features", None) or module.weight.shape[1]
    return min(in_f, out_f)


def lora_config_of(model: nn.Module) -> Any:
    """The active ``LoraConfig`` of a peft model (ConfigError when it has none)."""
    config = getattr(model, "peft_config", {}).get("default")
    if config is None:
        raise ConfigError("This model has no LoRA adapter: apply(model, 'lora', ...) first.")
    return config


def set_lora_rank(
    model: nn.Module, rank: int, *, alpha: float | None = None, seed: int = 0
) -> nn.Module:
    """Return the model with fresh LoRA adapters of another rank on the same targets.

    No library has an ``adjust_lora_rank(model, rank=2)`` that resizes trained adapters: a rank
    change changes the shapes of A and B, so the adapters are re-created (B starts at zero again) and
    must be trained. ``alpha`` defaults to keeping alpha / r, the update's scale.

    The classification head is reset too, so each rank of a sweep starts where a fresh model
    starts: the head's pretrained parts (BERT's pooler) get their loaded weights back and its
    new layers are re-initialised exactly as ``load_model(seed=seed)`` initialises them; the
    adapters are then drawn under ``torch.manual_seed(seed)`` (the global random state is left
    as it was). The frozen base weights, quantized or not, are kept as they are.
    """
    from peft.utils.other import ModulesToSaveWrapper

    config = lora_config_of(model)
    originals = {
        name.removeprefix("base_model.model."): module.original_module.state_dict()
        for name, module in model.named_modules()
        if isinstance(module, ModulesToSaveWrapper)
    }
    base = model.unload()  # removes the adapters without merging; keeps the trained head copy
    for name, state in originals.items():
        base.get_submodule(name).load_state_dict(state)
    new = getattr(base, "labkit_new_modules", None)
    if new is None:  # not loaded by labkit: the modules outside the backbone are the new ones
        new = [h for h in head_modules(base) if "." not in h]
    init_modules(base, new, seed)
    fresh = copy.deepcopy(config)
    fresh.r = rank
    fresh.lora_alpha = config.lora_alpha * rank / config.r if alpha is None else alpha
    fresh.modules_to_save = head_modules(base)
    from labkit.device import seeded

    with seeded(seed):
        return _apply_lora_config(base, fresh, quantized=False, gradient_checkpointing=False)
