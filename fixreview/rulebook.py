"""The rule-book: whether a decision may be recorded, and whether it would count under the gate.

One function, :func:`rule_on`, answers both questions for one decision, with every reason:

- ``decide`` and the app's decision dialog ask it *before signing*, about the decision the
  reviewer is about to make (:func:`would_be`): a decision with a refusal is not recorded; one
  that would not count is recorded only after saying so;
- the gate asks it *for every signed record* it has found bound to the fix (:func:`as_signed`),
  and an approval counts only when the answer has no reason against it.

So there is one place that says what counts. What the gate adds on top is about many records at
once — signatures, binding to the head, one vote per person, the latest decision of each voter,
the number of approvals — and lives in :mod:`fixreview.gate`.

The rules for one decision:

- an approval confirms the whole checklist and writes its rollback criteria, and acknowledges
  every blocking risk flag at the head; otherwise it is refused, and a signed one does not count;
- a request for changes or a rejection says why (a comment); it is refused otherwise, but a
  signed one still vetoes: the gate fails closed;
- acknowledgements name known risk flags;
- the signing key must be allowed for the reviewer's principal in the base's allowed keys, or the
  decision counts for nothing (neither an approval nor a veto);
- no approval counts from an AI identity, nor from anyone who authored or committed a commit of
  the fix, under any identity their key stands for: names and e-mails, case-insensitively;
- no approval counts on a head with several merge-bases with its base;
- an approval counts only for the finding it names, which must be the finding the fix is
  proposed for now: a fix re-proposed for another finding needs approving again (a veto stands
  whatever the finding: it is about the code).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from fixreview.decisions import CHECKLIST_ITEMS, Checklist, Decision, Verdict
from fixreview.fixbranches import matches_any
from fixreview.models import Fix, Person
from fixreview.policy import LoadedPolicy
from fixreview.queue import merge_bases_problem
from fixreview.risk.flags import BLOCKING, RiskFlag, known_flag_ids
from fixreview.signing.allowed_signers import match_pattern_list


@dataclass(frozen=True)
class FixFacts:
    """What the rules need to know about the fix, gathered once for all its decisions."""

    people: frozenset[tuple[str, str]]  # (name, email) of every author and committer, lower-cased
    blocking: tuple[str, ...]  # the blocking risk flags at the head, by id
    refused: str | None  # why no approval can count on this head (several merge-bases)
    sensitive: bool  # a flag declared sensitive is raised: approvals.sensitive applies
    finding: str = ""  # the id of the finding the fix is proposed for now ("": none linked)

    def approvals_needed(self, loaded: LoadedPolicy) -> int:
        """How many voters' approvals the fix needs: the largest any applicable rule asks."""
        return loaded.policy.approvals.needed(self.sensitive)


def fix_facts(fix: Fix, flags: Iterable[RiskFlag]) -> FixFacts:
    """The facts of FIX (and its risk FLAGS at the head) that decisions are judged against."""
    people = {(c.author.name.lower(), c.author.email.lower()) for c in fix.commits}
    people |= {(c.committer.name.lower(), c.committer.email.lower()) for c in fix.commits}
    flags = list(flags)
    blocking = tuple(sorted({f.id for f in flags if f.level == BLOCKING}))
    sensitive = any(f.sensitive for f in flags)
    return FixFacts(
        frozenset(people),
        blocking,
        merge_bases_problem(fix.branch),
        sensitive,
        fix.finding_id or "",
    )


@dataclass(frozen=True)
class Candidate:
    """One decision as the rules see it: what it says, and who stands behind its key."""

    verdict: Verdict
    checklist: Checklist
    comment: str
    acknowledged: tuple[str, ...]
    reviewer: Person  # the name and the e-mail (the principal) the decision names
    identities: frozenset[str]  # every identity the signing key stands for (principal included)
    key_problem: str | None  # why the key may not sign for the principal (None: it may)
    finding: str  # the id of the finding the decision names ("": none)


def would_be(
    verdict: Verdict,
    checklist: Checklist,
    comment: str,
    acknowledged: Iterable[str],
    reviewer: Person,
    *,
    key_problem: str | None,
    finding: str,
    key_identities: Iterable[str] = (),
) -> Candidate:
    """The decision a reviewer is about to sign for FINDING, with what the base says of
    their key."""
    identities = frozenset(key_identities) | ({reviewer.email} if reviewer.email else set())
    return Candidate(
        verdict,
        checklist,
        comment,
        tuple(acknowledged),
        reviewer,
        identities,
        key_problem,
        finding,
    )


def as_signed(decision: Decision, key_identities: Iterable[str]) -> Candidate:
    """A decision whose signature the gate has verified: its key is allowed for its reviewer."""
    return would_be(
        decision.verdict,
        decision.checklist,
        decision.comment,
        decision.acknowledged_flags,
        Person(name=decision.reviewer_name, email=decision.reviewer),
        key_problem=None,
        finding=decision.finding,
        key_identities=key_identities,
    )


ReasonCode = Literal[
    "checklist",  # checklist items not confirmed
    "rollback",  # no rollback criteria written
    "acknowledge",  # blocking risk flags not acknowledged
    "comment",  # a veto without a comment
    "unknown-flag",  # an acknowledgement names no known risk flag
    "email",  # the reviewer has no e-mail
    "key",  # the signing key is not allowed for the reviewer at the base
    "identity",  # an AI identity, or an author or committer of the fix
    "merge-bases",  # the head has several merge-bases with the base
    "finding",  # an approval of another finding than the fix's
]


