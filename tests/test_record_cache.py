"""Parsed note records kept in the result cache (fixreview.notes.store): a warm read gives exactly
what parsing gives, refusals included, and a damaged entry is parsed again."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fixreview.decisions import Decision, read_decisions
from fixreview.models import Proposal
from fixreview.notes.proposal_codec import proposal_from_record
from fixreview.notes.records import TAG_DECISION, TAG_PROPOSAL
from fixreview.notes.store import (
    DECISIONS_REF,
    PROPOSALS_REF,
    RECORDS_CACHE_KIND,
    TypedRecords,
    append_record,
    read_typed,
)
from fixreview.queue import check_proposal
from fixreview.repo.git import Repository
from fixreview.resultcache import ResultCache


def _proposals(repo: Repository) -> TypedRecords[Proposal]:
    return read_typed(
        repo,
        PROPOSALS_REF,
        TAG_PROPOSAL,
        Proposal,
        check=check_proposal,
        decode=proposal_from_record,
    )


def _decisions(repo: Repository) -> TypedRecords[Decision]:
    return read_typed(repo, DECISIONS_REF, TAG_DECISION, Decision, history=True)


def _entries(repo: Repository) -> list[Path]:
    directory = ResultCache.under(repo.common_dir, RECORDS_CACHE_KIND).directory
    assert directory is not None
    return sorted(p for p in directory.rglob("*") if p.is_file())


def _same(a: TypedRecords[Proposal] | TypedRecords[Decision], b: object) -> None:
    assert isinstance(b, TypedRecords)
    assert a.warnings == b.warnings and a.exists == b.exists
    assert a.by_target.keys() == b.by_target.keys()
    for target, items in a.by_target.items():
        assert [(r, m.model_dump()) for r, m in items] == [
            (r, m.model_dump()) for r, m in b.by_target[target]
        ]


def test_a_warm_read_is_what_parsing_gives(
    demo_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Repository(demo_repo)
    head = repo.resolve("ai-fix/sqli-invoice-search")
    assert head is not None
    # a refused record sits among the good ones: its refusal is kept too
    append_record(repo, PROPOSALS_REF, head, "proposal dGhpcyBpcyBub3QgVE9NTA==")
    monkeypatch.setenv("FIXREVIEW_NO_CACHE", "1")
    parsed_proposals, parsed_decisions = _proposals(repo), _decisions(repo)
    assert any("not TOML" in w or "skipped" in w for w in parsed_proposals.warnings)
    monkeypatch.delenv("FIXREVIEW_NO_CACHE")
    cold = _proposals(repo)
    written = _entries(repo)
    assert len(written) >= sum(len(v) for v in parsed_proposals.by_target.values()) + 1
    _same(parsed_proposals, cold)
    _same(parsed_proposals, _proposals(Repository(demo_repo)))  # warm, a new process's view
    _decisions(repo)
    _same(parsed_decisions, _decisions(Repository(demo_repo)))
    records, _, _ = read_decisions(Repository(demo_repo))
    assert records  # the gate's reader goes through the same cache


def test_damaged_entries_are_parsed_again(demo_repo: Path) -> None:
    repo = Repository(demo_repo)
    first = _proposals(repo)
    entries = _entries(repo)
    assert entries
    for n, path in enumerate(entries):
        data = path.read_bytes()
        # truncated, garbage, or another entry's whole content copied over
        path.write_bytes(data[: len(data) // 2] if n % 3 == 0 else b"junk" if n % 3 == 1 else
                         entries[(n + 1) % len(entries)].read_bytes())
    _same(first, _proposals(Repository(demo_repo)))


def test_a_cached_ok_never_outlives_a_change_of_its_bytes(demo_repo: Path) -> None:
    """The key is the record's exact bytes: a tampered copy of a good proposal, attached
    elsewhere, is parsed (and refused) on its own."""
    repo = Repository(demo_repo)
    good = _proposals(repo)
    target, items = next(iter(good.by_target.items()))
    line = items[0][0].line
    tag, payload, *rest = line.split(" ")
    from fixreview.notes.records import b64decode, b64encode

    changed = b64decode(payload).replace(b"schema = 2", b"schema = 3")
    assert changed != b64decode(payload)
    other = repo.resolve("ai-fix/xss-invoice-notes")
    assert other is not None and other != target
    append_record(repo, PROPOSALS_REF, other, " ".join([tag, b64encode(changed), *rest]))
    after = _proposals(Repository(demo_repo))
    assert any(other[:12] in w for w in after.warnings), after.warnings


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The payload of every record parsed (not served from the cache) from now on."""
    from fixreview.notes import store

    payloads: list[bytes] = []
    real = store._validate

    def counting(raw, *args):  # type: ignore[no-untyped-def]
        payloads.append(raw.payload)
        return real(raw, *args)

    monkeypatch.setattr(store, "_validate", counting)
    return payloads


def test_a_warm_read_parses_nothing(demo_repo: Path, parsed: list[bytes]) -> None:
    _proposals(Repository(demo_repo))
    _decisions(Repository(demo_repo))
    assert parsed  # cold: every record parsed once
    parsed.clear()
    _proposals(Repository(demo_repo))
    _decisions(Repository(demo_repo))
    assert parsed == []


def test_an_upgraded_parser_or_validator_is_a_changed_input(
    demo_repo: Path, parsed: list[bytes], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The libraries that parse and validate records (tomli, pydantic) are part of the key: a
    record read warm is parsed again once one of them is another file."""
    from fixreview import resultcache
    from fixreview.notes import store

    assert "tomli" in store._RECORD_LIBRARIES and "pydantic" in store._RECORD_LIBRARIES
    _proposals(Repository(demo_repo))
    parsed.clear()
    # the same library name found at another place: an upgrade, as the key sees one
    (tmp_path / "tomli").mkdir()
    (tmp_path / "tomli" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "tomli")  # else find_spec answers with the loaded one
    store._record_code.cache_clear()
    resultcache.library_identity.cache_clear()
    try:
        _proposals(Repository(demo_repo))
    finally:
        store._record_code.cache_clear()
        resultcache.library_identity.cache_clear()
    assert parsed
