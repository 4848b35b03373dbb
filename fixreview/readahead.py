"""Work a cold ``list`` hands to a forked copy of itself as soon as it knows it must read the
queue, before it imports the models: the proposals' notes parsed into the result cache, from
the last group back, while the caller starts (its second core idles through the first quarter
second otherwise). The caller's own read of the proposals
(:func:`fixreview.notes.store.read_models`) takes the groups from the front until it meets the
copy (:class:`fixreview.jobs.Claims`; the copy is found with :func:`fixreview.jobs.taken_ahead`),
then reads back and checks what the copy kept, like any cache entry.

This module imports nothing heavy: it runs before the models are imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fixreview import jobs
from fixreview.jobs import Claims, register_ahead, start_forked

if TYPE_CHECKING:
    from fixreview.repo.git import Repository


def read_proposals_ahead(repo: Repository) -> bool:
    """Start a forked copy parsing the notes of the proposals ref's tip (as REPO, pinned, sees
    it) into the result cache, for the read of that tip to meet; whether one was started (not
    without a cache, a proposals ref, :data:`~fixreview.jobs.FORK_MIN_NOTES` notes or a
    second job: :func:`fixreview.jobs.start_forked`). Its listing is the one the read will take
    (:meth:`~fixreview.repo.git.Repository.listing`, read once)."""
    from fixreview.repo.refs import PROPOSALS_REF
    from fixreview.resultcache import disabled

    tip = repo.ref_value(PROPOSALS_REF)
    if tip is None or disabled() or repo.listing(tip).count("\0") < jobs.FORK_MIN_NOTES:
        return False
    claims = Claims()
    helper = start_forked(_parse_proposals, str(repo.root), str(repo.git_dir), tip, claims)
    if not helper.forked:
        return False
    register_ahead((PROPOSALS_REF, tip), claims, helper)
    return True


def _parse_proposals(root: str, git_dir: str, tip: str, claims: Claims) -> None:
    """In the copy: the proposals of TIP parsed into the cache (the models imported here)."""
    from fixreview.queue import parse_proposals_ahead

    parse_proposals_ahead(root, git_dir, tip, claims)
