"""Reading a training history: overfitting, underfitting, or fine."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from labkit.errors import MetricsError

REQUIRED = ("epoch", "train_loss", "eval_loss")
ADVICE = {
    "overfitting": "Keep the checkpoint of the best epoch (early stopping), train fewer epochs, "
    "or add regularisation (LoRA dropout, weight decay, more data).",
    "underfitting": "Train longer, raise the learning rate, or give the adapter more capacity "
    "(a higher LoRA rank or more target modules).",
    "fine": "Nothing to fix; the best epoch is a good checkpoint to keep.",
}


@dataclass
class Diagnosis:
    """What the loss curves say: ``kind``, the ``evidence`` sentence, and the best epoch."""

    kind: str
    evidence: str
    best_epoch: Any
    advice: str = ""

    def __str__(self) -> str:
        return f"{self.kind.upper()}: {self.evidence} {self.advice}".strip()


def _rows(history: Any) -> list[dict[str, Any]]:
    if hasattr(history, "to_dict") and hasattr(history, "columns"):
        history = history.to_dict(orient="records")
    if isinstance(history, (str, bytes, dict)) or not hasattr(history, "__iter__"):
        raise MetricsError(
            "history must be a list of dicts (one per epoch) or a DataFrame with columns "
            f"{list(REQUIRED)}."
        )
    rows = list(history)
    if len(rows) < 2:
        raise MetricsError(
            f"history has {len(rows)} epoch(s); a diagnosis needs at least 2 epochs, each with "
            f"{list(REQUIRED)}."
        )
    for number, row in enumerate(rows):
        if not isinstance(row, dict):
            raise MetricsError(f"history entry {number} is {row!r}; each entry must be a dict.")
        missing = [key for key in REQUIRED if key not in row]
        if missing:
            raise MetricsError(
                f"history entry {number} lacks {missing}; every epoch needs {list(REQUIRED)} "
                "(evaluate once per epoch)."
            )
        for key in REQUIRED:
            if not _is_finite(row[key]):
                raise MetricsError(
                    f"history entry {number} has {key}={row[key]!r}; epochs and losses must be "
                    "finite numbers (a NaN loss means training diverged)."
                )
    return sorted(rows, key=lambda r: r["epoch"])


def _change(before: float, after: float) -> str:
    """Relative change as a signed percentage, or the absolute change when before is 0."""
    if before == 0:
        return f"{after - before:+.3f}"
    return f"{after / before - 1:+.0%}"


def _is_finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def diagnose_history(
    history: Any, *, rise: float = 0.10, gap: float = 0.5, stall: float = 0.8, floor: float = 0.6
) -> Diagnosis:
    """Diagnose a per-epoch history (list of dicts or DataFrame: epoch, train_loss, eval_loss).

    Rules, checked in order:

    * overfitting: the last eval_loss is more than ``rise`` (10%) above its minimum while
      train_loss is lower than at that best epoch; or eval_loss ended above its minimum and the
      final gap eval_loss - train_loss exceeds ``gap`` (50%) of the final eval_loss.
    * underfitting: the final train_loss is above ``stall`` (80%) of the first one, or the
      final eval_accuracy (when recorded) is below ``floor``.
    * fine: anything else. A missing or NaN eval_accuracy is ignored. ``best_epoch`` is always the epoch with the lowest eval_loss.
    """
    rows = _rows(history)
    train = [float(r["train_loss"]) for r in rows]
    evals = [float(r["eval_loss"]) for r in rows]
    best = min(range(len(rows)), key=evals.__getitem__)
    best_epoch = rows[best]["epoch"]
    kind, evidence = _overfitting(train, evals, best, best_epoch, rise, gap)
    if kind is None:
        kind, evidence = _underfitting(rows, train, stall, floor)
    if kind is None:
        kind = "fine"
        evidence = (
            f"Train loss fell from {train[0]:.3f} to {train[-1]:.3f} and eval loss reached its "
            f"lowest value {evals[best]:.3f} at epoch {best_epoch} (final {evals[-1]:.3f})."
        )
    return Diagnosis(kind, evidence, best_epoch, ADVICE[kind])


def _overfitting(
    train: list[float], evals: list[float], best: int, best_epoch: Any, rise: float, gap: float
) -> tuple[str | None, str]:
    lowest, last = evals[best], evals[-1]
    if last > lowest * (1 + rise) and train[-1] < train[best]:
        return "overfitting", (
            f"Eval loss rose {_change(lowest, last)} from its minimum {lowest:.3f} at epoch "
            f"{best_epoch} to {last:.3f}, while train loss kept falling "
            f"({train[best]:.3f} -> {train[-1]:.3f})."
        )
    if last > lowest and last - train[-1] > gap * last:
        return "overfitting", (
            f"Eval loss stopped improving after epoch {best_epoch} ({lowest:.3f} -> {last:.3f}) "
            f"and ends at {last:.3f}, far above the train loss {train[-1]:.3f}."
        )
    return None, ""


def _underfitting(
    rows: list[dict[str, Any]], train: list[float], stall: float, floor: float
) -> tuple[str | None, str]:
    if train[-1] > stall * train[0]:
        return "underfitting", (
            f"Train loss barely moved ({train[0]:.3f} -> {train[-1]:.3f}, a change of "
            f"{_change(train[0], train[-1])}): the model has not learned the task yet."
        )
    accuracy = rows[-1].get("eval_accuracy")
    if _is_finite(accuracy) and float(accuracy) < floor:
        return "underfitting", (
            f"Final eval accuracy is {float(accuracy):.3f}, below the {floor:.2f} floor, "
            f"although train loss fell ({train[0]:.3f} -> {train[-1]:.3f})."
        )
    return None, ""
