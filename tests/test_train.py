"""Training runs: history, report, reproducibility, saving, reloading, merging, resuming."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import labkit
from labkit.adapters import load_adapter, predict
from labkit.data import load_task
from labkit.errors import AdapterMismatchError, ConfigError, TrainingDivergedError

pytestmark = pytest.mark.slow
SMALL = {"epochs": 2, "progress": False}


@pytest.fixture(scope="module")
def task():
    return load_task("reviews", limit=300, seed=0)


@pytest.fixture(scope="module")
def lora_run(task, tmp_path_factory):
    return labkit.run(task, "lora", output_dir=tmp_path_factory.mktemp("lora"), **SMALL)


def test_run_reports_history_ledger_and_test_metrics(lora_run, task) -> None:
    assert [row["epoch"] for row in lora_run.history] == [1.0, 2.0]
    assert all(
        {"train_loss", "eval_loss", "eval_accuracy", "eval_f1"} <= set(r) for r in lora_run.history
    )
    assert lora_run.steps and lora_run.steps[0]["loss"] > 0
    assert lora_run.report.n == len(task.test)
    assert 0.0 <= lora_run.report.accuracy <= 1.0 and lora_run.report.roc_auc is not None
    ledger = lora_run.ledger
    assert 0 < ledger["trainable_percent"] < 2
    assert ledger["adapter_mb"] < 2 and ledger["footprint_mb"] > 80
    assert ledger["train_examples_per_s"] > 0 and ledger["latency_ms_per_example"] > 0
    json.dumps(lora_run.to_dict())
    assert "trainable" in lora_run.summary() and "(seed 0, 2 epochs)" in lora_run.summary()


def test_same_seed_same_metrics(task, lora_run, tmp_path) -> None:
    again = labkit.run(task, "lora", output_dir=tmp_path, **SMALL)
    assert again.report.to_dict() == lora_run.report.to_dict()
    assert [r["eval_loss"] for r in again.history] == [r["eval_loss"] for r in lora_run.history]


def test_saved_lora_adapter_reloads_to_identical_predictions(lora_run, task, tmp_path) -> None:
    path = lora_run.save(tmp_path / "adapter")
    assert (path / "adapter_model.safetensors").exists()
    record = json.loads((path / "run_record.json").read_text())
    assert record["config"]["seed"] == 0 and record["data_fingerprint"] == task.fingerprint()
    assert (
        record["metrics"]["accuracy"] == lora_run.report.accuracy and "torch" in record["versions"]
    )
    model, tokenizer = load_adapter(path)
    texts = task.test.texts[:32]
    before = predict(lora_run.model, lora_run.tokenizer, texts, max_length=48)
    after = predict(model, tokenizer, texts, max_length=48)
    assert np.array_equal(before, after)


def test_merge_and_unload_gives_the_same_outputs(lora_run, task) -> None:
    model, tokenizer = load_adapter(lora_run.save(lora_run.output_dir + "/saved"))
    texts = task.test.texts[:16]
    before = predict(model, tokenizer, texts)
    merged = model.merge_and_unload()
    assert not any("lora_" in n for n, _ in merged.named_parameters())
    assert np.allclose(before, predict(merged, tokenizer, texts), atol=1e-5)


@pytest.mark.parametrize("method", ["head", "full"])
def test_other_methods_save_and_reload(task, tmp_path, method) -> None:
    result = labkit.run(task, method, epochs=1, progress=False, output_dir=tmp_path / "run")
    path = result.save(tmp_path / "saved")
    model, tokenizer = load_adapter(path)
    texts = task.test.texts[:16]
    assert np.array_equal(
        predict(result.model, result.tokenizer, texts), predict(model, tokenizer, texts)
    )


def test_qlora_4bit_trains_and_reloads(task, tmp_path) -> None:
    result = labkit.run(task, "lora", quantization="4bit-nf4", epochs=1, progress=False,
                        output_dir=tmp_path / "run")  # fmt: skip
    assert result.ledger["trainable_percent"] < 2
    model, tokenizer = load_adapter(result.save(tmp_path / "saved"))
    texts = task.test.texts[:32]
    before = predict(result.model, result.tokenizer, texts, max_length=48)
    after = predict(model, tokenizer, texts, max_length=48)
    # bitsandbytes' CPU kernel repacks 4-bit weights on first use; see NOTES in the README.
    assert np.abs(before - after).max() < 1e-2
    assert (before.argmax(1) == after.argmax(1)).mean() >= 0.97


def test_adapter_refuses_another_base_model(lora_run, tmp_path) -> None:
    path = lora_run.save(tmp_path / "adapter")
    with pytest.raises(AdapterMismatchError, match="was trained on"):
        load_adapter(path, base_model="distilbert-base-uncased")


def test_save_is_atomic_and_replaces(lora_run, tmp_path) -> None:
    path = tmp_path / "adapter"
    lora_run.save(path)
    lora_run.save(path)  # replacing an existing save works
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "adapter"]
    assert leftovers == []


def test_divergence_stops_with_advice(task, tmp_path) -> None:
    with pytest.raises(TrainingDivergedError, match="Lower the learning rate"):
        labkit.run(task, "full", learning_rate=50.0, epochs=1, progress=False, output_dir=tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs must be a positive"),
        ({"batch_size": -4}, "batch_size must be a positive"),
        ({"learning_rate": 0}, "learning_rate must be a positive"),
        ({"rank": 0}, "rank must be a positive integer"),
        ({"alpha": -1}, "alpha must be a positive"),
        ({"dropout": 1.5}, r"dropout must be in \[0, 1\)"),
        ({"method": "prefix"}, "Unknown method 'prefix'"),
        ({"quantization": "2bit"}, "Unknown quantization '2bit'"),
        ({"method": "full", "quantization": "4bit-nf4"}, "only LoRA can train on them"),
        ({"resume": True}, "resume=True needs the output_dir"),
    ],
)
def test_bad_options_fail_before_any_model_loads(task, monkeypatch, kwargs, message) -> None:
    import labkit.models as models

    def no_loading(*args, **kw):
        raise AssertionError("a model was loaded before the options were checked")

    monkeypatch.setattr(models, "load_model", no_loading)
    with pytest.raises(ConfigError, match=message):
        labkit.run(task, **{"method": "lora", **kwargs})


def test_resume_without_checkpoint_is_explained(task, tmp_path) -> None:
    with pytest.raises(ConfigError, match="no checkpoint"):
        labkit.run(task, "lora", output_dir=tmp_path, resume=True, **SMALL)


def _train_cli(out, json_path, *extra):
    return [sys.executable, "-m", "labkit", "train", "--data", "reviews", "--limit", "300",
            "--method", "lora", "--epochs", "3", "--output-dir", str(out), "--json",
            str(json_path), *extra]  # fmt: skip


def test_killed_run_resumes_to_the_same_final_metrics(tmp_path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    killed_dir = tmp_path / "killed"
    proc = subprocess.Popen(_train_cli(killed_dir, tmp_path / "never.json"), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 300
    while time.time() < deadline and not list(killed_dir.glob("checkpoint-*/trainer_state.json")):
        time.sleep(0.2)
    time.sleep(1.0)  # into the second epoch
    assert proc.poll() is None, "the run finished before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "never.json").exists()

    resumed = subprocess.run(_train_cli(killed_dir, tmp_path / "resumed.json", "--resume"),
                             env=env, capture_output=True, text=True)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    straight = subprocess.run(_train_cli(tmp_path / "straight", tmp_path / "straight.json"),
                              env=env, capture_output=True, text=True)  # fmt: skip
    assert straight.returncode == 0, straight.stderr[-2000:]
    a = json.loads((tmp_path / "resumed.json").read_text())
    b = json.loads((tmp_path / "straight.json").read_text())
    assert a["metrics"]["accuracy"] == b["metrics"]["accuracy"]
    assert a["metrics"]["f1"] == b["metrics"]["f1"]
    assert a["history"][-1]["eval_loss"] == pytest.approx(b["history"][-1]["eval_loss"], abs=1e-6)


def test_cli_train_prints_a_summary_and_writes_json(tmp_path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "labkit", "train", "--data", "reviews", "--limit", "200",
         "--method", "lora", "--quant", "4bit-nf4", "--epochs", "1", "--json",
         str(tmp_path / "r.json")],
        capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "lora + 4bit-nf4 on reviews" in out.stdout and "test accuracy" in out.stdout
    payload = json.loads((tmp_path / "r.json").read_text())
    assert payload["ledger"]["trainable_percent"] < 2
    assert payload["config"]["quantization"] == "4bit-nf4"
    assert payload["ledger"]["footprint_mb"] < 60


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--data", "no_such_task"], "no_such_task"),
        (["train", "--data", "reviews", "--rank", "0"], "rank must be a positive integer"),
        (["train", "--data", "/nonexistent/file.csv"], "/nonexistent/file.csv"),
        (["compare", "--data", "reviews", "--methods", "full,magic"], "Unknown methods"),
    ],
)
def test_cli_errors_are_one_paragraph_without_traceback(args, message) -> None:
    out = subprocess.run([sys.executable, "-m", "labkit", *args], capture_output=True, text=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
    debug = subprocess.run([sys.executable, "-m", "labkit", "--debug", *args], capture_output=True,
                           text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip
    assert "Traceback" in debug.stderr
