"""The strict base64url decoder of note fields (fixreview.notes.records.b64decode) accepts
exactly what decoding and encoding back accepts: one spelling per bytes, checked without the
second encoding (it cost a second pass over megabytes of a proposal's patch field); and a note
line split and decoded as bytes parses exactly as it did when split as text."""

from __future__ import annotations

import base64
import binascii
import itertools

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fixreview.notes.records import (
    KNOWN_TAGS,
    MAX_LINE_BYTES,
    MAX_LINE_BYTES_BY_TAG,
    TAG_DECISION,
    BadLine,
    RawRecord,
    _excerpt,
    b64decode,
    b64encode,
    parse_line,
)

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


def _reference_line(target: str, number: int, raw: bytes) -> RawRecord | BadLine | None:
    """parse_line as it was: the line decoded to text, split, each field encoded back."""
    raw = raw.strip()
    if not raw:
        return None
    if len(raw) > MAX_LINE_BYTES:
        return BadLine(target, number, _excerpt(raw), f"line too long ({len(raw)} bytes)")
    line = raw.decode("utf-8", "replace")
    parts = line.split(" ")
    tag = parts[0]
    if tag not in KNOWN_TAGS:
        return BadLine(target, number, line, "unknown record tag")
    if len(raw) > MAX_LINE_BYTES_BY_TAG[tag]:
        return BadLine(target, number, _excerpt(raw), f"{tag} line too long ({len(raw)} bytes)")
    expected = (3,) if tag == TAG_DECISION else (2, 3)
    if len(parts) not in expected:
        count = " or ".join(str(n) for n in expected)
        return BadLine(
            target, number, line, f"a {tag} record has {count} fields, not {len(parts)}"
        )
    try:
        payload = _reference(parts[1])
        third = _reference(parts[2]) if len(parts) == 3 else None
    except ValueError as exc:
        return BadLine(target, number, line, str(exc))
    if tag == TAG_DECISION:
        return RawRecord(tag, payload, third, line)
    return RawRecord(tag, payload, None, line, patch=third)


_FIELD = st.one_of(
    st.binary(min_size=1, max_size=12).map(lambda b: b64encode(b).encode()),
    st.binary(max_size=12),
    st.sampled_from([b"", b"=", b"\xe2", b"\xc3\xa9", b"\xff\xfe", b"YWI=\xe2\x80", b"+/=="]),
)


@settings(max_examples=600, deadline=None, database=None)
@given(
    st.sampled_from([b"proposal", b"decision", b"propos\xc3\xa9", b"\xe2", b""]),
    st.lists(_FIELD, max_size=4),
    st.sampled_from([b"", b" ", b"\t", b"\r"]),
)
@example(b"decision", [b"YWI=", b"\xe2 ", b"YWI="], b"")
def test_a_line_parses_as_it_did_when_it_was_split_as_text(
    tag: bytes, fields: list[bytes], edge: bytes
) -> None:
    raw = edge + b" ".join([tag, *fields]) + edge
    assert parse_line("c" * 40, 3, raw) == _reference_line("c" * 40, 3, raw)
