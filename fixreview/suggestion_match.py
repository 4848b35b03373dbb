"""Finding the AI's suggestion commit on a fix branch by the producer's own diff.

A producer (a codemod run, an autofix) reports the change it made as a diff: CodeTF's changesets.
When people commit on top of the bot's commit, the branch head is no longer the AI's suggestion;
the commit that is, is the oldest one whose change since the merge-base holds every line the
producer added and removed, file by file (lines compared without trailing whitespace, as
multisets: the same line twice must be there twice). :func:`locate` returns that commit, or a
:class:`Mismatch` saying in one line why none is: the producer's files are not the branch's, or
its lines are in no commit of the branch.

At most :data:`MAX_COMMITS` commits are searched (an attacker's branch may have any number):
past that, :func:`locate` says so, and ``--commit`` names the suggestion by hand.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from fixreview.changes import decode
from fixreview.repo.diffs import Diff, parse_diff
from fixreview.repo.git import Repository

MAX_COMMITS = 200
"""The most commits of a branch searched for the producer's change."""


@dataclass(frozen=True)
class ProducerChange:
    """What a producer says it changed in one file: the lines it added and removed."""

    path: str
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True)
class Mismatch:
    """Why no commit of the branch is the producer's change, in one line."""

    reason: str


def producer_changes(diffs: Sequence[tuple[str, str]]) -> list[ProducerChange]:
    """The changes of DIFFS, ``(path, unified diff)`` pairs as a producer reports them (the
    diff's own file headers, often empty, are not read: the path is the producer's). Pairs that
    add and remove nothing are left out."""
    out: list[ProducerChange] = []
    for path, text in diffs:
        added, removed = _lines(text)
        if added or removed:
            out.append(ProducerChange(_normal_path(path), tuple(added), tuple(removed)))
    return out


def locate(
    repo: Repository, merge_base: str | None, head: str, changes: Sequence[ProducerChange]
) -> str | Mismatch:
    """The oldest commit between MERGE_BASE (None: the root) and HEAD whose change since
    MERGE_BASE holds every one of CHANGES; else why there is none."""
    wanted = sorted({change.path for change in changes})
    if not wanted:
        return Mismatch("the producer's report changes no line")
    start = merge_base or repo.empty_tree
    whole = _diff(repo, start, head)
    touched = set(whole.paths())
    if not touched.intersection(wanted):
        return Mismatch(
            f"the producer changed {_names(wanted)}, which the branch does not change "
            f"(it changes {_names(sorted(touched))})"
        )
    span = [head] if merge_base is None else [head, f"^{merge_base}"]
    commits = repo.run_text("rev-list", "--reverse", f"--max-count={MAX_COMMITS + 1}", *span)
    oids = commits.split()
    if len(oids) > MAX_COMMITS:
        return Mismatch(
            f"the branch has more than {MAX_COMMITS} commits to search for the producer's "
            "change: name the suggestion with --commit"
        )
    for oid in oids:
        if _holds(_diff(repo, start, oid), changes):
            return oid
    return Mismatch(
        f"the producer's change to {_names(wanted)} is in no commit of the branch "
        f"({len(oids)} searched)"
    )


def _diff(repo: Repository, start: str, end: str) -> Diff:
    return parse_diff(decode(repo.diff(start, end)))


def _holds(diff: Diff, changes: Sequence[ProducerChange]) -> bool:
    """Whether DIFF adds and removes, in each file, every line CHANGES say (at least as often)."""
    by_path = {}
    for item in diff.files:
        added: Counter[str] = Counter()
        removed: Counter[str] = Counter()
        for hunk in item.hunks:
            for line in hunk.lines:
                if line.kind == "+":
                    added[line.text.rstrip()] += 1
                elif line.kind == "-":
                    removed[line.text.rstrip()] += 1
        by_path[item.path] = (added, removed)
    for change in changes:
        found = by_path.get(change.path)
        if found is None:
            return False
        added, removed = found
        if Counter(change.added) - added or Counter(change.removed) - removed:
            return False
    return True


def _lines(text: str) -> tuple[list[str], list[str]]:
    """The added and removed lines of the hunks of a unified diff TEXT (headers skipped)."""
    added: list[str] = []
    removed: list[str] = []
    in_hunk = False
    for line in text.splitlines():
        if line.startswith("@@"):
            in_hunk = True
        elif not in_hunk:
            continue
        elif line.startswith("+"):
            added.append(line[1:].rstrip())
        elif line.startswith("-"):
            removed.append(line[1:].rstrip())
    return added, removed


def _normal_path(path: str) -> str:
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


def _names(paths: Sequence[str], most: int = 3) -> str:
    shown = ", ".join(paths[:most])
    more = len(paths) - most
    return f"{shown} and {more} more" if more > 0 else shown or "no file"
