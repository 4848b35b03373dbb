"""Work shared with a forked copy of the process (fixreview.jobs.forked_beside): only from a
process without other threads, and what the copy does counts only as cache entries its parent
reads back and checks. The proposals of a queue read with a forked copy parsing half of the
notes are exactly those read alone, whatever happens to the copy."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import fixreview.notes.store as store
from fixreview import jobs, readahead
from fixreview.jobs import ENV_VAR as JOBS_ENV
from fixreview.queue import _read_proposals
from fixreview.repo.git import Repository


def _cold(path: Path) -> None:
    shutil.rmtree(path / ".git" / "fixreview" / "cache", ignore_errors=True)


@pytest.fixture
def shared(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Any number of notes is worth a forked copy; each group a copy parses is logged, by pid,
    in the returned file (the wrapper is inherited by the copy)."""
    monkeypatch.setattr(jobs, "FORK_MIN_NOTES", 1)
    monkeypatch.setenv(JOBS_ENV, "2")
    log = tmp_path / "parsed-by"
    real = store._parse_groups

    def logged(repo, cache, pairs, misses, *rest, **options):  # type: ignore[no-untyped-def]
        parsed = real(repo, cache, pairs, misses, *rest, **options)
        with log.open("a") as out:
            out.writelines(f"{os.getpid()} {key}\n" for key, _ in parsed)
        return parsed

    monkeypatch.setattr(store, "_parse_groups", logged)
    return log


@pytest.fixture
def both_sides(monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller takes its first group only once the copy has taken one (or after 10 s), and
    both sides take each group 20 ms late: on the demo's few notes, each side parses some,
    however slowly the copy starts."""
    real_take = jobs.Claims.take

    def in_turn(claims: jobs.Claims, slot: int, side: int) -> bool:
        if side == jobs.Claims.FRONT:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and jobs.Claims.BACK not in (
                claims.holder(n) for n in range(claims.slots)
            ):
                time.sleep(0.005)
        time.sleep(0.02)
        return real_take(claims, slot, side)

    monkeypatch.setattr(jobs.Claims, "take", in_turn)


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
    demo_repo: Path, shared: Path, both_sides: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = _alone(demo_repo, monkeypatch)
    _cold(demo_repo)
    shared.unlink(missing_ok=True)
    assert _read_proposals(Repository(demo_repo)) == alone
    by_pid = _parsed_by(shared)
    assert str(os.getpid()) in by_pid and len(by_pid) == 2, "the parent and one copy parsed"
    (copy,) = set(by_pid) - {str(os.getpid())}
    assert by_pid[copy], "the copy took groups from the back"
    assert len(by_pid[copy] & by_pid[str(os.getpid())]) <= 1, "at most where they met, twice"
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


def test_claims_from_both_ends_cover_every_piece_once() -> None:
    """The caller takes pieces from the front, a forked copy from the back, each stopping where
    the other has been: every piece is taken, by one side (both, at most where they met)."""
    import multiprocessing

    claims = jobs.Claims(64)
    pieces = list(range(64))

    def back() -> None:
        for slot in reversed(pieces):
            if not claims.take(slot, jobs.Claims.BACK):
                break

    copy = multiprocessing.get_context("fork").Process(target=back)
    copy.start()
    front = [slot for slot in pieces if claims.holder(slot) == 0 and claims.take(slot, 1)]
    copy.join()
    assert copy.exitcode == 0
    holders = [claims.holder(slot) for slot in pieces]
    assert 0 not in holders
    assert set(front) == {slot for slot in pieces if holders[slot] == jobs.Claims.FRONT}
    # one side's pieces are a prefix, the other's the rest
    assert holders == sorted(holders)
    assert not claims.take(0, jobs.Claims.BACK) and not claims.take(63, jobs.Claims.FRONT)


def test_a_copy_started_ahead_is_met_by_the_read(
    demo_repo: Path, shared: Path, both_sides: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``list`` starts the proposals' copy before it imports the models; the read of that tip
    takes it (and no second copy is started), meets it, and comes to what a read alone does;
    a copy the read does not take is ended."""
    alone = _alone(demo_repo, monkeypatch)
    _cold(demo_repo)
    shared.unlink(missing_ok=True)
    repo = Repository(demo_repo)
    assert readahead.read_proposals_ahead(repo)
    assert jobs._ahead, "registered for the read"
    assert _read_proposals(repo) == alone
    assert not jobs._ahead, "taken by the read"
    by_pid = _parsed_by(shared)
    assert len(by_pid) == 2 and str(os.getpid()) in by_pid, "one copy, the one started ahead"
    _cold(demo_repo)
    assert readahead.read_proposals_ahead(Repository(demo_repo))
    ((_, helper),) = jobs._ahead.values()
    jobs.stop_ahead()
    assert not jobs._ahead
    helper.wait()  # ended: returns at once


def test_nothing_is_started_ahead_for_few_notes_or_one_job(
    demo_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Repository(demo_repo)
    monkeypatch.setenv(JOBS_ENV, "2")
    assert not readahead.read_proposals_ahead(repo), "the demo has fewer notes than the bound"
    monkeypatch.setattr(jobs, "FORK_MIN_NOTES", 1)
    monkeypatch.setenv(JOBS_ENV, "1")
    assert not readahead.read_proposals_ahead(repo)
    monkeypatch.setenv(JOBS_ENV, "2")
    monkeypatch.setenv("FIXREVIEW_NO_CACHE", "1")
    assert not readahead.read_proposals_ahead(repo)
    assert not jobs._ahead


def test_list_parses_the_proposals_ahead_and_prints_the_same(
    demo_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A cold list of the whole queue starts the proposals' copy before it imports the models;
    with --branch (the read may be of some notes only) it does not; the output is the same."""
    monkeypatch.setenv(JOBS_ENV, "1")
    alone = _list(demo_repo, capsys)
    monkeypatch.setenv(JOBS_ENV, "2")
    monkeypatch.setattr(jobs, "FORK_MIN_NOTES", 1)
    log = tmp_path / "ahead-by"
    real = readahead._parse_proposals

    def logged(*args: Any) -> None:
        log.write_text(str(os.getpid()))
        real(*args)

    monkeypatch.setattr(readahead, "_parse_proposals", logged)
    assert _list(demo_repo, capsys) == alone
    assert log.read_text() not in ("", str(os.getpid())), "a copy started ahead"
    assert not jobs._ahead
    log.unlink()
    from fixreview.cli.main import main

    _cold(demo_repo)
    assert main(["--repo", str(demo_repo), "list", "--json", "--branch", "*"]) == 0
    capsys.readouterr()
    assert not log.exists(), "no copy ahead for a narrowed queue"
