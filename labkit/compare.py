"""The central experiment: the same data, model and seeds for each method, side by side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labkit.errors import ConfigError

# Short names used by the CLI and the notebooks -> run() arguments.
METHOD_SPECS: dict[str, dict[str, Any]] = {
    "full": {"method": "full"},
    "head": {"method": "head"},
    "last_n": {"method": "last_n"},
    "lora": {"method": "lora"},
    "qlora8": {"method": "lora", "quantization": "8bit"},
    "qlora4": {"method": "lora", "quantization": "4bit-nf4"},
}
COLUMNS = {
    "accuracy": lambda r: r.report.accuracy,
    "f1": lambda r: r.report.f1,
    "precision": lambda r: r.report.precision,
    "recall": lambda r: r.report.recall,
    "roc_auc": lambda r: r.report.roc_auc,
    "trainable_percent": lambda r: r.ledger["trainable_percent"],
    "footprint_mb": lambda r: r.ledger["footprint_mb"],
    "peak_memory_mb": lambda r: r.ledger["peak_memory_mb"],
    "train_seconds": lambda r: r.ledger["train_seconds"],
    "examples_per_s": lambda r: r.ledger["train_examples_per_s"],
}


def parse_methods(methods: str | list[str]) -> list[str]:
    """Split and validate method short names."""
    names = [m.strip() for m in methods.split(",")] if isinstance(methods, str) else list(methods)
    unknown = [m for m in names if m not in METHOD_SPECS]
    if unknown or not names:
        raise ConfigError(f"Unknown methods {unknown}: choose from {list(METHOD_SPECS)}.")
    return names


def compare_methods(
    task: Any,
    methods: str | list[str] = ("full", "head", "last_n", "lora", "qlora8", "qlora4"),
    seeds: list[int] | tuple[int, ...] = (0,),
    *,
    baseline: str = "full",
    progress: bool = False,
    **run_options: Any,
):
    """Train each method on each seed; return a DataFrame with one row per method.

    Columns: the test metrics, trainable %, footprint, measured peak memory, training time and
    throughput, and the verdict against ``baseline`` (``labkit.metrics.compare``). With several
    seeds each number is the mean and a ``<column>_std`` column holds the spread. The runs are
    in ``table.attrs["runs"]``.
    """
    import pandas as pd

    from labkit.metrics import compare
    from labkit.train import run

    names = parse_methods(list(methods) if not isinstance(methods, str) else methods)
    if isinstance(task, (str, Path)):
        from labkit.data import load_task

        task = load_task(task, seed=seeds[0], limit=run_options.pop("limit", None))
    runs: dict[str, list[Any]] = {name: [] for name in names}
    for seed in seeds:
        for name in names:
            runs[name].append(run(task, **METHOD_SPECS[name], seed=seed, progress=progress,
                                  **run_options))  # fmt: skip
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
        verdicts = [compare(runs[baseline][0].report, runs[n][0].report, name=n) for n in names]
        table["verdict"] = [v.verdict for v in verdicts]
        table["reason"] = [v.reason for v in verdicts]
    table.attrs["runs"] = runs
    table.attrs["seeds"] = list(seeds)
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
    method_comparison(flat, x="peak_memory_mb", y="accuracy", ax=axes[0])
    method_comparison(flat, x="train_seconds", y="accuracy", ax=axes[1])
    fig.tight_layout()
    fig.savefig(paths["png"], dpi=120)
    plt.close(fig)
    return paths
