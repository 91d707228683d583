"""Practice 4 (QLoRA): absmax int8, bytes per model, NF4 config, QLoRA model, real calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkit.checks._core import (
    CheckResult,
    Mistake,
    as_array,
    call_learner,
    check_value,
    close,
    fail,
    require,
    show,
)


def _weights(w: Any) -> Any:
    import numpy as np

    detach = getattr(w, "detach", None)
    if callable(detach):
        w = detach().float().cpu().numpy()
    return np.asarray(w, dtype=np.float64).ravel()


def _absmax_codes(w: Any) -> Any:
    import numpy as np

    w = _weights(w)
    scale = 127 / np.abs(w).max()
    return np.round(w * scale), scale


def check_absmax_int8(q: object, w: Any) -> CheckResult:
    """int8 codes by absmax: round(w * 127 / max|w|), integers in [-127, 127]."""
    import numpy as np

    name = "int8 codes"
    codes = as_array(name, q).ravel()
    w64 = _weights(w)
    if codes.shape != w64.shape:
        raise fail(name, f"{codes.size} codes for {w64.size} weights: one code per weight.")
    expected, scale = _absmax_codes(w64)
    if not np.allclose(codes, np.round(codes)):
        if np.allclose(codes, w64 * scale, rtol=1e-4, atol=1e-4):
            raise fail(name, "the codes are not rounded: int8 stores whole numbers, so round "
                       "w * scale to the nearest integer.")  # fmt: skip
        raise fail(name, "the codes are not whole numbers: int8 stores integers.")
    off = np.abs(codes - expected)
    # float32 and float64 may round a value sitting at exactly .5 differently: allow a few
    if off.max() <= 1 and (off > 0).sum() <= max(2, codes.size // 100):
        return CheckResult(name, f"{codes.size} codes in [{codes.min():.0f}, {codes.max():.0f}].")
    if codes.min() < -128 or codes.max() > 127:
        if np.allclose(codes, np.round(w64 * 255 / np.abs(w64).max())):
            raise fail(name, "codes reach 255: int8 holds -128..127, so absmax maps to 127 "
                       "(not 255, the uint8 range).")  # fmt: skip
        raise fail(name, f"codes go from {codes.min():.0f} to {codes.max():.0f}; int8 holds "
                   "-128..127.")  # fmt: skip
    if np.allclose(codes, np.trunc(w64 * scale)):
        raise fail(name, "the codes are truncated toward zero (a cast without rounding): "
                   "round first, e.g. torch.round(w * scale), then cast.")  # fmt: skip
    wrong_scale = 127 / w64.max()
    if w64.max() != np.abs(w64).max() and np.allclose(codes, np.clip(np.round(w64 * wrong_scale),
                                                                    -128, 127)):  # fmt: skip
        raise fail(name, "the scale uses the largest VALUE, w.max(); absmax is the largest "
                   "MAGNITUDE, w.abs().max(), which here is a negative weight.")  # fmt: skip
    if np.abs(codes).max() <= 1:
        raise fail(name, "the codes are all 0 or ±1: scale the weights by 127 / absmax before "
                   "rounding.")  # fmt: skip
    raise fail(name, "not right. Hint: scale = 127 / w.abs().max(); codes = round(w * scale).")


def check_dequantized(w_hat: object, w: Any) -> CheckResult:
    """The weights back from the codes: codes / scale."""
    import numpy as np

    name = "dequantized weights"
    back = as_array(name, w_hat).ravel()
    w64 = _weights(w)
    if back.shape != w64.shape:
        raise fail(name, f"{back.size} values for {w64.size} weights.")
    codes, scale = _absmax_codes(w64)
    expected = codes / scale
    off = np.abs(back - expected) * scale  # in units of one code step
    if off.max() <= 1.001 and (off > 1e-3).sum() <= max(2, back.size // 100):
        return CheckResult(name, "codes / scale: right.")
    if np.allclose(back, codes, atol=0.5):
        raise fail(name, "these are still the integer codes: divide them by the scale to get "
                   "weights back.")  # fmt: skip
    if np.allclose(back, codes * scale, rtol=1e-3):
        raise fail(name, "you multiplied the codes by the scale; dequantizing DIVIDES by it "
                   "(the scale took the weights up to the int8 range).")  # fmt: skip
    raise fail(name, "not right. Hint: w_hat = codes / scale, with the same scale as before.")


def check_quantization_error(answer: object, w: Any) -> CheckResult:
    """Mean absolute error between the weights and their int8 round trip."""
    import numpy as np

    w64 = _weights(w)
    codes, scale = _absmax_codes(w64)
    error = w64 - codes / scale
    return check_value(
        "mean |error|", answer, float(np.abs(error).mean()), rel=2e-3,
        hint="the mean over all weights of |w - w_hat|.",
        mistakes=[
            Mistake(float(error.mean()), "that is the mean of the SIGNED errors, where positive "
                    "and negative errors cancel; take the absolute value first."),
            Mistake(float(np.abs(error).max()), "that is the largest error; the question asks "
                    "for the mean."),
            Mistake(float((error**2).mean()), "that is the mean SQUARED error; take the mean "
                    "of the absolute errors."),
            Mistake(float(np.abs(w64 - codes).mean()), "that compares the weights with the "
                    "integer codes; compare with the dequantized weights (codes / scale)."),
            Mistake(float(np.abs(error).sum()), "that is the sum; divide by the number of "
                    "weights."),
        ],
    )  # fmt: skip


# --- memory arithmetic ---------------------------------------------------------------------------
BLOCK, BLOCK2 = 64, 256


def check_constant_bits(answer: object, *, double_quant: bool) -> CheckResult:
    """Bits of quantization constants per parameter: 32/64, or 8/64 + 32/(64*256) with DQ."""
    if not double_quant:
        return check_value(
            "constants per parameter (bits)", answer, 32 / BLOCK, rel=1e-3,
            hint="one fp32 absmax (32 bits) per block of 64 weights.",
            mistakes=[
                Mistake(32, "that is one constant's bits; it is shared by a block of 64 "
                        "weights: divide."),
                Mistake(16 / BLOCK, "the block constants are stored in fp32 (32 bits), not "
                        "16."),
                Mistake(BLOCK / 32, "that is upside down: 32 bits shared by 64 weights."),
                Mistake(8 / BLOCK, "that is the double-quantized size; without double "
                        "quantization each block's absmax is an fp32 number."),
            ],
        )  # fmt: skip
    expected = 8 / BLOCK + 32 / (BLOCK * BLOCK2)
    return check_value(
        "constants per parameter with double quantization (bits)", answer, expected, rel=1e-3,
        hint="an 8-bit constant per block of 64 weights, plus an fp32 constant per 256 of "
             "those blocks.",
        mistakes=[
            Mistake(32 / BLOCK, "that is without double quantization: DQ stores each block's "
                    "constant in 8 bits instead of 32."),
            Mistake(8 / BLOCK, "you forgot the second-level constants: the 8-bit constants "
                    "are themselves quantized in blocks of 256, each with an fp32 scale, "
                    "32 / (64 x 256) bits per weight."),
            Mistake(32 / (BLOCK * BLOCK2), "you forgot the 8-bit constants themselves: one per "
                    "block of 64 weights, 8 / 64 bits per weight."),
            Mistake(8 / BLOCK + 32 / BLOCK2, "the second-level constant is shared by 256 "
                    "blocks of 64 weights, so 32 / (64 x 256) bits per weight."),
        ],
    )  # fmt: skip


def check_model_gb(answer: object, *, n_params: float, bits: float,
                   constant_bits: float = 0.0) -> CheckResult:  # fmt: skip
    """Gigabytes (10^9 bytes) of ``n_params`` weights at ``bits`` plus ``constant_bits`` each.

    The answer in bytes is accepted too.
    """
    name = f"GB at {bits:g} bits" + (f" + {constant_bits:.3g} bits of constants"
                                    if constant_bits else "")  # fmt: skip
    expected = n_params * (bits + constant_bits) / 8 / 1e9
    from labkit.checks._core import as_number

    value = as_number(name, answer)
    if close(value, expected * 1e9, 2e-4, 0):
        return CheckResult(name, f"{show(value)} bytes is right.")
    mistakes = [
        Mistake(
            expected * 1e9 / 2**30,
            "that is GiB (2^30 bytes); this question counts GB (10^9 bytes).",
        ),
        Mistake(expected * 8, "that is in gigaBITS; divide by 8 bits per byte."),
        Mistake(expected * 1e9 * 8, "that is in bits; divide by 8 for bytes, then by 10^9 for GB."),
        Mistake(expected / 1e9, "that divides by 10^9 twice."),
    ]
    if constant_bits:
        mistakes += [
            Mistake(
                n_params * bits / 8 / 1e9,
                f"that is {bits:g} bits alone, without the "
                "quantization constants every block stores.",
            ),
            Mistake(
                n_params * (bits + 0.5) / 8 / 1e9,
                "that uses the constants WITHOUT double quantization (0.5 bits per weight).",
            ),
            Mistake(
                n_params * (bits + 8 / 64) / 8 / 1e9,
                "the double-quantized constants lack "
                "their second level (the fp32 scale per 256 blocks).",
            ),
        ]
    return check_value(
        name,
        value,
        expected,
        rel=2e-4,
        mistakes=mistakes,
        hint="parameters x bits per parameter / 8 = bytes; / 10^9 = GB.",
    )


def check_nf4_config(config: object) -> CheckResult:
    """QLoRA's storage: ``BitsAndBytesConfig`` with 4-bit NF4 and double quantization."""
    name = "BitsAndBytesConfig"
    require(name, config)
    from transformers import BitsAndBytesConfig

    if isinstance(config, dict):
        raise fail(name, "that is a dict; build BitsAndBytesConfig(...) with those fields.")
    if not isinstance(config, BitsAndBytesConfig):
        raise fail(name, f"expected BitsAndBytesConfig(...), got {type(config).__name__}.")
    if config.load_in_8bit:
        raise fail(name, "load_in_8bit=True is LLM.int8(); QLoRA stores the base in 4 bits.")
    if not config.load_in_4bit:
        raise fail(name, "load_in_4bit is not set: nothing would be quantized to 4 bits.")
    if config.bnb_4bit_quant_type != "nf4":
        raise fail(name, f"bnb_4bit_quant_type={config.bnb_4bit_quant_type!r} (the default is "
                   "'fp4'); QLoRA's data type is NormalFloat 4.")  # fmt: skip
    if not config.bnb_4bit_use_double_quant:
        raise fail(name, "double quantization is off: set bnb_4bit_use_double_quant=True.")
    return CheckResult(name, "4-bit NF4 with double quantization.")


