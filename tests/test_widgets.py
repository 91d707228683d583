"""labkit.widgets: the explorers' logic (plain functions), their widget layer in both modes,
the same code under Colab's ipywidgets 7.7.1, the cost-based threshold, and the stored
trade-off grid (its provenance, its spread, and a regenerated slice that must agree with it)."""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml

from labkit import grid as grid_module
from labkit.errors import ConfigError, MetricsError
from labkit.estimate import GIB, PRESETS, estimate_memory
from labkit.metrics import cost_curve, threshold_for_cost, threshold_sweep
from labkit.widgets import _svg, memory, threshold, tradeoff
from tests.conftest import ROOT

STORED_GRID = ROOT / "book" / "qlora" / "tradeoff_grid.json"
LESSON = ROOT / "book" / "qlora" / "tradeoffs.ipynb"
COLAB_IPYWIDGETS = "7.7.1"
CACHE = ROOT / ".cache" / f"ipywidgets-{COLAB_IPYWIDGETS}"


# --- a small synthetic grid, shaped like the stored one --------------------------------------
def synthetic_grid(ranks=(1, 2, 4), quants=("none", "8bit", "4bit-nf4")) -> dict:
    runs = []
    for q, r in itertools.product(quants, ranks):
        base = {"none": 91.0, "8bit": 59.0, "4bit-nf4": 53.0, "4bit-fp4": 53.0}[q]
        runs.append({
            "rank": r, "quantization": q, "run": grid_module.RUN_NAME[q], "seed": 0,
            "accuracy": 0.70 + 0.01 * r + (0.001 if q == "8bit" else 0),
            "f1": 0.69 + 0.01 * r, "precision": 0.7, "recall": 0.7, "roc_auc": 0.8,
            "trainable_params": 148_610 + 18_432 * r, "total_params": 22_863_000,
            "trainable_percent": 0.7, "footprint_mb": base, "train_peak_mb": 150.0 + r,
            "total_memory_mb": base + 150.0 + r, "adapter_mb": 0.6, "train_seconds": 10.0 + r,
            "train_examples_per_s": 20.0, "peak_memory_kind": "C heap in use", "device": "cpu",
            "wall_seconds": 20.0, "cpu_seconds": 30.0 + 2 * r,
        })  # fmt: skip
    runs += [dict(runs[0], seed=1, accuracy=0.705), dict(runs[0], seed=2, accuracy=0.716)]
    grid = {
        "format": grid_module.FORMAT,
        "command": "python -m labkit grid --ranks 1,2,4",
        "settings": {
            "data": "sentences",
            "ranks": list(ranks),
            "quantization": list(quants),
            "limit": 200,
            "epochs": 1,
            "max_length": 48,
            "seeds": [0],
        },  # fmt: skip
        "provenance": {
            "versions": {"labkit": "0.1.0", "torch": "2.13.0"},
            "profile": "quick",
            "data": {
                "task": "sentences",
                "fingerprint": "f" * 64,
                "train": 200,
                "validation": 43,
                "test": 450,
                "citation": None,
            },  # fmt: skip
            "machine": {
                "cpu": "Test CPU",
                "cpu_cores": 2,
                "gpu": None,
                "load_average_1min": 1.0,
            },  # fmt: skip
            "load_average_1min_end": 1.5,
            "date": "2026-11-25T00:00:00+00:00",
            "total_seconds": 600.0,
        },  # fmt: skip
        "runs": runs,
    }
    grid["spread"] = grid_module.spread(grid, (ranks[0], quants[0]))
    return grid


# --- svg helpers -------------------------------------------------------------------------------
def test_nice_ticks_are_round_and_cover_the_range() -> None:
    assert _svg.nice_ticks(0, 1) == [0, 0.25, 0.5, 0.75, 1.0]
    ticks = _svg.nice_ticks(53.2, 271.9)
    assert ticks[0] >= 53.2 and ticks[-1] <= 271.9 and len(ticks) >= 3
    assert _svg.nice_ticks(float("nan"), 1) == []


