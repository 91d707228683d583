"""PEFT strategies: what to train and what to freeze.

``apply(model, method, **options)`` turns a freshly loaded classifier into one of the course's
methods: ``"full"`` (everything trains), ``"head"`` (only the classification head), ``"last_n"``
(the head plus the last N encoder layers) or ``"lora"`` (low-rank adapters through ``peft``; on
a quantized model this is QLoRA). ``LoRALinear`` is the from-scratch layer of the LoRA lesson.
"""

from __future__ import annotations

import math
import re
from typing import Any

import torch
from torch import nn

from labkit.errors import ConfigError

METHODS = ("full", "head", "last_n", "lora")
HEAD_MODULES = ("classifier", "pooler", "score")
ATTENTION_NAMES = ("query", "key", "value", "q_lin", "k_lin", "v_lin", "q_proj", "k_proj",
                   "v_proj", "c_attn", "Wqkv")  # fmt: skip
FEED_FORWARD_NAMES = ("intermediate.dense", "lin1", "lin2", "fc1", "fc2", "c_fc", "gate_proj",
                      "up_proj", "down_proj")  # fmt: skip
TARGET_PRESETS = ("attention", "attention+ffn", "all-linear")


class LoRALinear(nn.Module):
    """A frozen linear layer plus a trainable low-rank update: ``W x + (alpha/r) B A x``.

    A starts random and B at zero, so at initialisation the layer computes exactly what the
    frozen layer computed; training moves only A and B.
    """

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float = 0.0):
        super().__init__()
        validate_lora_options(rank, alpha, dropout, width=min(base.in_features, base.out_features))
        self.base = base
        for param in self.base.parameters():
            param.requires_grad = False
        self.rank, self.alpha = rank, alpha
        self.scaling = alpha / rank
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # the same start as peft
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update = self.dropout(x) @ self.lora_A.T @ self.lora_B.T
        return self.base(x) + self.scaling * update

    def delta_weight(self) -> torch.Tensor:
        """The learned change of the weight matrix, ``(alpha / r) * B @ A``."""
        return self.scaling * (self.lora_B @ self.lora_A)

    def merged(self) -> nn.Linear:
        """A plain linear layer with the update folded in: no extra cost at inference."""
        merged = nn.Linear(
            self.base.in_features, self.base.out_features, self.base.bias is not None
        )
        with torch.no_grad():
            merged.weight.copy_(self.base.weight + self.delta_weight())
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


def linear_module_names(model: nn.Module) -> list[str]:
    """Names of the linear layers a LoRA adapter can target (including quantized ones)."""
    names = []
    for name, module in model.named_modules():
        is_linear = isinstance(module, nn.Linear) or type(module).__name__ in (
            "Linear8bitLt", "Linear4bit", "Conv1D")  # fmt: skip
        if is_linear and not any(part in HEAD_MODULES for part in name.split(".")):
            names.append(name)
    return names


def resolve_targets(model: nn.Module, targets: str | list[str]) -> list[str]:
    """Turn a preset or explicit names into the module-name suffixes peft should wrap."""
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
            suffixes = sorted({".".join(n.split(".")[-2:]) for n in available})
            raise ConfigError(
                f"Target modules {missing} do not exist in this model. Linear layers it has "
                f"(name endings): {suffixes}; or use a preset: {list(TARGET_PRESETS)}."
            )
        wanted = [n for n in available if any(_ends_with(n, t) for t in targets)]
    if not wanted:
        raise ConfigError(
            f"No linear layer of this model matches targets={targets!r}. Its linear layers: "
            f"{available[:12]}...; pass explicit names."
        )
    return sorted(set(wanted))


def _ends_with(name: str, suffix: str) -> bool:
    return name == suffix or name.endswith("." + suffix)


def _set_trainable(model: nn.Module, predicate) -> None:
    for name, param in model.named_parameters():
        param.requires_grad = bool(predicate(name))


def _is_head(name: str) -> bool:
    return any(part in HEAD_MODULES for part in name.split("."))


