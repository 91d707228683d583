"""The central experiment: the same data, model and seeds for each method, side by side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labkit.catalog import DEFAULT_COMPARISON, RUN_NAMES, parse_run_names

# Kept for callers of the old name: run name -> run() arguments.
METHOD_SPECS: dict[str, dict[str, Any]] = {
    name: {"method": method, "quantization": quant} for name, (method, quant) in RUN_NAMES.items()
}
COLUMNS = {
    "accuracy": lambda r: r.report.accuracy,
    "f1": lambda r: r.report.f1,
    "precision": lambda r: r.report.precision,
    "recall": lambda r: r.report.recall,
    "roc_auc": lambda r: r.report.roc_auc,
    "trainable_params": lambda r: r.ledger["trainable_params"],
    "trainable_percent": lambda r: r.ledger["trainable_percent"],
    "footprint_mb": lambda r: r.ledger["footprint_mb"],
    "train_peak_mb": lambda r: r.ledger["train_peak_mb"],
    "total_memory_mb": lambda r: r.ledger["total_memory_mb"],
    "adapter_mb": lambda r: r.ledger["adapter_mb"],
    "train_seconds": lambda r: r.ledger["train_seconds"],
    "examples_per_s": lambda r: r.ledger["train_examples_per_s"],
}


def parse_methods(methods: str | list[str]) -> list[str]:
    """Split and validate run names ("full,lora,qlora4")."""
    return parse_run_names(methods)


def compare_methods(
    task: Any,
    methods: str | list[str] | tuple[str, ...] = DEFAULT_COMPARISON,
    seeds: list[int] | tuple[int, ...] = (0,),
    *,
    baseline: str = "full",
    progress: bool = True,
    **run_options: Any,
):
    """Train each method on each seed; return a DataFrame with one row per method.

    ``methods`` are run names of :mod:`labkit.catalog` ("full", "head", "last_n", "lora",
    "qlora8", "qlora4"). Columns: the test metrics, trainable parameters, the model's
    footprint, the training peak and the total memory (footprint + peak), adapter size,
    training time and throughput. With several seeds each number is the mean over seeds and a
    ``<column>_std`` column holds the spread (sample standard deviation). The verdict against
    ``baseline`` uses every seed (:func:`labkit.metrics.compare_seeds`) and says when a
    difference is inside the seed-to-seed noise. A progress bar shows which run (k of n) is
    training. The runs are in ``table.attrs["runs"]``.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    from labkit.metrics import compare_seeds
    from labkit.train import run

    names = parse_methods(list(methods) if not isinstance(methods, str) else methods)
    seeds = list(seeds)
    if isinstance(task, (str, Path)):
        from labkit.data import load_task
        from labkit.profiles import get_profile

        limit = run_options.pop("limit", None)
        if limit is None:  # the profile's training limit, as run() applies it
            limit = get_profile(run_options.get("profile")).limit
        task = load_task(task, seed=seeds[0], limit=limit)
    runs: dict[str, list[Any]] = {name: [] for name in names}
    jobs = [(seed, name) for seed in seeds for name in names]
    bar = tqdm(jobs, desc="compare", unit="run", disable=not progress)
    for k, (seed, name) in enumerate(bar, start=1):
        bar.set_description(f"run {k}/{len(jobs)}: {name}, seed {seed}")
        runs[name].append(run(task, name, seed=seed, progress=False, **run_options))
    rows = []
    for name in names:
        row: dict[str, Any] = {"method": name}
        frame = pd.DataFrame([{k: f(r) for k, f in COLUMNS.items()} for r in runs[name]])
        for column in COLUMNS:
            row[column] = frame[column].mean()
            if len(seeds) > 1:
                row[f"{column}_std"] = frame[column].std(ddof=1)
        rows.append(row)
    table = pd.DataFrame(rows).set_index("method")
    if baseline in runs:
        base = [r.report for r in runs[baseline]]
        verdicts = [compare_seeds(base, [r.report for r in runs[n]], name=n) for n in names]
        table["verdict"] = [v.verdict for v in verdicts]
        table["reason"] = [v.reason for v in verdicts]
    table.attrs["runs"] = runs
    table.attrs["seeds"] = seeds
    table.attrs["task"] = getattr(task, "name", str(task))
    return table


def save_comparison(table: Any, folder: str | Path) -> dict[str, Path]:
    """Write the table as CSV and JSON and the accuracy-vs-cost plot as PNG."""
    import matplotlib.pyplot as plt

    from labkit.plots import method_comparison

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"csv": folder / "comparison.csv", "json": folder / "comparison.json",
             "png": folder / "comparison.png"}  # fmt: skip
    table.to_csv(paths["csv"])
    records = table.reset_index().to_dict(orient="records")
    paths["json"].write_text(json.dumps({"seeds": table.attrs.get("seeds"), "rows": records},
                                        indent=2, default=float))  # fmt: skip
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    flat = table.reset_index()
    method_comparison(flat, x="total_memory_mb", y="accuracy", ax=axes[0])
    method_comparison(flat, x="train_seconds", y="accuracy", ax=axes[1])
    fig.tight_layout()
    fig.savefig(paths["png"], dpi=120)
    plt.close(fig)
    return paths
