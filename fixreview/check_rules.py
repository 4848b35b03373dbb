"""The gate's rules for CI check records: which count, and where each check stands at a head.

One place says what a check record counts for; the gate (:mod:`fixreview.gate`), the
``checks-not-passed`` risk flag, ``show``, ``list``, ``log`` and the app all read its answer.

A check record counts for a fix's head only when

1. its signature is valid, by a key the base's CI signers file (``[checks] signers`` of the
   policy on the base branch, ssh allowed signers format) lists for the record's signer, in
   fixreview's check namespace — so a contributor cannot record a passing run for their own fix;
2. it is attached to the commit it names, and that commit and its tree are this exact head's.

Of the counted records of one check, the latest (by its signed time) decides its state, and on
an exact tie a failure wins: a later failing run for the same head undoes an earlier pass. A
check with counted records only on earlier commits of the fix is ``stale``; one with none,
``missing``. The checks ref is read as a ledger, like decisions: a record dropped from the
notes is still judged, and its removal reported. Records that do not count are shown with why;
a counted record that a later one of the same check outweighs is ``overridden`` by it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fixreview.models import CheckState, Fix
from fixreview.notes.store import CHECKS_REF
from fixreview.policy import LoadedPolicy
from fixreview.repo.git import Repository
from fixreview.signing.base import CHECK_NAMESPACE, SignatureCheck
from fixreview.signing.verifier import DecisionVerifier

if TYPE_CHECKING:  # the records' model (and the JUnit reader) only where a checks ref is read
    from fixreview.check_records import StoredCheck


@dataclass
class JudgedCheck:
    """One check record and what the rules made of it."""

    stored: StoredCheck
    signature: SignatureCheck
    reason: str | None  # None: it counts for this head
    stale: bool = False  # validly signed, for an earlier commit of the fix
    decides: bool = False  # the counted record whose status is its check's state
    overridden_by: JudgedCheck | None = None  # counted, but this later one decides instead

    @property
    def counted(self) -> bool:
        return self.reason is None

    @property
    def standing(self) -> str:
        """What the record counts for, in one line: ``counts``, ``counted, overridden by …``
        or why it does not count."""
        if self.reason is not None:
            return self.reason
        later = self.overridden_by
        if later is None:
            return "counts"
        record = later.stored.record
        return (
            f"counted, overridden: the {record.status} record of "
            f"{record.time.isoformat(timespec='seconds')} decides {record.name}"
        )


@dataclass
class ChecksJudgement:
    """Every check record that bears on one fix, judged, and where each check stands."""

    judged: list[JudgedCheck] = field(default_factory=list)
    states: list[CheckState] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # the lines about records a later notes commit dropped (among the warnings, too)
    tampering: list[str] = field(default_factory=list)

    @property
    def passed(self) -> list[JudgedCheck]:
        """The record that decides each check that passed on the head, in the states' order."""
        deciding = {j.stored.record.name: j for j in self.judged if j.decides}
        return [deciding[s.name] for s in self.states if s.state == "passed"]


def check_problems(states: Sequence[CheckState]) -> list[str]:
    """One line per required check that has not passed on the head (what the gate refuses)."""
    return [
        f"required check {s.name} {s.state}: {s.detail}"
        for s in states
        if s.required and s.state != "passed"
    ]


def checks_verifier(repo: Repository, loaded: LoadedPolicy) -> DecisionVerifier:
    """The signature checks of the base's CI signers file (ssh only, check namespace)."""
    path = loaded.policy.checks.signers
    allowed = repo.read_blob_at(loaded.base_commit, path) if path else None
    return DecisionVerifier(
        allowed,
        None,
        ssh_file=path or "(checks.signers unset)",
        pgp_file="(none: check records are signed with ssh)",
        base=loaded.base,
        cache_dir=repo.common_dir,
        namespace=CHECK_NAMESPACE,
    )


def judge_checks(
    repo: Repository,
    loaded: LoadedPolicy,
    fixes: Sequence[Fix],
    verifier: DecisionVerifier | None = None,
) -> dict[str, ChecksJudgement]:
    """The judgement of the check records of each of FIXES, by head commit: the checks ref
    is read once (only the notes on the fixes' commits are parsed), the records' signatures
    checked against the base's CI signers."""
    from fixreview.check_records import read_checks

    required = list(dict.fromkeys(loaded.policy.checks.required))
    tip = repo.ref_value(CHECKS_REF)
    targets = {oid for fix in fixes for oid in fix.commit_ids}
    records, warnings = read_checks(repo, targets, at=tip) if tip is not None else ({}, [])
    heads = [fix.branch.head for fix in fixes]
    trees = repo.commit_trees(heads) if records else {}
    if records and verifier is None:
        verifier = checks_verifier(repo, loaded)
    found: dict[str, ChecksJudgement] = {}
    for fix in fixes:
        head = fix.branch.head
        judgement = ChecksJudgement(warnings=list(warnings))
        own = [r for target in sorted(fix.commit_ids) for r in records.get(target, [])]
        if own and verifier is not None:
            tree = trees.get(head, "")
            for stored in own:
                judgement.judged.append(_judge(stored, verifier, head, tree, fix.commit_ids))
                if stored.removed_in is not None:
                    judgement.tampering.append(_tamper_line(stored))
            judgement.warnings.extend(judgement.tampering)
        judgement.states = _states(judgement.judged, required)
        found[head] = judgement
    return found


