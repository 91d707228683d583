"""The trade-off grid: LoRA rank x quantization level, each measured by a real training run.

One command produces the grid the trade-off lesson and its explorer show::

    python -m labkit grid --data sentences --ranks 1,2,4,8,16,32,64 \\
        --quant none,8bit,4bit-nf4,4bit-fp4 --limit 200 --epochs 1 --max-length 48 --seeds 0 \\
        --out book/qlora/tradeoff_grid.json

Every setting is one ``labkit.run`` (quantization ``none`` is plain LoRA, the others QLoRA on
an 8-bit, 4-bit NF4 or 4-bit FP4 base) with the same task, sizes and seed. The file records how
it was made (command, versions, profile, the data's fingerprint, the machine, the date, the
machine's load) and the **seed-to-seed spread**: one setting trained again with other seeds
(``--spread-seeds``). A result regenerated elsewhere (another CPU, another thread count) is
not bit-identical; :func:`tolerance` derives how far a regenerated value may fall from the
stored one from that measured spread, and :func:`check_slice` applies it (CI regenerates a
slice of the grid and calls it).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from labkit.errors import ConfigError

FORMAT = "labkit-tradeoff-grid/1"
RANKS = (1, 2, 4, 8, 16, 32, 64)
QUANTS = ("none", "8bit", "4bit-nf4", "4bit-fp4")
QUANT_LABELS = {"none": "none (fp32 base)", "8bit": "8-bit (LLM.int8)",
                "4bit-nf4": "4-bit NF4", "4bit-fp4": "4-bit FP4"}  # fmt: skip
RUN_NAME = {"none": "lora", "8bit": "qlora8", "4bit-nf4": "qlora4", "4bit-fp4": "qlora4-fp4"}
METRICS = ("accuracy", "f1")
RECORDED = ("accuracy", "f1", "precision", "recall", "roc_auc")
LEDGER = ("trainable_params", "total_params", "trainable_percent", "footprint_mb",
          "train_peak_mb", "total_memory_mb", "adapter_mb", "train_seconds",
          "train_examples_per_s", "peak_memory_kind", "device")  # fmt: skip
PACKAGES = ("labkit", "torch", "transformers", "peft", "bitsandbytes", "accelerate", "numpy")
SPREAD_SIGMAS = 3.0  # a regenerated value may differ by this many seed-to-seed SDs


def _integers(text: str | Sequence[int], what: str) -> list[int]:
    items = text.split(",") if isinstance(text, str) else list(text)
    try:
        return [int(str(i).strip()) for i in items if str(i).strip()]
    except ValueError as error:
        raise ConfigError(f"{what} must be integers separated by commas, got {text!r}.") from error


def parse_ranks(text: str | Sequence[int]) -> list[int]:
    """``"1,2,4"`` -> [1, 2, 4] (positive integers)."""
    ranks = _integers(text, "ranks")
    if not ranks or any(r < 1 for r in ranks):
        raise ConfigError(f"ranks must be positive integers, e.g. 1,2,4,8; got {text!r}.")
    return ranks


def parse_seeds(text: str | Sequence[int]) -> list[int]:
    """``"0,1,2"`` -> [0, 1, 2] (integers >= 0; an empty text gives [])."""
    seeds = _integers(text, "seeds")
    if any(s < 0 for s in seeds):
        raise ConfigError(f"seeds must be >= 0, got {text!r}.")
    return seeds


def parse_quants(text: str | Sequence[str]) -> list[str]:
    """``"none,8bit"`` -> ["none", "8bit"] (from ``QUANTS``)."""
    items = text.split(",") if isinstance(text, str) else list(text)
    quants = [("none" if q in (None, "", "None") else str(q).strip()) for q in items]
    unknown = [q for q in quants if q not in QUANTS]
    if unknown or not quants:
        raise ConfigError(f"Unknown quantization levels {unknown}: choose from {list(QUANTS)}.")
    return quants


def parse_setting(text: str) -> tuple[int, str]:
    """``"8:none"`` -> (8, "none")."""
    rank, _, quant = text.partition(":")
    return parse_ranks(rank)[0], parse_quants(quant or "none")[0]


def machine() -> dict[str, Any]:
    """CPU model and cores, torch threads, GPU name (if any), OS and the load average."""
    import torch

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu or platform.machine(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "os": platform.platform(),
        "python": platform.python_version(),
    }
    if hasattr(os, "getloadavg"):
        info["load_average_1min"] = round(os.getloadavg()[0], 2)
    return info


def versions() -> dict[str, str | None]:
    """Installed versions of the packages that decide the numbers."""
    found: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def cpu_seconds() -> float:
    """CPU time this process has used so far (user + system, all threads)."""
    return time.process_time()


def _record(result: Any, rank: int, quant: str, seed: int, wall: float,
            cpu: float) -> dict[str, Any]:  # fmt: skip
    report = result.report
    row: dict[str, Any] = {"rank": rank, "quantization": quant, "run": RUN_NAME[quant],
                           "seed": seed}  # fmt: skip
    for name in RECORDED:
        value = getattr(report, name, None)
        row[name] = float(value) if value is not None else None
    for name in LEDGER:
        row[name] = result.ledger.get(name)
    row["wall_seconds"] = wall
    row["cpu_seconds"] = cpu
    return row


def _command(data: str, ranks: Sequence[int], quants: Sequence[str], limit: int | None,
             epochs: float, max_length: int, seeds: Sequence[int], spread_seeds: Sequence[int],
             spread_setting: tuple[int, str], out: str | None) -> str:  # fmt: skip
    parts = ["python -m labkit grid", f"--data {data}", f"--ranks {','.join(map(str, ranks))}",
             f"--quant {','.join(quants)}"]  # fmt: skip
    if limit is not None:
        parts.append(f"--limit {limit}")
    parts += [f"--epochs {epochs:g}", f"--max-length {max_length}",
              f"--seeds {','.join(map(str, seeds))}"]  # fmt: skip
    if spread_seeds:
        parts.append(f"--spread-seeds {','.join(map(str, spread_seeds))}")
        parts.append(f"--spread-setting {spread_setting[0]}:{spread_setting[1]}")
    if out:
        parts.append(f"--out {out}")
    return " ".join(parts)


def run_grid(
    data: str = "sentences",
    ranks: Sequence[int] = RANKS,
    quants: Sequence[str] = QUANTS,
    *,
    limit: int | None = 200,
    epochs: float = 1,
    max_length: int = 48,
    seeds: Sequence[int] = (0,),
    spread_seeds: Sequence[int] = (1, 2),
    spread_setting: tuple[int, str] = (8, "none"),
    settings: Iterable[tuple[int, str]] | None = None,
    profile: str | None = None,
    out: str | None = None,
    progress: Callable[[str], None] | None = print,
    checkpoint: str | Path | None = None,
) -> dict[str, Any]:
    """Train every (rank, quantization) setting and return the grid as a dict (see module doc).

    ``settings`` restricts the run to some (rank, quantization) pairs (a slice, as CI runs);
    ``spread_seeds`` trains ``spread_setting`` again with those seeds to measure the
    seed-to-seed spread (empty: no spread is measured). With ``checkpoint`` (a JSON file) every
    finished run is saved there at once, and runs already saved there for the same data and
    sizes are reused instead of trained again, so an interrupted grid continues where it
    stopped; the provenance then lists each session (date, machine load).
    """
    from labkit.data import load_task
    from labkit.models import require_quantization_backend
    from labkit.profiles import get_profile
    from labkit.train import run

    ranks, quants = parse_ranks(ranks), parse_quants(quants)
    chosen = list(settings) if settings is not None else [(r, q) for q in quants for r in ranks]
    for q in {q for _, q in chosen}:
        require_quantization_backend(None if q == "none" else q)
    sizes = get_profile(profile)
    task = load_task(data, seed=0, limit=limit)
    jobs = [(r, q, s) for r, q in chosen for s in seeds]
    if spread_seeds:
        jobs += [(*spread_setting, s) for s in spread_seeds if (*spread_setting, s) not in jobs]
    say = progress or (lambda _text: None)
    start_load = machine()
    started = time.perf_counter()
    key = {"data": data, "limit": limit, "epochs": epochs, "max_length": max_length,
           "profile": sizes.name, "fingerprint": task.fingerprint()}  # fmt: skip
    saved = _read_checkpoint(checkpoint, key)
    sessions = saved.get("sessions", []) + [{
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "load_average_1min": start_load.get("load_average_1min"),
        "reused_runs": len(saved.get("runs", [])),
    }]  # fmt: skip
    done = {(r["rank"], r["quantization"], r["seed"]): r for r in saved.get("runs", [])}
    runs = []
    for k, (rank, quant, seed) in enumerate(jobs, start=1):
        if (rank, quant, seed) in done:
            runs.append(done[(rank, quant, seed)])
            say(f"[{k}/{len(jobs)}] rank {rank}, {QUANT_LABELS[quant]}, seed {seed}: saved run")
            continue
        say(f"[{k}/{len(jobs)}] rank {rank}, {QUANT_LABELS[quant]}, seed {seed}")
        t0, c0 = time.perf_counter(), cpu_seconds()
        result = run(task, RUN_NAME[quant], rank=rank, epochs=epochs, max_length=max_length,
                     seed=seed, profile=sizes.name, progress=False)  # fmt: skip
        runs.append(_record(result, rank, quant, seed, time.perf_counter() - t0,
                            cpu_seconds() - c0))  # fmt: skip
        say(f"    accuracy {runs[-1]['accuracy']:.4f}  total memory "
            f"{runs[-1]['total_memory_mb']:.0f} MB  train {runs[-1]['train_seconds']:.1f} s  "
            f"run CPU {runs[-1]['cpu_seconds']:.1f} s")  # fmt: skip
        if checkpoint:
            _write_checkpoint(checkpoint, key, list(done.values()) + runs, sessions)
    grid = {
        "format": FORMAT,
        "command": _command(
            data, ranks, quants, limit, epochs, max_length, seeds, spread_seeds, spread_setting, out
        ),  # fmt: skip
        "settings": {
            "data": data,
            "ranks": ranks,
            "quantization": quants,
            "limit": limit,
            "epochs": epochs,
            "max_length": max_length,
            "seeds": list(seeds),
            "batch_size": sizes.batch_size,
            "learning_rate": sizes.learning_rate,
            "targets": "attention",
            "lora_alpha": "2 x rank",
            "profile": sizes.name,
        },  # fmt: skip
        "provenance": {
            "versions": versions(),
            "profile": sizes.name,
            "data": {
                "task": getattr(task, "name", data),
                "fingerprint": task.fingerprint(),
                "train": len(task.train),
                "validation": len(task.validation),
                "test": len(task.test),
                "citation": (getattr(task, "meta", None) or {}).get("citation"),
            },
            "machine": start_load,
            "load_average_1min_end": machine().get("load_average_1min"),
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "total_seconds": round(
                time.perf_counter()
                - started
                + sum(
                    r.get("wall_seconds", 0)
                    for r in runs
                    if (r["rank"], r["quantization"], r["seed"]) in done
                ),
                1,
            ),  # fmt: skip
            "sessions": sessions,
            "python_executable": Path(sys.executable).name,
        },
        "runs": runs,
    }
    grid["spread"] = spread(grid, spread_setting) if spread_seeds else None
    return grid


def _read_checkpoint(path: str | Path | None, key: dict[str, Any]) -> dict[str, Any]:
    """Runs saved by an interrupted grid with the same data and sizes (else nothing)."""
    if not path or not Path(path).exists():
        return {}
    try:
        saved = json.loads(Path(path).read_text())
    except ValueError:
        return {}
    return saved if saved.get("key") == key else {}


def _write_checkpoint(path: str | Path, key: dict[str, Any], runs: list[dict],
                      sessions: list[dict]) -> None:  # fmt: skip
    unique = {(r["rank"], r["quantization"], r["seed"]): r for r in runs}
    path = Path(path)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps({"key": key, "runs": list(unique.values()),
                                     "sessions": sessions}, indent=1))  # fmt: skip
    temporary.replace(path)


def spread(grid: dict[str, Any], setting: tuple[int, str]) -> dict[str, Any] | None:
    """Seed-to-seed spread of ``setting``'s runs: values, sample SD and range per metric."""
    rank, quant = setting
    rows = [r for r in grid["runs"] if r["rank"] == rank and r["quantization"] == quant]
    if len(rows) < 2:
        return None
    out: dict[str, Any] = {"rank": rank, "quantization": quant,
                           "seeds": [r["seed"] for r in rows]}  # fmt: skip
    for metric in METRICS:
        values = [r[metric] for r in rows]
        out[metric] = {"values": values, "sd": statistics.stdev(values),
                       "range": max(values) - min(values)}  # fmt: skip
    return out


