"""Decisions: one reviewer's signed verdict on one head commit, stored as a note record.

A decision names everything it binds to — the head and merge-base commits and their trees, the
SHA-256 of the exact final diff, the finding, the AI's suggestion — plus the checklist and the
acknowledged risk flags. The signature covers the exact TOML payload bytes stored in the note,
which are never re-serialised before verification.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field

from fixreview.errors import FixreviewError
from fixreview.models import Fix, ObjectId, Person, Strict
from fixreview.notes.records import TAG_DECISION, RawRecord, encode_line, model_to_toml
from fixreview.notes.store import DECISIONS_REF, append_record, read_typed
from fixreview.repo.git import Repository
from fixreview.resultcache import ResultCache, cache_key, code_digest, program_identity
from fixreview.signing.base import Signed, Signer

Verdict = Literal["approve", "request-changes", "reject"]
VERDICTS: tuple[Verdict, ...] = ("approve", "request-changes", "reject")
CHECKLIST_ITEMS: tuple[str, ...] = ("intent", "scope", "blast_radius", "rollback")
CHECKLIST_LABELS = {
    "intent": "Intent: the change does what the finding needs, and only that",
    "scope": "Scope: every changed file and hunk is accounted for",
    "blast_radius": "Blast radius: who and what this can break is understood",
    "rollback": "Rollback: the criteria for reverting are written down",
}
DECISION_SCHEMA: Literal[1] = 1


class ChecklistItem(Strict):
    status: Literal["confirmed", "open"] = "open"
    note: str = ""

    @property
    def confirmed(self) -> bool:
        return self.status == "confirmed"


class Checklist(Strict):
    intent: ChecklistItem = Field(default_factory=ChecklistItem)
    scope: ChecklistItem = Field(default_factory=ChecklistItem)
    blast_radius: ChecklistItem = Field(default_factory=ChecklistItem)
    rollback: ChecklistItem = Field(default_factory=ChecklistItem)

    def item(self, name: str) -> ChecklistItem:
        value = getattr(self, name)
        assert isinstance(value, ChecklistItem)
        return value



class Decision(Strict):
    """The signed payload of a decision record (schema 1)."""

    schema_version: Literal[1] = Field(default=DECISION_SCHEMA, alias="schema")
    id: str
    verdict: Verdict
    finding: str = ""
    branch: str
    target: str
    target_commit: ObjectId
    base_commit: ObjectId
    base_tree: ObjectId
    head_commit: ObjectId
    head_tree: ObjectId
    diff_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    suggestion_commit: ObjectId | None = None
    ai_tool: str = ""
    ai_model: str = ""
    reviewer: str = Field(min_length=3)  # the signer's principal: the reviewer's email
    reviewer_name: str = ""
    signing_format: Literal["ssh", "openpgp"]
    key: str
    time: AwareDatetime  # a TOML local date-time (no offset) is refused: times are compared
    checklist: Checklist
    acknowledged_flags: list[str] = Field(default_factory=list)
    comment: str = ""

    @property
    def reviewer_label(self) -> str:
        return f"{self.reviewer_name} <{self.reviewer}>" if self.reviewer_name else self.reviewer


@dataclass(frozen=True)
class DecisionRecord:
    """A decision as found in the notes: the commit it is attached to and its exact bytes.

    The decisions ref is an append-only ledger: REMOVED_IN is None for a record in the ref's
    tip, else the id of the notes commit that dropped it (which the gate reports as tampering;
    the record itself is judged like any other).
    """

    target: str
    payload: bytes
    signature: bytes
    decision: Decision
    removed_in: str | None = None  # the notes commit that dropped it (None: in the tip)


# BUMP THIS whenever how the bound diff is computed changes (repo/git.py is hashed in too)
DIFF_HASH_VERSION = "1"
DIFF_HASH_CACHE_KIND = "diff-sha256"


def diff_sha256(repo: Repository, base: str | None, head: str) -> str:
    """SHA-256 of ``git diff --binary --full-index BASE HEAD`` (configuration pinned), kept
    in the result cache by the two object ids and the git that computes the diff: the status
    of a fix with decisions never needs its diff again (a 100,000-line fix included)."""
    found = cached_diff_sha256(repo, base, head)
    if found is not None:
        return found
    store, key, old, new = _diff_hash_entry(repo, base, head)
    digest = hashlib.sha256(repo.diff(old, new)).hexdigest()
    store.put(key, digest.encode("ascii"))
    return digest


def cached_diff_sha256(repo: Repository, base: str | None, head: str) -> str | None:
    """:func:`diff_sha256` of the pair when the result cache holds it soundly (no diff
    needed), else None."""
    store, key, _, _ = _diff_hash_entry(repo, base, head)
    found = store.get(key)
    if found is None or not re.fullmatch(rb"[0-9a-f]{64}", found):
        return None
    return found.decode("ascii")


def _diff_hash_entry(
    repo: Repository, base: str | None, head: str
) -> tuple[ResultCache, str, str, str]:
    old, new = repo.object_ids(base or repo.empty_tree, head)
    key = cache_key(
        DIFF_HASH_CACHE_KIND,
        DIFF_HASH_VERSION,
        code_digest(("repo/git.py",)),
        program_identity("git"),
        old,
        new,
    )
    return ResultCache.under(repo.common_dir, DIFF_HASH_CACHE_KIND), key, old, new


def trees(repo: Repository, *commits: str) -> list[str]:
    """The tree ids of COMMITS (full commit ids), read from the commit objects."""
    found = repo.commit_trees(commits)
    return [found[commit] for commit in commits]


def prepare_decision(
    repo: Repository,
    fix: Fix,
    verdict: Verdict,
    checklist: Checklist,
    *,
    reviewer: Person,
    signer: Signer,
    comment: str = "",
    acknowledged: Iterable[str] = (),
    now: datetime | None = None,
    record_id: str | None = None,
) -> Decision:
    """Everything that will be signed, computed from the repository as it is now."""
    branch = fix.branch
    if branch.merge_base is None:
        raise FixreviewError(
            f"{branch.name} shares no history with {branch.base}: nothing to review"
        )
    head_tree, base_tree = trees(repo, branch.head, branch.merge_base)
    return Decision(
        id=record_id or str(uuid.uuid4()),
        verdict=verdict,
        finding=fix.finding_id or "",
        branch=branch.name,
        target=branch.base,
        target_commit=branch.base_commit,
        base_commit=branch.merge_base,
        base_tree=base_tree,
        head_commit=branch.head,
        head_tree=head_tree,
        diff_sha256=diff_sha256(repo, branch.merge_base, branch.head),
        suggestion_commit=fix.suggestion.commit if fix.suggestion else None,
        ai_tool=fix.suggestion.tool if fix.suggestion else "",
        ai_model=fix.suggestion.model if fix.suggestion else "",
        reviewer=reviewer.email,
        reviewer_name=reviewer.name,
        signing_format=signer.format,
        key=signer.fingerprint(),
        time=now or datetime.now(UTC),  # microseconds order a reviewer's quick successive calls
        checklist=checklist,
        acknowledged_flags=sorted(set(acknowledged)),
        comment=comment,
    )


def record_decision(
    repo: Repository, decision: Decision, signer: Signer, env: Mapping[str, str] | None = None
) -> Signed:
    """Sign the payload bytes and append the record to the head commit's decisions note.

    Signing happens before anything is written: a signing failure writes nothing.
    """
    payload = model_to_toml(decision)
    signed = signer.sign(payload)
    line = encode_line(TAG_DECISION, payload, signed.signature)
    append_record(repo, DECISIONS_REF, decision.head_commit, line, env=env)
    return signed


# read_decisions results by (repository, decisions ref tip): the tip's id names the whole
# history, so a result stays right for as long as the ref does not move. A command reads the
# ledger once however many times it judges a fix.
_READ_CACHE: dict[tuple[str, str], tuple[dict[str, list[DecisionRecord]], list[str]]] = {}
_READ_CACHE_SIZE = 4


def read_decisions(
    repo: Repository,
    *,
    select: Callable[[str, RawRecord], bool] | None = None,
    at: str | None = None,
) -> tuple[dict[str, list[DecisionRecord]], list[str], bool]:
    """Every decision record ever in the decisions ref's history, by the commit it is attached
    to (records a later notes commit dropped carry ``removed_in``), the unreadable lines as
    warnings, and whether the decisions ref exists at all. SELECT: only the records it selects
    are parsed (see :func:`fixreview.notes.store.read_typed`; :func:`bearing_on` for one fix).
    AT: the decisions ref's commit, when the caller has just read it (not read again)."""
    tip = at if at is not None else repo.ref_value(DECISIONS_REF)
    if tip is None:
        return {}, [], False
    key = (str(repo.common_dir), tip)
    cached = _READ_CACHE.get(key)
    if cached is None:
        typed = read_typed(
            repo, DECISIONS_REF, TAG_DECISION, Decision, history=True, at=tip, select=select
        )
        records = {
            target: [
                DecisionRecord(target, raw.payload, raw.signature, decision, raw.removed_in)
                for raw, decision in items
                if raw.signature is not None  # the line format guarantees one for decisions
            ]
            for target, items in typed.by_target.items()
        }
        cached = (records, typed.warnings)
        if select is not None:  # a partial read is this caller's alone
            return records, typed.warnings, True
        while len(_READ_CACHE) >= _READ_CACHE_SIZE:
            del _READ_CACHE[next(iter(_READ_CACHE))]
        _READ_CACHE[key] = cached
    records, warnings = cached
    return {target: list(items) for target, items in records.items()}, list(warnings), True


