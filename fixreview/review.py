"""Everything the review screen shows for one fix, computed in one call (off the UI thread)."""

from __future__ import annotations

from dataclasses import dataclass

from fixreview.changes import HumanChanges, final_diff, human_changes, suggestion_diff
from fixreview.decisions import diff_sha256, read_decisions, read_decisions_on
from fixreview.gate import GateResult, approvals_of, judge_fix, may_have_decisions
from fixreview.models import Fix
from fixreview.policy import LoadedPolicy
from fixreview.repo.diffs import Diff
from fixreview.repo.git import Repository
from fixreview.risk import RiskFlag, assess_fix


@dataclass(frozen=True)
class ReviewData:
    fix: Fix
    final: Diff
    suggestion: Diff | None
    human: HumanChanges
    flags: list[RiskFlag]
    diff_sha256: str  # of the final diff: what a decision on this head binds to
    approvals: tuple[int, int]  # (counted, needed): voters whose approval counts, and how many
    gate: GateResult | None = None  # every decision on the fix, judged; None when there is none

    @property
    def blocking(self) -> list[str]:
        return [flag.id for flag in self.flags if flag.blocking]


def load_review(
    repo: Repository,
    fix: Fix,
    loaded: LoadedPolicy,
    final: Diff | None = None,
    *,
    alone: bool = False,
) -> ReviewData:
    """Everything a reviewer sees of FIX (FINAL: its final diff, when parsed already).
    ALONE: the only fix this process looks at (``show``): of the decisions, only those that
    can bear on it are parsed."""
    if final is None:
        final = final_diff(repo, fix)
    suggestion = suggestion_diff(repo, fix, final)
    human = human_changes(repo, fix)
    flags = assess_fix(repo, fix, loaded.policy, (final, suggestion, human.diff))
    gate = None
    if alone and fix.branch.merge_base is not None:
        records, _, exists = read_decisions_on(repo, fix)
        bears = exists and bool(records)
    else:
        records, _, exists = read_decisions(repo)
        bears = exists and may_have_decisions(loaded, fix, records)
    if bears:
        gate = judge_fix(repo, loaded, fix, records, [], flags)
    if gate is not None:  # the gate hashed the diff already
        digest = gate.diff_sha256
    else:
        digest = diff_sha256(repo, fix.branch.merge_base, fix.branch.head)
    approvals = approvals_of(loaded, fix, flags, gate)
    return ReviewData(fix, final, suggestion, human, flags, digest, approvals, gate)
