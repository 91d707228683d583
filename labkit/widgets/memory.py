"""Logic of the memory calculator: (model, method, rank, batch, sequence, precision) -> bars.

Plain functions over :func:`labkit.estimate_memory`; the widget layer only wires controls.

Units. The estimate is in bytes. GPU memory is marketed in gigabytes (a "16 GB" T4), but the
sizes are binary: CUDA and ``nvidia-smi`` count in MiB/GiB, and an "80 GB" card holds 80 GiB.
The calculator therefore shows every bar in **GiB** (2^30 bytes) and compares it with each
card's nominal size in GiB, keeping 10% headroom (``MemoryEstimate.fits``'s default) for what
the estimate does not count: the CUDA context, allocator fragmentation, temporary buffers.

LoRA adapters go on every linear layer of the LLaMA-shaped models (as the QLoRA paper does) and
on the attention projections of the two encoders (labkit's default for them).

A custom parameter count has no architecture, so :func:`custom_architecture` derives one with
the proportions of the LLaMA family (the shape of the 7B/13B presets): head dimension 128,
width = 128 x depth (Llama-2-7B: 4096 = 128 x 32; 13B: 5120 = 128 x 40), a gated MLP of about
8/3 x width (rounded to a multiple of 256), a 32,000-token vocabulary with untied input and
output embeddings, RMSNorm, no biases, no dropout. Each block then holds about 12 x width^2
weights. The depth whose count is closest to the requested one is used, and the derived
model's exact count is shown beside the requested one. Real models of the same size differ in shape, and the
activations (which grow with width and depth) differ with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from labkit.estimate import GIB, PRESETS, Architecture, estimate_memory
from labkit.widgets import _svg

MODELS = ("bundled", "bert-base", "1B", "7B", "13B", "70B", "custom")
MODEL_LABELS = {
    "bundled": "MiniLM (bundled, 22.7M)",
    "bert-base": "BERT-base (110M)",
    "1B": "Llama-3.2-1B",
    "7B": "Llama-2-7B",
    "13B": "Llama-2-13B",
    "70B": "Llama-2-70B",
    "custom": "custom size",
}
METHODS = ("full", "lora", "qlora")
METHOD_LABELS = {"full": "full fine-tuning", "lora": "LoRA", "qlora": "QLoRA (4-bit NF4)"}
PRECISIONS = ("fp16", "bf16", "fp32")
GPUS = (("free Colab T4 (16 GB)", 16), ("24 GB card", 24), ("80 GB card", 80))
HEADROOM = 0.9
PARTS = ("weights", "gradients", "optimizer", "activations")
PART_LABELS = {"weights": "weights", "gradients": "gradients", "optimizer": "optimizer state",
               "activations": "activations"}  # fmt: skip


@dataclass(frozen=True)
class Inputs:
    """What the calculator's controls say."""

    model: str = "7B"
    method: str = "qlora"
    rank: int = 16
    batch: int = 4
    seq_len: int = 512
    precision: str = "fp16"
    custom_billions: float = 3.0
    gradient_checkpointing: bool = False


def custom_architecture(parameters: float) -> Architecture:
    """A LLaMA-shaped decoder with about ``parameters`` parameters (see the module docstring)."""
    if not parameters or parameters < 1e6:
        raise ValueError(f"a custom size must be at least 1 million parameters, got {parameters}")
    best = _llama_like(1)
    for layers in range(2, 401):
        arch = _llama_like(layers)
        if abs(arch.total_params - parameters) < abs(best.total_params - parameters):
            best = arch
        if arch.total_params > parameters:
            break
    return best


def _llama_like(layers: int) -> Architecture:
    hidden = 128 * layers
    intermediate = max(256, round(8 * hidden / 3 / 256) * 256)
    return Architecture(hidden, layers, intermediate, 32000, layers, gated_mlp=True, bias=False,
                        norm="rmsnorm", dropout=False, head="lm", pooler=False)  # fmt: skip


