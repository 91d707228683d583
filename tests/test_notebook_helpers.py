"""labkit.notebook: ``claim`` (strict where the course is tested, a note elsewhere) and ``glue``."""

from __future__ import annotations

import pytest

from labkit.notebook import STRICT_ENV, ClaimError, claim


def test_a_true_claim_is_silent(monkeypatch, capsys) -> None:
    monkeypatch.setenv(STRICT_ENV, "1")
    assert claim(0.9 > 0.8, "LoRA beats the head") is None
    assert capsys.readouterr().err == ""


def test_a_false_claim_fails_where_the_course_is_tested(monkeypatch) -> None:
    monkeypatch.setenv(STRICT_ENV, "1")
    with pytest.raises(ClaimError, match="LoRA beats the head") as error:
        claim(0.7 > 0.8, "LoRA beats the head")
    assert isinstance(error.value, AssertionError)  # what an `assert` would have raised


def test_a_false_claim_is_a_note_on_a_learners_machine(monkeypatch, capsys) -> None:
    monkeypatch.delenv(STRICT_ENV, raising=False)
    assert claim(0.7 > 0.8, "LoRA beats the head") is None
    note = capsys.readouterr().err
    assert '"LoRA beats the head" does not hold' in note and "quick profile" in note


def test_the_tests_run_with_strict_claims() -> None:
    import os

    assert os.environ.get(STRICT_ENV) == "1"  # set by the repository's conftest.py


def test_numpy_booleans_are_claims(monkeypatch) -> None:
    np = pytest.importorskip("numpy")
    monkeypatch.setenv(STRICT_ENV, "1")
    claim(np.bool_(True))
    with pytest.raises(ClaimError):
        claim(np.array([1, 2]).sum() > 5, "the sum is large")
