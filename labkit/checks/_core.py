"""The machinery every check shares: answers read as numbers, known mistakes, choices, reasons.

A check either returns a :class:`CheckResult` (shown as one green line in the notebook) or
raises :class:`ExerciseIncomplete` whose message says what is wrong and how to look at it again.
Two rules hold for every message:

- it never contains the expected answer (only the learner's own value and a hint);
- a typical mistake gets its own hint (e.g. "that is recall: ..."), anything else a general one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class ExerciseIncomplete(AssertionError):
    """Raised by a check when the answer is missing or wrong; the message holds the hint."""


@dataclass
class CheckResult:
    """A passed check, shown as one line in the notebook."""

    name: str
    message: str

    def __repr__(self) -> str:
        return f"✅ {self.name}: {self.message}"


class CheckList(list):
    """Several passed checks, shown one per line."""

    def __repr__(self) -> str:
        return "\n".join(repr(item) for item in self)


def each(*results: CheckResult) -> CheckList:
    """Show several checks' results together, one line each (run them as the arguments)."""
    return CheckList(results)


@dataclass(frozen=True)
class Mistake:
    """A typical wrong value and the hint that explains it.

    ``echo=False`` keeps the learner's value out of the message, for mistakes whose value gives
    the answer away (a reversed sign, for one).
    """

    value: float
    hint: str
    echo: bool = True


def is_missing(answer: object) -> bool:
    """True for an answer not given yet: ``None`` or the ``...`` of the exercise."""
    return answer is None or answer is Ellipsis


def require(name: str, answer: object) -> None:
    """Raise "no answer yet" for ``None`` or ``...``."""
    if is_missing(answer):
        raise ExerciseIncomplete(f"{name}: no answer yet. Replace the `...` in the cell above.")


def fail(name: str, message: str) -> ExerciseIncomplete:
    """The exception of a wrong answer (raise it)."""
    return ExerciseIncomplete(f"{name}: {message}")


def show(value: float) -> str:
    """A learner's number as the messages print it."""
    return f"{value:,.6g}"


def as_number(name: str, answer: object) -> float:
    """Read an answer as a float: Python and NumPy numbers, one-element arrays and tensors."""
    require(name, answer)
    if isinstance(answer, bool):
        raise fail(name, f"expected a number, got {answer!r} (a bool).")
    if isinstance(answer, str):
        raise fail(name, f"expected a number, got the string {answer!r}: drop the quotes.")
    item = getattr(answer, "item", None)
    size = getattr(answer, "numel", None) or getattr(answer, "size", None)
    if callable(size):
        size = size()
    if callable(item):
        if size not in (None, 1):
            raise fail(
                name,
                f"expected one number, got an array of {size} values: reduce it (e.g. .mean() "
                "or .sum()) or take .item() of a single element.",
            )
        answer = item()
    try:
        value = float(answer)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise fail(name, f"expected a number, got {answer!r}.") from None
    if math.isnan(value):
        raise fail(name, "the answer is NaN (not a number): a division by zero, or 0/0?")
    return value


def close(value: float, expected: float, rel: float, abs_tol: float) -> bool:
    return math.isclose(value, expected, rel_tol=rel, abs_tol=abs_tol)


def percent_form_ok(expected: float) -> bool:
    """Whether 100 x expected cannot be mistaken for a fraction (so a percentage is accepted)."""
    return abs(expected) <= 1 and abs(100 * expected) > 1


