"""The verify gate: whether a head commit carries the approvals the policy asks for.

CI runs this through ``fixreview verify``. It trusts neither the AI nor whoever pushed the
branch: the policy, the allowed signers and the allowed OpenPGP keys come from the base branch;
every decision's signature is checked against them before any of its fields is believed; and each
approval must be bound to this exact head, tree and diff. The rules, in the design's numbering:

1. enough approvals: the largest number any applicable rule asks for (``approvals.required``;
   ``approvals.sensitive`` too when the fix touches a sensitive path or policy file), each from a
   distinct *voter*: approvals that share a signing key or a principal are one person, one vote;
2. each names this head and its diff hash (or, where ``allow_rebased``, an identical diff);
3. each has the whole checklist confirmed;
4. no voter authored or committed a commit of the fix, under any identity their key stands for,
   and none is an AI identity;
5. no voter's latest decision on this fix is ``reject`` or ``request-changes``; a veto binds to
   the diff it was made on, so it keeps blocking every later head with the same final diff (an
   empty commit does not clear it), until that voter decides again or the diff changes;
6. every blocking risk flag at this head is acknowledged in each counted approval;
7. every check the policy requires (``[checks] required``) has passed on this exact head and
   tree, by the latest counted record signed with a key of the base's CI signers
   (:mod:`fixreview.check_rules` says what counts).

Rules 3, 4 and 6, which are about one decision, are the rule-book's (:mod:`fixreview.rulebook`):
the gate asks it about every bound record, as ``decide`` and the app ask it before signing.

A fix whose head and base have several merge-bases is refused: what merging it would do cannot be
shown as one diff. Decisions are an append-only ledger: a record dropped from the notes is still
judged, and its removal reported as tampering.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fixreview.check_rules import check_problems
from fixreview.decisions import (
    DecisionRecord,
    cached_diff_sha256,
    diff_sha256,
    read_decisions,
    read_decisions_on,
    trees,
)
from fixreview.errors import FixreviewError, NotFoundError
from fixreview.models import CheckState, Fix, Status
from fixreview.notes.store import DECISIONS_REF, prefetch_ledger
from fixreview.policy import LoadedPolicy, load_policy
from fixreview.queue import Queue, fix_at
from fixreview.repo.git import Repository
from fixreview.risk import RiskFlag
from fixreview.rulebook import FixFacts, as_signed, fix_facts, rule_on
from fixreview.signing.base import SignatureCheck
from fixreview.signing.verifier import DecisionVerifier, SignatureRequest

if TYPE_CHECKING:
    from fixreview.progress import Progress

NOTES_REFSPEC = "refs/notes/fixreview/*:refs/notes/fixreview/*"
# what judging a queue tells its progress callback (fixreview/progress.py)
STAGE_SIGNATURES = "checking signatures"
STAGE_DECISIONS = "judging decisions"


@dataclass
class Judged:
    """One decision record and what the gate made of it."""

    record: DecisionRecord
    signature: SignatureCheck | None
    reason: str | None  # None: valid, bound to this head, and counts as far as it goes
    bound: bool = False  # validly signed and bound to this fix's diff (whoever the reviewer is)
    stale: bool = False  # validly signed, but for an earlier commit of the branch
    counted: bool = False
    voter: str = ""  # the person behind the key and principal: one vote each


@dataclass
class GateResult:
    fix: Fix
    policy: LoadedPolicy
    diff_sha256: str
    required: int
    sensitive: bool
    blocking_flags: list[str]
    judged: list[Judged] = field(default_factory=list)
    vetoes: list[Judged] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tampering: list[str] = field(default_factory=list)
    # when REV was a merge queue's commit: the merge commit this approved head's judgement
    # stands for, and the commit it was merged into (its first parent)
    merged_as: str | None = None
    merged_into: str | None = None
    # the CI checks at the head (fixreview.check_rules): a required one not passed is a problem
    checks: list[CheckState] = field(default_factory=list)

    @property
    def counted(self) -> list[Judged]:
        return [j for j in self.judged if j.counted]

    @property
    def approved(self) -> bool:
        return not self.problems and len(self.counted) >= self.required


MAX_QUEUE_DEPTH = 20
"""The most merge commits, one on another, a merge queue's commit is followed through."""


