"""The verify gate: whether a head commit carries the approvals the policy asks for.

CI runs this through ``fixreview verify``. It trusts neither the AI nor whoever pushed the
branch: the policy, the allowed signers and the allowed OpenPGP keys come from the base branch;
every decision's signature is checked with the reference verifier before any of its fields is
believed; and each approval must be bound to this exact head, tree and diff. The rules, in the
design's numbering:

1. enough approvals (``approvals.required``; ``approvals.sensitive`` when the fix touches a
   sensitive path or policy file), each from a distinct reviewer with a valid signature by a key
   the base branch allows for that reviewer;
2. each names this head and its diff hash (or, where ``allow_rebased``, an identical diff);
3. each has the whole checklist confirmed;
4. no reviewer authored or committed a commit of the fix, and none is an AI identity;
5. no allowed reviewer's latest decision on this head is ``reject`` or ``request-changes``;
6. every blocking risk flag at this head is acknowledged in each counted approval.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fixreview.decisions import DecisionRecord, diff_sha256, read_decisions, trees
from fixreview.errors import FixreviewError, NotFoundError
from fixreview.models import Fix, Status
from fixreview.notes.store import DECISIONS_REF
from fixreview.policy import LoadedPolicy, load_policy, matches_any
from fixreview.queue import Queue, fix_at
from fixreview.repo.git import Repository
from fixreview.risk import RiskFlag
from fixreview.signing.base import SignatureCheck
from fixreview.signing.openpgp import verify_openpgp
from fixreview.signing.ssh import verify_ssh

NOTES_REFSPEC = "refs/notes/fixreview/*:refs/notes/fixreview/*"
SENSITIVE_FLAGS = ("sensitive-path", "policy-change")


@dataclass
class Judged:
    """One decision record and what the gate made of it."""

    record: DecisionRecord
    signature: SignatureCheck | None
    reason: str | None  # None: valid, bound to this head, and counts as far as it goes
    bound: bool = False  # validly signed and bound to this head (whoever the reviewer is)
    stale: bool = False  # validly signed, but for an earlier commit of the branch
    counted: bool = False


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

    @property
    def counted(self) -> list[Judged]:
        return [j for j in self.judged if j.counted]

    @property
    def approved(self) -> bool:
        return not self.problems and len(self.counted) >= self.required


def is_ai_identity(policy: LoadedPolicy, name: str, email: str) -> bool:
    globs = policy.policy.approvals.ai_identities
    return any(matches_any(value, globs) for value in (name, email) if value)


def evaluate(repo: Repository, rev: str = "HEAD", base: str | None = None) -> GateResult:
    """Judge every decision that bears on REV and apply the rules."""
    loaded = load_policy(repo, base)
    head = repo.resolve(rev)
    if head is None:
        raise FixreviewError(f"{rev!r} is not a commit in this repository")
    records, warnings, ref_exists = read_decisions(repo)
    if not ref_exists:
        raise FixreviewError(
            f"{DECISIONS_REF} is missing (a clone without notes?): "
            f"git fetch origin '{NOTES_REFSPEC}'"
        )
    fix, fix_warnings = fix_at(repo, loaded, head)
    if fix.branch.merge_base is None:
        if repo.run_text("rev-parse", "--is-shallow-repository").strip() == "true":
            raise FixreviewError(
                "shallow clone: the merge-base with the base branch is not here "
                "(fetch full history, e.g. actions/checkout with fetch-depth: 0)"
            )
        raise NotFoundError(f"{rev} shares no history with {loaded.base}")
    return judge_fix(repo, loaded, fix, records, warnings + fix_warnings)


def judge_fix(
    repo: Repository,
    loaded: LoadedPolicy,
    fix: Fix,
    records: dict[str, list[DecisionRecord]],
    warnings: list[str],
    flags: list[RiskFlag] | None = None,
) -> GateResult:
    """Apply the gate to FIX, given every decision record of the repository (and the fix's
    risk flags, when the caller has them already)."""
    head = fix.branch.head
    merge_base = fix.branch.merge_base
    if merge_base is None:
        raise NotFoundError(f"{fix.branch.name} shares no history with {loaded.base}")
    current_hash = diff_sha256(repo, merge_base, head)
    head_tree, base_tree = trees(repo, head, merge_base)
    if flags is None:
        flags = _risk_flags(repo, fix, loaded)
    blocking = sorted(f.id for f in flags if f.level == "block")
    sensitive = any(f.id in SENSITIVE_FLAGS for f in flags)
    approvals = loaded.policy.approvals
    result = GateResult(
        fix=fix,
        policy=loaded,
        diff_sha256=current_hash,
        required=approvals.sensitive if sensitive else approvals.required,
        sensitive=sensitive,
        blocking_flags=blocking,
        warnings=warnings,
    )
    own = fix.commit_ids
    relevant = [r for target in own for r in records.get(target, [])]
    if approvals.allow_rebased:
        relevant += [
            r
            for target, items in records.items()
            if target not in own
            for r in items
            if r.decision.diff_sha256 == current_hash
        ]
    signers = repo.read_objects(
        f"{loaded.base_commit}:{path}"
        for path in (approvals.allowed_signers, approvals.allowed_openpgp_keys)
    )
    allowed_ssh = signers.get(f"{loaded.base_commit}:{approvals.allowed_signers}")
    allowed_pgp = signers.get(f"{loaded.base_commit}:{approvals.allowed_openpgp_keys}")
    people = {(c.author.name.lower(), c.author.email.lower()) for c in fix.commits}
    people |= {(c.committer.name.lower(), c.committer.email.lower()) for c in fix.commits}
    for record in relevant:
        d = record.decision
        check = _check_signature(record, loaded, allowed_ssh, allowed_pgp)
        judged = Judged(record, check, None if check.valid else f"signature: {check.reason}")
        if check.valid:
            judged.reason, judged.stale = _binding(
                repo,
                record,
                head,
                head_tree,
                merge_base,
                base_tree,
                current_hash,
                approvals.allow_rebased,
            )
            judged.bound = judged.reason is None
        if judged.bound and d.verdict == "approve":
            judged.reason = _identity_problem(loaded, d.reviewer, d.reviewer_name, people)
        result.judged.append(judged)
    _apply_rules(result)
    return result


def _risk_flags(repo: Repository, fix: Fix, loaded: LoadedPolicy) -> list[RiskFlag]:
    from fixreview.risk import assess_fix  # detect-secrets is only imported when needed

    return assess_fix(repo, fix, loaded.policy)


def _check_signature(
    record: DecisionRecord,
    loaded: LoadedPolicy,
    allowed_ssh: bytes | None,
    allowed_pgp: bytes | None,
) -> SignatureCheck:
    d = record.decision
    approvals = loaded.policy.approvals
    if d.signing_format == "ssh":
        if allowed_ssh is None:
            return SignatureCheck(
                False,
                d.key,
                f"no allowed signers file {approvals.allowed_signers} on {loaded.base}",
            )
        return verify_ssh(record.payload, record.signature, d.reviewer, allowed_ssh)
    if allowed_pgp is None:
        return SignatureCheck(
            False,
            d.key,
            f"no allowed OpenPGP keys file {approvals.allowed_openpgp_keys} on {loaded.base}",
        )
    return verify_openpgp(record.payload, record.signature, d.reviewer, allowed_pgp)


def _binding(
    repo: Repository,
    record: DecisionRecord,
    head: str,
    head_tree: str,
    merge_base: str,
    base_tree: str,
    current_hash: str,
    allow_rebased: bool,
) -> tuple[str | None, bool]:
    """Why a validly signed decision does not bind to this head (None when it does), and
    whether it is a stale decision on an earlier commit of the branch."""
    d = record.decision
    if record.target != d.head_commit:
        return (
            f"record is attached to {record.target[:12]} but names {d.head_commit[:12]}: "
            "copied from another commit"
        ), False
    if d.head_commit != head:
        if allow_rebased and d.diff_sha256 == current_hash:
            return None, False
        if repo.is_ancestor(d.head_commit, head):
            return f"stale: decided on {d.head_commit[:12]}; commits were added after it", True
        return f"decided on another commit, {d.head_commit[:12]}", False
    if d.head_tree != head_tree:
        return "head tree does not match", False
    if d.base_commit != merge_base or d.base_tree != base_tree:
        return f"decided against merge-base {d.base_commit[:12]}, not {merge_base[:12]}", False
    if d.diff_sha256 != current_hash:
        return "diff hash does not match the final diff", False
    return None, False


def _identity_problem(
    loaded: LoadedPolicy, email: str, name: str, people: set[tuple[str, str]]
) -> str | None:
    if is_ai_identity(loaded, name, email):
        return f"reviewer {email} is an AI identity"
    for person_name, person_email in people:
        if email.lower() == person_email or (name and name.lower() == person_name):
            return f"reviewer {email} authored or committed a commit of this fix"
    return None


def _apply_rules(result: GateResult) -> None:
    bound = [j for j in result.judged if j.bound]
    latest: dict[str, Judged] = {}
    # a reviewer's latest decision wins; on an exact tie of claimed times, a veto wins
    for j in sorted(
        bound, key=lambda j: (j.record.decision.time, j.record.decision.verdict != "approve")
    ):
        latest[j.record.decision.reviewer.lower()] = j
    # rule 5: a veto by any validly signed reviewer on this head stands
    for _, j in sorted(latest.items()):
        d = j.record.decision
        if d.verdict != "approve":
            result.vetoes.append(j)
            result.problems.append(
                f"{d.verdict} by {d.reviewer_label}: {d.comment.strip() or '(no comment)'}"
            )
    counted_reviewers: set[str] = set()
    for j in bound:
        d = j.record.decision
        if d.verdict != "approve" or j.reason is not None:
            continue
        if latest.get(d.reviewer.lower()) is not j:
            j.reason = "superseded by a later decision of the same reviewer"
            continue
        if not d.checklist.complete:
            missing = ", ".join(d.checklist.open_items()) or "rollback criteria"
            j.reason = f"checklist incomplete: {missing}"
            continue
        missing_acks = [f for f in result.blocking_flags if f not in d.acknowledged_flags]
        if missing_acks:
            j.reason = f"does not acknowledge blocking risk flags: {', '.join(missing_acks)}"
            continue
        if d.reviewer.lower() in counted_reviewers:
            j.reason = "another approval by the same reviewer already counts"
            continue
        counted_reviewers.add(d.reviewer.lower())
        j.counted = True
    have = len(counted_reviewers)
    if have < result.required:
        why = " (sensitive paths or policy files touched)" if result.sensitive else ""
        result.problems.append(f"{have} of {result.required} required approvals{why}")


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


def may_have_decisions(
    loaded: LoadedPolicy, fix: Fix, records: dict[str, list[DecisionRecord]]
) -> bool:
    """Whether judging FIX can find anything: a record on one of its commits (or, where
    rebased approvals count, anywhere), and a merge-base to judge against."""
    if fix.branch.merge_base is None:
        return False
    return loaded.policy.approvals.allow_rebased or not records.keys().isdisjoint(fix.commit_ids)


def fill_statuses(
    repo: Repository, queue: Queue, flags: Mapping[str, list[RiskFlag]] | None = None
) -> None:
    """Set every fix's status; only fixes with decisions on their commits cost any work.
    FLAGS, the risk flags by branch when the caller has them, are not computed again."""
    records, warnings, exists = read_decisions(repo)
    queue.warnings.extend(warnings)
    if not exists:
        return
    for fix in queue.fixes:
        if may_have_decisions(queue.policy, fix, records):
            known = flags.get(fix.branch.name) if flags else None
            judged = judge_fix(repo, queue.policy, fix, records, [], known)
            fix.branch.status = status_of(judged)
