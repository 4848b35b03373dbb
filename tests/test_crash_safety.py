"""Crash safety: ``fixreview decide`` killed with SIGKILL at random moments never leaves a
broken decisions ref, a partial record, a damaged draft, or temporary refs that are read as
decisions or pile up forever; a draft writer killed mid-write leaves the old or the new draft."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from fixreview.decisions import read_decisions
from fixreview.drafts import Draft, draft_path, load_draft, save_draft
from fixreview.notes.records import BadLine, parse_line
from fixreview.notes.store import DECISIONS_REF
from fixreview.repo.git import Repository
from tests.cliutil import fixreview
from tests.gitutil import TestRepo, git
from tests.signing_util import Reviewer

TEMP_PREFIX = "refs/notes/fixreview-tmp/"
KILLS = 50

DECIDE = [
    "decide",
    "ai-fix/sqli",
    "--request-changes",
    "--comment",
    "crash test",
]


def _start(repo: TestRepo, env: dict[str, str], argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "fixreview", "--repo", str(repo.path), *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # its own process group, so the test can kill git children too
    )


def _kill(proc: subprocess.Popen[bytes], whole_group: bool) -> None:
    """SIGKILL the process (an OOM kill), or its whole process group (a power cut: git
    children die mid-write too)."""
    try:
        if whole_group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except ProcessLookupError:
        pass
    proc.wait()


def _temp_refs(repo: TestRepo) -> list[str]:
    out = git(repo.path, "for-each-ref", "--format=%(refname)", TEMP_PREFIX)
    return [line for line in out.splitlines() if line]


def _check_ledger(repo: TestRepo, head: str) -> int:
    """The decisions ref is a commit; every line of its note parses; the project's reader
    reports nothing unreadable. Returns the number of records on HEAD."""
    tip = git(repo.path, "rev-parse", "--verify", "--quiet", f"{DECISIONS_REF}^{{commit}}")
    assert tip.strip(), "the decisions ref is not a commit"
    git(repo.path, "fsck", "--no-dangling", "--no-progress", "--connectivity-only")
    note = git(repo.path, "notes", f"--ref={DECISIONS_REF}", "show", head)
    lines = [line for line in note.split("\n") if line.strip()]
    for number, line in enumerate(lines, start=1):
        parsed = parse_line(head, number, line.encode())
        assert parsed is not None and not isinstance(parsed, BadLine), (number, line[:80])
    records, warnings, exists = read_decisions(Repository(repo.path))
    assert exists and not warnings, warnings
    assert len(records.get(head, [])) == len(lines)
    assert all(r.removed_in is None for r in records.get(head, []))
    return len(lines)


def test_decide_killed_at_random_moments_never_breaks_the_ledger(
    fixed: TestRepo, aisha: Reviewer
) -> None:
    head = fixed.rev("ai-fix/sqli")
    repo = Repository(fixed.path)
    draft = Draft(branch="ai-fix/sqli", head=head, comment="half-way through\n" * 50)
    saved = save_draft(repo, draft)
    draft_bytes = saved.read_bytes()
    env = aisha.env()

    started = time.monotonic()
    first = _start(fixed, env, DECIDE)
    assert first.wait(timeout=120) == 0
    duration = time.monotonic() - started
    count = _check_ledger(fixed, head)
    assert count == 1

    rng = random.Random(20261129)
    for attempt in range(KILLS):
        proc = _start(fixed, env, DECIDE)
        time.sleep(rng.uniform(0, duration))
        finished = proc.poll() is not None
        _kill(proc, whole_group=attempt % 2 == 1)
        if not finished and attempt % 2 == 0:
            time.sleep(0.05)  # orphaned git children of a killed process may still finish
        now = _check_ledger(fixed, head)
        assert count <= now <= count + 1, "a record was lost, or one decide wrote two"
        count = now
        assert saved.read_bytes() == draft_bytes, "the draft changed"
        assert load_draft(repo, "ai-fix/sqli") == load_draft(repo, "ai-fix/sqli")
        # what killed writers left behind is never read as a decision
        for ref in _temp_refs(fixed):
            assert not ref.startswith(DECISIONS_REF)

    # the next write works (no lock left behind blocks it) and records its line
    done = fixreview(fixed, *DECIDE, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _check_ledger(fixed, head) == count + 1
    assert len(_temp_refs(fixed)) <= KILLS
    loaded = load_draft(repo, "ai-fix/sqli")
    assert loaded is not None and loaded.comment == draft.comment


def test_temporary_refs_are_never_read_and_stale_ones_are_cleaned(
    fixed: TestRepo, aisha: Reviewer
) -> None:
    head = fixed.rev("ai-fix/sqli")
    env = aisha.env()

    def decide() -> None:
        done = fixreview(fixed, *DECIDE, env=env, timeout=120)
        assert done.returncode == 0, done.stderr

    decide()
    tip = fixed.rev(DECISIONS_REF)
    # a killed writer's temporary ref, with a half-built note holding a garbage line and a
    # forged approval-looking line: it must never be read
    stale = f"{TEMP_PREFIX}1000000000-{'a' * 32}"
    recent = f"{TEMP_PREFIX}{int(time.time())}-{'b' * 32}"
    for ref in (stale, recent):
        git(fixed.path, "update-ref", ref, tip)
        git(fixed.path, "notes", f"--ref={ref}", "append", "-m", "decision garbage", head)
    before = read_decisions(Repository(fixed.path))
    assert not before[1]
    assert len(before[0][head]) == 1
    decide()
    refs = _temp_refs(fixed)
    assert stale not in refs, "a stale temporary ref was not cleaned by the next write"
    assert recent in refs, "a recent temporary ref (a live writer's) must be left alone"
    records, warnings, _ = read_decisions(Repository(fixed.path))
    assert not warnings and len(records[head]) == 2


_DRAFT_WRITER = """
import sys
from fixreview.drafts import Draft, save_draft
from fixreview.repo.git import Repository
repo = Repository(sys.argv[1])
i = 0
while True:
    letter = "ab"[i % 2]
    save_draft(repo, Draft(branch="ai-fix/sqli", head=sys.argv[2], comment=letter * 300_000))
    i += 1
