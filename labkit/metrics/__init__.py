"""Evaluation for the course: metrics, thresholds, verdicts, leakage checks, curve diagnosis.

Everything builds on scikit-learn; bad input raises :class:`labkit.errors.MetricsError` with a
message that names the problem and the fix.
"""

from __future__ import annotations

from labkit.metrics.curves import Diagnosis, diagnose_history
from labkit.metrics.leakage import LeakageReport, find_leakage, normalise
from labkit.metrics.report import Report, evaluate, from_counts
from labkit.metrics.thresholds import (
    CostChoice,
    ThresholdChoice,
    at_threshold,
    cost_curve,
    roc_points,
    threshold_for,
    threshold_for_cost,
    threshold_sweep,
)
from labkit.metrics.verdicts import Verdict, compare, compare_seeds, judge

__all__ = [
    "CostChoice",
    "Diagnosis",
    "LeakageReport",
    "Report",
    "ThresholdChoice",
    "Verdict",
    "at_threshold",
    "compare",
    "compare_seeds",
    "cost_curve",
    "diagnose_history",
    "evaluate",
    "find_leakage",
    "from_counts",
    "judge",
    "normalise",
    "roc_points",
    "threshold_for",
    "threshold_for_cost",
    "threshold_sweep",
]
