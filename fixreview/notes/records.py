"""The note line format: one self-contained record per line.

A line is ``TAG PAYLOAD[ FIELD]``: a short tag naming the record kind, then the payload
(TOML bytes) and a third field — for a decision or a CI check record its signature, for a
proposal (schema 2 on) its frozen patch, which is kept out of the TOML so that no reader parses
megabytes of TOML string character by character — each as padded base64url. One record per line
lets git's ``cat_sort_uniq`` notes merge keep every record from every clone. Readers skip a line
they cannot parse and report it; such a line never counts for anything.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, TypeVar

import tomli_w
from pydantic import BaseModel, ValidationError

from fixreview.documents import parse_toml_text

TAG_PROPOSAL = "proposal"
TAG_DECISION = "decision"
TAG_CHECK = "check"
KNOWN_TAGS = (TAG_PROPOSAL, TAG_DECISION, TAG_CHECK)
SIGNED_TAGS = (TAG_DECISION, TAG_CHECK)  # payload and signature, always three fields


ModelT = TypeVar("ModelT", bound=BaseModel)


# The longest line a reader looks at. A decision is a few KiB; a proposal carries the AI's frozen
# patch, so it may be larger. Longer lines are reported and skipped, never parsed.
MAX_LINE_BYTES = 16 * 1024 * 1024
MAX_DECISION_LINE_BYTES = 1024 * 1024
MAX_CHECK_LINE_BYTES = 64 * 1024
MAX_LINE_BYTES_BY_TAG = {
    TAG_PROPOSAL: MAX_LINE_BYTES,
    TAG_DECISION: MAX_DECISION_LINE_BYTES,
    TAG_CHECK: MAX_CHECK_LINE_BYTES,
}


@dataclass(frozen=True, slots=True)
class RawRecord:
    """A well-formed line: its tag, the exact payload bytes, the signature bytes (decisions and
    check records) and
    the patch bytes (a proposal's third field; what they must be, its payload says).

    ``removed_in`` is None for a record in the tip of its notes ref; for a record that a later
    notes commit dropped (read from the ref's history), it is that notes commit's id.
    """

    tag: str
    payload: bytes
    signature: bytes | None
    line: str
    removed_in: str | None = None
    patch: bytes | None = None


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line a reader could not use, and why. Reported, never counted."""

    target: str
    number: int
    text: str
    reason: str
    removed_in: str | None = None

    def describe(self) -> str:
        excerpt = self.text if len(self.text) <= 40 else self.text[:37] + "..."
        where = f"note on {self.target[:12]} line {self.number}"
        if self.removed_in is not None:
            where = (
                f"line of the note on {self.target[:12]} dropped by notes commit "
                + (self.removed_in[:12])
            )
        return f"{where}: {self.reason} ({excerpt!r})"


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_SIXBITS = {char: value for value, char in enumerate(_ALPHABET)}


def b64decode(text: str) -> bytes:
    """Padded base64url, strictly (the exact alphabet, the exact padding, nothing after it,
    no stray bits: one spelling per bytes), decoded by C code: a proposal's patch field can be
    megabytes, so the spelling is checked without encoding the result again."""
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("not base64url") from None
    return _b64decode_field(data)


def _b64decode_field(data: bytes) -> bytes:
    """:func:`b64decode` of a field as the line's bytes."""
    if not data or len(data) % 4 or not data.isascii() or b"+" in data or b"/" in data:
        raise ValueError("not base64url")  # "+" and "/": standard base64's, not base64url's
    try:
        decoded = binascii.a2b_base64(data.translate(_TO_STANDARD), strict_mode=True)
    except binascii.Error:
        raise ValueError("not base64url") from None
    # the bits the padding leaves unused in the last character must be zero (else another
    # spelling of the same bytes): 4 of them before "==", 2 before "="
    padding = 2 if data.endswith(b"==") else 1 if data.endswith(b"=") else 0
    if padding and _SIXBITS.get(data[-1 - padding], 1) & (0x0F if padding == 2 else 0x03):
        raise ValueError("not base64url")
    return decoded


def encode_line(
    tag: str, payload: bytes, signature: bytes | None = None, *, patch: bytes | None = None
) -> str:
    """One record as one line (no newline at the end). SIGNATURE is a decision's third field,
    PATCH a proposal's (written by ``proposal_codec.proposal_line`` only)."""
    if tag not in KNOWN_TAGS:
        raise ValueError(f"unknown record tag {tag!r}")
    if not payload or signature == b"" or patch == b"":
        raise ValueError("a record needs a non-empty payload (and signature, or patch)")
    if patch is not None and (tag != TAG_PROPOSAL or signature is not None):
        raise ValueError("only a proposal carries a patch field, and no signature")
    parts = [tag, b64encode(payload)]
    third = signature if signature is not None else patch
    if third is not None:
        parts.append(b64encode(third))
    return " ".join(parts)


def parse_line(target: str, number: int, raw: bytes) -> RawRecord | BadLine | None:
    """One line of a note: a record, a line that is not one, or None for a blank line.

    Never raises: whatever the bytes, the worst outcome is a :class:`BadLine`.
    """
    raw = raw.strip()
    if not raw:
        return None
    if len(raw) > MAX_LINE_BYTES:
        return BadLine(target, number, _excerpt(raw), f"line too long ({len(raw)} bytes)")
    # split as bytes: a space is one byte in UTF-8, and the fields are decoded from the bytes
    # (a proposal's patch field can be megabytes: no text copy of it is made)
    parts = raw.split(b" ")
    tag = parts[0].decode("utf-8", "replace")
    if tag not in KNOWN_TAGS:
        return BadLine(target, number, raw.decode("utf-8", "replace"), "unknown record tag")
    if len(raw) > MAX_LINE_BYTES_BY_TAG[tag]:
        return BadLine(target, number, _excerpt(raw), f"{tag} line too long ({len(raw)} bytes)")
    # a decision or a check: payload and signature; a proposal: payload and, from schema 2 on,
    # its patch
    expected = (3,) if tag in SIGNED_TAGS else (2, 3)
    if len(parts) not in expected:
        count = " or ".join(str(n) for n in expected)
        return BadLine(
            target,
            number,
            raw.decode("utf-8", "replace"),
            f"a {tag} record has {count} fields, not {len(parts)}",
        )
    try:
        payload = _b64decode_field(parts[1])
        third = _b64decode_field(parts[2]) if len(parts) == 3 else None
    except ValueError as exc:
        return BadLine(target, number, raw.decode("utf-8", "replace"), str(exc))
    del parts
    line = raw.decode("utf-8", "replace")
    if tag in SIGNED_TAGS:
        return RawRecord(tag, payload, third, line)
    return RawRecord(tag, payload, None, line, patch=third)


def parse_note(target: str, content: bytes) -> tuple[list[RawRecord], list[BadLine]]:
    """Split a note into records; lines that are not records become :class:`BadLine`."""
    records: list[RawRecord] = []
    bad: list[BadLine] = []
    for number, raw in enumerate(content.split(b"\n"), start=1):
        parsed = parse_line(target, number, raw)
        if isinstance(parsed, RawRecord):
            records.append(parsed)
        elif parsed is not None:
            bad.append(parsed)
    return records, bad


def _excerpt(raw: bytes) -> str:
    return raw[:64].decode("utf-8", "replace") + "..."


def model_to_toml(model: BaseModel) -> bytes:
    """Serialise a record model as TOML (by field alias, absent values left out)."""
    return data_to_toml(model_to_data(model))


def model_to_data(model: BaseModel) -> dict[str, Any]:
    """A record model as the plain data its TOML holds (by field alias, absent values left out)."""
    return model.model_dump(mode="python", by_alias=True, exclude_none=True)


def data_to_toml(data: dict[str, Any]) -> bytes:
    return tomli_w.dumps(_plain(data)).encode("utf-8")


def toml_to_model(payload: bytes, model: type[ModelT]) -> ModelT:
    """Parse and validate a TOML payload; raises ValueError with one line saying what is wrong."""
    return validate_data(parse_toml(payload), model)


def parse_toml(payload: bytes) -> dict[str, Any]:
    """A TOML payload as data; ValueError with one line saying what is wrong."""
    try:
        return parse_toml_text(payload.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError too
        raise ValueError(f"payload is not TOML: {exc}") from None


def validate_data(data: dict[str, Any], model: type[ModelT]) -> ModelT:
    """DATA (parsed from a payload) validated as MODEL; ValueError with one line saying what is
    wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValueError(
            f"payload is not a valid {model.__name__}: {describe_validation(exc)}"
        ) from None
    except RecursionError:
        raise ValueError(f"payload is not a valid {model.__name__}: nested too deeply") from None


def describe_validation(exc: ValidationError) -> str:
    """The first validation problem, naming the key: ``approvals.required: ...``."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    if first["type"] == "missing":
        return f"{where}: missing"
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more)" if more else ""
    return f"{where}: {first['msg']}{suffix}"


def _plain(value: Any) -> Any:
    """Turn tuples into lists and enums into strings, which is all tomli-w needs."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value