def evaluate(
    repo: Repository,
    rev: str = "HEAD",
    base: str | None = None,
    *,
    resolved: tuple[str | None] | None = None,
) -> GateResult:
    """Judge every decision that bears on REV and apply the rules.

    REV that is not approved itself but is a merge queue's commit passes as the approved head
    it merged (:func:`_as_queue_merge`: its second parent, approved; its first parent in the
    base, or such a merge itself; its tree the clean merge of the two), and says so.
    RESOLVED: ``(repo.resolve(rev),)`` when the caller has read it already (``verify`` does,
    while the models are imported)."""
    ledger = repo.ref_value(DECISIONS_REF)  # read once: the whole judgement sees this commit
    if ledger is not None:  # its history's git log runs while the policy and the fix are read
        prefetch_ledger(repo, DECISIONS_REF, ledger)
    loaded = load_policy(repo, base)
    head = resolved[0] if resolved is not None else repo.resolve(rev)
    if head is None:
        raise FixreviewError(f"{rev!r} is not a commit in this repository")
    if ledger is None:
        raise FixreviewError(
            f"{DECISIONS_REF} is missing (a clone without notes?): "
            f"git fetch origin '{NOTES_REFSPEC}'"
        )
    result = _evaluate_head(repo, loaded, head, rev, ledger)
    if result.approved:
        return result
    merged, why = _as_queue_merge(repo, loaded, head, ledger, 0)
    if merged is not None:
        return merged
    if why is not None:
        result.problems.append(why)
    return result


def _as_queue_merge(
    repo: Repository, loaded: LoadedPolicy, head: str, ledger: str, depth: int
) -> tuple[GateResult | None, str | None]:
    """HEAD judged as a merge queue's commit (GitHub's merge_group, GitLab's merged results):
    the judgement of its second parent, an approved head, when its first parent is in the base
    (or is such a merge itself, at most :data:`MAX_QUEUE_DEPTH` deep) and its tree is exactly
    the clean merge of the two, computed in the clean room; else None and why (None: HEAD is
    not a merge commit)."""
    from fixreview.repo.commits import read_commits

    commit = read_commits(repo, [head]).get(head)
    if commit is None or len(commit.parents) != 2:
        return None, None
    into, merged = commit.parents
    where = f"merge commit {head[:12]}"
    try:
        out = repo.clean_run("merge-tree", "--write-tree", "--no-messages", into, merged)
    except FixreviewError:  # conflicts (exit 1), or no merge-base here (a shallow clone)
        return None, f"{where}: {into[:12]} and {merged[:12]} do not merge cleanly here"
    clean_tree = out.decode("ascii", "replace").split("\n", 1)[0].strip()
    if clean_tree != repo.commit_trees([head]).get(head):
        return None, (
            f"{where}: its tree is not the clean merge of {into[:12]} and {merged[:12]}: "
            "it changes more than the head it merges"
        )
    if not repo.is_ancestor(into, loaded.base_commit):
        inner = None
        if depth < MAX_QUEUE_DEPTH:
            inner, _ = _as_queue_merge(repo, loaded, into, ledger, depth + 1)
        if inner is None or not inner.approved:
            return None, (
                f"{where}: its first parent {into[:12]} is neither in {loaded.base} nor an "
                "approved merge queue commit"
            )
    if repo.is_ancestor(merged, loaded.base_commit):
        return None, f"{where}: its second parent {merged[:12]} is already in {loaded.base}"
    try:
        judged = _evaluate_head(repo, loaded, merged, merged, ledger)
    except FixreviewError as exc:
        return None, f"{where}: the head it merges, {merged[:12]}: {exc.message}"
    if not judged.approved:
        return None, f"{where}: the head it merges, {merged[:12]}, is not approved"
    judged.merged_as, judged.merged_into = head, into
    return judged, None


