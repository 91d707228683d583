"""Reading a labelled text table from a local file, the way people actually bring them.

Formats: csv, tsv, jsonl and parquet by suffix; a ``.txt`` file or a file without a suffix (such
as the UCI ``SMSSpamCollection``) is sniffed: tab-separated, comma-separated or JSON lines.

Delimited text is split into records on line breaks only (``\\n``, ``\\r``), never on the other
Unicode line separators (U+0085, U+2028) that occur inside real sentences. Quotes are read the
csv way when the file uses them that way; when a quote opens a field and never closes it
(``imdb_labelled.txt``: ``" The structure of this film...``), the file is read with quoting off,
so every line is one record and the quote stays part of the text. Only empty cells are missing
values: a text "NA" or "null" stays a text. Leading and trailing spaces of texts are removed.

A header row is detected: when no column has a known name (``TEXT_COLUMNS``, ``LABEL_COLUMNS``)
and the first row looks like data (a sentence, a number in a numeric column, or a value that
recurs in its column), the file is read header-less and the columns are chosen by content:
the long free text is the text, the column with a few distinct short values is the label.
``header=True`` / ``header=False`` force either reading. Header-less columns are named
``"1"``, ``"2"``, ... in file order, for ``text_column=`` / ``label_column=``.
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.errors import ConfigError, DataError

SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "sniff",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}
TEXT_COLUMNS = ("text", "sentence", "review", "content", "message", "sms", "document", "body",
                "comment", "tweet", "utterance")  # fmt: skip
LABEL_COLUMNS = ("label", "labels", "target", "class", "category", "sentiment", "y", "is_spam",
                 "fraud", "is_fraud")  # fmt: skip
SEPARATORS = {"csv": ",", "tsv": "\t"}
# How many rows header detection and column choice look at.
SAMPLE_ROWS = 2000


@dataclass
class LabelledColumns:
    """Texts and raw label values read from one file, with how they were read."""

    texts: list[Any]
    labels: list[Any]
    text_column: str
    label_column: str
    info: dict[str, Any] = field(default_factory=dict)


def looks_like_path(source: str) -> bool:
    """True when ``source`` names a file (by its suffix or because it exists)."""
    return Path(source).suffix.lower() in SUFFIXES or Path(source).exists()


def file_format(path: str | Path) -> str:
    """ "csv", "tsv", "jsonl" or "parquet": by suffix, or sniffed from the content."""
    path = _existing_file(Path(path))
    kind = SUFFIXES.get(path.suffix.lower(), "sniff" if not path.suffix else None)
    if kind is None:
        raise DataError(f"Cannot read {path.name!r}: the file type {path.suffix!r} is not "
                        f"supported. Use one of {sorted(SUFFIXES)} (or a tab-separated file "
                        "without a suffix).")  # fmt: skip
    if kind == "sniff":
        kind = _sniff(path, _decode(path))
    return kind


def _existing_file(path: Path) -> Path:
    if not path.exists():
        raise DataError(f"Data file {str(path)!r} does not exist. Check the path (relative paths "
                        f"start from {Path.cwd()}).")  # fmt: skip
    if path.is_dir():
        raise DataError(f"{str(path)!r} is a folder; pass one csv/tsv/jsonl/parquet file.")
    return path


def _decode(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path.name!r} is not UTF-8 text. Re-save it as UTF-8 (e.g. in a text "
                        "editor, or with pandas: read it with its encoding and write it back with "
                        "encoding='utf-8').") from None  # fmt: skip
    except PermissionError:
        raise DataError(f"{path.name!r} cannot be read: permission denied.") from None
    except OSError as error:
        raise DataError(f"{path.name!r} cannot be read: {_first_line(error)}.") from None


def _sniff(path: Path, text: str) -> str:
    lines = [line for line in text.split("\n")[:200] if line.strip()]
    if not lines:
        raise DataError(f"{path.name!r} is empty: it has no rows.")
    if lines[0].lstrip().startswith("{"):
        return "jsonl"
    with_tabs = sum("\t" in line for line in lines)
    if with_tabs >= 0.5 * len(lines):
        return "tsv"
    if sum("," in line for line in lines) >= 0.5 * len(lines):
        return "csv"
    raise DataError(f"Cannot tell the format of {path.name!r}: its lines have neither tabs nor "
                    "commas between a text and a label. Save it as .csv, .tsv or .jsonl.")  # fmt: skip


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:200] if lines else type(error).__name__


def _records(text: str) -> list[str]:
    """Non-blank lines, split on \\n (a trailing \\r dropped): not on U+0085 or U+2028."""
    return [line.removesuffix("\r") for line in text.split("\n") if line.strip()]


def choose_quoting(text: str, sep: str) -> int:
    """csv.QUOTE_MINIMAL when quotes in ``text`` are csv quoting, else csv.QUOTE_NONE.

    Quoting is off when parsing with csv quotes fails or gives rows of different widths while
    every line, read with quoting off, has the same number of fields.
    """
    if '"' not in text:
        return csv.QUOTE_MINIMAL
    try:
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
        widths = {len(row) for row in rows if row}
    except csv.Error:
        widths = set()
    if len(widths) == 1:
        return csv.QUOTE_MINIMAL
    plain = {line.count(sep) for line in _records(text)}
    return csv.QUOTE_NONE if len(plain) == 1 else csv.QUOTE_MINIMAL


def _read_delimited(
    path: Path, text: str, kind: str, header: bool, nrows: int | None = None,
    quoting: int | None = None,
):  # fmt: skip
    import pandas as pd

    sep = SEPARATORS[kind]
    quoting = choose_quoting(text, sep) if quoting is None else quoting
    options: dict[str, Any] = {
        "sep": sep, "quoting": quoting, "header": 0 if header else None,
        "keep_default_na": False, "na_values": [""], "skip_blank_lines": True,
        "engine": "c", "nrows": nrows,
    }  # fmt: skip
    if nrows is not None:
        options["dtype"] = str
    try:
        frame = pd.read_csv(io.StringIO(text), **options)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path.name!r} is empty: it has no rows.") from None
    except PermissionError:
        raise DataError(f"{path.name!r} cannot be read: permission denied.") from None
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise DataError(f"{path.name!r} is not a readable {kind} file: {_first_line(error)}. "
                        "Check its format (one example per row/line).") from None  # fmt: skip
    if not header:
        frame.columns = [str(i + 1) for i in range(frame.shape[1])]
    return frame


def read_table(path: str | Path, header: bool = True) -> Any:
    """Read a file into a pandas DataFrame; every failure becomes a DataError that says why.

    ``header=False`` reads a csv/tsv file without a header row (columns "1", "2", ...).
    """
    import pandas as pd

    path = Path(path)
    kind = file_format(path)
    try:
        if kind in SEPARATORS:
            frame = _read_delimited(path, _decode(path), kind, header)
        elif kind == "jsonl":
            frame = pd.read_json(path, lines=True, encoding="utf-8")
        else:
            frame = pd.read_parquet(path)
    except UnicodeDecodeError:
        raise DataError(f"{path.name!r} is not UTF-8 text. Re-save it as UTF-8.") from None
    except PermissionError:
        raise DataError(f"{path.name!r} cannot be read: permission denied.") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path.name!r} is empty: it has no rows.") from None
    except (ValueError, OSError, pd.errors.ParserError, ImportError) as error:
        raise DataError(f"{path.name!r} is not a readable {kind} file: {_first_line(error)}. "
                        "Check its format (one example per row/line).") from None  # fmt: skip
    if len(frame) == 0:
        raise DataError(f"{path.name!r} has a header but no examples.")
    frame.columns = [str(c) for c in frame.columns]
    return frame


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
                    f"the command line --{role}-column). If the file has no header row, pass "
                    "header=False (--no-header).")  # fmt: skip


# --- header detection and choosing columns by content ---------------------------------------
def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _cells(values: Any) -> list[str]:
    return [str(v).strip() for v in values if isinstance(v, str) and v.strip()]


def _is_sentence(value: str) -> bool:
    return len(value.split()) >= 4 or (len(value) >= 30 and " " in value)


def _free_text(values: list[str]) -> bool:
    return bool(values) and statistics.median(len(v.split()) for v in values) >= 3


def _numeric_column(values: list[str]) -> bool:
    return bool(values) and sum(map(_is_number, values)) >= 0.9 * len(values)


def first_row_is_data(raw: Any) -> tuple[bool, str]:
    """(whether row 0 of a header-less read looks like data, why), for a frame of strings."""
    names = [str(v).strip() if isinstance(v, str) else "" for v in raw.iloc[0]]
    rest = raw.iloc[1:]
    known = {n for n in TEXT_COLUMNS + LABEL_COLUMNS}
    if any(name.lower() in known for name in names):
        return False, "the first row has a known column name"
    if len(rest) == 0:
        return False, "the file has a single row"
    label_like, sentence_like, name_like = [], [], []
    for j, name in enumerate(names):
        if not name:
            continue
        values = _cells(rest.iloc[:, j])
        if name in set(values) or (_is_number(name) and _numeric_column(values)):
            label_like.append(name)
        elif _is_sentence(name) and _free_text(values):
            sentence_like.append(name)
        else:
            name_like.append(name)
    if not label_like and not sentence_like:
        return False, f"the first row {names} reads as column names"
    if not name_like or (label_like and sentence_like):
        shown = [n if len(n) <= 40 else n[:37] + "..." for n in label_like + sentence_like]
        return True, f"the first row looks like data, not column names: {shown}"
    return False, f"the first row {names} reads as column names"


def columns_by_content(raw: Any) -> tuple[str | None, str | None, str]:
    """(text column, label column, what was considered) chosen from a frame of strings."""
    stats = {}
    for column in raw.columns:
        values = _cells(raw[column])
        if not values:
            continue
        stats[column] = {
            "distinct": len(set(values)),
            "mean_length": sum(len(v) for v in values) / len(values),
            "spaced": sum(" " in v for v in values) / len(values),
            "numeric": _numeric_column(values),
            "n": len(values),
        }
    considered = "; ".join(
        f"column {c}: {s['distinct']} distinct values, mean length {s['mean_length']:.0f}"
        for c, s in stats.items()
    )
    if len(stats) < 2:
        return None, None, considered or "no column has values"
    n = max(s["n"] for s in stats.values())
    label_candidates = [
        c for c, s in stats.items()
        if s["distinct"] <= max(2, min(50, n // 2)) and s["mean_length"] <= 30
    ]  # fmt: skip
    label = min(label_candidates, key=lambda c: (stats[c]["distinct"], stats[c]["mean_length"]),
                default=None)  # fmt: skip
    text_candidates = [
        c for c, s in stats.items()
        if c != label and not s["numeric"] and (s["spaced"] >= 0.5 or s["mean_length"] >= 15)
        and (label is None or s["distinct"] > stats[label]["distinct"])
    ]  # fmt: skip
    text = max(text_candidates, key=lambda c: stats[c]["mean_length"], default=None)
    return text, label, considered


def _as_strings(frame: Any) -> Any:
    """The frame with every cell a string (None where missing), for choosing columns."""
    import pandas as pd

    return pd.DataFrame(
        {c: [None if pd.isna(v) else str(v) for v in frame[c]] for c in frame.columns},
        dtype=object,
    )


def _column_name(given: str | int | None) -> str | None:
    if given is None or isinstance(given, str):
        return given
    if isinstance(given, int) and not isinstance(given, bool):
        return str(given)
    raise ConfigError(f"A column name must be a string (or a column number for a file without a "
                      f"header), got {given!r}.")  # fmt: skip


def read_labelled(
    path: str | Path,
    text_column: str | int | None = None,
    label_column: str | int | None = None,
    header: bool | None = None,
) -> LabelledColumns:
    """Texts and raw labels of one file; ``header`` None detects a missing header row."""
    if header not in (None, True, False):
        raise ConfigError(f"header must be True, False or None (detect), got {header!r}.")
    path = Path(path)
    text_column, label_column = _column_name(text_column), _column_name(label_column)
    kind = file_format(path)
    info: dict[str, Any] = {"format": kind}
    if kind not in SEPARATORS:
        if header is False:
            raise DataError(f"header=False is for csv/tsv files; {path.name!r} is {kind}, whose "
                            "records name their columns.")  # fmt: skip
        return _pick(read_table(path), text_column, label_column, info)
    text = _decode(path)
    quoting = choose_quoting(text, SEPARATORS[kind])
    info["quoting"] = "off" if quoting == csv.QUOTE_NONE else "csv"
    if header is None:
        # Column numbers ("1", "2") name header-less columns: no evidence of a header row.
        given = {c for c in (text_column, label_column) if c is not None and not c.isdigit()}
        raw = _read_delimited(path, text, kind, False, nrows=SAMPLE_ROWS, quoting=quoting)
        first = {str(v).strip() for v in raw.iloc[0] if isinstance(v, str)}
        if given & first:
            header, why = True, "the first row names the given column(s)"
        else:
            is_data, why = first_row_is_data(raw)
            header = not is_data
        info["header_detected"] = why
    frame = _read_delimited(path, text, kind, header, quoting=quoting)
    info["header"] = "names" if header else "data"
    if len(frame) == 0:
        raise DataError(f"{path.name!r} has a header but no examples.")
    if header or (text_column and label_column):
        return _pick(frame, text_column, label_column, info, header_less=not header)
    raw = _as_strings(frame.iloc[:SAMPLE_ROWS])
    text_guess, label_guess, considered = columns_by_content(raw)
    text_column = text_column or text_guess
    label_column = label_column or label_guess
    detected = info.get("header_detected", "header=False was given")
    if text_column is None or label_column is None or text_column == label_column:
        raise DataError(
            f"{path.name!r} was read without a header row ({detected}), but labkit cannot tell "
            f"which column holds the text and which the label ({considered}). Name them with "
            "text_column='1' / label_column='2' (columns count from 1; on the command line "
            "--text-column / --label-column), or add a header row such as 'text<TAB>label'."
        )
    info["columns_by_content"] = {"text": text_column, "label": label_column}
    return _pick(frame, text_column, label_column, info, header_less=True)


def _pick(frame, text_column, label_column, info, header_less: bool = False) -> LabelledColumns:
    try:
        text = pick_column(frame, text_column, TEXT_COLUMNS, "text")
        label = pick_column(frame, label_column, LABEL_COLUMNS, "label")
    except DataError as error:
        if header_less:
            why = f"the file was read without a header row: its columns are {list(frame.columns)}"
        elif "header_detected" in info:
            why = f"the first row was read as column names: {info['header_detected']}"
        else:
            raise
        raise DataError(f"{error} ({why}.)") from None
    if text == label:
        raise DataError(f"The text and label columns are both {text!r}; name two different ones.")
    texts = [t.strip() if isinstance(t, str) else t for t in frame[text].tolist()]
    return LabelledColumns(texts, frame[label].tolist(), text, label, info)
