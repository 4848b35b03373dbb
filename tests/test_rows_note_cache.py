"""The queue's proposals read through result-cache entries keyed by note blob ids, one per group
of notes (fixreview.notes.store.read_models): cold, warm and uncached reads give what read_typed
gives, models and warnings alike; a damaged entry is read again from the notes; and a record's
outcome never outlives a change of its note's bytes (a new blob), in its group or not."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixreview.models import Proposal
from fixreview.notes.proposal_codec import proposal_from_record
from fixreview.notes.records import TAG_PROPOSAL, b64decode, b64encode
from fixreview.notes.store import (
    NOTES_CACHE_KIND,
    PROPOSALS_REF,
    NoteModels,
    append_record,
    read_models,
    read_typed,
)
from fixreview.queue import check_proposal
from fixreview.repo.git import Repository
from fixreview.resultcache import ResultCache


def _models(repo: Repository) -> NoteModels[Proposal]:
    return read_models(
        repo, PROPOSALS_REF, TAG_PROPOSAL, Proposal, check=check_proposal,
        decode=proposal_from_record,
    )


def _typed(repo: Repository) -> tuple[dict[str, list[dict[str, object]]], list[str]]:
    typed = read_typed(
        repo, PROPOSALS_REF, TAG_PROPOSAL, Proposal, check=check_proposal,
        decode=proposal_from_record,
    )
    found = {t: [m.model_dump() for _, m in items] for t, items in typed.by_target.items()}
    return found, typed.warnings


def _dumped(models: NoteModels[Proposal]) -> tuple[dict[str, list[dict[str, object]]], list[str]]:
    return {t: [m.model_dump() for m in items] for t, items in models.by_target.items()}, (
        models.warnings
    )


def _entries(repo: Repository) -> list[Path]:
    directory = ResultCache.under(repo.common_dir, NOTES_CACHE_KIND).directory
    assert directory is not None
    return sorted(p for p in directory.rglob("*") if p.is_file())


def _spoil(repo: Repository, head: str) -> None:
    """A note holding a good record, one that is not TOML, a decision where a proposal is
    read, and a line that is no record, on HEAD; and a tampered copy of HEAD's proposal
    (its patch field changed: the payload's hash no longer names it) on another commit."""
    line = repo.run_text("notes", f"--ref={PROPOSALS_REF}", "show", head).split("\n")[0]
    tag, payload, patch = line.split(" ")
    append_record(repo, PROPOSALS_REF, head, "proposal dGhpcyBpcyBub3QgVE9NTA==")
    append_record(repo, PROPOSALS_REF, head, "decision " + payload + " " + patch)
    append_record(repo, PROPOSALS_REF, head, "no record here")
    tampered = b64encode(b64decode(patch).replace(b"+", b"-", 1))
    other = repo.resolve("ai-fix/xss-invoice-notes")
    assert other is not None and other != head
    append_record(repo, PROPOSALS_REF, other, " ".join([tag, payload, tampered]))


def test_cold_warm_and_uncached_reads_give_what_read_typed_gives(
    demo_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Repository(demo_repo)
    head = repo.resolve("ai-fix/sqli-invoice-search")
    assert head is not None
    _spoil(repo, head)
    expected = _typed(repo)
    warnings = expected[1]
    assert any("not TOML" in w for w in warnings)
    assert any("is a decision, not a proposal" in w for w in warnings)
    assert any("unknown record tag" in w for w in warnings)
    assert any("does not match suggestion.patch_sha256" in w for w in warnings)
    assert sum(len(v) for v in expected[0].values()) >= 2
    cold = _models(Repository(demo_repo))
    assert _entries(repo)
    assert _dumped(cold) == expected
    assert _dumped(_models(Repository(demo_repo))) == expected  # warm: from the entries
    monkeypatch.setenv("FIXREVIEW_NO_CACHE", "1")
    assert _dumped(_models(Repository(demo_repo))) == expected


def test_a_warm_read_reads_no_note(demo_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _models(Repository(demo_repo))
    read: list[str] = []
    real = Repository.read_objects

    def counting(self: Repository, specs):  # type: ignore[no-untyped-def]
        wanted = list(specs)
        read.extend(wanted)
        return real(self, wanted)

    monkeypatch.setattr(Repository, "read_objects", counting)
    assert _models(Repository(demo_repo)).by_target
    assert read == []


def test_damaged_entries_are_read_again_from_the_notes(demo_repo: Path) -> None:
    repo = Repository(demo_repo)
    head = repo.resolve("ai-fix/sqli-invoice-search")
    assert head is not None
    _spoil(repo, head)
    expected = _dumped(_models(repo))
    entries = _entries(repo)
    assert len(entries) >= 2
    for n, path in enumerate(entries):
        data = path.read_bytes()
        path.write_bytes(
            data[: len(data) // 2] if n % 3 == 0 else b"junk" if n % 3 == 1
            else entries[(n + 1) % len(entries)].read_bytes()
        )
    assert _dumped(_models(Repository(demo_repo))) == expected


def test_a_tampered_note_is_refused_though_its_good_copy_is_cached(demo_repo: Path) -> None:
    """Warm, a good proposal's entry is found by its note's blob; a copy with a changed patch
    field, added after, is a new blob: read, checked and refused, on its own."""
    repo = Repository(demo_repo)
    before = _models(repo)
    assert not any("patch_sha256" in w for w in before.warnings)
    head = repo.resolve("ai-fix/sqli-invoice-search")
    assert head is not None
    _spoil(repo, head)
    after = _models(Repository(demo_repo))
    other = repo.resolve("ai-fix/xss-invoice-notes")
    assert other is not None
    refused = [w for w in after.warnings if other[:12] in w]
    assert refused and "does not match suggestion.patch_sha256" in refused[-1]
    assert _dumped(after) == _typed(repo)


def test_a_note_too_large_for_an_entry_keeps_its_records_entries(
    demo_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A note whose entry cannot be stored is read again on a warm run, but its records come
    from their own entries: decoded, not checked again; and the result is the same."""
    from fixreview.notes import store

    monkeypatch.setattr(ResultCache.__init__, "__defaults__", (600,))  # entries of 600 bytes
    expected = _dumped(_models(Repository(demo_repo)))
    assert expected[0]
    checks: list[object] = []
    real = store._validate

    def watching(raw, model, check, decode):  # type: ignore[no-untyped-def]
        checks.append(check)
        return real(raw, model, check, decode)

    monkeypatch.setattr(store, "_validate", watching)
    assert _dumped(_models(Repository(demo_repo))) == expected
    assert checks and all(check is None for check in checks)


def test_a_changed_note_is_read_again_though_its_group_was_cached(demo_repo: Path) -> None:
    """Notes on commits whose ids share their first two digits share an entry: a change to
    either note (a new blob) makes the entry a miss, and both are read as they are now."""
    repo = Repository(demo_repo)
    head = repo.resolve("ai-fix/sqli-invoice-search")
    assert head is not None
    good = repo.run_text("notes", f"--ref={PROPOSALS_REF}", "show", head).split("\n")[0]
    by_prefix: dict[str, str] = {}
    pair: tuple[str, str] | None = None
    for n in range(400):  # two of the commits share a prefix long before 400 (birthdays)
        oid = repo.run_text("commit-tree", f"{head}^{{tree}}", "-m", f"c{n}").strip()
        if oid[:2] in by_prefix:
            pair = (by_prefix[oid[:2]], oid)
            break
        by_prefix[oid[:2]] = oid
    assert pair is not None
    first, second = pair
    append_record(repo, PROPOSALS_REF, first, good)
    append_record(repo, PROPOSALS_REF, second, good)
    before = _models(Repository(demo_repo))
    assert _dumped(before) == _typed(repo)
    assert len(before.by_target[first]) == len(before.by_target[second]) == 1
    append_record(repo, PROPOSALS_REF, second, "proposal dGhpcyBpcyBub3QgVE9NTA==")
    after = _models(Repository(demo_repo))
    assert _dumped(after) == _typed(repo)
    assert any(second[:12] in w and "not TOML" in w for w in after.warnings), after.warnings