@dataclass(frozen=True)
class Reason:
    """One reason against a decision: what it is about, and a sentence for people."""

    code: ReasonCode
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Ruling:
    """The rule-book's answer for one decision, with every reason."""

    refusals: tuple[Reason, ...]  # why it may not be recorded (none: it may)
    not_counting: tuple[Reason, ...]  # why it would not count under the gate (none: it counts)

    @property
    def recordable(self) -> bool:
        return not self.refusals

    @property
    def counts(self) -> bool:
        return not self.not_counting


def rule_on(loaded: LoadedPolicy, facts: FixFacts, candidate: Candidate) -> Ruling:
    """Whether CANDIDATE may be recorded on the fix of FACTS, and whether it would count."""
    refusals: list[Reason] = []
    not_counting: list[Reason] = []
    if candidate.verdict == "approve":
        approval = checklist_problems(candidate.checklist)
        unacknowledged = [f for f in facts.blocking if f not in candidate.acknowledged]
        if unacknowledged:
            approval.append(
                Reason(
                    "acknowledge",
                    f"blocking risk flags not acknowledged: {', '.join(unacknowledged)}",
                )
            )
        refusals += approval
        not_counting += approval
    elif not candidate.comment.strip():
        refusals.append(Reason("comment", f"a {candidate.verdict} decision needs a comment"))
    unknown = sorted(set(candidate.acknowledged) - set(known_flag_ids()))
    if unknown:
        refusals.append(Reason("unknown-flag", f"unknown risk flag id(s): {', '.join(unknown)}"))
    if not candidate.reviewer.email:
        refusals.append(
            Reason("email", "your git identity has no e-mail (git config user.email you@example)")
        )
    if candidate.key_problem is not None:
        not_counting.append(Reason("key", f"signing key: {candidate.key_problem}"))
    if candidate.verdict == "approve":
        identity = identity_problem(loaded, candidate, facts)
        if identity is not None:
            not_counting.append(Reason("identity", identity))
        if facts.refused is not None:
            not_counting.append(Reason("merge-bases", facts.refused))
        if candidate.finding != facts.finding:
            not_counting.append(Reason("finding", finding_mismatch(candidate.finding, facts)))
    return Ruling(tuple(refusals), tuple(not_counting))


def finding_mismatch(signed: str, facts: FixFacts) -> str:
    """Why an approval of finding SIGNED does not count on the fix of FACTS."""
    return f"approval was for finding {signed or '(none)'}; the fix is {now_linked(facts.finding)}"


def now_linked(finding: str) -> str:
    """What a fix is linked to now, FINDING its finding's id ("": none), said after a decision
    that signed another."""
    return f"now proposed for {finding}" if finding else "now linked to no finding"


def checklist_problems(checklist: Checklist) -> list[Reason]:
    """What an approval's checklist lacks: unconfirmed items, then the rollback criteria."""
    problems = []
    open_items = [name for name in CHECKLIST_ITEMS if not checklist.item(name).confirmed]
    if open_items:
        names = ", ".join(name.replace("_", " ") for name in open_items)
        problems.append(Reason("checklist", f"checklist not confirmed: {names}"))
    if not checklist.rollback.note.strip():
        problems.append(Reason("rollback", "no rollback criteria written (when do we revert?)"))
    return problems


def is_ai_identity(loaded: LoadedPolicy, name: str, email: str) -> bool:
    """Whether NAME or EMAIL matches the policy's AI identities."""
    globs = loaded.policy.approvals.ai_identities
    return any(matches_any(value, globs) for value in (name, email) if value)


def identity_problem(loaded: LoadedPolicy, candidate: Candidate, facts: FixFacts) -> str | None:
    """Why the person behind CANDIDATE may not approve: an AI identity, or the author or
    committer of a commit of the fix under any identity their key stands for (names and
    e-mails, case-insensitively)."""
    name = candidate.reviewer.name
    patterns = sorted(candidate.identities)
    literal = [p for p in patterns if "*" not in p and "?" not in p]
    if is_ai_identity(loaded, name, "") or any(is_ai_identity(loaded, "", e) for e in literal):
        return f"reviewer {', '.join(literal) or name} is an AI identity"
    for person_name, person_email in sorted(facts.people):
        if (name and name.lower() == person_name) or match_pattern_list(
            person_email, patterns, fold_case=True
        ):
            who = ", ".join(literal) or name
            return f"reviewer {who} authored or committed a commit of this fix"
    return None


def refusal_line(verdict: str, ruling: Ruling) -> str:
    """One line saying why a decision was not recorded, every reason in it."""
    return f"cannot record this {verdict}: {'; '.join(map(str, ruling.refusals))}"


def not_counting_line(verdict: str, ruling: Ruling) -> str:
    """One line saying why a decision would not count, every reason in it."""
    reasons = "; ".join(map(str, ruling.not_counting))
    return f"this {verdict} will not count under the gate: {reasons}"


__all__ = [
    "Candidate",
    "FixFacts",
    "Reason",
    "ReasonCode",
    "Ruling",
    "as_signed",
    "checklist_problems",
    "fix_facts",
    "identity_problem",
    "is_ai_identity",
    "not_counting_line",
    "refusal_line",
    "rule_on",
    "would_be",
]
