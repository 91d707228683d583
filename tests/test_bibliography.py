"""The bibliography: author-year labels that match the citations, and titles that keep their
capitals (book/_ext/bibstyle.py, references.bib, the bibtex settings in _config.yml)."""

from __future__ import annotations

import importlib.util
import re
from types import SimpleNamespace

import pybtex.plugin
import pytest
import yaml
from pybtex.database import parse_file

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def bibstyle():
    spec = importlib.util.spec_from_file_location(
        "bibstyle", ROOT / "book" / "_ext" / "bibstyle.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.register()
    return module


@pytest.fixture(scope="module")
def listed(bibstyle) -> dict[str, tuple[str, str]]:
    """key -> (label, entry as plain text), as the bibliography page lists them."""
    style = pybtex.plugin.find_plugin("pybtex.style.formatting", bibstyle.NAME)()
    bib = parse_file(ROOT / "references.bib")
    formatted = style.format_entries(bib.entries.values())
    return {e.key: (e.label, e.text.render_as("text")) for e in formatted}


def test_the_site_uses_the_author_year_styles(bibstyle) -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]
    assert config["local_extensions"]["bibstyle"] == "book/_ext"
    assert config["config"]["bibtex_default_style"] == bibstyle.NAME
    assert config["config"]["bibtex_reference_style"] == bibstyle.REFERENCE_NAME


def test_labels_are_author_year_and_unique(listed) -> None:
    labels = [label for label, _ in listed.values()]
    assert len(set(labels)) == len(labels)
    assert listed["hu2022lora"][0] == "Hu et al., 2022"  # not the alpha style's "HSW+22"
    assert listed["kingma2015adam"][0] == "Kingma and Ba, 2015"
    assert listed["fawcett2006roc"][0] == "Fawcett, 2006"
    # same first author and year: told apart, in the order of the list
    assert listed["dettmers2022llmint8"][0] == "Dettmers et al., 2022a"
    assert listed["dettmers2022optimizers"][0] == "Dettmers et al., 2022b"
    assert listed["touvron2023llama"][0] == "Touvron et al., 2023a"
    assert listed["touvron2023llama2"][0] == "Touvron et al., 2023b"
    assert listed["dettmers2023qlora"][0] == "Dettmers et al., 2023"


def test_the_list_is_in_author_order(listed) -> None:
    order = [label.lower() for label, _ in listed.values()]
    assert order == sorted(order)  # an organisation ("{IEEE Computer Society}") sorts under I


def test_the_text_cites_with_the_labels_year(bibstyle) -> None:
    entry = SimpleNamespace(label="Dettmers et al., 2022b")
    year = bibstyle.label_year.format_data({"formatted_entry": entry})
    assert str(year) == "2022b"
    style = bibstyle.AuthorYearLabelsReferenceStyle()
    assert {"p", "t", "ps", "ts", "year"} <= set(style.role_names())
    for role in ("p", "t", "year"):
        assert "label_year" in repr(style.inner(role))


@pytest.mark.parametrize(
    ("key", "kept"),
    [
        ("lee2019elsa", "What would Elsa do? Freezing layers"),
        ("sbert_minilm_card", "sentence-transformers/all-MiniLM-L6-v2 (model card)"),
        ("ieee754", "(IEEE Std 754-2019)"),
        ("iso42001", "ISO/IEC 42001:2023 Information technology"),
        ("dettmers2023qlora", "QLoRA: efficient finetuning of quantized LLMs"),
    ],
)
def test_titles_keep_their_capitals(listed, key: str, kept: str) -> None:
    assert kept in listed[key][1]


def test_every_cited_key_is_in_the_bibliography(listed) -> None:
    cited = set()
    for path in [*ROOT.glob("book/**/*.ipynb"), *ROOT.glob("book/**/*.md"),
                 *ROOT.glob("solutions/*.ipynb")]:  # fmt: skip
        for keys in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", path.read_text()):
            cited.update(k.strip() for k in keys.split(","))
    assert cited and cited <= set(listed)
