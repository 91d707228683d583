"""Practice 3 (LoRA): counting, the forward pass, peft, target modules, the rank sweep."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from labkit.checks._core import (
    CheckResult,
    Mistake,
    as_number,
    call_learner,
    check_value,
    fail,
    first,
    is_missing,
    mentions,
    require,
    require_reason,
    show,
)
from labkit.checks.parameters import lora_mistakes


def check_lora_update_count(answer: object, *, d_in: int, d_out: int, rank: int,
                            n_modules: int) -> CheckResult:  # fmt: skip
    """Parameters of LoRA updates on ``n_modules`` layers of shape d_in -> d_out at rank r."""
    return check_value(
        f"LoRA parameters ({n_modules} layers, r={rank})", answer,
        rank * (d_in + d_out) * n_modules, rel=0, abs_tol=0.5,
        mistakes=lora_mistakes(d_in, d_out, rank, layers=n_modules),
        hint="per layer A (r x d_in) plus B (d_out x r), times the number of wrapped layers.",
    )  # fmt: skip


# --- the forward pass --------------------------------------------------------------------------
class _FixedDropout:
    """A stand-in for nn.Dropout that zeroes every other feature and doubles the rest.

    It is deterministic, so the check can tell where the learner applied dropout.
    """

    def __new__(cls):  # build an nn.Module lazily, keeping torch out of the import path
        import torch
        from torch import nn

        class FixedDropout(nn.Module):
            def forward(self, x: torch.Tensor) -> torch.Tensor:
                mask = (torch.arange(x.shape[-1]) % 2 == 0).to(x.dtype) * 2
                return x * mask

        return FixedDropout()


def check_lora_forward(layer_class: Any) -> CheckResult:
    """``layer_class(base, r, alpha, dropout)`` must compute base(x) + (alpha/r) B A dropout(x).

    The check builds a layer on a small random linear layer (B made non-zero, so the update
    shows), swaps its dropout for a fixed mask and compares the output with the right one and
    with the outputs of the usual mistakes.
    """
    import torch
    from torch import nn

    name = "LoRA forward pass"
    require(name, layer_class)
    d_in, d_out, r, alpha = 6, 5, 2, 6.0  # alpha/r = 3, r/alpha = 1/3: every mistake differs
    generator = torch.Generator().manual_seed(0)
    base = nn.Linear(d_in, d_out)
    with torch.no_grad():
        base.weight.copy_(torch.randn(d_out, d_in, generator=generator))
        base.bias.copy_(torch.randn(d_out, generator=generator))
    layer = call_learner(name, layer_class, base, r, alpha, 0.5)
    for attribute in ("lora_A", "lora_B", "dropout", "base"):
        if not hasattr(layer, attribute):
            raise fail(name, f"the layer has no attribute {attribute!r}: keep the names of the "
                       "__init__ given above.")  # fmt: skip
    A = torch.randn(r, d_in, generator=generator)
    B = torch.randn(d_out, r, generator=generator)
    with torch.no_grad():
        layer.lora_A.copy_(A)
        layer.lora_B.copy_(B)
    drop = _FixedDropout()
    layer.dropout = drop
    layer.train()
    x = torch.randn(3, d_in, generator=generator)
    with torch.no_grad():
        out = call_learner(name, layer, x)
        if out is None or out is Ellipsis:
            raise fail(name, "no answer yet: forward returns nothing (write the return line).")
        if not isinstance(out, torch.Tensor):
            raise fail(name, f"forward should return a tensor, got {type(out).__name__}.")
        if tuple(out.shape) != (3, d_out):
            raise fail(name, f"the output has shape {tuple(out.shape)}; for x of shape (batch, "
                       "d_in) it must be (batch, d_out), like base(x).")  # fmt: skip
        W = base(x)

        def update(z: torch.Tensor) -> torch.Tensor:
            return z @ A.T @ B.T

        s = alpha / r
        right = W + s * update(drop(x))
        candidates = {
            "the scale is r; LoRA scales the update by alpha / r.": W + r * update(drop(x)),
            "the scale is upside down: LoRA multiplies by alpha / r, not r / alpha.":
                W + (r / alpha) * update(drop(x)),
            "the scale is alpha alone; LoRA divides it by the rank: alpha / r.":
                W + alpha * update(drop(x)),
            "the update is not scaled; multiply it by alpha / r.": W + update(drop(x)),
            "the frozen layer's output base(x) is missing: LoRA ADDS the update to it.":
                s * update(drop(x)),
            "that is just base(x): the low-rank update is missing.": W,
            "dropout is not applied: the update's input is dropout(x).": W + s * update(x),
            "dropout is applied to the update's output; LoRA applies it to the update's input, "
            "dropout(x) @ A.T @ B.T.": W + s * drop(update(x)),
            "dropout is applied to the whole output; it belongs on the update's input only.":
                drop(W + s * update(x)),
            "the frozen layer also gets the dropped-out input; base(x) sees x unchanged, "
            "dropout(x) feeds only the update.": base(drop(x)) + s * update(drop(x)),
        }  # fmt: skip
    if torch.allclose(out, right, atol=1e-5):
        return CheckResult(name, "matches base(x) + (alpha / r) * dropout(x) @ A.T @ B.T.")
    for hint, wrong in candidates.items():
        if torch.allclose(out, wrong, atol=1e-5):
            raise fail(name, hint)
    raise fail(name, "the output is not right. Hint: three parts: base(x), the update "
               "dropout(x) @ A.T @ B.T, and the scale alpha / r.")  # fmt: skip


def check_peft_config_matches(config: object, layer: Any, *, module: str = "proj") -> CheckResult:
    """A ``LoraConfig`` that makes peft compute what the learner's ``layer`` computes."""
    name = "LoraConfig for the comparison"
    require(name, config)
    from peft import LoraConfig

    if not isinstance(config, LoraConfig):
        raise fail(name, f"expected LoraConfig(...), got {type(config).__name__}.")
    if config.r != layer.r:
        raise fail(name, f"r={config.r}, but your layer has rank {layer.r}: A and B would not "
                   "even have the same shapes.")  # fmt: skip
    if config.lora_alpha != layer.alpha:
        raise fail(name, f"lora_alpha={config.lora_alpha}; peft scales by lora_alpha / r, so "
                   "lora_alpha must be your layer's alpha.")  # fmt: skip
    if getattr(config, "use_rslora", False):
        raise fail(name, "use_rslora=True scales by alpha / sqrt(r); your layer uses alpha / r.")
    targets = config.target_modules
    names = [targets] if isinstance(targets, str) else list(targets or [])
    if module not in names and not (isinstance(targets, str) and re.fullmatch(targets, module)):
        raise fail(name, f"target_modules={targets!r} does not name the linear layer of the "
                   f"tiny model, {module!r}.")  # fmt: skip
    return CheckResult(name, "same rank, alpha and layer as yours.")


