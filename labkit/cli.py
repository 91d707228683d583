"""Command line: ``python -m labkit doctor | train | compare``.

Errors a user can fix (:class:`labkit.errors.LabkitError`) are printed as one paragraph with a
non-zero exit code; ``--debug`` shows the full traceback instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path

from labkit.errors import LabkitError

METHODS = ("full", "head", "last_n", "lora")
QUANT_CHOICES = ("none", "8bit", "4bit-nf4", "4bit-fp4")


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="reviews", help="built-in task, Hub name or file path")
    parser.add_argument("--test-data", default=None, help="separate test file (e.g. a dev set)")
    parser.add_argument("--text-column", default=None)
    parser.add_argument("--label-column", default=None)
    parser.add_argument("--limit", type=int, default=None, help="subsample N examples")
    parser.add_argument("--epochs", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=None, help="per process (per GPU)")
    parser.add_argument("--profile", choices=("quick", "full"), default=None)
    parser.add_argument("--model", default=None, help="Hub model name (default: bundled MiniLM)")
    parser.add_argument("--json", dest="json_out", default=None, help="write the result as JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labkit", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    doc = sub.add_parser("doctor", help="check this machine for the course")
    doc.add_argument("--json", action="store_true", help="machine-readable output")

    train = sub.add_parser("train", help="fine-tune once and print a summary")
    _add_data_options(train)
    train.add_argument("--method", choices=METHODS, default="lora")
    train.add_argument("--quant", choices=QUANT_CHOICES, default="none")
    train.add_argument("--rank", type=int, default=8)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--output-dir", default=None, help="checkpoints and adapter go here")
    train.add_argument("--resume", action="store_true", help="continue from the last checkpoint")

    compare = sub.add_parser("compare", help="the central experiment: methods side by side")
    _add_data_options(compare)
    compare.add_argument("--methods", default="full,head,last_n,lora,qlora8,qlora4")
    compare.add_argument("--seeds", default="0")
    compare.add_argument("--output-dir", default="runs/compare")
    return parser


def _explain(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return textwrap.fill(f"labkit: {text}", width=100) + "\n(run with --debug for the traceback)"


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m labkit``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except LabkitError as error:
        if args.debug:
            raise
        print(_explain(error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("labkit: interrupted; checkpoints saved so far can be resumed with --resume.")
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "doctor":
        from labkit.environment import main as doctor_main

        return doctor_main(["--json"] if args.json else [])
    if args.command == "train":
        from labkit.cli_train import train_command

        return train_command(args)
    if args.command == "compare":
        from labkit.cli_train import compare_command

        return compare_command(args)
    raise AssertionError(args.command)  # argparse rejects anything else


def is_main_process() -> bool:
    """False in the extra processes of a ``torchrun`` / ``accelerate launch`` job."""
    return int(os.environ.get("RANK", "0")) == 0


def write_json(path: str | None, payload: dict) -> None:
    """Write a JSON result file if a path was given (parents created); main process only."""
    if path and is_main_process():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(payload, indent=2, default=str))