def _evaluate_head(
    repo: Repository, loaded: LoadedPolicy, head: str, rev: str, ledger: str
) -> GateResult:
    """The gate's judgement of the fix whose head is HEAD (REV: how the caller named it)."""
    if repo.is_ancestor(head, loaded.base_commit):  # the base's tip, or a commit already in it
        where = "the tip of" if head == loaded.base_commit else "already in"
        raise FixreviewError(
            f"{rev} ({head[:12]}) is not a fix: it is {where} the base branch {loaded.base}; "
            "verify a fix branch or its head commit"
        )
    fix, fix_warnings = fix_at(repo, loaded, head)
    if not fix.branch.ref and fix.proposal_branch is None:
        fix.branch.name = rev  # no fix branch points here: named as the caller named it
    if fix.branch.merge_base is None:
        if repo.run_text("rev-parse", "--is-shallow-repository").strip() == "true":
            raise FixreviewError(
                "shallow clone: the merge-base with the base branch is not here "
                "(fetch the history: git fetch --unshallow origin, or actions/checkout with "
                "fetch-depth: 0)"
            )
        raise NotFoundError(f"{rev} shares no history with {loaded.base}")
    # only the records that can bear on this fix are parsed: its own, and any naming its diff
    records, warnings, _ = read_decisions_on(repo, fix, at=ledger)
    return judge_fix(repo, loaded, fix, records, warnings + fix_warnings)


def judge_fix(
    repo: Repository,
    loaded: LoadedPolicy,
    fix: Fix,
    records: dict[str, list[DecisionRecord]],
    warnings: list[str],
    flags: list[RiskFlag] | None = None,
    verifier: DecisionVerifier | None = None,
    current_hash: str | None = None,
    relevant: list[DecisionRecord] | None = None,
) -> GateResult:
    """Apply the gate to FIX, given every decision record of the repository (and the fix's
    risk flags, the base's :func:`base_verifier`, the hash of its diff and the records that bear
    on it, ``_relevant(fix, records, current_hash)``, when the caller has them already)."""
    head = fix.branch.head
    merge_base = fix.branch.merge_base
    if merge_base is None:
        raise NotFoundError(f"{fix.branch.name} shares no history with {loaded.base}")
    if current_hash is None:
        current_hash = diff_sha256(repo, merge_base, head)
    head_tree, base_tree = trees(repo, head, merge_base)
    if verifier is None:
        verifier = base_verifier(repo, loaded)
    if relevant is None:
        relevant = _relevant(fix, records, current_hash)
    if flags is None:  # the signatures are checked while the risk checks run
        checking = _check_ahead(verifier, relevant)
        try:
            flags = _risk_flags(repo, fix, loaded)
        finally:
            checking.join()
    facts = fix_facts(fix, flags)
    result = GateResult(
        fix=fix,
        policy=loaded,
        diff_sha256=current_hash,
        required=facts.approvals_needed(loaded),
        sensitive=facts.sensitive,
        blocking_flags=list(facts.blocking),
        warnings=list(warnings),
    )
    if facts.refused is not None:  # several merge-bases: the diff is not what merging does
        result.problems.append(facts.refused)
    result.checks = list(fix.checks)
    result.problems.extend(check_problems(fix.checks))
    binding = _Binding(
        repo, head, head_tree, merge_base, base_tree, current_hash, frozenset(fix.commit_ids)
    )
    for record in relevant:
        judged = _judge(record, loaded, verifier, binding, facts)
        result.judged.append(judged)
        if record.removed_in is not None:
            result.tampering.append(_tamper_line(record))
    result.warnings.extend(result.tampering)
    _apply_rules(result)
    return result


def _relevant(
    fix: Fix,
    records: dict[str, list[DecisionRecord]],
    current_hash: str,
    by_hash: dict[str, list[tuple[str, DecisionRecord]]] | None = None,
) -> list[DecisionRecord]:
    """The records that can bear on FIX: those on its own commits, and, anywhere in the
    repository, those claiming its exact final diff (a veto follows the diff it was made on;
    an approval only where rebased approvals are allowed — the binding decides). BY_HASH:
    :func:`_by_diff_hash` of RECORDS, when the caller asks for many fixes."""
    own = fix.commit_ids
    found = [r for target in sorted(own) for r in records.get(target, [])]
    claiming = (by_hash if by_hash is not None else _by_diff_hash(records)).get(current_hash, [])
    found += [r for target, r in claiming if target not in own]
    seen: set[tuple[str, bytes, bytes]] = set()
    unique = []
    for record in found:  # one line twice on one commit is one record (a copy elsewhere is not)
        key = (record.target, record.payload, record.signature)
        if key not in seen:
            seen.add(key)
            unique.append(record)
    return unique


