"""Accuracy: labkit's defaults against a plain PyTorch loop, on real data, per method.

Same data (a built-in real task, same split and seed), same model (the bundled MiniLM), same
method set-up (``labkit.methods.apply``), same examples seen (epochs x batch size), the same
learning rate, optimizer (AdamW, weight decay 0.01), linear schedule with 6% warm-up and
gradient clipping at 1.0 (what ``Trainer`` does by default). The plain loop evaluates once at
the end; labkit also evaluates on the validation split each epoch, which does not change the
weights. For each method and seed the test accuracy of both is printed, then the mean
difference (labkit minus plain loop, in points).

    python bench/accuracy.py                          # sentences, 3 seeds, all four methods
    python bench/accuracy.py --data sms_spam --methods lora,qlora4 --seeds 0

labkit's defaults must not lose accuracy to the plain loop (within 1 point, or better).
"""

from __future__ import annotations

import argparse
import math
import statistics

import torch
from torch.utils.data import DataLoader
from transformers import DataCollatorWithPadding, get_linear_schedule_with_warmup, set_seed

import labkit
from labkit import catalog, methods
from labkit.data import load_task
from labkit.models import load_model
from labkit.profiles import get_profile
from labkit.train import encode


def plain_loop(task, name: str, seed: int, epochs: int, batch: int, max_length: int,
               lr: float) -> float:  # fmt: skip
    """Test accuracy of a hand-written training loop for run name ``name``."""
    method, quantization = catalog.resolve_run_name(name)
    model, tokenizer = load_model(num_labels=len(task.label_names), quantization=quantization,
                                  seed=seed)  # fmt: skip
    set_seed(seed)
    model = methods.apply(model, method)
    rows = encode(task, tokenizer, max_length)
    collate = DataCollatorWithPadding(tokenizer)
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(rows["train"], batch_size=batch, shuffle=True, collate_fn=collate,
                        generator=generator)  # fmt: skip
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    total = epochs * math.ceil(len(rows["train"]) / batch)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * total), total)
    model.train()
    for _ in range(epochs):
        for inputs in loader:
            model(**inputs).loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
    model.eval()
    correct = 0
    with torch.inference_mode():
        for start in range(0, len(rows["test"]), 128):
            inputs = collate(rows["test"][start : start + 128])
            predicted = model(**inputs).logits.argmax(-1)
            correct += int((predicted == inputs["labels"]).sum())
    return correct / len(rows["test"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="sentences")
    parser.add_argument("--methods", default="full,head,lora,qlora4")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--limit", type=int, default=None, help="training examples (default: "
                        "the quick profile's)")  # fmt: skip
    args = parser.parse_args()
    profile = get_profile("quick")
    limit = args.limit or profile.limit
    names = catalog.parse_run_names(args.methods)
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"{args.data}: limit {limit}, epochs {profile.epochs}, batch {profile.batch_size}, "
          f"max_length {profile.max_length}, seeds {seeds}", flush=True)  # fmt: skip
    differences: dict[str, list[float]] = {name: [] for name in names}
    for seed in seeds:
        task = load_task(args.data, seed=seed, limit=limit)
        for name in names:
            method = catalog.resolve_run_name(name)[0]
            lr = profile.learning_rate_for(method)
            ours = labkit.run(task, name, seed=seed, progress=False).accuracy
            plain = plain_loop(task, name, seed, int(profile.epochs), profile.batch_size,
                               profile.max_length, lr)  # fmt: skip
            differences[name].append(100 * (ours - plain))
            print(f"seed {seed} {name:>7}: labkit {ours:.4f}  plain loop {plain:.4f}  "
                  f"difference {100 * (ours - plain):+.1f} points", flush=True)  # fmt: skip
    print()
    worst = 0.0
    for name, values in differences.items():
        mean = statistics.fmean(values)
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        worst = min(worst, mean)
        print(f"{name:>7}: labkit - plain loop = {mean:+.1f} points (sd {spread:.1f}, "
              f"{len(values)} seeds)")  # fmt: skip
    print(f"worst mean difference {worst:+.1f} points "
          f"({'within' if worst >= -1 else 'OUTSIDE'} the 1-point allowance)")  # fmt: skip


if __name__ == "__main__":
    main()