def test_charts_are_small_svg() -> None:
    svg = _svg.scatter([(1, 0.5, 0), (2, 0.7, 1)], highlight=(2, 0.7), xlim=(0, 3),
                       ylim=(0, 1), xlabel="memory (MB)", ylabel="accuracy")  # fmt: skip
    assert svg.startswith("<svg") and svg.count("<circle") == 3 and "memory (MB)" in svg
    assert len(svg) < 4000
    curve = _svg.curve(list(np.linspace(0, 1, 500)), list(np.linspace(0, 1, 500)),
                       point=(0.5, 0.5), xlabel="x", ylabel="y")  # fmt: skip
    assert curve.count("L") <= 100  # simplified to at most 80 points


# --- trade-off logic ---------------------------------------------------------------------------
def test_tradeoff_panel_shows_the_selected_run() -> None:
    grid = synthetic_grid()
    html = tradeoff.panel_html(grid, 4, "8bit")
    assert 'data-rank="4" data-quant="8bit"' in html
    assert '<td class="lk-accuracy">0.741</td>' in html  # 0.70 + 0.04 + 0.001
    assert '<td class="lk-trainable_params">222,338</td>' in html
    assert html.count("<svg") == 2 and 'stroke="#d62728"' in html  # the ringed point
    assert "qlora8" in html


def test_tradeoff_panel_adds_a_run_of_this_session() -> None:
    grid = synthetic_grid()
    mine = dict(grid_module.find_run(grid, 2, "none"), seed=-1, accuracy=0.9)
    html = tradeoff.panel_html(grid, 2, "none", extra=[mine])
    assert "your run" in html and '<td class="lk-mine-accuracy">0.900</td>' in html
    assert "trained in this session" in html


def test_tradeoff_settings_and_provenance() -> None:
    grid = synthetic_grid()
    assert tradeoff.settings(grid) == ([1, 2, 4], ["none", "8bit", "4bit-nf4"])
    text = tradeoff.provenance_html(grid)
    assert "CPU figures (Test CPU, 2 cores)" in text and "dequantizes" in text
    assert "python -m labkit grid" in text and "ffffffffffff" in text and "SD" in text


# --- memory logic ------------------------------------------------------------------------------
def test_memory_breakdown_is_the_estimate_in_gib() -> None:
    inputs = memory.Inputs(model="7B", method="qlora", rank=16, batch=1, seq_len=512)
    parts = memory.breakdown_gib(inputs)
    reference = estimate_memory("7B", "lora", "4bit-nf4", rank=16, seq_len=512, batch=1,
                                precision="fp16", targets="all-linear")  # fmt: skip
    assert parts["total"] == pytest.approx(reference.total / GIB)
    assert sum(parts[p] for p in memory.PARTS) == pytest.approx(parts["total"])
    assert memory.fits(inputs) == {label: reference.fits(size) for label, size in memory.GPUS}


def test_memory_panel_says_what_fits() -> None:
    full = memory.panel_html(memory.Inputs(model="7B", method="full", batch=1))
    assert full.count("does not fit") == 3
    small = memory.panel_html(memory.Inputs(model="bert-base", method="lora", batch=1))
    assert "does not fit" not in small and small.count(">fits<") == 3
    assert "GiB" in small and "BERT-base" in small


def _limit_labels(svg: str) -> tuple[float, list[tuple[str, float, float, float]]]:
    """The font size and the card labels of a stacked-bar chart: (text, x0, x1, baseline)."""
    font = float(re.search(r"font-size:(\d+(?:\.\d+)?)px", svg).group(1))
    labels = []
    for attrs, text in re.findall(r'<text ([^>]*fill="#c44e52"[^>]*)>([^<]*)</text>', svg):
        x = float(re.search(r'\bx="([\d.]+)"', attrs).group(1))
        y = float(re.search(r'\by="([\d.]+)"', attrs).group(1))
        width = _svg.text_width(text, font)
        x0, x1 = (x, x + width) if 'text-anchor="start"' in attrs else (x - width, x)
        labels.append((text, x0, x1, y))
    return font, labels


