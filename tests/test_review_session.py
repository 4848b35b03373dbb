"""The batch review session on its own, without Textual: order, next, skipped, decided, summary,
and recording through the rule-book — on the demo repository, with its real signing key."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from fixreview.decisions import ChecklistItem
from fixreview.drafts import Draft
from fixreview.models import AWAITING_REVIEW, Fix
from fixreview.notes.store import DECISIONS_REF
from fixreview.recording import DecisionRefused
from fixreview.repo.git import Repository
from fixreview.session import ReviewSession, Standing


def loaded(path: Path) -> ReviewSession:
    session = ReviewSession(Repository(path))
    session.use_queue(session.load())
    return session


def pending(session: ReviewSession) -> list[str]:
    return [f.branch.name for f in session.ordered() if f.branch.status in AWAITING_REVIEW]


def note_count(path: Path) -> int:
    listed = Repository(path).run_text("notes", f"--ref={DECISIONS_REF}", "list")
    return len(listed.splitlines())


def confirmed_draft(fix: Fix, *, acknowledged: list[str]) -> Draft:
    draft = Draft(branch=fix.branch.name, head=fix.branch.head, acknowledged=acknowledged)
    for name in ("intent", "scope", "blast_radius", "rollback"):
        setattr(draft.checklist, name, ChecklistItem(status="confirmed", note=f"{name} ok"))
    return draft


def test_the_session_never_imports_textual() -> None:
    code = "import sys, fixreview.session\nprint('textual' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"


def test_order_follows_the_sort_mode(demo_repo: Path) -> None:
    session = loaded(demo_repo)
    assert session.queue is not None
    by_severity = [f.branch.name for f in session.ordered()]
    assert [f.severity_rank for f in session.ordered()] == sorted(
        f.severity_rank for f in session.queue.fixes
    )
    session.sort_mode = "branch"
    assert [f.branch.name for f in session.ordered()] == sorted(by_severity)
    session.sort_mode = "age"
    newest = [max(c.committed for c in f.commits) for f in session.ordered()]
    assert newest == sorted(newest, reverse=True)


def test_stepping_follows_the_given_order_and_wraps(demo_repo: Path) -> None:
    session = loaded(demo_repo)
    names = [f.branch.name for f in session.ordered()]
    assert session.step(names[0], +1) == names[1]
    assert session.step(names[0], -1) == names[-1]  # wraps backwards
    assert session.step(names[-1], +1) == names[0]  # and forwards
    shown = names[2:5]  # the queue's rows as filtered
    assert session.step(shown[-1], +1, shown) == shown[0]
    assert session.step(names[0], +1, shown) == shown[0]  # from a fix the filter hides
    assert session.step(names[0], -1, shown) == shown[-1]
    assert session.step(shown[0], +1, shown[:1]) is None  # nowhere else to go
    assert session.step(names[0], +1, []) is None


def test_next_pending_wraps_past_decided_fixes(demo_repo: Path) -> None:
    session = loaded(demo_repo)
    waiting = pending(session)
    assert len(waiting) >= 3
    first, second, third = waiting[:3]
    session.decided_on(session.fix(second), "approve")
    assert session.next_pending(first) == third
    assert session.next_pending(waiting[-1]) == first
    for name in waiting:
        session.decided_on(session.fix(name), "reject")
    assert session.next_pending(first) is None


def test_skipped_is_what_this_run_opened_and_left_undecided(demo_repo: Path) -> None:
    session = loaded(demo_repo)
    assert session.queue is not None
    waiting = pending(session)
    decided_before = [
        f.branch.name for f in session.queue.fixes if f.branch.status not in AWAITING_REVIEW
    ]
    assert decided_before, "the demo has fixes decided before any session"
    first, second, third = waiting[:3]
    for name in (first, second, decided_before[0], third):
        session.opening(name)
    session.decided_on(session.fix(second), "approve")
    outcome = session.outcome()
    assert outcome.skipped == [first, third]  # never a fix decided before the run
    assert outcome.approved == [second]
    session.decided_on(session.fix(first), "reject")
    assert session.outcome().skipped == [third]  # opened, left, then decided: not skipped


def test_re_deciding_a_fix_moves_it_to_its_latest_verdict(demo_repo: Path) -> None:
    session = loaded(demo_repo)
    first, second = pending(session)[:2]
    session.decided_on(session.fix(first), "request-changes")
    session.decided_on(session.fix(second), "approve")
    session.decided_on(session.fix(first), "reject")
    outcome = session.outcome()
    assert outcome.changes_requested == []
    assert outcome.rejected == [first] and outcome.approved == [second]


def test_a_refused_approval_writes_nothing_and_keeps_the_draft(demo_repo: Path) -> None:
    session = loaded(demo_repo)
    fix = session.fix("ai-fix/ci-pin-actions")
    data = session.review(fix)
    assert data.blocking, "the CI fix raises a blocking flag"
    before = note_count(demo_repo)
    draft = confirmed_draft(fix, acknowledged=[])
    session.save_draft(draft)
    with pytest.raises(DecisionRefused) as refused:
        session.record(fix, "approve", draft)
    assert "blocking risk flags not acknowledged" in refused.value.message
    assert note_count(demo_repo) == before
    assert session.draft_for(fix).checklist.intent.note == "intent ok"  # the draft is kept
    assert session.decided == {}


def test_the_ruling_before_signing_matches_what_is_recorded(demo_repo: Path) -> None:
    session = loaded(demo_repo)
    fix = session.fix("ai-fix/ci-pin-actions")
    data = session.review(fix)
    signing = session.signer()
    assert signing.standing.problem is None, "the demo reviewer's key is allowed on main"
    draft = confirmed_draft(fix, acknowledged=[])
    ruling = session.ruling(fix, "approve", draft, signing)
    assert not ruling.recordable and not ruling.counts
    assert {r.code for r in ruling.refusals} == {"acknowledge"}
    draft.acknowledged = list(data.blocking)
    ruling = session.ruling(fix, "approve", draft, signing)
    assert ruling.recordable and ruling.counts, ruling
    before = note_count(demo_repo)
    recorded = session.record(fix, "approve", draft)
    assert recorded.ruling == ruling
    assert recorded.decision.acknowledged_flags == sorted(data.blocking)
    assert note_count(demo_repo) == before + 1
    assert session.draft_for(fix).checklist.intent.status == "open"  # the draft is gone
    session.decided_on(fix, recorded.decision.verdict)
    assert session.outcome().approved == [fix.branch.name]
    assert session.cached_review(fix) is None  # its decisions changed: reviewed afresh


def test_a_veto_needs_a_comment_but_no_checklist(demo_repo: Path) -> None:
    session = loaded(demo_repo)
    fix = session.fix("ai-fix/docs-tls-verification")
    session.review(fix)
    signing = session.signer()
    draft = Draft(branch=fix.branch.name, head=fix.branch.head)
    ruling = session.ruling(fix, "reject", draft, signing)
    assert [r.code for r in ruling.refusals] == ["comment"] and ruling.counts
    draft.comment = "this disables verification instead of pinning the CA"
    assert session.record(fix, "reject", draft).decision.verdict == "reject"


@pytest.fixture
def tool_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ssh-keygen wrapped so that each run is logged (the real program still runs)."""
    import os
    import shutil

    from fixreview.signing import verifier

    log = tmp_path / "ssh-keygen-runs.log"
    log.write_text("")
    wrappers = tmp_path / "wrappers"
    wrappers.mkdir()
    real = shutil.which("ssh-keygen")
    assert real is not None
    script = wrappers / "ssh-keygen"
    script.write_text(f'#!/bin/sh\necho "$1 $2" >> "{log}"\nexec "{real}" "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrappers}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FIXREVIEW_NO_CACHE", "1")  # nothing from disk: every check is this run's
    verifier._tool.cache_clear()
    verifier._cache.clear()
    return log


def test_a_batch_of_decisions_verifies_each_signature_about_once(
    demo_repo: Path, tool_runs: Path
) -> None:
    """What the app does for a batch: the rows, every fix judged once, then for each decision
    the fix's review, the recording, and that fix alone judged again — never the whole queue."""
    session = ReviewSession(Repository(demo_repo))
    queue, unknown = session.load_rows()
    session.use_queue(queue, unknown)
    assert unknown  # the demo's fixes with decisions: their status waits for judge()
    assert all(session.status_known(f) != (f.branch.name in unknown) for f in queue.fixes)
    session.use_standing(queue, session.judge(queue))
    assert not session.unknown
    before = tool_runs.read_text().count("-Y verify")
    decided = 0
    for fix in list(session.ordered()):
        if fix.branch.status not in AWAITING_REVIEW:
            continue
        data = session.review(fix)
        draft = confirmed_draft(fix, acknowledged=list(data.blocking))
        verdict = "approve"
        try:
            session.record(fix, verdict, draft)
        except DecisionRefused:  # e.g. the reviewer authored it: send it back instead
            verdict, draft.comment = "request-changes", "please split this change"
            session.record(fix, verdict, draft)
        session.decided_on(fix, verdict)
        assert not session.status_known(fix)
        others = {f.branch.name: f.branch.status for f in queue.fixes if f is not fix}
        standing = session.judge(queue, [fix])
        assert set(standing) == {fix.branch.name}  # that fix alone is judged again
        session.use_standing(queue, standing)
        assert session.status_known(fix)
        assert {f.branch.name: f.branch.status for f in queue.fixes if f is not fix} == others
        decided += 1
    assert decided >= 12
    checks = tool_runs.read_text().count("-Y verify") - before
    # each new decision is verified when its fix is judged again (signature checks are kept in
    # the process), and nothing else is verified again
    assert checks <= decided, (checks, decided)
    print(f"{decided} decisions: {checks} ssh-keygen -Y verify")


def test_judging_in_batches_warns_about_a_bad_record_once(demo_repo: Path) -> None:
    from fixreview.notes.store import append_record

    repo = Repository(demo_repo)
    head = repo.resolve("ai-fix/sqli-invoice-search")
    assert head is not None
    append_record(repo, DECISIONS_REF, head, "decision bm90IGEgcmVjb3Jk c2ln")
    session = ReviewSession(Repository(demo_repo))
    queue, unknown = session.load_rows()
    session.use_queue(queue, unknown)
    for start in range(0, len(queue.fixes), 3):  # as the app judges: a few fixes at a time
        session.use_standing(queue, session.judge(queue, queue.fixes[start : start + 3]))
    warnings = session.take_warnings()
    bad = [w for w in warnings if head[:12] in w]
    assert len(bad) == 1, warnings
    assert session.take_warnings() == []


def test_judging_the_whole_queue_streams_what_judging_each_fix_finds(demo_repo: Path) -> None:
    """What the app's loading worker does: every fix handed over exactly once, each with the
    standing judging it alone gives, the fixes with decisions judged a few at a time, and
    nothing handed over for a queue the session no longer shows."""
    session = ReviewSession(Repository(demo_repo))
    queue, unknown = session.load_rows()
    session.use_queue(queue, unknown)
    calls: list[dict[str, Standing]] = []
    session.judge_all(queue, unknown, calls.append, batch=2)
    shown = [name for call in calls for name in call]
    assert sorted(shown) == sorted(f.branch.name for f in queue.fixes)  # each once
    judged = [call for call in calls if set(call) <= unknown]
    assert judged and all(len(call) <= 2 for call in judged)
    fresh = ReviewSession(Repository(demo_repo))
    again, _ = fresh.load_rows()
    fresh.use_queue(again, unknown)
    alone = {f.branch.name: fresh.judge(again, [f])[f.branch.name] for f in again.fixes}
    streamed = {name: standing for call in calls for name, standing in call.items()}
    assert streamed == alone
    session.use_standing(queue, streamed)
    fresh.use_standing(again, alone)
    assert all(session.status_known(f) for f in queue.fixes)
    assert {f.branch.name: f.branch.status for f in queue.fixes} == {
        f.branch.name: f.branch.status for f in again.fixes
    }
    assert any(f.branch.status != "pending" for f in queue.fixes)  # the demo has decided fixes
    stale: list[dict[str, Standing]] = []
    newer, unknown_now = session.load_rows()
    session.use_queue(newer, unknown_now)
    session.judge_all(queue, unknown, stale.append)  # QUEUE is no longer the session's
    assert stale == []


def test_judging_waits_while_the_reviewer_opens_a_fix(demo_repo: Path) -> None:
    """Background judging — reading the risk cache, the queue's checks in this process, what
    it hands over and reports — waits while a fix is being opened (Python runs one thread at
    a time, and the reviewer comes first), then goes on: every fix is handed over once."""
    session = ReviewSession(Repository(demo_repo))
    queue, unknown = session.load_rows()
    session.use_queue(queue, unknown)
    calls: list[dict[str, Standing]] = []
    told: list[tuple[str, int, int]] = []

    def progress(stage: str, done: int, total: int) -> None:
        told.append((stage, done, total))

    with session.foreground():
        judging = threading.Thread(
            target=session.judge_all, args=(queue, unknown, calls.append, 5, progress)
        )
        judging.start()
        assert session.waited_behind.wait(60), "judging never came to wait behind the reviewer"
        assert calls == [] and told == []
    judging.join(120)
    assert not judging.is_alive()
    shown = [name for call in calls for name in call]
    assert sorted(shown) == sorted(f.branch.name for f in queue.fixes)
    assert told


def test_after_enter_background_work_waits_for_the_fixs_worker(
    demo_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From Enter on (about_to_open), while the review screen is built, background work waits
    for the screen's worker to take over and end (foreground) — or, should none ever start,
    for OPENING_HOLD at most."""
    import fixreview.session

    session = ReviewSession(Repository(demo_repo))
    assert not session.reviewer_waiting
    session.about_to_open()
    assert session.reviewer_waiting
    turns: list[str] = []
    waiting = threading.Thread(target=lambda: turns.append(str(session.behind_the_reviewer())))
    waiting.start()
    assert session.waited_behind.wait(60)
    with session.foreground():  # the screen's worker takes over from the Enter
        assert turns == []
    waiting.join(60)
    assert turns == ["None"] and not session.reviewer_waiting
    monkeypatch.setattr(fixreview.session, "OPENING_HOLD", 0.05)
    session.about_to_open()  # and no worker ever comes
    session.behind_the_reviewer()  # returns once the hold is over
    assert not session.reviewer_waiting
