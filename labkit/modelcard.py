"""Model cards written from a run record.

``model_card(result, intended_use=..., limitations=...)`` returns a Markdown model card built
from what the run recorded (model, method and settings, data provenance, metrics, efficiency,
library versions) plus what only a person can say (intended use, out-of-scope uses, risks,
limitations). ``write_model_card(result, folder, ...)`` writes it as ``README.md`` beside a
saved adapter, where the Hugging Face Hub shows a repository's card.

The sections follow "Model Cards for Model Reporting" (Mitchell et al., 2019): model details,
intended use, factors, metrics, evaluation data, training data, quantitative analyses, ethical
considerations, caveats and recommendations; efficiency and software versions are added. The
YAML block at the top uses the Hugging Face model card metadata keys (``base_model``,
``library_name``, ``license``, ``tags``, ``pipeline_tag``).

The card refuses to be written without the facts a reader needs: an intended use and its
limitations from you, and from the record the method, the test metrics, the data's licence and
its source or citation. A ConfigError names every missing field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from labkit.errors import ConfigError

SECTIONS = (
    "Model details",
    "Intended use",
    "Factors",
    "Metrics",
    "Evaluation data",
    "Training data",
    "Quantitative analyses",
    "Efficiency",
    "Ethical considerations",
    "Caveats and recommendations",
    "Software versions",
)
METRICS = (
    ("accuracy", "Accuracy"),
    ("precision", "Precision"),
    ("recall", "Recall"),
    ("f1", "F1"),
    ("specificity", "Specificity"),
    ("roc_auc", "ROC-AUC"),
)
NOT_STATED = "Not stated by the model's author."
METHOD_NAMES = {
    "lora": "LoRA",
    "full": "full fine-tuning",
    "head": "head-only training (body frozen)",
    "last_n": "the last encoder layers and the head (rest frozen)",
    "custom": "a custom set of trainable parameters",
}


def _record_of(source: Any) -> dict[str, Any]:
    """The run record of a RunResult, a record dict, or a folder written by RunResult.save()."""
    if isinstance(source, Mapping):
        return dict(source)
    if isinstance(source, (str, Path)):
        from labkit.adapters import read_record

        return read_record(source)
    if hasattr(source, "to_dict") and hasattr(source, "config"):
        from labkit.adapters import _versions
        from labkit.bundled import BUNDLED_MODEL_NAME

        record = {
            "base_model": source.config.get("model") or BUNDLED_MODEL_NAME,
            "versions": _versions(),
            **source.to_dict(),
        }
        task = getattr(source, "task", None)
        if task is not None:
            record["splits"] = {name: len(split) for name, split in task.splits.items()}
        return record
    raise ConfigError(
        f"model_card needs a RunResult, a run record (dict) or the folder of a saved run, not "
        f"{type(source).__name__}."
    )


def _get(record: Mapping[str, Any], dotted: str) -> Any:
    value: Any = record
    for key in dotted.split("."):
        if not isinstance(value, Mapping) or value.get(key) in (None, "", [], {}):
            return None
        value = value[key]
    return value


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{name} must be text or a list of texts.")
        value = "\n".join(f"- {v}" for v in value if v.strip())
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be text (a string or a list of strings), got "
                          f"{type(value).__name__}.")  # fmt: skip
    return value.strip() or None


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _base_model_licence(name: str | None) -> str | None:
    """The licence in the bundled model's own card (README.md front matter), if it is the base."""
    from labkit.bundled import BUNDLED_MODEL_NAME, bundled_model_dir

    if name != BUNDLED_MODEL_NAME:
        return None
    folder = bundled_model_dir()
    card = folder / "README.md" if folder else None
    if card is None or not card.is_file():
        return None
    for line in card.read_text(encoding="utf-8").splitlines()[1:40]:
        if line.strip() == "---":
            break
        if line.startswith("license:"):
            return line.split(":", 1)[1].strip()
    return None


def _labelled(label: str, text: str) -> str:
    """``label text``; a bulleted list goes below its label (a list item run into the label's
    line would render as plain text)."""
    return f"{label}\n\n{text}" if text.startswith("- ") else f"{label} {text}"