def check_same_outputs(mine: Any, theirs: Any, *, name: str = "same as peft") -> CheckResult:
    """Two tensors that should be equal (up to float rounding)."""
    import torch

    require(name, mine)
    if not isinstance(mine, torch.Tensor) or not isinstance(theirs, torch.Tensor):
        raise fail(name, "compare two tensors (the outputs of your layer and of peft's).")
    if mine.shape != theirs.shape:
        raise fail(name, f"shapes differ: {tuple(mine.shape)} vs {tuple(theirs.shape)}.")
    gap = (mine - theirs).abs().max().item()
    if gap <= 1e-5 * max(1.0, theirs.abs().max().item()):
        return CheckResult(name, f"largest difference {gap:.1e}: the same computation.")
    raise fail(name, f"the outputs differ by up to {gap:.3g}. Are A and B copied from peft's "
               "layer, is the layer in eval mode (dropout off), and does your forward pass "
               "pass its check above?")  # fmt: skip


# --- target modules ----------------------------------------------------------------------------
ATTENTION = ("query", "key", "value", "attention.output.dense")
_OTHER_ARCH = {"q_proj", "k_proj", "v_proj", "o_proj", "c_attn", "q_lin", "k_lin", "v_lin",
               "out_lin", "Wqkv", "qkv", "query_key_value"}  # fmt: skip


