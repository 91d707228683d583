"""The GPU figures quoted in the central experiment come from the stored H200 measurement.

``bench/gpu_check.py`` ran on a lent NVIDIA H200 (no GPU here); its results are stored in
``bench/results/gpu_h200_runs.json``. Every figure the page quotes from it must be the stored one.
"""

from __future__ import annotations

import json

import nbformat

from tests.conftest import ROOT

RESULTS = ROOT / "bench" / "results" / "gpu_h200_runs.json"
PAGE = ROOT / "book" / "evaluation" / "central_experiment.ipynb"


def _runs() -> dict[str, dict]:
    return {run["run"]: run for run in json.loads(RESULTS.read_text())["runs"]}


def _gpu_paragraph() -> str:
    nb = nbformat.read(PAGE, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    start = text.index("**On a GPU.**")
    return " ".join(text[start : text.index("\n\n", start)].split())


def test_the_stored_measurement_ran_on_a_gpu_in_bf16() -> None:
    info = json.loads(RESULTS.read_text())["info"]
    assert info["gpu"] == "NVIDIA H200" and info["precision"] == "bf16"
    assert all("error" not in run for run in _runs().values())


def test_the_page_quotes_the_stored_gpu_figures() -> None:
    runs, text = _runs(), _gpu_paragraph()
    full, lora0, lora1 = runs["full seed0"], runs["lora seed0"], runs["lora seed1"]
    q0, q1 = runs["qlora4 seed0"], runs["qlora4 seed1"]
    quoted = [
        f"in {full['train_s']:.1f} s against {lora1['train_s']:.1f} s for LoRA",
        f"({lora0['train_s']:.0f} s in its first run",
        f"{min(q0['train_s'], q1['train_s']):.1f} to {max(q0['train_s'], q1['train_s']):.1f} s",
        f"{full['train_peak_mb']:.0f} MB against {lora1['train_peak_mb']:.0f} to "
        f"{lora0['train_peak_mb']:.0f} MB for LoRA",
        f"{q0['train_peak_mb']:.0f} to {q1['train_peak_mb']:.0f} MB for QLoRA-4bit",
        f"({q0['footprint_mb']:.0f} MB instead of {lora0['footprint_mb']:.0f} MB)",
        f"{full['acc']:.3f} for full fine-tuning, {lora0['acc']:.3f} and {lora1['acc']:.3f} for LoRA",
        f"{q0['acc']:.3f} and {q1['acc']:.3f} for QLoRA-4bit",
    ]
    missing = [q for q in quoted if q not in text]
    assert not missing, f"the page does not quote these stored figures: {missing}"
    # "did not bring QLoRA's total below LoRA's in every run"
    assert max(q0["total_mb"], q1["total_mb"]) > min(lora0["total_mb"], lora1["total_mb"])
    # "Fine-tuning in fp16 instead of bf16 gave the same accuracy within 0.3 points"
    for name in ("lora", "qlora4", "full"):
        gap = abs(runs[f"{name} seed0 forced-fp16"]["acc"] - runs[f"{name} seed0"]["acc"])
        assert gap <= 0.003, name
