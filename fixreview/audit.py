"""``fixreview log``: the audit trail of a fix or of a finding, from the notes alone.

For each fix it answers the four questions: what changed (final diff, the AI's suggestion and
what people changed after it), why (the finding and the AI's rationale), who decided what and
whether each decision is valid (the gate's own judgement), which finding it maps to, and the
CI check records on its commits, each as :mod:`fixreview.check_rules` judged it.

A finding id is looked up among the fixes' linked findings first, then in the findings sources
the policy names (TOML by id; SARIF by id, guid or ``RULEID@PATH:LINE``): a finding no branch
answers yet still has a trail, with no fixes in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fixreview.changes import HumanChanges, final_diff, human_changes, prefetch, suggestion_diff
from fixreview.check_rules import ChecksJudgement, judge_checks
from fixreview.decisions import DecisionRecord, read_decisions
from fixreview.errors import NotFoundError
from fixreview.findings.sources import load_findings_index
from fixreview.gate import GateResult, base_verifier, check_ahead, judge_fix, status_of
from fixreview.models import Finding, Fix
from fixreview.queue import Queue, load_queue
from fixreview.repo.diffs import Diff
from fixreview.repo.git import Repository
from fixreview.risk import RiskFlag, assess_fix

if TYPE_CHECKING:
    from fixreview.progress import Progress

STAGE_TRAIL = "reading each fix's trail"
"""What :func:`audit_trail` tells its progress callback (fixreview/progress.py)."""


@dataclass
class TrailEntry:
    fix: Fix
    final: Diff
    suggestion: Diff | None
    human: HumanChanges
    gate: GateResult | None
    flags: list[RiskFlag] = field(default_factory=list)  # the same figures as ``list``'s
    checks: ChecksJudgement = field(default_factory=ChecksJudgement)  # its check records


@dataclass
class AuditTrail:
    target: str | None
    queue: Queue
    entries: list[TrailEntry]
    finding: Finding | None = None  # the finding TARGET names, when it names one


def audit_trail(
    repo: Repository,
    target: str | None,
    base: str | None = None,
    progress: Progress | None = None,
) -> AuditTrail:
    """The trail of branch TARGET, of every branch answering finding TARGET, or of all fixes;
    PROGRESS, when given, is told how far the queue and the trails are read."""
    queue = load_queue(repo, base, progress)
    records, warnings, has_decisions = read_decisions(repo)
    queue.warnings.extend(warnings)
    fixes, finding = _select(repo, queue, target, records)
    prefetch(repo, fixes)  # every fix's final and human diffs with one git process
    verifier = base_verifier(repo, queue.policy) if has_decisions else None
    # every check record on the fixes' commits, judged; the states the gate reads come from the
    # same judgement, so the trail's records and its checks always agree
    checks = judge_checks(repo, queue.policy, fixes) if fixes else {}
    # the signatures are checked on a thread (the ssh-keygen runs at once) while the risk
    # checks run, in the order the fixes are judged below, after it ends
    checking = check_ahead(repo, verifier, fixes, records) if verifier is not None else None
    entries = []
    for done, fix in enumerate(fixes):
        if progress is not None:
            progress(STAGE_TRAIL, done, len(fixes))
        final = final_diff(repo, fix)
        suggestion, human = suggestion_diff(repo, fix, final), human_changes(repo, fix)
        judgement = checks[fix.branch.head]
        fix.checks = judgement.states
        flags = assess_fix(repo, fix, queue.policy.policy, (final, suggestion, human.diff))
        entries.append(TrailEntry(fix, final, suggestion, human, None, flags, judgement))
    if checking is not None:
        checking.join()
    for entry in entries:
        fix = entry.fix
        if verifier is not None and fix.branch.merge_base:
            entry.gate = judge_fix(repo, queue.policy, fix, records, [], entry.flags, verifier)
            fix.branch.status = status_of(entry.gate)  # as fill_statuses sets it for list
    return AuditTrail(target=target, queue=queue, entries=entries, finding=finding)


def _select(
    repo: Repository,
    queue: Queue,
    target: str | None,
    records: dict[str, list[DecisionRecord]],
) -> tuple[list[Fix], Finding | None]:
    """The fixes TARGET names (a branch, or a finding id), and the finding when it is one.

    A finding id names the fixes proposed for it now and the fixes with a decision that signed
    it: a fix re-proposed for another finding keeps, in the old finding's trail, the decisions
    made for it (which no longer count: docs/rulebook.md)."""
    if target is None:
        return list(queue.fixes), None
    by_branch = [f for f in queue.fixes if target in (f.branch.name, f.branch.ref)]
    if by_branch:
        return by_branch, None
    signed = [f for f in queue.fixes if _decided_for(f, target, records)]
    linked = [f for f in queue.fixes if f.finding is not None and f.finding.id == target]
    if linked:
        return _with(linked, signed), linked[0].finding
    index = load_findings_index(repo, queue.policy)
    queue.warnings.extend(w for w in index.warnings if w not in queue.warnings)
    finding = index.get(target)
    if finding is None:
        if signed:
            return signed, None
        sources = ", ".join(index.sources) or "none named in the policy"
        raise NotFoundError(
            f"no fix branch and no finding named {target!r} (findings sources: {sources})"
        )
    answering = [f for f in queue.fixes if f.finding is not None and f.finding.id == finding.id]
    signed = [f for f in queue.fixes if _decided_for(f, finding.id, records)]
    return _with(answering, signed), finding


def _decided_for(fix: Fix, finding: str, records: dict[str, list[DecisionRecord]]) -> bool:
    """Whether a decision on one of FIX's commits signed FINDING."""
    return any(
        r.decision.finding == finding for oid in fix.commit_ids for r in records.get(oid, [])
    )


def _with(fixes: list[Fix], more: list[Fix]) -> list[Fix]:
    """FIXES, then those of MORE not among them, in the queue's order."""
    names = {f.branch.name for f in fixes}
    return fixes + [f for f in more if f.branch.name not in names]