def _linear_names(model: Any) -> list[str]:
    from torch import nn

    base = model
    if hasattr(model, "get_base_model"):
        base = model.get_base_model()
    return [n for n, m in base.named_modules() if isinstance(m, nn.Linear)]


def _kind(name: str) -> str:
    if re.search(r"attention\.self\.(query|key|value)$", name) or name.endswith(
        "attention.output.dense"
    ):
        return "attention"
    if "intermediate" in name or re.search(r"layer\.\d+\.output\.dense$", name):
        return "feed-forward"
    if "pooler" in name:
        return "pooler"
    if "classifier" in name:
        return "head"
    return "other"


def _matched(targets: object, linear: list[str], label: str) -> list[str]:
    require(label, targets)
    if isinstance(targets, str):
        if targets == "all-linear":
            return linear
        found = [n for n in linear if re.fullmatch(targets, n)]
        if not found and any(n.endswith("." + targets) for n in linear):
            raise fail(label, f"a single string is read by peft as a regular expression that "
                       f"must match the WHOLE module name, so {targets!r} matches nothing: "
                       "pass a list of names instead.")  # fmt: skip
        if not found:
            raise fail(label, f"the pattern {targets!r} matches no linear layer of this model.")
        return found
    if isinstance(targets, Mapping) or not hasattr(targets, "__iter__"):
        raise fail(label, f"expected a list of module names, got {targets!r}.")
    names = list(targets)
    if not names:
        raise fail(label, "the list is empty.")
    found: list[str] = []
    for t in names:
        if is_missing(t):
            raise fail(label, "no answer yet: a `...` is still in the list.")
        if not isinstance(t, str):
            raise fail(label, f"module names are strings; got {t!r}.")
        hits = [n for n in linear if n == t or n.endswith("." + t)]
        if not hits:
            if t in _OTHER_ARCH:
                raise fail(label, f"{t!r} is the name in another architecture (Llama, GPT-2, "
                           "DistilBERT); this BERT model names its projections differently: "
                           "look at the list printed above.")  # fmt: skip
            if t.endswith((".weight", ".bias")):
                raise fail(label, f"{t!r} is a parameter name; give the module name.")
            raise fail(label, f"no linear layer of this model is called {t!r} (peft matches "
                       "the whole name or its ending after a dot).")  # fmt: skip
        found += hits
    return sorted(set(found))


def check_target_modules(targets: object, model: Any) -> CheckResult:
    """Any list (or pattern) that puts LoRA on attention projections of every layer.

    Accepted: any non-empty choice among query, key, value and the attention output
    projection, in short or full names, covering every encoder layer.
    """
    label = "target modules"
    linear = _linear_names(model)
    found = _matched(targets, linear, label)
    kinds = {n: _kind(n) for n in found}
    for wrong, why in (("head", "the classifier is the new head: it trains whole "
                                "(modules_to_save), not through a low-rank update."),
                       ("feed-forward", "those are feed-forward layers (intermediate.dense and "
                                        "the block's output.dense)."),
                       ("pooler", "the pooler is not an attention projection."),
                       ("other", "those are not attention projections.")):  # fmt: skip
        hit = [n for n, k in kinds.items() if k == wrong]
        if hit:
            raise fail(label, f"{len(hit)} of the matched layers are not attention projections, "
                       f"e.g. {first(hit, 2)}: {why}")  # fmt: skip
    layers = {m.group(1) for n in linear if (m := re.search(r"layer\.(\d+)\.", n))}
    covered = {m.group(1) for n in found if (m := re.search(r"layer\.(\d+)\.", n))}
    if covered != layers:
        raise fail(label, f"only layer(s) {sorted(covered, key=int)} get adapters; use the name "
                   "endings (e.g. the part after 'layer.N.') to cover every layer.")  # fmt: skip
    endings = sorted({n.split("layer.")[-1].split(".", 1)[1] for n in found})
    return CheckResult(label, f"{len(found)} attention projections ({', '.join(endings)}) in "
                       f"{len(layers)} layers.")  # fmt: skip


