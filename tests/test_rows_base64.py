"""The strict base64url decoder of note fields (fixreview.notes.records.b64decode) accepts
exactly what decoding and encoding back accepts: one spelling per bytes, checked without the
second encoding (it cost a second pass over megabytes of a proposal's patch field)."""

from __future__ import annotations

import base64
import binascii
import itertools

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fixreview.notes.records import b64decode, b64encode

_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


def _reference(text: str) -> bytes:
    """The decoder as it was: decode strictly, then encode back and compare."""
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("not base64url") from None
    if not data or b"+" in data or b"/" in data:
        raise ValueError("not base64url")
    try:
        decoded = binascii.a2b_base64(data.translate(_TO_STANDARD), strict_mode=True)
    except binascii.Error:
        raise ValueError("not base64url") from None
    if base64.urlsafe_b64encode(decoded).decode("ascii") != text:
        raise ValueError("not base64url")
    return decoded


def _outcome(decoder: object, text: str) -> bytes | str:
    assert callable(decoder)
    try:
        result = decoder(text)
    except ValueError:
        return "refused"
    assert isinstance(result, bytes)
    return result


_CHARS = "AQgwB_-+/=\n \t.é"


@pytest.mark.parametrize("length", range(0, 6))
def test_every_short_spelling_is_judged_as_the_reference_judges_it(length: int) -> None:
    for chars in itertools.product(_CHARS, repeat=length):
        text = "".join(chars)
        assert _outcome(b64decode, text) == _outcome(_reference, text), text


@settings(max_examples=400, deadline=None, database=None)
@given(
    st.binary(min_size=1, max_size=40),
    st.integers(min_value=0, max_value=60),
    st.sampled_from(_CHARS),
)
@example(b"\xff", 1, "B")  # "_w==" -> "_x==": a stray bit after the data
@example(b"ab", 2, "B")  # "YWI=" -> "YWJ=": a stray bit before a single "="
def test_a_changed_spelling_is_judged_as_the_reference_judges_it(
    data: bytes, where: int, char: str
) -> None:
    text = b64encode(data)
    assert b64decode(text) == data
    at = min(where, len(text))
    for changed in (
        text[:at] + char + text[at:],  # a character inserted
        text[:at] + char + text[at + 1 :],  # a character replaced
        text[:-1],
        text + "=",
        text.rstrip("="),
    ):
        assert _outcome(b64decode, changed) == _outcome(_reference, changed), changed


def test_stray_bits_are_refused() -> None:
    assert b64decode("_w==") == b"\xff"
    for spelling in ("_x==", "_-==", "YWJ=", "YWL="):
        with pytest.raises(ValueError):
            b64decode(spelling)
