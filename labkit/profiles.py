"""Run profiles: one code path, two sizes.

``quick`` is the default everywhere: the bundled model, the built-in real data (``sentences``),
short inputs and at most ``limit`` training examples, so a run takes about a minute on a laptop
CPU and seconds on a GPU. Every page of the course was measured with it, so a learner gets the
page's story on any machine. ``full`` is opt-in (``profile="full"`` or ``LABKIT_PROFILE=full``),
for a GPU: bigger batches, longer inputs, every training example and, when the Hub can be
reached, a larger Hub data set (``sst2``), falling back to the built-in one offline. Both train
3 epochs. Notebooks pick with one variable: ``PROFILE = labkit.default_profile()``.
"""

from __future__ import annotations

import os
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
        # LoRA at 5e-4 once collapsed to always-"ham" on sms_spam in a 2-epoch run on an H200
        # (F1 0); at 1e-3 two seeds reached F1 0.951 and 0.957 (bench/results/gpu_h200.md)
        learning_rate=1e-3,
        head_learning_rate=2e-3,
        full_learning_rate=5e-5,
        limit=None,
        task="sst2",
    ),
}


def default_profile() -> str:
    """The profile used when none is named: ``LABKIT_PROFILE`` when set, else ``"quick"``.

    ``quick`` on every device, GPU included: the course's pages were measured with it, and a
    GPU runs it in seconds. Set ``LABKIT_PROFILE=full`` (or pass ``profile="full"``) to train on
    all the data with longer inputs.
    """
    name = os.environ.get("LABKIT_PROFILE", "").strip() or "quick"
    if name not in PROFILES:
        raise ConfigError(
            f"LABKIT_PROFILE={name!r} is not a profile: use one of {sorted(PROFILES)} (or unset it)."
        )
    return name


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
