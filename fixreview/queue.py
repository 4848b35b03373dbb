"""The review queue: every fix branch, its proposal or trailers, its finding and its size.

Loading the whole queue costs a fixed number of git processes whatever the number of branches:
one ``for-each-ref``, one ``rev-list`` and one ``cat-file --batch`` for the commits, one
``ls-tree`` and one ``cat-file --batch`` for the proposal notes, one ``diff-tree --stdin`` for
the sizes (counting while the proposals are read), and one ``cat-file --batch`` for the
findings sources when trailers need them. Warm, the result cache holds the parsed commits (by
the base's and heads' ids), each group of proposal notes' records (by the notes' blob ids) and
the whole queue's sizes: only the ``for-each-ref`` and an ``ls-tree`` run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fixreview.check_rules import attach_checks
from fixreview.errors import InputError, NotFoundError
from fixreview.fixbranches import BranchRef, fix_branch_refs, matches_any, narrowed
from fixreview.jobs import Claims
from fixreview.models import Commit, DiffStats, Finding, Fix, FixBranch, Proposal, Suggestion
from fixreview.notes.proposal_codec import proposal_from_record
from fixreview.notes.records import TAG_PROPOSAL
from fixreview.notes.store import PROPOSALS_REF, read_models
from fixreview.policy import LoadedPolicy, Policy, load_policy
from fixreview.repo.commits import CommitGraph, load_graph
from fixreview.repo.git import (
    CLEAN_DIFF_FLAGS,
    STABLE_DIFF_CONFIG,
    Repository,
    Started,
    object_format_of,
)
from fixreview.repo.refs import BranchRefs
from fixreview.resultcache import ResultCache, cache_key, code_digest, program_identity

if TYPE_CHECKING:
    from fixreview.findings.sources import FindingsIndex
    from fixreview.progress import Progress

STAGE_BRANCHES = "reading fix branches"
"""What :func:`build_fixes` tells its progress callback (fixreview/progress.py)."""


@dataclass
class Queue:
    """The fixes of a repository under its policy, and what could not be read."""

    policy: LoadedPolicy
    fixes: list[Fix]
    warnings: list[str] = field(default_factory=list)
    # the fix branches left out because they match none of the patterns the queue was read for
    hidden: int = 0
    # until when the check records' signature answers hold (a CI key's validity window)
    holds_until: float = math.inf

    def get(self, name: str) -> Fix:
        """The fix on branch NAME (or a remote-tracking ``REMOTE/NAME``)."""
        for fix in self.fixes:
            if _names(name, fix.branch.name, fix.branch.ref):
                return fix
        raise _no_such_branch(name, [f.branch.name for f in self.fixes])


def _names(name: str, branch: str, ref: str) -> bool:
    """Whether NAME names the fix branch BRANCH (full ref REF)."""
    return name in (branch, ref, ref.removeprefix("refs/remotes/"))


def _no_such_branch(name: str, branches: list[str]) -> NotFoundError:
    close = [b for b in branches if name.lower() in b.lower()]
    hint = f"; did you mean {', '.join(close[:3])}?" if close else ""
    return NotFoundError(f"no fix branch named {name!r}{hint} (see: fixreview list --all)")


def is_fix_branch(policy: Policy, name: str) -> bool:
    """Whether NAME matches one of the policy's patterns (``*`` also matches ``/``)."""
    return matches_any(name, policy.fix_branches)


def list_fix_branches(
    repo: Repository,
    loaded: LoadedPolicy,
    points_at: str | None = None,
    *,
    shadowed: bool = False,
) -> list[BranchRef]:
    """Fix branches among local and remote-tracking branches (fixreview/fixbranches.py): those
    ``load_policy`` listed to resolve the base, else one ``for-each-ref`` (only those whose
    head is POINTS_AT, when given). SHADOWED: see :func:`fix_branch_refs`."""
    listed = loaded.branch_refs or BranchRefs(repo)
    return fix_branch_refs(
        listed.listing,
        loaded.base_ref,
        loaded.base_branch,
        loaded.policy.fix_branches,
        points_at,
        shadowed=shadowed,
    )


