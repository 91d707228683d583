"""Analytic memory estimates: will this method fit on that GPU?

Training memory = weights + gradients + optimizer states + activations. Only the weights depend
on quantization; gradients and optimizer states exist only for trainable parameters; the
activations kept for the backward pass depend on how deep the backward pass must go.

Units: every figure is in bytes; ``MemoryEstimate.breakdown_gb()`` reports decimal gigabytes
(``GB`` = 10^9 bytes, as model cards and the efficiency ledger's MB = 10^6 do), and only
``MemoryEstimate.fits`` speaks in GiB (2^30 bytes), because GPU memory is quoted in binary
units (an "80 GB" A100 has 80 GiB).

**Weights, gradients, optimizer (per parameter).** Mixed-precision training with Adam needs
16 bytes per trained parameter: Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward
Training Trillion Parameter Models", section 3.1, count fp16 parameters 2Ψ + fp16 gradients 2Ψ +
optimizer states KΨ with K = 12 (fp32 master parameters, Adam momentum and variance, 4 bytes
each): 2Ψ + 2Ψ + 12Ψ = 16Ψ. labkit trains with the Hugging Face ``Trainer``, whose
``fp16=True`` / ``bf16=True`` is torch automatic mixed precision (``torch.autocast``): the model
and its optimizer are created "in default precision" (fp32, PyTorch's AMP examples), so a
trained parameter is one fp32 tensor (4 bytes, it is its own master copy), its gradient is fp32
(4: "backward ops run in the same dtype autocast chose for corresponding forward ops", and the
cast back to the fp32 leaf yields an fp32 gradient) and AdamW keeps two fp32 states (8). That is
the breakdown modelled here: 4 + 4 + 8 = 16 bytes, the same 16 as ZeRO's 2 + 2 + 12, and the
same in plain fp32 training (4 + 4 + 8, no master copy). Not counted: the transient half-precision
copy of each weight that autocast makes in the forward pass and keeps for the backward pass (up
to 2 bytes per parameter; the Transformers guide "GPU memory usage" counts it and arrives at
6 + 4 + 8 = 18 bytes per parameter for mixed precision).

Frozen weights are stored as loaded: ``precision`` bytes (2 for fp16/bf16, 4 for fp32), or for a
loaded model its own dtype. LoRA adapters are fp32 (peft's ``autocast_adapter_dtype=True`` casts
fp16/bf16 adapters to fp32) and trained like any parameter; labkit's LoRA also trains a copy of
the classification head (peft ``modules_to_save``), kept beside the frozen original.

**Quantized weights.** bitsandbytes quantizes the linear layers inside the transformer blocks;
embeddings, norms, biases and the head stay unquantized, and ``peft.
prepare_model_for_kbit_training`` (peft 0.21, ``utils/other.py``) casts every fp16/bf16
parameter that is not a ``Params4bit`` to fp32, so under 8-bit and 4-bit loading they are counted
at 4 bytes.

- NF4/FP4 (Dettmers et al. 2023, "QLoRA: Efficient Finetuning of Quantized LLMs", section 3,
  Double Quantization): 4 bits per weight, plus one fp32 absmax per block of 64 weights,
  32/64 = 0.5 bits per weight; with double quantization the absmax values are stored as 8-bit
  floats in blocks of 256 with one fp32 constant per block: 8/64 + 32/(64 * 256) = 0.127 bits
  per weight. Per quantized matrix bitsandbytes also stores its 16-value code table and, with
  double quantization, a 256-value nested code table and an fp32 offset (counted exactly).
- LLM.int8() (Dettmers et al. 2022, "LLM.int8(): 8-bit Matrix Multiplication for Transformers
  at Scale", vector-wise quantization): 1 byte per weight plus one fp32 scale per output row
  (bitsandbytes ``Int8Params.SCB`` has shape ``[out_features]``).

**Activations** follow Korthikanti et al. 2022, "Reducing Activation Recomputation in Large
Transformer Models", section 4.1, equation 1: per layer ``sbh(34 + 5as/h)`` bytes for sequence
length s, micro-batch b, hidden size h and a heads, with 16-bit activations, 1-byte dropout
masks and a 4h MLP. Counted per layer, in the activation dtype e (2 bytes in fp16/bf16, 4 in
fp32): the input of the query/key/value projections (h), Q, K and V (h + 2 kv, where kv is the
key/value width: h, or less with grouped-query attention), the softmax output (a s per token),
the attention-dropout mask and output, the output projection's input (h), the inputs of the two
norms (2h), the MLP input (h), the activation function's input and the second linear layer's
input (2 x intermediate), and two hidden-dropout masks (h each). With e = 2, 1-byte masks and
intermediate = 4h this is exactly Korthikanti's 34 sbh + 5 as^2 b (``activation_bytes_per_layer``
reproduces it; the BERT-style models here have intermediate = 4h). Adaptations:

- Gated MLPs (LLaMA's SwiGLU, ``down(act(gate(x)) * up(x))``) keep 4 intermediate-sized tensors
  instead of 2: the gate output (input of the activation), the up output and the activation's
  output (both needed by the product's backward), and the product (input of ``down``).
- Models without dropout (LLaMA) keep no masks and no separate dropout output.
- Masks: CUDA's fused dropout stores a 1-byte bool mask; on a CPU PyTorch multiplies by a noise
  tensor of the activation dtype, so masks cost e bytes there (``device``).
- Frozen linear layers: PyTorch saves a linear layer's input only to compute its weight
  gradient, so with frozen weights (LoRA, QLoRA) those inputs are not kept; a LoRA adapter keeps
  its own input (with ``lora_dropout`` > 0 a dropout mask and output per adapted layer) and its
  r-dimensional middle activation. Layers below the first trainable one keep nothing.
- LayerNorm also keeps an fp32 mean and 1/std per token (RMSNorm: 1/std); Korthikanti et al.
  neglect them, they are counted here.
- ``fused_attention=True`` (FlashAttention, memory-efficient SDPA kernels on a GPU) stores no
  s x s scores, only the attention output and an fp32 log-sum-exp per head and token. The default
  counts materialised scores, as eager attention does (and as SDPA does on a CPU when dropout is
  on). Under autocast, softmax and layer-norm outputs are fp32, so eager attention in mixed
  precision keeps somewhat more than this count.
- A language-model head keeps its logits (e bytes per vocabulary entry and token, held by the
  caller for the loss) and the fp32 log-probabilities of the cross-entropy (4 bytes).

Gradient checkpointing (``gradient_checkpointing=True``) keeps only each layer's input (e * h
per token) and recomputes one layer at a time in the backward pass: layer inputs for every
layer plus one layer's full activations.

Not counted: the CUDA context, allocator fragmentation and workspaces, temporary buffers, the
optimizer's step-time temporaries and the autocast weight copies; measure them
(``labkit.measure.PeakMemory``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from labkit.errors import ConfigError

GB = 1_000_000_000  # decimal gigabyte: breakdown_gb() and __str__
GIB = 1024**3  # binary gibibyte: fits(), GPU memory sizes
BYTES = {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0}
METHODS = ("full", "head", "last_n", "lora")
QUANTIZATIONS = (None, "8bit", "4bit-nf4", "4bit-fp4")
TARGETS = ("attention", "attention+ffn", "all-linear")
DEVICES = ("cpu", "cuda", "mps")
# Trained parameters: fp32 weight + fp32 gradient + AdamW's fp32 momentum and variance.
TRAINED_WEIGHT_BYTES = 4.0
GRADIENT_BYTES = 4.0
OPTIMIZER_STATE_BYTES = 4.0
# bitsandbytes 4-bit: blocks of 64 weights; with double quantization blocks of 256 absmax values.
BLOCK = 64
NESTED_BLOCK = 256
CODE_TABLE_VALUES = 16  # NF4 / FP4 code book, fp32
NESTED_CODE_VALUES = 256  # 8-bit code book of the quantized absmax values, fp32
GATED_MODEL_TYPES = {"llama", "mistral", "mixtral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3",
                     "phi3", "olmo", "olmo2", "granite", "cohere", "starcoder2"}  # fmt: skip
# Encoders whose sequence classifier has a hidden x hidden dense layer (BERT's pooler, RoBERTa's
# classification head) and biases; decoders' ``score`` is one bias-free layer.
ENCODER_MODEL_TYPES = {"bert", "roberta", "xlm-roberta", "camembert", "distilbert", "electra",
                       "mpnet", "deberta", "deberta-v2", "albert"}  # fmt: skip
DROPOUT_OPTIONS = ("hidden_dropout_prob", "attention_probs_dropout_prob", "attention_dropout",
                   "dropout")  # fmt: skip
INTERMEDIATE_OPTIONS = ("intermediate_size", "ffn_dim", "hidden_dim", "n_inner")


@dataclass(frozen=True)
class Architecture:
    """The sizes that decide a transformer's parameter count and activations.

    ``head`` is "classifier" (a sequence classifier: optional ``pooler`` dense layer plus a
    ``num_labels`` output layer, as labkit trains) or "lm" (a vocab x hidden output head, shared
    with the input embedding when ``tied_embeddings``).
    """

    hidden: int
    layers: int
    intermediate: int
    vocab: int
    heads: int
    kv_heads: int | None = None  # grouped-query attention (None: as many as ``heads``)
    head_dim: int | None = None  # None: hidden // heads
    gated_mlp: bool = False  # gate, up, down (SwiGLU) instead of up, down
    positions: int = 0  # learned position embeddings plus token-type embeddings
    bias: bool = True  # biases in the linear layers (BERT) or none (LLaMA)
    norm: str = "layernorm"  # "layernorm" (weight and bias) or "rmsnorm" (weight)
    dropout: bool = True  # dropout active in training (BERT 0.1; LLaMA none)
    head: str = "classifier"
    pooler: bool = True  # classifier head: dense hidden x hidden layer first, biases (BERT)
    num_labels: int = 2
    tied_embeddings: bool = False  # "lm" head: output head shares the input embedding

    @property
    def query_width(self) -> int:
        return self.heads * (self.head_dim or self.hidden // self.heads)

    @property
    def kv_width(self) -> int:
        return (self.kv_heads or self.heads) * (self.head_dim or self.hidden // self.heads)

    def matrices(self) -> dict[str, tuple[int, int]]:
        """(in, out) features of each linear layer of one transformer block."""
        h, i = self.hidden, self.intermediate
        shapes = {"q": (h, self.query_width), "k": (h, self.kv_width), "v": (h, self.kv_width),
                  "o": (self.query_width, h)}  # fmt: skip
        if self.gated_mlp:
            shapes["gate"] = (h, i)
        shapes["up"] = (h, i)
        shapes["down"] = (i, h)
        return shapes

    @property
    def norm_params(self) -> int:
        return self.hidden * (2 if self.norm == "layernorm" else 1)

    @property
    def attention_params(self) -> int:
        return sum(i * o for name, (i, o) in self.matrices().items() if name in "qkvo")

    @property
    def mlp_params(self) -> int:
        return sum(i * o for name, (i, o) in self.matrices().items() if name not in "qkvo")

    @property
    def linear_params(self) -> int:
        """Weights of the blocks' linear layers: what bitsandbytes quantizes."""
        return self.layers * (self.attention_params + self.mlp_params)

    @property
    def layer_params(self) -> int:
        """All parameters of one block: weights, biases and its two norms."""
        biases = sum(o for _, o in self.matrices().values()) if self.bias else 0
        return self.attention_params + self.mlp_params + biases + 2 * self.norm_params

    @property
    def embedding_params(self) -> int:
        return (self.vocab + self.positions) * self.hidden

    @property
    def head_params(self) -> int:
        """The output head: pooler + classifier, or the LM head (0 when tied)."""
        if self.head == "lm":
            return 0 if self.tied_embeddings else self.vocab * self.hidden
        if not self.pooler:  # a decoder's ``score``: one bias-free layer
            return self.hidden * self.num_labels
        return self.hidden * self.hidden + self.hidden + (self.hidden + 1) * self.num_labels

    @property
    def other_params(self) -> int:
        """Everything bitsandbytes leaves unquantized: embeddings, biases, norms, the head."""
        return self.total_params - self.linear_params

    @property
    def total_params(self) -> int:
        # One norm outside the blocks: BERT's embedding LayerNorm, LLaMA's final RMSNorm.
        return (self.embedding_params + self.layers * self.layer_params + self.norm_params
                + self.head_params)  # fmt: skip


