"""Train/test leakage: test examples that also appear (exactly or nearly) in the training set."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from labkit.errors import MetricsError

_SPACES = re.compile(r"\s+")
_PUNCTUATION = re.compile(r"[^\w\s]|_")


def normalise(text: str) -> str:
    """Lowercase, drop punctuation and symbols, collapse runs of whitespace."""
    return _SPACES.sub(" ", _PUNCTUATION.sub("", text.casefold())).strip()


@dataclass
class LeakageReport:
    """How many test texts already occur in the training texts.

    ``exact_count``: identical strings. ``near_count``: equal only after :func:`normalise`.
    ``examples`` holds up to ``max_examples`` (test_text, train_text, kind) triples.
    """

    exact_count: int
    near_count: int
    n_test: int
    n_train: int
    examples: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Leaked test texts, exact and near together."""
        return self.exact_count + self.near_count

    @property
    def fraction(self) -> float:
        """Share of the test set that leaked (0.0 for an empty test set)."""
        return self.count / self.n_test if self.n_test else 0.0

    @property
    def has_leakage(self) -> bool:
        """True when at least one test text leaked."""
        return self.count > 0

    def __str__(self) -> str:
        if not self.has_leakage:
            return f"No leakage: none of the {self.n_test} test texts occurs in the training set."
        lines = [
            f"Leakage: {self.count} of {self.n_test} test texts ({self.fraction:.1%}) also occur "
            f"in the training set ({self.exact_count} exact, {self.near_count} near-duplicate"
            f"{'' if self.near_count == 1 else 's'}). "
            "Remove them from the test set, or the test score overstates the model."
        ]
        lines.extend(f"  [{kind}] test {test!r} ~ train {train!r}"
                     for test, train, kind in self.examples)  # fmt: skip
        return "\n".join(lines)


def _texts(values: Iterable[str], name: str) -> list[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise MetricsError(f"{name} must be a list of strings, not {type(values).__name__}.")
    texts = list(values)
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise MetricsError(
                f"{name}[{position}] is {text!r} ({type(text).__name__}); every entry must be a "
                "string. Drop missing rows or convert them with str() first."
            )
    return texts


def find_leakage(
    train_texts: Iterable[str],
    test_texts: Iterable[str],
    *,
    near: bool = True,
    max_examples: int = 5,
) -> LeakageReport:
    """Count test texts that duplicate a training text, exactly or after normalisation.

    Uses hash lookups, so 10,000 x 10,000 texts take well under a second. Texts that
    normalise to an empty string (only punctuation or spaces) are never near matches.
    """
    train = _texts(train_texts, "train_texts")
    test = _texts(test_texts, "test_texts")
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 0:
        raise MetricsError(f"max_examples must be a whole number >= 0, got {max_examples!r}.")
    exact_set = set(train)
    by_norm: dict[str, str] = {}
    if near:
        for text in train:
            by_norm.setdefault(normalise(text), text)
        by_norm.pop("", None)
    exact = near_count = 0
    examples: list[tuple[str, str, str]] = []
    for text in test:
        if text in exact_set:
            exact += 1
            match, kind = text, "exact"
        elif near and (match := by_norm.get(normalise(text))) is not None:
            near_count += 1
            kind = "near"
        else:
            continue
        if len(examples) < max_examples:
            examples.append((text, match, kind))
    return LeakageReport(exact, near_count, len(test), len(train), examples)
