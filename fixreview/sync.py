"""``fixreview sync``: share the notes refs with a remote without ever losing a record.

The remote's notes are fetched into ``refs/notes/remotes/REMOTE/fixreview/…`` (tracking refs,
safe to overwrite), merged into the local refs with git's ``cat_sort_uniq`` strategy — which
keeps every line of both sides once — under a compare-and-swap, and pushed without force. A push
that loses a race (someone pushed meanwhile) starts the round again.

A notes ref is a ledger (docs/ledger.md): sync never moves a ref to a state that lost records.
Whatever the merge gives (the remote's tip after a fast-forward, a merge, or our own tip), when
its tip lacks a line that was ever in its history — someone rewrote a note with
``git notes add -f`` and pushed the descendant — a notes commit on top puts the lines back, and
that union is what is pushed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fixreview.errors import GitError
from fixreview.notes.store import (
    CHECKS_REF,
    DECISIONS_REF,
    PROPOSALS_REF,
    restore_dropped,
    temporary_notes_ref,
)
from fixreview.repo.git import Repository

if TYPE_CHECKING:
    from fixreview.progress import Progress

NOTES_REFS = (PROPOSALS_REF, DECISIONS_REF, CHECKS_REF)
ROUNDS = 5
# what sync tells its progress callback (fixreview/progress.py): the merge counts the refs
STAGE_FETCH = "fetching notes"
STAGE_MERGE = "merging notes"
STAGE_PUSH = "pushing notes"


def tracking_ref(remote: str, ref: str) -> str:
    """``refs/notes/fixreview/decisions`` → ``refs/notes/remotes/REMOTE/fixreview/decisions``."""
    return "refs/notes/remotes/" + remote + "/" + ref.removeprefix("refs/notes/")


def notes_fetch_refspec(remote: str) -> str:
    """The refspec that fetches REMOTE's fixreview notes into their tracking refs."""
    return f"+refs/notes/fixreview/*:{tracking_ref(remote, 'refs/notes/fixreview/*')}"


def sync_notes(
    repo: Repository, remote: str = "origin", progress: Progress | None = None
) -> list[str]:
    """Fetch, merge and push the fixreview notes refs; returns lines saying what happened.
    PROGRESS, when given, is told each step as it starts (and each round's, when one races)."""
    if repo.try_run("remote", "get-url", remote).returncode != 0:
        raise GitError(f"no remote named {remote!r} (git remote -v lists them)")
    report: list[str] = []
    for _ in range(ROUNDS):
        report = []
        if progress is not None:
            progress(STAGE_FETCH, 0, 1)
        repo.run("fetch", "--quiet", "--no-tags", remote, notes_fetch_refspec(remote))
        for done, ref in enumerate(NOTES_REFS):
            if progress is not None:
                progress(STAGE_MERGE, done, len(NOTES_REFS))
            report.append(f"{ref}: {merge_notes(repo, ref, tracking_ref(remote, ref))}")
        local = [ref for ref in NOTES_REFS if repo.ref_value(ref) is not None]
        if not local:
            report.append("nothing to push")
            return report
        if progress is not None:
            progress(STAGE_PUSH, 0, 1)
        pushed = repo.try_run("push", "--porcelain", remote, *(f"{ref}:{ref}" for ref in local))
        if pushed.returncode == 0:
            report.append(f"pushed to {remote}")
            return report
        text = pushed.stdout.decode("utf-8", "replace") + pushed.stderr.decode("utf-8", "replace")
        if "rejected" not in text and "fetch first" not in text and "non-fast-forward" not in text:
            detail = text.strip().splitlines()[-1] if text.strip() else "push failed"
            raise GitError(f"git push to {remote} failed: {detail}")
    raise GitError(f"{remote} kept changing while syncing; nothing was lost, run sync again")


def merge_notes(repo: Repository, ref: str, other: str) -> str:
    """Merge notes ref OTHER into REF (compare-and-swap, retried), restoring any line either
    history dropped; a word on what happened."""
    theirs = repo.ref_value(other)
    for _ in range(50):
        ours = repo.ref_value(ref)
        if theirs is None:
            if ours is None:
                return "nothing on the remote"
            new, what = ours, "nothing on the remote yet: records to push"
        elif ours is None:
            new, what = theirs, "taken from the remote"
        elif ours == theirs:
            new, what = ours, "up to date"
        elif repo.is_ancestor(theirs, ours):
            new, what = ours, "ahead of the remote: records to push"
        elif repo.is_ancestor(ours, theirs):
            new, what = theirs, "fast-forwarded"
        else:
            new, what = _merge_commit(repo, ours, other), "merged"
        new, count, droppers = restore_dropped(repo, ref, new)
        if count:
            by = ", ".join(oid[:12] for oid in droppers)
            plural = "" if count == 1 else "s"
            what += f"; restored {count} record{plural} dropped by notes commit {by}"
        if new == ours:
            return what
        if repo.try_run("update-ref", ref, new, ours or repo.zero_oid).returncode == 0:
            return what
    raise GitError(f"could not update {ref}: it kept changing; run sync again")


def _merge_commit(repo: Repository, ours: str, other: str) -> str:
    with temporary_notes_ref(repo, ours) as temp:
        repo.run("notes", f"--ref={temp}", "merge", "--quiet", "-s", "cat_sort_uniq", other)
        merged = repo.ref_value(temp)
        if merged is None:
            raise GitError(f"git notes merge left nothing on {temp}")
        return merged
