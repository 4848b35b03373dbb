"""A batch review: the queue, what was opened, decided and skipped this run, and what comes next.

The app presents a :class:`ReviewSession` and drives it; nothing here knows about Textual, so the
session's rules — the order fixes come in, which fix is next, what counts as skipped, what the
summary says — are tested on their own (tests/test_review_session.py).

Threads: the app calls :meth:`ReviewSession.load`, :meth:`ReviewSession.review`,
:meth:`ReviewSession.ruling` and :meth:`ReviewSession.record` from worker threads (they run git
and signing programs); everything else from the UI thread. The worker methods only fill caches
keyed by the fix's head, so a result computed for an older head is never mistaken for a newer one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from fixreview.errors import FixreviewError
from fixreview.repo.git import Repository

if TYPE_CHECKING:  # the rest is imported where used: the app draws its first frame first
    from fixreview.decisions import Verdict
    from fixreview.drafts import Draft
    from fixreview.gate import GateResult
    from fixreview.models import Fix, Person, Status
    from fixreview.progress import Progress
    from fixreview.queue import Queue
    from fixreview.recording import Recorded
    from fixreview.repo.diffs import Diff
    from fixreview.repo.refstate import RefState
    from fixreview.review import ReviewData
    from fixreview.risk import RiskFlag
    from fixreview.rulebook import Reason, Ruling
    from fixreview.signing.base import Signer
    from fixreview.signing.verifier import KeyStanding

PREVIEW_AFTER = 4_000  # diff lines beyond which the review screen shows a preview first
READ_AHEAD_WAIT = 30.0  # seconds opening a fix waits at most for its diff being read ahead
PREVIEW_LINES = 400  # the preview's lines: more than a screen, parsed in a few milliseconds
OPENING_HOLD = 2.0  # seconds background work waits at most after Enter for the fix's worker

SortMode = Literal["severity", "age", "branch"]
SORTS: tuple[SortMode, ...] = ("severity", "age", "branch")


def sort_key(mode: SortMode, fix: Fix) -> tuple[object, ...]:
    """Most severe first; newest first; or by branch name (ties always by branch name)."""
    if mode == "age":
        newest = max((c.committed for c in fix.commits), default=None)
        return (-(newest.timestamp() if newest else 0), fix.branch.name)
    if mode == "branch":
        return (fix.branch.name,)
    return (fix.severity_rank, fix.branch.name)


def listed_first(queue: Queue, *, everything: bool = False) -> list[Fix]:
    """The fixes the queue lists at start (the app's default view, and ``list``): awaiting
    review (every fix when EVERYTHING, ``list --all``), most severe first."""
    from fixreview.models import AWAITING_REVIEW
    shown = (f for f in queue.fixes if everything or f.branch.status in AWAITING_REVIEW)
    return sorted(shown, key=lambda f: sort_key("severity", f))


@dataclass
class Outcome:
    """What this run decided, by verdict, and what it skipped: branch names in decision order."""

    approved: list[str] = field(default_factory=list)
    changes_requested: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # opened, left undecided, still awaiting

    def of(self, verdict: Verdict) -> list[str]:
        return {
            "approve": self.approved,
            "request-changes": self.changes_requested,
            "reject": self.rejected,
        }[verdict]


@dataclass(frozen=True)
class Standing:
    """What the queue's columns show of a fix at HEAD: its status, flags and approvals
    (counted, needed), from :meth:`ReviewSession.judge`."""

    head: str
    status: Status
    flags: list[RiskFlag]
    approvals: tuple[int, int]


@dataclass(frozen=True)
class Signing:
    """Who decides this run, the signer git would use, and what the base says of its key."""

    reviewer: Person
    signer: Signer
    standing: KeyStanding


class ReviewSession:
    """The state of one batch review of a repository's pending AI fixes."""

    def __init__(
        self, repo: Repository, base: str | None = None, branches: Sequence[str] = ()
    ) -> None:
        self.repo = repo
        self.base = base
        self.branches = tuple(branches)  # the reviewer's branch patterns: the queue shows those
        self.queue: Queue | None = None
        self.sort_mode: SortMode = "severity"
        self.opened: list[str] = []  # every fix opened this run, in the order first opened
        self.decided: dict[str, Verdict] = {}  # the latest verdict of this run, by branch
        self._reviews: dict[tuple[str, str], ReviewData] = {}
        self._finals: dict[tuple[str, str], Diff] = {}
        self._known_flags: dict[tuple[str, str], list[RiskFlag]] = {}  # by (branch, head)
        self._standing: dict[str, Standing] = {}
        self.unknown: set[str] = set()  # branches whose status is still being judged
        self._warned: set[str] = set()  # what judging warned about already
        self._foreground = 0  # workers opening a fix (foreground)
        self._opening_until = 0.0  # Enter was pressed: background waits until then at most
        self._turn = threading.Condition()
        # set once background work has waited behind the reviewer (what tests watch)
        self.waited_behind = threading.Event()
        self._signing: Signing | None = None
        self._reading: dict[tuple[str, str], threading.Event] = {}  # read-aheads running
        self._reading_lock = threading.Lock()

    # -- loading (worker threads) ------------------------------------------------------------

    def load(self) -> Queue:
        """Read the queue and every fix's status afresh (the caller installs it with
        :meth:`use_queue`, on the UI thread)."""
        from fixreview.gate import fill_statuses
        from fixreview.queue import load_queue
        queue = load_queue(self.repo, self.base, only=self.branches)
        fill_statuses(self.repo, queue)
        return queue

    def load_rows(
        self, progress: Progress | None = None, state: RefState | None = None
    ) -> tuple[Queue, set[str]]:
        """Read the queue without judging anything: what its rows need, fast. With it, the
        branches whose status is unknown until :meth:`judge` (those with decisions); every
        other fix is pending. PROGRESS, when given, is told how far the queue is read. STATE,
        when given, is the refs and configuration to read it from (read_ref_state: what a
        rows snapshot's key was made of), not git's refs now."""
        from fixreview.decisions import read_decisions
        from fixreview.gate import fixes_with_decisions
        from fixreview.queue import load_queue
        repo = self.repo
        if state is not None:  # a pinned copy: the session's own repository writes refs
            repo = Repository(self.repo.root)
            repo.pin(state)
        queue = load_queue(repo, self.base, progress, self.branches)
        records, _, exists = read_decisions(repo)
        if not exists:
            return queue, set()
        return queue, {f.branch.name for f in fixes_with_decisions(queue, records)}

    def judge(self, queue: Queue, fixes: Sequence[Fix] | None = None) -> dict[str, Standing]:
        """The risk flags of FIXES (default: every fix of QUEUE; those :meth:`judge_all` found
        already are not looked up again) and the gate's judgement of those with decisions:
        after a decision, that fix alone, nothing else verified again. Install the result with
        :meth:`use_standing`. Waits while the reviewer opens a fix (:meth:`foreground`)."""
        from fixreview.gate import judge_queue
        from fixreview.queue import Queue
        from fixreview.risk import assess_fixes
        self.behind_the_reviewer()
        fixes = list(queue.fixes if fixes is None else fixes)
        flags = {
            f.branch.name: self._known_flags[(f.branch.name, f.branch.head)]
            for f in fixes
            if (f.branch.name, f.branch.head) in self._known_flags
        }
        missing = [f for f in fixes if f.branch.name not in flags]
        if missing:
            flags.update(
                assess_fixes(
                    self.repo, missing, queue.policy.policy, pause=self.behind_the_reviewer
                )
            )
        scope = Queue(policy=queue.policy, fixes=fixes)
        gates = judge_queue(self.repo, scope, flags)
        for warning in scope.warnings:  # the same ledger is read for every batch: say it once
            if warning not in self._warned:
                self._warned.add(warning)
                queue.warnings.append(warning)
        return {fix.branch.name: self._standing_for(queue, fix, flags, gates) for fix in fixes}

    def judge_all(
        self,
        queue: Queue,
        unknown: set[str],
        show: Callable[[dict[str, Standing]], None],
        batch: int = 5,
        progress: Progress | None = None,
    ) -> None:
        """Every fix's flags, status and approvals, handed to SHOW as soon as they are known
        (worker thread). The flags come in bulk (:func:`assess_fixes`: from the result cache,
        the others in worker processes when there are many, so this thread mostly waits and
        leaves Python to the UI); a fix without decisions is shown as its flags arrive, and
        the fixes with decisions (UNKNOWN, from :meth:`load_rows`), whose flags are asked for
        first, are judged BATCH at a time meanwhile, each batch waiting while the reviewer
        opens a fix. Nothing is shown once QUEUE is no longer the session's. PROGRESS, when
        given, is told how many fixes have their flags, and how many of UNKNOWN are judged."""
        from fixreview.gate import STAGE_DECISIONS
        from fixreview.risk import assess_fixes
        by_name = {fix.branch.name: fix for fix in queue.fixes}
        waiting: list[Fix] = []
        judged = 0

        def judge_some(count: int) -> None:
            nonlocal judged
            while len(waiting) >= count and waiting and self.queue is queue:
                chosen, waiting[:] = waiting[:batch], waiting[batch:]
                if progress is not None:
                    progress(STAGE_DECISIONS, judged, len(unknown))
                show(self.judge(queue, chosen))
                judged += len(chosen)

        def arrived(flags: dict[str, list[RiskFlag]]) -> None:
            if self.queue is not queue:
                return
            ready: dict[str, Standing] = {}
            for name, found in flags.items():
                fix = by_name[name]
                self._known_flags[(name, fix.branch.head)] = found
                if name in unknown:
                    waiting.append(fix)
                else:  # no decision: pending, whatever the gate would say
                    ready[name] = self._standing_for(queue, fix, flags, {})
            if ready:
                show(ready)
            judge_some(batch)

        first = sorted(queue.fixes, key=lambda fix: fix.branch.name not in unknown)
        assess_fixes(
            self.repo,
            first,
            queue.policy.policy,
            on_flags=arrived,
            progress=progress,
            pause=self.behind_the_reviewer,
        )
        judge_some(1)

    def _standing_for(
        self,
        queue: Queue,
        fix: Fix,
        flags: Mapping[str, list[RiskFlag]],
        gates: Mapping[str, GateResult],
    ) -> Standing:
        from fixreview.gate import approvals_of, status_of
        from fixreview.models import Status
        name = fix.branch.name
        gate = gates.get(name)
        status = status_of(gate) if gate is not None else Status.PENDING
        approvals = approvals_of(queue.policy, fix, flags[name], gate)
        return Standing(fix.branch.head, status, flags[name], approvals)

    def use_standing(self, queue: Queue, standing: dict[str, Standing]) -> None:
        """Install what :meth:`judge` found (UI thread): statuses, flags and approvals."""
        if queue is not self.queue:
            return
        for fix in queue.fixes:
            found = standing.get(fix.branch.name)
            if found is not None and found.head == fix.branch.head:
                fix.branch.status = found.status
                self._standing[fix.branch.name] = found
                self.unknown.discard(fix.branch.name)

    def final(self, fix: Fix) -> Diff:
        """The final diff of FIX at its head, parsed once per head: what the review screen
        shows first, before the risk checks and the gate (worker thread)."""
        from fixreview.changes import final_diff
        key = (fix.branch.name, fix.branch.head)
        diff = self._finals.get(key)
        if diff is None:
            self._read_ahead(fix)
            diff = final_diff(self.repo, fix)
            self._finals = {key: diff}  # only the fix being opened: a diff can be large
        return diff

    def final_preview(self, fix: Fix) -> Diff | None:
        """The first lines of FIX's final diff when it is long and not parsed yet (what the
        review screen shows while :meth:`final` parses the whole: unidiff reads about 100,000
        lines a second), else None (worker thread)."""
        from fixreview.changes import final_text
        from fixreview.repo.diffs import diff_preview
        if (fix.branch.name, fix.branch.head) in self._finals:
            return None
        self._read_ahead(fix)
        text = final_text(self.repo, fix)
        if text.count("\n") <= PREVIEW_AFTER:
            return None
        return diff_preview(text, PREVIEW_LINES)

    def final_at_hand(self, fix: Fix) -> Diff | None:
        """FIX's final diff as far as it can be shown at once, with no git run and no long
        parse (UI thread, as a fix opens): the whole when it is parsed already or short, the
        first lines of a long one (:func:`diff_preview`) whose text was read ahead
        (:meth:`warm_final`); None when its text is not read yet."""
        from fixreview.changes import final_pair, final_text
        from fixreview.repo.diffs import diff_preview, parse_diff
        key = (fix.branch.name, fix.branch.head)
        parsed = self._finals.get(key)
        if parsed is None and not self.repo.has_diff(*final_pair(self.repo, fix)):
            return None
        text = parsed.raw if parsed is not None else final_text(self.repo, fix)
        if text.count("\n") > PREVIEW_AFTER:
            return diff_preview(text, PREVIEW_LINES)
        if parsed is None:
            parsed = parse_diff(text)
            self._finals = {key: parsed}
        return parsed

    def warm_final(self, fix: Fix) -> bool:
        """Compute FIX's final diff text ahead of its opening when it is long (the reviewer's
        cursor rests on its row, or the review screen is being built), so that opening it
        starts from git's bytes, already read; whether anything was computed (worker thread).
        Opening the fix meanwhile waits for this run instead of starting the same one."""
        from fixreview.changes import final_pair, final_text
        if fix.stats.added + fix.stats.removed <= PREVIEW_AFTER:
            return False
        key = (fix.branch.name, fix.branch.head)
        with self._reading_lock:
            if key in self._reading or self.repo.has_diff(*final_pair(self.repo, fix)):
                return False
            done = self._reading[key] = threading.Event()
        try:
            final_text(self.repo, fix)
        finally:
            with self._reading_lock:
                del self._reading[key]
            done.set()
        return True

    def _read_ahead(self, fix: Fix) -> None:
        """Wait (bounded) for a read-ahead of FIX's final diff still running (warm_final)."""
        with self._reading_lock:
            running = self._reading.get((fix.branch.name, fix.branch.head))
        if running is not None:
            running.wait(READ_AHEAD_WAIT)

    @contextmanager
    def foreground(self) -> Iterator[None]:
        """While the reviewer waits on this (opening a fix), background work waits at its
        turns (:meth:`behind_the_reviewer`): Python runs one thread at a time, and the
        reviewer comes first. It takes over from :meth:`about_to_open`."""
        with self._turn:
            self._foreground += 1
            self._opening_until = 0.0
        try:
            yield
        finally:
            with self._turn:
                self._foreground -= 1
                self._turn.notify_all()

    def about_to_open(self) -> None:
        """Enter was pressed on a fix (UI thread): background work waits from now on, while
        the review screen is built, until its worker takes over (:meth:`foreground`) — at
        most :data:`OPENING_HOLD` seconds, should none ever start."""
        with self._turn:
            self._opening_until = time.monotonic() + OPENING_HOLD

    @property
    def reviewer_waiting(self) -> bool:
        """Whether the reviewer is opening a fix now (background work would wait)."""
        with self._turn:
            return bool(self._foreground) or self._opening_until > time.monotonic()

    def behind_the_reviewer(self) -> None:
        """Background work's turn (worker thread): return at once, unless the reviewer is
        opening a fix (:meth:`about_to_open`, :meth:`foreground`), then once it is open.
        Judging, the queue's risk checks in this process, their results and starting their
        worker processes all wait there."""
        with self._turn:
            while True:
                if self._foreground:
                    left: float | None = None
                else:
                    left = self._opening_until - time.monotonic()
                    if left <= 0:
                        return
                self.waited_behind.set()
                self._turn.wait(left)

    def review(self, fix: Fix) -> ReviewData:
        """Everything the review screen shows for FIX at its head, computed once per head."""
        from fixreview.review import load_review
        key = (fix.branch.name, fix.branch.head)
        data = self._reviews.get(key)
        if data is None:
            final = self._finals.get(key)
            data = load_review(self.repo, fix, self._policy_queue().policy, final)
            self._reviews[key] = data
        return data

    def signer(self) -> Signing:
        """Who signs, with which signer, and what the base's allowed keys say of that key:
        learned once a run (runs the signing program: call it from a worker)."""
        from fixreview.recording import key_standing
        from fixreview.signing import signer_from_git
        from fixreview.signing.config import reviewer_identity
        if self._signing is None:
            loaded = self._policy_queue().policy
            reviewer = reviewer_identity(self.repo)
            signer = signer_from_git(self.repo)
            self._signing = Signing(
                reviewer, signer, key_standing(self.repo, loaded, reviewer, signer)
            )
        return self._signing

    def ruling(self, fix: Fix, verdict: Verdict, draft: Draft, signing: Signing) -> Ruling:
        """What the rule-book says of this decision before it is signed. Pure (no process):
        the review of FIX and SIGNING come from :meth:`review` and :meth:`signer`."""
        from fixreview.recording import ruling_for
        data = self.cached_review(fix)
        if data is None:
            raise RuntimeError("the fix's review has not been loaded yet")
        return ruling_for(
            self._policy_queue().policy,
            fix,
            data.flags,
            verdict,
            draft,
            signing.reviewer,
            signing.standing,
        )

    def obstacles(self, fix: Fix) -> tuple[Reason, ...]:
        """Why this reviewer's approval of FIX would not count even with the checklist
        confirmed and every blocking flag acknowledged: their key, who they are, the fix's
        history — or that no signing key is set up. Asked before the reviewer starts (runs
        signing programs once a run: call it from a worker)."""
        from fixreview.decisions import CHECKLIST_ITEMS, Checklist, ChecklistItem
        from fixreview.drafts import Draft
        from fixreview.rulebook import Reason
        try:
            signing = self.signer()
        except FixreviewError as exc:
            return (Reason("key", f"you cannot sign yet: {exc.message}"),)
        data = self.review(fix)
        done = ChecklistItem(status="confirmed", note="(any)")
        whole = Draft(
            branch=fix.branch.name,
            head=fix.branch.head,
            checklist=Checklist(**dict.fromkeys(CHECKLIST_ITEMS, done)),
            acknowledged=data.blocking,
        )
        return self.ruling(fix, "approve", whole, signing).not_counting

    def approvals(self, fix: Fix) -> tuple[int, int] | None:
        """(counted, needed) approvals of FIX at its head, or None while they are computed."""
        data = self.cached_review(fix)
        if data is not None:
            return data.approvals
        approvals: tuple[int, int] | None = self._standing_of(fix, "approvals")
        return approvals

    def record(
        self, fix: Fix, verdict: Verdict, draft: Draft, *, record_anyway: bool = False
    ) -> Recorded:
        """Sign and write the decision (the rule-book asked first), then forget the draft.
        Call it from a worker (signing may wait for a passphrase), then :meth:`decided_on`
        from the UI thread."""
        from fixreview.drafts import discard_draft
        from fixreview.recording import record
        signing = self.signer()
        recorded = record(
            self.repo,
            self._policy_queue().policy,
            fix,
            self.review(fix).flags,
            verdict,
            draft,
            reviewer=signing.reviewer,
            signer=signing.signer,
            record_anyway=record_anyway,
        )
        discard_draft(self.repo, fix.branch.name)
        return recorded

    # -- the queue (UI thread) ---------------------------------------------------------------

    def use_queue(self, queue: Queue, unknown: set[str] | None = None) -> list[str]:
        """Install a freshly loaded queue (UNKNOWN: the branches whose status is still to be
        judged); returns its warnings, once."""
        self.queue = queue
        self.unknown = set(unknown or ())
        warnings = list(queue.warnings)
        queue.warnings.clear()
        return warnings

    def take_warnings(self) -> list[str]:
        """What judging the queue found to warn about (bad records), once."""
        if self.queue is None:
            return []
        warnings = list(self.queue.warnings)
        self.queue.warnings.clear()
        return warnings

    def fix(self, branch: str) -> Fix:
        return self._policy_queue().get(branch)

    def cached_review(self, fix: Fix) -> ReviewData | None:
        """The review of FIX at its current head, if it has been computed."""
        return self._reviews.get((fix.branch.name, fix.branch.head))

    def flag_counts(self, fix: Fix) -> tuple[int, int] | None:
        """(blocking, all) risk flags of FIX at its head, or None while they are computed."""
        data = self.cached_review(fix)
        flags = data.flags if data is not None else self._standing_of(fix, "flags")
        if flags is None:
            return None
        return sum(1 for flag in flags if flag.blocking), len(flags)

    def status_known(self, fix: Fix) -> bool:
        """False while FIX's status is being judged (it has decisions not yet verified)."""
        return fix.branch.name not in self.unknown

    def _standing_of(self, fix: Fix, field_name: str) -> Any:
        found = self._standing.get(fix.branch.name)
        if found is None or found.head != fix.branch.head:
            return None
        return getattr(found, field_name)

    def ordered(self) -> list[Fix]:
        """Every fix, decided ones too, in the queue's sort order."""
        if self.queue is None:
            return []
        return sorted(self.queue.fixes, key=lambda f: sort_key(self.sort_mode, f))

    def visible(self, *, show_decided: bool, matches: Callable[[Fix], bool]) -> list[Fix]:
        """The fixes the queue lists: awaiting review (or all), that MATCHES keeps, in order."""
        from fixreview.models import AWAITING_REVIEW
        return [
            f
            for f in self.ordered()
            if (show_decided or f.branch.status in AWAITING_REVIEW) and matches(f)
        ]

    def awaiting(self) -> int:
        from fixreview.models import AWAITING_REVIEW
        if self.queue is None:
            return 0
        return sum(1 for f in self.queue.fixes if f.branch.status in AWAITING_REVIEW)

    # -- moving through the batch (UI thread) --------------------------------------------------

    def opening(self, branch: str) -> None:
        if branch not in self.opened:
            self.opened.append(branch)

    def step(self, branch: str, delta: int, order: Sequence[str] | None = None) -> str | None:
        """The fix DELTA places from BRANCH in ORDER (the queue's rows as filtered; every fix
        when None), wrapping around; None when there is nowhere else to go."""
        names = list(order) if order is not None else [f.branch.name for f in self.ordered()]
        if branch in names:
            if len(names) < 2:
                return None
            target = names[(names.index(branch) + delta) % len(names)]
        elif names:
            target = names[0] if delta > 0 else names[-1]
        else:
            return None
        return target

    def next_pending(self, after: str) -> str | None:
        """The next fix after AFTER, in order and wrapping around, that awaits review and was
        not decided this run; None when the batch is done."""
        from fixreview.models import AWAITING_REVIEW
        order = self.ordered()
        names = [f.branch.name for f in order]
        start = names.index(after) + 1 if after in names else 0
        for fix in order[start:] + order[:start]:
            name = fix.branch.name
            if name != after and name not in self.decided and fix.branch.status in AWAITING_REVIEW:
                return name
        return None

    def gates(self, branches: Sequence[str]) -> dict[str, GateResult | None]:
        """The gate's judgement of each of BRANCHES now (None: no decision on it, or it left the
        queue). Call it from a worker: reviews decided on are computed afresh."""
        found: dict[str, GateResult | None] = {}
        for branch in branches:
            try:
                fix = self.fix(branch)
            except FixreviewError:
                found[branch] = None
                continue
            found[branch] = self.review(fix).gate
        return found

    def outcome(self) -> Outcome:
        """This run's decisions by verdict, and the fixes it opened and left undecided while
        they await review (a fix decided before the run is never "skipped")."""
        from fixreview.models import AWAITING_REVIEW
        result = Outcome()
        for branch, verdict in self.decided.items():
            result.of(verdict).append(branch)
        waiting = {
            f.branch.name for f in self._policy_queue().fixes if f.branch.status in AWAITING_REVIEW
        }
        result.skipped = [b for b in self.opened if b not in self.decided and b in waiting]
        return result

    def decided_on(self, fix: Fix, verdict: Verdict) -> None:
        """FIX was decided this run (after :meth:`record` returned)."""
        branch = fix.branch.name
        self.decided.pop(branch, None)  # re-deciding moves the fix to its new verdict, last
        self.decided[branch] = verdict
        # its decisions changed: the cached review (which holds the gate's judgement) is stale
        self._reviews.pop((branch, fix.branch.head), None)
        self._standing.pop(branch, None)
        self.unknown.add(branch)  # until judge(queue, only=fix) says where it stands now

    # -- drafts --------------------------------------------------------------------------------

    def draft_for(self, fix: Fix) -> Draft:
        """The saved draft of FIX, or a fresh one."""
        from fixreview.drafts import Draft, load_draft
        draft = load_draft(self.repo, fix.branch.name)
        return draft if draft is not None else Draft(branch=fix.branch.name, head=fix.branch.head)

    def save_draft(self, draft: Draft) -> None:
        """Write DRAFT to disk (OSError when it cannot be: the caller says so)."""
        from fixreview.drafts import save_draft
        save_draft(self.repo, draft)

    # -- internals -----------------------------------------------------------------------------

    def _policy_queue(self) -> Queue:
        if self.queue is None:
            raise RuntimeError("the queue has not been loaded yet")
        return self.queue


__all__ = [
    "SORTS",
    "Outcome",
    "ReviewSession",
    "Signing",
    "SortMode",
    "Standing",
    "listed_first",
    "sort_key",
]