def _layer_types(model: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, module in model.named_modules():
        if type(module).__module__.startswith("peft."):
            continue  # peft's LoRA wrappers share the names of the quantized layers they wrap
        kind = type(module).__name__
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _lora_ranks(model: Any) -> set[int]:
    ranks = set()
    for name, param in model.named_parameters():
        if "lora_A" in name:
            ranks.add(int(param.shape[0]))
    return ranks


def check_qlora_model(model: object) -> CheckResult:
    """A 4-bit base with LoRA adapters: quantized layers, trainable lora_ matrices and head."""
    name = "QLoRA model"
    require(name, model)
    types = _layer_types(model)
    if not types.get("Linear4bit"):
        if types.get("Linear8bitLt"):
            raise fail(name, "the base is 8-bit (Linear8bitLt); the config asks for 4-bit NF4.")
        raise fail(name, "no quantized layer: load the model with quantization_config=... "
                   "(quantization happens when the weights are loaded).")  # fmt: skip
    params = dict(model.named_parameters())
    lora = [n for n in params if "lora_" in n]
    if not lora:
        raise fail(name, "no LoRA adapters yet: wrap the prepared model with "
                   "get_peft_model(model, LoraConfig(...)).")  # fmt: skip
    if not all(params[n].requires_grad for n in lora):
        raise fail(name, "some LoRA matrices are frozen; they are what trains.")
    head = [n for n in params if "classifier" in n and "modules_to_save" in n]
    if not head or not all(params[n].requires_grad for n in head):
        raise fail(
            name,
            "the classifier does not train: with task_type=TaskType.SEQ_CLS peft "
            "trains a copy of it (modules_to_save); without, it stays random.",
        )
    frozen_base = [n for n, p in params.items() if p.requires_grad and "lora_" not in n
                   and "modules_to_save" not in n]  # fmt: skip
    if frozen_base:
        raise fail(name, f"base parameters still train, e.g. {frozen_base[0]!r}: "
                   "prepare_model_for_kbit_training freezes them.")  # fmt: skip
    return CheckResult(name, f"{types['Linear4bit']} 4-bit layers, {len(lora)} LoRA matrices "
                       "and the head train.")  # fmt: skip


def check_ratio(name: str, answer: object, numerator: float, denominator: float, *,
                hint: str) -> CheckResult:  # fmt: skip
    """A ratio of two measured numbers; the upside-down ratio and the difference get hints."""
    expected = numerator / denominator
    return check_value(name, answer, expected, rel=1e-3, hint=hint, mistakes=[
        Mistake(denominator / numerator, "the ratio is upside down."),
        Mistake(numerator - denominator, "that is a difference; the question asks for a ratio."),
        Mistake(1 - expected, "that is the SAVING (1 - ratio); the question asks for the "
                "ratio."),
    ])  # fmt: skip


def check_difference(name: str, answer: object, first_value: float, second_value: float, *,
                     hint: str) -> CheckResult:  # fmt: skip
    """``first_value - second_value`` (fractions; percentage points accepted)."""
    expected = first_value - second_value
    return check_value(
        name,
        answer,
        expected,
        rel=1e-3,
        abs_tol=1e-6,
        percent=True,
        hint=hint,
        mistakes=[Mistake(-expected, "the sign is reversed: new minus old.", echo=False)],
    )


def check_real_equivalents(function: Callable[..., Any]) -> CheckResult:
    """``function(bits=..., rank=...)`` must return a quantized model with LoRA of that rank.

    The check calls it twice, with (8, 4) (the imaginary snippet's values) and (4, 2), so
    values typed into the function instead of the arguments show up.
    """
    name = "QuantizeModel / adjust_qlora_rank, for real"
    require(name, function)
    if not callable(function):
        raise fail(name, "expected a function quantize_and_adapt(bits, rank).")
    for bits, rank in ((8, 4), (4, 2)):
        model = call_learner(name, function, bits=bits, rank=rank)
        if model is None or model is Ellipsis:
            raise fail(name, "no answer yet: the function returns nothing.")
        types = _layer_types(model)
        want, other = ("Linear8bitLt", "Linear4bit") if bits == 8 else ("Linear4bit",
                                                                        "Linear8bitLt")  # fmt: skip
        if not types.get(want):
            if types.get(other):
                raise fail(
                    name,
                    f"asked for bits={bits}, the model has {other} layers: the "
                    "bits argument is not used (8 -> load_in_8bit, 4 -> load_in_4bit).",
                )
            raise fail(
                name,
                f"bits={bits}: no quantized layer. QuantizeModel(model, bits) has "
                "no one-call equivalent: bitsandbytes quantizes while the weights load, "
                "so pass BitsAndBytesConfig(...) as quantization_config when loading.",
            )
        ranks = _lora_ranks(model)
        if not ranks:
            raise fail(name, "no LoRA adapters: add them with get_peft_model(model, "
                       "LoraConfig(r=rank, ...)).")  # fmt: skip
        if ranks != {rank}:
            raise fail(
                name,
                f"asked for rank {rank}, the adapters have rank {sorted(ranks)}: "
                "adjust_qlora_rank(model, rank) is LoraConfig(r=rank) on a fresh model, "
                "or labkit.methods.set_lora_rank(model, rank) on an adapted one.",
            )
        del model
    return CheckResult(name, "quantized at the asked bits, LoRA at the asked rank (tried "
                       "8-bit/r=4 and 4-bit/r=2).")  # fmt: skip
