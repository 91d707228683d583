"""The ``train`` and ``compare`` commands of ``python -m labkit``."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any


def is_main_process() -> bool:
    """False in the extra processes of a ``torchrun`` / ``accelerate launch`` job."""
    return int(os.environ.get("RANK", "0")) == 0


def write_json(path: str | None, payload: dict) -> None:
    """Write a JSON result file if a path was given (parents created); main process only."""
    if path and is_main_process():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(payload, indent=2, default=str))


def _task(args: argparse.Namespace, seed: int, deduplicate: bool | None):
    from labkit.data import load_task

    options: dict[str, Any] = {}
    if args.header is not None:
        options["header"] = args.header
    if args.positive is not None:
        options["positive"] = args.positive
    if deduplicate is not None:
        options["deduplicate"] = deduplicate
    for name in ("domain", "train_domains", "test_domain"):
        if getattr(args, name, None) is not None:
            options[name] = getattr(args, name)
    from labkit.profiles import get_profile

    limit = args.limit if args.limit is not None else get_profile(args.profile).limit
    return load_task(
        args.data, test_source=args.test_data, text_column=args.text_column,
        label_column=args.label_column, seed=seed, limit=limit, **options,
    )  # fmt: skip


def _targets(value: str) -> str | list[str]:
    return [t.strip() for t in value.split(",")] if "," in value else value


def _run_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "model": args.model, "rank": args.rank, "alpha": args.alpha,
        "targets": _targets(args.targets), "double_quant": args.double_quant,
        "epochs": args.epochs, "batch_size": args.batch_size, "learning_rate": args.lr,
        "max_length": args.max_length, "profile": args.profile,
    }  # fmt: skip


def train_command(args: argparse.Namespace) -> int:
    """Fine-tune once, print the summary, optionally write JSON."""
    from labkit.train import run

    task = _task(args, args.seed, args.deduplicate)
    result = run(
        task, args.method, quantization=None if args.quant == "none" else args.quant,
        seed=args.seed, output_dir=args.output_dir, resume=args.resume, **_run_options(args),
    )  # fmt: skip
    if not is_main_process():
        return 0
    print(result.summary())
    print()
    print(result.report)
    write_json(args.json_out, result.to_dict())
    return 0


def compare_command(args: argparse.Namespace) -> int:
    """Run the central comparison, print the table, save CSV, JSON and a plot.

    Duplicates are removed before splitting unless ``--no-deduplicate``: a comparison on
    leaked data is wrong by construction.
    """
    import pandas as pd

    from labkit.compare import compare_methods, parse_methods, save_comparison
    from labkit.errors import ConfigError

    methods = parse_methods(args.methods)
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        raise ConfigError(f"--seeds {args.seeds!r}: give integers, e.g. --seeds 0,1,2") from None
    task = _task(args, seeds[0], True if args.deduplicate is None else args.deduplicate)
    print(task.summary(), flush=True)
    table = compare_methods(
        task, methods, seeds, baseline="full" if "full" in methods else methods[0],
        progress=True, **_run_options(args),
    )  # fmt: skip
    shown = ["accuracy", "f1", "roc_auc", "trainable_percent", "footprint_mb", "train_peak_mb",
             "total_memory_mb", "train_seconds", "verdict"]  # fmt: skip
    shown = [c for c in shown if c in table] + [c for c in table if c.endswith("_std")
                                                and c[:-4] in ("accuracy", "f1", "total_memory_mb")]  # fmt: skip
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table[shown].round(4).to_string())
    if "reason" in table:
        print()
        for method, reason in table["reason"].items():
            print(f"{method:>10}: {reason}")
    paths = save_comparison(table, args.output_dir)
    print("\nsaved:", *(str(p) for p in paths.values()))
    write_json(args.json_out, {"rows": table.reset_index().to_dict(orient="records")})
    return 0
