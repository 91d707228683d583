"""Training throughput: labkit.run (Trainer) against a plain PyTorch loop doing the same steps.

Same model (bundled MiniLM + LoRA r=8 on attention), same tokenised data, batch size, maximum
sequence length, precision (fp32 on CPU), optimizer (AdamW, linear schedule) and number of
epochs. Each side runs ``--repeats`` times, alternating, and the best examples/s of each is kept
(the least disturbed by the rest of the machine). labkit's time includes what it does on top:
the per-epoch evaluation, checkpoints and logging.

    python bench/throughput.py                 # quick settings
    python bench/throughput.py --method full --limit 600

The last line printed is ``ratio <labkit examples/s / plain-loop examples/s>``.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time

import torch
from torch.utils.data import DataLoader
from transformers import DataCollatorWithPadding, get_linear_schedule_with_warmup, set_seed

import labkit
from labkit import methods
from labkit.data import load_task
from labkit.models import load_model
from labkit.profiles import get_profile
from labkit.train import encode


def plain_loop(
    task, method: str, epochs: int, batch_size: int, max_length: int, lr: float
) -> float:
    """Examples/s of a hand-written training loop over the same steps."""
    model, tokenizer = load_model(num_labels=len(task.label_names), seed=0)
    set_seed(0)
    model = methods.apply(model, method)
    rows = encode(task, tokenizer, max_length)["train"]
    loader = DataLoader(rows, batch_size=batch_size, shuffle=True,
                        collate_fn=DataCollatorWithPadding(tokenizer))  # fmt: skip
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    total_steps = epochs * math.ceil(len(rows) / batch_size)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * total_steps), total_steps)
    model.train()
    start = time.perf_counter()
    for _ in range(epochs):
        for batch in loader:
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
    return len(rows) * epochs / (time.perf_counter() - start)


def labkit_run(
    task, method: str, epochs: int, batch_size: int, max_length: int, lr: float
) -> float:
    with tempfile.TemporaryDirectory() as folder:
        result = labkit.run(task, method, epochs=epochs, batch_size=batch_size,
                            max_length=max_length, learning_rate=lr, progress=False,
                            output_dir=folder)  # fmt: skip
    return result.ledger["train_examples_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="lora", choices=["full", "head", "last_n", "lora"])
    parser.add_argument("--limit", type=int, default=None, help="subsample the reviews task")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    profile = get_profile("quick")
    task = load_task("reviews", limit=args.limit)
    lr = profile.learning_rate_for(args.method)
    settings = (args.method, args.epochs, profile.batch_size, profile.max_length, lr)
    print(f"task reviews: {len(task.train)} training examples; method {args.method}, "
          f"batch {profile.batch_size}, max_length {profile.max_length}, "
          f"{torch.get_num_threads()} threads, {args.epochs} epoch(s)")  # fmt: skip
    plain, ours = [], []
    for i in range(args.repeats):
        plain.append(plain_loop(task, *settings))
        ours.append(labkit_run(task, *settings))
        print(
            f"repeat {i + 1}: plain loop {plain[-1]:.1f} ex/s, labkit {ours[-1]:.1f} ex/s",
            flush=True,
        )
    print(f"best: plain loop {max(plain):.1f} ex/s, labkit {max(ours):.1f} ex/s")
    print(f"ratio {max(ours) / max(plain):.3f}")


if __name__ == "__main__":
    main()
