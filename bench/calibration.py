"""Calibration on the real built-in tasks: every method, several seeds and training sizes.

For each task (``sentences``, ``sms_spam``), training size, method and seed, one quick-profile
run of the bundled model; each run appends one row to ``bench/results/calibration_runs.csv``
(test accuracy, F1, ROC-AUC, total memory, training time), so an interrupted calibration
resumes where it stopped. At the end the mean and spread over seeds are printed and written to
``bench/results/calibration.md``.

    python bench/calibration.py                      # the main table: 500 examples, 3 seeds
    python bench/calibration.py --sizes 250,1000,all --methods head,lora,full
    python bench/calibration.py --report             # only aggregate what was measured
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
RUNS_CSV = RESULTS / "calibration_runs.csv"
FIELDS = ["task", "size", "method", "seed", "train_examples", "accuracy", "f1", "roc_auc",
          "total_memory_mb", "train_seconds", "wall_seconds"]  # fmt: skip
# "lora-all": LoRA on every linear layer of the encoder instead of the attention projections.
# "head-mean": the head on the mean of the token vectors (how all-MiniLM-L6-v2 was trained)
# instead of the [CLS] vector through BERT's pooler.
METHODS = {"full": {}, "head": {}, "head-mean": {"pooling": "mean"}, "last_n": {}, "lora": {},
           "lora-all": {"targets": "all-linear"}, "qlora8": {}, "qlora4": {}}  # fmt: skip
RUN_NAMES = {"lora-all": "lora", "head-mean": "head"}


def _done() -> set[tuple[str, str, str, str]]:
    if not RUNS_CSV.exists():
        return set()
    with RUNS_CSV.open() as handle:
        return {(r["task"], r["size"], r["method"], r["seed"]) for r in csv.DictReader(handle)}


def measure(task_name: str, size: str, method: str, seed: int) -> dict:
    """One quick-profile run; returns its row."""
    import labkit

    limit = None if size == "all" else int(size)
    task = labkit.load_task(task_name, seed=seed, limit=limit)
    name = RUN_NAMES.get(method, method)
    start = time.perf_counter()
    result = labkit.run(task, name, seed=seed, profile="quick", progress=False, **METHODS[method])
    return {
        "task": task_name, "size": size, "method": method, "seed": seed,
        "train_examples": len(task.train), "accuracy": result.report.accuracy,
        "f1": result.report.f1, "roc_auc": result.report.roc_auc,
        "total_memory_mb": result.ledger["total_memory_mb"],
        "train_seconds": result.ledger["train_seconds"],
        "wall_seconds": time.perf_counter() - start,
    }  # fmt: skip


def report() -> str:
    """Mean ± sample standard deviation over seeds, one table per task and size."""
    import pandas as pd

    frame = pd.read_csv(RUNS_CSV, dtype={"size": str})
    order = {m: i for i, m in enumerate(METHODS)}
    lines = []
    for (task, size), part in frame.groupby(["task", "size"], sort=False):
        lines += [f"\n### {task}, {size} training examples "
                  f"({part['train_examples'].iloc[0]} after the limit)\n",
                  "| method | seeds | accuracy | F1 | ROC-AUC | total memory (MB) | train time (s) |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        numbers = ["accuracy", "f1", "roc_auc", "total_memory_mb", "train_seconds"]
        stats = part.groupby("method")[numbers].agg(["mean", "std", "count"])
        for method in sorted(stats.index, key=order.get):
            row = stats.loc[method]

            def cell(column: str, digits: int = 3, row=row) -> str:
                mean, std = row[(column, "mean")], row[(column, "std")]
                spread = f" ± {std:.{digits}f}" if std == std else ""  # NaN for one seed
                return f"{mean:.{digits}f}{spread}"

            lines.append(
                f"| {method} | {int(row[('accuracy', 'count')])} | {cell('accuracy')} | "
                f"{cell('f1')} | {cell('roc_auc')} | {cell('total_memory_mb', 0)} | "
                f"{cell('train_seconds', 1)} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="sentences,sms_spam")
    parser.add_argument("--sizes", default="500", help="e.g. 250,500,1000,all")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--report", action="store_true", help="only aggregate stored runs")
    args = parser.parse_args()
    if not args.report:
        RESULTS.mkdir(exist_ok=True)
        done = _done()
        for task in args.tasks.split(","):
            for size in args.sizes.split(","):
                for seed in [int(s) for s in args.seeds.split(",")]:
                    for method in args.methods.split(","):
                        if (task, size, method, str(seed)) in done:
                            continue
                        row = measure(task, size, method, seed)
                        new = not RUNS_CSV.exists()
                        with RUNS_CSV.open("a", newline="") as handle:
                            writer = csv.DictWriter(handle, fieldnames=FIELDS)
                            if new:
                                writer.writeheader()
                            writer.writerow(row)
                        print(f"{task} {size} {method} seed {seed}: acc {row['accuracy']:.3f} "
                              f"in {row['wall_seconds']:.0f} s", flush=True)  # fmt: skip
    text = report()
    (RESULTS / "calibration.md").write_text(
        "# Calibration on the real built-in tasks (quick profile, bundled model, 2-core CPU)\n"
        "\nMean ± sample standard deviation over seeds; produced by `bench/calibration.py`. "
        "Train times are wall-clock seconds on a 2-core machine that other jobs may share: a "
        "large ± in that column marks a run that overlapped other work.\n" + text + "\n"
    )
    print(text)


if __name__ == "__main__":
    main()