@pytest.mark.parametrize("model", memory.MODELS[:-1])
def test_memory_chart_labels_are_legible_and_apart(model: str) -> None:
    html = memory.panel_html(memory.Inputs(model=model, method="qlora", batch=1))
    svg = html[html.index("<svg") : html.index("</svg>")]
    font, labels = _limit_labels(svg)
    assert font >= 12  # readable at page width (10 px was too small)
    assert [text for text, *_ in labels] == [label for label, _ in memory.GPUS]
    width = float(re.search(r'width="(\d+)"', svg).group(1))
    for text, x0, x1, _ in labels:
        assert 0 <= x0 and x1 <= width, f"{text} runs out of the chart"
    for (a, a0, a1, ay), (b, b0, b1, by) in itertools.combinations(labels, 2):
        side_by_side = a1 + 2 <= b0 or b1 + 2 <= a0
        assert side_by_side or abs(ay - by) >= 1.2 * font, f"{a!r} and {b!r} overlap"


def test_label_rows_stack_only_what_would_overlap() -> None:
    rows = _svg.label_rows([("free Colab T4 (16 GB)", 100.0), ("24 GB card", 130.0),
                            ("80 GB card", 400.0)], 13, 0, 560)  # fmt: skip
    assert [row for *_, row in rows] == [0, 1, 0]
    near_edge = _svg.label_rows([("80 GB card", 550.0)], 13, 0, 560)
    assert near_edge[0][2] == "end"  # ends at its line instead of running off the chart


@pytest.mark.parametrize("billions", [0.125, 1, 3, 7, 13, 70])
def test_custom_architecture_is_close_to_the_requested_size(billions: float) -> None:
    arch = memory.custom_architecture(billions * 1e9)
    assert arch.total_params == pytest.approx(billions * 1e9, rel=0.08)
    assert arch.hidden == 128 * arch.layers and arch.gated_mlp and arch.head == "lm"


def test_custom_architecture_matches_llama_2_7b_shape() -> None:
    arch = memory.custom_architecture(PRESETS["7B"].published_params)
    assert (arch.layers, arch.hidden) == (32, 4096)
    with pytest.raises(ValueError):
        memory.custom_architecture(100)


# --- threshold logic and the cost-based threshold --------------------------------------------
Y = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
S = [0.9, 0.8, 0.6, 0.3, 0.7, 0.4, 0.2, 0.2, 0.1, 0.05]


def test_threshold_counts_and_metrics_by_hand() -> None:
    scores = threshold.scores_from(Y, S)
    c = threshold.counts(scores, 0.5)
    assert c == {"tp": 3, "fp": 1, "fn": 1, "tn": 5}
    m = threshold.metrics(c)
    assert m["precision"] == pytest.approx(0.75) and m["recall"] == pytest.approx(0.75)
    assert m["specificity"] == pytest.approx(5 / 6) and m["accuracy"] == pytest.approx(0.8)
    assert threshold.cost(c, fp_cost=1, fn_cost=5) == 6


def test_threshold_panel_and_a_run_result() -> None:
    class Result:  # the two RunResult attributes the explorer reads
        label_names = ["negative", "positive"]
        test_labels = Y
        positive_scores = np.asarray(S)

    scores = threshold.scores_from(Result())
    assert scores.positive_name == "positive" and scores.n == 10
    html = threshold.panel_html(scores, 0.5, fp_cost=1, fn_cost=5)
    assert 'class="lk-tp">TP 3<' in html and 'class="lk-cost">6<' in html
    best = threshold_for_cost(Y, S, fn_cost=5, fp_cost=1)
    assert f'class="lk-best">{best.threshold:.3f}<' in html


def _confusion_table(html: str) -> list[list[str]]:
    """The explorer's confusion matrix as rows of cell texts (header row first)."""
    table = html[html.index('<table class="lk-confusion"') :]
    table = table[: table.index("</table>")]
    return [re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row) for row in table.split("<tr>")[1:]]


