"""Warm reads of a large queue: a proposal whose frozen patch is over 8 MiB is kept whole in its
``notes`` entry (read warm without reading its note), entry limits by kind, entry paths joined
as text, and the risk key's fix facts unchanged by leaving the patch out of the dump."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixreview.models import Finding, Proposal, Suggestion
from fixreview.notes import store
from fixreview.notes.proposal_codec import proposal_from_record, proposal_line
from fixreview.notes.records import TAG_PROPOSAL
from fixreview.notes.store import NOTES_CACHE_KIND, PROPOSALS_REF, append_record, read_models
from fixreview.queue import check_proposal, load_queue
from fixreview.repo.git import Repository
from fixreview.resultcache import (
    LARGE_ENTRY_BYTES,
    MAX_ENTRY_BYTES,
    ResultCache,
    cache_key,
)
from fixreview.risk import _fix_facts


def _big_patch(size: int) -> str:
    """A diff of one new file, at least SIZE bytes long."""
    line = "+" + "x" * 99 + "\n"
    count = size // len(line) + 1
    header = "diff --git a/big.txt b/big.txt\n--- /dev/null\n+++ b/big.txt\n"
    header += f"@@ -0,0 +1,{count} @@\n"
    return header + line * count


def test_a_proposal_over_8_mib_is_read_warm_from_its_entry(
    demo_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The note of a proposal whose patch alone is over MAX_ENTRY_BYTES has its group kept in
    one (larger) entry: a warm read parses no note, and gives what the cold read gave."""
    repo = Repository(demo_repo)
    head = repo.resolve("ai-fix/sqli-invoice-search")
    assert head is not None
    patch = _big_patch(MAX_ENTRY_BYTES + 1024)
    proposal = Proposal(
        schema_version=2,
        id="big-one",
        branch="ai-fix/sqli-invoice-search",
        recorded=datetime(2030, 1, 1, tzinfo=UTC),
        finding=Finding(id="BIG-1", severity="high"),
        suggestion=Suggestion(commit=head, patch=patch),
    )
    append_record(repo, PROPOSALS_REF, head, proposal_line(proposal))

    def models() -> list[Proposal]:
        found = read_models(
            Repository(demo_repo),
            PROPOSALS_REF,
            TAG_PROPOSAL,
            Proposal,
            check=check_proposal,
            decode=proposal_from_record,
        )
        return [m for items in found.by_target.values() for m in items]

    cold = models()
    assert any(m.suggestion.patch == patch for m in cold)
    directory = ResultCache.under(repo.common_dir, NOTES_CACHE_KIND).directory
    assert directory is not None
    sizes = [p.stat().st_size for p in directory.rglob("*") if p.is_file()]
    assert max(sizes) > MAX_ENTRY_BYTES  # the big group has its entry

    parsed: list[str] = []
    real = store._parse_note

    def counting(records_store, target, *rest):  # type: ignore[no-untyped-def]
        parsed.append(target)
        return real(records_store, target, *rest)

    monkeypatch.setattr(store, "_parse_note", counting)
    warm = models()
    assert parsed == []
    assert warm == cold
    # and the queue's fix carries the big patch, read warm
    fix = load_queue(Repository(demo_repo)).get("ai-fix/sqli-invoice-search")
    assert fix.suggestion is not None and fix.suggestion.patch == patch
    assert parsed == []


def test_entry_limits_by_kind(tmp_path: Path) -> None:
    """Kinds holding proposals take entries up to LARGE_ENTRY_BYTES; others stay at
    MAX_ENTRY_BYTES; an explicit limit wins."""
    body = b"x" * (MAX_ENTRY_BYTES + 10)
    key = cache_key("test", "1", "big")
    for kind in ("notes", "records"):
        cache = ResultCache(tmp_path, kind)
        assert cache.max_bytes == LARGE_ENTRY_BYTES
        assert cache.put(key, body)
        assert cache.get(key) == body
        assert not cache.put(key, b"x" * LARGE_ENTRY_BYTES)  # header included: over
    small = ResultCache(tmp_path, "risk-flags")
    assert small.max_bytes == MAX_ENTRY_BYTES
    assert not small.put(key, body)
    assert small.get(key) is None
    assert ResultCache(tmp_path, "notes", max_bytes=600).max_bytes == 600
    # an oversized file where a large kind's entry should be is a miss, never read whole
    notes = ResultCache(tmp_path, "notes")
    path = notes.path(key)
    assert path is not None
    path.write_bytes(b"y" * (LARGE_ENTRY_BYTES + 1))
    assert notes.get(key) is None


