"""Saving and loading what a run trained: adapters as safetensors plus a run record.

A saved folder holds either a peft LoRA adapter (``adapter_model.safetensors`` and
``adapter_config.json``) or, for the other methods, the trained parameters
(``trainable.safetensors``), and always ``run_record.json`` (config, versions, seed, data hash,
metrics, base model). Saving writes to a temporary folder and renames it into place, so an
interrupted save never leaves a half-written adapter that loads.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from labkit.bundled import BUNDLED_MODEL_NAME, BUNDLED_SHA256
from labkit.errors import AdapterMismatchError, ModelIntegrityError

RECORD = "run_record.json"
TRAINABLE = "trainable.safetensors"


def _versions() -> dict[str, str]:
    import importlib

    names = ("torch", "transformers", "peft", "bitsandbytes", "labkit")
    return {n: getattr(importlib.import_module(n), "__version__", "?") for n in names}


def write_trainable(model: Any, folder: str | Path) -> None:
    """Write the trained weights: a peft adapter, or the parameters that require grad."""
    folder = Path(folder)
    if hasattr(model, "peft_config"):
        model.save_pretrained(str(folder), safe_serialization=True)
        return
    from safetensors.torch import save_file

    tensors = {
        n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad
    }
    save_file(tensors, str(folder / TRAINABLE))


def save_adapter(result: Any, path: str | Path) -> Path:
    """Save a RunResult's trained weights and run record to ``path`` (atomic replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        write_trainable(result.model, staging)
        record = {
            "format": "labkit-run/1",
            "base_model": result.config.get("model") or BUNDLED_MODEL_NAME,
            "base_sha256": BUNDLED_SHA256 if not result.config.get("model") else None,
            "num_labels": len(result.label_names),
            "versions": _versions(),
            **result.to_dict(),
        }
        record["steps"] = record["steps"][-50:]
        (staging / RECORD).write_text(json.dumps(record, indent=2, default=str))
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(staging, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return path


def read_record(path: str | Path) -> dict[str, Any]:
    """The run record of a saved folder (ModelIntegrityError when missing or unreadable)."""
    record_file = Path(path) / RECORD
    try:
        return json.loads(record_file.read_text())
    except FileNotFoundError:
        raise ModelIntegrityError(
            f"{record_file} is missing: {path} is not a folder written by RunResult.save()."
        ) from None
    except json.JSONDecodeError as error:
        raise ModelIntegrityError(
            f"{record_file} is corrupted ({error}); save the run again."
        ) from None


def load_adapter(path: str | Path, *, base_model: str | None = None) -> tuple[Any, Any]:
    """Rebuild the trained model from a saved folder; returns ``(model, tokenizer)``.

    The base model is the one in the run record unless ``base_model`` is given; a base that
    does not match the adapter (other model, other sha256, other shapes) raises
    AdapterMismatchError.
    """
    from labkit.bundled import verify_bundled_model
    from labkit.models import load_model

    path = Path(path)
    record = read_record(path)
    config = record["config"]
    wanted = base_model if base_model is not None else config.get("model")
    recorded = record["base_model"]
    if (wanted or BUNDLED_MODEL_NAME) != recorded:
        raise AdapterMismatchError(
            f"The adapter in {path} was trained on {recorded!r}, not {wanted or BUNDLED_MODEL_NAME!r}."
            f" Load it with base_model={config.get('model')!r}."
        )
    if record.get("base_sha256") and wanted is None:
        from labkit.bundled import sha256_file

        current = sha256_file(verify_bundled_model() / "model.safetensors")
        if current != record["base_sha256"]:
            raise AdapterMismatchError("The bundled base model differs from the one used to train.")
    model, tokenizer = load_model(
        wanted, num_labels=record["num_labels"], quantization=config.get("quantization"),
        label_names=record.get("label_names"), seed=config.get("seed", 0),
    )  # fmt: skip
    from safetensors import SafetensorError

    try:
        if (path / "adapter_config.json").exists():
            from peft import PeftModel, prepare_model_for_kbit_training

            if config.get("quantization"):  # the same preparation as in training
                model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
            model = PeftModel.from_pretrained(model, str(path))
        else:
            _load_trainable(model, path / TRAINABLE)
    except SafetensorError as error:
        raise ModelIntegrityError(
            f"The adapter weights in {path} are corrupted ({error}); save the run again."
        ) from error
    except (RuntimeError, ValueError, KeyError) as error:
        if isinstance(error, (AdapterMismatchError, ModelIntegrityError)):
            raise
        raise AdapterMismatchError(
            f"The adapter in {path} does not fit this base model: {str(error).splitlines()[0]}"
        ) from error
    model.eval()
    return model, tokenizer


def _load_trainable(model: Any, file: Path) -> None:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(file))
    except (SafetensorError, OSError) as error:
        raise ModelIntegrityError(
            f"{file} cannot be read ({error}): save the run again."
        ) from error
    params = dict(model.named_parameters())
    unknown = [n for n in tensors if n not in params]
    if unknown:
        raise AdapterMismatchError(f"{file} has weights this model lacks: {unknown[:5]}")
    for name, tensor in tensors.items():
        if params[name].shape != tensor.shape:
            raise AdapterMismatchError(
                f"{name}: saved shape {tuple(tensor.shape)} != model shape {tuple(params[name].shape)}"
            )
        params[name].data.copy_(tensor)


def predict(model: Any, tokenizer: Any, texts: list[str], *, batch_size: int = 64,
            max_length: int = 128) -> Any:  # fmt: skip
    """Class probabilities (numpy, one row per text) in evaluation mode."""
    import numpy as np
    import torch

    device = next(model.parameters()).device
    model.eval()
    rows = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            enc = tokenizer(
                list(texts[start : start + batch_size]), truncation=True, max_length=max_length,
                padding=True, return_tensors="pt",
            ).to(device)  # fmt: skip
            rows.append(torch.softmax(model(**enc).logits.float(), dim=-1).cpu().numpy())
    return np.concatenate(rows) if rows else np.zeros((0, model.config.num_labels))
