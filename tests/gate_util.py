"""Crafting decision records as an attacker or a modified client would: signed directly with
a real key, bypassing every check ``decide`` makes before signing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fixreview.decisions import Checklist, ChecklistItem, Decision, prepare_decision
from fixreview.models import Person
from fixreview.notes.records import TAG_DECISION, encode_line, model_to_toml
from fixreview.notes.store import DECISIONS_REF, append_record
from fixreview.policy import load_policy
from fixreview.queue import fix_at
from fixreview.repo.git import Repository
from fixreview.signing.base import Signer
from fixreview.signing.ssh import SshSigner
from tests.gitutil import TestRepo
from tests.signing_util import Reviewer


def full_checklist(rollback: str = "revert if anything breaks") -> Checklist:
    done = ChecklistItem(status="confirmed", note="checked")
    return Checklist(
        intent=done,
        scope=done,
        blast_radius=done,
        rollback=ChecklistItem(status="confirmed", note=rollback),
    )


def draft(
    repo: TestRepo,
    rev: str,
    reviewer: Person,
    signer: Signer,
    verdict: str = "approve",
    **changes: Any,
) -> Decision:
    """What `decide` would sign for REV, then CHANGES applied field by field."""
    r = Repository(repo.path)
    loaded = load_policy(r)
    fix, _ = fix_at(r, loaded, r.resolve(rev) or rev)
    decision = prepare_decision(
        r,
        fix,
        "approve",
        full_checklist(),
        # the test repositories' Finding-Id: SEC-1 resolves nowhere: a blocking flag to ack
        acknowledged=("no-linked-finding",),
        reviewer=reviewer,
        signer=signer,
        now=changes.pop("time", None) or datetime.now(UTC),
    )
    data = decision.model_dump(by_alias=True)
    data["verdict"] = verdict
    if verdict != "approve":
        data["comment"] = data.get("comment") or f"{verdict} for a reason"
    data.update(changes)
    return Decision.model_validate(data)


def sign_and_append(repo: TestRepo, decision: Decision, signer: Signer) -> str:
    """Sign DECISION's payload bytes and append the record to its head, as `decide` does."""
    payload = model_to_toml(decision)
    line = encode_line(TAG_DECISION, payload, signer.sign(payload).signature)
    append_record(Repository(repo.path), DECISIONS_REF, decision.head_commit, line)
    return line


def ssh_signer(who: Reviewer) -> SshSigner:
    return SshSigner("ssh-keygen", str(who.key))


def craft(
    repo: TestRepo,
    who: Reviewer,
    rev: str = "ai-fix/sqli",
    verdict: str = "approve",
    key: Reviewer | None = None,
    **changes: Any,
) -> str:
    """A record claiming WHO, signed with KEY's ssh key (WHO's own by default)."""
    signer = ssh_signer(key or who)
    decision = draft(repo, rev, Person(name=who.name, email=who.email), signer, verdict, **changes)
    return sign_and_append(repo, decision, signer)
