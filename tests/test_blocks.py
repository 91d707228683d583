"""The lesson-facing building blocks: a notebook builds the library objects, labkit does plumbing.

Also the one name scheme (run names), the memory total, the seed-aware verdict, the progress of
``compare`` and the clean-up of temporary checkpoints.
"""

from __future__ import annotations

import glob
import subprocess
import sys
import tempfile

import pytest

import labkit
from labkit import catalog
from labkit.data import load_task
from labkit.errors import ConfigError, TrainingIneffectiveError
from labkit.metrics import compare_seeds, from_counts

SMALL = {"epochs": 1, "progress": False}


@pytest.fixture(scope="module")
def task():
    return load_task("reviews", limit=200, seed=0)


# --- names ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "quantization", "expected"),
    [
        ("qlora4", None, ("lora", "4bit-nf4")),
        ("lora", "4bit-nf4", ("lora", "4bit-nf4")),
        ("qlora8", None, ("lora", "8bit")),
        ("qlora4", "4bit-nf4", ("lora", "4bit-nf4")),
        ("head", "none", ("head", None)),
    ],
)
def test_run_names_and_method_plus_level_mean_the_same(name, quantization, expected) -> None:
    assert catalog.resolve_run_name(name, quantization) == expected
    assert catalog.run_name(*expected) in (name, "qlora4" if expected[1] == "4bit-nf4" else name)


@pytest.mark.parametrize(
    ("name", "quantization", "message"),
    [
        ("qlora4", "8bit", "already means"),
        ("qlora", None, "Unknown method"),
        ("head", "4bit-nf4", "only LoRA"),
    ],
)
def test_contradictory_or_unknown_names_are_explained(task, name, quantization, message) -> None:
    with pytest.raises(ConfigError, match=message):
        labkit.run(task, name, quantization=quantization, **SMALL)


def test_cli_and_compare_accept_the_same_names() -> None:
    from labkit.cli import build_parser
    from labkit.compare import parse_methods

    args = build_parser().parse_args(["train", "--method", "qlora4", "--lr", "1e-3",
                                      "--max-length", "32", "--targets", "query,value",
                                      "--alpha", "4", "--no-double-quant", "--no-header",
                                      "--positive", "spam"])  # fmt: skip
    assert (args.method, args.lr, args.max_length, args.alpha) == ("qlora4", 1e-3, 32, 4.0)
    assert args.double_quant is False and args.header is False and args.positive == "spam"
    assert parse_methods("full,lora,qlora8,qlora4") == ["full", "lora", "qlora8", "qlora4"]
    with pytest.raises(ConfigError, match="Unknown methods"):
        parse_methods("full,qlora")


def test_cli_modules_do_not_import_each_other_at_import_time() -> None:
    code = (
        "import sys, labkit.cli_train; assert 'labkit.cli' not in sys.modules, 'cycle';"
        "import labkit.cli; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


# --- verdict over seeds --------------------------------------------------------------------
def _report(tp, fn, fp, tn):
    return from_counts(tp=tp, fn=fn, fp=fp, tn=tn)


def test_seed_verdict_uses_every_seed_not_seed_zero() -> None:
    baseline = [_report(90, 10, 10, 90)] * 3
    # seed 0 looks fine, seeds 1 and 2 collapse: the mean drops far more than 5 points
    candidate = [_report(90, 10, 10, 90), _report(60, 40, 30, 70), _report(62, 38, 30, 70)]
    assert labkit.metrics.compare(baseline[0], candidate[0]).verdict == "good"
    verdict = compare_seeds(baseline, candidate)
    assert verdict.verdict == "bad" and "Over 3 seeds" in verdict.reason


def test_seed_verdict_says_when_a_difference_is_noise() -> None:
    baseline = [_report(90, 10, 10, 90), _report(85, 15, 12, 88), _report(91, 9, 8, 92)]
    noisy = [_report(86, 14, 12, 88), _report(90, 10, 9, 91), _report(87, 13, 11, 89)]
    steady = [_report(80, 20, 18, 82), _report(76, 24, 15, 85), _report(81, 19, 17, 83)]
    assert "inside the seed-to-seed noise" in compare_seeds(baseline, noisy).reason
    assert "larger than the seed-to-seed noise" in compare_seeds(baseline, steady).reason
    with pytest.raises(labkit.errors.MetricsError, match="same seeds"):
        compare_seeds(baseline, noisy[:2])


# --- the notebook path: the library objects on the page -------------------------------------
@pytest.mark.slow
def test_a_notebook_builds_bnb_lora_and_training_arguments_and_gets_a_run_result(
    task, tmp_path
) -> None:
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import BitsAndBytesConfig, TrainingArguments

    bnb = BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.float32,
    )  # fmt: skip
    model, tokenizer = labkit.load_model(quantization_config=bnb, num_labels=2)
    model = prepare_model_for_kbit_training(model)
    lora = LoraConfig(task_type="SEQ_CLS", r=4, lora_alpha=8, target_modules=["query", "value"],
                      modules_to_save=labkit.methods.head_modules(model))  # fmt: skip
    model = get_peft_model(model, lora)
    args = TrainingArguments(
        output_dir=str(tmp_path), num_train_epochs=1, per_device_train_batch_size=16,
        learning_rate=2e-3, eval_strategy="epoch", save_strategy="no", report_to="none",
        use_cpu=True, disable_tqdm=True,
    )  # fmt: skip
    result = labkit.fit(model, tokenizer, task, args, config={"method": "qlora4"})
    assert isinstance(result, labkit.RunResult)
    assert result.report.n == len(task.test) and len(result.history) == 1
    assert result.config["quantization"] == "4bit-nf4" and result.config["rank"] == 4
    assert result.test_labels == list(task.test.labels)
    assert result.positive_scores.shape == (len(task.test),)
    led = result.ledger
    assert led["total_memory_mb"] == pytest.approx(led["footprint_mb"] + led["train_peak_mb"])


