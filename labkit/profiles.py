"""Run profiles: one code path, two sizes.

``quick`` fits a laptop CPU (bundled model, built-in data, about a minute per run); ``full``
is for a GPU (bigger batches, more epochs, longer inputs). Notebooks pick with one variable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from labkit.errors import ConfigError


@dataclass(frozen=True)
class Profile:
    """Sizes used by a training run; any field can be overridden per run."""

    name: str
    epochs: float
    batch_size: int
    eval_batch_size: int
    max_length: int
    learning_rate: float
    head_learning_rate: float
    full_learning_rate: float
    limit: int | None

    def with_overrides(self, **overrides: Any) -> Profile:
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **given)

    def learning_rate_for(self, method: str) -> float:
        """The default learning rate of a method: whole layers train slower than a new head."""
        rates = {"full": self.full_learning_rate, "last_n": self.full_learning_rate,
                 "head": self.head_learning_rate}  # fmt: skip
        return rates.get(method, self.learning_rate)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PROFILES = {
    "quick": Profile(
        name="quick",
        epochs=3,
        batch_size=16,
        eval_batch_size=128,
        max_length=48,
        learning_rate=2e-3,
        head_learning_rate=1e-2,
        full_learning_rate=1e-4,
        limit=None,
    ),
    "full": Profile(
        name="full",
        epochs=3,
        batch_size=32,
        eval_batch_size=256,
        max_length=128,
        learning_rate=5e-4,
        head_learning_rate=2e-3,
        full_learning_rate=5e-5,
        limit=None,
    ),
}


def default_profile() -> str:
    """``"full"`` when a CUDA GPU is present, else ``"quick"``."""
    import torch

    return "full" if torch.cuda.is_available() else "quick"


def get_profile(name: str | None) -> Profile:
    """Look up a profile by name (None -> the default for this machine)."""
    name = name or default_profile()
    if name not in PROFILES:
        raise ConfigError(f"Unknown profile {name!r}: use one of {sorted(PROFILES)}.")
    return PROFILES[name]