def tolerance(grid: dict[str, Any], metric: str = "accuracy") -> float:
    """How far a regenerated ``metric`` may be from the stored one.

    ``SPREAD_SIGMAS`` (3) seed-to-seed standard deviations measured for the grid, and never less
    than one test example's worth (1 / test size): a CPU of another kind or thread count changes
    the floating-point sums, which moves a run about as much as another seed can.
    """
    info = (grid.get("spread") or {}).get(metric)
    if not info:
        raise ConfigError("This grid has no measured spread (run it with --spread-seeds).")
    one_example = 1.0 / grid["provenance"]["data"]["test"]
    return max(SPREAD_SIGMAS * info["sd"], one_example)


def find_run(grid: dict[str, Any], rank: int, quant: str, seed: int | None = None) -> dict:
    """The stored run of (rank, quantization) (the first seed of the grid unless given)."""
    seed = grid["settings"]["seeds"][0] if seed is None else seed
    for row in grid["runs"]:
        if row["rank"] == rank and row["quantization"] == quant and row["seed"] == seed:
            return row
    raise KeyError(f"no run for rank {rank}, {quant}, seed {seed} in the grid")


def check_slice(stored: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    """Compare a regenerated slice with the stored grid; return the disagreements (empty: ok).

    Accuracy and F1 must agree within :func:`tolerance`; trainable parameters exactly; the
    footprint within 1%. Times and training peaks depend on the machine and are not compared.
    """
    problems = []
    for key in ("data", "limit", "epochs", "max_length"):
        if stored["settings"][key] != fresh["settings"][key]:
            problems.append(f"setting {key}: stored {stored['settings'][key]!r}, "
                            f"regenerated {fresh['settings'][key]!r}")  # fmt: skip
    if stored["provenance"]["data"]["fingerprint"] != fresh["provenance"]["data"]["fingerprint"]:
        problems.append("the data's fingerprint differs: the task changed since the grid was made")
    for row in fresh["runs"]:
        old = find_run(stored, row["rank"], row["quantization"], row["seed"])
        where = f"rank {row['rank']}, {row['quantization']}, seed {row['seed']}"
        for metric in METRICS:
            allowed = tolerance(stored, metric)
            if abs(row[metric] - old[metric]) > allowed + 1e-12:
                problems.append(f"{where}: {metric} {row[metric]:.4f} vs stored "
                                f"{old[metric]:.4f} (allowed +-{allowed:.4f})")  # fmt: skip
        if row["trainable_params"] != old["trainable_params"]:
            problems.append(f"{where}: trainable parameters {row['trainable_params']} vs stored "
                            f"{old['trainable_params']}")  # fmt: skip
        if abs(row["footprint_mb"] - old["footprint_mb"]) > 0.01 * old["footprint_mb"]:
            problems.append(f"{where}: footprint {row['footprint_mb']:.1f} MB vs stored "
                            f"{old['footprint_mb']:.1f} MB")  # fmt: skip
    return problems


def save_grid(grid: dict[str, Any], path: str | Path) -> Path:
    """Write the grid as indented JSON (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(grid, indent=1) + "\n")
    temporary.replace(path)
    return path


def load_grid(path: str | Path) -> dict[str, Any]:
    """Read a grid file written by :func:`save_grid` (checks its format)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(
            f"No grid file at {path}. Make one with `python -m labkit grid --out {path}` (see "
            "labkit.grid), or, in Colab, download the course's stored grid first."
        )
    grid = json.loads(path.read_text())
    if grid.get("format") != FORMAT:
        raise ConfigError(f"{path} is not a labkit trade-off grid (format {grid.get('format')!r}).")
    return grid


def to_frame(grid: dict[str, Any], seed: int | None = None):
    """The grid's runs of one seed as a DataFrame indexed by (rank, quantization)."""
    import pandas as pd

    seed = grid["settings"]["seeds"][0] if seed is None else seed
    frame = pd.DataFrame([r for r in grid["runs"] if r["seed"] == seed])
    frame["quantization"] = pd.Categorical(frame["quantization"], categories=list(QUANTS))
    return frame.sort_values(["quantization", "rank"]).set_index(["rank", "quantization"])


def provenance_text(grid: dict[str, Any]) -> str:
    """One paragraph: how the grid was made (command, data, versions, machine, date)."""
    p = grid["provenance"]
    v = ", ".join(f"{k} {val}" for k, val in p["versions"].items() if val)
    m = p["machine"]
    device = f"GPU {m['gpu']}" if m.get("gpu") else f"CPU {m['cpu']} ({m['cpu_cores']} cores)"
    load = m.get("load_average_1min")
    load_text = (f"; 1-minute load average {load} at the start and "
                 f"{p.get('load_average_1min_end')} at the end") if load is not None else ""  # fmt: skip
    d = p["data"]
    sessions = p.get("sessions") or []
    if len(sessions) > 1:
        load_text += (f"; made in {len(sessions)} sessions (an interrupted grid continues from "
                      "its saved runs), the first on " + sessions[0]["date"][:10])  # fmt: skip
    return (
        f"Made by `{grid['command']}` on {p['date'][:10]} ({p['total_seconds'] / 60:.0f} min) on "
        f"{device}{load_text}, profile {p['profile']}. Data: {d['task']} ({d['train']} training, "
        f"{d['validation']} validation, {d['test']} test examples), fingerprint "
        f"{d['fingerprint'][:12]}. Versions: {v}."
    )


def grid_command(args: Any) -> int:
    """``python -m labkit grid``: run the grid and write it (see the module docstring)."""
    settings = None
    if args.only:
        settings = [parse_setting(item) for item in args.only.split(",")]
    seeds = parse_seeds(args.seeds) or [0]
    spread_seeds = parse_seeds(args.spread_seeds)
    grid = run_grid(
        args.data, parse_ranks(args.ranks), parse_quants(args.quant), limit=args.limit,
        epochs=args.epochs, max_length=args.max_length, seeds=seeds, spread_seeds=spread_seeds,
        spread_setting=parse_setting(args.spread_setting), settings=settings,
        profile=args.profile, out=args.out, checkpoint=f"{args.out}.partial",
    )  # fmt: skip
    path = save_grid(grid, args.out)
    Path(f"{args.out}.partial").unlink(missing_ok=True)
    print(
        f"grid: {len(grid['runs'])} runs in {grid['provenance']['total_seconds']:.0f} s -> {path}"
    )
    if grid["spread"]:
        for metric in METRICS:
            info = grid["spread"][metric]
            print(f"seed-to-seed {metric}: SD {info['sd']:.4f}, range {info['range']:.4f}")
    return 0


def add_grid_parser(sub: Any) -> None:
    """The ``grid`` subcommand's options (called by :func:`labkit.cli.build_parser`)."""
    grid = sub.add_parser("grid", help="the trade-off grid: LoRA rank x quantization, measured")
    grid.add_argument("--data", default="sentences", help="built-in task or file (as in train)")
    grid.add_argument("--ranks", default=",".join(map(str, RANKS)), help="e.g. 1,2,4,8")
    grid.add_argument("--quant", default=",".join(QUANTS), help=f"from {list(QUANTS)}")
    grid.add_argument("--limit", type=int, default=200, help="at most N training examples")
    grid.add_argument("--epochs", type=float, default=1)
    grid.add_argument("--max-length", type=int, default=48, help="tokens per example")
    grid.add_argument("--seeds", default="0", help="seeds of every setting, e.g. 0")
    grid.add_argument("--spread-seeds", default="1,2",
                      help="extra seeds of one setting, to measure the seed-to-seed spread "
                      "('' for none)")  # fmt: skip
    grid.add_argument("--spread-setting", default="8:none", help="RANK:QUANT for the spread")
    grid.add_argument("--only", default=None,
                      help="a slice: RANK:QUANT pairs separated by commas (e.g. 1:none,8:8bit)")  # fmt: skip
    grid.add_argument("--profile", choices=("quick", "full"), default=None)
    grid.add_argument("--out", default="tradeoff_grid.json",
                      help="the JSON file to write; finished runs are kept in OUT.partial until "
                      "the grid is complete, and a rerun of the same command continues from "
                      "them")  # fmt: skip