def load_queue(
    repo: Repository,
    base: str | None = None,
    progress: Progress | None = None,
    only: Sequence[str] = (),
) -> Queue:
    """Read every fix branch of the repository, in bulk (telling PROGRESS how far it is); with
    ONLY, those whose name matches one of its patterns (the reviewer's ``branches``: the others
    are counted in :attr:`Queue.hidden`)."""
    loaded = load_policy(repo, base)
    listed = narrowed(list_fix_branches(repo, loaded), only)
    fixes, warnings, holds_until = build_fixes(repo, loaded, listed.branches, progress)
    return Queue(
        policy=loaded,
        fixes=fixes,
        warnings=warnings + _shallow(repo, loaded, fixes),
        hidden=listed.hidden,
        holds_until=holds_until,
    )


def hidden_note(hidden: int, patterns: Sequence[str], origin: str) -> str:
    """What a reviewer is told of the HIDDEN fix branches that PATTERNS (set by ORIGIN) left out
    of the queue, so that a narrowed queue is never mistaken for the whole one."""
    noun = "fix branch matches" if hidden == 1 else "fix branches match"
    return f"{hidden} more {noun} none of {', '.join(patterns)} ({origin}): not shown"


def _shallow(repo: Repository, loaded: LoadedPolicy, fixes: list[Fix]) -> list[str]:
    """The warning of a shallow clone where fixes have no merge-base (else nothing)."""
    unrelated = sum(1 for f in fixes if f.branch.merge_base is None)
    if not unrelated or not (repo.common_dir / "shallow").exists():
        return []
    return [
        f"shallow clone: {unrelated} fix(es) have no merge-base with {loaded.base} here, so "
        "their diffs are against the empty tree (fetch the history: git fetch --unshallow, "
        "or actions/checkout with fetch-depth: 0)"
    ]


def load_one(repo: Repository, name: str, base: str | None = None) -> Queue:
    """The queue of the one fix on branch NAME (as :meth:`Queue.get` names it): what ``show``
    and ``decide`` need, without reading the other fixes' proposals or judging them."""
    loaded = load_policy(repo, base)
    branches = list_fix_branches(repo, loaded, shadowed=True)  # REMOTE/NAME beside a local NAME
    chosen = [b for b in branches if _names(name, b.name, b.ref)]
    if not chosen:
        raise _no_such_branch(name, list(dict.fromkeys(b.name for b in branches)))
    fixes, warnings, _ = build_fixes(repo, loaded, chosen[:1])
    return Queue(policy=loaded, fixes=fixes, warnings=warnings + _shallow(repo, loaded, fixes))


def fix_at(repo: Repository, loaded: LoadedPolicy, head: str) -> tuple[Fix, list[str]]:
    """The fix whose head is HEAD, whether or not a branch points there (CI checks out
    detached commits): named after a fix branch at HEAD when there is one."""
    at_head = [b for b in list_fix_branches(repo, loaded, head) if b.head == head]
    branch = at_head[0] if at_head else BranchRef(name="", ref="", head=head)
    fixes, warnings, _ = build_fixes(repo, loaded, [branch])
    fix = fixes[0]
    if not fix.branch.name:
        fix.branch.name = fix.proposal_branch or "HEAD"
    return fix, warnings