@pytest.mark.slow
def test_methods_apply_takes_a_lora_config(task) -> None:
    from peft import LoraConfig

    model, _ = labkit.load_model(num_labels=2)
    peft_model = labkit.methods.apply(model, LoraConfig(r=2, target_modules=["query"]))
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert any("lora_A" in n for n in trainable) and any("classifier" in n for n in trainable)


@pytest.mark.slow
def test_qlora_total_memory_is_below_lora_and_the_run_keeps_its_task(task) -> None:
    lora = labkit.run(task, "lora", **SMALL)
    qlora = labkit.run(task, "qlora4", **SMALL)
    assert qlora.ledger["footprint_mb"] < 0.7 * lora.ledger["footprint_mb"]
    assert qlora.ledger["total_memory_mb"] < lora.ledger["total_memory_mb"]
    assert lora.task is task and lora.data_meta["source"]
    estimate = lora.ledger["estimate_mb"]
    assert estimate is not None and estimate["total"] > estimate["weights"] > 0


@pytest.mark.slow
def test_temporary_checkpoints_are_removed(task) -> None:
    before = set(glob.glob(f"{tempfile.gettempdir()}/labkit-run-*"))
    result = labkit.run(task, "head", **SMALL)
    after = set(glob.glob(f"{tempfile.gettempdir()}/labkit-run-*"))
    assert after <= before and result.output_dir == ""


