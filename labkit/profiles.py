"""Run profiles: one code path, two sizes.

``quick`` fits a laptop CPU: the bundled model, the built-in real data (``sentences``), short
inputs and at most ``limit`` training examples, so a run takes about a minute. ``full`` is for a
GPU: bigger batches, longer inputs, every training example and, when the Hub can be reached, a
larger Hub data set (``sst2``), falling back to the built-in one offline. Both train 3 epochs.
Notebooks pick with one variable: ``PROFILE = labkit.default_profile()``.
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
    task: str = "sentences"
    fallback_task: str = "sentences"

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
        # 500 training examples: every method well above chance on both real tasks, LoRA within
        # 2 points of full fine-tuning, 12-35 s of training per run on a 2-core CPU (measured
        # with bench/calibration.py, 3 seeds; bench/results/calibration.md)
        limit=500,
        task="sentences",
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
        task="sst2",
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


def default_task(profile: str | None = None) -> str:
    """The task a profile trains on by default: the Hub task when reachable, else the fallback.

    ``quick`` -> ``"sentences"`` (built-in, offline). ``full`` -> ``"sst2"`` from the Hugging
    Face Hub, or ``"sentences"`` when ``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE`` is set.
    """
    chosen = get_profile(profile)
    if chosen.task == chosen.fallback_task:
        return chosen.task
    from labkit.data.hub import is_offline

    return chosen.fallback_task if is_offline() else chosen.task
