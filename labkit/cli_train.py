"""The ``train`` and ``compare`` commands of ``python -m labkit``."""

from __future__ import annotations

import argparse

from labkit.cli import is_main_process, write_json


def _task(args: argparse.Namespace, seed: int):
    from labkit.data import load_task

    return load_task(
        args.data, test_source=args.test_data, text_column=args.text_column,
        label_column=args.label_column, seed=seed, limit=args.limit,
    )  # fmt: skip


def train_command(args: argparse.Namespace) -> int:
    """Fine-tune once, print the summary, optionally write JSON."""
    from labkit.train import run

    task = _task(args, args.seed)
    result = run(
        task, args.method, model=args.model,
        quantization=None if args.quant == "none" else args.quant, rank=args.rank,
        epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, profile=args.profile,
        output_dir=args.output_dir, resume=args.resume,
    )  # fmt: skip
    if not is_main_process():
        return 0
    print(result.summary())
    print()
    print(result.report)
    write_json(args.json_out, result.to_dict())
    return 0


def compare_command(args: argparse.Namespace) -> int:
    """Run the central comparison, print the table, save CSV, JSON and a plot."""
    import pandas as pd

    from labkit.compare import compare_methods, parse_methods, save_comparison
    from labkit.errors import ConfigError

    methods = parse_methods(args.methods)
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        raise ConfigError(f"--seeds {args.seeds!r}: give integers, e.g. --seeds 0,1,2") from None
    task = _task(args, seeds[0])
    table = compare_methods(
        task, methods, seeds, model=args.model, epochs=args.epochs, batch_size=args.batch_size,
        profile=args.profile,
        baseline="full" if "full" in methods else methods[0],
    )  # fmt: skip
    shown = [c for c in table.columns if c != "reason"]
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table[shown].round(4).to_string())
    if "reason" in table:
        print()
        for method, reason in table["reason"].items():
            print(f"{method:>7}: {reason}")
    paths = save_comparison(table, args.output_dir)
    print("\nsaved:", *(str(p) for p in paths.values()))
    write_json(args.json_out, {"rows": table.reset_index().to_dict(orient="records")})
    return 0
