"""A content-addressed cache of results that depend only on immutable inputs, on disk.

Entries live under the repository's common git dir, ``.git/fixreview/cache/KIND/``, one file
per key (``KIND/ab/cdef…``). A key is the SHA-256 of an unambiguous encoding of every input
(:func:`cache_key`: each field typed and length-prefixed, after the kind and a version constant
of the code that computes the result), so no two different inputs share an entry.

Safe under concurrent processes without locks: a writer writes a temporary file in the entry's
own directory and renames it over the entry (``os.replace``, atomic on POSIX), so a reader sees
a whole old entry, a whole new one, or none. Every entry embeds its kind, its key, the length
and the SHA-256 of its body; a reader that finds anything wrong — a truncated file, garbage,
another key's entry copied over, a symbolic link, a directory, an unreadable file, one larger
than :data:`MAX_ENTRY_BYTES` — treats it as missing, and the caller recomputes and overwrites
it. Nothing is fsync'ed: an entry torn by a crash fails its checksum and is rebuilt.

A missing, read-only or otherwise unusable git dir means "no cache", never an error; so does
``FIXREVIEW_NO_CACHE=1`` (cold runs for benchmarks, or a CI that wants them). The cache holds
nothing that cannot be recomputed: deleting ``.git/fixreview/cache`` (whole or any part of it)
at any time is safe. Only the local user can write there (docs/threat-model.md).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import itertools
import json
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

NO_CACHE_ENV = "FIXREVIEW_NO_CACHE"
MAX_ENTRY_BYTES = 8 * 1024 * 1024
"""The largest entry written or read (header included); a larger result is not cached."""
LARGE_ENTRY_BYTES = 32 * 1024 * 1024
"""The largest entry of a kind in :data:`LARGE_KINDS`."""
LARGE_KINDS = frozenset({"notes", "records"})
"""Kinds whose entries hold proposals with their frozen patches: a proposal line holds up to
16 MiB of base64 (``notes.records.MAX_LINE_BYTES``), a patch of up to 12 MiB, which an 8 MiB
entry could not keep, so a large fix's note was read and decoded again on every warm run."""
FORMAT = b"fixreview-cache 1"
"""The first word of every entry: the layout of this file, not of what callers store."""

Field = bytes | str | int | None

_KIND = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_KEY = re.compile(r"^[0-9a-f]{64}$")


def json_body(body: bytes) -> Any:
    """An entry's BODY read as JSON; None when it is not JSON (not UTF-8, not JSON, nested too
    deeply): such an entry is a miss, as a corrupt one is, and the caller checks the shape."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None


def disabled() -> bool:
    """Whether ``FIXREVIEW_NO_CACHE`` turns the cache off (any value but empty or ``0``)."""
    return os.environ.get(NO_CACHE_ENV, "").strip() not in ("", "0")


def encode_fields(fields: tuple[Field, ...]) -> bytes:
    """FIELDS as one unambiguous byte string: each a type tag, then its length, then itself.

    ``None``, ``b""`` and ``""`` differ; so do ``("ab", "c")`` and ``("a", "bc")``.
    """
    out = bytearray()
    for item in fields:
        # str and bytes first: nearly every field is one; each part appended apart, so that a
        # megabyte field is copied once
        if isinstance(item, str):
            tag, data = b"S", item.encode("utf-8", "surrogatepass")
        elif isinstance(item, bytes):
            tag, data = b"B", item
        elif item is None:
            out += b"N"
            continue
        elif isinstance(item, bool):
            raise TypeError("a cache key field is bytes, str, int or None, not bool")
        elif isinstance(item, int):
            tag, data = b"I", str(item).encode("ascii")
        else:
            raise TypeError(f"a cache key field is bytes, str, int or None, not {type(item)}")
        out += tag
        out += len(data).to_bytes(8, "big")
        out += data
    return bytes(out)


def cache_key(kind: str, version: str, *fields: Field) -> str:
    """The key of a result of KIND computed by code at VERSION from FIELDS (hex SHA-256)."""
    return hashlib.sha256(encode_fields((FORMAT, kind, version, *fields))).hexdigest()


@functools.cache
def code_digest(names: tuple[str, ...]) -> str:
    """SHA-256 of fixreview's own source files NAMES (paths relative to the package; a
    directory stands for every ``.py`` file under it), read once per process: a key field
    that changes whenever the code computing a result does, as a safety net for a version
    constant nobody remembered to bump."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in names:
        entry = package / name
        files = sorted(entry.rglob("*.py")) if entry.is_dir() else [entry]
        for path in files:
            try:
                data = path.read_bytes()
            except OSError:
                data = b"unreadable"
            relative = str(path.relative_to(package)).encode()
            digest.update(len(relative).to_bytes(8, "big") + relative)
            digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def file_identity(path: str | None) -> str:
    """A file as a key field: its real path, size, change time and inode ("none" for no path,
    "… unreadable" when it cannot be looked at)."""
    if not path:
        return "none"
    try:
        real = os.path.realpath(path)
        info = os.stat(real)
    except OSError:
        return f"{path} unreadable"
    return f"{real} {info.st_size} {info.st_mtime_ns} {info.st_ino}"


