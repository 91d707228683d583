"""Reading a labelled text table from a local csv / tsv / jsonl / parquet file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from labkit.errors import DataError

SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}
TEXT_COLUMNS = ("text", "sentence", "review", "content", "message", "sms", "document", "body",
                "comment", "tweet", "utterance")  # fmt: skip
LABEL_COLUMNS = ("label", "labels", "target", "class", "category", "sentiment", "y", "is_spam",
                 "fraud", "is_fraud")  # fmt: skip


def looks_like_path(source: str) -> bool:
    """True when ``source`` names a file (by its suffix or because it exists)."""
    return Path(source).suffix.lower() in SUFFIXES or Path(source).exists()


def read_table(path: str | Path) -> Any:
    """Read a file into a pandas DataFrame; every failure becomes a DataError that says why."""
    import pandas as pd

    path = Path(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if not path.exists():
        raise DataError(f"Data file {str(path)!r} does not exist. Check the path (relative paths "
                        f"start from {Path.cwd()}).")  # fmt: skip
    if path.is_dir():
        raise DataError(f"{str(path)!r} is a folder; pass one csv/tsv/jsonl/parquet file.")
    if kind is None:
        raise DataError(f"Cannot read {path.name!r}: the file type {path.suffix!r} is not "
                        f"supported. Use one of {sorted(SUFFIXES)}.")  # fmt: skip
    try:
        if kind == "csv":
            frame = pd.read_csv(path, encoding="utf-8")
        elif kind == "tsv":
            frame = pd.read_csv(path, sep="\t", encoding="utf-8")
        elif kind == "jsonl":
            frame = pd.read_json(path, lines=True, encoding="utf-8")
        else:
            frame = pd.read_parquet(path)
    except UnicodeDecodeError:
        raise DataError(f"{path.name!r} is not UTF-8 text. Re-save it as UTF-8 (e.g. in a text "
                        "editor, or with pandas: read it with its encoding and write it back with "
                        "encoding='utf-8').") from None  # fmt: skip
    except PermissionError:
        raise DataError(f"{path.name!r} cannot be read: permission denied.") from None
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path.name!r} is empty: it needs a header row and some examples."
        ) from None
    except (ValueError, OSError, pd.errors.ParserError, ImportError) as error:
        raise DataError(f"{path.name!r} is not a readable {kind} file: {_first_line(error)}. "
                        "Check its format (one example per row/line).") from None  # fmt: skip
    if len(frame) == 0:
        raise DataError(f"{path.name!r} has a header but no examples.")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__


def pick_column(frame: Any, given: str | None, candidates: tuple[str, ...], role: str) -> str:
    """The column to use as text or label: the one named, or the first known name present."""
    columns = list(frame.columns)
    if given is not None:
        if given not in columns:
            raise DataError(f"There is no {role} column {given!r}; the columns are {columns}.")
        return given
    lowered = {c.lower().strip(): c for c in columns}
    for name in candidates:
        if name in lowered:
            return lowered[name]
    option = f"{role}_column"
    raise DataError(f"Found no {role} column among {columns}. Name it with {option}=... (on "
                    f"the command line --{role}-column).")  # fmt: skip