def _check_ahead(verifier: DecisionVerifier, relevant: list[DecisionRecord]) -> threading.Thread:
    """A started thread checking the signatures of RELEVANT (``DecisionVerifier.prefetch``, in
    the order :func:`_judge` asks: the same answers, its ``ssh-keygen`` runs several at a
    time), so that they run while the caller works; :func:`_judge` then finds them in memory.
    Whatever it could not settle (an error, a check cut short) :func:`_judge` checks again."""

    def run() -> None:
        with contextlib.suppress(Exception):  # each check is made again, and raises, in _judge
            verifier.prefetch([_signature_request(r) for r in relevant])

    thread = threading.Thread(target=run, name="fixreview-signatures", daemon=True)
    thread.start()
    return thread


def check_ahead(
    repo: Repository,
    verifier: DecisionVerifier,
    fixes: Sequence[Fix],
    records: dict[str, list[DecisionRecord]],
) -> threading.Thread:
    """:func:`_check_ahead` of what :func:`judge_fix` asks about FIXES, judged in that order
    (those with a merge-base): the caller joins the thread before it judges any."""
    by_hash = _by_diff_hash(records)
    relevant = [
        record
        for fix in fixes
        if fix.branch.merge_base
        for record in _relevant(
            fix, records, diff_sha256(repo, fix.branch.merge_base, fix.branch.head), by_hash
        )
    ]
    return _check_ahead(verifier, relevant)


def base_verifier(repo: Repository, loaded: LoadedPolicy) -> DecisionVerifier:
    """The signature checks of the base's allowed signers and allowed OpenPGP keys."""
    approvals = loaded.policy.approvals
    specs = {
        "ssh": f"{loaded.base_commit}:{approvals.allowed_signers}",
        "pgp": f"{loaded.base_commit}:{approvals.allowed_openpgp_keys}",
    }
    found = repo.read_objects(specs.values())
    return DecisionVerifier(
        found.get(specs["ssh"]),
        found.get(specs["pgp"]),
        ssh_file=approvals.allowed_signers,
        pgp_file=approvals.allowed_openpgp_keys,
        base=loaded.base,
        cache_dir=repo.common_dir,
    )


def _tamper_line(record: DecisionRecord) -> str:
    d = record.decision
    return (
        f"tampering: notes commit {str(record.removed_in)[:12]} removed a {d.verdict} by "
        f"{d.reviewer_label} on {record.target[:12]} from {DECISIONS_REF}; it is still judged"
    )


def _risk_flags(repo: Repository, fix: Fix, loaded: LoadedPolicy) -> list[RiskFlag]:
    from fixreview.risk import assess_fix  # detect-secrets is only imported when needed

    return assess_fix(repo, fix, loaded.policy)


def _judge(
    record: DecisionRecord,
    loaded: LoadedPolicy,
    verifier: DecisionVerifier,
    binding: _Binding,
    facts: FixFacts,
) -> Judged:
    """One record: its signature first (nothing else is believed before), then its binding,
    then what the rule-book says of it: a bound approval with any reason against it does not
    count (a bound veto always stands)."""
    d = record.decision
    check = verifier.check(*_signature_request(record))
    judged = Judged(record, check, None if check.valid else f"signature: {check.reason}")
    if not check.valid:
        return judged
    judged.voter = f"key {check.key}"
    judged.reason, judged.stale = binding.why_not(record, loaded.policy.approvals.allow_rebased)
    judged.bound = judged.reason is None
    if judged.bound:
        ruling = rule_on(loaded, facts, as_signed(d, verifier.identities(check)))
        judged.reason = str(ruling.not_counting[0]) if ruling.not_counting else None
    return judged


