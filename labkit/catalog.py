"""The course's names, in one place: methods, quantization levels and the run names that join them.

Every entry point (``labkit.run``, ``compare_methods``, the CLI, the widgets) uses these lists,
so QLoRA is named the same way everywhere:

- a *training method* says what trains: ``full``, ``head``, ``last_n`` or ``lora``;
- a *quantization level* says how the frozen base is stored: ``None``, ``8bit``, ``4bit-nf4``,
  ``4bit-fp4``;
- a *run name* is the short form used on the command line and in tables: the four methods plus
  ``qlora8`` (LoRA on an 8-bit base), ``qlora4`` (LoRA on a 4-bit NF4 base, QLoRA as published)
  and ``qlora4-fp4``.
"""

from __future__ import annotations

from labkit.errors import ConfigError

METHODS = ("full", "head", "last_n", "lora")
QUANTIZATION_LEVELS = (None, "8bit", "4bit-nf4", "4bit-fp4")
RUN_NAMES: dict[str, tuple[str, str | None]] = {
    "full": ("full", None),
    "head": ("head", None),
    "last_n": ("last_n", None),
    "lora": ("lora", None),
    "qlora8": ("lora", "8bit"),
    "qlora4": ("lora", "4bit-nf4"),
    "qlora4-fp4": ("lora", "4bit-fp4"),
}
DEFAULT_COMPARISON = ("full", "head", "last_n", "lora", "qlora8", "qlora4")


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


def resolve_run_name(name: str, quantization: str | None = None) -> tuple[str, str | None]:
    """(method, quantization) for a run name such as ``"qlora4"`` or a method with a level.

    ``resolve_run_name("qlora4")`` and ``resolve_run_name("lora", "4bit-nf4")`` give the same
    answer; a run name that already fixes the level must not be given a different one.
    """
    if name not in RUN_NAMES:
        raise ConfigError(
            f"Unknown method {name!r}: use one of {list(RUN_NAMES)} (qlora8 / qlora4 are LoRA on "
            "an 8-bit / 4-bit NF4 base)."
        )
    method, fixed = RUN_NAMES[name]
    quantization = check_quantization(quantization)
    if fixed is not None and quantization not in (None, fixed):
        raise ConfigError(
            f"method={name!r} already means quantization={fixed!r}; got quantization="
            f"{quantization!r}. Use method='lora' with the level you want."
        )
    return method, fixed or quantization


def run_name(method: str, quantization: str | None) -> str:
    """The short run name of a (method, quantization) pair: ("lora", "4bit-nf4") -> "qlora4"."""
    for name, pair in RUN_NAMES.items():
        if pair == (method, check_quantization(quantization)):
            return name
    raise ConfigError(
        f"method={method!r} with quantization={quantization!r} is not a run labkit knows: "
        "quantized weights are frozen, so only LoRA can train on them (that is QLoRA)."
    )


def parse_run_names(names: str | list[str] | tuple[str, ...]) -> list[str]:
    """Split ``"full,lora,qlora4"`` (or a list) and check each run name."""
    items = [m.strip() for m in names.split(",")] if isinstance(names, str) else list(names)
    unknown = [m for m in items if m not in RUN_NAMES]
    if unknown or not items:
        raise ConfigError(f"Unknown methods {unknown}: choose from {list(RUN_NAMES)}.")
    return items
