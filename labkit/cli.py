"""Command line: ``python -m labkit doctor | train | compare | grid``.

Errors a user can fix (:class:`labkit.errors.LabkitError`) are printed as one paragraph with a
non-zero exit code; ``--debug`` shows the full traceback instead. The ``train`` and ``compare``
commands live in :mod:`labkit.cli_train`, imported only when used.
"""

from __future__ import annotations

import argparse
import sys
import textwrap

from labkit.catalog import DEFAULT_COMPARISON, QUANTIZATION_LEVELS, RUN_NAMES
from labkit.errors import LabkitError

QUANT_CHOICES = ("none", *(q for q in QUANTIZATION_LEVELS if q))


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument("--data", default="sentences",
                      help="built-in task (sentences, sms_spam, reviews, fraud), Hub name or "
                      "file path (csv/tsv/txt/jsonl/parquet)")  # fmt: skip
    data.add_argument("--test-data", default=None,
                      help="separate test file (e.g. a dev set); it is never subsampled")  # fmt: skip
    data.add_argument("--text-column", default=None)
    data.add_argument("--label-column", default=None)
    data.add_argument("--no-header", dest="header", action="store_false", default=None,
                      help="the file has no header row (default: detected)")  # fmt: skip
    data.add_argument("--positive", default=None,
                      help="the positive class of a binary task (e.g. spam, fraud)")  # fmt: skip
    data.add_argument("--domain", default=None, help="sentences: one site (amazon, imdb, yelp)")
    data.add_argument("--train-domains", default=None,
                      help="sentences: train on these sites, e.g. amazon,imdb")  # fmt: skip
    data.add_argument("--test-domain", default=None,
                      help="sentences: test on this site (a shift between sites)")  # fmt: skip
    data.add_argument("--limit", type=int, default=None,
                      help="at most N training examples (validation shrinks in proportion; "
                      "the test split is never subsampled)")  # fmt: skip
    data.add_argument("--deduplicate", action=argparse.BooleanOptionalAction, default=None,
                      help="remove exact and near duplicates before splitting (default: on for "
                      "compare and sms_spam)")  # fmt: skip


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    run = parser.add_argument_group("training")
    run.add_argument("--epochs", type=float, default=None)
    run.add_argument("--batch-size", type=int, default=None, help="per process (per GPU)")
    run.add_argument("--lr", type=float, default=None, help="learning rate (default: profile's)")
    run.add_argument("--max-length", type=int, default=None, help="tokens per example")
    run.add_argument("--rank", type=int, default=8, help="LoRA rank r")
    run.add_argument("--alpha", type=float, default=None, help="LoRA alpha (default 2 x rank)")
    run.add_argument("--targets", default="attention",
                     help="LoRA targets: attention, attention+ffn, all-linear, or module names "
                     "separated by commas (query,value)")  # fmt: skip
    run.add_argument("--double-quant", action=argparse.BooleanOptionalAction, default=True,
                     help="4-bit: quantize the quantization constants too (QLoRA's double "
                     "quantization)")  # fmt: skip
    run.add_argument("--profile", choices=("quick", "full"), default=None)
    run.add_argument("--model", default=None, help="Hub model name (default: bundled MiniLM)")
    run.add_argument("--json", dest="json_out", default=None, help="write the result as JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labkit", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    doc = sub.add_parser("doctor", help="check this machine for the course")
    doc.add_argument("--json", action="store_true", help="machine-readable output")

    train = sub.add_parser("train", help="fine-tune once and print a summary")
    _add_data_options(train)
    _add_run_options(train)
    train.add_argument("--method", choices=list(RUN_NAMES), default="lora",
                       help="what trains; qlora8 / qlora4 = LoRA on an 8-bit / 4-bit NF4 base")  # fmt: skip
    train.add_argument("--quant", choices=QUANT_CHOICES, default="none",
                       help="quantize the base (with --method lora; same as --method qlora4 "
                       "for 4bit-nf4)")  # fmt: skip
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--output-dir", default=None, help="checkpoints and adapter go here")
    train.add_argument("--resume", action="store_true", help="continue from the last checkpoint")

    compare = sub.add_parser("compare", help="the central experiment: methods side by side")
    _add_data_options(compare)
    _add_run_options(compare)
    compare.add_argument("--methods", default=",".join(DEFAULT_COMPARISON),
                         help=f"run names separated by commas, from {list(RUN_NAMES)}")  # fmt: skip
    compare.add_argument("--seeds", default="0", help="e.g. 0,1,2")
    compare.add_argument("--output-dir", default="runs/compare")

    from labkit.grid import add_grid_parser

    add_grid_parser(sub)
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
    if args.command == "grid":
        from labkit.grid import grid_command

        return grid_command(args)
    from labkit import cli_train

    if args.command == "train":
        return cli_train.train_command(args)
    if args.command == "compare":
        return cli_train.compare_command(args)
    raise AssertionError(args.command)  # argparse rejects anything else
