"""Reading notes refs in bulk and appending records with a compare-and-swap on the ref.

``git notes add`` reads the ref, writes a commit and moves the ref with no check that nobody
else moved it meanwhile: concurrent writers silently lose records. Here every append builds the
new notes commit on a private temporary ref, then moves the real ref with
``git update-ref REF NEW OLD``, which fails if the ref is no longer OLD; the append then starts
over from the new value. Nothing is ever overwritten.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pydantic import BaseModel

from fixreview.errors import GitError
from fixreview.notes.records import BadLine, RawRecord, parse_note, toml_to_model
from fixreview.repo.git import ZERO_OID, Repository

ModelT = TypeVar("ModelT", bound=BaseModel)

PROPOSALS_REF = "refs/notes/fixreview/proposals"
DECISIONS_REF = "refs/notes/fixreview/decisions"
_TEMP_PREFIX = "refs/notes/fixreview-tmp/"

_OID = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")

MAX_ATTEMPTS = 200
MAX_SECONDS = 60.0


@dataclass
class NotesSnapshot:
    """Every record of one notes ref, by the object each note is attached to."""

    ref: str
    tip: str | None
    records: dict[str, list[RawRecord]] = field(default_factory=dict)
    bad_lines: list[BadLine] = field(default_factory=list)


def read_notes(repo: Repository, ref: str) -> NotesSnapshot:
    """All notes of REF with two git processes: ``git notes list`` and one ``cat-file --batch``."""
    tip = repo.ref_value(ref)
    snapshot = NotesSnapshot(ref=ref, tip=tip)
    if tip is None:
        return snapshot
    # ls-tree of the tip (not `git notes list`) reads one consistent commit even while
    # other writers move the ref; fan-out paths (ab/cdef...) join back into object ids.
    listing = repo.run_text("ls-tree", "-r", "-z", tip)
    pairs: list[tuple[str, str]] = []
    for entry in listing.split("\0"):
        if not entry:
            continue
        meta, _, path = entry.partition("\t")
        parts = meta.split(" ")
        target = path.replace("/", "")
        if len(parts) == 3 and parts[1] == "blob" and _OID.match(target):
            pairs.append((parts[2], target))
    blobs = repo.read_objects(blob for blob, _ in pairs)
    for blob, target in pairs:
        content = blobs.get(blob)
        if content is None:
            continue
        records, bad = parse_note(target, content)
        if records:
            snapshot.records.setdefault(target, []).extend(records)
        snapshot.bad_lines.extend(bad)
    return snapshot


@dataclass
class TypedRecords(Generic[ModelT]):
    """The records of one kind in a notes ref, validated, with what could not be used."""

    by_target: dict[str, list[tuple[RawRecord, ModelT]]]
    warnings: list[str]
    exists: bool


def read_typed(repo: Repository, ref: str, tag: str, model: type[ModelT]) -> TypedRecords[ModelT]:
    """Every TAG record of REF validated as MODEL; other lines become warnings, never errors."""
    snapshot = read_notes(repo, ref)
    warnings = [f"{ref}: {bad.describe()}" for bad in snapshot.bad_lines]
    by_target: dict[str, list[tuple[RawRecord, ModelT]]] = {}
    for target, raws in snapshot.records.items():
        for number, raw in enumerate(raws, start=1):
            where = f"{ref}: note on {target[:12]} record {number}"
            if raw.tag != tag:
                warnings.append(f"{where} is a {raw.tag}, not a {tag}; skipped")
                continue
            try:
                value = toml_to_model(raw.payload, model)
            except ValueError as exc:
                warnings.append(f"{where}: {exc}; skipped")
                continue
            by_target.setdefault(target, []).append((raw, value))
    return TypedRecords(by_target, warnings, snapshot.tip is not None)


def append_record(
    repo: Repository,
    ref: str,
    target: str,
    line: str,
    *,
    env: Mapping[str, str] | None = None,
) -> str:
    """Append LINE to the note on TARGET in REF, safely against concurrent writers.

    Returns the new tip of REF. ENV can pin the notes commit's identity and date.
    """
    if "\n" in line or not line:
        raise ValueError("a record is exactly one non-empty line")
    deadline = time.monotonic() + MAX_SECONDS
    for attempt in range(MAX_ATTEMPTS):
        old = repo.ref_value(ref)
        new = _build_notes_commit(repo, old, target, line, env)
        if new is None:  # the record is already there: nothing to do
            return old or ""
        proc = repo.try_run(
            "update-ref", "-m", "fixreview: append record", ref, new, old or ZERO_OID
        )
        if proc.returncode == 0:
            return new
        if time.monotonic() > deadline:
            break
        time.sleep(random.uniform(0.005, 0.02 * min(attempt + 1, 10)))
    raise GitError(
        f"could not update {ref}: it kept changing under concurrent writers; "
        "nothing was written, try again"
    )


@contextmanager
def temporary_notes_ref(repo: Repository, start: str | None) -> Iterator[str]:
    """A private notes ref (starting at START, or empty) to build a notes commit on without
    touching the real ref; deleted afterwards, whatever happens."""
    temp = _TEMP_PREFIX + uuid.uuid4().hex
    try:
        if start is not None:
            repo.run("update-ref", temp, start, ZERO_OID)
        yield temp
    finally:
        repo.try_run("update-ref", "-d", temp)


def _build_notes_commit(
    repo: Repository, old: str | None, target: str, line: str, env: Mapping[str, str] | None
) -> str | None:
    """Make the notes commit OLD + LINE on a temporary ref; return its id (None if no change)."""
    with temporary_notes_ref(repo, old) as temp:
        shown = repo.try_run("notes", f"--ref={temp}", "show", target)
        existing = shown.stdout.decode("utf-8", "replace") if shown.returncode == 0 else ""
        lines = [item for item in existing.splitlines() if item.strip()]
        if line in lines:
            return None
        lines.append(line)
        content = ("\n".join(lines) + "\n").encode("utf-8")
        proc = repo.try_run(
            "notes", f"--ref={temp}", "add", "-f", "-F", "-", target, input=content, env=env
        )
        if proc.returncode != 0:
            message = proc.stderr.decode("utf-8", "replace")
            if "tell me who you are" in message or "identity unknown" in message.lower():
                raise GitError(
                    "git needs an identity to write notes: set user.name and user.email "
                    "(git config user.name 'Your Name'; git config user.email you@example.com)"
                )
            raise GitError(
                "git notes add failed: "
                + (message.strip().splitlines()[-1] if message.strip() else str(proc.returncode))
            )
        new = repo.ref_value(temp)
        if new is None:
            raise GitError(f"git notes add left no commit on {temp}")
        return new