def _layer_index(name: str) -> int | None:
    match = re.search(r"\.(?:layer|layers|h|block)\.(\d+)\.", name)
    return int(match.group(1)) if match else None


def apply(
    model: nn.Module,
    method: str,
    *,
    last_n: int = 2,
    rank: int = 8,
    alpha: float | None = None,
    dropout: float = 0.1,
    targets: str | list[str] = "attention",
    gradient_checkpointing: bool = False,
) -> nn.Module:
    """Prepare ``model`` for a PEFT method and return the model to train.

    - ``"full"``: every parameter trains.
    - ``"head"``: only the classification head (for BERT-style models the classifier and the
      pooler that feeds it).
    - ``"last_n"``: the head plus the last ``last_n`` encoder layers.
    - ``"lora"``: peft ``LoraConfig`` adapters of ``rank`` (``alpha`` defaults to 2 * rank) on
      ``targets`` ("attention", "attention+ffn", "all-linear" or a list of module names); the
      head trains too. A quantized model is first passed through
      ``prepare_model_for_kbit_training``: that is QLoRA.
    """
    if method not in METHODS:
        raise ConfigError(f"Unknown method {method!r}: use one of {list(METHODS)}.")
    quantized = bool(
        getattr(model, "is_quantized", False) or getattr(model, "quantization_method", None)
    )
    if quantized and method != "lora":
        raise ConfigError(
            f"method={method!r} cannot train a quantized model: 8-bit and 4-bit weights are "
            "frozen. Use method='lora' (QLoRA), or load the model without quantization."
        )
    if method == "full":
        _set_trainable(model, lambda name: True)
    elif method == "head":
        _set_trainable(model, _is_head)
    elif method == "last_n":
        indices = {i for n, _ in model.named_parameters() if (i := _layer_index(n)) is not None}
        if not isinstance(last_n, int) or not 1 <= last_n <= len(indices):
            raise ConfigError(
                f"last_n={last_n!r}: this model has {len(indices)} layers; choose 1 to "
                f"{len(indices)} (2 or 3 is typical)."
            )
        first = max(indices) - last_n + 1
        _set_trainable(model, lambda n: _is_head(n) or (_layer_index(n) or -1) >= first)
    else:
        return _apply_lora(model, rank, alpha, dropout, targets, quantized, gradient_checkpointing)
    return model


def _apply_lora(model, rank, alpha, dropout, targets, quantized, gradient_checkpointing):
    from peft import LoraConfig, TaskType, get_peft_model, prepare_model_for_kbit_training

    alpha = 2 * rank if alpha is None and isinstance(rank, int) else alpha
    target_names = resolve_targets(model, targets)
    widths = [_width(model.get_submodule(n)) for n in target_names]
    validate_lora_options(rank, alpha, dropout, width=min(widths) if widths else None)
    if quantized:
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=gradient_checkpointing
        )
    elif gradient_checkpointing:
        model.gradient_checkpointing_enable()
    config = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=target_names,
        modules_to_save=[m for m in HEAD_MODULES if _has_module(model, m)],
    )
    return get_peft_model(model, config)


def _has_module(model: nn.Module, short: str) -> bool:
    return any(name.split(".")[-1] == short for name, _ in model.named_modules())


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


def set_lora_rank(model: nn.Module, rank: int, *, alpha: float | None = None) -> nn.Module:
    """Return the model with fresh LoRA adapters of another rank on the same targets.

    The working counterpart of the imaginary ``adjust_lora_rank(model, rank=2)``: a rank change
    changes the shapes of A and B, so the adapters are re-created (B starts at zero again) and
    must be trained. The frozen base weights, quantized or not, are kept as they are.
    """
    config = lora_config_of(model)
    targets = sorted(config.target_modules)
    base = model.unload()  # removes the adapters without merging them
    if alpha is None:
        alpha = config.lora_alpha * rank / config.r  # keep alpha / r, the update's scale
    return _apply_lora(
        base, rank, alpha, config.lora_dropout, targets, quantized=False,
        gradient_checkpointing=False,
    )  # fmt: skip