def test_threshold_confusion_matrix_has_the_course_layout() -> None:
    # actual class in rows, predicted in columns, the negative class first: TN top left, as in
    # the metrics lesson, the glossary and labkit.plots.confusion_matrix
    html = threshold.panel_html(threshold.scores_from(Y, S), 0.5)
    assert _confusion_table(html) == [
        ["", "predicted negative", "predicted positive"],
        ["actual negative", "TN 5", "FP 1"],
        ["actual positive", "FN 1", "TP 3"],
    ]
    named = threshold.scores_from(Y, S, label_names=("ham", "spam"))
    html = threshold.panel_html(named, 0.5)
    assert _confusion_table(html)[0] == ["", "predicted ham", "predicted spam"]
    assert [row[0] for row in _confusion_table(html)[1:]] == ["actual ham", "actual spam"]
    assert "predict spam when its score is at least 0.50" in html

    class Result:
        label_names = ["ham", "spam"]
        test_labels = Y
        positive_scores = np.asarray(S)

    assert _confusion_table(threshold.panel_html(threshold.scores_from(Result()), 0.5)) == \
        _confusion_table(html)  # fmt: skip
    words = ["spam" if y else "ham" for y in Y]
    by_name = threshold.scores_from(words, S, positive="spam")
    assert (by_name.negative_name, by_name.positive_name) == ("ham", "spam")
    with pytest.raises(ValueError, match="two"):
        threshold.scores_from(Y, S, label_names=["only one"])


def test_threshold_for_cost_against_brute_force() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(4, 40))
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        s = np.round(rng.random(n), 2)
        fn_cost, fp_cost = float(rng.integers(1, 6)), float(rng.integers(1, 6))
        choice = threshold_for_cost(y, s, fn_cost=fn_cost, fp_cost=fp_cost)
        cuts = np.append(np.unique(s), 2.0)
        costs = [fp_cost * ((s >= t) & (y == 0)).sum() + fn_cost * ((s < t) & (y == 1)).sum()
                 for t in cuts]  # fmt: skip
        assert choice.cost == pytest.approx(min(costs))
        predicted = s >= choice.threshold
        assert choice.false_positives == int((predicted & (y == 0)).sum())
        assert choice.false_negatives == int((~predicted & (y == 1)).sum())


def test_threshold_for_cost_by_hand_and_errors() -> None:
    choice = threshold_for_cost(Y, S, fn_cost=5, fp_cost=1)
    assert choice.threshold == pytest.approx(0.3) and choice.cost == 2  # 2 FP x 1, no FN
    assert choice.cost_at_half == 6 and "Lowest cost 2" in str(choice)
    curve = cost_curve(Y, S, fn_cost=5, fp_cost=1)
    assert list(curve.columns) == ["threshold", "fp", "fn", "cost"]
    assert curve["cost"].min() == 2
    with pytest.raises(MetricsError, match="both 0"):
        threshold_for_cost(Y, S, fn_cost=0, fp_cost=0)
    with pytest.raises(MetricsError, match="cost"):
        threshold_for_cost(Y, S, fn_cost=-1, fp_cost=1)


def test_threshold_sweep_counts_are_optional() -> None:
    plain = threshold_sweep(Y, S, thresholds=[0.5])
    assert list(plain.columns) == ["threshold", "accuracy", "precision", "recall", "f1",
                                   "specificity"]  # fmt: skip
    counted = threshold_sweep(Y, S, thresholds=[0.5], counts=True)
    assert counted.loc[0, ["tp", "fp", "fn", "tn"]].tolist() == [3, 1, 1, 5]


# --- the widget layer (ipywidgets 8 here) ------------------------------------------------------
def _jsdlinks(explorer) -> list:
    return explorer.panels.links


@pytest.mark.parametrize("mode", ["stack", "observe"])
def test_tradeoff_explorer_follows_its_controls(mode: str) -> None:
    from labkit.widgets import tradeoff_explorer

    explorer = tradeoff_explorer(synthetic_grid(), mode=mode, rank=1, quant="none")
    assert 'data-rank="1" data-quant="none"' in explorer.shown()
    explorer.controls["rank"].value = 4
    explorer.controls["quantization"].value = "4bit-nf4"
    shown = explorer.shown()
    assert 'data-rank="4" data-quant="4bit-nf4"' in shown
    assert '<td class="lk-accuracy">0.740</td>' in shown
    if mode == "stack":  # 3 x 3 panels; links: quantization -> outer, rank -> each inner Stack
        assert len(explorer.panels.leaves) == 9 and len(_jsdlinks(explorer)) == 4
        layouts = {id(leaf.layout) for leaf in explorer.panels.leaves.values()}
        styles = {id(leaf.style) for leaf in explorer.panels.leaves.values()}
        assert len(layouts) == 1 and len(styles) == 1  # shared: a small saved state