def model_for(inputs: Inputs) -> str | Architecture:
    if inputs.model == "custom":
        return custom_architecture(inputs.custom_billions * 1e9)
    if inputs.model not in PRESETS:
        raise ValueError(f"unknown model {inputs.model!r}: use one of {list(MODELS)}")
    return inputs.model


def estimate(inputs: Inputs) -> Any:
    """The :class:`labkit.estimate.MemoryEstimate` for the controls' values."""
    method, quantization = ("lora", "4bit-nf4") if inputs.method == "qlora" else (inputs.method,
                                                                                  None)  # fmt: skip
    return estimate_memory(
        model_for(inputs), method, quantization, rank=inputs.rank, seq_len=inputs.seq_len,
        batch=inputs.batch, precision=inputs.precision, targets="all-linear" if
        inputs.model not in ("bundled", "bert-base") else "attention",
        gradient_checkpointing=inputs.gradient_checkpointing,
    )  # fmt: skip


def breakdown_gib(inputs: Inputs) -> dict[str, float]:
    """weights / gradients / optimizer / activations / total in GiB."""
    est = estimate(inputs)
    parts = {p: getattr(est, p) / GIB for p in PARTS}
    parts["total"] = est.total / GIB
    return parts


def fits(inputs: Inputs) -> dict[str, bool]:
    """Card label -> whether the estimate fits in 90% of its nominal size (GiB)."""
    est = estimate(inputs)
    return {label: est.fits(size, HEADROOM) for label, size in GPUS}


def describe_model(inputs: Inputs) -> str:
    """The model's name and parameter count (a custom size: the derived shape)."""
    if inputs.model == "custom":
        arch = custom_architecture(inputs.custom_billions * 1e9)
        return (f"custom: {inputs.custom_billions:g}B requested -> LLaMA-shaped {arch.layers} "
                f"layers x width {arch.hidden} = {arch.total_params / 1e9:.2f}B parameters")  # fmt: skip
    preset = PRESETS[inputs.model]
    return f"{preset.label}: {preset.architecture.total_params / 1e9:.3g}B parameters"


def panel_html(inputs: Inputs) -> str:
    """The calculator's panel: a stacked bar (GiB) with the three cards, and the fit table."""
    parts = breakdown_gib(inputs)
    verdict = fits(inputs)
    bar = _svg.stacked_bars(
        [(METHOD_LABELS[inputs.method].split(" (")[0],
          [(PART_LABELS[p], parts[p]) for p in PARTS])],
        limits=[(label, size * HEADROOM) for label, size in GPUS],
        unit="GiB (2^30 bytes); dashed: 90% of each card", width=560, font_px=13,
    )  # fmt: skip
    rows = "".join(
        f'<tr><td>{escape(label)}</td><td class="lk-fit" style="color:'
        f'{"#2a7a2a" if ok else "#b22222"}">{"fits" if ok else "does not fit"}</td></tr>'
        for label, ok in verdict.items()
    )
    numbers = " + ".join(f"{PART_LABELS[p]} {parts[p]:.2f}" for p in PARTS)
    checkpointing = ", gradient checkpointing" if inputs.gradient_checkpointing else ""
    return (
        f'<div class="lk-memory" data-model="{inputs.model}" data-method="{inputs.method}" '
        f'data-batch="{inputs.batch}"><div style="font-weight:bold">{escape(describe_model(inputs))}'
        f'</div><div style="font-size:12px">{METHOD_LABELS[inputs.method]}, rank '
        f"{inputs.rank}, batch {inputs.batch}, sequence {inputs.seq_len} tokens, "
        f"{inputs.precision}{checkpointing}</div>{bar}"
        f'<div style="font-size:12px">{numbers} = <b class="lk-total">{parts["total"]:.2f} GiB'
        f"</b> ({parts['total'] * GIB / 1e9:.2f} GB)</div>"
        f'<table style="font-size:12px;margin:0">{rows}</table></div>'
    )
