"""What one ``verify`` runs, and when: the refs read once (one ``for-each-ref``, no look-up per
notes ref), the ledger's history read while the policy and the fix are read, and the
signatures checked while the risk checks run — each with the same verdict as read in order.
Counted from git's own trace and from the threads the work ran on; nothing is timed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

import pytest

from fixreview.cli.main import main
from fixreview.gate import evaluate
from fixreview.repo.git import Repository
from fixreview.signing.verifier import DecisionVerifier, SignatureRequest
from fixreview.user_config import config_path

APPROVED = "ai-fix/sqli-invoice-search"


def _git_commands(trace: Path) -> list[str]:
    """The git commands a GIT_TRACE file shows run (one line each, from ``git`` on)."""
    lines = trace.read_text().splitlines()
    return [line.split("built-in: ", 1)[1] for line in lines if "built-in: git" in line]


def test_verify_reads_every_ref_once(
    demo_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--repo", str(demo_repo), "verify", APPROVED]) == 0  # the caches filled
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    assert main(["--repo", str(demo_repo), "verify", APPROVED]) == 0
    assert "APPROVED" in capsys.readouterr().out
    commands = _git_commands(trace)
    assert sum(c.startswith("git for-each-ref") for c in commands) == 1
    # the notes refs' tips (decisions, proposals, checks) come from that one listing
    assert [c for c in commands if c.startswith("git rev-parse") and "refs/notes/" in c] == []
    assert not any(c.startswith("git config") and "--get-regexp" in c for c in commands)


@pytest.fixture
def prefetched(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[SignatureRequest]]]:
    """Each call of ``DecisionVerifier.prefetch``: the thread it ran on and what it was asked."""
    seen: list[tuple[str, list[SignatureRequest]]] = []
    original = DecisionVerifier.prefetch

    def spy(self: DecisionVerifier, requests: Iterable[SignatureRequest]) -> None:
        asked = list(requests)
        seen.append((threading.current_thread().name, asked))
        original(self, asked)

    monkeypatch.setattr(DecisionVerifier, "prefetch", spy)
    return seen


def test_signatures_are_checked_on_a_thread_while_the_risk_checks_run(
    demo_repo: Path, prefetched: list[tuple[str, list[SignatureRequest]]]
) -> None:
    result = evaluate(Repository(demo_repo), APPROVED)
    assert result.approved
    ((thread, asked),) = prefetched
    assert thread == "fixreview-signatures"
    # exactly the records judged, in the order they are judged
    assert [(r[1], r[2]) for r in asked] == [
        (j.record.payload, j.record.signature) for j in result.judged
    ]
    assert len(result.counted) == result.required


def test_a_failed_check_ahead_is_checked_again_in_order(
    demo_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread's work is only ahead of the judging: when it fails, each signature is
    checked where it is judged, with the same verdict."""
    expected = evaluate(Repository(demo_repo), APPROVED)

    def broken(self: DecisionVerifier, requests: Iterable[SignatureRequest]) -> None:
        raise RuntimeError("the thread died")

    monkeypatch.setattr(DecisionVerifier, "prefetch", broken)
    result = evaluate(Repository(demo_repo), APPROVED)
    assert result.approved == expected.approved
    assert [(j.counted, j.reason) for j in result.judged] == [
        (j.counted, j.reason) for j in expected.judged
    ]


