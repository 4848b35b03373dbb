"""Attaching a proposal (finding + the AI's suggestion) to a fix branch as a git note.

The proposal is one record on the suggestion commit in ``refs/notes/fixreview/proposals``; the
suggestion's patch is frozen inside it, so it survives rebases and force-pushes of the branch.
:func:`proposal_line` is the one way a proposal becomes a note line (docs/format.md).

Proposals are unsigned: anyone who may push notes can add one. The queue, which reads them,
refuses one whose frozen patch does not parse (``queue.check_proposal``). The proposals ref is
read at its tip only (docs/ledger.md says why). :func:`propose` refuses a finding that the
branch's own ``Finding-Id:`` trailers contradict, unless forced; the risk check
``suggestion-mismatch`` flags such a proposal however it was written.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fixreview.changes import decode
from fixreview.errors import FixreviewError, NotFoundError
from fixreview.findings.sarif import FileEdit
from fixreview.models import (
    PROPOSAL_SCHEMA,
    PROPOSAL_SCHEMA_UNMATCHED,
    Finding,
    Proposal,
    Suggestion,
)
from fixreview.notes.proposal_codec import proposal_line
from fixreview.notes.records import MAX_LINE_BYTES
from fixreview.notes.store import PROPOSALS_REF, append_record
from fixreview.policy import LoadedPolicy, load_policy
from fixreview.queue import is_fix_branch, parse_assisted_by
from fixreview.repo.commits import read_commits
from fixreview.repo.git import Repository
from fixreview.suggestion_match import Mismatch, edit_diffs, locate, producer_changes

if TYPE_CHECKING:
    from fixreview.progress import Progress

__all__ = ["ProposalRefused", "proposal_line", "propose", "resolve_branch"]


class ProposalRefused(FixreviewError):
    """The proposal contradicts the branch; nothing was written."""


def resolve_branch(repo: Repository, loaded: LoadedPolicy, name: str) -> tuple[str, str]:
    """(short name, head commit) of a fix branch, local or remote-tracking."""
    for ref in (f"refs/heads/{name}", f"refs/remotes/{name}"):
        head = repo.resolve(ref)
        if head is not None:
            short = name if ref.startswith("refs/heads/") else name.split("/", 1)[-1]
            if not is_fix_branch(loaded.policy, short):
                patterns = ", ".join(loaded.policy.fix_branches)
                raise FixreviewError(
                    f"branch {short!r} is not a fix branch under the policy ({patterns})"
                )
            return short, head
    raise NotFoundError(f"no branch named {name!r}")


def propose(
    repo: Repository,
    branch: str,
    finding: Finding,
    *,
    tool: str | None = None,
    model: str | None = None,
    rationale: str | None = None,
    commit: str | None = None,
    base: str | None = None,
    now: datetime | None = None,
    record_id: str | None = None,
    env: Mapping[str, str] | None = None,
    force: bool = False,
    producer_diffs: Sequence[tuple[str, str]] = (),
    producer_edits: Sequence[FileEdit] = (),
    progress: Progress | None = None,
) -> Proposal:
    """Record FINDING and the AI's suggestion as a proposal note.

    The suggestion commit is COMMIT when given; else, with PRODUCER_DIFFS (the producer's own
    diff, ``(path, unified diff)`` by file: CodeTF's changesets) or PRODUCER_EDITS (a SARIF
    fix's replacements, made on the files at the merge-base), the oldest commit of the
    branch that holds that change (:mod:`fixreview.suggestion_match`), so that people's commits
    after the AI's show as human changes; else the branch head.

    Refused (:class:`ProposalRefused`) when the branch's commits claim other findings in their
    ``Finding-Id:`` trailers, or when the producer's change is in no commit of the branch,
    unless FORCE: then it is recorded (a contradicted finding is flagged; an unmatched change
    is recorded at the head, with why in ``suggestion.unmatched``, and flagged). PROGRESS, when
    given, is told how far the search for the producer's change has gone
    (:func:`fixreview.suggestion_match.locate`)."""
    loaded = load_policy(repo, base)
    name, head = resolve_branch(repo, loaded, branch)
    if not force:
        _refuse_contradiction(repo, loaded, name, head, finding)
    suggestion_commit, unmatched = head, None
    if commit is None and (producer_diffs or producer_edits):
        merge_base = repo.merge_base(loaded.base_commit, head)
        if not producer_diffs:
            producer_diffs = _edit_diffs(repo, merge_base, producer_edits)
        suggestion_commit, unmatched = _by_content(
            repo, merge_base, name, head, producer_diffs, force, progress
        )
    if commit is not None:
        resolved = repo.resolve(commit)
        if resolved is None:
            raise NotFoundError(f"no commit {commit!r}")
        if not repo.is_ancestor(resolved, head):
            raise FixreviewError(f"commit {commit} is not in the history of {name}")
        suggestion_commit = resolved
    carrier = read_commits(repo, [suggestion_commit])[suggestion_commit]
    start = repo.merge_base(loaded.base_commit, suggestion_commit)
    patch = decode(repo.diff(start or repo.empty_tree, suggestion_commit))
    trailer_tool, trailer_model = "", ""
    if carrier.trailer_values("Assisted-by"):
        trailer_tool, trailer_model = parse_assisted_by(carrier.trailer_values("Assisted-by")[0])
    recorded_by = repo.run_text("var", "GIT_COMMITTER_IDENT").rsplit(" ", 2)[0]
    proposal = Proposal(
        schema_version=PROPOSAL_SCHEMA if unmatched is None else PROPOSAL_SCHEMA_UNMATCHED,
        id=record_id or str(uuid.uuid4()),
        branch=name,
        recorded=now or datetime.now(UTC).replace(microsecond=0),
        recorded_by=recorded_by,
        finding=finding,
        suggestion=Suggestion(
            tool=tool if tool is not None else trailer_tool,
            model=model if model is not None else trailer_model,
            rationale=rationale if rationale is not None else carrier.body,
            commit=suggestion_commit,
            base=start,
            patch=patch,
            created=carrier.committed,
            unmatched=unmatched,
        ),
    )
    line = proposal_line(proposal)
    if len(line) > MAX_LINE_BYTES:
        raise FixreviewError(
            f"the suggestion's patch is too large to record ({len(patch)} bytes; a proposal "
            f"line holds at most {MAX_LINE_BYTES // (1024 * 1024)} MiB)"
        )
    append_record(repo, PROPOSALS_REF, suggestion_commit, line, env=env)
    return proposal


def _edit_diffs(
    repo: Repository, merge_base: str | None, edits: Sequence[FileEdit]
) -> list[tuple[str, str]]:
    """EDITS made on their files as they are at MERGE_BASE (None: no files, all empty)."""
    specs = {item.path: f"{merge_base}:{item.path}" for item in edits} if merge_base else {}
    found = repo.read_objects(specs.values())
    bases = {
        path: data.decode("utf-8", "replace")
        for path, spec in specs.items()
        if (data := found.get(spec)) is not None
    }
    return edit_diffs(bases, edits)


def _by_content(
    repo: Repository,
    merge_base: str | None,
    name: str,
    head: str,
    producer_diffs: Sequence[tuple[str, str]],
    force: bool,
    progress: Progress | None = None,
) -> tuple[str, str | None]:
    """The commit of branch NAME (HEAD, from MERGE_BASE) that holds the producer's change, and
    None; HEAD when the report changes no line; with FORCE, when no commit holds it, HEAD and
    why (the proposal's ``suggestion.unmatched``, which the ``suggestion-mismatch`` flag shows)."""
    changes = producer_changes(producer_diffs)
    if not changes:
        return head, None
    found = locate(repo, merge_base, head, changes, progress)
    if not isinstance(found, Mismatch):
        return found, None
    if force:
        return head, found.reason
    raise ProposalRefused(
        f"{name}: {found.reason}; name the AI's commit with --commit, or --force to record the "
        "proposal at the head"
    )


def _refuse_contradiction(
    repo: Repository, loaded: LoadedPolicy, name: str, head: str, finding: Finding
) -> None:
    """Refuse FINDING for branch NAME when its commits' Finding-Id trailers name others (its
    commits: those of HEAD not in the base, as the queue reads them)."""
    oids = repo.run_text("rev-list", head, f"^{loaded.base_commit}").split()
    commits = read_commits(repo, oids).values()
    claimed = list(
        dict.fromkeys(value for c in commits for value in c.trailer_values("Finding-Id"))
    )
    if claimed and finding.id not in claimed:
        raise ProposalRefused(
            f"{name}'s commits claim Finding-Id {', '.join(claimed)}, not {finding.id}: propose "
            "the finding the branch claims, or --force to record it with the "
            "suggestion-mismatch flag"
        )
