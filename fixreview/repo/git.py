"""The one place fixreview runs git: discovery of the repository and a byte-exact runner.

``git rev-parse`` finds the repository (walking up from a path); every command then runs
through :meth:`Repository.run`, which returns git's exact bytes and turns failures into one-line
:class:`~fixreview.errors.GitError` messages. Objects are read in bulk through a single
``git cat-file --batch`` process.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import IO

from fixreview.errors import FixreviewError, GitError, NotARepositoryError
from fixreview.repo.catfile import BatchReader
from fixreview.repo.refstate import RefState

# the tree with nothing in it, per object format (git hash-object -t tree /dev/null); use
# Repository.empty_tree and Repository.zero_oid, which follow the repository's format
EMPTY_TREES: dict[str, str] = {
    "sha1": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    "sha256": "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321",
}

# Options that make diff output independent of the user's configuration, so the same
# command gives the same bytes on a reviewer's laptop and in CI.
STABLE_DIFF_CONFIG: tuple[str, ...] = (
    "-c",
    "diff.noprefix=false",
    "-c",
    "diff.mnemonicPrefix=false",
    "-c",
    "diff.renames=true",
    "-c",
    "diff.algorithm=myers",
    "-c",
    "diff.context=3",
    "-c",
    "diff.interHunkContext=0",
    "-c",
    "diff.indentHeuristic=true",
    "-c",
    "diff.suppressBlankEmpty=false",
    "-c",
    "diff.relative=false",
    "-c",
    "core.quotePath=true",
)

# The flags every bound, parsed, shown or risk-checked diff is run with, on top of the clean
# room (see :meth:`Repository.clean_run`): nothing of a driver, a colour or a submodule setting.
CLEAN_DIFF_FLAGS: tuple[str, ...] = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--ignore-submodules=none",
    "--submodule=short",
    "-M",
)

GIT_TIMEOUT_ENV = "FIXREVIEW_GIT_TIMEOUT"
DEFAULT_GIT_TIMEOUT = 120.0
_HEX_OID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_LISTINGS_LOCK = threading.Lock()  # Repository.listing's memo, filled from two threads
# a full ref name that rev-parse reads as nothing but that ref (no :path, ^, ~, @{…}, ranges)
_FULL_REF = re.compile(r"refs/[^\s:^~?*\[\\@.]+(?:\.[^\s:^~?*\[\\@.]+)*")


def timeout_from_env(name: str, default: float) -> float:
    """Seconds from environment variable NAME (a positive number), else DEFAULT."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise FixreviewError(f"{name} must be a number of seconds, not {value!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise FixreviewError(f"{name} must be a positive number of seconds, not {value!r}")
    return seconds


def git_timeout() -> float:
    """How long one git process may run: ``FIXREVIEW_GIT_TIMEOUT`` seconds, default 120."""
    return timeout_from_env(GIT_TIMEOUT_ENV, DEFAULT_GIT_TIMEOUT)


def object_format_of(oid: str) -> str:
    """The object format a full object id belongs to: ``sha1`` (40 hex) or ``sha256`` (64)."""
    return "sha256" if len(oid) == 64 else "sha1"


# -- the clean room ----------------------------------------------------------------------------
#
# Diffs that are bound, parsed, shown or risk-checked run in a private, empty, bare git dir made
# once per process and object format. It borrows the real repository's objects through
# GIT_ALTERNATE_OBJECT_DIRECTORIES (git follows the real repository's own objects/info/alternates
# from there), and has no configuration (no system, global or repository settings), no work
# tree, no index, no info/attributes and no refs (so no refs/replace): the same bytes come out
# on every machine, whatever the checkout's .gitattributes or the user's git configuration.

_ROOMS: dict[str, Path] = {}
_ROOMS_LOCK = threading.Lock()


def _bare_env(home: Path) -> dict[str, str]:
    """The process environment with every GIT_* variable removed and no config to read."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "no-xdg"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_ATTR_NOSYSTEM": "1",
            "GIT_NO_REPLACE_OBJECTS": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
        }
    )
    env.pop("LANGUAGE", None)
    return env


def _alternate_entry(path: str) -> str:
    """PATH as one entry of GIT_ALTERNATE_OBJECT_DIRECTORIES: C-quoted when it holds the list
    separator or starts with a quote, as git reads it."""
    if os.pathsep not in path and not path.startswith('"'):
        return path
    escaped = path.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def clean_room(object_format: str) -> Path:
    """The process's private empty bare git dir for OBJECT_FORMAT, made on first use."""
    with _ROOMS_LOCK:
        room = _ROOMS.get(object_format)
        if room is not None and room.is_dir():
            return room
        parent = Path(tempfile.mkdtemp(prefix="fixreview-cleanroom-"))
        atexit.register(shutil.rmtree, parent, True)
        room = parent / "room.git"
        proc = _spawn(
            [
                "git",
                "init",
                "-q",
                "--bare",
                "--template=",
                f"--object-format={object_format}",
                str(room),
            ],
            cwd=parent,
            input=None,
            env=_bare_env(parent),
        )
        if proc.returncode != 0:
            raise GitError(_describe_failure(["init"], proc))
        _ROOMS[object_format] = room
        return room


class Started:
    """A git process started and not waited for yet (:meth:`Repository.clean_start`): the
    caller does other work while git runs, then takes its output with :meth:`wait`."""

    def __init__(
        self, argv: list[str], proc: subprocess.Popen[bytes], out: IO[bytes], seconds: float
    ) -> None:
        self._argv = argv
        self._proc = proc
        self._out = out
        self._seconds = seconds
        self._deadline = time.monotonic() + seconds

    def stop(self) -> None:
        """End it now, unread, and wait for it (a caller leaving early leaves no git behind)."""
        try:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
        finally:
            self._close()

    def _close(self) -> None:
        if self._proc.stderr is not None:
            self._proc.stderr.close()
        self._out.close()

    def wait(self) -> subprocess.CompletedProcess[bytes]:
        """Its exit code and output, once it has ended (GitError past the git timeout, counted
        from its start: a hung git is stopped)."""
        proc = self._proc
        try:
            try:
                _, err = proc.communicate(timeout=max(0.0, self._deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # waited for, not read to its end: a hook git started may hold the pipe open
                proc.kill()
                proc.wait()
                raise GitError(
                    f"git {_subcommand(self._argv[1:])} did not finish within "
                    f"{self._seconds:g} s and was stopped (a hung hook, credential helper or "
                    f"remote?; raise {GIT_TIMEOUT_ENV} to wait longer)"
                ) from None
            self._out.seek(0)
            return subprocess.CompletedProcess(self._argv, proc.returncode, self._out.read(), err)
        finally:
            self._close()


def _start(
    argv: list[str], cwd: Path | None, input: bytes | None, env: Mapping[str, str]
) -> Started:
    """Start one git process (see :func:`_spawn`): its input from an unnamed temporary file,
    so nothing needs feeding while it runs."""
    seconds = git_timeout()
    out = tempfile.TemporaryFile()  # noqa: SIM115 (closed by Started.wait)
    try:
        proc = _popen(argv, cwd, input, env, out)
    except FileNotFoundError:
        out.close()
        raise GitError("git is not installed or not on PATH") from None
    except BaseException:
        out.close()
        raise
    return Started(argv, proc, out, seconds)


def _popen(
    argv: list[str], cwd: Path | None, input: bytes | None, env: Mapping[str, str], out: IO[bytes]
) -> subprocess.Popen[bytes]:
    if input is None:
        return subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.PIPE, env=dict(env))
    with tempfile.TemporaryFile() as feed:  # git reads its own copy of the descriptor
        feed.write(input)
        feed.seek(0)
        return subprocess.Popen(
            argv, cwd=cwd, stdin=feed, stdout=out, stderr=subprocess.PIPE, env=dict(env)
        )


def _spawn(
    argv: list[str], cwd: Path | None, input: bytes | None, env: Mapping[str, str]
) -> subprocess.CompletedProcess[bytes]:
    """Run one git process with the git timeout: a hung git is a one-line GitError.

    Its output goes to an unnamed temporary file, read once it has ended, not through a pipe:
    reading a pipe takes Python's lock back after every 64 KiB, and while another thread runs
    (the app's UI, a worker judging the queue) each take can wait a switch interval, so a
    2 MB diff read through a pipe took 0.7 s in the app instead of 30 ms. Its (short) error
    output stays a pipe: the end of that pipe is how its end is noticed at once (a wait with
    a timeout and no pipe polls, sleeping up to 50 ms at a time)."""
    return _start(argv, cwd, input, env).wait()


def _changed_paths_of(out: bytes, echoes: Sequence[bytes]) -> list[frozenset[str]] | None:
    """The paths of ``diff-tree --stdin -r --raw -z`` output OUT, one set per pair, whose
    echoes (``OLD NEW`` trees, which git prints before each pair's entries, none too) are
    ECHOES; None unless OUT is exactly every echo in order, each followed by its entries."""
    found: list[set[str]] = []
    pos, end = 0, len(out)
    while pos < end:
        if out[pos : pos + 1] == b":":  # ":modes ids status" NUL path NUL
            meta_end = out.find(b"\0", pos)
            path_end = out.find(b"\0", meta_end + 1) if meta_end >= 0 else -1
            if path_end < 0 or not found:
                return None
            found[-1].add(out[meta_end + 1 : path_end].decode("utf-8", "surrogateescape"))
            pos = path_end + 1
            continue
        line_end = out.find(b"\n", pos)
        if line_end < 0 or len(found) == len(echoes) or out[pos:line_end] != echoes[len(found)]:
            return None
        found.append(set())
        pos = line_end + 1
    if len(found) != len(echoes):
        return None
    return [frozenset(paths) for paths in found]


class Repository:
    """A git repository on disk, addressed by its top-level directory (or git dir when bare)."""

    def __init__(self, path: str | os.PathLike[str] = ".") -> None:
        start = Path(path)
        if not start.is_dir():
            raise NotARepositoryError(f"no such directory: {start}")
        git_dir, common_dir, workdir = _discover(start)
        self.git_dir = git_dir
        self.common_dir = common_dir
        self.workdir: Path | None = workdir
        # (old tree-ish, new tree-ish) -> the bound diff's bytes: computed once per process
        self._diffs: dict[tuple[str, ...], bytes] = {}
        self._reader: BatchReader | None = None
        self._trees: dict[str, str] = {}  # commit id -> its tree id
        # (old, new) full ids -> every path whose entry differs (prefetch_changed_paths)
        self._changed: dict[tuple[str, str], frozenset[str]] = {}
        self._listings: dict[str, str] = {}  # commit id -> `ls-tree -r -z` of it (listing())
        self.pinned: RefState | None = None  # see pin()

    def pin(self, state: RefState) -> None:
        """Read refs from STATE from now on, not from git: :meth:`ref_value` of a full ref
        name, the branches and settings ``BranchRefs`` reads. A result computed so is the
        result for exactly STATE, whatever moves refs meanwhile (fixreview/listsnapshot.py).
        Only for a process that reads: a process that writes refs must not pin."""
        self.pinned = state

    @property
    def root(self) -> Path:
        """Where commands run: the work tree, or the git dir of a bare repository."""
        return self.workdir if self.workdir is not None else self.git_dir

    @property
    def state_dir(self) -> Path:
        """fixreview's private, never-committed state under the git dir (drafts, caches)."""
        return self.common_dir / "fixreview"

    @cached_property
    def object_format(self) -> str:
        """``sha1`` or ``sha256``: how this repository names objects (asked of git once)."""
        proc = self._run(["rev-parse", "--show-object-format"], input=None, env=None)
        name = proc.stdout.decode().strip() if proc.returncode == 0 else ""
        if name not in EMPTY_TREES:
            raise GitError(f"unsupported object format {name or '(unknown)'!r}")
        return name

    @property
    def empty_tree(self) -> str:
        """The id of the tree with nothing in it, in this repository's object format."""
        return EMPTY_TREES[self.object_format]

    @property
    def zero_oid(self) -> str:
        """The all-zero id of this repository's object format (``update-ref``: no such ref)."""
        return "0" * len(self.empty_tree)

    # -- running git -------------------------------------------------------------------------

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        ok_codes: Iterable[int] = (0,),
    ) -> bytes:
        """Run ``git ARGS`` in the repository and return its exact standard output."""
        proc = self._run(args, input=input, env=env)
        if proc.returncode not in tuple(ok_codes):
            raise GitError(_describe_failure(args, proc))
        return proc.stdout

    def run_text(self, *args: str, input: bytes | None = None) -> str:
        """Run git and decode its output as UTF-8 (undecodable bytes kept as escapes)."""
        return self.run(*args, input=input).decode("utf-8", "surrogateescape")

    def try_run(
        self, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """Run git and hand back the completed process, whatever its exit code."""
        return self._run(args, input=input, env=env)

    def _run(
        self, args: Iterable[str], input: bytes | None, env: Mapping[str, str] | None
    ) -> subprocess.CompletedProcess[bytes]:
        full_env = dict(os.environ)
        full_env["GIT_TERMINAL_PROMPT"] = "0"
        # refs/replace/* can be pushed by anyone who can push: never let them swap objects
        full_env["GIT_NO_REPLACE_OBJECTS"] = "1"
        full_env.pop("GIT_NOTES_REF", None)
        if env:
            full_env.update(env)
        return _spawn(["git", *args], self.root, input, full_env)

    # -- the clean room ------------------------------------------------------------------------

    @property
    def objects_dir(self) -> Path:
        """The repository's own object directory (shared by all its worktrees)."""
        return (self.common_dir / "objects").resolve()

    def clean_env(
        self, object_format: str, extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The environment of a clean-room git process reading this repository's objects."""
        room = clean_room(object_format)
        env = _bare_env(room.parent)
        alternates = [_alternate_entry(str(self.objects_dir))]
        inherited = os.environ.get("GIT_ALTERNATE_OBJECT_DIRECTORIES")
        if inherited:  # objects the real repository sees through the environment, too
            alternates.append(inherited)
        env["GIT_DIR"] = str(room)
        env["GIT_ALTERNATE_OBJECT_DIRECTORIES"] = os.pathsep.join(alternates)
        if extra:
            env.update(extra)
        return env

    def clean_run(
        self,
        *args: str,
        object_format: str | None = None,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        ok_codes: Iterable[int] = (0,),
    ) -> bytes:
        """Run ``git ARGS`` in the clean room (objects by id only: it has no refs).

        No system, global or repository configuration, no attributes from any checkout, index
        or info/attributes, no replace refs, no work tree: exact bytes that do not depend on
        where or by whom they are produced. ``env`` may add e.g. ``GIT_INDEX_FILE``.
        OBJECT_FORMAT is the repository's (pass it when known from an id: no process is spent).
        """
        return self.finished(
            self.clean_start(*args, object_format=object_format, input=input, env=env),
            ok_codes,
        )

    def clean_start(
        self,
        *args: str,
        object_format: str | None = None,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Started:
        """Start what :meth:`clean_run` runs, without waiting for it: :meth:`finished` takes
        its output."""
        if object_format is None:
            object_format = self.object_format
        room = clean_room(object_format)
        return _start(
            ["git", "-c", f"core.attributesFile={os.devnull}", *args],
            room,
            input,
            self.clean_env(object_format, env),
        )

    @staticmethod
    def finished(started: Started, ok_codes: Iterable[int] = (0,)) -> bytes:
        """The exact output of a git process :meth:`clean_start` started, once it has ended;
        GitError when it failed (an exit code not in OK_CODES) or hung."""
        proc = started.wait()
        if proc.returncode not in tuple(ok_codes):
            raise GitError(_describe_failure(["-c", "x", *proc.args[3:]], proc))
        return proc.stdout

    def object_ids(self, *revs: str) -> list[str]:
        """REVS as full object ids: ids are kept as they are, anything else is resolved once."""
        resolved: dict[str, str] = {}
        for rev in revs:
            if _HEX_OID.match(rev) or rev in resolved:
                continue
            if "\n" in rev:
                raise GitError(f"not a revision: {rev!r}")
            resolved[rev] = self.run_text("rev-parse", "--verify", "--end-of-options", rev).strip()
        return [resolved.get(rev, rev) for rev in revs]

    def delete_stale_refs(self, prefix: str, max_age: float) -> list[str]:
        """Delete the refs under PREFIX named ``PREFIX<unix seconds>-…`` more than MAX_AGE
        seconds ago (what killed writers left behind); the names deleted.

        Each is deleted only if it still points where it pointed when listed, and a ref whose
        name carries no time is never touched: a live writer's ref is always younger.
        """
        out = self.run_text("for-each-ref", "--format=%(objectname) %(refname)", prefix)
        cutoff = time.time() - max_age
        stale: list[tuple[str, str]] = []
        for line in out.splitlines():
            oid, _, ref = line.partition(" ")
            stamp = ref.removeprefix(prefix).split("-", 1)[0]
            if ref.startswith(prefix) and stamp.isdigit() and int(stamp) < cutoff:
                stale.append((oid, ref))
        if stale:
            commands = "".join(f"delete {ref} {oid}\n" for oid, ref in stale)
            # best effort: a ref another process deletes first is simply gone already
            self.try_run("update-ref", "--stdin", input=commands.encode())
        return [ref for _, ref in stale]

    # -- small queries -----------------------------------------------------------------------

    def resolve(self, rev: str) -> str | None:
        """The commit id that REV names, or None when it names no commit."""
        proc = self._run(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
            input=None,
            env=None,
        )
        if proc.returncode != 0:
            return None
        return proc.stdout.decode().strip()

    _LISTINGS_KEPT = 4  # notes tips read: a command reads two or three, the app a few more

    def listing(self, commit: str) -> str:
        """``git ls-tree -r -z COMMIT``, read once per process when COMMIT is a full object id
        (the tree of a commit never changes). A read ahead on another thread (``verify``'s
        start) is taken by the first read here; both running at once read the same answer."""
        if not _HEX_OID.match(commit):
            return self.run_text("ls-tree", "-r", "-z", commit)
        found = self._listings.get(commit)
        if found is None:
            found = self.run_text("ls-tree", "-r", "-z", commit)
            with _LISTINGS_LOCK:
                while len(self._listings) >= self._LISTINGS_KEPT:
                    del self._listings[next(iter(self._listings))]
                self._listings[commit] = found
        return found

    def ref_value(self, ref: str) -> str | None:
        """The object id a full ref name points at, or None when the ref does not exist."""
        if self.pinned is not None and _FULL_REF.fullmatch(ref):
            return self.pinned.values.get(ref)
        proc = self._run(["rev-parse", "--verify", "--quiet", ref], input=None, env=None)
        if proc.returncode != 0:
            return None
        return proc.stdout.decode().strip()

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        proc = self._run(
            ["merge-base", "--is-ancestor", ancestor, descendant], input=None, env=None
        )
        return proc.returncode == 0

    def merge_base(self, a: str, b: str) -> str | None:
        proc = self._run(["merge-base", a, b], input=None, env=None)
        if proc.returncode != 0:
            return None
        return proc.stdout.decode().strip()

    def diff(self, old: str, new: str, *extra: str) -> bytes:
        """``git diff --binary --full-index OLD NEW`` in the clean room (exact bytes), computed
        once per process for each pair (objects are immutable: the bytes cannot change).

        The bytes are the same in any checkout of any clone, whatever the attributes and the
        configuration: docs/format.md gives the stock-git recipe that reproduces them.
        """
        old_id, new_id = self.object_ids(old, new)
        key = (old_id, new_id, *extra)
        found = self._diffs.get(key)
        if found is None:
            found = self.clean_run(
                *STABLE_DIFF_CONFIG,
                "diff",
                *CLEAN_DIFF_FLAGS,
                "--binary",
                "--full-index",
                *extra,
                old_id,
                new_id,
                "--",
                object_format=object_format_of(max(old_id, new_id, key=len)),
            )
            self._diffs[key] = found
        return found

    def has_diff(self, old: str, new: str) -> bool:
        """Whether :meth:`diff` of the full object ids OLD and NEW is computed already."""
        return (old, new) in self._diffs

    def prefetch_diffs(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Compute the diffs of many (old, new) pairs of full object ids with one
        ``git diff-tree --stdin``, so that :meth:`diff` finds them computed.

        Its bytes are those of ``git diff`` of each pair (the same machinery, options and clean
        room; tests/test_bulk_diffs.py compares them). Each diff follows an echo of its pair's
        trees on a line of its own, which no line of a diff can be (every diff line starts with
        a keyword, a prefix character or base85 without spaces, and paths are quoted). Output
        that does not split exactly so is not used: :meth:`diff` then runs git per pair.
        """
        wanted = [pair for pair in dict.fromkeys(pairs) if pair not in self._diffs]
        if not wanted:
            return
        ids = list(dict.fromkeys(oid for pair in wanted for oid in pair))
        if any(not _HEX_OID.match(oid) for oid in ids):
            raise GitError("prefetch_diffs takes full object ids")
        object_format = object_format_of(ids[0])
        tree_of = dict(
            zip(
                ids,
                self.run_text("rev-parse", *(f"{oid}^{{tree}}" for oid in ids)).split(),
                strict=True,
            )
        )
        headers = [f"{tree_of[old]} {tree_of[new]}\n".encode() for old, new in wanted]
        out = self.clean_run(
            *STABLE_DIFF_CONFIG,
            "diff-tree",
            "--stdin",
            "-r",
            "-p",
            *CLEAN_DIFF_FLAGS,
            "--binary",
            "--full-index",
            input=b"".join(headers),
            object_format=object_format,
        )
        starts: list[int] = []
        pos = 0
        for header in headers:
            if not starts:
                at = 0 if out.startswith(header) else -1
            else:  # from the newline that ends the previous header: an empty diff is nothing
                found = out.find(b"\n" + header, pos - 1)
                at = found + 1 if found >= 0 else -1
            if at < 0:
                return
            starts.append(at)
            pos = at + len(header)
        ends = [*starts[1:], len(out)]
        for pair, header, start, end in zip(wanted, headers, starts, ends, strict=True):
            self._diffs[pair] = out[start + len(header) : end]

    def prefetch_changed_paths(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Find, with one ``git diff-tree --stdin -r --raw -z --no-renames`` in the clean room,
        every path whose entry differs between each (OLD, NEW) pair of full ids (commits, or
        the empty tree as OLD): what :meth:`changed_paths` then answers.

        Every file, symbolic link and submodule entry that differs is named, under its own
        path (no rename pairing: both names of a renamed file); a tree is named by the entries
        inside it. Each entry of ``--raw`` output starts with ``:``, which no pair's echo does,
        so a path cannot be read as the next pair's echo whatever it holds. Output that does
        not read exactly so is not used: nothing is known then, and callers read as before."""
        wanted = [pair for pair in dict.fromkeys(pairs) if pair not in self._changed]
        if not wanted:
            return
        if any(not _HEX_OID.match(oid) for pair in wanted for oid in pair):
            raise GitError("prefetch_changed_paths takes full object ids")
        echoes = [f"{old} {new}".encode() for old, new in self.tree_pairs(wanted)]
        out = self.clean_run(
            "diff-tree",
            "--stdin",
            "-r",
            "--raw",
            "-z",
            "--no-renames",
            "--no-abbrev",
            "--ignore-submodules=none",
            input=b"".join(echo + b"\n" for echo in echoes),
            object_format=object_format_of(echoes[0].split(b" ", 1)[0].decode()),
        )
        found = _changed_paths_of(out, echoes)
        if found is not None:
            for pair, paths in zip(wanted, found, strict=True):
                self._changed[pair] = paths

    def changed_paths(self, old: str, new: str) -> frozenset[str] | None:
        """The paths whose entry differs between OLD and NEW (full ids) when
        :meth:`prefetch_changed_paths` found them, else None (never computed here)."""
        return self._changed.get((old, new))

    # -- bulk object reads ---------------------------------------------------------------------

    def read_objects(self, specs: Iterable[str]) -> dict[str, bytes | None]:
        """Read many objects; missing ones map to None.

        Each spec is anything ``cat-file`` accepts: an object id or ``REV:PATH``. Specs that
        start with a full object id go to this repository's long-lived ``cat-file --batch``
        (:mod:`fixreview.repo.catfile`); the others, which name refs, to one of their own.
        """
        wanted = list(dict.fromkeys(specs))
        if not wanted:
            return {}
        for spec in wanted:
            if "\n" in spec:
                raise GitError(f"object name contains a newline: {spec!r}")
        by_id = [spec for spec in wanted if _HEX_OID.match(spec.split(":", 1)[0])]
        result = self._batch_reader().read(by_id) if by_id else {}
        named = [spec for spec in wanted if spec not in result]
        if named:
            result.update(self._read_named(named))
        return {spec: result[spec] for spec in wanted}

    def close(self) -> None:
        """End this repository's long-lived ``git cat-file`` (a later read starts it again)."""
        if self._reader is not None:
            self._reader.close()

    @classmethod
    def reopen(
        cls, root: str | os.PathLike[str], git_dir: str | os.PathLike[str]
    ) -> Repository | None:
        """The repository at ROOT opened again in another process (a worker, a forked copy:
        never the parent's git processes), or None when ROOT now leads to another git dir
        than GIT_DIR, the one the parent works on."""
        repo = cls(root)
        return repo if repo.git_dir == Path(git_dir) else None

    @classmethod
    @contextmanager
    def reopened(
        cls, root: str | os.PathLike[str], git_dir: str | os.PathLike[str]
    ) -> Iterator[Repository | None]:
        """:meth:`reopen`, its ``git cat-file`` ended when the block ends."""
        repo = cls.reopen(root, git_dir)
        try:
            yield repo
        finally:
            if repo is not None:
                repo.close()

    def _batch_reader(self) -> BatchReader:
        if self._reader is None:
            env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_NO_REPLACE_OBJECTS="1")
            env.pop("GIT_NOTES_REF", None)
            self._reader = BatchReader(self.root, env, git_timeout())
            weakref.finalize(self, self._reader.close)
        return self._reader

    def _read_named(self, wanted: list[str]) -> dict[str, bytes | None]:
        """Objects named through refs, with a ``git cat-file --batch`` of their own."""
        stdin = "".join(f"{spec}\n" for spec in wanted).encode("utf-8", "surrogateescape")
        out = self.run("cat-file", "--batch", input=stdin)
        result: dict[str, bytes | None] = {}
        pos = 0
        for spec in wanted:
            end = out.index(b"\n", pos)
            header = out[pos:end].decode("utf-8", "surrogateescape")
            pos = end + 1
            parts = header.split(" ")
            if len(parts) == 3 and parts[2].isdigit():
                size = int(parts[2])
                result[spec] = out[pos : pos + size]
                pos += size + 1  # content is followed by a newline
            else:  # "<spec> missing" or "<spec> ambiguous"
                result[spec] = None
        return result

    def tree_pairs(self, pairs: Sequence[tuple[str | None, str]]) -> list[tuple[str, str]]:
        """PAIRS of commits as the pairs of their trees (:meth:`commit_trees`: one batch), an
        old side that is None or the empty tree as the empty tree: what ``diff-tree --stdin``
        compares (it reads two commits as a commit and its parents)."""
        empty = self.empty_tree
        trees = self.commit_trees(oid for pair in pairs for oid in pair if oid and oid != empty)
        return [(trees[old] if old and old != empty else empty, trees[new]) for old, new in pairs]

    def commit_trees(self, commits: Iterable[str]) -> dict[str, str]:
        """The tree id of each commit (full ids), read from the commit objects in one batch
        and remembered (a commit's tree never changes). GitError for one that is not here."""
        wanted = [c for c in dict.fromkeys(commits) if c not in self._trees]
        if wanted:
            found = self.read_objects(wanted)
            for commit in wanted:
                data = found.get(commit)
                first = data.split(b"\n", 1)[0].decode("ascii", "replace") if data else ""
                kind, _, tree = first.partition(" ")
                if kind != "tree" or not _HEX_OID.match(tree):
                    raise GitError(f"{commit[:12]} is not a commit here")
                self._trees[commit] = tree
        return self._trees

    def read_blob_at(self, rev: str, path: str) -> bytes | None:
        """The content of PATH in REV's tree (what ``git show REV:PATH`` prints), or None."""
        return self.read_objects([f"{rev}:{path}"])[f"{rev}:{path}"]


def _discover(start: Path) -> tuple[Path, Path, Path | None]:
    """(git dir, common git dir, work tree or None) of the repository holding START, as git
    finds it (walking up), with one ``git rev-parse``.

    In a bare repository, or inside a git dir, ``--show-toplevel`` fails after printing the
    rest: the work tree is then the parent of a ``.git`` directory, or none (bare).
    """
    env = dict(os.environ, GIT_NO_REPLACE_OBJECTS="1", GIT_TERMINAL_PROMPT="0")
    args = ["--path-format=absolute", "--git-dir", "--git-common-dir", "--is-bare-repository"]
    proc = _spawn(["git", "rev-parse", *args, "--show-toplevel"], start, None, env)
    lines = proc.stdout.decode("utf-8", "surrogateescape").split("\n")
    if len(lines) < 4 or lines[2] not in ("true", "false"):
        if b"not a git repository" in proc.stderr:
            raise NotARepositoryError(
                f"not a git repository (or any parent up to /): {start.resolve()}"
            )
        raise NotARepositoryError(_describe_failure(["rev-parse"], proc))
    git_dir, common_dir = Path(lines[0]), Path(lines[1])
    if proc.returncode == 0 and lines[3]:
        return git_dir, common_dir, Path(lines[3])
    if lines[2] == "true" or git_dir.name != ".git":
        return git_dir, common_dir, None
    return git_dir, common_dir, git_dir.parent


def init_repository(path: Path, branch: str = "main") -> Repository:
    """``git init -b BRANCH PATH`` and the repository it made."""
    env = dict(os.environ, GIT_NO_REPLACE_OBJECTS="1")
    proc = _spawn(["git", "init", "-q", "-b", branch, str(path)], None, None, env)
    if proc.returncode != 0:
        raise GitError(_describe_failure(["init"], proc))
    return Repository(path)


def _subcommand(args: Iterable[str]) -> str:
    """The git subcommand among ARGS (leading ``-c NAME=VALUE`` pairs skipped)."""
    words = list(args)
    while len(words) >= 2 and words[0] == "-c":
        words = words[2:]
    return words[0] if words else ""


def _describe_failure(args: Iterable[str], proc: subprocess.CompletedProcess[bytes]) -> str:
    """One line: which git subcommand failed and git's own first line of complaint."""
    command = _subcommand(args)
    lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    detail = next((line for line in lines if line.strip()), f"exit status {proc.returncode}")
    detail = detail.removeprefix("fatal: ").removeprefix("error: ")
    return f"git {command} failed: {detail}"
