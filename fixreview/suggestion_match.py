"""Finding the AI's suggestion commit on a fix branch by the producer's own diff.

A producer (a codemod run, an autofix) reports the change it made: CodeTF's changesets as diffs,
a SARIF result's ``fixes`` as replacements of regions of the files as they were, which
:func:`edit_diffs` turns into diffs of the files at the merge-base.
When people commit on top of the bot's commit, the branch head is no longer the AI's suggestion;
the commit that is, is the oldest one whose change since the merge-base holds every line the
producer added and removed, file by file (lines compared without trailing whitespace, as
multisets: the same line twice must be there twice). :func:`locate` returns that commit, or a
:class:`Mismatch` saying in one line why none is: the producer's files are not the branch's, or
its lines are in no commit of the branch.

Work stays bounded whatever the branch holds: at most :data:`MAX_COMMITS` commits are searched
(past that, :func:`locate` says so, and ``--commit`` names the suggestion by hand), each diff is
of the producer's files only, and none is kept after its commit was compared.
"""

from __future__ import annotations

import difflib
import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fixreview.changes import decode
from fixreview.findings.sarif import FileEdit, Replacement
from fixreview.repo.diffs import Diff, parse_diff
from fixreview.repo.git import CLEAN_DIFF_FLAGS, STABLE_DIFF_CONFIG, Repository

if TYPE_CHECKING:
    from fixreview.progress import Progress

STAGE_SEARCH = "searching the branch's commits"
"""What :func:`locate` tells its progress callback (fixreview/progress.py)."""

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


def edited(base: str, replacements: Sequence[Replacement]) -> str | None:
    """BASE with a SARIF fix's REPLACEMENTS made (SARIF 2.1.0, 3.57: regions of the file as it
    was, by line and column or by character offset); None when one falls outside BASE or two
    overlap."""
    lines = base.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(line: int, column: int) -> int | None:
        if not 1 <= line <= max(len(lines), 1) or column < 1:
            return None
        text = lines[line - 1] if lines else ""
        return starts[line - 1] + min(column - 1, len(text))

    spans: list[tuple[int, int, str]] = []
    for r in replacements:
        if r.char_offset is not None:
            start, end = r.char_offset, r.char_offset + r.char_length
        else:
            assert r.start_line is not None and r.end_line is not None
            first = offset(r.start_line, r.start_column)
            if r.end_column is not None:
                last = offset(r.end_line, r.end_column)
            elif 1 <= r.end_line <= len(lines):  # to the end of the line, its newline kept
                last = starts[r.end_line - 1] + len(lines[r.end_line - 1].rstrip("\r\n"))
            else:
                last = None
            if first is None or last is None:
                return None
            start, end = first, last
        if not 0 <= start <= end <= len(base):
            return None
        spans.append((start, end, r.inserted))
    spans.sort()
    if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):
        return None
    out = base
    for start, end, inserted in reversed(spans):
        out = out[:start] + inserted + out[end:]
    return out


def edit_diffs(bases: Mapping[str, str], edits: Sequence[FileEdit]) -> list[tuple[str, str]]:
    """A SARIF fix's EDITS as ``(path, unified diff)`` pairs, from each file's text in BASES
    (a missing file is empty); an edit that cannot be made gives no diff."""
    out: list[tuple[str, str]] = []
    for item in edits:
        base = bases.get(item.path, "")
        after = edited(base, item.replacements)
        if after is None:
            continue
        diff = difflib.unified_diff(
            base.splitlines(), after.splitlines(), "a/" + item.path, "b/" + item.path, lineterm=""
        )
        out.append((item.path, "\n".join(diff)))
    return out


def locate(
    repo: Repository,
    merge_base: str | None,
    head: str,
    changes: Sequence[ProducerChange],
    progress: Progress | None = None,
) -> str | Mismatch:
    """The oldest commit between MERGE_BASE (None: the root) and HEAD whose change since
    MERGE_BASE holds every one of CHANGES; else why there is none. PROGRESS, when given, is
    told how many commits are searched (:data:`STAGE_SEARCH`)."""
    wanted = sorted({change.path for change in changes})
    if not wanted:
        return Mismatch("the producer's report changes no line")
    start = merge_base or repo.empty_tree
    names = repo.clean_run("diff", "--name-only", "-z", "--no-renames", start, head, "--")
    touched = {name for name in names.decode("utf-8", "surrogateescape").split("\0") if name}
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
    for done, oid in enumerate(oids):
        if progress is not None:
            progress(STAGE_SEARCH, done, len(oids))
        if _holds(_diff(repo, start, oid, wanted), changes):
            return oid
    return Mismatch(
        f"the producer's change to {_names(wanted)} is in no commit of the branch "
        f"({len(oids)} searched)"
    )


def _diff(repo: Repository, start: str, end: str, paths: Sequence[str]) -> Diff:
    """The diff of PATHS only from START to END, as ``Repository.diff`` makes it (the clean
    room, the same flags), but not kept: a search reads each commit's once."""
    text = repo.clean_run(
        "--literal-pathspecs",  # the paths are the report's: no pathspec magic
        *STABLE_DIFF_CONFIG,
        "diff",
        *CLEAN_DIFF_FLAGS,
        "--full-index",
        start,
        end,
        "--",
        *paths,
    )
    return parse_diff(decode(text))


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