@dataclass(frozen=True)
class _Binding:
    """What a decision must name to bind to this fix: head, trees, merge-base, diff."""

    repo: Repository
    head: str
    head_tree: str
    merge_base: str
    base_tree: str
    current_hash: str
    commits: frozenset[str]  # the fix's own commits: each is an ancestor of its head

    def why_not(self, record: DecisionRecord, allow_rebased: bool) -> tuple[str | None, bool]:
        """Why a validly signed decision does not bind to this fix (None when it does), and
        whether it is a stale approval on an earlier commit of the branch."""
        d = record.decision
        if record.target != d.head_commit:
            return (
                f"record is attached to {record.target[:12]} but names {d.head_commit[:12]}: "
                "copied from another commit"
            ), False
        if d.head_commit != self.head:
            if d.diff_sha256 == self.current_hash and (allow_rebased or d.verdict != "approve"):
                return None, False  # the same final diff: an approval if allowed, a veto always
            if d.head_commit in self.commits or self.repo.is_ancestor(d.head_commit, self.head):
                return (
                    f"stale: decided on {d.head_commit[:12]}; commits were added after it",
                    True,
                )
            return f"decided on another commit, {d.head_commit[:12]}", False
        if d.head_tree != self.head_tree:
            return "head tree does not match", False
        if d.base_commit != self.merge_base or d.base_tree != self.base_tree:
            return (
                f"decided against merge-base {d.base_commit[:12]}, not {self.merge_base[:12]}",
                False,
            )
        if d.diff_sha256 != self.current_hash:
            return "diff hash does not match the final diff", False
        return None, False


def _apply_rules(result: GateResult) -> None:
    bound = [j for j in result.judged if j.bound]
    _assign_voters(bound)
    latest: dict[str, Judged] = {}
    # a voter's latest decision wins; on an exact tie of claimed times, a veto wins
    for j in sorted(
        bound, key=lambda j: (j.record.decision.time, j.record.decision.verdict != "approve")
    ):
        latest[j.voter] = j
    # rule 5: a veto by any validly signed reviewer on this fix's diff stands
    for voter in sorted(latest):
        j = latest[voter]
        d = j.record.decision
        if d.verdict != "approve":
            result.vetoes.append(j)
            result.problems.append(
                f"{d.verdict} by {d.reviewer_label}: {d.comment.strip() or '(no comment)'}"
            )
    counted_voters: set[str] = set()
    for j in bound:
        d = j.record.decision
        if d.verdict != "approve" or j.reason is not None:
            continue
        if latest.get(j.voter) is not j:  # one record a voter: one vote each
            j.reason = "superseded by a later decision of the same reviewer"
            continue
        counted_voters.add(j.voter)
        j.counted = True
    have = len(counted_voters)
    if have < result.required:
        why = " (sensitive paths or policy files touched)" if result.sensitive else ""
        result.problems.append(f"{have} of {result.required} required approvals{why}")


def _assign_voters(bound: list[Judged]) -> None:
    """One person, one vote: records that share a signing key or a principal (lower-cased)
    belong to one voter, and so do all the principals one key is listed under."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    for j in bound:
        key = j.voter
        union(key, "principal " + j.record.decision.reviewer.lower())
    for j in bound:
        j.voter = find(j.voter)


def status_of(result: GateResult) -> Status:
    """Where a fix stands, from the gate's judgement of its decisions."""
    if result.approved:
        return Status.APPROVED
    verdicts = {j.record.decision.verdict for j in result.vetoes}
    if "reject" in verdicts:
        return Status.REJECTED
    if verdicts:
        return Status.CHANGES_REQUESTED
    if any(j.stale and j.record.decision.verdict == "approve" for j in result.judged):
        return Status.STALE
    return Status.PENDING


def approvals_of(
    loaded: LoadedPolicy, fix: Fix, flags: list[RiskFlag], gate: GateResult | None
) -> tuple[int, int]:
    """(counted, needed) approvals of FIX: the gate's count when it judged the fix, else none
    of the number the rule-book asks of it."""
    if gate is not None:
        return len(gate.counted), gate.required
    return 0, fix_facts(fix, flags).approvals_needed(loaded)


def claimed_branches(records: dict[str, list[DecisionRecord]]) -> set[str]:
    """Every branch name a decision record claims (read once for a whole queue)."""
    return {r.decision.branch for items in records.values() for r in items}


