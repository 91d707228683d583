"""labkit: the lab package of the parameter-efficient fine-tuning course.

Light modules (metrics, errors, data) import without torch; heavier parts are loaded on first
use, so ``import labkit`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.1"

from labkit._quiet import lower_noisy_loggers

lower_noisy_loggers()  # before bitsandbytes' first import logs its optional-kernel notice

_LAZY = {
    "doctor": ("labkit.environment", "doctor"),
    "default_profile": ("labkit.profiles", "default_profile"),
    "run": ("labkit.train", "run"),
    "RunResult": ("labkit.train", "RunResult"),
    "fit": ("labkit.train", "fit"),
    "encode": ("labkit.train", "encode"),
    "make_trainer": ("labkit.train", "make_trainer"),
    "train_measured": ("labkit.train", "train_measured"),
    "finish": ("labkit.train", "finish"),
    "default_task": ("labkit.profiles", "default_task"),
    "estimate_memory": ("labkit.estimate", "estimate_memory"),
    "compare_methods": ("labkit.compare", "compare_methods"),
    "load_task": ("labkit.data", "load_task"),
    "load_model": ("labkit.models", "load_model"),
}

_SUBMODULES = ("catalog", "data", "device", "errors", "methods", "metrics", "models", "plots",
               "measure", "estimate", "notebook", "adapters", "grid", "widgets")  # fmt: skip

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    if name in _SUBMODULES:
        return importlib.import_module(f"labkit.{name}")
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")
