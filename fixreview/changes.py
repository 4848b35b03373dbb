"""The three views of what a fix changes: the final diff, the AI's original suggestion, and
what people changed between the two.

* final: ``merge-base..head`` of the fix branch;
* suggestion: the patch frozen in the proposal (or, for a branch linked by trailers, the diff
  from the merge-base to the oldest commit that carries the ``Finding-Id`` trailer);
* human changes: ``suggestion..head`` when the suggestion commit is still in the branch's
  history; after a rebase or force-push, the frozen patch is applied to the current merge-base
  in a throwaway index and the result is compared with the head.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass

from fixreview.errors import GitError
from fixreview.models import Fix
from fixreview.repo.diffs import EMPTY_DIFF, Diff, parse_diff
from fixreview.repo.git import Repository, object_format_of


@dataclass(frozen=True)
class HumanChanges:
    """What people changed after the AI, and a sentence saying how it was worked out."""

    diff: Diff | None
    how: str


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def final_pair(repo: Repository, fix: Fix) -> tuple[str, str]:
    """What FIX's final diff compares: its merge-base (or the empty tree) and its head."""
    return fix.branch.merge_base or repo.empty_tree, fix.branch.head


def final_text(repo: Repository, fix: Fix) -> str:
    """The final diff of FIX as git writes it (:func:`final_pair`)."""
    return decode(repo.diff(*final_pair(repo, fix)))


def final_diff(repo: Repository, fix: Fix) -> Diff:
    return parse_diff(final_text(repo, fix))


def suggestion_patch(repo: Repository, fix: Fix) -> str | None:
    """The AI's patch as text, or None when no suggestion is linked or it cannot be found."""
    suggestion = fix.suggestion
    if suggestion is None:
        return None
    if suggestion.patch:
        return suggestion.patch
    if repo.resolve(suggestion.commit) is None:
        return None
    start = repo.merge_base(fix.branch.base_commit, suggestion.commit) or repo.empty_tree
    return decode(repo.diff(start, suggestion.commit))


def suggestion_diff(repo: Repository, fix: Fix, final: Diff | None = None) -> Diff | None:
    """The AI's patch parsed, or None (see :func:`suggestion_patch`). FINAL, when given, is the
    fix's final diff parsed: a patch of exactly its text is that very diff (a fix the AI's
    patch alone makes), not a second parse of the same text (a 20,000-line diff's lines cost
    some 10 MB)."""
    patch = suggestion_patch(repo, fix)
    if patch is None:
        return None
    if final is not None and not final.partial and patch == final.raw:
        return final
    return parse_diff(patch)


def human_changes(repo: Repository, fix: Fix) -> HumanChanges:
    suggestion = fix.suggestion
    if suggestion is None:
        return HumanChanges(None, "no AI suggestion is linked to this branch")
    head = fix.branch.head
    if suggestion.commit == head:
        return HumanChanges(EMPTY_DIFF, "the final change is the AI's suggestion, unchanged")
    if _in_history(repo, fix, suggestion.commit):
        diff = parse_diff(decode(repo.diff(suggestion.commit, head)))
        return HumanChanges(
            diff, f"commits after the suggestion ({suggestion.commit[:12]}..{head[:12]})"
        )
    patch = suggestion_patch(repo, fix)
    if not patch:
        return HumanChanges(None, "the suggestion's commit and patch are both unavailable")
    tree = _apply_to_tree(
        repo, fix.branch.merge_base or repo.empty_tree, patch, object_format_of(fix.branch.head)
    )
    if tree is None:
        return HumanChanges(
            None, "the suggestion was rebased and its patch no longer applies to the merge-base"
        )
    diff = parse_diff(decode(repo.diff(tree, head)))
    return HumanChanges(diff, "the suggestion was rebased: its patch re-applied to the merge-base")


def _in_history(repo: Repository, fix: Fix, commit: str) -> bool:
    """Whether COMMIT is in the history of the fix's head: one of the fix's own commits (no
    git process), else asked of git."""
    if commit in fix.commit_ids:
        return True
    return repo.resolve(commit) is not None and repo.is_ancestor(commit, fix.branch.head)


CHANGED_PATHS_MIN_FIXES = 8
"""From this many fixes on, :func:`prefetch` also finds the paths each final diff changes (one
more git process, about 4 ms; it spares each fix's risk checks reading about ten paths at its
head, 0.3-0.5 ms: see :class:`fixreview.risk.tree.Unchanged`)."""


def prefetch(repo: Repository, fixes: Iterable[Fix]) -> None:
    """Compute, with one git process, the final diffs of FIXES and the human changes of those
    whose suggestion commit is one of their own commits: what :func:`final_diff` and
    :func:`human_changes` then read; for :data:`CHANGED_PATHS_MIN_FIXES` fixes or more, with
    one more, the paths each final diff changes
    (:meth:`~fixreview.repo.git.Repository.changed_paths`)."""
    fixes = list(fixes)
    if len(fixes) >= CHANGED_PATHS_MIN_FIXES:
        repo.prefetch_changed_paths(
            (fix.branch.merge_base, fix.branch.head) for fix in fixes if fix.branch.merge_base
        )
    pairs: list[tuple[str, str]] = []
    for fix in fixes:
        head = fix.branch.head
        pairs.append(final_pair(repo, fix))
        commit = fix.suggestion.commit if fix.suggestion is not None else None
        if commit and commit != head and commit in fix.commit_ids:
            pairs.append((commit, head))
    repo.prefetch_diffs(pairs)


def _apply_to_tree(repo: Repository, start: str, patch: str, object_format: str) -> str | None:
    """Apply PATCH to START's tree in a private index, in the clean room (no attributes or
    configuration of the checkout take part); the resulting tree, or None.

    The tree is written to the clean room's own object store: it is only ever diffed there.
    """
    handle, index = tempfile.mkstemp(prefix="fixreview-index-")
    os.close(handle)
    os.unlink(index)
    env = {"GIT_INDEX_FILE": index}
    try:
        (start_id,) = repo.object_ids(start)
        repo.clean_run("read-tree", start_id, object_format=object_format, env=env)
        repo.clean_run(
            "apply",
            "--cached",
            "--binary",
            "-",
            object_format=object_format,
            input=patch.encode(),
            env=env,
        )
        return repo.clean_run("write-tree", object_format=object_format, env=env).decode().strip()
    except GitError:
        return None
    finally:
        if os.path.exists(index):
            os.unlink(index)