@pytest.mark.slow
def test_an_adapter_that_never_changed_is_refused(task, tmp_path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import TrainingArguments

    model, tokenizer = labkit.load_model(num_labels=2)
    model = get_peft_model(model, LoraConfig(task_type="SEQ_CLS", r=2, target_modules=["query"]))
    args = TrainingArguments(output_dir=str(tmp_path), num_train_epochs=1, learning_rate=0.0,
                             eval_strategy="no", save_strategy="no", report_to="none",
                             use_cpu=True, disable_tqdm=True)  # fmt: skip
    with pytest.raises(TrainingIneffectiveError, match="lora_B matrix is still zero"):
        labkit.fit(model, tokenizer, task, args)


@pytest.mark.slow
def test_compare_shows_progress_and_memory_columns(task, capsys) -> None:
    table = labkit.compare_methods(task, ["head", "lora"], seeds=[0, 1], epochs=1, baseline="head")
    err = capsys.readouterr().err
    assert "run 4/4" in err
    for column in ("footprint_mb", "train_peak_mb", "total_memory_mb", "accuracy_std"):
        assert column in table
    assert "Over 2 seeds" in table.loc["lora", "reason"]


def test_a_profile_limit_caps_tasks_loaded_by_name(monkeypatch) -> None:
    """run() and the CLI apply the profile's limit when none is given; an explicit one wins."""
    import argparse

    import labkit.data
    from labkit import cli_train, profiles
    from labkit.train import run

    seen: list[int | None] = []

    class Stop(Exception):
        pass

    def fake_load_task(*args, limit=None, **kwargs):
        seen.append(limit)
        raise Stop

    capped = profiles.PROFILES["quick"].with_overrides(limit=123)
    monkeypatch.setitem(profiles.PROFILES, "quick", capped)
    monkeypatch.setattr(labkit.data, "load_task", fake_load_task)
    for limit in (None, 40):
        with pytest.raises(Stop):
            run("sentences", "head", profile="quick", limit=limit)
    args = argparse.Namespace(
        data="sentences", test_data=None, text_column=None, label_column=None, header=None,
        positive=None, limit=None, profile="quick",
    )  # fmt: skip
    with pytest.raises(Stop):
        cli_train._task(args, seed=0, deduplicate=None)
    from labkit.compare import compare_methods

    with pytest.raises(Stop):
        compare_methods("sentences", ["head"], profile="quick", progress=False)
    assert seen == [123, 40, 123, 123]


def test_run_passes_the_head_pooling_to_the_model_and_rejects_unknown_ones(monkeypatch) -> None:
    import labkit.models
    from labkit.data import Split, Task
    from labkit.errors import ConfigError
    from labkit.train import run

    class Stop(Exception):
        pass

    seen = []

    def fake_load_model(*args, pooling="cls", **kwargs):
        seen.append(pooling)
        raise Stop

    monkeypatch.setattr(labkit.models, "load_model", fake_load_model)
    split = Split(["good", "bad"], [1, 0])
    task = Task("toy", split, split, split, ["negative", "positive"])
    with pytest.raises(Stop):
        run(task, "head", pooling="mean", progress=False)
    assert seen == ["mean"]
    with pytest.raises(ConfigError, match="pooling='max'"):
        run(task, "head", pooling="max", progress=False)
    assert seen == ["mean"], "an unknown pooling must fail before a model is loaded"


def test_run_passes_a_4bit_compute_dtype_and_refuses_it_where_it_means_nothing(
    monkeypatch,
) -> None:
    import torch

    import labkit.models
    from labkit.data import Split, Task
    from labkit.errors import ConfigError
    from labkit.train import run

    class Stop(Exception):
        pass

    seen = []

    def fake_load_model(*args, compute_dtype=None, **kwargs):
        seen.append(compute_dtype)
        raise Stop

    monkeypatch.setattr(labkit.models, "load_model", fake_load_model)
    monkeypatch.setattr(labkit.models, "require_quantization_backend", lambda level: None)
    split = Split(["good", "bad"], [1, 0])
    task = Task("toy", split, split, split, ["negative", "positive"])
    for name, given, expected in (("qlora4", "fp16", torch.float16), ("qlora4", None, None)):
        with pytest.raises(Stop):
            run(task, name, compute_dtype=given, progress=False)
        assert seen[-1] is expected
    with pytest.raises(ConfigError, match="has none"):
        run(task, "lora", compute_dtype="fp16", progress=False)
    with pytest.raises(ConfigError, match="compute_dtype='int8'"):
        run(task, "qlora4", compute_dtype="int8", progress=False)
    assert len(seen) == 2


def test_4bit_layers_stay_trainable_across_an_evaluation() -> None:
    """On a CPU with AVX512-BF16, bitsandbytes repacks a 4-bit weight for inference when the
    layer runs in eval mode; training after the first epoch's evaluation then failed."""
    import bitsandbytes as bnb
    import torch

    from labkit.models import keep_4bit_layers_trainable
    from labkit.train import run

    layer = bnb.nn.Linear4bit(8, 8, quant_type="nf4")
    layer.support_avx512bf16_for_cpu = True  # as on such a CPU
    assert keep_4bit_layers_trainable(torch.nn.Sequential(layer)) == 1
    assert layer.support_avx512bf16_for_cpu is False
    task = load_task("sentences", limit=48, seed=0)
    result = run(task, "qlora4", epochs=2, seed=0, progress=False)  # evaluates after epoch 1
    assert len([row for row in result.history if "eval_accuracy" in row]) >= 2


@pytest.mark.parametrize("disable_tqdm", [True, False])
def test_make_trainer_prints_no_raw_log_dicts_when_no_progress_bar_is_wanted(
    task, tmp_path, disable_tqdm
) -> None:
    from transformers import PrinterCallback, TrainingArguments

    model, tokenizer = labkit.load_model(num_labels=2)
    args = TrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True,
                             disable_tqdm=disable_tqdm)  # fmt: skip
    trainer = labkit.make_trainer(model, tokenizer, task, args)
    kinds = {type(cb) for cb in trainer.callback_handler.callbacks}
    assert (PrinterCallback in kinds) is False  # with a bar: ProgressCallback; without: nothing
    assert any("Progress" in kind.__name__ for kind in kinds) is not disable_tqdm


def test_run_summary_counts_epochs_in_words() -> None:
    from labkit.train import _epochs

    assert [_epochs(n) for n in (1, 1.0, 2, 0.5)] == ["1 epoch", "1 epoch", "2 epochs",
                                                      "0.5 epochs"]  # fmt: skip
