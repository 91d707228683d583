"""Practice 1 (counting parameters): a dense layer, its LoRA update, the fraction."""

from __future__ import annotations

from labkit.checks._core import CheckResult, Mistake, check_value


def lora_parameters(d_in: int, d_out: int, rank: int) -> int:
    """Trainable parameters LoRA adds to one d_in -> d_out linear layer: A (r x d_in), B (d_out x r)."""
    return rank * (d_in + d_out)


def lora_mistakes(d_in: int, d_out: int, rank: int, layers: int = 1) -> list[Mistake]:
    """Typical wrong counts of LoRA parameters (for ``layers`` wrapped layers)."""
    mistakes = [
        Mistake(
            rank * layers,
            "that is the rank alone. A has r x d_in entries and B has "
            "d_out x r: the count is the rank times the widths.",
        ),  # fmt: skip
        Mistake(rank * d_in * layers, "that counts A (r x d_in) only; B (d_out x r) trains too."),
        Mistake(d_out * rank * layers, "that counts B (d_out x r) only; A (r x d_in) trains too."),
        Mistake(
            d_in * d_out * layers,
            "that is the full weight matrix W (d_out x d_in), which "
            "LoRA freezes; count the entries of the two small matrices A and B.",
        ),  # fmt: skip
        Mistake(
            rank * rank * layers, "r x r is neither A nor B: A is r x d_in and B is d_out x r."
        ),
        Mistake(2 * rank * layers, "that is two times the rank; multiply by the widths."),
    ]
    if layers > 1:
        mistakes.append(Mistake(rank * (d_in + d_out), "that is the update of ONE layer; LoRA "
                                "wraps every target layer of every block. Multiply by their "
                                "number."))  # fmt: skip
    return mistakes


def check_lora_parameters(answer: object, d_in: int, d_out: int, rank: int) -> CheckResult:
    """Check a learner's count of LoRA parameters for one linear layer."""
    return check_value(
        f"LoRA parameters (d_in={d_in}, d_out={d_out}, r={rank})",
        answer,
        lora_parameters(d_in, d_out, rank),
        hint="A has shape (r, d_in) and B has shape (d_out, r); add their sizes.",
        mistakes=lora_mistakes(d_in, d_out, rank),
        rel=0,
        abs_tol=0.5,
    )


def check_dense_parameters(answer: object, d_in: int, d_out: int, bias: bool = True):
    """Check a learner's count of the parameters of a dense d_in -> d_out layer."""
    mistakes = [
        Mistake(d_in + d_out, "that adds the widths; a weight matrix has d_out x d_in entries."),
    ]
    if bias:
        mistakes.insert(0, Mistake(d_in * d_out, "you forgot the bias: one extra parameter per "
                                   "output."))  # fmt: skip
        mistakes.append(Mistake(d_in * d_out + d_in, "the bias has one entry per OUTPUT, not per "
                                "input."))  # fmt: skip
    return check_value(
        f"dense layer parameters ({d_in} -> {d_out})",
        answer,
        d_in * d_out + (d_out if bias else 0),
        hint="a weight matrix of d_out x d_in entries, plus one bias per output.",
        mistakes=mistakes,
        rel=0,
        abs_tol=0.5,
    )


def check_fraction(name: str, answer: object, expected: float, hint: str) -> CheckResult:
    """Check a ratio to three significant digits (a percentage is accepted too)."""
    mistakes = (
        [Mistake(1 / expected, "the ratio is upside down: divide the part by the whole.")]
        if expected
        else []
    )
    return check_value(name, answer, expected, hint=hint, mistakes=mistakes, rel=1e-3,
                       percent=True)  # fmt: skip
