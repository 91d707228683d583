"""Analytic memory estimates: will this method fit on that GPU?

Training memory = weights + gradients + optimizer states + activations. Only the weights depend
on quantization; gradients and optimizer states exist only for trainable parameters; the
activations kept for the backward pass depend on how deep the backward pass must go.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from labkit.errors import ConfigError

GB = 1024**3
BYTES = {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0}


@dataclass(frozen=True)
class Architecture:
    """The sizes that decide a transformer's parameter count."""

    hidden: int
    layers: int
    intermediate: int
    vocab: int
    kv_dim: int | None = None  # grouped-query attention: width of K and V (None: = hidden)
    mlp_matrices: int = 2  # 2 for BERT/GPT (up, down), 3 for gated MLPs (gate, up, down)
    positions: int = 0
    head_params: int = 0  # classifier (+ pooler) kept in full precision

    @property
    def attention_params(self) -> int:
        kv = self.kv_dim or self.hidden
        return 2 * self.hidden * self.hidden + 2 * self.hidden * kv

    @property
    def mlp_params(self) -> int:
        return self.mlp_matrices * self.hidden * self.intermediate

    @property
    def linear_params(self) -> int:
        """Parameters in the encoder/decoder linear layers: what bitsandbytes quantizes."""
        return self.layers * (self.attention_params + self.mlp_params)

    @property
    def other_params(self) -> int:
        """Embeddings, norms, biases and head: kept in full precision."""
        embeddings = (self.vocab + self.positions) * self.hidden
        per_layer = 4 * self.hidden + 2 * self.hidden + self.intermediate + 3 * self.hidden
        return embeddings + self.layers * per_layer + self.head_params

    @property
    def total_params(self) -> int:
        return self.linear_params + self.other_params


# Public model shapes (Llama-2 for 7B/13B/70B, Llama-3.2-1B, OPT-125m).
KNOWN_SIZES = {
    "125M": Architecture(768, 12, 3072, 50272, positions=2048),
    "1B": Architecture(2048, 16, 8192, 128256, kv_dim=512, mlp_matrices=3),
    "7B": Architecture(4096, 32, 11008, 32000, mlp_matrices=3),
    "13B": Architecture(5120, 40, 13824, 32000, mlp_matrices=3),
    "70B": Architecture(8192, 80, 28672, 32000, kv_dim=1024, mlp_matrices=3),
}
# bitsandbytes 4-bit: half a byte per weight plus one absmax per 64 weights (fp32), or with
# double quantization an 8-bit absmax plus one fp32 scale per 256 absmax values.
WEIGHT_BYTES = {None: None, "8bit": 1.0 + 0.0, "4bit-nf4": 0.5, "4bit-fp4": 0.5}
TARGETS_PER_LAYER = {"attention": ("q", "k", "v"), "attention+ffn": None, "all-linear": None}


def architecture_of(model_or_config: Any) -> Architecture:
    """Read an Architecture from a transformers config or model (BERT-style or Llama-style)."""
    config = getattr(model_or_config, "config", model_or_config)
    hidden = config.hidden_size
    heads = getattr(config, "num_attention_heads", 1)
    kv_heads = getattr(config, "num_key_value_heads", heads) or heads
    gated = getattr(config, "model_type", "") in {"llama", "mistral", "qwen2", "gemma"}
    num_labels = getattr(config, "num_labels", 2)
    pooler = hidden * hidden + hidden if getattr(config, "model_type", "") == "bert" else 0
    return Architecture(
        hidden=hidden,
        layers=config.num_hidden_layers,
        intermediate=getattr(config, "intermediate_size", 4 * hidden),
        vocab=config.vocab_size,
        kv_dim=hidden * kv_heads // heads,
        mlp_matrices=3 if gated else 2,
        positions=getattr(config, "max_position_embeddings", 0) + getattr(config, "type_vocab_size", 0)
        if not gated else 0,
        head_params=pooler + hidden * num_labels + num_labels,
    )  # fmt: skip


@dataclass
class MemoryEstimate:
    """Bytes of each part of training memory, and the total."""

    weights: float
    gradients: float
    optimizer: float
    activations: float
    trainable_params: int
    total_params: int

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations

    def fits(self, gpu_gb: float, headroom: float = 0.9) -> bool:
        """Whether the total stays under ``headroom`` of a GPU of ``gpu_gb`` GiB."""
        return self.total <= headroom * gpu_gb * GB

    def to_dict(self) -> dict[str, float]:
        return {**asdict(self), "total": self.total}

    def __str__(self) -> str:
        parts = ("weights", "gradients", "optimizer", "activations", "total")
        return "  ".join(f"{p} {getattr(self, p) / GB:.2f} GiB" for p in parts)