def test_memory_calculator_static_and_live_controls() -> None:
    from labkit.widgets import memory_calculator

    calc = memory_calculator(mode="stack", model="7B", method="qlora", batch=1)
    assert len(calc.panels.leaves) == len(memory.MODELS) * len(memory.METHODS)
    calc.controls["model"].value = "70B"
    assert 'data-model="70B"' in calc.shown()
    calc.controls["batch"].value = 8  # live: every panel is re-rendered by the kernel
    assert 'data-batch="8"' in calc.shown()
    assert all('data-batch="8"' in leaf.value for leaf in calc.panels.leaves.values())
    calc.controls["model"].value = "custom"
    calc.controls["custom_billions"].value = 30
    assert "30B requested" in calc.shown()


def test_threshold_explorer_costs_are_live() -> None:
    from labkit.widgets import threshold_explorer

    explorer = threshold_explorer(Y, S, mode="stack", label_names=("ham", "spam"))
    assert 'data-threshold="0.50"' in explorer.shown() and len(explorer.panels.leaves) == 19
    assert ">actual ham<" in explorer.shown() and ">predicted spam<" in explorer.shown()
    explorer.controls["threshold"].value = 0.25
    assert 'data-threshold="0.25"' in explorer.shown()
    explorer.controls["fn_cost"].value = 5
    assert 'class="lk-best">0.300<' in explorer.shown()


def test_mode_choice() -> None:
    import ipywidgets

    from labkit.widgets import choose_mode

    assert choose_mode("auto", ipywidgets) == "stack"
    assert choose_mode("observe", ipywidgets) == "observe"
    with pytest.raises(ValueError):
        choose_mode("nonsense", ipywidgets)


