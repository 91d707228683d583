"""Sphinx extension: author-year labels in the bibliography that match the citations in the text.

The text cites by author and year ("[Hu et al., 2022]"), but sphinxcontrib-bibtex's default list
style labels the entries alpha-style ("[HSW+22]"), so a reader cannot find a citation in the
list by its label, and two papers of the same first author and year cite identically
("Dettmers et al., 2022" for LLM.int8() and for 8-bit optimizers). This extension registers:

- a pybtex label style ``author_year``: the names as the citations show them ("Hu et al.",
  "Kingma and Ba", "Fawcett"), a comma and the year, with a, b, ... appended to the year when
  two entries would get the same label ("Dettmers et al., 2022a" and "2022b");
- a pybtex formatting style ``author_year`` (pybtex's alpha style, sorted by author, year and
  title, with those labels), selected by ``bibtex_default_style: author_year``;
- a referencing style ``author_year_labels`` (sphinxcontrib-bibtex's ``author_year``, but the
  year it prints is the label's year, suffix included), selected by
  ``bibtex_reference_style: author_year_labels``.

Citation and list then read the same: "[Dettmers et al., 2022a]" in the text, the same label
in front of the entry.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pybtex.plugin
from pybtex.richtext import Text
from pybtex.style.formatting.alpha import Style as AlphaStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle as AuthorYearTitleSorting
from sphinxcontrib.bibtex.plugin import register_plugin
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle
from sphinxcontrib.bibtex.style.referencing.basic_author_year import (
    BasicAuthorYearParentheticalReferenceStyle,
    BasicAuthorYearTextualReferenceStyle,
)
from sphinxcontrib.bibtex.style.referencing.extra_author import ExtraAuthorReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_empty import ExtraEmptyReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_label import ExtraLabelReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_year import ExtraYearReferenceStyle
from sphinxcontrib.bibtex.style.template import (
    join,
    join2,
    node,
    post_text,
    pre_text,
    reference,
    year,
)

NAME = "author_year"  # the pybtex label and formatting styles
REFERENCE_NAME = "author_year_labels"  # the sphinxcontrib-bibtex referencing style
_YEAR_AT_END = re.compile(r"(\d{4}[a-z]?|n\.d\.[a-z]?)$")


# --- the list: labels ------------------------------------------------------------------------
def base_label(entry: Any) -> str:
    """ "Hu et al., 2022": the names exactly as an author-year citation prints them."""
    style = AuthorYearReferenceStyle()
    names = style.person.author_or_editor_or_title(full=False).format_data(
        {"entry": entry, "style": style}
    )
    return f"{names.render_as('text')}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Author-year labels; a, b, ... after the year where two entries would share one."""

    def format_labels(self, sorted_entries: Iterable[Any]) -> Iterator[str]:
        labels = [base_label(entry) for entry in sorted_entries]
        count = Counter(labels)
        seen: Counter = Counter()
        for label in labels:
            if count[label] == 1:
                yield label
            else:
                yield label + chr(ord("a") + seen[label])
                seen[label] += 1


class AuthorYearSorting(AuthorYearTitleSorting):
    """Author, year, title, as pybtex sorts them, but blind to BibTeX braces and accent
    commands: "{IEEE Computer Society}" sorts under I, not after Z."""

    def person_key(self, person: Any) -> str:
        return re.sub(r"\\[^a-zA-Z\s]|[{}]", "", super().person_key(person))


class AuthorYearStyle(AlphaStyle):
    """pybtex's alpha style (its formatting) with author-year labels, in author-year order."""

    default_label_style = AuthorYearLabelStyle
    default_sorting_style = AuthorYearSorting


# --- the text: the year of the label -----------------------------------------------------------
@node
def label_year(children: list, data: dict[str, Any]) -> Any:
    """The year as the entry's label shows it ("2022a"), else the entry's year field."""
    assert not children
    label = getattr(data.get("formatted_entry"), "label", "") or ""
    found = _YEAR_AT_END.search(label)
    return Text(found.group(1)) if found else year.format_data(data)


@dataclass
class _Parenthetical(BasicAuthorYearParentheticalReferenceStyle):
    def inner(self, role_name: str) -> Any:
        return join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
            pre_text,
            reference[
                join(sep=self.author_year_sep)[
                    self.person.author_or_editor_or_title(full="s" in role_name), label_year
                ]
            ],
            post_text,
        ]


@dataclass
class _Textual(BasicAuthorYearTextualReferenceStyle):
    def inner(self, role_name: str) -> Any:
        return join(sep=self.text_reference_sep)[
            self.person.author_or_editor_or_title(full="s" in role_name),
            join[
                self.bracket.left,
                join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
                    pre_text, reference[label_year], post_text
                ],
                self.bracket.right,
            ],
        ]


@dataclass
class _Year(ExtraYearReferenceStyle):
    def inner(self, role_name: str) -> Any:
        return reference[label_year]


@dataclass
class AuthorYearLabelsReferenceStyle(AuthorYearReferenceStyle):
    """sphinxcontrib-bibtex's author_year style, with the label's year (suffix included)."""

    def __post_init__(self) -> None:
        self.styles.extend([
            _Parenthetical(bracket=self.bracket_parenthetical, person=self.person,
                           author_year_sep=self.author_year_sep, pre_text_sep=self.pre_text_sep,
                           post_text_sep=self.post_text_sep),
            _Textual(bracket=self.bracket_textual, person=self.person,
                     text_reference_sep=self.text_reference_sep, pre_text_sep=self.pre_text_sep,
                     post_text_sep=self.post_text_sep),
            ExtraAuthorReferenceStyle(bracket=self.bracket_author, person=self.person),
            ExtraLabelReferenceStyle(bracket=self.bracket_label),
            _Year(bracket=self.bracket_year),
            ExtraEmptyReferenceStyle(),
        ])  # fmt: skip
        # GroupReferenceStyle's own initialisation (maps role names to the styles above),
        # skipping AuthorYearReferenceStyle's, which would add the plain-year styles again
        super(AuthorYearReferenceStyle, self).__post_init__()


def register() -> None:
    """Make the styles known to pybtex and sphinxcontrib-bibtex (idempotent)."""
    pybtex.plugin.register_plugin("pybtex.style.labels", NAME, AuthorYearLabelStyle, force=True)
    pybtex.plugin.register_plugin("pybtex.style.formatting", NAME, AuthorYearStyle, force=True)
    register_plugin("sphinxcontrib.bibtex.style.referencing", REFERENCE_NAME,
                    AuthorYearLabelsReferenceStyle, force=True)  # fmt: skip


def setup(app: Any) -> dict[str, Any]:
    register()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
