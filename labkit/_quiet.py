"""Silence library chatter that would confuse learners (and explain it here instead).

- bitsandbytes on CPU tries an optional fast 4-bit kernel that would be downloaded at run time
  ("Failed to load CPU gemm_4bit_forward from kernels-community"); without it bitsandbytes uses
  its built-in CPU code, which is correct, only slower.
- bitsandbytes' 8-bit matmul logs "inputs will be cast from torch.float32 to float16" on every
  call: LLM.int8 quantizes activations through fp16 by design.
- peft reads ``is_gradient_checkpointing``, which transformers renamed, and each read warns that
  the old name will go away: a notice for library authors, not for learners.
- transformers prints a load report listing the new classification head as MISSING: that is
  expected, the head is what fine-tuning trains.
"""

from __future__ import annotations

import logging
import os
import warnings

_NOISY_LOGGERS = (
    "bitsandbytes.backends.cpu.ops",
    "bitsandbytes.autograd._functions",
    "bitsandbytes.cextension",
)


def quiet_libraries() -> None:
    """Lower the log level of known noisy messages; safe to call many times."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", "`is_gradient_checkpointing`", FutureWarning)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:  # transformers missing: the doctor reports it
        pass
