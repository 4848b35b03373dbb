"""Recording one decision: the rule-book asked first, then the payload prepared, signed, written.

``decide`` and the app's review session both record through :func:`record`, so neither can sign
a decision the rule-book refuses, and both learn, before signing, whether it would count
(:func:`key_standing` once, then :func:`ruling_for`, which is pure: the app asks it again as the
reviewer types).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fixreview.decisions import Decision, Verdict, prepare_decision, record_decision
from fixreview.drafts import Draft
from fixreview.errors import FixreviewError
from fixreview.gate import base_verifier
from fixreview.models import Fix, Person
from fixreview.policy import LoadedPolicy
from fixreview.repo.git import Repository
from fixreview.risk import RiskFlag
from fixreview.rulebook import (
    Ruling,
    fix_facts,
    not_counting_line,
    refusal_line,
    rule_on,
    would_be,
)
from fixreview.signing.base import Signer
from fixreview.signing.verifier import KeyStanding


class DecisionRefused(FixreviewError):
    """The rule-book refuses the decision: nothing was signed or written."""


class WouldNotCount(DecisionRefused):
    """The decision may be recorded but would not count, and recording it anyway was not asked
    for: nothing was signed or written. RULING says why."""

    def __init__(self, message: str, ruling: Ruling) -> None:
        super().__init__(message)
        self.ruling = ruling


@dataclass(frozen=True)
class Recorded:
    decision: Decision
    key: str  # the signing key's fingerprint
    ruling: Ruling  # what the rule-book said: ``not_counting`` names why it will not count


def key_standing(
    repo: Repository, loaded: LoadedPolicy, reviewer: Person, signer: Signer
) -> KeyStanding:
    """What the base's allowed keys say of SIGNER's key for REVIEWER (runs the signing program
    to learn the key's fingerprint)."""
    return base_verifier(repo, loaded).standing(signer.format, signer.fingerprint(), reviewer.email)


def ruling_for(
    loaded: LoadedPolicy,
    fix: Fix,
    flags: Iterable[RiskFlag],
    verdict: Verdict,
    draft: Draft,
    reviewer: Person,
    standing: KeyStanding,
) -> Ruling:
    """What the rule-book says of VERDICT with DRAFT's checklist, comment and
    acknowledgements, by REVIEWER with a key of STANDING, on FIX at its head (whose risk flags
    are FLAGS): may it be recorded, and would it count? Pure: no git, no signing program."""
    candidate = would_be(
        verdict,
        draft.checklist,
        draft.comment,
        draft.acknowledged,
        reviewer,
        key_problem=standing.problem,
        finding=fix.finding_id or "",
        key_identities=standing.identities,
    )
    return rule_on(loaded, fix_facts(fix, flags), candidate)


def record(
    repo: Repository,
    loaded: LoadedPolicy,
    fix: Fix,
    flags: Iterable[RiskFlag],
    verdict: Verdict,
    draft: Draft,
    *,
    reviewer: Person,
    signer: Signer,
    record_anyway: bool = False,
    env: Mapping[str, str] | None = None,
) -> Recorded:
    """Ask the rule-book, then sign and write VERDICT with DRAFT's fields on FIX's head.

    A refusal raises :class:`DecisionRefused` naming every reason, before anything is signed.
    A decision that may be recorded but would not count raises :class:`WouldNotCount`, unless
    RECORD_ANYWAY: then it is recorded, and the returned ruling says why it will not count.
    """
    flags = list(flags)
    standing = key_standing(repo, loaded, reviewer, signer)
    ruling = ruling_for(loaded, fix, flags, verdict, draft, reviewer, standing)
    if not ruling.recordable:
        raise DecisionRefused(refusal_line(verdict, ruling))
    if not ruling.counts and not record_anyway:
        raise WouldNotCount(not_counting_line(verdict, ruling), ruling)
    decision = prepare_decision(
        repo,
        fix,
        verdict,
        draft.checklist,
        reviewer=reviewer,
        signer=signer,
        comment=draft.comment,
        acknowledged=draft.acknowledged,
    )
    signed = record_decision(repo, decision, signer, env=env)
    return Recorded(decision, signed.key, ruling)


__all__ = [
    "DecisionRefused",
    "Recorded",
    "WouldNotCount",
    "key_standing",
    "record",
    "ruling_for",
]