def test_entry_paths_are_the_same_as_joined_paths(tmp_path: Path) -> None:
    """An entry's path is KIND/ab/cdef… under the root; anything but 64 lowercase hex digits
    (a trailing newline included) names no entry."""
    cache = ResultCache(tmp_path, "notes")
    key = cache_key("test", "1", "path")
    assert cache.path(key) == tmp_path / "notes" / key[:2] / key[2:]
    assert cache.put(key, b"body")
    assert (tmp_path / "notes" / key[:2] / key[2:]).is_file()
    for bad in (key + "\n", key.upper(), key[:-1], "../" + key[3:], ""):
        assert cache.path(bad) is None
        assert cache.get(bad) is None
        assert not cache.put(bad, b"body")


def _reference_facts(fix: object) -> str:
    """The fix facts as computed before the patch was left out of the dump."""
    from fixreview.models import Fix

    assert isinstance(fix, Fix)
    data = fix.model_dump(
        mode="json", by_alias=True, exclude={"branch": {"status"}, "stats": True, "problems": True}
    )
    suggestion = data.get("suggestion")
    if isinstance(suggestion, dict) and fix.suggestion is not None:
        patch = fix.suggestion.patch.encode("utf-8", "surrogatepass")
        suggestion["patch"] = f"sha256:{hashlib.sha256(patch).hexdigest()}:{len(patch)}"
    return json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(",", ":"))


def test_the_risk_keys_fix_facts_are_unchanged(demo_repo: Path) -> None:
    """Every demo fix (with a frozen patch, with a trailer suggestion, with none) has the fix
    facts it had when the patch was dumped and then replaced by its hash: the same risk keys,
    so no entry of an earlier run is lost and none is shared by different patches."""
    queue = load_queue(Repository(demo_repo))
    kinds = {
        "patch" if f.suggestion and f.suggestion.patch else "suggestion" if f.suggestion else "none"
        for f in queue.fixes
    }
    assert "patch" in kinds and len(kinds) > 1, kinds
    for fix in queue.fixes:
        assert _fix_facts(fix) == _reference_facts(fix)
    fix = next(f for f in queue.fixes if f.suggestion and f.suggestion.patch)
    assert fix.suggestion is not None
    changed = fix.model_copy(deep=True)
    assert changed.suggestion is not None
    changed.suggestion.patch += "+one more line\n"
    assert _fix_facts(changed) != _fix_facts(fix)
    assert _fix_facts(changed) == _reference_facts(changed)


def _reference_fields(fields: tuple[object, ...]) -> bytes:
    """encode_fields as written before its fast path for exact str and bytes."""
    out = bytearray()
    for item in fields:
        if item is None:
            out += b"N"
            continue
        if isinstance(item, int):
            tag, data = b"I", str(item).encode("ascii")
        elif isinstance(item, str):
            tag, data = b"S", item.encode("utf-8", "surrogatepass")
        else:
            assert isinstance(item, bytes)
            tag, data = b"B", item
        out += tag + len(data).to_bytes(8, "big") + data
    return bytes(out)


def test_key_fields_encode_as_before() -> None:
    """Exact str and bytes take a fast path; every field still encodes to the same bytes (keys
    of earlier runs stay valid), subclasses included, and a bool is still refused."""
    from enum import StrEnum

    from fixreview.resultcache import encode_fields

    class Kind(StrEnum):
        A = "ab"

    fields: tuple[object, ...] = (
        "ab",
        "c",
        b"ab",
        b"",
        "",
        None,
        0,
        -7,
        2**70,
        Kind.A,
        "\udc80 é",
        b"\x00\xff" * 300,
    )
    assert encode_fields(fields) == _reference_fields(fields)  # type: ignore[arg-type]
    assert encode_fields(("ab", "c")) != encode_fields(("a", "bc"))
    assert encode_fields((b"a",)) != encode_fields(("a",))
    with pytest.raises(TypeError):
        encode_fields((True,))
    with pytest.raises(TypeError):
        encode_fields((1.5,))  # type: ignore[arg-type]
