"""Colab-readiness: labkit as a wheel, installed beside the versions Colab ships.

Builds labkit's wheel, creates a fresh virtual environment, installs the course's pinned CPU
torch, Colab's versions (``tests/colab/colab-versions.txt``, one file with its date),
bitsandbytes (what the lessons' first cell adds in Colab) and the wheel, then runs
``tests/colab/smoke.py`` there: imports labkit, trains QLoRA-4bit briefly on the built-in
real data and builds the explorers under ipywidgets 7.7.1. Needs the package registry.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
VERSIONS = ROOT / "tests" / "colab" / "colab-versions.txt"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"


def _pinned(name: str) -> str:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.startswith(f"{name}=="):
            return line.strip()
    raise AssertionError(f"{name} is not pinned in requirements.txt")


def test_the_version_file_is_dated_and_pins_colabs_widgets() -> None:
    text = VERSIONS.read_text()
    assert "taken 20" in text, "the Colab version list must say when it was taken"
    assert "ipywidgets==7.7.1" in text


def test_labkit_wheel_works_with_colabs_versions(tmp_path) -> None:
    def pip(python, *args: str) -> None:
        subprocess.run([python, "-m", "pip", "install", "--quiet", *args], check=True)

    source = tmp_path / "source"  # a copy: building in place would leave build/ in the tree
    shutil.copytree(ROOT / "labkit", source / "labkit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "dist"), str(source)], check=True)  # fmt: skip
    wheel = next((tmp_path / "dist").glob("labkit-*.whl"))
    venv.create(tmp_path / "env", with_pip=True)
    python = str(tmp_path / "env" / "bin" / "python")
    pip(python, _pinned("torch"), "--extra-index-url", TORCH_INDEX)
    pip(python, "-r", str(VERSIONS), _pinned("bitsandbytes"), str(wheel))
    done = subprocess.run([python, str(ROOT / "tests" / "colab" / "smoke.py"), str(VERSIONS)],
                          capture_output=True, text=True, cwd=tmp_path,
                          env={"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                               "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "COLAB-SMOKE OK" in done.stdout
    print(done.stdout.strip().splitlines()[-1])
