"""Scale-out: the same training command under torchrun with 2 CPU processes (DDP over gloo)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _train(json_path, batch_size: int, launcher: list[str]) -> subprocess.CompletedProcess:
    command = [*launcher, "-m", "labkit", "train", "--data", "reviews", "--limit", "400",
               "--method", "lora", "--epochs", "2", "--batch-size", str(batch_size),
               "--json", str(json_path)]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)


def test_two_process_ddp_matches_a_single_process_run(tmp_path) -> None:
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                "--master_addr", "127.0.0.1", "--master_port", str(_free_port())]  # fmt: skip
    # Two processes with 8 examples each see the same global batch of 16 as one process.
    ddp = _train(tmp_path / "ddp.json", 8, torchrun)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    single = _train(tmp_path / "single.json", 16, [sys.executable])
    assert single.returncode == 0, single.stderr[-3000:]

    a = json.loads((tmp_path / "ddp.json").read_text())
    b = json.loads((tmp_path / "single.json").read_text())
    assert a["ledger"]["processes"] == 2 and b["ledger"]["processes"] == 1
    assert ddp.stdout.count("test accuracy") == 1  # only the main process reports
    assert a["metrics"]["n"] == b["metrics"]["n"]  # every test example evaluated exactly once
    assert a["history"][-1]["step"] == b["history"][-1]["step"]  # same number of updates
    # Different shuffling across processes, same recipe: the results agree within noise.
    assert abs(a["metrics"]["accuracy"] - b["metrics"]["accuracy"]) <= 0.08
    # Losses are per-example means in both; a DDP loss scaled by the number of processes (a
    # Trainer default for token-averaged losses) would show up here as a factor of 2.
    for ddp_row, single_row in zip(a["history"], b["history"], strict=True):
        assert abs(ddp_row["train_loss"] - single_row["train_loss"]) <= 0.05
        assert abs(ddp_row["eval_loss"] - single_row["eval_loss"]) <= 0.05
