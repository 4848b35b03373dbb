"""The domain's record types: findings, suggestions, proposals, commits and fix branches.

These pydantic models are what notes carry (as TOML), what ``--json`` prints and what the app
shows. They are strict: unknown keys are refused, and the error names the key.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}

OBJECT_ID = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
ObjectId = Annotated[str, StringConstraints(pattern=OBJECT_ID.pattern)]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]

# The schema a proposal is written with. Schema 1 carried the frozen patch inside its TOML
# payload; schema 2 carries it as the record line's own field (fixreview/notes/proposal_codec.py,
# docs/format.md). Every schema is read.
PROPOSAL_SCHEMA: Literal[2] = 2
# schema 3: schema 2 with ``suggestion.unmatched``, written only for a proposal that has one
PROPOSAL_SCHEMA_UNMATCHED: Literal[3] = 3
PROPOSAL_SCHEMAS: tuple[int, ...] = (1, 2, 3)


class Strict(BaseModel):
    """Base for records: unknown keys are an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Location(Strict):
    """A place in the code: a path and an inclusive range of lines."""

    path: NonEmpty
    start_line: int = Field(ge=1)
    end_line: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _range(self) -> Location:
        if self.end_line is None:
            self.end_line = self.start_line
        if self.end_line < self.start_line:
            raise ValueError(f"end_line {self.end_line} is before start_line {self.start_line}")
        return self

    def __str__(self) -> str:
        if self.end_line in (None, self.start_line):
            return f"{self.path}:{self.start_line}"
        return f"{self.path}:{self.start_line}-{self.end_line}"


class Finding(Strict):
    """What a scanner or a person reported."""

    id: NonEmpty
    title: str = ""
    severity: Severity
    rule: str = ""
    scanner: str = ""
    asset: str = ""
    locations: list[Location] = Field(default_factory=list)
    evidence: str = ""
    reason: str = ""
    url: str = ""

    def details(self) -> list[tuple[str, str]]:
        """The short fields a reader scans, labelled, the empty ones left out."""
        fields = [
            ("rule", self.rule),
            ("scanner", self.scanner),
            ("asset", self.asset),
            ("locations", ", ".join(str(location) for location in self.locations)),
            ("url", self.url),
        ]
        return [(label, value) for label, value in fields if value]


class Suggestion(Strict):
    """What the AI proposed, frozen at proposal time (the patch survives rebases).

    In a stored proposal of schema 2 or 3, ``patch`` is not in the payload: the payload names its
    SHA-256 and size and the line carries it (fixreview/notes/proposal_codec.py)."""

    tool: str = ""
    model: str = ""
    rationale: str = ""
    commit: ObjectId
    base: ObjectId | None = None
    patch: str = ""
    created: AwareDatetime | None = None  # offset required: times are compared
    # why the producer's own change is in no commit of the branch, when ``propose --force``
    # recorded the proposal anyway (at the head): the ``suggestion-mismatch`` flag shows it
    unmatched: str | None = None


class Proposal(Strict):
    """A finding and the AI's suggestion, attached to a fix branch (one note record; its stored
    form is ``proposal_codec.proposal_line``'s, read back by ``proposal_from_record``)."""

    # the schema of the stored record (a payload without one is schema 1); ``propose`` makes
    # proposals of PROPOSAL_SCHEMA, which ``proposal_line`` writes whatever this says
    schema_version: Literal[1, 2, 3] = Field(default=1, alias="schema")
    id: NonEmpty
    branch: NonEmpty
    recorded: AwareDatetime  # offset required: proposals are ordered by it
    recorded_by: str = ""
    finding: Finding
    suggestion: Suggestion


class Status(StrEnum):
    """Where a fix stands in review."""

    PENDING = "pending"
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes-requested"
    REJECTED = "rejected"
    STALE = "stale"


# What ``list`` shows without ``--all``: fixes a reviewer still has to look at. A stale fix
# (approved, then changed) needs a new review; a rejected one or one sent back does not.
AWAITING_REVIEW = frozenset({Status.PENDING, Status.STALE})


class FixBranch(Strict):
    """A branch that claims to fix a finding, and where it stands against its base."""

    name: str
    ref: str
    base: str
    base_commit: ObjectId
    merge_base: ObjectId | None
    head: ObjectId
    status: Status = Status.PENDING
    # every merge-base of HEAD with the base (``git merge-base --all``); more than one is a
    # criss-cross history, whose merge no single diff shows (the gate refuses it)
    merge_bases: list[ObjectId] = Field(default_factory=list)


class Person(Strict):
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class Commit(Strict):
    """One commit of a fix branch, with what its trailers say."""

    oid: ObjectId
    parents: list[ObjectId]
    author: Person
    authored: datetime
    committer: Person
    committed: datetime
    subject: str
    body: str
    trailers: list[tuple[str, str]] = Field(default_factory=list)

    def trailer_values(self, key: str) -> list[str]:
        wanted = key.lower()
        return [value for name, value in self.trailers if name.lower() == wanted]


class DiffStats(Strict):
    files: int = 0
    added: int = 0
    removed: int = 0


FindingSource = Literal["note", "trailers", "none"]
CheckStateName = Literal["passed", "failed", "stale", "missing"]


class CheckState(Strict):
    """Where one CI check stands at a fix's head, as the gate judges its check records
    (fixreview.check_rules): ``passed`` or ``failed`` by the latest counted record on this
    exact head and tree, ``stale`` when counted records exist only for earlier commits of the
    fix, ``missing`` when none counts. DETAIL says why, in one line (untrusted text inside)."""

    name: str
    state: CheckStateName
    required: bool  # listed in the base policy's [checks] required
    detail: str = ""
    url: str = ""  # the run's URL of the record that decided the state ("": none)



class Fix(Strict):
    """Everything the queue knows about one fix branch."""

    branch: FixBranch
    source: FindingSource
    finding: Finding | None = None
    suggestion: Suggestion | None = None
    proposal_id: str | None = None
    proposal_branch: str | None = None
    commits: list[Commit] = Field(default_factory=list)
    stats: DiffStats = Field(default_factory=DiffStats)
    problems: list[str] = Field(default_factory=list)
    # the CI checks at the head: every required one, and any other with a counted record
    # (fixreview.check_rules.attach_checks); the risk checks read them (checks-not-passed)
    checks: list[CheckState] = Field(default_factory=list)

    @property
    def commit_ids(self) -> set[str]:
        """The fix's own commits (merge-base..head) and its head: where its notes can be."""
        return {c.oid for c in self.commits} | {self.branch.head}

    @property
    def finding_id(self) -> str | None:
        """The linked finding's id, or the id a ``Finding-Id:`` trailer claims when the
        finding itself could not be found."""
        if self.finding is not None:
            return self.finding.id
        for commit in reversed(self.commits):  # oldest first, as the queue links them
            values = commit.trailer_values("Finding-Id")
            if values:
                return values[0]
        return None

    @property
    def linked(self) -> bool:
        return self.finding is not None

    @property
    def severity_rank(self) -> int:
        return SEVERITY_RANK[self.finding.severity] if self.finding else len(SEVERITIES)