def attach_checks(
    repo: Repository, loaded: LoadedPolicy, fixes: Sequence[Fix]
) -> tuple[list[str], float]:
    """Set each fix's ``checks`` (:func:`judge_checks`); the warnings about unusable lines, and
    until when the signature answers hold (``DecisionVerifier.holds_until``: a key's validity
    window may end). Nothing is read when no check is required and the repository has no
    checks ref."""
    if not fixes or (not loaded.policy.checks.required and repo.ref_value(CHECKS_REF) is None):
        return [], math.inf
    verifier = checks_verifier(repo, loaded)
    judged = judge_checks(repo, loaded, fixes, verifier)
    warnings: list[str] = []
    for fix in fixes:
        judgement = judged[fix.branch.head]
        fix.checks = judgement.states
        warnings += [w for w in judgement.warnings if w not in warnings]
    return warnings, verifier.holds_until


def _judge(
    stored: StoredCheck,
    verifier: DecisionVerifier,
    head: str,
    tree: str,
    commits: set[str],
) -> JudgedCheck:
    """One record: its signature first (nothing else is believed before), then what it binds
    to."""
    record = stored.record
    check = verifier.check(
        record.signing_format, stored.payload, stored.signature, record.signer, record.time
    )
    if not check.valid:
        return JudgedCheck(stored, check, f"signature: {check.reason}")
    if stored.target != record.head_commit:
        return JudgedCheck(
            stored,
            check,
            f"record is attached to {stored.target[:12]} but names "
            f"{record.head_commit[:12]}: copied from another commit",
        )
    if record.head_commit != head:
        if record.head_commit in commits:
            return JudgedCheck(
                stored,
                check,
                f"stale: recorded on {record.head_commit[:12]}; commits were added after it",
                stale=True,
            )
        return JudgedCheck(stored, check, f"recorded on another commit, {record.head_commit[:12]}")
    if record.head_tree != tree:
        return JudgedCheck(stored, check, "head tree does not match")
    return JudgedCheck(stored, check, None)


def _states(judged: list[JudgedCheck], required: list[str]) -> list[CheckState]:
    """Where each required check, and each other with a record, stands."""
    names = required + sorted({j.stored.record.name for j in judged} - set(required))
    states: list[CheckState] = []
    for name in names:
        mine = [j for j in judged if j.stored.record.name == name]
        is_required = name in required
        counted = [j for j in mine if j.counted]
        if counted:
            latest = max(
                counted,
                key=lambda j: (j.stored.record.time, j.stored.record.status == "failed"),
            )
            latest.decides = True
            for other in counted:
                if other is not latest:
                    other.overridden_by = latest
            record = latest.stored.record
            detail = (
                f"{record.summary()} on {record.head_commit[:12]} by {record.signer_label} "
                f"at {record.time.isoformat(timespec='seconds')}"
            )
            ignored = [j for j in mine if not j.counted and not j.stale]
            if ignored:
                detail += f"; {_not_counted(ignored)}"
            states.append(
                CheckState(
                    name=name,
                    state=record.status,
                    required=is_required,
                    detail=detail,
                    url=record.url,
                )
            )
            continue
        stale = [j for j in mine if j.stale]
        if stale:
            latest = max(stale, key=lambda j: (j.stored.record.time, j.stored.record.status))
            record = latest.stored.record
            detail = (
                f"recorded only for an earlier head: {record.summary()} on "
                f"{record.head_commit[:12]}"
            )
            states.append(
                CheckState(
                    name=name, state="stale", required=is_required, detail=detail, url=record.url
                )
            )
            continue
        detail = "no counted record on this head"
        if mine:
            detail += f"; {_not_counted(mine)}"
        states.append(CheckState(name=name, state="missing", required=is_required, detail=detail))
    return states


def _not_counted(judged: list[JudgedCheck]) -> str:
    """``2 records not counted: signature: …`` (the first one's reason)."""
    count = len(judged)
    return f"{count} record{'s' if count != 1 else ''} not counted: {judged[0].reason}"


def _tamper_line(stored: StoredCheck) -> str:
    record = stored.record
    return (
        f"tampering: notes commit {str(stored.removed_in)[:12]} removed a {record.status} "
        f"{record.name} record on {stored.target[:12]} from {CHECKS_REF}; it is still judged"
    )


__all__ = [
    "ChecksJudgement",
    "JudgedCheck",
    "attach_checks",
    "check_problems",
    "checks_verifier",
    "judge_checks",
]
