"""Work shared with a forked copy of the process (fixreview.jobs.forked_beside): only from a
process without other threads, and what the copy does counts only as cache entries its parent
reads back and checks. The proposals of a queue read with a forked copy parsing half of the
notes are exactly those read alone, whatever happens to the copy."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

import fixreview.notes.store as store
from fixreview import jobs
from fixreview.jobs import ENV_VAR as JOBS_ENV
from fixreview.queue import _read_proposals
from fixreview.repo.git import Repository


def _cold(path: Path) -> None:
    shutil.rmtree(path / ".git" / "fixreview" / "cache", ignore_errors=True)


@pytest.fixture
def shared(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Any number of notes is worth a forked copy; each group a copy parses is logged, by pid,
    in the returned file (the wrapper is inherited by the copy)."""
    monkeypatch.setattr(store, "_FORK_MIN_NOTES", 1)
    monkeypatch.setenv(JOBS_ENV, "2")
    log = tmp_path / "parsed-by"
    real = store._parse_groups

    def logged(repo, cache, pairs, misses, *rest):  # type: ignore[no-untyped-def]
        with log.open("a") as out:
            out.writelines(f"{os.getpid()} {key}\n" for key, _ in misses)
        return real(repo, cache, pairs, misses, *rest)

    monkeypatch.setattr(store, "_parse_groups", logged)
    return log


def _parsed_by(log: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for line in log.read_text().splitlines():
        pid, key = line.split(" ", 1)
        found.setdefault(pid, set()).add(key)
    return found


def _alone(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, list[str]]:
    with monkeypatch.context() as m:
        m.setenv(JOBS_ENV, "1")
        _cold(path)
        return _read_proposals(Repository(path))


def test_a_forked_copy_parses_half_of_the_notes_and_the_result_is_the_same(
    demo_repo: Path, shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = _alone(demo_repo, monkeypatch)
    _cold(demo_repo)
    shared.unlink(missing_ok=True)
    assert _read_proposals(Repository(demo_repo)) == alone
    by_pid = _parsed_by(shared)
    assert str(os.getpid()) in by_pid and len(by_pid) == 2, "the parent and one copy parsed"
    (copy,) = set(by_pid) - {str(os.getpid())}
    assert by_pid[copy] and not by_pid[copy] & by_pid[str(os.getpid())], "no group twice"
    assert _read_proposals(Repository(demo_repo)) == alone, "and warm, from the entries"


def test_a_copy_that_dies_writes_nothing_or_damages_its_entries_changes_nothing(
    demo_repo: Path, shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = _alone(demo_repo, monkeypatch)
    real = store._parse_groups_forked

    def damaging(*args):  # type: ignore[no-untyped-def]
        real(*args)
        cache = demo_repo / ".git" / "fixreview" / "cache" / store.NOTES_CACHE_KIND
        for entry in cache.rglob("*"):
            if entry.is_file():
                entry.write_bytes(entry.read_bytes()[:-7])

    for copy in (lambda *_: os._exit(3), lambda *_: None, damaging):
        monkeypatch.setattr(store, "_parse_groups_forked", copy)
        _cold(demo_repo)
        assert _read_proposals(Repository(demo_repo)) == alone


def test_no_copy_from_a_process_with_threads_or_one_job(
    demo_repo: Path, shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert jobs.may_fork()
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not jobs.may_fork()
        with jobs.forked_beside(print) as copy:
            assert not copy.forked
        _cold(demo_repo)
        _read_proposals(Repository(demo_repo))
    finally:
        release.set()
        other.join()
    assert set(_parsed_by(shared)) == {str(os.getpid())}, "parsed here alone"
    shared.unlink()
    monkeypatch.setenv(JOBS_ENV, "1")
    _cold(demo_repo)
    _read_proposals(Repository(demo_repo))
    assert set(_parsed_by(shared)) == {str(os.getpid())}
    seen: list[bool] = []
    aside = threading.Thread(target=lambda: seen.append(jobs.may_fork()))
    aside.start()
    aside.join()
    assert seen == [False], "never from a thread other than the main one"


def _list(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    from fixreview.cli.main import main

    _cold(path)
    assert main(["--repo", str(path), "list", "--all", "--json"]) == 0
    return capsys.readouterr().out


def test_list_reads_the_decisions_into_the_cache_in_a_forked_copy(
    demo_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A cold list has a forked copy read the decisions (records and ledger entries) while the
    queue is read; what it prints is what a list without any copy prints, and a copy that dies
    or leaves damaged entries changes nothing."""
    import fixreview.decisions as decisions

    monkeypatch.setenv(JOBS_ENV, "1")
    alone = _list(demo_repo, capsys)
    monkeypatch.setenv(JOBS_ENV, "2")
    log = tmp_path / "warmed-by"
    real = decisions.warm_decisions

    def logged(root: Path, git_dir: Path) -> None:
        log.write_text(str(os.getpid()))
        real(root, git_dir)

    monkeypatch.setattr(decisions, "warm_decisions", logged)
    assert _list(demo_repo, capsys) == alone
    assert log.read_text() not in ("", str(os.getpid())), "a forked copy read them"

    def damaging(root: Path, git_dir: Path) -> None:
        real(root, git_dir)
        for kind in (store.RECORDS_CACHE_KIND, "ledger"):
            for entry in (demo_repo / ".git" / "fixreview" / "cache" / kind).rglob("*"):
                if entry.is_file():
                    entry.write_bytes(b"x" + entry.read_bytes()[1:])

    for copy in (lambda *_: os._exit(3), damaging):
        monkeypatch.setattr(decisions, "warm_decisions", copy)
        assert _list(demo_repo, capsys) == alone


def test_the_copys_share_is_weighed_by_the_notes_sizes() -> None:
    """One note of a huge patch outweighs many small ones: the copy takes the later groups up
    to about _FORKED_SHARE percent of the bytes (each note plus its fixed part), not of the
    count; notes of the same size split by count."""
    fixed = store._NOTE_FIXED_BYTES
    pairs = [(f"blob{n}", f"{n:02x}" + "0" * 38) for n in range(20)]
    misses = [(f"key{n}", [n]) for n in range(20)]
    even = {blob: 1_000 for blob, _ in pairs}
    by_count = round(20 * store._FORKED_SHARE / 100)
    assert 0 < by_count < 20
    assert store._forked_share(misses, pairs, even) == misses[20 - by_count :]
    heavy_first = {**even, "blob0": 100 * (1_000 + fixed)}
    assert store._forked_share(misses, pairs, heavy_first) == misses[1:], "all but the heavy one"
    heavy_last = {**even, "blob19": 100 * (1_000 + fixed)}
    assert store._forked_share(misses, pairs, heavy_last) == misses[19:], "the heavy one alone"
    assert store._forked_share([], pairs, even) == []
    assert store._forked_share(misses, pairs, {}) == misses[20 - by_count :], "unknown: count"


def test_the_sizes_of_the_notes_are_those_git_stores(demo_repo: Path) -> None:
    from fixreview.repo.refs import PROPOSALS_REF

    repo = Repository(demo_repo)
    tip = repo.ref_value(PROPOSALS_REF)
    assert tip is not None
    sizes = store._note_sizes(repo, tip)
    blobs = repo.read_objects(sizes)
    assert len(sizes) > 5 and {blob: len(blobs[blob]) for blob in sizes} == sizes
