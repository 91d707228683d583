"""A personal-data (PII) scan for short texts: e-mail addresses, phone numbers, short codes, URLs.

``scan_pii(texts)`` finds candidates with the regular expressions below and returns a
:class:`PiiScan` (counts per kind, masked example rows); ``mask_pii(text)`` replaces what it
finds with a placeholder such as ``[MOBILE]``. The patterns were written for this course and
tuned on English SMS messages from the UK (the SMS Spam Collection). They are a first pass
that tells you *whether* a data set holds personal data and roughly how much, not a guarantee
that masked text is anonymous.

Kinds, in the order they claim text (a span taken by an earlier kind is not matched again, so
the number inside ``www.07781482378.com`` counts as part of a URL):

============== ============================================================ ==================
kind           what                                                         identifies a person?
============== ============================================================ ==================
email          ``name@domain.tld``                                          likely
url            ``http(s)://...``, ``www....``, bare domains ending in a     rarely (sites of
               common suffix (.com, .co.uk, .net, .org, .biz, .info, .tv,   businesses, but a
               .us, .uk)                                                    path can hold a name)
phone_intl     ``+`` and a country code, 9-15 digits (``+447797706009``)    likely
mobile         UK mobile: 071-075, 077-079 or 07624, 11 digits, spaces or   likely
               hyphens allowed (also 447 and 9 digits: the number without +)
personal_      UK 070 personal numbers (they forward calls to wherever a    possibly
number         person is; scams use them too) and 076 pagers
landline       UK geographic: 01 or 02, 10-11 digits                        likely
nongeographic  UK 03 and 08 numbers (0800/0808 freephone, 084/087 business  unlikely (business)
               rates), 10-11 digits
premium        UK 09 premium-rate numbers, 11 digits                        unlikely (business)
short_code     a stand-alone 5-digit number, no letter or digit touching it no (business code)
               (UK SMS short codes such as "text WIN to 87121")
============== ============================================================ ==================

Known limits (check them against your own data before relying on the scan):

- **False negatives.** Numbers of other countries written without "+" (8-digit Singapore
  numbers, for instance) are not looked for; numbers glued to other digits are skipped
  (``087187262701.50gbp`` is an 08 number followed by a price), and so are short codes
  touching letters (``Box39822``); numbers written with dots or brackets, spelled out, or with
  letters for digits are missed; e-mail addresses without a dot in the domain
  (``info@vipclub4u``) and bare domains with other suffixes are missed; names, postal addresses
  and dates of birth are not looked for at all (that takes a named-entity model).
- **False positives.** Any stand-alone 5-digit number counts as a short code (an amount such as
  "10000 pounds" written without a currency sign, or an "identifier code", would too); any
  10-11-digit number starting with 0 counts as a UK number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from labkit.errors import ConfigError

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_SUFFIXES = r"(?:com|co\.uk|org\.uk|net|org|biz|info|tv|us|uk)"
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']+"  # scheme or www.: up to the next space
    rf"|(?<![\w@.-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.{_SUFFIXES}(?:/[^\s<>\"']*)?(?![\w-])",
    re.IGNORECASE,
)
_INTERNATIONAL = re.compile(r"(?<![\w+])\+\d(?:[ -]?\d){8,14}(?!\d)")
# UK: 0, then 9-10 more digits, optionally in groups separated by one space or hyphen.
_UK = re.compile(r"(?<!\d)0\d{2,4}(?:[ -]?\d{3,4}){1,2}(?!\d)")
_SHORT_CODE = re.compile(r"(?<![\w£$€,.])\d{5}(?![\w%]|[.,]\d)")
# A UK mobile written in international form without the plus: 44 7xxx xxxxxx.
_UK_MOBILE_INTL = re.compile(r"(?<![\w+])447\d{9}(?!\d)")

KINDS: dict[str, str] = {
    "email": "e-mail address",
    "url": "web address",
    "phone_intl": "international phone number (+ country code)",
    "mobile": "UK mobile number (071-075, 077-079, 07624)",
    "personal_number": "UK personal number or pager (070, 076): forwards to a person",
    "landline": "UK geographic number (01..., 02...)",
    "nongeographic": "UK non-geographic number (03..., 08...: freephone and business rates)",
    "premium": "UK premium-rate number (09...)",
    "short_code": "5-digit SMS short code (a business's code)",
}
IDENTIFIES_PERSON: dict[str, str] = {
    "email": "likely",
    "url": "rarely",
    "phone_intl": "likely",
    "mobile": "likely",
    "personal_number": "possibly",
    "landline": "likely",
    "nongeographic": "unlikely (business)",
    "premium": "unlikely (business)",
    "short_code": "no (business code)",
}
PLACEHOLDER = {kind: f"[{kind.upper()}]" for kind in KINDS}


@dataclass(frozen=True)
class Match:
    """One finding: the text's index, the kind and the character span (the value is not kept)."""

    index: int
    kind: str
    start: int
    end: int


def _uk_kind(digits: str) -> str | None:
    if len(digits) not in (10, 11):
        return None
    prefix = digits[:2]
    if prefix == "07":
        if len(digits) != 11:
            return None
        if digits[:3] in ("070", "076") and not digits.startswith("07624"):
            return "personal_number"
        return "mobile"
    if prefix in ("01", "02"):
        return "landline"
    if prefix in ("03", "08"):
        return "nongeographic"
    if prefix == "09":
        return "premium" if len(digits) == 11 else None
    return None