def check_value(
    name: str,
    answer: object,
    expected: float,
    *,
    hint: str,
    mistakes: Iterable[Mistake] = (),
    rel: float = 1e-3,
    abs_tol: float = 1e-9,
    percent: bool = False,
) -> CheckResult:
    """Compare a numeric answer with ``expected``; name the mistake when it is a known one.

    ``percent=True`` also accepts the answer as a percentage (e.g. 87.18 for 0.8718) where that
    cannot be mistaken for a fraction. A value that matches a :class:`Mistake` (in either form)
    gets that mistake's hint; anything else gets ``hint``.
    """
    value = as_number(name, answer)
    if close(value, expected, rel, abs_tol):
        return CheckResult(name, f"{show(value)} is right.")
    as_percent = percent and percent_form_ok(expected)
    if as_percent and close(value, 100 * expected, rel, 100 * abs_tol):
        return CheckResult(name, f"{show(value)} (as a percentage) is right.")
    for mistake in mistakes:
        if close(mistake.value, expected, rel, abs_tol):
            continue  # this "mistake" gives the right number here: not a mistake
        if close(value, mistake.value, rel, abs_tol) or (
            as_percent and close(value, 100 * mistake.value, rel, 100 * abs_tol)
        ):
            shown = f"{show(value)} is not right" if mistake.echo else "not right"
            raise fail(name, f"{shown}: {mistake.hint}")
    raise fail(name, f"{show(value)} is not right. Hint: {hint}")


def check_number(name: str, answer: object, expected: float, *, hint: str, rel: float = 1e-6):
    """Compare a numeric answer with the expected value (relative tolerance ``rel``)."""
    return check_value(name, answer, expected, hint=hint, rel=rel, abs_tol=1e-12)


# --- choices and reasons -------------------------------------------------------------------
def normalise_word(text: str) -> str:
    """Lowercase, spaces/underscores/hyphens removed: "F1-score" -> "f1score"."""
    return re.sub(r"[\s_\-]+", "", text.strip().lower())


def read_choice(
    name: str, choice: object, options: Mapping[str, Sequence[str]], *, what: str = "choice"
) -> str:
    """Map a learner's choice (any case, a synonym) to one of the ``options`` keys.

    ``options`` maps each canonical choice to its accepted spellings (the key itself counts).
    """
    require(name, choice)
    if not isinstance(choice, str):
        raise fail(name, f"the {what} should be a string such as {next(iter(options))!r}, "
                   f"got {choice!r}.")  # fmt: skip
    word = normalise_word(choice)
    for key, synonyms in options.items():
        if word in {normalise_word(s) for s in (key, *synonyms)}:
            return key
    listed = ", ".join(repr(k) for k in options)
    raise fail(name, f"{choice!r} is not one of the {what}s this question offers: {listed}.")


def require_reason(name: str, reason: object, *, min_words: int = 4) -> str:
    """The reason as lower-case text; "no answer yet" or a hint when it is missing or too short."""
    require(f"{name} (reason)", reason)
    if not isinstance(reason, str):
        raise fail(name, f"the reason should be a sentence (a string), got {reason!r}.")
    if len(reason.split()) < min_words:
        raise fail(name, f"the reason {reason!r} is too short: say in a sentence why, with the "
                   "evidence (a number or the cost of an error).")  # fmt: skip
    return reason.lower()


def mentions(text: str, keywords: Iterable[str]) -> bool:
    """True when the (lower-case) text contains one of the keywords (regular expressions)."""
    return any(re.search(k, text) for k in keywords)


# --- arrays ----------------------------------------------------------------------------------
def as_array(name: str, answer: object, *, dtype: Any = float) -> Any:
    """Read a list, NumPy array or tensor as a NumPy array."""
    import numpy as np

    require(name, answer)
    detach = getattr(answer, "detach", None)
    if callable(detach):
        answer = detach().cpu().numpy()
    try:
        return np.asarray(answer, dtype=dtype)
    except (TypeError, ValueError):
        raise fail(name, f"expected numbers (a list, an array or a tensor), got {answer!r:.80}."
                   ) from None  # fmt: skip


def first(items: Iterable[str], n: int = 3) -> str:
    """Up to ``n`` items as a readable list."""
    items = list(items)
    shown = ", ".join(repr(i) for i in items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


def call_learner(name: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the learner's function; turn its exception into a hint that quotes it."""
    try:
        return function(*args, **kwargs)
    except ExerciseIncomplete:
        raise
    except Exception as error:  # noqa: BLE001 - any error of the learner's code is reported
        raise fail(name, f"your code raised {type(error).__name__}: {error}") from error