def _yaml_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def model_card(
    result: Any,
    *,
    intended_use: str | list[str] | None = None,
    limitations: str | list[str] | None = None,
    out_of_scope: str | list[str] | None = None,
    risks: str | list[str] | None = None,
    factors: str | list[str] | None = None,
    users: str | None = None,
    model_name: str | None = None,
    authors: str | None = None,
    license: str | None = None,  # noqa: A002 - the Hugging Face metadata key
    data_licence: str | None = None,
    data_citation: str | None = None,
    extra_results: Any = None,
) -> str:
    """A Markdown model card for a run (a RunResult, a record dict or a saved folder).

    You write what the record cannot know: ``intended_use`` and ``limitations`` (required),
    ``out_of_scope`` uses, ``risks``, ``factors`` (groups or conditions the evaluation covered),
    the intended ``users``, ``authors`` and the ``license`` you release the model under.
    ``data_licence`` / ``data_citation`` fill in data without recorded provenance (your own
    CSV file). ``extra_results`` (a DataFrame or a {name: value} mapping) adds a table of
    further measurements, e.g. accuracy under perturbations or on another domain.
    """
    record = _record_of(result)
    intended = _text(intended_use, "intended_use")
    limits = _text(limitations, "limitations")
    data = dict(_get(record, "data") or {})
    if data_licence is not None:
        data["licence"] = _text(data_licence, "data_licence")
    if data_citation is not None:
        data["citation"] = _text(data_citation, "data_citation")
    missing = []
    if intended is None:
        missing.append("intended_use (what the model is for, and for whom)")
    if limits is None:
        missing.append("limitations (where it fails or was not tested)")
    for dotted in ("config.method", "metrics.accuracy", "metrics.f1", "task"):
        if _get(record, dotted) is None:
            missing.append(f"{dotted} (from the run record)")
    if not data.get("licence"):
        missing.append("the data's licence (data.licence in the record, or data_licence=...)")
    if not (data.get("citation") or data.get("source")):
        missing.append("the data's source or citation (data.citation, or data_citation=...)")
    if missing:
        raise ConfigError(
            "The model card cannot be written without: " + "; ".join(missing) + ". A card "
            "that leaves these out hides what a reader most needs to know."
        )
    config = record["config"]
    metrics = record["metrics"]
    ledger = record.get("ledger") or {}
    versions = record.get("versions") or {}
    base = record.get("base_model") or config.get("model") or "unknown base model"
    method = config["method"]
    quant = config.get("quantization")
    name = model_name or f"{base.split('/')[-1]}-{record['task']}-{method}"
    positive = None
    if metrics.get("is_binary") and metrics.get("label_names") and metrics.get("labels"):
        positive = metrics["label_names"][metrics["labels"].index(metrics.get("positive", 1))]
    uses_peft = method == "lora"

    out: list[str] = ["---"]
    out.append(f"base_model: {_yaml_value(base)}")
    out.append(f"library_name: {'peft' if uses_peft else 'transformers'}")
    if license:
        out.append(f"license: {_yaml_value(license)}")
    out.append("pipeline_tag: text-classification")
    tags = ["labkit", "text-classification", method] + ([quant] if quant else [])
    out.append("tags:")
    out += [f"- {_yaml_value(t)}" for t in tags]
    out.append("metrics:")
    out += [f"- {key}" for key, _ in METRICS if metrics.get(key) is not None]
    out.append("---")
    out.append("")
    out.append(f"# Model card: {name}")
    out.append("")
    method_text = METHOD_NAMES.get(method, method) + (
        f" on a {quant} quantized base (QLoRA)" if quant else ""
    )
    out.append(f"A `{base}` model fine-tuned with **{method_text}** to classify text into "
               f"{', '.join(repr(n) for n in record.get('label_names', []))}, on the task "
               f"`{record['task']}`. Written by `labkit.modelcard` from the run record; the "
               "uses, risks and limitations are the author's.")  # fmt: skip

    out += ["", "## Model details", ""]
    out.append(f"- **Base model:** `{base}`" + (
        f" (licence: {lic})" if (lic := _base_model_licence(base)) else ""))  # fmt: skip
    if record.get("base_sha256"):
        out.append(f"- **Base weights sha256:** `{record['base_sha256']}`")
    out.append(f"- **Fine-tuning method:** {method_text}")
    keys = ("rank", "alpha", "dropout", "targets", "last_n", "epochs", "batch_size",
            "learning_rate", "max_length", "precision", "seed")  # fmt: skip
    settings = [f"{k}={config[k]}" for k in keys if config.get(k) not in (None, "", [])]
    if settings:
        out.append(f"- **Settings:** {', '.join(settings)}")
    out.append(f"- **Labels:** {record.get('label_names')}"
               + (f"; positive class (id 1): `{positive}`" if positive else ""))  # fmt: skip
    out.append(f"- **Developed by:** {authors or NOT_STATED}")
    out.append(f"- **Licence of this model:** {license or NOT_STATED}")

    out += ["", "## Intended use", "", _labelled("**Primary intended uses.**", intended)]
    out += ["", f"**Primary intended users.** {users or NOT_STATED}"]
    out += ["", _labelled("**Out-of-scope uses.**",
                          _text(out_of_scope, "out_of_scope") or NOT_STATED)]  # fmt: skip

    out += ["", "## Factors", ""]
    out.append(_text(factors, "factors") or (
        "The evaluation was not broken down by group, domain or condition: one test split, "
        "one number per metric. Results may differ for other sources of text, other "
        "writing styles and other time periods."))  # fmt: skip

    out += ["", "## Metrics", ""]
    out.append("Test-split accuracy, precision, recall, F1, specificity and ROC-AUC"
               + (f"; precision, recall, F1 and specificity describe the positive class "
                  f"`{positive}`" if positive else "; multi-class scores are macro averages")
               + ". Predictions take the class with the highest probability (a threshold of "
               "0.5 for two classes); ROC-AUC uses the probabilities and does not depend on a "
               "threshold.")  # fmt: skip

    out += ["", "## Evaluation data", ""]
    splits = record.get("splits") or {}
    test_n = metrics.get("n") or splits.get("test")
    support = metrics.get("support") or {}
    balance = ", ".join(f"{k} {v:,}" for k, v in support.items())
    out.append(f"The test split of `{record['task']}`: {_fmt(test_n)} examples"
               + (f" ({balance})" if balance else "") + ", held out from training and "
               "validation.")  # fmt: skip
    leakage = data.get("leakage")
    if isinstance(leakage, Mapping) and leakage.get("count") is not None:
        out.append(f"Test examples that also occur in train or validation (exact or near "
                   f"copies): {leakage['count']} of {leakage.get('n_test', test_n)}.")  # fmt: skip

    out += ["", "## Training data", ""]
    out.append(f"- **Data set:** {data.get('dataset') or record['task']}")
    if data.get("source"):
        out.append(f"- **Source:** {data['source']}")
    if data.get("citation"):
        out.append(f"- **Citation:** {data['citation']}")
    if data.get("url"):
        out.append(f"- **URL:** {data['url']}")
    out.append(f"- **Licence:** {data['licence']}")
    if data.get("licence_note"):
        out.append(f"- **Licence note:** {data['licence_note']}")
    if splits:
        out.append("- **Splits:** " + ", ".join(f"{k} {v:,}" for k, v in splits.items()))
    if data.get("dedup_removed") is not None:
        out.append(f"- **Duplicates removed before splitting:** {data['dedup_removed']:,}")
    if data.get("train_domains"):
        out.append(f"- **Trained on domains:** {data['train_domains']}; tested on "
                   f"{data.get('test_domain')}")  # fmt: skip
    if data.get("changes"):
        out.append(f"- **Changes to the files:** {data['changes']}")
    out.append(f"- **Data fingerprint (sha256 of every text and label):** "
               f"`{record.get('data_fingerprint')}`")  # fmt: skip
    for file, digest in (data.get("files") or {}).items():
        out.append(f"- **File** `{file}` sha256 `{digest}`")

    out += ["", "## Quantitative analyses", ""]
    out += ["| metric | test |", "| --- | --- |"]
    out += [f"| {label} | {_fmt(metrics.get(key))} |" for key, label in METRICS
            if key in metrics]  # fmt: skip
    counts = metrics.get("counts")
    if isinstance(counts, Mapping):
        out.append("")
        out.append(f"Confusion counts (positive class `{positive}`): TP {counts.get('tp')}, "
                   f"FN {counts.get('fn')}, FP {counts.get('fp')}, TN {counts.get('tn')}.")  # fmt: skip
    if extra_results is not None:
        out += ["", _extra_table(extra_results)]

    out += ["", "## Efficiency", ""]
    rows = (
        ("trainable parameters", ledger.get("trainable_params")),
        ("total parameters", ledger.get("total_params")),
        ("trainable share (%)", ledger.get("trainable_percent")),
        ("model footprint (MB)", ledger.get("footprint_mb")),
        ("training peak on top of the model (MB)", ledger.get("train_peak_mb")),
        ("adapter / trained weights on disk (MB)", ledger.get("adapter_mb")),
        ("training time (s)", ledger.get("train_seconds")),
        ("inference latency (ms per example, batch of up to 32)",
         ledger.get("latency_ms_per_example")),
        ("device", ledger.get("device")),
    )  # fmt: skip
    out += ["| quantity | value |", "| --- | --- |"]
    out += [f"| {k} | {_fmt(v, 3)} |" for k, v in rows if v is not None]
    out.append("")
    out.append(
        "Times and memory were measured on the machine that trained the model and vary "
        "with hardware and load."
    )

    out += ["", "## Ethical considerations", "", _text(risks, "risks") or NOT_STATED]
    out += ["", "## Caveats and recommendations", "", limits]

    out += ["", "## Software versions", ""]
    out.append(", ".join(f"{k} {v}" for k, v in versions.items()) or "not recorded")
    out.append("")
    return "\n".join(out)


def _extra_table(extra: Any) -> str:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(extra, pd.DataFrame):
        frame = extra
    elif isinstance(extra, Mapping):
        frame = None
        lines = ["| measurement | value |", "| --- | --- |"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in extra.items()]
        return "Further measurements:\n\n" + "\n".join(lines)
    else:
        raise ConfigError("extra_results must be a pandas DataFrame or a {name: value} mapping.")
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "Further measurements:\n\n" + "\n".join([header, rule, *body])


def write_model_card(result: Any, path: str | Path, **fields: Any) -> Path:
    """Write :func:`model_card` to ``path``: a folder (it becomes ``README.md`` there, beside a
    saved adapter) or a ``.md`` file. ``result`` may be the saved folder itself."""
    path = Path(path)
    card = model_card(result, **fields)
    target = path if path.suffix.lower() == ".md" else path / "README.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(card, encoding="utf-8")
    return target