def check_lora_config(config: object, model: Any, *, rank: int, alpha: float) -> CheckResult:
    """A ``LoraConfig`` for sequence classification with the asked rank and alpha."""
    name = "LoraConfig"
    require(name, config)
    from peft import LoraConfig

    if not isinstance(config, LoraConfig):
        raise fail(name, f"expected LoraConfig(...), got {type(config).__name__}.")
    if config.r != rank:
        raise fail(name, f"r={config.r}; the text asks for another rank.")
    if config.lora_alpha != alpha:
        if config.lora_alpha == config.r:
            raise fail(name, "lora_alpha equals r, so the scale alpha / r is 1; the text asks "
                       "for a different alpha.")  # fmt: skip
        raise fail(name, f"lora_alpha={config.lora_alpha}; the text asks for another alpha.")
    task = str(getattr(config.task_type, "value", config.task_type))
    heads = config.modules_to_save or []
    if task != "SEQ_CLS" and "classifier" not in heads:
        raise fail(name, "task_type is not 'SEQ_CLS' and modules_to_save is empty: peft would "
                   "then freeze the new classifier too, and it would stay random. Set "
                   "task_type=TaskType.SEQ_CLS.")  # fmt: skip
    check_target_modules(config.target_modules, model)
    return CheckResult(name, f"r={rank}, alpha={alpha}, attention targets, classifier trained.")


def check_adapter_count(answer: object, model: Any) -> CheckResult:
    """Parameters of the LoRA matrices only (not the head that trains beside them)."""
    params = list(model.named_parameters())
    lora = sum(p.numel() for n, p in params if "lora_" in n)
    trainable = sum(p.numel() for _, p in params if p.requires_grad)
    total = sum(p.numel() for _, p in params)
    return check_value("LoRA parameters in the model", answer, lora, rel=0, abs_tol=0.5,
                       hint="add p.numel() over the parameters whose name contains 'lora_'.",
                       mistakes=[
                           Mistake(trainable, "that is every trainable parameter, the "
                                   "classifier (modules_to_save) included; count the lora_ "
                                   "matrices only."),
                           Mistake(total, "that is every parameter of the model, frozen ones "
                                   "included."),
                           Mistake(sum(1 for n, _ in params if "lora_" in n), "that counts "
                                   "tensors; add up p.numel()."),
                       ])  # fmt: skip


# --- the rank sweep ----------------------------------------------------------------------------
def _sweep_rows(name: str, sweep: object) -> dict[int, dict[str, float]]:
    require(name, sweep)
    if not isinstance(sweep, Mapping) or not sweep:
        raise fail(name, "expected a dict: rank -> {'accuracy': ..., 'lora_params': ...}.")
    rows = {}
    for rank, row in sweep.items():
        if is_missing(row):
            raise fail(name, f"no answer yet for rank {rank}.")
        if not isinstance(row, Mapping) or not {"accuracy", "lora_params"} <= set(row):
            raise fail(name, f"the entry of rank {rank} should be a dict with 'accuracy' and "
                       "'lora_params'.")  # fmt: skip
        rows[int(rank)] = {k: as_number(f"{name}: rank {rank} {k}", row[k])
                           for k in ("accuracy", "lora_params")}  # fmt: skip
    return rows