@dataclass(frozen=True)
class Preset:
    """A named model shape with its published parameter count and where that count is from."""

    label: str
    architecture: Architecture
    published_params: float
    source: str
    precision: str = "fp16"  # default training precision: fp32 on a CPU, fp16/bf16 on a GPU


_LLAMA = {"gated_mlp": True, "bias": False, "norm": "rmsnorm", "dropout": False, "head": "lm",
          "pooler": False}  # fmt: skip
_OPT = {"head": "lm", "tied_embeddings": True, "pooler": False}
PRESETS: dict[str, Preset] = {
    "bundled": Preset(
        "all-MiniLM-L6-v2 (the bundled model, as a 2-label classifier)",
        Architecture(384, 6, 1536, 30522, 12, positions=512 + 2),
        22.7e6,
        "huggingface.co/sentence-transformers/all-MiniLM-L6-v2 (model card: 22.7M params; "
        "the encoder with its pooler, the 2-label classifier adds 770)",
        precision="fp32",
    ),
    "bert-base": Preset(
        "BERT-base uncased (classifier)",
        Architecture(768, 12, 3072, 30522, 12, positions=512 + 2),
        110e6,
        "Devlin et al. 2019, BERT, section 3: BERT-BASE (L=12, H=768, A=12), 110M parameters",
    ),
    "125M": Preset(
        "OPT-125m",
        Architecture(768, 12, 3072, 50272, 12, positions=2048 + 2, **_OPT),
        125e6,
        "Zhang et al. 2022, OPT, table 1: 125M (OPT's learned positions have 2 offset rows)",
    ),
    "1B": Preset(
        "Llama-3.2-1B",
        Architecture(2048, 16, 8192, 128256, 32, kv_heads=8, tied_embeddings=True, **_LLAMA),
        1.24e9,
        "huggingface.co/meta-llama/Llama-3.2-1B (model card: 1.23B; safetensors: 1.24B)",
    ),
    "7B": Preset(
        "Llama-2-7B",
        Architecture(4096, 32, 11008, 32000, 32, **_LLAMA),
        6.74e9,
        "huggingface.co/meta-llama/Llama-2-7b-hf (6.74B params); Touvron et al. 2023, Llama 2",
    ),
    "13B": Preset(
        "Llama-2-13B",
        Architecture(5120, 40, 13824, 32000, 40, **_LLAMA),
        13.0e9,
        "huggingface.co/meta-llama/Llama-2-13b-hf (13.0B params); Touvron et al. 2023",
    ),
    "70B": Preset(
        "Llama-2-70B (grouped-query attention, 8 KV heads)",
        Architecture(8192, 80, 28672, 32000, 64, kv_heads=8, **_LLAMA),
        69.0e9,
        "huggingface.co/meta-llama/Llama-2-70b-hf (69.0B params); Touvron et al. 2023",
    ),
}
KNOWN_SIZES: dict[str, Architecture] = {name: p.architecture for name, p in PRESETS.items()}