def build_fixes(
    repo: Repository,
    loaded: LoadedPolicy,
    branches: list[BranchRef],
    progress: Progress | None = None,
) -> tuple[list[Fix], list[str], float]:
    """The fixes of BRANCHES: commits, merge-bases, proposals, trailers, sizes and CI checks,
    in bulk, with the warnings and until when the checks' signature answers hold; PROGRESS,
    when given, is told how many branches are read."""
    total = len(branches)
    if progress is not None:
        progress(STAGE_BRANCHES, 0, total)
    graph = load_graph(repo, loaded.base_commit, (b.head for b in branches))
    merge_bases = _merge_bases(repo, loaded.base_commit, branches, graph)
    # git counts the sizes while the proposals are read here
    sizes = _Sizes.start(repo, [(next(iter(merge_bases[b.head]), None), b.head) for b in branches])
    try:
        proposals, warnings = _proposals_for(repo, branches, graph)
        fixes = _fixes_of(repo, loaded, branches, graph, merge_bases, proposals, warnings, progress)
    except BaseException:
        sizes.stop()
        raise
    for fix in fixes:
        problem = merge_bases_problem(fix.branch)
        if problem:
            fix.problems.append(problem)
    for fix, stats in zip(fixes, sizes.result(), strict=True):
        fix.stats = stats
    check_warnings, holds_until = attach_checks(repo, loaded, fixes)
    if progress is not None:
        progress(STAGE_BRANCHES, total, total)
    return fixes, warnings + check_warnings, holds_until


def _fixes_of(
    repo: Repository,
    loaded: LoadedPolicy,
    branches: list[BranchRef],
    graph: CommitGraph,
    merge_bases: dict[str, list[str]],
    proposals: dict[str, list[Proposal]],
    warnings: list[str],
    progress: Progress | None,
) -> list[Fix]:
    """The fix of each of BRANCHES, in order: from its proposal, else its trailers (the
    findings sources' warnings added to WARNINGS), else with no linked finding."""
    total = len(branches)
    findings: FindingsIndex | None = None
    fixes: list[Fix] = []
    for done, branch in enumerate(branches):
        if progress is not None:
            progress(STAGE_BRANCHES, done, total)
        own = graph.branch_commits(branch.head)
        commits = [graph.commits[oid] for oid in own if oid in graph.commits]
        fix_branch = FixBranch(
            name=branch.name,
            ref=branch.ref,
            base=loaded.base,
            base_commit=loaded.base_commit,
            merge_base=next(iter(merge_bases[branch.head]), None),
            merge_bases=merge_bases[branch.head],
            head=branch.head,
        )
        proposal = _pick_proposal(branch.name, own, proposals)
        if proposal is not None:
            fixes.append(
                Fix(
                    branch=fix_branch,
                    source="note",
                    finding=proposal.finding,
                    suggestion=proposal.suggestion,
                    proposal_id=proposal.id,
                    proposal_branch=proposal.branch,
                    commits=commits,
                )
            )
            continue
        finding_ids = [value for c in commits for value in c.trailer_values("Finding-Id")]
        if finding_ids:
            if findings is None:
                # the findings sources' parsers (SARIF, CodeTF) load only when a trailer asks
                from fixreview.findings.sources import load_findings_index

                findings = load_findings_index(repo, loaded)
                warnings.extend(findings.warnings)
            # the oldest claim: what the AI first produced, before any human follow-up
            fixes.append(_fix_from_trailers(fix_branch, commits, finding_ids[-1], findings))
        else:
            fixes.append(
                Fix(
                    branch=fix_branch,
                    source="none",
                    suggestion=_trailer_suggestion(commits, None),
                    commits=commits,
                    problems=["no linked finding: no proposal note and no Finding-Id trailer"],
                )
            )
    return fixes


def merge_bases_problem(branch: FixBranch) -> str | None:
    """The problem line of a head with several merge-bases with its base, else None."""
    count = len(branch.merge_bases)
    if count <= 1:
        return None
    return (
        f"HEAD has {count} merge-bases with {branch.base} (criss-cross history): what merging "
        f"does cannot be shown as one diff; rebase the fix onto {branch.base}"
    )


# how a hunk header starts (a line starting "@@" otherwise, unidiff would read as patch info)
_HUNK_HEADER = re.compile(r"@@ -\d+(,\d+)? \+\d+(,\d+)? @@")