# --- Colab's ipywidgets 7.7.1 ------------------------------------------------------------------
COLAB_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import ipywidgets
    assert ipywidgets.__version__ == "7.7.1", ipywidgets.__version__
    assert not hasattr(ipywidgets, "Stack")
    import labkit.widgets as lw
    from labkit.widgets import memory
    from tests.test_widgets import S, Y, synthetic_grid

    out = {"mode": lw.choose_mode()}
    t = lw.tradeoff_explorer(synthetic_grid(), rank=1, quant="none")
    before = t.panels.view.value
    t.controls["rank"].value = 4
    t.controls["quantization"].value = "4bit-nf4"
    out["tradeoff"] = [before != t.panels.view.value,
                       'data-rank="4" data-quant="4bit-nf4"' in t.panels.view.value,
                       '<td class="lk-accuracy">0.740</td>' in t.panels.view.value]
    m = lw.memory_calculator(model="7B", method="qlora", batch=1)
    m.controls["model"].value = "70B"
    m.controls["batch"].value = 8
    out["memory"] = ['data-model="70B"' in m.panels.view.value,
                     'data-batch="8"' in m.panels.view.value]
    th = lw.threshold_explorer(Y, S)
    th.controls["threshold"].value = 0.25
    th.controls["fn_cost"].value = 5
    out["threshold"] = ['data-threshold="0.25"' in th.panels.view.value,
                        'class="lk-best">0.300<' in th.panels.view.value]
    print(json.dumps(out))
    """
)


def _colab_widgets() -> Path:
    """ipywidgets 7.7.1 installed once into .cache/ (``pip --target``, no dependencies)."""
    marker = CACHE / "ipywidgets" / "__init__.py"
    if not marker.exists():
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(CACHE),
             "--no-deps", f"ipywidgets=={COLAB_IPYWIDGETS}", "ipython_genutils"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, (
            f"could not install ipywidgets {COLAB_IPYWIDGETS}: "
            + (proc.stdout + proc.stderr)[-2000:]
        )
    return CACHE


def test_explorers_under_colab_ipywidgets_7_7_1() -> None:
    target = _colab_widgets()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(target), str(ROOT)]))
    proc = subprocess.run([sys.executable, "-c", COLAB_SCRIPT], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["mode"] == "observe"
    assert all(result["tradeoff"]) and all(result["memory"]) and all(result["threshold"]), result


# --- the grid: command line, spread, tolerance -------------------------------------------------
def test_grid_command_line_and_parsers() -> None:
    from labkit.cli import build_parser

    args = build_parser().parse_args(["grid", "--ranks", "1,8", "--quant", "none,4bit-nf4",
                                      "--limit", "50", "--only", "1:none"])  # fmt: skip
    assert args.command == "grid" and args.limit == 50 and args.only == "1:none"
    assert grid_module.parse_ranks("1,2, 4") == [1, 2, 4]
    assert grid_module.parse_seeds("0,1") == [0, 1] and grid_module.parse_seeds("") == []
    assert grid_module.parse_setting("8:8bit") == (8, "8bit")
    for bad in (lambda: grid_module.parse_ranks("0"), lambda: grid_module.parse_quants("3bit")):
        with pytest.raises(ConfigError):
            bad()


def test_spread_and_tolerance() -> None:
    grid = synthetic_grid()
    info = grid["spread"]["accuracy"]
    assert info["values"] == pytest.approx([0.71, 0.705, 0.716])
    assert info["sd"] == pytest.approx(float(np.std([0.71, 0.705, 0.716], ddof=1)))
    assert grid_module.tolerance(grid) == pytest.approx(max(3 * info["sd"], 1 / 450))
    fresh = {"settings": dict(grid["settings"]), "provenance": grid["provenance"],
             "runs": [dict(grid_module.find_run(grid, 1, "none"))]}  # fmt: skip
    assert grid_module.check_slice(grid, fresh) == []
    fresh["runs"][0]["accuracy"] += 0.2
    assert any("accuracy" in p for p in grid_module.check_slice(grid, fresh))


# --- the stored grid and the lesson that shows it ----------------------------------------------
@pytest.fixture(scope="module")
def stored() -> dict:
    assert STORED_GRID.exists(), f"{STORED_GRID} is missing: run the command in its docstring"
    return grid_module.load_grid(STORED_GRID)


def test_stored_grid_is_complete_and_says_how_it_was_made(stored: dict) -> None:
    ranks, quants = tradeoff.settings(stored)
    assert ranks == [1, 2, 4, 8, 16, 32, 64]
    assert quants == ["none", "8bit", "4bit-nf4", "4bit-fp4"]
    assert stored["command"].startswith("python -m labkit grid --data sentences")
    provenance = stored["provenance"]
    for name in ("labkit", "torch", "transformers", "peft", "bitsandbytes"):
        assert provenance["versions"][name], name
    assert re.fullmatch(r"[0-9a-f]{64}", provenance["data"]["fingerprint"])
    assert provenance["machine"]["cpu"] and provenance["machine"]["cpu_cores"]
    assert provenance["date"] and provenance["profile"] in ("quick", "full")
    spread = stored["spread"]
    assert len(spread["seeds"]) >= 3 and spread["accuracy"]["sd"] >= 0
    for r, q in itertools.product(ranks, quants):
        row = grid_module.find_run(stored, r, q)
        assert 0.4 < row["accuracy"] <= 1 and row["total_memory_mb"] > row["footprint_mb"] > 0


def test_stored_grid_is_what_its_command_makes(stored: dict) -> None:
    """The command stored in the grid, parsed by the real command line, implies exactly the
    stored settings, runs (every rank x quantization, plus the spread seeds) and fields."""
    from labkit.cli import build_parser

    command = stored["command"]
    assert command.startswith("python -m labkit grid ")
    args = build_parser().parse_args(shlex.split(command.removeprefix("python -m labkit ")))
    assert args.command == "grid" and args.only is None  # the whole grid, not a slice
    assert args.out == STORED_GRID.relative_to(ROOT).as_posix()
    ranks = grid_module.parse_ranks(args.ranks)
    quants = grid_module.parse_quants(args.quant)
    seeds = grid_module.parse_seeds(args.seeds) or [0]
    spread_seeds = grid_module.parse_seeds(args.spread_seeds)
    spread_setting = grid_module.parse_setting(args.spread_setting)
    settings = stored["settings"]
    assert (settings["data"], settings["ranks"], settings["quantization"], settings["limit"],
            settings["epochs"], settings["max_length"], settings["seeds"]) == (
        args.data, ranks, quants, args.limit, args.epochs, args.max_length, seeds)  # fmt: skip
    assert settings["profile"] == stored["provenance"]["profile"]
    assert args.profile in (None, settings["profile"])
    rebuilt = grid_module._command(args.data, ranks, quants, args.limit, args.epochs,
                                   args.max_length, seeds, spread_seeds, spread_setting,
                                   args.out)  # fmt: skip
    assert rebuilt == command
    expected = {(r, q, s) for q in quants for r in ranks for s in seeds}
    expected |= {(*spread_setting, s) for s in spread_seeds}
    found = [(r["rank"], r["quantization"], r["seed"]) for r in stored["runs"]]
    assert len(found) == len(set(found)) and set(found) == expected
    fields = {"rank", "quantization", "run", "seed", "wall_seconds", "cpu_seconds",
              *grid_module.RECORDED, *grid_module.LEDGER}  # fmt: skip
    for row in stored["runs"]:
        assert set(row) == fields and row["run"] == grid_module.RUN_NAME[row["quantization"]]
        assert all(row[k] is not None for k in ("accuracy", "f1", "trainable_params"))
    assert stored["spread"] == grid_module.spread(stored, spread_setting)
    assert set(stored["provenance"]["versions"]) == set(grid_module.PACKAGES)


def test_the_lessons_claims_hold_on_the_stored_grid(stored: dict) -> None:
    """What book/qlora/tradeoffs.ipynb says about the grid (its cell after the tables asserts
    the same; this fails first when the grid is regenerated and the prose no longer holds)."""
    frame = grid_module.to_frame(stored).reset_index()
    frame["quantization"] = frame["quantization"].astype(str)
    pivot = frame.pivot(index="rank", columns="quantization", values="accuracy")
    by_quant = frame.groupby("quantization")
    footprint, peak = by_quant["footprint_mb"].mean(), by_quant["train_peak_mb"].mean()
    total, fastest = by_quant["total_memory_mb"].mean(), by_quant["train_seconds"].min()
    sd = stored["spread"]["accuracy"]["sd"]
    assert footprint["none"] > footprint["8bit"] > footprint["4bit-nf4"]
    rank_gain = pivot.loc[64] - pivot.loc[1]
    assert (rank_gain > 2 * sd).all()  # the rank matters more than a seed
    assert ((pivot.loc[4] - pivot.loc[1]) > rank_gain / 2).all()  # most of it by rank 4
    gaps = pivot.max(axis=1) - pivot.min(axis=1)
    assert gaps.loc[4:16].max() < rank_gain.min() / 2  # the base's bits, less (ranks 4-16)
    late = pivot.loc[64] - pivot.loc[16]  # NF4 still climbs, the others level off
    assert late["4bit-nf4"] > 2 * sd and (late.drop("4bit-nf4").abs() < 2 * sd).all()
    saving = total["none"] - total["4bit-nf4"]
    assert abs(saving - (footprint["none"] - footprint["4bit-nf4"])) < 10
    assert total["8bit"] > total["none"] and peak["8bit"] - peak["none"] > 30
    assert fastest.max() < 1.5 * fastest.min()
    assert abs(pivot.loc[16, "4bit-fp4"] - pivot.loc[16, "4bit-nf4"]) < 3 * sd


def test_stored_grid_matches_the_data_it_names(stored: dict) -> None:
    from labkit.data import load_task

    settings = stored["settings"]
    task = load_task(settings["data"], seed=0, limit=settings["limit"])
    assert task.fingerprint() == stored["provenance"]["data"]["fingerprint"]
    assert len(task.test) == stored["provenance"]["data"]["test"]


def test_lesson_fetches_the_grid_from_the_configured_repository() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    owner_repo = config["url"].removeprefix("https://github.com/")
    expected = (f"https://raw.githubusercontent.com/{owner_repo}/{config['branch']}/"
                f"{STORED_GRID.relative_to(ROOT).as_posix()}")  # fmt: skip
    assert expected in LESSON.read_text()


@pytest.mark.slow
def test_regenerated_slice_agrees_with_the_stored_grid(stored: dict) -> None:
    """Two settings trained again here must agree with the stored grid within the tolerance
    derived from its measured seed-to-seed spread (``labkit.grid.tolerance``)."""
    settings = stored["settings"]
    fresh = grid_module.run_grid(
        settings["data"], limit=settings["limit"], epochs=settings["epochs"],
        max_length=settings["max_length"], seeds=settings["seeds"], spread_seeds=(),
        settings=[(1, "none"), (8, "8bit")], profile=settings["profile"], progress=None,
    )  # fmt: skip
    problems = grid_module.check_slice(stored, fresh)
    assert not problems, "\n".join(problems)


def test_train_button_adds_the_measured_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """The button trains the selected setting (here a stand-in for labkit.run) and shows it."""
    import labkit.widgets as lw

    class Report:
        accuracy, f1 = 0.9, 0.88

    class Result:
        report = Report()
        ledger = {"trainable_params": 185_474, "footprint_mb": 53.0, "train_peak_mb": 160.0,
                  "total_memory_mb": 213.0, "train_seconds": 12.0}  # fmt: skip

    calls = []
    monkeypatch.setattr(lw, "_train_setting", lambda grid, r, q: calls.append((r, q)) or Result())
    explorer = lw.tradeoff_explorer(synthetic_grid(), mode="stack", rank=2, quant="8bit")
    explorer.controls["train"].click()
    assert calls == [(2, "8bit")] and len(explorer.extra) == 1
    assert '<td class="lk-mine-accuracy">0.900</td>' in explorer.shown()
    explorer.controls["rank"].value = 4  # other settings show the new point as a diamond only
    assert "your run" not in explorer.shown() and "trained in this session" in explorer.shown()


def test_an_interrupted_grid_continues_from_its_saved_runs(tmp_path, monkeypatch) -> None:
    """Each finished run is saved at once; a rerun reuses it instead of training again."""
    import labkit.train

    trained = []

    class Report:
        accuracy = f1 = precision = recall = roc_auc = 0.75

    class Result:
        report = Report()
        ledger = {"trainable_params": 1, "total_params": 2, "trainable_percent": 50.0,
                  "footprint_mb": 1.0, "train_peak_mb": 1.0, "total_memory_mb": 2.0,
                  "adapter_mb": 0.1, "train_seconds": 1.0, "train_examples_per_s": 1.0,
                  "peak_memory_kind": "C heap in use", "device": "cpu"}  # fmt: skip

    def fake_run(task, name, *, rank, seed, **options):
        if len(trained) == 2:  # the first session dies after two runs
            raise KeyboardInterrupt
        trained.append((name, rank, seed))
        return Result()

    monkeypatch.setattr(labkit.train, "run", fake_run)
    checkpoint = tmp_path / "grid.json.partial"
    options = dict(limit=20, seeds=[0], spread_seeds=[1], spread_setting=(1, "none"),
                   progress=None, checkpoint=checkpoint)  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        grid_module.run_grid("sentences", [1, 2], ["none"], **options)
    assert len(json.loads(checkpoint.read_text())["runs"]) == 2
    trained.clear()
    grid = grid_module.run_grid("sentences", [1, 2], ["none"], **options)
    assert trained == [("lora", 1, 1)]  # only the run the first session did not finish
    assert len(grid["runs"]) == 3 and len(grid["provenance"]["sessions"]) == 2
    assert grid["spread"]["seeds"] == [0, 1]