def quantization_constant_bits(double_quant: bool = True) -> float:
    """Bits per weight that 4-bit block-wise quantization spends on its absmax constants.

    QLoRA, section 3: 32/64 = 0.5 bits without double quantization, 8/64 + 32/(64 * 256) =
    0.127 bits with it.
    """
    if double_quant:
        return 8 / BLOCK + 32 / (BLOCK * NESTED_BLOCK)
    return 32 / BLOCK


def quantized_matrix_bytes(
    rows: int, cols: int, quantization: str, double_quant: bool = True
) -> int:
    """Bytes bitsandbytes stores for one ``rows x cols`` (out x in) weight matrix."""
    n = rows * cols
    if quantization == "8bit":
        return n + 4 * rows  # int8 weights + one fp32 scale per output row (SCB)
    blocks = math.ceil(n / BLOCK)
    packed = math.ceil(n / 2) + 4 * CODE_TABLE_VALUES  # two 4-bit values a byte + code table
    if not double_quant:
        return packed + 4 * blocks  # fp32 absmax per block
    nested = math.ceil(blocks / NESTED_BLOCK)
    return packed + blocks + 4 * nested + 4 * NESTED_CODE_VALUES + 4  # + offset


def bytes_per_parameter(
    method: str = "full",
    precision: str = "bf16",
    quantization: str | None = None,
    *,
    double_quant: bool = True,
    optimizer_states: int = 2,
) -> dict[str, float]:
    """Bytes per pre-trained parameter, for the lesson's table: weights/gradients/optimizer/total.

    ``method="full"`` trains every parameter (16 bytes with AdamW in any precision; see the
    module docstring). Any other method freezes the pre-trained weights: they cost only their
    storage, ``precision`` bytes, or for 8-bit 1 byte (plus one fp32 scale per row, not per
    weight) and for NF4/FP4 0.5 bytes plus the quantization constants. A trained adapter or
    head parameter costs what ``bytes_per_parameter("full")`` says.
    """
    _check(method=method, precision=precision, quantization=quantization)
    if method == "full":
        if quantization:
            raise ConfigError("Quantized weights are frozen: use method='lora' (QLoRA).")
        opt = OPTIMIZER_STATE_BYTES * optimizer_states
        return {"weights": TRAINED_WEIGHT_BYTES, "gradients": GRADIENT_BYTES, "optimizer": opt,
                "total": TRAINED_WEIGHT_BYTES + GRADIENT_BYTES + opt}  # fmt: skip
    if quantization == "8bit":
        weights = 1.0
    elif quantization:
        weights = (4 + quantization_constant_bits(double_quant)) / 8
    else:
        weights = BYTES[precision]
    return {"weights": weights, "gradients": 0.0, "optimizer": 0.0, "total": weights}


