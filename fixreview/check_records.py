"""CI check records: one signed test run's result on one head commit, stored as a note record.

``fixreview record-check`` writes one on the head commit in ``refs/notes/fixreview/checks``,
exactly as decisions are written (one record a line, the compare-and-swap append of
:mod:`fixreview.notes.store`, merged by ``sync`` with ``cat_sort_uniq``): the check's name, its
status, the head commit and tree it ran on, when, who ran it (the CI's git identity and signing
key), the run's URL and, from a JUnit report, its counts. The signature (ssh, in the namespace
``fixreview-check``) covers the exact TOML payload bytes in the note. What a record counts
for is the gate's to say (:mod:`fixreview.check_rules`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, Field, ValidationError, model_validator

from fixreview.errors import FixreviewError
from fixreview.junit import JunitCounts
from fixreview.models import ObjectId, Person, Strict
from fixreview.notes.records import TAG_CHECK, describe_validation, encode_line, model_to_toml
from fixreview.notes.store import CHECKS_REF, append_record, read_typed
from fixreview.policy import CHECK_NAME_PATTERN
from fixreview.repo.git import Repository
from fixreview.signing.base import CHECK_NAMESPACE, Signer, SigningError
from fixreview.signing.ssh import SshSigner

CheckStatus = Literal["passed", "failed"]
CHECK_SCHEMA: Literal[1] = 1
MAX_URL_CHARS = 2048


class CheckRecord(Strict):
    """The signed payload of a check record (schema 1)."""

    schema_version: Literal[1] = Field(default=CHECK_SCHEMA, alias="schema")
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(pattern=CHECK_NAME_PATTERN)
    status: CheckStatus
    head_commit: ObjectId
    head_tree: ObjectId
    time: AwareDatetime
    signer: str = Field(min_length=3, max_length=320)  # the CI's principal: its git e-mail
    signer_name: str = Field(default="", max_length=200)
    signing_format: Literal["ssh"]  # the CI signers file is an ssh allowed signers file
    key: str = Field(max_length=200)
    url: str = Field(default="", max_length=MAX_URL_CHARS)
    junit: JunitCounts | None = None

    @model_validator(mode="after")
    def _passed_means_no_failure(self) -> CheckRecord:
        if self.status == "passed" and self.junit is not None and self.junit.failed:
            raise ValueError("a passed check whose JUnit report has failures or errors")
        return self

    @property
    def signer_label(self) -> str:
        return f"{self.signer_name} <{self.signer}>" if self.signer_name else self.signer

    def summary(self) -> str:
        """``tests passed (12 tests, 0 failures, 0 errors, 1 skipped, 3.2 s)``."""
        counts = f" ({self.junit.describe()})" if self.junit is not None else ""
        return f"{self.name} {self.status}{counts}"


@dataclass(frozen=True)
class StoredCheck:
    """A check record as found in the notes: the commit it is attached to, its exact bytes,
    and ``removed_in``, the notes commit that dropped it (None: in the ref's tip)."""

    target: str
    payload: bytes
    signature: bytes
    record: CheckRecord
    removed_in: str | None = None


class CheckRefused(FixreviewError):
    """The check cannot be recorded as asked: nothing was signed or written."""


def prepare_check(
    repo: Repository,
    head: str,
    name: str,
    status: CheckStatus,
    *,
    signer_identity: Person,
    signer: Signer,
    junit: JunitCounts | None = None,
    url: str = "",
    now: datetime | None = None,
) -> CheckRecord:
    """Everything that will be signed: HEAD (a full commit id) and its tree, and the run.
    A passing status with a JUnit report that has failures or errors is refused."""
    if status == "passed" and junit is not None and junit.failed:
        raise CheckRefused(
            f"the JUnit report has {junit.failures} failures and {junit.errors} errors: "
            f"{name} cannot be recorded as passed"
        )
    if not isinstance(signer, SshSigner):
        raise SigningError(
            "check records are signed with an ssh key (the CI signers file is an allowed "
            "signers file): git config gpg.format ssh"
        )
    tree = repo.commit_trees([head]).get(head)
    if tree is None:
        raise FixreviewError(f"{head[:12]} is not a commit in this repository")
    try:
        return CheckRecord(
            id=str(uuid.uuid4()),
            name=name,
            status=status,
            head_commit=head,
            head_tree=tree,
            time=now or datetime.now(UTC),
            signer=signer_identity.email,
            signer_name=signer_identity.name,
            signing_format="ssh",
            key=signer.fingerprint(),
            url=url,
            junit=junit,
        )
    except ValidationError as exc:  # a name or URL it refuses
        raise CheckRefused(f"cannot record the check: {describe_validation(exc)}") from None


def record_check(
    repo: Repository, check: CheckRecord, signer: Signer, env: Mapping[str, str] | None = None
) -> str:
    """Sign the payload bytes (namespace ``fixreview-check``) and append the record to the head
    commit's note in the checks ref; returns the key's fingerprint. Signing comes first: a
    signing failure writes nothing."""
    if not isinstance(signer, SshSigner):
        raise SigningError("check records are signed with an ssh key: git config gpg.format ssh")
    payload = model_to_toml(check)
    signed = signer.sign(payload, namespace=CHECK_NAMESPACE)
    line = encode_line(TAG_CHECK, payload, signed.signature)
    append_record(repo, CHECKS_REF, check.head_commit, line, env=env)
    return signed.key


def read_checks(
    repo: Repository, targets: Collection[str], *, at: str | None = None
) -> tuple[dict[str, list[StoredCheck]], list[str]]:
    """The check records ever attached to TARGETS (the checks ref read as a ledger: a record a
    later notes commit dropped is still here, with ``removed_in``), and the warnings about
    lines that could not be used. AT: the checks ref's commit, when the caller has read it."""
    tip = at if at is not None else repo.ref_value(CHECKS_REF)
    if tip is None or not targets:
        return {}, []
    wanted = frozenset(targets)
    typed = read_typed(
        repo,
        CHECKS_REF,
        TAG_CHECK,
        CheckRecord,
        history=True,
        at=tip,
        select=lambda target, _raw: target in wanted,
    )
    found = {
        target: [
            StoredCheck(target, raw.payload, raw.signature, record, raw.removed_in)
            for raw, record in items
            if raw.signature is not None  # the line format guarantees one for checks
        ]
        for target, items in typed.by_target.items()
    }
    return found, typed.warnings


__all__ = [
    "CHECK_SCHEMA",
    "CheckRecord",
    "CheckRefused",
    "CheckStatus",
    "StoredCheck",
    "prepare_check",
    "read_checks",
    "record_check",
]