def bad_hunk_header(patch: str) -> int | None:
    """Where PATCH has a line starting with ``@@`` that does not start as a hunk header does
    (``@@ -N[,N] +N[,N] @@``), or None: each such line is found with ``str.find`` and checked
    where it starts (what ``^@@(?! -\\d+…)`` in multi-line mode finds, ten times faster than the
    expression tried at every line of a patch)."""
    at = 0 if patch.startswith("@@") else (patch.find("\n@@") + 1 or -1)
    while at >= 0:
        if _HUNK_HEADER.match(patch, at) is None:
            return at
        at = patch.find("\n@@", at) + 1 or -1
    return None


def check_proposal(proposal: Proposal) -> None:
    """Refuse (ValueError) a proposal whose frozen patch is not a diff with at least one file.

    It accepts what ``parse_diff`` accepts, checked with unidiff's metadata-only parse (every
    line's kind and every hunk's counts, without building the lines: about 10 times faster) and
    one regular expression, so that reading a proposal never costs a full parse of its patch."""
    patch = proposal.suggestion.patch
    if not patch.strip():
        return
    # the diff parser loads only when a proposal has a patch
    from unidiff.errors import UnidiffParseError
    from unidiff.patch import PatchSet

    try:
        # what parse_diff reads of each file, lines apart
        paths = [item.path for item in PatchSet(patch, metadata_only=True)]
    except UnidiffParseError as exc:
        raise ValueError(f"suggestion.patch is not a diff: cannot parse diff: {exc}") from None
    except Exception as exc:  # anything a crafted patch provokes
        raise ValueError(f"suggestion.patch is not a diff: {exc}") from None
    if not paths:
        raise ValueError("suggestion.patch is not a diff: it changes no file")
    bad = bad_hunk_header(patch)
    if bad is not None:
        end = patch.find("\n", bad)
        line = patch[bad : end if end >= 0 else len(patch)]
        raise ValueError(f"suggestion.patch is not a diff: bad hunk header {line[:40]!r}")


def _read_proposals(
    repo: Repository, targets: Collection[str] | None = None
) -> tuple[dict[str, list[Proposal]], list[str]]:
    """Every proposal in the tip of the proposals ref (only those on TARGETS, when given), by
    the commit it is attached to; records that do not parse, or whose frozen patch does not,
    become warnings (proposals are unsigned: anyone who may push notes can add one, and it
    must not break the queue)."""
    typed = read_models(
        repo,
        PROPOSALS_REF,
        TAG_PROPOSAL,
        Proposal,
        check=check_proposal,
        decode=proposal_from_record,
        targets=targets,
    )
    return typed.by_target, typed.warnings


def parse_proposals_ahead(root: str, git_dir: str, tip: str, claims: Claims) -> None:
    """What :func:`_read_proposals` would leave in the result cache for the proposals of notes
    commit TIP, parsed in a copy forked ahead of the read (fixreview/readahead.py) with the
    same model, check and decoding, from the last group back."""
    from fixreview.notes.store import parse_ahead

    parse_ahead(
        Path(root),
        Path(git_dir),
        tip,
        TAG_PROPOSAL,
        Proposal,
        check_proposal,
        proposal_from_record,
        claims,
    )


def _proposals_for(
    repo: Repository, branches: list[BranchRef], graph: CommitGraph
) -> tuple[dict[str, list[Proposal]], list[str]]:
    """The proposals BRANCHES can pick. For one branch (``verify``, ``decide``), only the notes
    on its own commits are read — unless none of them holds a proposal, when one naming the
    branch may be anywhere (after a rebase), and every note is read. A whole queue reads all."""
    if len(branches) != 1:
        return _read_proposals(repo)
    own = graph.branch_commits(branches[0].head)
    proposals, warnings = _read_proposals(repo, set(own))
    if any(proposals.get(oid) for oid in own):
        return proposals, warnings
    return _read_proposals(repo)


