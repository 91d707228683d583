"""Ruff keeps labkit, the tools, the tests and the notebooks clean (lint and format)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

RUFF = Path(sys.executable).parent / "ruff"
TARGETS = ["labkit", "tests", "tools", "bench", "book", "exercises", "solutions"]


def test_ruff_check() -> None:
    proc = subprocess.run([RUFF, "check", *TARGETS], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_ruff_format() -> None:
    proc = subprocess.run(
        [RUFF, "format", "--check", *TARGETS], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