def check_rank_sweep(
    sweep: object, *, ranks: tuple[int, ...], model: Any, targets: object
) -> CheckResult:
    """One row per rank, each from a fresh model: its LoRA parameter count proves it.

    ``model`` is any copy of the base model and ``targets`` the target modules the sweep used
    (they give the layer widths, so the expected counts).
    """
    name = "rank sweep"
    rows = _sweep_rows(name, sweep)
    missing = [r for r in ranks if r not in rows]
    if missing:
        raise fail(name, f"rank(s) {missing} missing from the sweep.")
    modules = dict(model.named_modules())
    widths = sum(
        modules[n].in_features + modules[n].out_features
        for n in _matched(targets, _linear_names(model), "target modules")
    )
    for r in ranks:
        expected = r * widths
        got = rows[r]["lora_params"]
        if got == expected:
            continue
        stacked = sum(q * widths for q in ranks if q <= r)
        if got == stacked:
            raise fail(
                name,
                f"rank {r} has {show(got)} LoRA parameters, the adapters of earlier ranks "
                "included: load a FRESH model for every rank, or the adapters pile up on one "
                "model.",
            )
        raise fail(
            name,
            f"rank {r}: {show(got)} LoRA parameters is not what that rank gives on these "
            "targets; count the lora_ parameters of each rank's model.",
        )
    for r in ranks:
        accuracy = rows[r]["accuracy"]
        if not 0 <= accuracy <= 100:
            raise fail(
                name, f"rank {r}: accuracy {show(accuracy)} is not a fraction or a percentage."
            )
    return CheckResult(name, f"{len(ranks)} ranks, each on a fresh model.")


RANK_WORDS = {"cost": [r"param", r"memory", r"small", r"fewer", r"cheap", r"size", r"cost",
                       r"less", r"light", r"storage", r"disk", r"mb\b"],
              "quality": [r"accura", r"\bf1\b", r"better", r"score", r"higher", r"quality",
                          r"point"]}  # fmt: skip


def check_rank_choice(choice: object, reason: object, sweep: object, *,
                      tolerance: float = 0.01) -> CheckResult:  # fmt: skip
    """Choose a rank from the sweep: the smallest whose accuracy is within ``tolerance`` of the
    best (a larger rank that buys no accuracy only costs parameters)."""
    name = "rank choice"
    rows = _sweep_rows(name, sweep)
    require(name, choice)
    try:
        chosen = int(as_number(name, choice))
    except Exception:  # noqa: BLE001 - the message below says what to give
        raise fail(name, f"give the rank as a number, one of {sorted(rows)}.") from None
    if chosen not in rows:
        raise fail(name, f"rank {chosen} is not in the sweep; choose one of {sorted(rows)}.")
    text = require_reason(name, reason)
    scale = 100.0 if max(r["accuracy"] for r in rows.values()) > 1 else 1.0
    best = max(r["accuracy"] for r in rows.values())
    good = sorted(r for r, row in rows.items() if best - row["accuracy"] <= tolerance * scale)
    expected = good[0]
    mine = rows[chosen]
    if chosen != expected:
        if chosen in good:
            raise fail(name, f"rank {chosen} is within {tolerance * 100:g} points of the best accuracy, "
                       "but so is a smaller rank, for fewer parameters: the extra capacity "
                       "buys nothing measurable here.")  # fmt: skip
        raise fail(name, f"rank {chosen} scores {mine['accuracy']:.3g}, more than "
                   f"{tolerance * 100:g} points below the best rank of the sweep: its savings cost "
                   "accuracy.")  # fmt: skip
    smallest = min(rows)
    words = RANK_WORDS["cost"] if chosen == smallest else RANK_WORDS["quality"]
    if not mentions(text, words):
        what = ("what the smaller rank saves (parameters) for no loss of accuracy"
                if chosen == smallest else "what the larger rank buys (accuracy)")  # fmt: skip
        raise fail(name, f"rank {chosen} is a good choice; the reason should say {what}.")
    if chosen == smallest and mentions(text, [r"more accura", r"better accura", r"higher accura"]
                                       ) and mine["accuracy"] < best:  # fmt: skip
        raise fail(
            name,
            "the choice is right, but the reason claims better accuracy than the "
            "sweep measured: the point is the same accuracy for fewer parameters.",
        )
    return CheckResult(name, f"rank {chosen}, for the reason the numbers support.")
