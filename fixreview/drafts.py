"""Unfinished reviews: the checklist, comment and acknowledgements of a fix not yet decided.

Drafts live under ``.git/fixreview/drafts/`` — inside the repository, never committed — one
TOML file per branch. Every write goes to a temporary file that is flushed to disk and then
renamed over the old one, so a crash at any moment leaves either the old draft or the new one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import tomli
from pydantic import Field, ValidationError

from fixreview.decisions import Checklist
from fixreview.models import Strict
from fixreview.notes.records import model_to_toml
from fixreview.repo.git import Repository


class Draft(Strict):
    branch: str
    head: str
    checklist: Checklist = Field(default_factory=Checklist)
    comment: str = ""
    acknowledged: list[str] = Field(default_factory=list)
    updated: datetime | None = None


def drafts_dir(repo: Repository) -> Path:
    return repo.state_dir / "drafts"


def draft_path(repo: Repository, branch: str) -> Path:
    """One file per branch; the name is a hash, since branch names hold slashes."""
    digest = hashlib.sha256(branch.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return drafts_dir(repo) / f"{digest}.toml"


def load_draft(repo: Repository, branch: str) -> Draft | None:
    """The saved draft of BRANCH, or None (also when the file is unreadable)."""
    path = draft_path(repo, branch)
    try:
        draft = Draft.model_validate(tomli.loads(path.read_text("utf-8")))
    except (OSError, UnicodeDecodeError, tomli.TOMLDecodeError, ValidationError):
        return None
    return draft if draft.branch == branch else None


def save_draft(repo: Repository, draft: Draft) -> Path:
    """Write DRAFT atomically (temporary file, fsync, rename)."""
    draft.updated = datetime.now(UTC).replace(microsecond=0)
    path = draft_path(repo, draft.branch)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = model_to_toml(draft)
    handle, temp = tempfile.mkstemp(prefix=".draft-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return path


def discard_draft(repo: Repository, branch: str) -> None:
    path = draft_path(repo, branch)
    if path.exists():
        path.unlink()


__all__ = ["Draft", "discard_draft", "draft_path", "load_draft", "save_draft"]
