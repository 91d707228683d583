"""Error types of labkit.

Every error a learner can cause derives from :class:`LabkitError` and carries a message that
names the bad value and says what to do instead. The standard base classes (``ValueError``,
``RuntimeError``) are kept so ordinary ``except ValueError`` code still works.
"""

from __future__ import annotations


class LabkitError(Exception):
    """A problem the user can fix; the message says how."""


class ConfigError(LabkitError, ValueError):
    """A bad option: rank, alpha, dropout, method, quantization level, epochs, batch size..."""


class DataError(LabkitError, ValueError):
    """A data set or data file that cannot be used as given."""


class MetricsError(LabkitError, ValueError):
    """Inputs to a metric that make it meaningless (lengths differ, one class only...)."""


class OfflineError(LabkitError, RuntimeError):
    """Something needs the Hugging Face Hub but this machine is offline."""


class QuantizationUnavailableError(LabkitError, RuntimeError):
    """8-bit or 4-bit loading was asked for where bitsandbytes cannot run."""


class ModelIntegrityError(LabkitError, RuntimeError):
    """Model weights that are missing, corrupted or not the expected file."""


class AdapterMismatchError(LabkitError, ValueError):
    """A saved adapter that does not belong to the base model it is loaded into."""


class TrainingDivergedError(LabkitError, RuntimeError):
    """The loss became NaN/inf or exploded during training."""


class TrainingIneffectiveError(LabkitError, RuntimeError):
    """Training finished but changed nothing (e.g. a LoRA adapter still at its initial value)."""


class OutOfMemoryError(LabkitError, RuntimeError):
    """The accelerator ran out of memory; the message lists what to change."""


class LeakageWarning(UserWarning):
    """Training and test data share examples (exact or near-duplicates)."""