def may_have_decisions(
    loaded: LoadedPolicy,
    fix: Fix,
    records: dict[str, list[DecisionRecord]],
    branches: set[str] | None = None,
) -> bool:
    """Whether judging FIX can find anything: a merge-base to judge against, and a record on
    one of its commits, or one naming its branch (a veto follows its diff across a rebase), or,
    where rebased approvals count, any record at all. BRANCHES: ``claimed_branches(records)``,
    when the caller asks for many fixes."""
    if fix.branch.merge_base is None:
        return False
    if loaded.policy.approvals.allow_rebased or not records.keys().isdisjoint(fix.commit_ids):
        return True
    return fix.branch.name in (branches if branches is not None else claimed_branches(records))


def fixes_with_decisions(queue: Queue, records: dict[str, list[DecisionRecord]]) -> list[Fix]:
    """The fixes of QUEUE that judging can find anything for (:func:`may_have_decisions`)."""
    branches = claimed_branches(records)
    return [f for f in queue.fixes if may_have_decisions(queue.policy, f, records, branches)]


def judge_queue(
    repo: Repository,
    queue: Queue,
    flags: Mapping[str, list[RiskFlag]] | None = None,
    progress: Progress | None = None,
) -> dict[str, GateResult]:
    """The gate's judgement of every fix of QUEUE that has decisions, by branch; only those
    cost any work, and their diffs are computed together. FLAGS, the risk flags by branch when
    the caller has them, are not computed again. Warnings go to the queue's. PROGRESS, when
    given, is told how many fixes are judged."""
    return start_judging(repo, queue).finish(flags, progress)


class QueueJudging:
    """:func:`judge_queue` in two steps (:func:`start_judging`, then :meth:`finish`), so that
    the signature checks of every decision that bears on a fix — ``ssh-keygen`` processes,
    the bulk of judging a queue on a cold cache — run while the caller computes the flags."""

    def __init__(
        self,
        repo: Repository,
        queue: Queue,
        records: dict[str, list[DecisionRecord]],
        judged: list[Fix],
        hashes: dict[str, str],
        bearing: dict[str, list[DecisionRecord]],
        verifier: DecisionVerifier | None,
    ) -> None:
        self.repo, self.queue, self.records = repo, queue, records
        self.judged, self.hashes, self.bearing, self.verifier = judged, hashes, bearing, verifier
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def holds_until(self) -> float:
        """Until when (Unix time) the signature answers judging used hold whatever the clock
        says (``DecisionVerifier.holds_until``; ``inf`` without any): read after
        :meth:`finish`."""
        return math.inf if self.verifier is None else self.verifier.holds_until

    def _prefetch(self, background: bool) -> None:
        """Check every signature judging asks about, in the order it asks: the ssh-keygen runs
        go several at a time, and each check of :meth:`finish` is then answered from memory.
        BACKGROUND: on a thread of its own, which :meth:`finish` waits for."""
        if self.verifier is None:
            return
        requests = [_signature_request(r) for found in self.bearing.values() for r in found]
        if not background:
            self.verifier.prefetch(requests)
            return
        verifier = self.verifier

        def run() -> None:
            try:
                verifier.prefetch(requests)
            except BaseException as error:  # raised again by finish, in the caller's thread
                self._error = error

        self._thread = threading.Thread(target=run, name="fixreview-judging", daemon=True)
        self._thread.start()

    def wait(self, progress: Progress | None = None) -> None:
        """Wait for the signature checks started in the background (nothing to wait for
        otherwise); an error they raised is raised here. PROGRESS, when given, is told when
        there is something to wait for (:data:`STAGE_SIGNATURES`, 0 of 1, then 1 of 1)."""
        if self._thread is not None:
            if progress is not None and self._thread.is_alive():
                progress(STAGE_SIGNATURES, 0, 1)
            self._thread.join()
            self._thread = None
            if progress is not None:
                progress(STAGE_SIGNATURES, 1, 1)
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def finish(
        self,
        flags: Mapping[str, list[RiskFlag]] | None = None,
        progress: Progress | None = None,
    ) -> dict[str, GateResult]:
        """The judgement of every fix with decisions, by branch (see :func:`judge_queue`);
        PROGRESS, when given, is told how many are judged (:data:`STAGE_DECISIONS`)."""
        self.wait(progress)
        verifier = self.verifier
        if verifier is None:
            return {}
        total = len(self.judged)
        found: dict[str, GateResult] = {}
        for done, fix in enumerate(self.judged):
            if progress is not None:
                progress(STAGE_DECISIONS, done, total)
            found[fix.branch.name] = judge_fix(
                self.repo,
                self.queue.policy,
                fix,
                self.records,
                [],
                flags.get(fix.branch.name) if flags else None,
                verifier,
                self.hashes.get(fix.branch.name),
                self.bearing.get(fix.branch.name),
            )
        if progress is not None:
            progress(STAGE_DECISIONS, total, total)
        return found