def architecture_of(model_or_config: Any, *, head: str | None = None) -> Architecture:
    """Read an Architecture from a transformers config or model (BERT-style or LLaMA-style).

    ``head`` defaults to "lm" for a model with an ``lm_head`` or a config whose architectures
    end in "ForCausalLM", else "classifier" (what ``labkit.models.load_model`` builds).
    """
    config = getattr(model_or_config, "config", model_or_config)
    hidden = config.hidden_size
    heads = getattr(config, "num_attention_heads", None) or 1
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    gated = getattr(config, "model_type", "") in GATED_MODEL_TYPES
    encoder = getattr(config, "model_type", "") in ENCODER_MODEL_TYPES
    if head is None:
        if model_or_config is config:
            names = getattr(config, "architectures", None) or []
            head = "lm" if any(n.endswith("ForCausalLM") for n in names) else "classifier"
        else:
            head = "lm" if hasattr(model_or_config, "lm_head") else "classifier"
    dropout = any(getattr(config, name, 0) or 0 for name in DROPOUT_OPTIONS)
    intermediate = next(
        (v for n in INTERMEDIATE_OPTIONS if (v := getattr(config, n, None))), 4 * hidden
    )
    positions = 0
    if not gated:
        positions = (getattr(config, "max_position_embeddings", 0) or 0) + (
            getattr(config, "type_vocab_size", 0) or 0
        )
    return Architecture(
        hidden=hidden,
        layers=config.num_hidden_layers,
        intermediate=intermediate,
        vocab=config.vocab_size,
        heads=heads,
        kv_heads=kv_heads if kv_heads != heads else None,
        head_dim=head_dim if head_dim != hidden // heads else None,
        gated_mlp=gated,
        positions=positions,
        bias=bool(getattr(config, "attention_bias", False)) if gated else True,
        norm="rmsnorm" if gated else "layernorm",
        dropout=bool(dropout),
        head=head,
        pooler=encoder,
        num_labels=getattr(config, "num_labels", 2),
        tied_embeddings=head == "lm" and bool(getattr(config, "tie_word_embeddings", False)),
    )


