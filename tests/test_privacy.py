"""The personal-data scan: patterns on written strings, and counts on the real SMS data."""

from __future__ import annotations

import pytest

from labkit.errors import ConfigError
from labkit.privacy import KINDS, find_pii, mask_pii, scan_pii


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Call 07732584351 now", "Call [MOBILE] now"),
        ("ring 07700-900-123 tonight", "ring [MOBILE] tonight"),
        ("U 447801259231 have a secret admirer", "U [MOBILE] have a secret admirer"),
        ("Freephone 0800 542 0578.", "Freephone [NONGEOGRAPHIC]."),
        ("Help08718728876", "Help[NONGEOGRAPHIC]"),
        ("call 09061701461. Claim code KL341", "call [PREMIUM]. Claim code KL341"),
        ("my no. 0125698789 ring me", "my no. [LANDLINE] ring me"),
        ("Tel: 020 7946 0958", "Tel: [LANDLINE]"),
        ("call 07046744435 now", "call [PERSONAL_NUMBER] now"),
        ("+447797706009 wants you", "[PHONE_INTL] wants you"),
        ("txt WIN to 87121 now", "txt WIN to [SHORT_CODE] now"),
        ("Text STOP to 82277.", "Text STOP to [SHORT_CODE]."),
        ("mail me: yijue@hotmail.com!", "mail me: [EMAIL]!"),
        ("see www.07781482378.com.", "see [URL]."),  # the number is part of the URL
        ("visit http://www.urawinner.com now", "visit [URL] now"),
        ("sent via fullonsms.com", "sent via [URL]"),
    ],
)
def test_each_pattern_on_written_strings(text, masked) -> None:
    assert mask_pii(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "Win £10000 cash",  # an amount, not a short code
        "in 2000 yrs",  # 4 digits
        "POBox36504W45WQ",  # a box number touching letters
        "087187262701.50gbp",  # a number glued to a price: skipped (documented)
        "msg@150p",  # no domain: not an e-mail address
        "call 123456",  # 6 digits, no leading 0
        "Is da num 98321561 familiar",  # an 8-digit non-UK number: not looked for (documented)
    ],
)
def test_what_the_patterns_leave_alone(text) -> None:
    assert find_pii(text) == []


def test_mask_can_keep_business_codes() -> None:
    text = "Call 07732584351 or txt WIN to 87121"
    assert mask_pii(text, kinds=["mobile"]) == "Call [MOBILE] or txt WIN to 87121"
    with pytest.raises(ConfigError, match="Unknown PII kind"):
        mask_pii(text, kinds=["phone"])
    with pytest.raises(ConfigError, match="string"):
        find_pii(12345)


def test_scan_counts_examples_and_labels() -> None:
    texts = ["Call 07732584351 now", "hi there", "txt WIN to 87121 or 87121", "x@y.com"]
    scan = scan_pii(texts, labels=["spam", "ham", "spam", "ham"])
    counts = scan.counts()
    assert list(counts.index) == list(KINDS)
    assert counts.loc["short_code", "matches"] == 2 and counts.loc["short_code", "texts"] == 1
    assert counts.loc["mobile", "share of texts"] == 0.25
    assert counts.loc["short_code", "identifies a person"].startswith("no")
    assert scan.examples("mobile") == ["Call [MOBILE] now"]
    assert scan.texts_with(["email"]) == [3]
    assert scan.by_label().loc["email", "ham"] == 1
    assert "07732584351" not in str(scan) + str(scan.examples("mobile"))
    with pytest.raises(ConfigError, match="labels"):
        scan_pii(texts, labels=["spam"])
    with pytest.raises(ConfigError, match="list of texts"):
        scan_pii("one text")
    with pytest.raises(ConfigError, match="labels"):
        scan_pii(texts).by_label()


def test_counts_on_the_real_sms_collection() -> None:
    # All 5,574 messages as shipped. The counts were checked by reading the matches: every
    # premium and non-geographic match is a service number in a spam message, and the only
    # e-mail address in a ham message is a person's.
    import labkit

    task = labkit.load_task("sms_spam")  # deduplicated: 5,133 messages
    texts = [t for split in task.splits.values() for t in split.texts]
    labels = [task.label_names[y] for split in task.splits.values() for y in split.labels]
    scan = scan_pii(texts, labels)
    counts = scan.counts()["texts"]
    by_label = scan.by_label()
    assert len(texts) == 5133
    # Texts holding each kind, ham / spam. The data is sha256-checked, so these are exact.
    expected = {"email": (1, 6), "url": (9, 112), "phone_intl": (0, 2), "mobile": (0, 14),
                "personal_number": (0, 5), "landline": (1, 10), "nongeographic": (0, 184),
                "premium": (0, 129), "short_code": (0, 196)}  # fmt: skip
    for kind, (ham, spam) in expected.items():
        assert (by_label.loc[kind, "ham"], by_label.loc[kind, "spam"]) == (ham, spam), kind
        assert counts[kind] == ham + spam