def history_files(common_dir: Path) -> bytes:
    """``shallow`` and ``info/grafts`` of the git dir COMMON_DIR, as one key field: they change
    what ancestry, merge-bases and ``rev-list`` answer for the same commit ids (replace objects
    are off in every git fixreview runs)."""
    parts = []
    for name in ("shallow", "info/grafts"):
        try:
            parts.append((common_dir / name).read_bytes())
        except OSError:
            parts.append(b"")
    return len(parts[0]).to_bytes(8, "big") + parts[0] + parts[1]


@functools.cache
def library_identity(name: str) -> str:
    """The installed Python package NAME as a key field: its module file and its directory
    (:func:`file_identity`), so that an upgraded library is a changed input. Read once per
    process; nothing is imported."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    origin = spec.origin if spec is not None else None
    return f"{name}: {file_identity(origin)} {file_identity(os.path.dirname(origin or ''))}"


@functools.cache
def program_identity(program: str) -> str:
    """The program that PROGRAM runs, as a key field (:func:`file_identity`): an upgraded git,
    ssh-keygen or gpg may answer differently. Read once per process."""
    found = shutil.which(program)
    return f"{program}: {file_identity(found) if found else 'not found'}"


def _header(kind: str, key: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return b" ".join([FORMAT, kind.encode(), key.encode(), digest.encode(), b"%d" % len(body)])


_TEMPORARY_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_temporaries = itertools.count()


def _create_temporary(directory: str) -> tuple[int, str] | None:
    """A new file of this user's only in DIRECTORY (made, with its parents, when missing),
    opened for writing, and its path; None when it cannot be made.

    Named after this process and a counter, which no other writer uses (one system call, where
    :func:`tempfile.mkstemp` draws random names and the directory was made again first: a cold
    ``list`` writes thousands of entries); a name taken anyway (another machine sharing the git
    dir) falls back to ``mkstemp``."""
    name = os.path.join(directory, f".tmp-{os.getpid()}-{next(_temporaries)}")
    for attempt in range(2):
        try:
            return os.open(name, _TEMPORARY_FLAGS, 0o600), name
        except FileNotFoundError:
            if attempt:
                return None
            try:
                os.makedirs(directory, mode=0o700, exist_ok=True)
            except OSError:
                return None
        except FileExistsError:
            break
        except OSError:
            return None
    try:
        return tempfile.mkstemp(prefix=".tmp-", dir=directory)
    except OSError:
        return None


class ResultCache:
    """The entries of one KIND under ROOT (``.git/fixreview/cache``); ROOT None: no cache."""

    def __init__(self, root: Path | None, kind: str, max_bytes: int | None = None) -> None:
        if not _KIND.match(kind):
            raise ValueError(f"not a cache kind: {kind!r}")
        self.kind = kind
        if max_bytes is None:
            max_bytes = LARGE_ENTRY_BYTES if kind in LARGE_KINDS else MAX_ENTRY_BYTES
        self.max_bytes = max_bytes
        self.directory = None if root is None or disabled() else root / kind
        # the entries' directory as text: a get joins strings, not paths (hundreds per run)
        self._prefix = None if self.directory is None else os.fspath(self.directory) + os.sep

    @classmethod
    def under(cls, common_dir: Path | None, kind: str) -> ResultCache:
        """The cache of KIND in the git dir COMMON_DIR (``Repository.common_dir``)."""
        root = None if common_dir is None else common_dir / "fixreview" / "cache"
        return cls(root, kind)

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    def holds_nothing(self) -> bool:
        """Whether no entry of this kind was ever stored here (its directory is not there):
        every lookup would miss. False without a cache."""
        return self.directory is not None and not os.path.isdir(self.directory)

    def path(self, key: str) -> Path | None:
        where = self._where(key)
        return None if where is None else Path(where)

    def _where(self, key: str) -> str | None:
        """The path of KEY's entry as text (None: no cache, or KEY is not a key)."""
        if self._prefix is None or not _KEY.fullmatch(key):
            return None
        return f"{self._prefix}{key[:2]}{os.sep}{key[2:]}"

    def get(self, key: str) -> bytes | None:
        """The body stored under KEY, or None when there is none or it is not to be trusted."""
        path = self._where(key)
        if path is None:
            return None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:  # missing, a symlink (ELOOP), unreadable, no git dir
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > self.max_bytes:
                return None
            chunks = []
            left = self.max_bytes + 1
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            data = b"".join(chunks)
        except OSError:
            return None
        finally:
            os.close(fd)
        return self._body(key, data)

    def _body(self, key: str, data: bytes) -> bytes | None:
        if len(data) > self.max_bytes:
            return None
        header, newline, body = data.partition(b"\n")
        if not newline or header != _header(self.kind, key, body):
            return None
        return body

    def put(self, key: str, body: bytes) -> bool:
        """Store BODY under KEY, replacing whatever is there, atomically; whether it was
        stored (never an error: an unwritable cache is no cache)."""
        path = self._where(key)
        if path is None:
            return False
        data = _header(self.kind, key, body) + b"\n" + body
        if len(data) > self.max_bytes:
            return False
        temp = _create_temporary(os.path.dirname(path))
        if temp is None:
            return False
        handle, temp_path = temp
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(handle, view) :]
            finally:
                os.close(handle)
            try:
                os.replace(temp_path, path)
            except OSError:  # a directory where the entry should be: clear it, try once more
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                os.replace(temp_path, path)
            return True
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temp_path)
            return False