def start_judging(
    repo: Repository, queue: Queue, background: bool = False, progress: Progress | None = None
) -> QueueJudging:
    """Everything of :func:`judge_queue` that needs no risk flag: the decisions read (their
    warnings go to the queue's), the bound diffs' hashes (from the result cache; the others'
    diffs computed together), and the signature checks, started on a thread of their own when
    BACKGROUND, so that the caller computes the flags meanwhile, then calls
    :meth:`QueueJudging.finish` (or, leaving early, :meth:`QueueJudging.wait`). The thread runs
    ``ssh-keygen`` and reads the result cache; it never uses REPO, so the caller may.
    PROGRESS, when given, is told that judging starts (:data:`STAGE_DECISIONS`, none done)."""
    records, warnings, exists = read_decisions(repo)
    queue.warnings.extend(warnings)
    judged = fixes_with_decisions(queue, records) if exists else []
    if not judged:
        return QueueJudging(repo, queue, records, [], {}, {}, None)
    if progress is not None:
        progress(STAGE_DECISIONS, 0, len(judged))
    cached = {
        fix.branch.name: cached_diff_sha256(repo, fix.branch.merge_base, fix.branch.head)
        for fix in judged
        if fix.branch.merge_base
    }
    repo.prefetch_diffs(
        (f.branch.merge_base, f.branch.head)
        for f in judged
        if f.branch.merge_base and cached[f.branch.name] is None
    )
    repo.commit_trees(c for f in judged for c in (f.branch.head, f.branch.merge_base) if c)
    verifier = base_verifier(repo, queue.policy)
    hashes = {
        fix.branch.name: cached[fix.branch.name]
        or diff_sha256(repo, fix.branch.merge_base, fix.branch.head)
        for fix in judged
        if fix.branch.merge_base
    }
    by_hash = _by_diff_hash(records)
    bearing = {
        name: _relevant(fix, records, hashes[name], by_hash)
        for fix in judged
        if (name := fix.branch.name) in hashes
    }
    judging = QueueJudging(repo, queue, records, judged, hashes, bearing, verifier)
    judging._prefetch(background)
    return judging


def _by_diff_hash(
    records: dict[str, list[DecisionRecord]],
) -> dict[str, list[tuple[str, DecisionRecord]]]:
    """Every record of RECORDS, with its target, by the diff hash it claims, in the order of
    their targets."""
    found: dict[str, list[tuple[str, DecisionRecord]]] = {}
    for target, items in sorted(records.items()):
        for record in items:
            found.setdefault(record.decision.diff_sha256, []).append((target, record))
    return found


def _signature_request(record: DecisionRecord) -> SignatureRequest:
    """What :func:`_judge` asks the verifier about RECORD."""
    d = record.decision
    return (d.signing_format, record.payload, record.signature, d.reviewer, d.time)


def fill_statuses(
    repo: Repository, queue: Queue, flags: Mapping[str, list[RiskFlag]] | None = None
) -> None:
    """Set every fix's status from :func:`judge_queue` (a fix without decisions is pending)."""
    set_statuses(queue, judge_queue(repo, queue, flags))


def set_statuses(queue: Queue, judged: Mapping[str, GateResult]) -> None:
    """Set every fix's status from JUDGED, the gate's results by branch (a fix without
    decisions is pending)."""
    for fix in queue.fixes:
        if fix.branch.name in judged:
            fix.branch.status = status_of(judged[fix.branch.name])
