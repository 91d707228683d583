"""CUDA check of labkit: precision choice, fp16 vs bf16, 8-/4-bit QLoRA, GPU memory, reloading.

    python bench/gpu_check.py                       # on a CUDA machine, the bundled model
    python bench/gpu_check.py --fp16-model DIR      # a half-precision copy of it, widened first
    python bench/gpu_check.py --cpu-smoke           # two tiny runs, to test the script itself

Trains the sentences task with the full profile (lora, qlora4 and qlora8, full, head; bf16 as
labkit chooses, then fp16 forced as on a T4, and 4-bit with fp32 compute), saves and reloads two
adapters, and writes every run to $OUT/gpu_results.json (default /tmp/gpu_out). The results of
an NVIDIA H200 are in bench/results/gpu_h200_runs.json; the central-experiment lesson quotes them.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
SMOKE = "--cpu-smoke" in sys.argv
OUT = Path(os.environ.get("OUT") or "/tmp/gpu_out")
OUT.mkdir(parents=True, exist_ok=True)
sys.path.insert(0, os.getcwd())

import torch  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

MODEL = None  # the bundled model
if "--fp16-model" in sys.argv:  # a machine without the bundled package: widen an fp16 copy
    source = Path(sys.argv[sys.argv.index("--fp16-model") + 1])
    MODEL = Path("/tmp/minilm32")
    MODEL.mkdir(exist_ok=True)
    for f in source.iterdir():
        if f.name != "model.safetensors":
            shutil.copy(f, MODEL / f.name)
    weights = load_file(str(source / "model.safetensors"))
    save_file(
        {k: v.float().contiguous() for k, v in weights.items()},
        str(MODEL / "model.safetensors"),
        metadata={"format": "pt"},
    )

import labkit  # noqa: E402
from labkit import device as dev  # noqa: E402
from labkit.environment import probe_bitsandbytes  # noqa: E402

info = {
    "python": sys.version.split()[0],
    "torch": torch.__version__,
    "cuda": torch.version.cuda,
    "labkit": labkit.__version__,
}
for name in ("transformers", "peft", "accelerate", "bitsandbytes", "sklearn"):
    try:
        info[name] = __import__(name).__version__
    except Exception as error:  # noqa: BLE001
        info[name] = f"missing: {error}"
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    info.update(
        gpu=p.name,
        capability=f"{p.major}.{p.minor}",
        gpu_mem_gib=round(p.total_memory / 2**30, 1),
        bf16_native=torch.cuda.is_bf16_supported(including_emulation=False),
        bf16_with_emulation=torch.cuda.is_bf16_supported(including_emulation=True),
    )
info.update(
    best_device=dev.best_device(),
    supports_bf16=dev.supports_bf16(),
    precision=dev.precision_name(),
    flags=dev.precision_flags(),
)
for bits in (8, 4):
    check = probe_bitsandbytes(bits)
    info[f"probe_{bits}bit"] = f"{check.ok} {check.detail}"
print(json.dumps(info, indent=1), flush=True)

REAL_SUPPORTS_BF16 = dev.supports_bf16
limit = 64 if SMOKE else None
epochs = 1 if SMOKE else None
RUNS = [  # (method, seed, force fp16, extra)
    ("lora", 0, False, {}),
    ("lora", 1, False, {}),
    ("qlora4", 0, False, {}),
    ("qlora4", 1, False, {}),
    ("qlora8", 0, False, {}),
    ("full", 0, False, {}),
    ("head", 0, False, {}),
    ("lora", 0, True, {}),
    ("qlora4", 0, True, {}),
    ("full", 0, True, {}),
    ("qlora4", 0, False, {"compute_dtype": "fp32"}),
]
if SMOKE:
    RUNS = [("lora", 0, False, {}), ("qlora4", 0, False, {})]
results = []
saved = {}


def four_bit_dtypes(model):
    import bitsandbytes as bnb

    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            return {
                "weight": str(module.weight.dtype),
                "compute": str(module.compute_dtype),
                "quant_type": module.weight.quant_type,
            }
    return None


for method, seed, fp16, extra in RUNS:
    dev.supports_bf16 = (lambda: False) if fp16 else REAL_SUPPORTS_BF16
    tag = f"{method} seed{seed}{' forced-fp16' if fp16 else ''}{' ' + str(extra) if extra else ''}"
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    try:
        r = labkit.run(
            "sentences",
            method,
            model=str(MODEL) if MODEL else None,
            seed=seed,
            profile="full",
            limit=limit,
            epochs=epochs,
            progress=False,
            **extra,
        )
        led = r.ledger
        rec = {
            "run": tag,
            "precision": r.config["precision"],
            "acc": round(r.accuracy, 4),
            "f1": round(r.f1, 4),
            "train_s": round(led["train_seconds"], 1),
            "wall_s": round(time.perf_counter() - start, 1),
            "footprint_mb": round(led["footprint_mb"], 1),
            "train_peak_mb": round(led["train_peak_mb"], 1),
            "total_mb": round(led["total_memory_mb"], 1),
            "peak_kind": led["peak_memory_kind"],
            "trainable": led["trainable_params"],
            "history_loss": [round(h.get("eval_loss", float("nan")), 4) for h in r.history],
            "max_reserved_mb": round(torch.cuda.max_memory_reserved() / 1e6, 1)
            if torch.cuda.is_available()
            else None,
        }
        if method.startswith("qlora4"):
            rec["4bit"] = four_bit_dtypes(r.model)
        if seed == 0 and not fp16 and not extra and method in ("lora", "qlora4"):
            path = Path("/tmp/saved") / method
            labkit.adapters.save_adapter(r, path)
            model, tok = labkit.adapters.load_adapter(
                path, base_model=str(MODEL) if MODEL else None
            )
            texts = list(r.task.test.texts)
            again = labkit.adapters.predict(model, tok, texts, max_length=r.config["max_length"])
            rec["reload_max_prob_diff"] = float(abs(again - r.test_scores).max())
            rec["reload_same_predictions"] = bool(
                (again.argmax(1) == r.test_scores.argmax(1)).all()
            )
            del model
        del r
    except Exception as error:  # noqa: BLE001
        rec = {
            "run": tag,
            "error": f"{type(error).__name__}: {error}",
            "trace": traceback.format_exc()[-3000:],
        }
    results.append(rec)
    print(json.dumps(rec), flush=True)
    (OUT / "gpu_results.json").write_text(json.dumps({"info": info, "runs": results}, indent=1))

dev.supports_bf16 = REAL_SUPPORTS_BF16
print(
    "\n run                              prec  acc    f1     train_s  wall_s  peak_MB  total_MB  reserved_MB"
)
for rec in results:
    if "error" in rec:
        print(f" {rec['run']:<33} ERROR {rec['error'][:150]}")
        continue
    print(
        f" {rec['run']:<33} {rec['precision']:<5} {rec['acc']:.4f} {rec['f1']:.4f} {rec['train_s']:>7} "
        f"{rec['wall_s']:>7} {rec['train_peak_mb']:>8} {rec['total_mb']:>9} {rec['max_reserved_mb']}"
    )
if torch.cuda.is_available():
    print(
        subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv"],
            capture_output=True,
            text=True,
        ).stdout
    )