def _candidates(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) for every pattern's matches, in priority order."""
    found: list[tuple[int, int, str]] = []
    found += [(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]
    for m in _URL.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in ".,;:!?)":  # sentence punctuation
            end -= 1
        found.append((m.start(), end, "url"))
    found += [(m.start(), m.end(), "phone_intl") for m in _INTERNATIONAL.finditer(text)]
    for m in _UK_MOBILE_INTL.finditer(text):  # 447... is 07... written internationally
        found.append((m.start(), m.end(), _uk_kind("0" + m.group()[2:]) or "mobile"))
    for m in _UK.finditer(text):
        kind = _uk_kind(re.sub(r"\D", "", m.group()))
        if kind is not None:
            found.append((m.start(), m.end(), kind))
    found += [(m.start(), m.end(), "short_code") for m in _SHORT_CODE.finditer(text)]
    return found


def find_pii(text: str, kinds: Sequence[str] | None = None) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, kind) findings in ``text``, left to right."""
    if not isinstance(text, str):
        raise ConfigError(f"find_pii needs a string, got {type(text).__name__}.")
    wanted = _check_kinds(kinds)
    taken: list[tuple[int, int, str]] = []
    for start, end, kind in _candidates(text):
        if any(start < e and s < end for s, e, _ in taken):
            continue  # an earlier kind claimed (part of) this span
        taken.append((start, end, kind))
    return sorted(t for t in taken if t[2] in wanted)


def _check_kinds(kinds: Sequence[str] | None) -> set[str]:
    if kinds is None:
        return set(KINDS)
    if isinstance(kinds, str):
        kinds = [kinds]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ConfigError(f"Unknown PII kind {unknown[0]!r}: use some of {list(KINDS)}.")
    return set(kinds)


def mask_pii(text: str, kinds: Sequence[str] | None = None) -> str:
    """``text`` with each finding replaced by its placeholder, e.g. ``[MOBILE]``, ``[EMAIL]``.

    ``kinds`` limits the masking to some kinds (default: all, short codes included).
    """
    out, last = [], 0
    for start, end, kind in find_pii(text, kinds):
        out.append(text[last:start])
        out.append(PLACEHOLDER[kind])
        last = end
    out.append(text[last:])
    return "".join(out)


@dataclass
class PiiScan:
    """The result of :func:`scan_pii`: every match, and the texts to show masked examples."""

    matches: list[Match]
    texts: list[str]
    labels: list[Any] | None = None

    def counts(self) -> Any:
        """One row per kind: matches, texts containing it, share of texts, identifies a person."""
        import pandas as pd

        rows = []
        for kind, description in KINDS.items():
            hits = [m for m in self.matches if m.kind == kind]
            holders = {m.index for m in hits}
            rows.append({
                "kind": kind, "description": description, "matches": len(hits),
                "texts": len(holders), "share of texts": len(holders) / max(len(self.texts), 1),
                "identifies a person": IDENTIFIES_PERSON[kind],
            })  # fmt: skip
        return pd.DataFrame(rows).set_index("kind")

    def by_label(self) -> Any:
        """Texts containing each kind, per label (needs ``labels``)."""
        import pandas as pd

        if self.labels is None:
            raise ConfigError("by_label() needs the labels: scan_pii(texts, labels=...).")
        seen = {(m.index, m.kind) for m in self.matches}
        frame = pd.DataFrame(
            [{"kind": kind, "label": self.labels[i]} for i, kind in seen],
            columns=["kind", "label"],
        )
        table = pd.crosstab(frame["kind"], frame["label"]) if len(frame) else pd.DataFrame()
        return table.reindex(list(KINDS), fill_value=0)

    def texts_with(self, kinds: Sequence[str] | None = None) -> list[int]:
        """Indices of the texts with at least one finding of ``kinds`` (default: any kind)."""
        wanted = _check_kinds(kinds)
        return sorted({m.index for m in self.matches if m.kind in wanted})

    def examples(self, kind: str, n: int = 3) -> list[str]:
        """Up to ``n`` texts containing ``kind``, every finding masked."""
        _check_kinds([kind])
        indices = [i for i in self.texts_with([kind])][:n]
        return [mask_pii(self.texts[i]) for i in indices]

    def __str__(self) -> str:
        counts = self.counts()
        lines = [f"PII scan of {len(self.texts)} texts"]
        for kind, row in counts.iterrows():
            lines.append(f"  {kind:<14} {row['matches']:>5} matches in {row['texts']:>5} texts"
                         f"  (identifies a person: {row['identifies a person']})")  # fmt: skip
        return "\n".join(lines)


def scan_pii(texts: Sequence[str], labels: Sequence[Any] | None = None) -> PiiScan:
    """Scan ``texts`` for e-mail addresses, URLs, phone numbers and short codes.

    ``labels`` (optional, one per text) lets :meth:`PiiScan.by_label` break the counts down,
    e.g. ham against spam. See the module docstring for the patterns and their limits.
    """
    if isinstance(texts, str):
        raise ConfigError("scan_pii needs a list of texts, not one string: wrap it, [text].")
    items = list(texts)
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise ConfigError(f"scan_pii: text {i} is {type(text).__name__}, not a string.")
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(items):
            raise ConfigError(f"scan_pii: {len(items)} texts but {len(labels)} labels.")
    matches = [
        Match(i, kind, start, end)
        for i, text in enumerate(items)
        for start, end, kind in find_pii(text)
    ]
    return PiiScan(matches, items, labels)
