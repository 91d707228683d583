"""What happens when things go wrong: out of memory, corrupted files, missing records."""

from __future__ import annotations

import json

import pytest
import torch

import labkit
from labkit.adapters import load_adapter
from labkit.data import load_task
from labkit.errors import ModelIntegrityError, OutOfMemoryError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    task = load_task("reviews", limit=150, seed=0)
    result = labkit.run(task, "lora", epochs=1, progress=False,
                        output_dir=tmp_path_factory.mktemp("run"))  # fmt: skip
    return result.save(tmp_path_factory.mktemp("saved") / "adapter")


def test_cuda_out_of_memory_is_answered_with_options(monkeypatch, tmp_path) -> None:
    import transformers

    def out_of_memory(self, *args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(transformers.Trainer, "train", out_of_memory)
    task = load_task("reviews", limit=150, seed=0)
    with pytest.raises(OutOfMemoryError, match="smaller batch.*4-bit.*gradient_checkpointing"):
        labkit.run(task, "lora", epochs=1, progress=False, output_dir=tmp_path)


def test_corrupted_adapter_weights_give_a_clear_error(saved, tmp_path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for item in saved.iterdir():
        (broken / item.name).write_bytes(item.read_bytes())
    weights = broken / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])  # truncated, as by a crash mid-write
    with pytest.raises(ModelIntegrityError, match="corrupted"):
        load_adapter(broken)


def test_missing_or_corrupted_run_record(saved, tmp_path) -> None:
    with pytest.raises(ModelIntegrityError, match="not a folder written by RunResult.save"):
        load_adapter(tmp_path)
    (tmp_path / "run_record.json").write_text("{not json")
    with pytest.raises(ModelIntegrityError, match="corrupted"):
        load_adapter(tmp_path)


def test_run_record_has_what_reproduction_needs(saved) -> None:
    record = json.loads((saved / "run_record.json").read_text())
    assert {
        "config",
        "versions",
        "data_fingerprint",
        "metrics",
        "base_model",
        "base_sha256",
    } <= set(record)
    assert record["config"]["seed"] == 0 and len(record["data_fingerprint"]) == 64