def _pick_proposal(
    name: str, own: list[str], proposals: dict[str, list[Proposal]]
) -> Proposal | None:
    """The newest proposal on one of the branch's commits; else one naming the branch
    whose suggestion commit is gone from it (rebased or force-pushed). Proposals are recorded
    to the second: of two recorded in the same second on one commit, the later record of its
    note (notes are appended to) is the newer."""
    on_branch = _newest([(p, n) for oid in own for n, p in enumerate(proposals.get(oid, []))])
    if on_branch is not None:
        return on_branch
    named = [
        (p, n) for items in proposals.values() for n, p in enumerate(items) if p.branch == name
    ]
    return _newest(named) if name else None


def _newest(placed: list[tuple[Proposal, int]]) -> Proposal | None:
    """Of proposals with their place in their note, the newest by ``recorded``, a later place
    breaking a tie; None of none."""
    return max(placed, key=lambda item: (item[0].recorded, item[1]))[0] if placed else None


def _fix_from_trailers(
    branch: FixBranch, commits: list[Commit], finding_id: str, findings: FindingsIndex
) -> Fix:
    carrier = [c for c in commits if finding_id in c.trailer_values("Finding-Id")][-1]
    finding: Finding | None = findings.get(finding_id)
    problems = []
    if finding is None:
        sources = ", ".join(findings.sources) or "none named in the policy"
        problems.append(f"Finding-Id {finding_id} not found in the findings sources ({sources})")
    return Fix(
        branch=branch,
        source="trailers",
        finding=finding,
        suggestion=_trailer_suggestion(commits, carrier),
        commits=commits,
        problems=problems,
    )


def parse_assisted_by(value: str) -> tuple[str, str]:
    """``Assisted-by: AGENT:MODEL [TOOL...]`` (the Linux kernel's form) → (agent, model)."""
    agent, _, rest = value.partition(":")
    return agent.strip(), rest.strip().split(" ")[0] if rest.strip() else ""


def _trailer_suggestion(commits: list[Commit], carrier: Commit | None) -> Suggestion | None:
    """A suggestion read from trailers: the commit carrying Finding-Id, tool from Assisted-by."""
    assisted = [c for c in commits if c.trailer_values("Assisted-by")]
    if carrier is None:
        if not assisted:
            return None
        carrier = assisted[-1]  # the oldest assisted commit: what the AI first produced
    source = (
        carrier if carrier.trailer_values("Assisted-by") else (assisted[0] if assisted else None)
    )
    tool = model = ""
    if source is not None:
        tool, model = parse_assisted_by(source.trailer_values("Assisted-by")[0])
    return Suggestion(
        tool=tool,
        model=model,
        rationale=carrier.body,
        commit=carrier.oid,
        created=carrier.committed,
    )


def _merge_bases(
    repo: Repository, base_commit: str, branches: list[BranchRef], graph: CommitGraph
) -> dict[str, list[str]]:
    """Every merge-base of each branch with the base, from the commit graph in memory.

    Only a branch with several base-side parents (it merged the base in, or merged commits
    the base also merged) costs a ``git merge-base --all`` of its own. The first id is the
    one ``git merge-base`` prints; an empty list is unrelated history.
    """
    result: dict[str, list[str]] = {}
    for branch in branches:
        if branch.head not in graph.parents:  # nothing beyond the base: already merged
            result[branch.head] = [branch.head]
            continue
        boundary = graph.boundary(branch.head)
        if len(boundary) <= 1:
            result[branch.head] = list(boundary)  # one base-side parent, or unrelated history
            continue
        out = repo.run("merge-base", "--all", base_commit, branch.head, ok_codes=(0, 1))
        result[branch.head] = out.decode().split()
    return result


# BUMP THIS whenever what the queue's sizes count changes (queue.py and repo/git.py are hashed
# in too, as a safety net)
STATS_VERSION = "1"
STATS_CACHE_KIND = "diff-stats"