@dataclass
class MemoryEstimate:
    """Bytes of each part of training memory, and the total.

    ``adapter_weights`` is the part of ``weights`` that LoRA adds (adapters and the trainable
    copy of the head); ``weights - adapter_weights`` is the model as loaded.
    """

    weights: float
    gradients: float
    optimizer: float
    activations: float
    trainable_params: int
    total_params: int
    adapter_weights: float = 0.0
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations

    @property
    def base_weights(self) -> float:
        """Bytes of the model as loaded (what ``labkit.measure.footprint_bytes`` measures)."""
        return self.weights - self.adapter_weights

    def fits(self, gpu_gb: float, headroom: float = 0.9) -> bool:
        """Whether the total stays under ``headroom`` of a GPU of ``gpu_gb`` GiB (nominal size)."""
        return self.total <= headroom * gpu_gb * GIB

    def to_dict(self) -> dict[str, float]:
        """The parts and the total in bytes, and the parameter counts."""
        parts = ("weights", "gradients", "optimizer", "activations", "total")
        counts = {"trainable_params": self.trainable_params, "total_params": self.total_params}
        return {**{p: float(getattr(self, p)) for p in parts}, **counts}

    def breakdown_gb(self) -> dict[str, float]:
        """weights / gradients / optimizer / activations / total in decimal GB (10^9 bytes)."""
        parts = ("weights", "gradients", "optimizer", "activations", "total")
        return {p: getattr(self, p) / GB for p in parts}

    def __str__(self) -> str:
        return "  ".join(f"{p} {v:.2f} GB" for p, v in self.breakdown_gb().items())