"""


def test_a_draft_writer_killed_mid_write_leaves_a_whole_draft(fixed: TestRepo) -> None:
    head = fixed.rev("ai-fix/sqli")
    repo = Repository(fixed.path)
    save_draft(repo, Draft(branch="ai-fix/sqli", head=head, comment="a" * 300_000))
    rng = random.Random(7)
    for _ in range(15):
        proc = subprocess.Popen(
            [sys.executable, "-c", _DRAFT_WRITER, str(fixed.path), head],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 1.0))
        proc.kill()
        proc.wait()
        draft = load_draft(repo, "ai-fix/sqli")
        assert draft is not None, "a killed writer left a partial draft"
        assert draft.comment in ("a" * 300_000, "b" * 300_000)
    assert draft_path(repo, "ai-fix/sqli").exists()


def test_a_lock_left_by_a_dead_writer_is_named_not_blamed_on_others(
    fixed: TestRepo, aisha: Reviewer
) -> None:
    assert fixreview(fixed, *DECIDE, env=aisha.env()).returncode == 0
    lock = fixed.path / ".git" / (DECISIONS_REF + ".lock")
    lock.write_text("")  # what a writer that lost power during update-ref leaves
    hour_ago = time.time() - 3600
    os.utime(lock, (hour_ago, hour_ago))
    proc = fixreview(fixed, *DECIDE, env=aisha.env(), timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert str(lock) in line and "delete it" in line and "concurrent" not in line
    lock.unlink()
    assert fixreview(fixed, *DECIDE, env=aisha.env()).returncode == 0