def test_what_verify_reads_first_fails_as_before(
    demo_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The repository, its refs and its ledger are read on a thread while the models load;
    what fails there fails the command with its one line, after a bad config.toml's."""
    outside = tmp_path / "not-a-repository"
    outside.mkdir()
    assert main(["--repo", str(outside), "verify", APPROVED]) == 2
    assert "not a git repository" in capsys.readouterr().err
    config = config_path()
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("colour = 'red'\n")
    assert main(["--repo", str(outside), "verify", APPROVED]) == 2
    assert "colour" in capsys.readouterr().err  # the config's error comes first, as before
    config.unlink()
    assert main(["--repo", str(demo_repo), "verify", "no-such-branch"]) == 2
    assert "'no-such-branch' is not a commit" in capsys.readouterr().err


def test_verify_reads_the_rev_the_notes_listings_and_the_clean_room_ahead(
    demo_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """While the models are imported, verify's start thread resolves REV, lists the proposals
    and decisions notes tips and, when the cache has no bound diff's hash yet (a CI clone),
    makes the clean room; the judgement takes them instead of reading them again, with the
    same verdict. A warm cache makes no clean room ahead."""
    import fixreview.repo.git as gitmod
    from fixreview.notes.store import DECISIONS_REF, PROPOSALS_REF

    calls: list[tuple[str, str]] = []
    resolve, listing, room = Repository.resolve, Repository.listing, gitmod.clean_room

    def spy_resolve(self: Repository, rev: str) -> str | None:
        calls.append(("resolve " + rev, threading.current_thread().name))
        return resolve(self, rev)

    def spy_listing(self: Repository, commit: str) -> str:
        hit = commit in self._listings
        calls.append((("hit " if hit else "ls-tree ") + commit, threading.current_thread().name))
        return listing(self, commit)

    def spy_room(object_format: str) -> Path:
        calls.append(("clean room", threading.current_thread().name))
        return room(object_format)

    monkeypatch.setattr(Repository, "resolve", spy_resolve)
    monkeypatch.setattr(Repository, "listing", spy_listing)
    monkeypatch.setattr(gitmod, "clean_room", spy_room)
    shutil.rmtree(demo_repo / ".git" / "fixreview" / "cache", ignore_errors=True)  # a CI clone
    argv = ["--repo", str(demo_repo), "verify", "--json", APPROVED]
    assert main(argv) == 0
    cold = capsys.readouterr().out
    start = "fixreview-verify-start"
    tips = [Repository(demo_repo).ref_value(ref) for ref in (PROPOSALS_REF, DECISIONS_REF)]
    assert all(tips)
    assert calls[0] == (f"resolve {APPROVED}", start)
    assert [c for c in calls if c[0].startswith("resolve")] == [calls[0]]  # never again
    for tip in tips:
        listed = [c for c in calls if c[0].endswith(f" {tip}")]
        assert listed[0] == (f"ls-tree {tip}", start)  # then only taken from memory
        assert all(c[0].startswith("hit ") for c in listed[1:])
    assert calls.count(("clean room", start)) == 1
    calls.clear()
    assert main(argv) == 0
    assert capsys.readouterr().out == cold
    assert ("clean room", start) not in calls  # a warm cache computes no diff
    from fixreview.cli.main import _DIFF_HASH_KIND
    from fixreview.decisions import DIFF_HASH_CACHE_KIND

    assert _DIFF_HASH_KIND == DIFF_HASH_CACHE_KIND  # what "no entry of it" looks for


def test_a_listing_is_read_once_per_commit(
    demo_repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from fixreview.notes.store import DECISIONS_REF

    repo = Repository(demo_repo)
    tip = repo.ref_value(DECISIONS_REF)
    assert tip is not None
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    first = repo.listing(tip)
    assert repo.listing(tip) == first == repo.run_text("ls-tree", "-r", "-z", tip)
    by_name = repo.listing(DECISIONS_REF)  # not an object id: read every time
    assert by_name == first and repo.listing(DECISIONS_REF) == first
    assert sum(c.startswith("git ls-tree") for c in _git_commands(trace)) == 4


def test_log_checks_every_signature_once_ahead_in_judging_order(
    demo_repo: Path, prefetched: list[tuple[str, list[SignatureRequest]]]
) -> None:
    """log checks the signatures of every fix it judges on one thread while the risk checks
    run, in the order the fixes are judged; the trail is the one judging in turn gives."""
    from fixreview.audit import audit_trail

    trail = audit_trail(Repository(demo_repo), None)
    ((thread, asked),) = prefetched
    assert thread == "fixreview-signatures"
    judged = [j for e in trail.entries if e.gate is not None for j in e.gate.judged]
    assert judged and [(r[1], r[2]) for r in asked] == [
        (j.record.payload, j.record.signature) for j in judged
    ]
    assert any(e.gate is not None and e.gate.approved for e in trail.entries)


ENDS = (
    "import atexit, gc, sys\n"
    "class TornDown:\n"
    "    def __del__(self):\n"
    "        sys.stderr.write('torn down\\n')\n"
    "kept = TornDown()\n"
    "def ran():\n"
    "    sys.stderr.write(f'exit handlers ran, collector {gc.isenabled()}\\n')\n"
    "atexit.register(ran)\n"
    "from fixreview.cli.main import main\n"
    "raise SystemExit(main())\n"
)


def _as_the_program(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENDS, *argv], capture_output=True, text=True, check=False
    )


def test_verify_run_as_the_program_ends_without_the_interpreter_teardown(
    demo_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run as the program, verify runs without the cycle collector and ends once its output is
    flushed and the exit handlers have run, skipping the interpreter's teardown (an object
    alive at the end is never finalized); called with arguments, main only returns. The
    output and the exit codes are the same."""
    argv = ["--repo", str(demo_repo), "verify", "--json", APPROVED]
    assert main(argv) == 0
    expected = capsys.readouterr().out
    ran = _as_the_program(*argv)
    assert ran.returncode == 0
    assert ran.stdout == expected  # all of it, flushed
    assert "exit handlers ran, collector False" in ran.stderr
    assert "torn down" not in ran.stderr
    failed = _as_the_program("--repo", str(demo_repo), "verify", "no-such-rev")
    assert failed.returncode == 2
    assert "is not a commit in this repository" in failed.stderr
    assert "exit handlers ran" in failed.stderr and "torn down" not in failed.stderr
    # list ends itself too, with the collector on (its forked risk workers allocate freely)
    listed = ["--repo", str(demo_repo), "list", "--json", "--all"]
    assert main(listed) == 0
    expected = capsys.readouterr().out
    ran = _as_the_program(*listed)
    assert ran.returncode == 0 and ran.stdout == expected
    assert "exit handlers ran, collector True" in ran.stderr and "torn down" not in ran.stderr
    # another command ends as any program does
    other = _as_the_program("--repo", str(demo_repo), "log")
    assert other.returncode == 0
    assert "exit handlers ran, collector True" in other.stderr and "torn down" in other.stderr