def _trainable(arch: Architecture, method: str, rank: int, targets: str, last_n: int) -> int:
    per_layer = arch.attention_params + arch.mlp_params + 9 * arch.hidden + arch.intermediate
    if method == "full":
        return arch.total_params
    if method == "head":
        return arch.head_params
    if method == "last_n":
        return arch.head_params + last_n * per_layer
    kv = arch.kv_dim or arch.hidden
    shapes = [(arch.hidden, arch.hidden), (arch.hidden, kv), (arch.hidden, kv)]
    if targets != "attention":
        shapes += [(arch.hidden, arch.hidden)]
        shapes += [(arch.hidden, arch.intermediate)] * (arch.mlp_matrices - 1)
        shapes += [(arch.intermediate, arch.hidden)]
    return arch.head_params + arch.layers * sum(rank * (i + o) for i, o in shapes)


def estimate_memory(
    model: str | Architecture | Any = "bundled",
    method: str = "lora",
    quantization: str | None = None,
    rank: int = 8,
    seq_len: int = 128,
    batch: int = 8,
    *,
    targets: str = "attention",
    last_n: int = 2,
    precision: str | None = None,
    double_quant: bool = True,
    optimizer_states: int = 2,
    gradient_checkpointing: bool = False,
) -> MemoryEstimate:
    """Estimate training memory for a model size ("125M", "1B", "7B", "13B", "70B",
    "bundled"), an Architecture, or a transformers model/config.

    ``precision`` is the dtype of unquantized weights and activations: "fp32" (default for the
    bundled model, as on a CPU) or "fp16"/"bf16" (default for the named sizes, as on a GPU).
    Trainable parameters, their gradients and AdamW's ``optimizer_states`` are fp32.
    ``gradient_checkpointing`` keeps only each layer's input and recomputes the rest.
    """
    if isinstance(model, str) and model == "bundled":
        from transformers import AutoConfig

        from labkit.bundled import bundled_model_dir

        config = AutoConfig.from_pretrained(str(bundled_model_dir()))
        arch, precision = architecture_of(config), precision or "fp32"
    elif isinstance(model, str):
        if model not in KNOWN_SIZES:
            raise ConfigError(
                f"Unknown model size {model!r}: use one of {list(KNOWN_SIZES)} or 'bundled', an "
                "Architecture(...), or a loaded model."
            )
        arch, precision = KNOWN_SIZES[model], precision or "fp16"
    elif isinstance(model, Architecture):
        arch, precision = model, precision or "fp16"
    else:
        arch, precision = architecture_of(model), precision or "fp32"
    if precision not in BYTES:
        raise ConfigError(f"precision={precision!r}: use 'fp32', 'fp16' or 'bf16'.")
    if quantization not in WEIGHT_BYTES:
        raise ConfigError(
            f"quantization={quantization!r}: use None, '8bit', '4bit-nf4', '4bit-fp4'."
        )
    if quantization and method != "lora":
        raise ConfigError("Quantized weights are frozen: estimate method='lora' (QLoRA).")
    dtype = BYTES[precision]
    if quantization is None:
        linear = arch.linear_params * dtype
    elif quantization == "8bit":
        linear = arch.linear_params * 1.0 + arch.layers * 4 * 6 * arch.hidden  # + row scales
    else:
        absmax = (1 / 64 + 4 / (64 * 256)) if double_quant else 4 / 64
        linear = arch.linear_params * (0.5 + absmax)
    weights = linear + arch.other_params * dtype
    trainable = _trainable(arch, method, rank, targets, last_n)
    adapter_weights = trainable * 4 if method == "lora" else 0
    if method in ("head",):
        depth = 0
    elif method == "last_n":
        depth = last_n
    else:
        depth = arch.layers
    # Activations kept for backward per layer: about 17 hidden-sized tensors per token plus
    # the attention scores (heads x seq x seq), in the activation dtype.
    heads = max(1, arch.hidden // 64)
    per_layer = batch * seq_len * (17 * arch.hidden + 2 * arch.intermediate + 2 * heads * seq_len)
    if gradient_checkpointing and depth:
        kept = depth * batch * seq_len * arch.hidden + per_layer  # layer inputs + one layer
    else:
        kept = depth * per_layer
    activations = (kept + batch * seq_len * arch.hidden * 2) * dtype
    return MemoryEstimate(
        weights=weights + adapter_weights,
        gradients=trainable * 4.0,
        optimizer=trainable * 4.0 * optimizer_states,
        activations=activations,
        trainable_params=trainable,
        total_params=arch.total_params,
    )