@dataclass
class _Sizes:
    """Files and lines changed by each (merge-base, head) pair of a queue: the whole queue's
    sizes from one result-cache entry (keyed by every pair, whose ids fix their trees), else
    counted by one ``git diff-tree --stdin`` started at once and read by :meth:`result`."""

    found: list[DiffStats] | None = None
    counting: Started | None = None
    trees: list[tuple[str, str]] = field(default_factory=list)
    store: ResultCache | None = None
    key: str = ""

    @classmethod
    def start(cls, repo: Repository, pairs: list[tuple[str | None, str]]) -> _Sizes:
        if not pairs:
            return cls(found=[])
        store = ResultCache.under(repo.common_dir, STATS_CACHE_KIND)
        key = cache_key(
            STATS_CACHE_KIND,
            STATS_VERSION,
            code_digest(("queue.py", "repo/git.py")),
            program_identity("git"),
            "".join(f"{base or '-'} {head}\n" for base, head in pairs),
        )
        found = _stats_from_entry(store.get(key), len(pairs))
        if found is not None:
            return cls(found=found)
        counting, trees = _start_diff_stats(repo, pairs)
        return cls(counting=counting, trees=trees, store=store, key=key)

    def stop(self) -> None:
        """Leave the sizes uncounted: git stopped, and waited for."""
        if self.counting is not None:
            self.counting.stop()

    def result(self) -> list[DiffStats]:
        """Every pair's sizes, in order (each a copy of its own)."""
        if self.found is None:
            assert self.counting is not None
            out = Repository.finished(self.counting).decode("utf-8", "surrogateescape")
            self.found = _diff_stats(out, self.trees)
            if self.store is not None:
                body = "".join(f"{s.files} {s.added} {s.removed}\n" for s in self.found)
                self.store.put(self.key, body.encode())
        return [stats.model_copy() for stats in self.found]


def _stats_from_entry(body: bytes | None, count: int) -> list[DiffStats] | None:
    """The sizes an entry holds, one line of three counts per fix; None unless it is exactly
    that, for COUNT fixes."""
    if body is None:
        return None
    lines = body.split(b"\n")
    if len(lines) != count + 1 or lines[-1]:
        return None
    found: list[DiffStats] = []
    for line in lines[:-1]:
        numbers = line.split(b" ")
        if len(numbers) != 3 or not all(n.isdigit() and len(n) < 19 for n in numbers):
            return None
        files, added, removed = (int(n) for n in numbers)
        found.append(DiffStats(files=files, added=added, removed=removed))
    return found


def _start_diff_stats(
    repo: Repository, pairs: list[tuple[str | None, str]]
) -> tuple[Started, list[tuple[str, str]]]:
    """Start the ``git diff-tree --stdin --numstat`` that counts every pair's changes; the
    pairs' trees, which its output names."""
    tree_pairs = repo.tree_pairs(pairs)
    stdin = "".join(f"{old} {new}\n" for old, new in tree_pairs).encode()
    # in the clean room, like the bound diff: no attributes, drivers or config change the sizes
    started = repo.clean_start(
        *STABLE_DIFF_CONFIG,
        "diff-tree",
        "--stdin",
        "-r",
        *CLEAN_DIFF_FLAGS,
        "--numstat",
        input=stdin,
        object_format=object_format_of(tree_pairs[0][1]),
    )
    return started, tree_pairs


def _diff_stats(out: str, pairs: list[tuple[str, str]]) -> list[DiffStats]:
    """The files and lines each pair of trees changes, read from ``diff-tree --numstat``'s
    output OUT."""
    stats: dict[tuple[str, str], DiffStats] = {}
    current: DiffStats | None = None
    for line in out.splitlines():
        if "\t" not in line:
            parts = line.split(" ")
            if len(parts) == 2:
                current = stats.setdefault((parts[0], parts[1]), DiffStats())
            continue
        if current is None:
            raise InputError("unexpected output from git diff-tree --stdin")
        added, removed, _ = line.split("\t", 2)
        current.files += 1
        current.added += int(added) if added.isdigit() else 0
        current.removed += int(removed) if removed.isdigit() else 0
    return [stats.get(pair, DiffStats()) for pair in pairs]
