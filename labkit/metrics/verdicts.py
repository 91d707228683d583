"""Plain-language verdicts: is a fine-tuned model as good as its baseline, or good enough?"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from labkit.errors import MetricsError
from labkit.metrics.report import PRETTY, Report

COMPARED = ("accuracy", "f1", "precision", "recall", "specificity", "roc_auc")
PRIORITIES = ("recall", "precision", "f1", "accuracy")
IMBALANCE_SHARE = 0.2
EPSILON = 1e-9  # float noise: 0.92 - 0.87 must count as exactly 5 points


@dataclass
class Verdict:
    """A verdict ("good", "acceptable" or "bad"), the sentence behind it and the numbers.

    ``differences`` maps metric -> baseline, candidate, absolute and relative change; for
    :func:`judge` the "baseline" is the target minimum (``reference`` says which).
    """

    verdict: str
    reason: str
    differences: dict[str, dict[str, float | None]] = field(default_factory=dict)
    reference: str = "baseline"

    def __str__(self) -> str:
        lines = [f"Verdict: {self.verdict.upper()}", self.reason]
        for name, diff in self.differences.items():
            lines.append(
                f"  {PRETTY.get(name, name):<12} {diff['candidate']:.4f} ({self.reference} "
                f"{diff['baseline']:.4f}, change {diff['absolute']:+.4f})"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = {"good": "green", "acceptable": "darkorange", "bad": "red"}[self.verdict]
        rows = "".join(
            f"<tr><th style='text-align:left'>{PRETTY.get(k, k)}</th><td>{d['baseline']:.4f}</td>"
            f"<td>{d['candidate']:.4f}</td><td>{d['absolute']:+.4f}</td></tr>"
            for k, d in self.differences.items()
        )
        return (
            f"<div><p><b style='color:{colour}'>{self.verdict.upper()}</b>: "
            f"{html.escape(self.reason)}</p><table><tr><th>metric</th><th>{self.reference}</th>"
            f"<th>value</th><th>change</th></tr>{rows}</table></div>"
        )


def _difference(baseline: float, candidate: float) -> dict[str, float | None]:
    change = candidate - baseline
    return {
        "baseline": baseline,
        "candidate": candidate,
        "absolute": change,
        "relative": change / baseline if baseline else None,
    }


def _differences(baseline: Report, candidate: Report) -> dict[str, dict[str, float | None]]:
    result = {}
    for name in COMPARED:
        old, new = getattr(baseline, name), getattr(candidate, name)
        if old is not None and new is not None:
            result[name] = _difference(float(old), float(new))
    return result


def _check_compare_args(
    baseline: Any, candidate: Any, good_within: float, bad_drop: float, metrics: Sequence[str]
) -> None:
    for role, report in (("baseline", baseline), ("candidate", candidate)):
        if not isinstance(report, Report):
            raise MetricsError(
                f"{role} must be a Report from evaluate() or from_counts(), got "
                f"{type(report).__name__}."
            )
    if not 0 <= good_within <= bad_drop:
        raise MetricsError(
            f"Need 0 <= good_within <= bad_drop, got good_within={good_within}, "
            f"bad_drop={bad_drop} (fractions: 0.02 means 2 points)."
        )
    unknown = [m for m in metrics if m not in COMPARED]
    if unknown or not metrics or isinstance(metrics, str):
        raise MetricsError(f"metrics must be a tuple drawn from {list(COMPARED)}; got {metrics!r}.")


def compare(
    baseline: Report,
    candidate: Report,
    *,
    good_within: float = 0.02,
    bad_drop: float = 0.05,
    recall_floor: float = 0.5,
    metrics: Sequence[str] = ("accuracy", "f1"),
    name: str = "The candidate",
) -> Verdict:
    """Judge ``candidate`` against ``baseline``.

    Rules, in order (drops are baseline - candidate, as fractions: 0.05 = 5 points):
    a drop larger than ``bad_drop`` on any of ``metrics`` -> bad; recall falling below
    ``recall_floor`` while the baseline's was at or above it -> bad ("recall collapsed");
    every drop at most ``good_within`` -> good; anything else -> acceptable. Improvements
    count as zero drop, so they are never bad.
    """
    _check_compare_args(baseline, candidate, good_within, bad_drop, metrics)
    differences = _differences(baseline, candidate)
    missing = [m for m in metrics if m not in differences]
    if missing:
        raise MetricsError(
            f"Cannot compare {missing}: one of the reports has no value for it (ROC-AUC needs "
            "y_score in evaluate). Drop it from metrics."
        )
    return _verdict_from(
        differences, metrics, candidate.recall, baseline.recall,
        good_within=good_within, bad_drop=bad_drop, recall_floor=recall_floor, name=name,
    )  # fmt: skip


def _verdict_from(
    differences: dict[str, dict[str, float | None]],
    metrics: Sequence[str],
    candidate_recall: float,
    baseline_recall: float,
    *,
    good_within: float,
    bad_drop: float,
    recall_floor: float,
    name: str,
) -> Verdict:
    """The rules of :func:`compare`, applied to (baseline, candidate) metric values."""
    drops = {m: round(-differences[m]["absolute"], 12) for m in metrics}
    worst = max(drops, key=drops.get)
    old, new = differences[worst]["baseline"], differences[worst]["candidate"]
    points = drops[worst] * 100
    numbers = f"({new:.3f} vs {old:.3f})"
    label = PRETTY[worst]
    if drops[worst] > bad_drop + EPSILON:
        return Verdict("bad", f"{name} loses {points:.1f} points of {label} against the "
                       f"baseline {numbers}, more than the {bad_drop * 100:g}-point limit: bad.",
                       differences)  # fmt: skip
    if candidate_recall < recall_floor <= baseline_recall:
        return Verdict("bad", f"Recall collapsed: {name} finds only {candidate_recall:.0%} of "
                       f"the positives (recall {candidate_recall:.3f} vs the baseline's "
                       f"{baseline_recall:.3f}), below the floor of {recall_floor:.2f}: bad.",
                       differences)  # fmt: skip
    if drops[worst] <= 0:
        listed = " and ".join(PRETTY[m] for m in metrics)
        return Verdict("good", f"{name} matches or beats the baseline on {listed} ({label} "
                       f"{new:.3f} vs {old:.3f}): good.", differences)  # fmt: skip
    if drops[worst] <= good_within + EPSILON:
        return Verdict("good", f"{name} keeps {label} within {points:.1f} points of the "
                       f"baseline {numbers}: good.", differences)  # fmt: skip
    return Verdict("acceptable", f"{name} drops {points:.1f} points of {label} {numbers}: more "
                   f"than the {good_within * 100:g}-point margin for good, but within the "
                   f"{bad_drop * 100:g}-point limit: acceptable.", differences)  # fmt: skip


def compare_seeds(
    baseline: Sequence[Report],
    candidate: Sequence[Report],
    *,
    good_within: float = 0.02,
    bad_drop: float = 0.05,
    recall_floor: float = 0.5,
    metrics: Sequence[str] = ("accuracy", "f1"),
    name: str = "The candidate",
) -> Verdict:
    """:func:`compare` over several seeds: the rules applied to the means over seeds.

    ``baseline[i]`` and ``candidate[i]`` are runs with the same seed (paired). With two or
    more pairs the reason also gives the spread: the mean change of the deciding metric with
    its 95% confidence interval (t distribution over the paired differences), and says when
    that interval includes zero - the difference is then inside the seed-to-seed noise.
    ``differences`` hold the means; ``differences[m]["ci95"]`` the interval's half-width.
    """
    import statistics

    baseline, candidate = list(baseline), list(candidate)
    if not baseline or len(baseline) != len(candidate):
        raise MetricsError(
            f"compare_seeds needs one candidate report per baseline report (same seeds); got "
            f"{len(baseline)} and {len(candidate)}."
        )
    for b, c in zip(baseline, candidate, strict=True):
        _check_compare_args(b, c, good_within, bad_drop, metrics)
    if len(baseline) == 1:
        return compare(baseline[0], candidate[0], good_within=good_within, bad_drop=bad_drop,
                       recall_floor=recall_floor, metrics=metrics, name=name)  # fmt: skip
    from scipy import stats

    differences: dict[str, dict[str, float | None]] = {}
    for metric in COMPARED:
        pairs = [(getattr(b, metric), getattr(c, metric)) for b, c in zip(baseline, candidate,
                                                                           strict=True)]  # fmt: skip
        if any(old is None or new is None for old, new in pairs):
            continue
        diff = _difference(statistics.fmean(float(o) for o, _ in pairs),
                           statistics.fmean(float(n) for _, n in pairs))  # fmt: skip
        changes = [float(n) - float(o) for o, n in pairs]
        spread = statistics.stdev(changes) / len(changes) ** 0.5
        diff["ci95"] = float(stats.t.ppf(0.975, len(changes) - 1) * spread)
        differences[metric] = diff
    missing = [m for m in metrics if m not in differences]
    if missing:
        raise MetricsError(f"Cannot compare {missing}: a report has no value for it.")
    mean_recall = [statistics.fmean(float(r.recall) for r in reports)
                   for reports in (candidate, baseline)]  # fmt: skip
    verdict = _verdict_from(
        differences, metrics, mean_recall[0], mean_recall[1], good_within=good_within,
        bad_drop=bad_drop, recall_floor=recall_floor, name=name,
    )  # fmt: skip
    worst = max(metrics, key=lambda m: -differences[m]["absolute"])
    change, half = differences[worst]["absolute"], differences[worst]["ci95"]
    spread = (f" Over {len(baseline)} seeds the mean change of {PRETTY[worst]} is "
              f"{100 * change:+.1f} points (95% interval {100 * (change - half):+.1f} to "
              f"{100 * (change + half):+.1f})")  # fmt: skip
    if abs(change) <= half:
        spread += (
            ": the interval includes zero, so the difference is inside the seed-to-seed noise."
        )
    else:
        spread += ": larger than the seed-to-seed noise."
    verdict.reason += spread
    return verdict


def _share(report: Report) -> tuple[float, str]:
    """Share and name of the rarest class in y_true."""
    label = min(report.support, key=report.support.get)
    return report.support[label] / report.n, report.label_names[report.labels.index(label)]


def _what_it_means(report: Report, priority: str, value: float, target: str) -> str:
    share = round((1 - value) * 100)
    if priority == "recall":
        if report.is_binary:
            return f"the model misses {share}% of {target}"
        return f"the model misses {share}% of the examples of a class, on average"
    if priority == "precision":
        if report.is_binary:
            return f"{share}% of the examples it flags as {target} are false alarms"
        return f"{share}% of the examples it assigns to a class are wrong, on average"
    if priority == "f1":
        return f"the model balances precision {report.precision:.3f} and recall {report.recall:.3f}"
    return f"the model labels {value:.0%} of all examples correctly"


def judge(
    report: Report,
    priority: str = "f1",
    *,
    minimum: float = 0.85,
    margin: float = 0.1,
    positive_name: str | None = None,
) -> Verdict:
    """Judge one report on the metric the task cares most about.

    Rule: priority metric >= ``minimum`` -> good; within ``margin`` below it -> acceptable;
    lower -> bad. When accuracy looks fine but the priority metric is not, the reason says
    the accuracy is misleading. Judging accuracy on imbalanced data (the rarest class -
    for fraud, the positive one - under 20% of examples) adds an accuracy-paradox warning.
    """
    if not isinstance(report, Report):
        raise MetricsError(f"report must be a Report, got {type(report).__name__}.")
    if priority not in PRIORITIES:
        raise MetricsError(f"Unknown priority {priority!r}; choose one of {list(PRIORITIES)}.")
    if not (0 <= minimum <= 1 and 0 <= margin <= 1):
        raise MetricsError(f"minimum and margin are fractions in [0, 1]; got {minimum}, {margin}.")
    value = float(getattr(report, priority))
    default_target = report.positive_name if report.is_binary else "the classes (on average)"
    target = positive_name or (
        f"the {default_target} class" if report.is_binary else default_target
    )
    verdict = "good" if value >= minimum else "acceptable" if value >= minimum - margin else "bad"
    label = PRETTY[priority]
    where = {"good": f"meets the {minimum:.2f} target",
             "acceptable": f"is slightly under the {minimum:.2f} target",
             "bad": f"is far below the {minimum:.2f} target"}[verdict]  # fmt: skip
    meaning = _what_it_means(report, priority, value, target)
    reason = f"{label} is {value:.3f}, which {where}: {meaning}."
    if priority != "accuracy" and verdict != "good" and report.accuracy >= minimum:
        reason += (
            f" Its {report.accuracy:.0%} accuracy is misleading: it comes from the common "
            "class, so the model is not production-ready."
        )
    share, rare = _share(report)
    if positive_name and report.is_binary and rare == report.positive_name:
        rare = positive_name
    if priority == "accuracy" and share < IMBALANCE_SHARE:
        reason += (
            f" Beware the accuracy paradox: {rare} is only {share:.0%} of the examples, so a "
            f"model that never predicts it would already score about {1 - share:.0%} accuracy; "
            "judge recall, precision or F1 instead."
        )
    reason += f" Verdict: {verdict}."
    gap = value - minimum
    diff = {"baseline": minimum, "candidate": value, "absolute": gap,
            "relative": gap / minimum if minimum else None}  # fmt: skip
    return Verdict(verdict, reason, {priority: diff}, reference="target")
