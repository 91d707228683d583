"""Silence library chatter that would confuse learners (and explain it here instead).

- bitsandbytes on CPU tries an optional fast 4-bit kernel that would be downloaded at run time
  ("Failed to load CPU gemm_4bit_forward from kernels-community"); without it bitsandbytes uses
  its built-in CPU code, which is correct, only slower.
- bitsandbytes' 8-bit matmul logs "inputs will be cast from torch.float32 to float16" on every
  call: LLM.int8 quantizes activations through fp16 by design. On a CPU, where labkit computes in
  fp32, that cast is expected and the notice is dropped (``quiet_expected_bnb_notices``); on a
  GPU it is shown once, because there it says the inputs are not in the precision the run uses.
  bitsandbytes' 4-bit notice "Input type into Linear4bit is torch.float16, but
  bnb_4bit_compute_dtype=torch.float32" is never silenced: it means a 4-bit model computes in a
  slower precision than its inputs, which is worth fixing (pass the compute dtype).
- peft reads ``is_gradient_checkpointing`` and calls ``gradient_checkpointing_enable``, which
  transformers renamed (``is_activation_checkpointing`` / ``activation_checkpointing_enable``);
  each use warns that the old name will go away: a notice for library authors, not for learners.
- transformers prints a load report listing the new classification head as MISSING: that is
  expected, the head is what fine-tuning trains.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Any

_NOISY_LOGGERS = (
    "bitsandbytes.backends.cpu.ops",
    "bitsandbytes.cextension",
)
_CAST_LOGGER = "bitsandbytes.autograd._functions"
_CAST_NOTICE = "MatMul8bitLt: inputs will be cast"


class _BnbCastNotice(logging.Filter):
    """Drop bitsandbytes' 8-bit cast notice where it is expected; show it once elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.expected: set[str] = set()  # input dtypes whose cast is expected here
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(_CAST_NOTICE):
            return True
        dtype = str(record.args[0]) if record.args else ""
        if dtype in self.expected or dtype in self.seen:
            return False
        self.seen.add(dtype)
        return True


_CAST_FILTER = _BnbCastNotice()


def lower_noisy_loggers() -> None:
    """Lower bitsandbytes' noisy loggers; cheap, so ``import labkit`` calls it before bitsandbytes
    is first imported (often by transformers or peft, whose import would log the notice)."""
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def quiet_libraries() -> None:
    """Lower the log level of known noisy messages; safe to call many times."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    lower_noisy_loggers()
    cast_logger = logging.getLogger(_CAST_LOGGER)
    if _CAST_FILTER not in cast_logger.filters:
        cast_logger.addFilter(_CAST_FILTER)
    warnings.filterwarnings("ignore", "`is_gradient_checkpointing`", FutureWarning)
    warnings.filterwarnings("ignore", "`gradient_checkpointing_enable`", FutureWarning)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:  # transformers missing: the doctor reports it
        pass


def quiet_expected_bnb_notices(compute_dtype: Any, device: str) -> None:
    """Drop the 8-bit "inputs will be cast from float32" notice when fp32 compute on a CPU is
    what this run uses (the cast to fp16 is then LLM.int8's design, not a mistake)."""
    quiet_libraries()
    if device == "cpu" and str(compute_dtype) == "torch.float32":
        _CAST_FILTER.expected.add("torch.float32")
