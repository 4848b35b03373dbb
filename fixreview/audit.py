"""``fixreview log``: the audit trail of a fix or of a finding, from the notes alone.

For each fix it answers the four questions: what changed (final diff, the AI's suggestion and
what people changed after it), why (the finding and the AI's rationale), who decided what and
whether each decision is valid (the gate's own judgement), and which finding it maps to.
"""

from __future__ import annotations

from dataclasses import dataclass

from fixreview.changes import HumanChanges, final_diff, human_changes, suggestion_diff
from fixreview.errors import NotFoundError
from fixreview.gate import GateResult, evaluate, fill_statuses
from fixreview.models import Fix
from fixreview.notes.store import DECISIONS_REF
from fixreview.queue import Queue, load_queue
from fixreview.repo.diffs import Diff
from fixreview.repo.git import Repository


@dataclass
class TrailEntry:
    fix: Fix
    final: Diff
    suggestion: Diff | None
    human: HumanChanges
    gate: GateResult | None


@dataclass
class AuditTrail:
    target: str | None
    queue: Queue
    entries: list[TrailEntry]


def audit_trail(repo: Repository, target: str | None, base: str | None = None) -> AuditTrail:
    """The trail of branch TARGET, of every branch answering finding TARGET, or of all fixes."""
    queue = load_queue(repo, base)
    fill_statuses(repo, queue)
    if target is None:
        fixes = queue.fixes
    else:
        fixes = [f for f in queue.fixes if target in (f.branch.name, f.branch.ref)]
        if not fixes:
            fixes = [f for f in queue.fixes if f.finding is not None and f.finding.id == target]
        if not fixes:
            raise NotFoundError(f"no fix branch and no finding named {target!r}")
    has_decisions = repo.ref_value(DECISIONS_REF) is not None
    entries = [
        TrailEntry(
            fix=fix,
            final=final_diff(repo, fix),
            suggestion=suggestion_diff(repo, fix),
            human=human_changes(repo, fix),
            gate=evaluate(repo, fix.branch.head, base)
            if has_decisions and fix.branch.merge_base
            else None,
        )
        for fix in fixes
    ]
    return AuditTrail(target=target, queue=queue, entries=entries)