def _check(**values: Any) -> None:
    """Validate the options that ``estimate_memory`` and ``bytes_per_parameter`` share."""
    if "method" in values and values["method"] not in METHODS:
        raise ConfigError(f"Unknown method {values['method']!r}: use one of {list(METHODS)}.")
    if "precision" in values and values["precision"] not in BYTES:
        raise ConfigError(
            f"Unknown precision={values['precision']!r}: use 'fp32' (CPU), 'fp16' or 'bf16'."
        )
    if "quantization" in values and values["quantization"] not in QUANTIZATIONS:
        raise ConfigError(
            f"Unknown quantization={values['quantization']!r}: use None, '8bit', '4bit-nf4' or "
            "'4bit-fp4'."
        )
    for name in ("rank", "seq_len", "batch"):
        value = values.get(name, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            hint = {"rank": "try 8", "seq_len": "e.g. 128", "batch": "e.g. 8"}[name]
            raise ConfigError(f"{name}={value!r}: use a positive integer ({hint}).")


def _resolve(model: Any) -> tuple[Architecture, str | None, str | None]:
    """(architecture, default precision, dtype of the loaded weights) of a ``model`` argument."""
    if isinstance(model, Architecture):
        return model, "fp16", None
    if isinstance(model, str):
        if model not in PRESETS:
            raise ConfigError(
                f"Unknown model size {model!r}: use one of {list(PRESETS)}, an "
                "Architecture(...), or a loaded model or its config."
            )
        return PRESETS[model].architecture, PRESETS[model].precision, None
    try:
        arch = architecture_of(model)
    except AttributeError as error:
        raise ConfigError(
            f"Cannot read a transformer's sizes from {type(model).__name__}: pass a size name "
            f"({list(PRESETS)}), an Architecture(...), or a transformers model or config."
        ) from error
    return arch, "fp32", _loaded_dtype(model)


def _loaded_dtype(model: Any) -> str | None:
    try:
        dtype = str(model.get_input_embeddings().weight.dtype)
    except Exception:  # a config, or a model without input embeddings
        return None
    return {"torch.float32": "fp32", "torch.float16": "fp16", "torch.bfloat16": "bf16"}.get(dtype)


def activation_bytes_per_layer(
    arch: Architecture,
    seq_len: int,
    batch: int,
    precision: str = "fp16",
    *,
    device: str = "cuda",
    trained: tuple[str, ...] | None = None,
    lora: tuple[str, ...] = (),
    rank: int = 8,
    lora_dropout: float = 0.0,
    fused_attention: bool = False,
) -> float:
    """Bytes one transformer block keeps for the backward pass (see the module docstring).

    ``trained``: the block's linear layers whose weights train (None: all of them, as in full
    fine-tuning); ``lora``: the layers that carry a LoRA adapter of ``rank``.
    """
    e = BYTES[precision]
    mask = _mask_bytes(device, e)
    h, i, kv, q = arch.hidden, arch.intermediate, arch.kv_width, arch.query_width
    shapes = arch.matrices()
    trained = tuple(shapes) if trained is None else trained

    def input_kept(*names: str) -> bool:  # a linear layer's input (shared by q, k and v)
        return any(n in trained or (n in lora and lora_dropout == 0) for n in names)

    per_token = (q + 2 * kv) * e  # Q, K, V
    per_token += h * e if input_kept("q", "k", "v") else 0
    if fused_attention:  # the attention output (= the input of o) and an fp32 log-sum-exp
        per_token += q * e + 4 * arch.heads
    else:  # softmax output (+ dropout mask and output), a x s per token; the input of o
        per_token += arch.heads * seq_len * (e + (mask + e if arch.dropout else 0))
        per_token += q * e if input_kept("o") else 0
    per_token += h * e if input_kept("gate", "up") else 0  # MLP input
    per_token += (3 if arch.gated_mlp else 1) * i * e  # activation input (gated: + up, act out)
    per_token += i * e if input_kept("down") else 0
    per_token += 2 * h * e + 2 * (8 if arch.norm == "layernorm" else 4)  # norm inputs + stats
    per_token += 2 * h * mask if arch.dropout else 0  # after attention and after the MLP
    for name in lora:  # the r-wide middle; with dropout its mask and output
        per_token += rank * e + ((mask + e) * shapes[name][0] if lora_dropout > 0 else 0)
    return seq_len * batch * per_token


def _mask_bytes(device: str, e: float) -> float:
    """CUDA's fused dropout keeps a bool mask; elsewhere a noise tensor of the activation dtype."""
    return 1.0 if device == "cuda" else e


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
    lora_dropout: float = 0.1,
    fused_attention: bool = False,
    device: str | None = None,
) -> MemoryEstimate:
    """Estimate training memory (bytes) for a preset (``PRESETS``: "bundled", "bert-base",
    "125M", "1B", "7B", "13B", "70B"), an Architecture, or a transformers model or config.

    ``precision`` is the training precision: "fp32" (default for the bundled model and loaded
    models, as on a CPU) or "fp16"/"bf16" (mixed precision; default for the other presets, as
    on a GPU). It sets the activation dtype and the storage of frozen weights (a loaded model's
    frozen weights keep their own dtype); trained parameters are fp32 with fp32 gradients and
    ``optimizer_states`` fp32 states (AdamW: 2). ``targets`` ("attention": q, k, v;
    "attention+ffn": q, k, v and the MLP; "all-linear": also the attention output) and
    ``lora_dropout`` describe the LoRA adapters, ``last_n`` the layers "last_n" trains.
    ``device`` ("cuda" or "cpu"; default "cpu" for fp32, else "cuda") decides the dropout-mask
    size. ``gradient_checkpointing`` keeps only each layer's input and recomputes one layer at a
    time; ``fused_attention`` drops the s x s attention scores (FlashAttention / SDPA kernels).
    Formulas and sources: the module docstring.
    """
    arch, default_precision, loaded = _resolve(model)
    precision = precision or default_precision
    _check(method=method, precision=precision, quantization=quantization, rank=rank,
           seq_len=seq_len, batch=batch)  # fmt: skip
    if quantization and method != "lora":
        raise ConfigError("Quantized weights are frozen: estimate method='lora' (QLoRA).")
    if targets not in TARGETS:
        raise ConfigError(f"targets={targets!r}: use one of {list(TARGETS)}.")
    if method == "last_n" and not (isinstance(last_n, int) and 1 <= last_n <= arch.layers):
        raise ConfigError(f"last_n={last_n!r}: choose 1 to {arch.layers} (2 or 3 is typical).")
    if not 0 <= lora_dropout < 1:
        raise ConfigError(f"lora_dropout={lora_dropout!r}: use a value in [0, 1), e.g. 0.1.")
    if not isinstance(optimizer_states, int) or optimizer_states < 0:
        raise ConfigError(f"optimizer_states={optimizer_states!r}: AdamW keeps 2, SGD 0.")
    device = device or ("cpu" if precision == "fp32" else "cuda")
    if device not in DEVICES:
        raise ConfigError(f"device={device!r}: use one of {list(DEVICES)}.")

    shapes = arch.matrices()
    adapted: tuple[str, ...] = ()
    if method == "lora":
        adapted = {
            "attention": ("q", "k", "v"),
            "attention+ffn": tuple(n for n in shapes if n != "o"),
            "all-linear": tuple(shapes),
        }[targets]
    adapters = arch.layers * sum(rank * (shapes[n][0] + shapes[n][1]) for n in adapted)
    head = arch.head_params
    if arch.head == "lm" and arch.tied_embeddings:
        head = arch.vocab * arch.hidden  # a tied LM head trains the shared embedding
    trainable = {
        "full": arch.total_params,
        "head": head,
        "last_n": head + last_n * arch.layer_params,
        # labkit's LoRA also trains (a copy of) the classifier; a causal LM trains no head
        "lora": adapters + (head if arch.head == "classifier" else 0),
    }[method]

    # Weights: trained parameters fp32, frozen ones as stored.
    frozen_bytes = BYTES[loaded or precision]
    if quantization:  # unquantized parts cast to fp32 by prepare_model_for_kbit_training
        base = arch.other_params * 4.0 + arch.layers * sum(
            quantized_matrix_bytes(o, i, quantization, double_quant) for i, o in shapes.values()
        )
    else:
        base = arch.total_params * frozen_bytes
    if method == "lora":
        adapter_weights = trainable * TRAINED_WEIGHT_BYTES  # adapters + the head's copy
        weights = base + adapter_weights
    else:
        adapter_weights = 0.0
        weights = (trainable * TRAINED_WEIGHT_BYTES
                   + (arch.total_params - trainable) * frozen_bytes)  # fmt: skip

    # Activations kept for the backward pass.
    e, tokens = BYTES[precision], seq_len * batch
    depth = {"full": arch.layers, "head": 0, "last_n": last_n, "lora": arch.layers}[method]
    per_layer = activation_bytes_per_layer(
        arch, seq_len, batch, precision, device=device,
        trained=tuple(shapes) if method in ("full", "last_n") else (), lora=adapted, rank=rank,
        lora_dropout=lora_dropout, fused_attention=fused_attention,
    )  # fmt: skip
    if depth and gradient_checkpointing:
        activations = depth * tokens * arch.hidden * e + per_layer  # layer inputs + one layer
    else:
        activations = depth * per_layer
    if method == "full" and arch.norm == "layernorm":  # embedding LayerNorm (+ dropout)
        mask = _mask_bytes(device, e) if arch.dropout else 0.0
        activations += tokens * (arch.hidden * (e + mask) + 8)
    if arch.head == "lm":  # logits held for the loss + the loss's fp32 log-probabilities
        activations += tokens * arch.vocab * (e + 4)
        activations += tokens * arch.hidden * e if method != "lora" else 0  # LM head's input
    return MemoryEstimate(
        weights=weights,
        gradients=trainable * GRADIENT_BYTES,
        optimizer=trainable * OPTIMIZER_STATE_BYTES * optimizer_states,
        activations=activations,
        trainable_params=trainable,
        total_params=arch.total_params,
        adapter_weights=adapter_weights,
        details={
            "precision": precision,
            "device": device,
            "activations_per_layer": per_layer,
            "layers_with_activations": depth,
        },  # fmt: skip
    )
