"""Logic of the trade-off explorer: a grid of measured runs -> the panel shown for one setting.

Plain functions, no widgets: ``panel_html(grid, rank, quant)`` is what the explorer shows when
the controls say (rank, quantization); the widget layer (:mod:`labkit.widgets.ui`) only wires
controls to it. Unit tests call these functions directly.
"""

from __future__ import annotations

from html import escape
from typing import Any

from labkit.grid import QUANT_LABELS, QUANTS, RUN_NAME, find_run, provenance_text
from labkit.widgets import _svg

ROW_FIELDS = (
    ("accuracy", "test accuracy", "{:.3f}"),
    ("f1", "test F1", "{:.3f}"),
    ("trainable_params", "trainable parameters", "{:,}"),
    ("footprint_mb", "model footprint (MB)", "{:.1f}"),
    ("train_peak_mb", "training peak above the model (MB)", "{:.0f}"),
    ("total_memory_mb", "total memory (MB)", "{:.0f}"),
    ("train_seconds", "training time, wall clock (s)", "{:.1f}"),
    ("cpu_seconds", "CPU time of the whole run (s)", "{:.0f}"),
)


def settings(grid: dict[str, Any]) -> tuple[list[int], list[str]]:
    """The ranks and quantization levels of the grid, in control order."""
    ranks = sorted({r["rank"] for r in grid["runs"]})
    present = {r["quantization"] for r in grid["runs"]}
    return ranks, [q for q in QUANTS if q in present]


def _runs(grid: dict[str, Any]) -> list[dict[str, Any]]:
    seed = grid["settings"]["seeds"][0]
    return [r for r in grid["runs"] if r["seed"] == seed]


def device_note(grid: dict[str, Any]) -> str:
    """Which kind of machine measured the grid, and what that means for the figures."""
    m = grid["provenance"]["machine"]
    if m.get("gpu"):
        return f"Measured on a GPU ({m['gpu']}): memory is the CUDA peak."
    kind = grid["runs"][0].get("peak_memory_kind") or "memory in use"
    return (
        f"CPU figures ({m['cpu']}, {m['cpu_cores']} cores): total memory is the model's "
        f"footprint plus the training peak ({kind}, above what was in use before training). "
        "On a CPU, bitsandbytes dequantizes the 8-bit and 4-bit weights in software at every "
        "step, so memory and time on a GPU differ from these."
    )


def row_values(row: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, formatted value) of one run, in table order."""
    return [(label, fmt.format(row[key])) for key, label, fmt in ROW_FIELDS]


def _table(row: dict[str, Any], mine: dict[str, Any] | None) -> str:
    head = "<tr><th></th><th>stored grid</th>" + ("<th>your run</th>" if mine else "") + "</tr>"
    body = []
    for key, label, fmt in ROW_FIELDS:
        cells = f'<td class="lk-{key}">{fmt.format(row[key])}</td>'
        if mine:
            cells += f'<td class="lk-mine-{key}">{fmt.format(mine[key])}</td>'
        body.append(f'<tr><th style="text-align:left;font-weight:normal">{label}</th>{cells}</tr>')
    return ('<table class="lk-numbers" style="border-collapse:collapse;font-size:12px;margin:0">'
            + head + "".join(body) + "</table>")  # fmt: skip


def panel_html(
    grid: dict[str, Any],
    rank: int,
    quant: str,
    *,
    extra: list[dict[str, Any]] | None = None,
) -> str:
    """The explorer's panel for (rank, quantization): its numbers, and where the setting lies
    on accuracy-vs-memory and accuracy-vs-time charts of the whole grid (ringed in red).

    ``extra`` are runs trained in this session (drawn as diamonds; the one of this setting is
    shown in a second column).
    """
    row = find_run(grid, rank, quant)
    runs = _runs(grid)
    extra = extra or []
    mine = next((e for e in reversed(extra) if e["rank"] == rank and e["quantization"] == quant),
                None)  # fmt: skip
    everything = runs + extra
    _, quants = settings(grid)
    groups = {q: i for i, q in enumerate(QUANTS)}
    accuracy = [r["accuracy"] for r in everything]
    charts = []
    for key, label in (("total_memory_mb", "total memory (MB)"),
                       ("cpu_seconds", "CPU time of the run (s)")):  # fmt: skip
        charts.append(_svg.scatter(
            [(r[key], r["accuracy"], groups[r["quantization"]]) for r in runs],
            highlight=(row[key], row["accuracy"]),
            extra=[(e[key], e["accuracy"]) for e in extra],
            xlim=_svg.padded([r[key] for r in everything]), ylim=_svg.padded(accuracy),
            xlabel=label, ylabel="test accuracy", title=f"accuracy vs {label.split(' (')[0]}",
            width=265, height=190,
        ))  # fmt: skip
    heading = (f'<div class="lk-setting" style="font-weight:bold;margin:4px 0">rank r = {rank}, '
               f"base {escape(QUANT_LABELS[quant])} &mdash; <code>labkit.run(task, "
               f'"{RUN_NAME[quant]}", rank={rank})</code></div>')  # fmt: skip
    legend = _svg.legend([QUANT_LABELS[q] for q in QUANTS if q in quants],
                         "trained in this session" if extra else None)  # fmt: skip
    return (
        f'<div class="lk-tradeoff" data-rank="{rank}" data-quant="{quant}">{heading}'
        f"{_table(row, mine)}"
        f'<div style="display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start;margin-top:6px">'
        f"<div>{charts[0]}</div><div>{charts[1]}</div></div>{legend}</div>"
    )


def provenance_html(grid: dict[str, Any]) -> str:
    """The grid's provenance and the device note, as a small paragraph under the explorer."""
    text = escape(provenance_text(grid)).replace("`", "")
    spread = grid.get("spread")
    if spread:
        acc = spread["accuracy"]
        text += (f" Seed-to-seed spread (rank {spread['rank']}, {escape(spread['quantization'])}, "
                 f"seeds {', '.join(map(str, spread['seeds']))}): accuracy SD "
                 f"{acc['sd']:.3f}, range {acc['range']:.3f}.")  # fmt: skip
    return (f'<div class="lk-provenance" style="font-size:11px;color:#555;max-width:900px">'
            f"{escape(device_note(grid))} {text}</div>")  # fmt: skip


def run_as_row(result: Any, rank: int, quant: str, cpu_seconds: float) -> dict[str, Any]:
    """A ``RunResult`` as a grid row (for a run trained from the explorer)."""
    row = {"rank": rank, "quantization": quant, "run": RUN_NAME[quant], "seed": -1,
           "accuracy": float(result.report.accuracy), "f1": float(result.report.f1),
           "cpu_seconds": cpu_seconds}  # fmt: skip
    for key in ("trainable_params", "footprint_mb", "train_peak_mb", "total_memory_mb",
                "train_seconds"):  # fmt: skip
        row[key] = result.ledger[key]
    return row
