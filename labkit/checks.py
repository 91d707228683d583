"""Checkers for the practice notebooks: say right or wrong, and give a hint when wrong."""

from __future__ import annotations

import math
from dataclasses import dataclass


class ExerciseIncomplete(AssertionError):
    """Raised by a check when the answer is missing or wrong; the message holds the hint."""


@dataclass
class CheckResult:
    """A passed check, shown as one line in the notebook."""

    name: str
    message: str

    def __repr__(self) -> str:
        return f"✅ {self.name}: {self.message}"


def _require(name: str, answer: object) -> None:
    if answer is None or answer is Ellipsis:
        raise ExerciseIncomplete(f"{name}: no answer yet. Replace the `...` in the cell above.")


def check_number(name: str, answer: object, expected: float, *, hint: str, rel: float = 1e-6):
    """Compare a numeric answer with the expected value (relative tolerance ``rel``)."""
    _require(name, answer)
    try:
        value = float(answer)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ExerciseIncomplete(f"{name}: expected a number, got {answer!r}.") from None
    if not math.isclose(value, expected, rel_tol=rel, abs_tol=1e-12):
        raise ExerciseIncomplete(f"{name}: {value:,.6g} is not right. Hint: {hint}")
    return CheckResult(name, f"{value:,.6g} is right.")


def lora_parameters(d_in: int, d_out: int, rank: int) -> int:
    """Trainable parameters LoRA adds to one d_in -> d_out linear layer: A (r x d_in), B (d_out x r)."""
    return rank * (d_in + d_out)


def check_lora_parameters(answer: object, d_in: int, d_out: int, rank: int) -> CheckResult:
    """Check a learner's count of LoRA parameters for one linear layer."""
    return check_number(
        f"LoRA parameters (d_in={d_in}, d_out={d_out}, r={rank})",
        answer,
        lora_parameters(d_in, d_out, rank),
        hint="A has shape (r, d_in) and B has shape (d_out, r); add their sizes.",
    )


def check_dense_parameters(answer: object, d_in: int, d_out: int, bias: bool = True):
    """Check a learner's count of the parameters of a dense d_in -> d_out layer."""
    return check_number(
        f"dense layer parameters ({d_in} -> {d_out})",
        answer,
        d_in * d_out + (d_out if bias else 0),
        hint="a weight matrix of d_out x d_in entries, plus one bias per output.",
    )


def check_fraction(name: str, answer: object, expected: float, hint: str) -> CheckResult:
    """Check a ratio to three significant digits."""
    return check_number(name, answer, expected, hint=hint, rel=1e-3)
