"""Reading notes refs in bulk (the tip, or the whole history as a ledger) and appending
records with a compare-and-swap on the ref.

``git notes add`` reads the ref, writes a commit and moves the ref with no check that nobody
else moved it meanwhile: concurrent writers silently lose records. Here every append builds the
new notes commit on a private temporary ref, then moves the real ref with
``git update-ref REF NEW OLD``, which fails if the ref is no longer OLD; the append then starts
over from the new value. Nothing is ever overwritten.

A notes ref can still be rewritten by anyone who may push it: ``git notes add -f`` makes a
descendant commit whose note lacks some lines, and pushing it needs no force. The decisions ref
is therefore read as an append-only ledger (:func:`read_ledger`): every line that was ever in
the ref's history is returned, and a line missing from the tip carries the id of the notes
commit that dropped it. The history is read in one ``git log -p -m --unified=0`` pass, so the
cost follows the amount of change, not the number of note versions times their size.
:func:`restore_dropped` puts dropped lines back on top of a notes commit (what ``sync`` does).
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel

from fixreview import jobs
from fixreview.errors import GitError
from fixreview.jobs import Claims, start_forked
from fixreview.notes.records import BadLine, RawRecord, parse_line, parse_note, toml_to_model
from fixreview.repo.git import STABLE_DIFF_CONFIG, Repository
from fixreview.repo.refs import CHECKS_REF as CHECKS_REF
from fixreview.repo.refs import DECISIONS_REF as DECISIONS_REF
from fixreview.repo.refs import PROPOSALS_REF as PROPOSALS_REF
from fixreview.resultcache import (
    ResultCache,
    cache_key,
    code_digest,
    history_files,
    library_identity,
)

ModelT = TypeVar("ModelT", bound=BaseModel)

_TEMP_PREFIX = "refs/notes/fixreview-tmp/"

_OID = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")

MAX_ATTEMPTS = 200
MAX_SECONDS = 60.0


@dataclass
class NotesSnapshot:
    """Every record of one notes ref, by the object each note is attached to.

    Read as a ledger, RECORDS and BAD_LINES also hold the lines a later notes commit dropped
    (their ``removed_in`` set), and DROPPED the exact bytes of those lines, to restore them.
    """

    ref: str
    tip: str | None
    records: dict[str, list[RawRecord]] = field(default_factory=dict)
    bad_lines: list[BadLine] = field(default_factory=list)
    dropped: dict[str, list[tuple[bytes, str]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def read_notes(
    repo: Repository,
    ref: str,
    *,
    at: str | None = None,
    targets: Collection[str] | None = None,
) -> NotesSnapshot:
    """The notes in the tip of REF (or in the notes commit AT), read with ``ls-tree`` and one
    ``cat-file --batch``; only the notes on TARGETS when given (the others are not read)."""
    snapshot, _ = _read_tip(repo, ref, at, targets)
    return snapshot


def _read_tip(
    repo: Repository,
    ref: str,
    at: str | None,
    targets: Collection[str] | None = None,
    *,
    lines: bool = False,
) -> tuple[NotesSnapshot, set[tuple[str, bytes]]]:
    """The tip's snapshot (of the notes on TARGETS, when given), and (with LINES) the
    (target, line) pairs it holds."""
    tip = at if at is not None else repo.ref_value(ref)
    snapshot = NotesSnapshot(ref=ref, tip=tip)
    present: set[tuple[str, bytes]] = set()
    if tip is None:
        return snapshot, present
    pairs = _note_blobs(repo, tip, targets)
    blobs = repo.read_objects(blob for blob, _ in pairs)
    for blob, target in pairs:
        content = blobs.get(blob)
        if content is None:
            continue
        if lines:
            present.update((target, line.strip()) for line in content.split(b"\n"))
        records, bad = parse_note(target, content)
        if records:
            snapshot.records.setdefault(target, []).extend(records)
        snapshot.bad_lines.extend(bad)
    return snapshot, present


def _note_blobs(
    repo: Repository, tip: str, targets: Collection[str] | None
) -> list[tuple[str, str]]:
    """(blob, target) of every note in the notes commit TIP (on TARGETS, when given)."""
    # ls-tree of the tip (not `git notes list`) reads one consistent commit even while
    # other writers move the ref; fan-out paths (ab/cdef...) join back into object ids.
    listing = repo.listing(tip)
    pairs: list[tuple[str, str]] = []
    for entry in listing.split("\0"):
        if not entry:
            continue
        meta, _, path = entry.partition("\t")
        parts = meta.split(" ")
        target = path.replace("/", "")
        wanted = targets is None or target in targets
        if wanted and len(parts) == 3 and parts[1] == "blob" and _OID.match(target):
            pairs.append((parts[2], target))
    return pairs


def read_ledger(repo: Repository, ref: str, *, at: str | None = None) -> NotesSnapshot:
    """Every line ever in the history of REF (or of notes commit AT), by target.

    Lines in the tip come first, as :func:`read_notes` reads them; then each line a later
    notes commit dropped, once, with ``removed_in`` naming the newest notes commit that dropped
    it. Fan-out moves (``abcd…`` to ``ab/cd…``) drop nothing, and merges are read against each
    of their parents. GitError when the history cannot be read: the tip alone could hide a
    dropped record. (A shallow notes fetch reads as if its oldest commit were the first.)

    What the history comes to is kept in the result cache (:func:`_ledger_history`): a later
    read whose tip descends from the cached notes commit by a line of ordinary commits reads
    only those commits; any other tip is read whole.
    """
    if at is not None:
        with _AHEAD_LOCK:
            ahead = _AHEAD.pop((str(repo.common_dir), ref, at), None)
        if ahead is not None:  # read on a thread since prefetch_ledger: its result, or error
            return ahead.result()
    return _read_ledger(repo, ref, at)


# ledgers being read ahead (prefetch_ledger), by (common dir, ref, notes commit), until
# read_ledger takes them: each is taken once, by the first read of that very commit
_AHEAD: dict[tuple[str, str, str], Future[NotesSnapshot]] = {}
_AHEAD_LOCK = threading.Lock()


def prefetch_ledger(repo: Repository, ref: str, tip: str) -> None:
    """Start :func:`read_ledger` of notes commit TIP of REF on a thread, so that its git
    processes (``ls-tree``, ``cat-file``, the history's ``git log``) run while the caller
    does other work; the next :func:`read_ledger` of exactly that commit takes its result (or
    its error) instead of reading it again. What is read is what that read would have read:
    commits never change, and the cache answers alike whichever thread asks it."""
    key = (str(repo.common_dir), ref, tip)
    future: Future[NotesSnapshot] = Future()
    with _AHEAD_LOCK:
        if key in _AHEAD:
            return
        _AHEAD[key] = future

    def read() -> None:
        try:
            future.set_result(_read_ledger(repo, ref, tip))
        except BaseException as exc:  # read_ledger raises it where it would have
            future.set_exception(exc)

    # a daemon: a command that fails before it reads the ledger does not wait for it (the
    # cache's writes are atomic, so one cut short leaves nothing half written)
    threading.Thread(target=read, name="fixreview-ledger", daemon=True).start()


def _read_ledger(repo: Repository, ref: str, at: str | None) -> NotesSnapshot:
    """:func:`read_ledger`, read now."""
    snapshot, present = _read_tip(repo, ref, at, lines=True)
    if snapshot.tip is None:
        return snapshot
    try:
        added, dropped_by = _ledger_history(repo, ref, snapshot.tip)
    except GitError as exc:  # never fall back to the tip: that would hide what was dropped
        raise GitError(f"cannot read the history of {ref} (a ledger): {exc}") from None
    for key, raw in added.items():
        if key in present:
            continue
        target = key[0]
        removed_in = dropped_by.get(key, snapshot.tip)
        snapshot.dropped.setdefault(target, []).append((raw, removed_in))
        parsed = parse_line(target, 0, raw)
        if isinstance(parsed, RawRecord):
            snapshot.records.setdefault(target, []).append(replace(parsed, removed_in=removed_in))
        elif parsed is not None:
            snapshot.bad_lines.append(replace(parsed, removed_in=removed_in))
    return snapshot


_LOG_FORMAT = "%x00%H %P"

_Key = tuple[str, bytes]
# per notes commit (newest first, as git log prints them): its parents, lines added, removed
_Commit = tuple[str, list[str], dict[_Key, bytes], set[_Key]]


def _history(repo: Repository, tip: str) -> tuple[dict[_Key, bytes], dict[_Key, str]]:
    """One pass over the notes history of TIP: every (target, line) ever added, oldest first,
    with its exact bytes; and for each one some commit removed, the newest such commit."""
    return _fold(_log(repo, tip))


def _log(repo: Repository, *revs: str) -> list[_Commit]:
    """``git log -p -m`` of the notes commits REVS name, parsed: each commit's parents and
    the (target, line) pairs its diffs add and remove."""
    out = repo.run(
        *STABLE_DIFF_CONFIG,
        "-c",
        "log.showRoot=true",
        "log",
        "-p",
        "-m",
        "--no-renames",
        "--unified=0",
        "--text",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--no-show-signature",
        "--no-notes",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        f"--format={_LOG_FORMAT}",
        *revs,
        "--",
    )
    commits: list[_Commit] = []
    plus: dict[_Key, bytes] = {}
    minus: set[_Key] = set()
    target: str | None = None
    in_hunk = False
    for line in out.split(b"\n"):
        if line.startswith(b"\0"):  # a commit header: -m repeats it for each parent
            oid, *parents = line[1:].decode("ascii", "replace").split()
            if not commits or commits[-1][0] != oid:
                plus, minus = {}, set()
                commits.append((oid, parents, plus, minus))
            target, in_hunk = None, False
        elif line.startswith(b"diff --git "):
            target, in_hunk = _diff_target(line), False
        elif line.startswith(b"@@"):
            in_hunk = True
        elif not in_hunk and line.endswith(b" 160000"):  # a gitlink, not a note
            target = None
        elif in_hunk and target is not None:
            if line.startswith(b"+"):
                content = line[1:].strip()
                if content:
                    plus.setdefault((target, content), content)
            elif line.startswith(b"-"):
                content = line[1:].strip()
                if content:
                    minus.add((target, content))
    return commits


def _fold(
    commits: list[_Commit],
    added: dict[_Key, bytes] | None = None,
    dropped_by: dict[_Key, str] | None = None,
) -> tuple[dict[_Key, bytes], dict[_Key, str]]:
    """What COMMITS (newest first) add and drop, on top of what older commits added and
    dropped (ADDED, DROPPED_BY, updated in place): a line keeps its first addition's place,
    and the newest commit that removed it (without adding it back) is its dropper."""
    added = {} if added is None else added
    dropped_by = {} if dropped_by is None else dropped_by
    newer: dict[_Key, str] = {}
    for oid, _, plus, minus in commits:
        for key in minus:
            if key not in plus:  # a fan-out move removes and adds the same line
                newer.setdefault(key, oid)
    dropped_by.update(newer)
    for _, _, plus, _ in reversed(commits):
        for key, content in plus.items():
            added.setdefault(key, content)
    return added, dropped_by


# BUMP THIS whenever what a ledger's history comes to, or its entry's layout, changes (the
# sources below are hashed in too)
LEDGER_VERSION = "1"
LEDGER_CACHE_KIND = "ledger"
_LEDGER_SOURCES = ("notes/store.py",)
_LEDGER_HEADER = b"ledger "


def _ledger_history(
    repo: Repository, ref: str, tip: str
) -> tuple[dict[_Key, bytes], dict[_Key, str]]:
    """:func:`_history` of TIP, kept in the result cache: one entry per notes ref holds what
    the history of a notes commit C came to (every line ever added, in order, with its newest
    dropper). Commits never change, so that stays true of C forever; a read of TIP == C runs no
    git, and a read of a TIP that descends from C by a line of single-parent commits reads only
    those (``git log TIP ^C``), which git log prints before C's history, exactly as a whole
    read would. Any other TIP (a merge, a rewritten or force-pushed ref, an entry that does not
    read back) is read whole, and its result becomes the entry."""
    store = ResultCache.under(repo.common_dir, LEDGER_CACHE_KIND)
    if not store.enabled:
        return _history(repo, tip)
    key = cache_key(
        LEDGER_CACHE_KIND,
        LEDGER_VERSION,
        code_digest(_LEDGER_SOURCES),
        ref,
        history_files(repo.common_dir),  # they change which commits a history holds
    )
    cached = _read_ledger_entry(store.get(key))
    if cached is not None:
        base, added, dropped_by = cached
        if base == tip:
            return added, dropped_by
        try:
            commits = _log(repo, tip, f"^{base}")
        except GitError:  # the cached commit is gone (a rewritten ref, pruned): read whole
            commits = []
        if _is_chain(commits, tip, base):
            _fold(commits, added, dropped_by)
            store.put(key, _ledger_entry(tip, added, dropped_by))
            return added, dropped_by
    added, dropped_by = _history(repo, tip)
    store.put(key, _ledger_entry(tip, added, dropped_by))
    return added, dropped_by


def _is_chain(commits: list[_Commit], tip: str, base: str) -> bool:
    """Whether COMMITS (``git log TIP ^BASE``) are TIP, its parent, its parent's parent…
    each with one parent, the last one's being BASE: then TIP's history is them then BASE's."""
    expected = tip
    for oid, parents, _, _ in commits:
        if oid != expected or len(parents) != 1:
            return False
        expected = parents[0]
    return bool(commits) and expected == base


def _ledger_entry(tip: str, added: dict[_Key, bytes], dropped_by: dict[_Key, str]) -> bytes:
    """The ledger entry: ``ledger TIP``, then a line per line ever added, oldest first:
    ``TARGET DROPPER LINE`` (DROPPER ``-``: none). A line holds no newline (it was split on
    them) and a target or a commit id no space."""
    parts = [_LEDGER_HEADER + tip.encode("ascii")]
    for (target, content), raw in added.items():
        dropper = dropped_by.get((target, content), "-")
        parts.append(b"%s %s %s" % (target.encode("ascii"), dropper.encode("ascii"), raw))
    # droppers of lines never added (a shallow history's first commit can remove lines)
    extra = [(k, v) for k, v in dropped_by.items() if k not in added]
    parts += [b"! %s %s %s" % (k[0].encode("ascii"), v.encode("ascii"), k[1]) for k, v in extra]
    return b"\n".join(parts)


def _read_ledger_entry(
    body: bytes | None,
) -> tuple[str, dict[_Key, bytes], dict[_Key, str]] | None:
    """A ledger entry read back (its notes commit, what was added, the droppers); None when
    there is none or anything in it is not as :func:`_ledger_entry` writes it."""
    if body is None or not body.startswith(_LEDGER_HEADER):
        return None
    lines = body.split(b"\n")
    base = lines[0][len(_LEDGER_HEADER) :].decode("ascii", "replace")
    if not _OID.match(base):
        return None
    added: dict[_Key, bytes] = {}
    dropped_by: dict[_Key, str] = {}
    for line in lines[1:]:
        extra = line.startswith(b"! ")
        fields = (line[2:] if extra else line).split(b" ", 2)
        if len(fields) != 3:
            return None
        target = fields[0].decode("ascii", "replace")
        dropper = fields[1].decode("ascii", "replace")
        content = fields[2]
        if not _OID.match(target) or not content or content != content.strip():
            return None
        key = (target, content)
        if dropper != "-":
            if not _OID.match(dropper):
                return None
            dropped_by[key] = dropper
        elif extra:
            return None
        if not extra:
            if key in added:
                return None
            added[key] = content
    return base, added, dropped_by


def _diff_target(header: bytes) -> str | None:
    """The object a note's diff section is about, from ``diff --git a/ab/cdef… b/ab/cdef…``."""
    text = header.decode("ascii", "replace")
    rest = text.removeprefix("diff --git a/")
    path = rest.split(" b/", 1)[0]
    target = path.replace("/", "")
    return target if _OID.match(target) else None


def restore_dropped(repo: Repository, ref: str, start: str) -> tuple[str, int, list[str]]:
    """A notes commit on top of START that puts back every line its history dropped.

    Returns (the new commit, or START when nothing was dropped; how many lines were put back;
    the notes commits that had dropped them). The restored lines keep their exact bytes.
    """
    ledger = read_ledger(repo, ref, at=start)
    if not ledger.dropped:
        return start, 0, []
    droppers: list[str] = []
    count = 0
    with temporary_notes_ref(repo, start) as temp:
        for target, lines in ledger.dropped.items():
            kept = _note_lines(repo, temp, target)
            _write_note(repo, temp, target, kept + [raw for raw, _ in lines])
            count += len(lines)
            for _, oid in lines:
                if oid not in droppers:
                    droppers.append(oid)
        new = repo.ref_value(temp)
    if new is None:
        raise GitError(f"git notes add left no commit on {temp}")
    return new, count, droppers


@dataclass
class TypedRecords(Generic[ModelT]):
    """The records of one kind in a notes ref, validated, with what could not be used."""

    by_target: dict[str, list[tuple[RawRecord, ModelT]]]
    warnings: list[str]
    exists: bool


def read_typed(
    repo: Repository,
    ref: str,
    tag: str,
    model: type[ModelT],
    *,
    history: bool = False,
    check: Callable[[ModelT], None] | None = None,
    at: str | None = None,
    decode: Callable[[RawRecord], ModelT] | None = None,
    targets: Collection[str] | None = None,
    select: Callable[[str, RawRecord], bool] | None = None,
) -> TypedRecords[ModelT]:
    """Every TAG record of REF (or of notes commit AT) validated as MODEL (and by CHECK, which
    raises ValueError for a record it refuses); other lines become warnings, never errors. With
    HISTORY, the ref is read as a ledger: records dropped by a later notes commit are included
    (``removed_in``). DECODE turns a record into MODEL (ValueError when it cannot) for a kind
    whose stored form is more than its TOML payload (proposals); without it, a record's payload
    is MODEL as TOML and a record with a patch field is refused. Each distinct record is parsed
    and validated once.

    A reader that needs only some records says which: TARGETS, the objects whose notes are
    read at all (tip only); SELECT, whether a record is parsed (one it does not select is
    skipped silently, as out of scope — it must select every record that could matter).
    """
    if history:
        snapshot = read_ledger(repo, ref, at=at)
    else:
        snapshot = read_notes(repo, ref, at=at, targets=targets)
    warnings = list(snapshot.warnings)
    warnings += [f"{ref}: {bad.describe()}" for bad in snapshot.bad_lines]
    by_target: dict[str, list[tuple[RawRecord, ModelT]]] = {}
    store = ResultCache.under(repo.common_dir, RECORDS_CACHE_KIND)
    # (payload, patch) -> its model, or why it was refused
    seen: dict[tuple[bytes, bytes | None], ModelT | str] = {}
    for target, raws in snapshot.records.items():
        for number, raw in enumerate(raws, start=1):
            where = _record_where(ref, target, number, raw.removed_in)
            if select is not None and not select(target, raw):
                continue
            if raw.tag != tag:
                warnings.append(_skipped(where, tag, other_tag=raw.tag))
                continue
            key = (raw.payload, raw.patch)
            value = seen.get(key)
            if value is None:
                value = seen[key] = _parsed(store, raw, model, check, decode)
            if isinstance(value, str):
                warnings.append(_skipped(where, tag, refusal=value))
                continue
            by_target.setdefault(target, []).append((raw, value))
    return TypedRecords(by_target, warnings, snapshot.tip is not None)


def _record_where(ref: str, target: str, number: int, removed_in: str | None = None) -> str:
    """How a warning names record NUMBER of the note on TARGET (and the notes commit that
    dropped it, for a ledger)."""
    where = f"{ref}: note on {target[:12]} record {number}"
    if removed_in is not None:
        where += f" (dropped by notes commit {removed_in[:12]})"
    return where


def _skipped(
    where: str, tag: str, *, other_tag: str | None = None, refusal: str | None = None
) -> str:
    """The warning of the record WHERE names, skipped: it is an OTHER_TAG record, not a TAG
    one, or it was refused (REFUSAL, why)."""
    if other_tag is not None:
        return f"{where} is a {other_tag}, not a {tag}; skipped"
    return f"{where}: {refusal}; skipped"


@dataclass
class NoteModels(Generic[ModelT]):
    """The records of one kind in the tip of a notes ref, validated (their lines not kept),
    with what could not be used: what :func:`read_typed` gives, less the raw records."""

    by_target: dict[str, list[ModelT]]
    warnings: list[str]
    exists: bool


# what one record of a note came to: its model, or (``tag``, its other tag) or
# (``refused``, why); and a whole note: its unusable lines' warnings, its records' outcomes
_Outcome = BaseModel | tuple[str, str]
_Note = tuple[list[str], list[_Outcome]]
_NOTES_BATCH = 64  # note blobs read at a time on a miss: one large note is never one of many


def read_models(
    repo: Repository,
    ref: str,
    tag: str,
    model: type[ModelT],
    *,
    check: Callable[[ModelT], None] | None = None,
    decode: Callable[[RawRecord], ModelT] | None = None,
    targets: Collection[str] | None = None,
) -> NoteModels[ModelT]:
    """:func:`read_typed` of the tip of REF for a reader that needs the models only (the
    same models and the same warnings, in the same order), kept in the result cache by note
    blob: the notes are grouped by the first two digits of their target (at most 256 groups),
    and each group's entry is keyed by its notes' targets and blob ids, which name their
    bytes; a warm read runs ``ls-tree`` and reads the entries, and neither reads nor parses a
    note. A group missing from the cache has its notes read in batches, parsed and validated
    like :func:`read_typed`'s (a group too large for an entry keeps its records' own entries
    instead)."""
    store = ResultCache.under(repo.common_dir, NOTES_CACHE_KIND)
    if not store.enabled:
        typed = read_typed(repo, ref, tag, model, check=check, decode=decode, targets=targets)
        found = {t: [value for _, value in items] for t, items in typed.by_target.items()}
        return NoteModels(found, typed.warnings, typed.exists)
    tip = repo.ref_value(ref)
    if tip is None:
        return NoteModels({}, [], False)
    pairs, keyed = _groups(repo, tip, targets, tag, model, check, decode)
    notes: list[_Note | None] = [None] * len(pairs)
    misses = _read_back(store, keyed, notes, model)
    # a forked copy parses groups into the cache meanwhile, from the last one back (from the
    # command line): one started ahead by `list` (fixreview/readahead.py), else one started here
    ahead = jobs.taken_ahead((ref, tip)) if targets is None else None
    many = sum(len(members) for _, members in misses) >= jobs.FORK_MIN_NOTES
    claims, helper = ahead if ahead is not None else (None, None)
    if helper is None and many:  # the shared claims are made only for a copy
        claims = Claims()
        helper = start_forked(
            _parse_groups_forked, repo.root, repo.git_dir, pairs, misses, tag, model, check,
            decode, claims,
        )  # fmt: skip
    try:
        if claims is None or helper is None or not helper.forked:
            _parse_groups(repo, store, pairs, misses, notes, tag, model, check, decode)
        else:
            front = _taking(claims, pairs, Claims.FRONT)
            ours = _parse_groups(
                repo, store, pairs, misses, notes, tag, model, check, decode, claim=front
            )
            helper.wait()
            parsed = {key for key, _ in ours}
            theirs = [miss for miss in misses if miss[0] not in parsed]
            late = _read_back(store, theirs, notes, model)  # what the copy did not keep
            _parse_groups(repo, store, pairs, late, notes, tag, model, check, decode)
    except BaseException:
        if helper is not None:
            helper.stop()
        raise
    warnings = [f"{ref}: {bad}" for note in notes if note is not None for bad in note[0]]
    by_target: dict[str, list[ModelT]] = {}
    outcomes: dict[str, list[_Outcome]] = {}
    for (_, target), note in zip(pairs, notes, strict=True):
        if note is not None and note[1]:
            outcomes.setdefault(target, []).extend(note[1])
    for target, came_to in outcomes.items():
        for number, outcome in enumerate(came_to, start=1):
            if isinstance(outcome, tuple):
                kind, text = outcome
                where = _record_where(ref, target, number)
                if kind == "tag":
                    warnings.append(_skipped(where, tag, other_tag=text))
                else:
                    warnings.append(_skipped(where, tag, refusal=text))
                continue
            assert isinstance(outcome, model)
            by_target.setdefault(target, []).append(outcome)
    return NoteModels(by_target, warnings, True)


def _read_back(
    store: ResultCache,
    groups: list[tuple[str, list[int]]],
    notes: list[_Note | None],
    model: type[ModelT],
) -> list[tuple[str, list[int]]]:
    """Fill NOTES from the entries of GROUPS ((key, indexes into NOTES)); the groups whose
    entry is missing or does not read back."""
    misses = []
    for key, members in groups:
        cached = _cached_group(store.get(key), model, len(members))
        if cached is None:
            misses.append((key, members))
            continue
        for n, hit in zip(members, cached, strict=True):
            notes[n] = hit
    return misses


def _parse_groups(
    repo: Repository,
    store: ResultCache,
    pairs: list[tuple[str, str]],
    misses: list[tuple[str, list[int]]],
    notes: list[_Note | None],
    tag: str,
    model: type[ModelT],
    check: Callable[[ModelT], None] | None,
    decode: Callable[[RawRecord], ModelT] | None,
    claim: Callable[[tuple[str, list[int]]], bool] | None = None,
) -> list[tuple[str, list[int]]]:
    """Read, parse and validate the notes of the groups MISSES ((key, indexes into PAIRS)) into
    NOTES, in batches, and keep each group's entry in STORE (a group too large for an entry,
    or with a note git could not read, keeps its records' own entries instead); the groups
    parsed. CLAIM, when given, is asked for each group in turn before it is parsed: the first
    it refuses (the forked copy has taken it, from the other end) ends the work here."""
    records_store = ResultCache.under(repo.common_dir, RECORDS_CACHE_KIND)
    seen: dict[tuple[bytes, bytes | None], ModelT | str] = {}
    batch: list[tuple[str, list[int]]] = []
    parsed: list[tuple[str, list[int]]] = []
    met = False
    for number, miss in enumerate(misses, start=1):
        met = claim is not None and not claim(miss)
        if not met:
            batch.append(miss)
        full = sum(len(members) for _, members in batch) >= _NOTES_BATCH
        if not (full or met or number == len(misses)):
            continue
        if not batch:
            break
        parsed += batch
        blobs = repo.read_objects(pairs[n][0] for _, members in batch for n in members)
        for key, members in batch:
            fresh: list[tuple[str, ModelT | str, int]] = []
            patch_bytes = 0
            complete = True
            for n in members:
                blob, target = pairs[n]
                content = blobs.get(blob)
                if content is None:
                    complete = False
                    continue
                notes[n], size = _parse_note(
                    records_store, target, content, tag, model, check, decode, seen, fresh
                )
                patch_bytes += size
            # the models hold the patches: a group whose patches alone overflow an entry is
            # not dumped, nor one with a note git could not read
            body = (
                _group_body([notes[n] for n in members])
                if complete and patch_bytes < store.max_bytes
                else None
            )
            if body is None or not store.put(key, body):
                for record_key, value, size in fresh:  # each record its own entry
                    _keep_record(records_store, record_key, value, size)
        batch = []
        del blobs
        if met:
            break
    return parsed


def _groups(
    repo: Repository,
    tip: str,
    targets: Collection[str] | None,
    tag: str,
    model: type[ModelT],
    check: Callable[[ModelT], None] | None,
    decode: Callable[[RawRecord], ModelT] | None,
) -> tuple[list[tuple[str, str]], list[tuple[str, list[int]]]]:
    """The notes of notes commit TIP (on TARGETS, when given) as (blob, target) pairs, and
    their groups: (key, indexes into the pairs), by the first two digits of the targets, in
    the order of the listing."""
    pairs = _note_blobs(repo, tip, targets)
    groups: dict[str, list[int]] = {}
    for n, (_, target) in enumerate(pairs):
        groups.setdefault(target[:2], []).append(n)
    keyed = [
        (_group_key([pairs[n] for n in members], tag, model, check, decode), members)
        for members in groups.values()
    ]
    return pairs, keyed


def _taking(
    claims: Claims, pairs: list[tuple[str, str]], side: int
) -> Callable[[tuple[str, list[int]]], bool]:
    """What takes a group for SIDE in CLAIMS: its slot is its targets' first two hex digits."""

    def take(group: tuple[str, list[int]]) -> bool:
        return claims.take(int(pairs[group[1][0]][1][:2], 16), side)

    return take


def _parse_groups_forked(
    root: Path,
    git_dir: Path,
    pairs: list[tuple[str, str]],
    misses: list[tuple[str, list[int]]],
    tag: str,
    model: type[ModelT],
    check: Callable[[ModelT], None] | None,
    decode: Callable[[RawRecord], ModelT] | None,
    claims: Claims,
) -> None:
    """:func:`_parse_groups` of MISSES from the last one back, each group taken in CLAIMS
    first, in a forked copy of the process (:func:`fixreview.jobs.start_forked`), for the
    cache only: the repository opened again (never the parent's git processes); it does
    nothing when the path now leads to another git dir. Its entries are read back like any
    entry: checked, and recomputed when missing or wrong."""
    with Repository.reopened(root, git_dir) as repo:
        if repo is not None:
            store = ResultCache.under(repo.common_dir, NOTES_CACHE_KIND)
            notes: list[_Note | None] = [None] * len(pairs)
            back = _taking(claims, pairs, Claims.BACK)
            _parse_groups(
                repo, store, pairs, misses[::-1], notes, tag, model, check, decode, claim=back
            )


def parse_ahead(
    root: Path,
    git_dir: Path,
    tip: str,
    tag: str,
    model: type[ModelT],
    check: Callable[[ModelT], None] | None,
    decode: Callable[[RawRecord], ModelT] | None,
    claims: Claims,
) -> None:
    """What :func:`read_models` of notes commit TIP would leave in the cache, parsed in a copy
    forked before the read (fixreview/readahead.py): its groups missing from the cache, from
    the last one back, each taken in CLAIMS first; nothing below
    :data:`~fixreview.jobs.FORK_MIN_NOTES` notes to parse."""
    with Repository.reopened(root, git_dir) as repo:
        if repo is None:
            return
        store = ResultCache.under(repo.common_dir, NOTES_CACHE_KIND)
        if not store.enabled:
            return
        pairs, keyed = _groups(repo, tip, None, tag, model, check, decode)
        misses = _read_back(store, keyed, [None] * len(pairs), model)
    if sum(len(members) for _, members in misses) >= jobs.FORK_MIN_NOTES:
        _parse_groups_forked(root, git_dir, pairs, misses, tag, model, check, decode, claims)


def _group_key(
    members: list[tuple[str, str]],
    tag: str,
    model: type[ModelT],
    check: Callable[[ModelT], None] | None,
    decode: Callable[[RawRecord], ModelT] | None,
) -> str:
    """The key of what a group of notes (blob, target) comes to: a blob's id names its exact
    bytes (git reads it with replace objects off), a target its warnings."""
    return cache_key(
        NOTES_CACHE_KIND,
        RECORDS_VERSION,
        _record_code(),
        f"{model.__module__}.{model.__qualname__}",
        tag,
        getattr(check, "__qualname__", None),
        getattr(decode, "__qualname__", None),
        "".join(f"{target} {blob}\n" for blob, target in members),
    )


def _parse_note(
    records_store: ResultCache,
    target: str,
    content: bytes,
    tag: str,
    model: type[ModelT],
    check: Callable[[ModelT], None] | None,
    decode: Callable[[RawRecord], ModelT] | None,
    seen: dict[tuple[bytes, bytes | None], ModelT | str],
    fresh: list[tuple[str, ModelT | str, int]],
) -> tuple[_Note, int]:
    """What the note CONTENT on TARGET comes to (as :func:`read_typed` parses and validates
    it), and the size of its patches; a record already in the records cache is not validated
    again, one validated here joins FRESH (its key, outcome and patch size)."""
    records, bad_lines = parse_note(target, content)
    del content
    bad = [line.describe() for line in bad_lines]
    outcomes: list[_Outcome] = []
    patch_bytes = 0
    for raw in records:
        if raw.tag != tag:
            outcomes.append(("tag", raw.tag))
            continue
        patch_bytes += len(raw.patch or b"")
        seen_key = (raw.payload, _patch_digest(raw))
        value = seen.get(seen_key)
        if value is None:
            record_key = _record_key(raw, model, check, decode)
            value = _cached_record(records_store, record_key, raw, model, decode)
            if value is None:
                value = _validate(raw, model, check, decode)
                fresh.append((record_key, value, len(raw.patch or b"")))
            seen[seen_key] = value
        outcomes.append(("refused", value) if isinstance(value, str) else value)
    return (bad, outcomes), patch_bytes


def _group_body(notes: list[_Note | None]) -> bytes:
    """A group's entry: a JSON line of each note's warnings and outcomes, then one line of
    JSON per model (JSON strings hold no raw newline)."""
    head = [
        {
            "bad": bad,
            "records": [list(item) if isinstance(item, tuple) else ["model"] for item in items],
        }
        for bad, items in (note or ([], []) for note in notes)
    ]
    parts = [json.dumps(head).encode("ascii")]
    parts += [
        item.model_dump_json(by_alias=True).encode("utf-8")
        for _, items in (note or ([], []) for note in notes)
        for item in items
        if not isinstance(item, tuple)
    ]
    return b"\n".join(parts)


def _cached_group(body: bytes | None, model: type[ModelT], count: int) -> list[_Note] | None:
    """A group's entry read back (every model validated again as MODEL), COUNT notes; None
    when there is none or anything in it does not read back."""
    if body is None:
        return None
    lines = body.split(b"\n")
    try:
        head = json.loads(lines[0])
        if not isinstance(head, list) or len(head) != count:
            return None
        models = iter(lines[1:])
        notes: list[_Note] = []
        for note in head:
            bad = note["bad"]
            items = note["records"]
            if not isinstance(bad, list) or not all(isinstance(b, str) for b in bad):
                return None
            if not isinstance(items, list):
                return None
            outcomes: list[_Outcome] = []
            for item in items:
                if item == ["model"]:
                    outcomes.append(model.model_validate_json(next(models)))
                elif (
                    isinstance(item, list)
                    and len(item) == 2
                    and item[0] in ("tag", "refused")
                    and isinstance(item[1], str)
                ):
                    outcomes.append((item[0], item[1]))
                else:
                    return None
            notes.append((bad, outcomes))
        if next(models, None) is not None:
            return None
    except (ValueError, KeyError, TypeError, StopIteration, RecursionError):
        return None  # pydantic's ValidationError is a ValueError
    return notes


# BUMP THIS whenever what a record parses into, or what refuses one, changes: parsed records
# kept on disk by older code are then never used (the sources below are hashed in too).
RECORDS_VERSION = "1"
RECORDS_CACHE_KIND = "records"
NOTES_CACHE_KIND = "notes"
_RECORD_SOURCES = ("models.py", "decisions.py", "check_records.py", "queue.py", "notes")
_RECORD_LIBRARIES = ("tomli", "pydantic", "pydantic_core")
"""The libraries that parse and validate a record: an upgraded one is a changed input."""


@functools.cache
def _record_code() -> str:
    """The code a parsed record depends on, as one key field (read once per process)."""
    return "\n".join([code_digest(_RECORD_SOURCES), *map(library_identity, _RECORD_LIBRARIES)])


_OK, _REFUSED, _CHECKED = b"ok\n", b"refused\n", b"checked\n"


def _parsed(
    store: ResultCache,
    raw: RawRecord,
    model: type[ModelT],
    check: Callable[[ModelT], None] | None,
    decode: Callable[[RawRecord], ModelT] | None,
) -> ModelT | str:
    """:func:`_validate`, kept in the result cache by the record's exact bytes: parsing a
    record's TOML is most of reading a notes ref, and the same bytes always parse the same.
    An entry that does not read back as MODEL is a miss."""
    if not store.enabled:
        return _validate(raw, model, check, decode)
    key = _record_key(raw, model, check, decode)
    value = _cached_record(store, key, raw, model, decode)
    if value is None:
        value = _validate(raw, model, check, decode)
        _keep_record(store, key, value, len(raw.patch or b""))
    return value


def _record_key(
    raw: RawRecord,
    model: type[ModelT],
    check: Callable[[ModelT], None] | None,
    decode: Callable[[RawRecord], ModelT] | None,
) -> str:
    return cache_key(
        RECORDS_CACHE_KIND,
        RECORDS_VERSION,
        _record_code(),
        f"{model.__module__}.{model.__qualname__}",
        raw.tag,
        getattr(check, "__qualname__", None),
        getattr(decode, "__qualname__", None),
        raw.payload,
        _patch_digest(raw),
    )


def _patch_digest(raw: RawRecord) -> bytes | None:
    """The SHA-256 of RAW's patch field (None: it has none): what keys and tells records apart,
    so that no copy of a megabyte patch is made or kept for that."""
    return None if raw.patch is None else hashlib.sha256(raw.patch).digest()


def _cached_record(
    store: ResultCache,
    key: str,
    raw: RawRecord,
    model: type[ModelT],
    decode: Callable[[RawRecord], ModelT] | None,
) -> ModelT | str | None:
    """The record's entry (KEY) read back: its model or its refusal; None for a miss."""
    body = store.get(key)
    if body is None:
        return None
    if body.startswith(_REFUSED):
        return body[len(_REFUSED) :].decode("utf-8", "replace")
    if body.startswith(_OK):
        try:
            cached: ModelT = model.model_validate_json(body[len(_OK) :])
            return cached
        except ValueError:  # pydantic's ValidationError too: recomputed
            return None
    if body == _CHECKED:  # too large to keep whole: decoded again, its check not redone
        return _validate(raw, model, None, decode)
    return None


def _keep_record(store: ResultCache, key: str, value: BaseModel | str, patch_bytes: int) -> None:
    """Keep a record's outcome: its refusal, its model, or ``checked`` when the model is too
    large for an entry (it holds the record's PATCH_BYTES: not dumped when they alone are)."""
    if isinstance(value, str):
        store.put(key, _REFUSED + value.encode("utf-8", "replace"))
    elif patch_bytes >= store.max_bytes or not store.put(
        key, _OK + value.model_dump_json(by_alias=True).encode()
    ):
        store.put(key, _CHECKED)


def _validate(
    raw: RawRecord,
    model: type[ModelT],
    check: Callable[[ModelT], None] | None,
    decode: Callable[[RawRecord], ModelT] | None,
) -> ModelT | str:
    """RAW as MODEL, or one line saying why not. Never raises: one bad record never stops
    the rest (a crafted payload can provoke anything from a validator)."""
    try:
        if decode is not None:
            value = decode(raw)
        elif raw.patch is not None:
            return f"a {raw.tag} record read as {model.__name__} has no patch field"
        else:
            value = toml_to_model(raw.payload, model)
        if check is not None:
            check(value)
    except ValueError as exc:
        return str(exc)
    except Exception as exc:
        return f"unreadable ({type(exc).__name__})"
    return value


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
    repo.delete_stale_refs(_TEMP_PREFIX, 3600)  # left by killed writers; a live one is younger
    for attempt in range(MAX_ATTEMPTS):
        old = repo.ref_value(ref)
        new = _build_notes_commit(repo, old, target, line, env)
        if new is None:  # the record is already there: nothing to do
            return old or ""
        proc = repo.try_run(
            "update-ref", "-m", "fixreview: append record", ref, new, old or repo.zero_oid
        )
        if proc.returncode == 0:
            return new
        _refuse_stale_lock(repo, ref, proc.stderr)
        if time.monotonic() > deadline:
            break
        time.sleep(random.uniform(0.005, 0.02 * min(attempt + 1, 10)))
    raise GitError(
        f"could not update {ref}: it kept changing under concurrent writers; "
        "nothing was written, try again"
    )


STALE_LOCK_SECONDS = 600  # git holds a ref lock for milliseconds; ten minutes is a dead writer


def _refuse_stale_lock(repo: Repository, ref: str, stderr: bytes) -> None:
    """A ``REF.lock`` left by a writer that died (a machine lost power mid-update) makes every
    update fail: say which file to delete at once, instead of retrying and blaming others."""
    if b".lock" not in stderr:
        return
    lock = repo.common_dir / (ref + ".lock")
    try:
        age = time.time() - lock.stat().st_mtime
    except OSError:
        return
    if age > STALE_LOCK_SECONDS:
        raise GitError(
            f"{lock} is {int(age // 60)} minutes old: a git process that died left it; "
            "if no git command is running on this repository, delete it and try again"
        )


@contextmanager
def temporary_notes_ref(repo: Repository, start: str | None) -> Iterator[str]:
    """A private notes ref (starting at START, or empty) to build a notes commit on without
    touching the real ref; deleted afterwards, whatever happens."""
    temp = f"{_TEMP_PREFIX}{int(time.time())}-{uuid.uuid4().hex}"  # time: see append_record
    try:
        if start is not None:
            repo.run("update-ref", temp, start, repo.zero_oid)
        yield temp
    finally:
        repo.try_run("update-ref", "-d", temp)


def _build_notes_commit(
    repo: Repository, old: str | None, target: str, line: str, env: Mapping[str, str] | None
) -> str | None:
    """Make the notes commit OLD + LINE on a temporary ref; return its id (None if no change)."""
    with temporary_notes_ref(repo, old) as temp:
        lines = _note_lines(repo, temp, target)
        record = line.encode("utf-8")
        if record in lines:
            return None
        _write_note(repo, temp, target, [*lines, record], env)
        new = repo.ref_value(temp)
        if new is None:
            raise GitError(f"git notes add left no commit on {temp}")
        return new


def _note_lines(repo: Repository, ref: str, target: str) -> list[bytes]:
    """The non-blank lines of TARGET's note in notes ref REF (none when it has no note)."""
    shown = repo.try_run("notes", f"--ref={ref}", "show", target)
    if shown.returncode != 0:
        return []
    return [line for line in shown.stdout.split(b"\n") if line.strip()]


def _write_note(
    repo: Repository,
    ref: str,
    target: str,
    lines: list[bytes],
    env: Mapping[str, str] | None = None,
) -> None:
    """Make LINES the whole note on TARGET in notes ref REF (one new notes commit)."""
    content = b"".join(line + b"\n" for line in lines)
    proc = repo.try_run(
        "notes", f"--ref={ref}", "add", "-f", "-F", "-", target, input=content, env=env
    )
    if proc.returncode == 0:
        return
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
