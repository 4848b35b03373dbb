"""The ledger's history is kept in the result cache (kind ``ledger``) by notes commit: a read
whose tip descends from the cached commit by single-parent commits reads only those, anything
else reads the whole history, and every read finds exactly what a read without the cache
finds: a line dropped after the cache was filled, a rewritten (force-pushed) ref, a merge, a
damaged entry or one naming a commit that is gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixreview.errors import GitError
from fixreview.notes.records import TAG_DECISION, encode_line
from fixreview.notes.store import (
    DECISIONS_REF,
    LEDGER_CACHE_KIND,
    NotesSnapshot,
    prefetch_ledger,
    read_ledger,
)
from fixreview.repo.git import Repository
from fixreview.resultcache import NO_CACHE_ENV
from tests.gitutil import TestRepo, git


def _line(n: int) -> str:
    return encode_line(TAG_DECISION, f"record {n}\n".encode(), f"sig {n}".encode())


def _set_note(repo: TestRepo, commit: str, lines: list[str]) -> str:
    """Make LINES the whole note on COMMIT (a new single-parent notes commit); the new tip."""
    git(repo.path, "notes", f"--ref={DECISIONS_REF}", "add", "-f", "-m", "\n".join(lines), commit)
    return git(repo.path, "rev-parse", DECISIONS_REF).strip()


def _uncached(path: Path, monkeypatch: pytest.MonkeyPatch) -> NotesSnapshot:
    with monkeypatch.context() as patch:
        patch.setenv(NO_CACHE_ENV, "1")
        return read_ledger(Repository(path), DECISIONS_REF)


def _cached(path: Path, trace: Path | None = None) -> NotesSnapshot:
    """read_ledger in a fresh Repository (no in-process state), git traced to TRACE."""
    if trace is None:
        return read_ledger(Repository(path), DECISIONS_REF)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIT_TRACE", str(trace))
        return read_ledger(Repository(path), DECISIONS_REF)


def _logs(trace: Path) -> list[str]:
    """The ``git log`` commands of a GIT_TRACE file."""
    lines = trace.read_text().splitlines()
    return [line for line in lines if "built-in: git" in line and " log " in line]


def _entries(path: Path) -> list[Path]:
    return sorted((path / ".git" / "fixreview" / "cache" / LEDGER_CACHE_KIND).rglob("*"))


def test_a_line_dropped_after_the_cache_is_warm_is_found_reading_only_new_commits(
    repo: TestRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    head = repo.rev("HEAD")
    _set_note(repo, head, [_line(1)])
    _set_note(repo, head, [_line(1), _line(2)])
    warm = _cached(repo.path)  # fills the entry
    assert warm.dropped == {}
    assert [p for p in _entries(repo.path) if p.is_file()]
    dropper = _set_note(repo, head, [_line(2)])  # line 1 dropped: a fast-forward rewrite
    trace = tmp_path / "trace"
    found = _cached(repo.path, trace)
    assert found.dropped == {head: [(_line(1).encode(), dropper)]}
    assert [r.removed_in for r in found.records[head]] == [None, dropper]
    assert found == _uncached(repo.path, monkeypatch)
    (log,) = _logs(trace)
    assert " ^" in log  # only the commits after the cached one were read
    # unchanged tip: no git log at all, the same answer
    again = tmp_path / "again"
    assert _cached(repo.path, again) == found
    assert _logs(again) == []


def test_a_readded_then_dropped_again_line_names_the_newest_dropper(
    repo: TestRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = repo.rev("HEAD")
    _set_note(repo, head, [_line(1), _line(2)])
    _set_note(repo, head, [_line(2)])
    _cached(repo.path)
    _set_note(repo, head, [_line(2), _line(1)])  # put back: not dropped
    assert _cached(repo.path).dropped == {}
    newest = _set_note(repo, head, [_line(2)])
    found = _cached(repo.path)
    assert found.dropped == {head: [(_line(1).encode(), newest)]}
    assert found == _uncached(repo.path, monkeypatch)


def test_a_force_pushed_history_is_read_whole(
    repo: TestRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    head = repo.rev("HEAD")
    _set_note(repo, head, [_line(1)])
    _set_note(repo, head, [_line(1), _line(2)])
    _cached(repo.path)
    # an attacker replaces the ref with an unrelated history: line 3 added then dropped there
    git(repo.path, "update-ref", "-d", DECISIONS_REF)
    _set_note(repo, head, [_line(3)])
    rewritten = _set_note(repo, head, [_line(2)])
    trace = tmp_path / "trace"
    found = _cached(repo.path, trace)
    assert found.dropped == {head: [(_line(3).encode(), rewritten)]}
    assert found == _uncached(repo.path, monkeypatch)
    logs = _logs(trace)
    assert logs and " ^" not in logs[-1]  # the last read was the whole history


def test_a_merge_on_top_of_the_cached_commit_is_read_whole(
    repo: TestRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = repo.rev("HEAD")
    base = _set_note(repo, head, [_line(1), _line(2)])
    _cached(repo.path)
    side = _set_note(repo, head, [_line(2), _line(5)])  # drops 1
    git(repo.path, "update-ref", DECISIONS_REF, base)
    ours = _set_note(repo, head, [_line(1), _line(2), _line(6)])
    tree = git(repo.path, "rev-parse", f"{side}^{{tree}}").strip()
    merge = git(repo.path, "commit-tree", tree, "-p", ours, "-p", side, "-m", "merge").strip()
    git(repo.path, "update-ref", DECISIONS_REF, merge)
    found = _cached(repo.path)
    assert {raw for raw, _ in found.dropped[head]} == {_line(1).encode(), _line(6).encode()}
    assert found == _uncached(repo.path, monkeypatch)


def test_a_damaged_entry_is_rebuilt(repo: TestRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    head = repo.rev("HEAD")
    _set_note(repo, head, [_line(1)])
    _set_note(repo, head, [_line(2)])
    expected = _uncached(repo.path, monkeypatch)
    assert _cached(repo.path) == expected
    (entry,) = [p for p in _entries(repo.path) if p.is_file()]
    good = entry.read_bytes()
    entry.write_bytes(good[: len(good) // 2])  # torn
    assert _cached(repo.path) == expected
    assert entry.read_bytes() == good  # rewritten whole


def test_an_entry_naming_a_commit_that_is_gone_is_read_whole(
    repo: TestRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fixreview.resultcache import ResultCache

    head = repo.rev("HEAD")
    _set_note(repo, head, [_line(1)])
    _set_note(repo, head, [_line(2)])
    expected = _uncached(repo.path, monkeypatch)
    _cached(repo.path)
    (entry,) = [p for p in _entries(repo.path) if p.is_file()]
    # the same layout, rewritten (checksum and all) to name a commit that does not exist and
    # to hold nothing: used as is, line 1 would vanish
    store = ResultCache.under(Repository(repo.path).common_dir, LEDGER_CACHE_KIND)
    key = entry.parent.name + entry.name
    assert store.put(key, b"ledger " + b"1" * 40)
    assert _cached(repo.path) == expected


def test_many_appends_and_drops_read_as_without_the_cache(
    repo: TestRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = repo.rev("HEAD")
    other = repo.commit("second", {"b.txt": "b\n"})
    steps = [
        (head, [1]),
        (other, [2]),
        (head, [1, 3]),
        (head, [3]),
        (other, [2, 1]),
        (head, [3, 1]),
        (other, []),
        (head, [4]),
    ]
    for target, numbers in steps:
        _set_note(repo, target, [_line(n) for n in numbers])
        assert _cached(repo.path) == _uncached(repo.path, monkeypatch)


def test_a_ledger_read_ahead_is_taken_by_the_read_of_its_commit(
    repo: TestRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """verify starts reading the ledger before it needs it: the read of that notes commit
    then takes that result (one git log, not two), and finds exactly what it finds alone;
    a read of the ref without naming the commit reads for itself."""
    head = repo.rev("HEAD")
    _set_note(repo, head, [_line(1)])
    _set_note(repo, head, [_line(1), _line(2)])
    tip = _set_note(repo, head, [_line(2)])  # line 1 dropped
    alone = _uncached(repo.path, monkeypatch)
    trace = tmp_path / "trace"
    with monkeypatch.context() as patch:
        patch.setenv(NO_CACHE_ENV, "1")  # else the second read would find the first one's entry
        patch.setenv("GIT_TRACE", str(trace))
        opened = Repository(repo.path)
        prefetch_ledger(opened, DECISIONS_REF, tip)
        found = read_ledger(opened, DECISIONS_REF, at=tip)
        assert found == alone
        assert len(_logs(trace)) == 1  # the read ahead's, taken by the read
        again = read_ledger(opened, DECISIONS_REF, at=tip)  # taken once: read for itself
        assert again == alone
        assert len(_logs(trace)) == 2
        prefetch_ledger(opened, DECISIONS_REF, tip)
        assert read_ledger(opened, DECISIONS_REF) == alone  # not at a named commit
        assert read_ledger(opened, DECISIONS_REF, at=tip) == alone  # the one read ahead
        assert len(_logs(trace)) == 4


def test_an_error_reading_ahead_is_raised_by_the_read(repo: TestRepo) -> None:
    """A ledger whose history cannot be read fails the read that takes it, as it fails a
    read of its own: never a tip alone (it could hide a dropped record)."""
    head = repo.rev("HEAD")
    _set_note(repo, head, [_line(1)])
    tip = _set_note(repo, head, [_line(2)])
    parent = git(repo.path, "rev-parse", f"{tip}^").strip()
    objects = repo.path / ".git" / "objects"
    loose = objects / parent[:2] / parent[2:]
    loose.unlink()  # the notes commit before the tip is gone: its history cannot be read
    opened = Repository(repo.path)
    with pytest.raises(GitError, match="cannot read the history"):
        read_ledger(opened, DECISIONS_REF, at=tip)
    prefetch_ledger(opened, DECISIONS_REF, tip)
    with pytest.raises(GitError, match="cannot read the history"):
        read_ledger(opened, DECISIONS_REF, at=tip)