def warm_decisions(root: Path, git_dir: Path) -> None:
    """:func:`read_decisions` of the repository at ROOT for the result cache only (its records
    and ledger entries), in a forked copy of the process
    (:func:`fixreview.jobs.forked_beside`): the repository is opened again, never the parent's
    git processes, and nothing is done when ROOT now leads to another git dir. The caller
    reads the decisions afterwards as usual; what it finds in the cache is checked as any
    entry, and what it does not find it parses itself."""
    with Repository.reopened(root, git_dir) as repo:
        if repo is not None:
            read_decisions(repo)


def read_decisions_on(
    repo: Repository, fix: Fix, *, at: str | None = None
) -> tuple[dict[str, list[DecisionRecord]], list[str], bool]:
    """:func:`read_decisions` of only the records that can bear on FIX (a fix with a
    merge-base): those on its commits or naming its final diff's hash (:func:`bearing_on`)."""
    digest = diff_sha256(repo, fix.branch.merge_base, fix.branch.head)
    return read_decisions(repo, select=bearing_on(fix.commit_ids, digest), at=at)


def bearing_on(commits: Collection[str], diff_hash: str) -> Callable[[str, RawRecord], bool]:
    """Which records can bear on a fix with COMMITS and final diff DIFF_HASH (the gate's
    ``_relevant``): those on its commits, and any whose payload may name DIFF_HASH. A payload
    names it only if the hex digits are in it verbatim, or it holds an escape (a backslash):
    a TOML string without one is its bytes as written. Every other record is left unparsed."""
    needle = diff_hash.lower().encode("ascii")

    def select(target: str, raw: RawRecord) -> bool:
        return target in commits or b"\\" in raw.payload or needle in raw.payload.lower()

    return select


__all__ = [
    "CHECKLIST_ITEMS",
    "VERDICTS",
    "Checklist",
    "ChecklistItem",
    "Decision",
    "DecisionRecord",
    "Verdict",
    "bearing_on",
    "diff_sha256",
    "prepare_decision",
    "read_decisions",
    "read_decisions_on",
    "record_decision",
]
