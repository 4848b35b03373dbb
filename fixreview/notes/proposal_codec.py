"""The stored form of a proposal record, written by :func:`proposal_line` and read back by
:func:`proposal_from_record` — nothing else writes or reads it.

Schema 2 (written now) keeps the frozen patch out of the TOML payload::

    proposal PAYLOAD PATCH

``PAYLOAD`` is the proposal as TOML with ``suggestion.patch`` replaced by
``suggestion.patch_sha256`` and ``suggestion.patch_bytes``; ``PATCH`` is the patch's UTF-8
bytes, as padded base64url. A patch of 0 bytes has no field (``proposal PAYLOAD``). Reading
it costs one base64 decode, one SHA-256 and one UTF-8 decode of the patch, all at C speed, and
a TOML parse of a few hundred bytes: Python's ``tomllib`` parses a TOML string character by
character, which took a second for a 20,000-line patch held in the payload.

Schema 3 is schema 2 with ``suggestion.unmatched``: why the producer's change is in no commit of
the branch, for a proposal ``propose --force`` recorded at the head anyway. It is written only
for such a proposal, so that a reader of schemas 1 and 2 refuses it instead of dropping the
reason; a schema-1 or schema-2 payload with that key is refused, and so is a schema-3 payload
without it.

Schema 1 (written by earlier versions) is ``proposal PAYLOAD``, the patch inside the payload as
``suggestion.patch``; it is still read. A record that mixes the two forms (a schema-1 payload
with a patch field, a schema-2 payload with ``suggestion.patch``, a missing field, a field the
payload's hash or size does not name) is refused: ValueError, which the reader reports as a
warning.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from fixreview.models import (
    PROPOSAL_SCHEMA,
    PROPOSAL_SCHEMA_UNMATCHED,
    PROPOSAL_SCHEMAS,
    Proposal,
)
from fixreview.notes.records import (
    TAG_PROPOSAL,
    RawRecord,
    data_to_toml,
    encode_line,
    model_to_data,
    parse_toml,
    validate_data,
)

_SHA256 = re.compile(r"[0-9a-f]{64}")


def proposal_line(proposal: Proposal) -> str:
    """PROPOSAL as one note line in its stored form, whatever its ``schema_version``: schema 2,
    or 3 when its suggestion says why it is unmatched (so that a reader of schema 2 only refuses
    it rather than drop that)."""
    patch = proposal.suggestion.patch.encode("utf-8")
    data = model_to_data(proposal)
    unmatched = proposal.suggestion.unmatched is not None
    data["schema"] = PROPOSAL_SCHEMA_UNMATCHED if unmatched else PROPOSAL_SCHEMA
    suggestion: dict[str, Any] = {}
    for key, value in data["suggestion"].items():
        if key == "patch":  # in its place: what the line's patch field must be
            suggestion["patch_sha256"] = hashlib.sha256(patch).hexdigest()
            suggestion["patch_bytes"] = len(patch)
        else:
            suggestion[key] = value
    data["suggestion"] = suggestion
    return encode_line(TAG_PROPOSAL, data_to_toml(data), patch=patch or None)


def proposal_from_record(raw: RawRecord) -> Proposal:
    """The proposal a well-formed ``proposal`` line holds, of either schema; ValueError with one
    line saying why not."""
    data = parse_toml(raw.payload)
    schema = data.setdefault("schema", 1)  # a payload without one was read as schema 1
    if type(schema) is not int or schema not in PROPOSAL_SCHEMAS:
        shown = repr(schema)[:20]
        *earlier, last = (str(n) for n in PROPOSAL_SCHEMAS)
        readable = f"{', '.join(earlier)} or {last}" if earlier else last
        raise ValueError(
            f"schema {shown}: this version of fixreview reads proposal schemas {readable} only"
        )
    if schema == 1:
        if raw.patch is not None:
            raise ValueError(
                "a schema-1 proposal holds its patch in its payload: it has no patch field"
            )
    else:
        _insert_patch(data, raw.patch)
    suggestion = data.get("suggestion")
    keys = suggestion if isinstance(suggestion, dict) else {}
    if schema < PROPOSAL_SCHEMA_UNMATCHED and "unmatched" in keys:
        raise ValueError(f"suggestion.unmatched: unknown key in a schema-{schema} proposal")
    if schema == PROPOSAL_SCHEMA_UNMATCHED and "unmatched" not in keys:
        raise ValueError("suggestion.unmatched: missing (a schema-3 proposal is an unmatched one)")
    return validate_data(data, Proposal)


def _insert_patch(data: dict[str, Any], field: bytes | None) -> None:
    """Check the line's patch FIELD against what the schema-2 payload DATA names, and put it in
    DATA as ``suggestion.patch``."""
    suggestion = data.get("suggestion")
    if not isinstance(suggestion, dict):
        return  # validation names what is wrong with it
    if "patch" in suggestion:
        raise ValueError(
            "suggestion.patch: a schema-2 proposal carries its patch in the line's own field, "
            "never in its payload"
        )
    digest = suggestion.pop("patch_sha256", None)
    size = suggestion.pop("patch_bytes", None)
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise ValueError("suggestion.patch_sha256: missing or not a SHA-256 (64 hex digits)")
    if type(size) is not int or size < 0:
        raise ValueError("suggestion.patch_bytes: missing or not a size in bytes")
    patch = field if field is not None else b""
    if size and field is None:
        raise ValueError(
            f"the patch field is missing (suggestion.patch_bytes names {size} bytes)"
        )
    if len(patch) != size:
        raise ValueError(
            f"the patch field holds {len(patch)} bytes, suggestion.patch_bytes says {size}"
        )
    if hashlib.sha256(patch).hexdigest() != digest:
        raise ValueError("the patch field does not match suggestion.patch_sha256")
    try:
        suggestion["patch"] = patch.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the patch field is not UTF-8 text") from None
