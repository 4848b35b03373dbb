"""One long-lived ``git cat-file --batch`` per repository, for objects named by id.

A process reads every object a command (or the app, over a whole session) asks for by id — the
trees and blobs the risk checks follow, commits, note blobs, the base's policy files — instead of
one ``cat-file`` per fix. Only specs that start with a full object id are sent to it: an object id
(and a path inside one) names the same bytes forever, whereas a ref a long-lived process may have
read before can have moved since. For the same reason small answers are remembered (the base
branch's trees and files, asked about by the risk checks of every fix). Each answer is read with
the git timeout, so a hung git is one :class:`~fixreview.errors.GitError`, and the process is
then stopped and not reused.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from fixreview.errors import GitError

INLINE_WRITE = 16 * 1024
"""Names up to this many bytes are written before the answers are read, without a thread: a
pipe holds at least 64 KiB, so the write completes whatever git is doing."""
MEMO_OBJECT_BYTES = 64 * 1024
"""Answers up to this size are remembered (the trees and small files asked for again and again:
the base branch's, by the risk checks of every fix of a queue)."""
MEMO_BYTES = 4 * 1024 * 1024
"""At most this much is remembered per reader; past it, the answers used least recently are
forgotten first (a queue's note blobs, read once, must not crowd out the base branch's trees)."""


class BatchReader:
    """A ``git cat-file --batch`` process, started on first use, safe across threads."""

    def __init__(self, cwd: Path, env: Mapping[str, str], timeout: float) -> None:
        self._cwd = cwd
        self._env = dict(env)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        # what git wrote that is not read yet: _pending from offset _start (an answer is
        # sliced out once, not the rest of a megabyte chunk copied after every answer)
        self._pending = b""
        self._start = 0
        # answers remembered by spec (see read), their size, and the ids known to exist
        self._memo: dict[str, bytes | None] = {}
        self._memo_bytes = 0
        self._present: set[str] = set()

    def read(self, specs: Sequence[str]) -> dict[str, bytes | None]:
        """The content of each of SPECS (None: missing or ambiguous). The names are written by
        a thread of their own while the answers are read, so neither pipe can fill up and
        stall the other, whatever the number of specs.

        Small answers are remembered: a spec starts with an object id, which names the same
        bytes forever. "Missing" is remembered only for a path inside an object this reader
        has seen exist (the path is absent from that tree for good); an object itself that is
        missing may arrive with a fetch, and is asked for again."""
        if not specs:
            return {}
        with self._lock:
            memo = self._memo
            asked: list[str] = []
            known: dict[str, bytes | None] = {}
            for spec in dict.fromkeys(specs):
                if spec in memo:
                    known[spec] = memo[spec] = memo.pop(spec)  # used last: forgotten last
                else:
                    asked.append(spec)
            answers = self._ask(asked) if asked else {}
            self._remember(answers)
            known.update(answers)
            return {spec: known[spec] for spec in specs}

    def _remember(self, answers: Mapping[str, bytes | None]) -> None:
        for spec, data in answers.items():
            if data is not None:
                self._present.add(spec.partition(":")[0])
        memo = self._memo
        for spec, data in answers.items():
            size = 0 if data is None else len(data)
            if size > MEMO_OBJECT_BYTES:
                continue
            oid, inside, _ = spec.partition(":")
            if data is None and not (inside and oid in self._present):
                continue
            while memo and self._memo_bytes + size + len(spec) > MEMO_BYTES:
                oldest = next(iter(memo))  # the least recently used
                dropped = memo.pop(oldest)
                self._memo_bytes -= (0 if dropped is None else len(dropped)) + len(oldest)
            memo[spec] = data
            self._memo_bytes += size + len(spec)

    def _ask(self, specs: Sequence[str]) -> dict[str, bytes | None]:
        """SPECS asked of git (the lock held)."""
        try:
            proc = self._process()
            stdin = b"".join(s.encode("utf-8", "surrogateescape") + b"\n" for s in specs)
            if len(stdin) <= INLINE_WRITE:  # fits in the pipe: git never waits on us
                assert proc.stdin is not None
                proc.stdin.write(stdin)
                proc.stdin.flush()
                return {spec: self._answer() for spec in specs}
            errors: list[OSError] = []
            writer = threading.Thread(target=self._write, args=(proc, stdin, errors))
            writer.start()
            try:
                return {spec: self._answer() for spec in specs}
            finally:
                if writer.is_alive():  # the answers failed: stop git, and so the writer
                    self._stop()
                writer.join()
                if errors:
                    raise errors[0]
        except (OSError, ValueError) as exc:
            self._stop()
            raise GitError(f"git cat-file failed: {exc}") from None
        except GitError:
            self._stop()
            raise

    @staticmethod
    def _write(proc: subprocess.Popen[bytes], data: bytes, errors: list[OSError]) -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(data)
            proc.stdin.flush()
        except OSError as exc:
            errors.append(exc)

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _answer(self) -> bytes | None:
        header = self._until_newline().decode("utf-8", "surrogateescape")
        parts = header.split(" ")
        if parts[-1].isdigit() and len(parts) == 3:
            data = self._exactly(int(parts[2]))
            if self._exactly(1) != b"\n":  # the content is followed by a newline
                raise GitError("git cat-file answered without the newline after an object")
            return data
        if parts[-1] in ("missing", "ambiguous"):
            return None
        raise GitError(f"git cat-file answered {header[:80]!r}")

    def _process(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            try:
                self._proc = subprocess.Popen(
                    ["git", "cat-file", "--batch"],
                    cwd=self._cwd,
                    env=self._env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
            except FileNotFoundError:
                raise GitError("git is not installed or not on PATH") from None
            self._pending, self._start = b"", 0
        return self._proc

    def _fill(self) -> None:
        """Read what git has written so far (at least one byte) within the timeout."""
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + self._timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise GitError(
                    f"git cat-file did not answer within {self._timeout:g} s and was stopped"
                )
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise GitError("git cat-file stopped unexpectedly")
                self._pending = self._pending[self._start :] + chunk
                self._start = 0
                return

    def _until_newline(self) -> bytes:
        searched = self._start  # what was searched already holds no newline
        while (end := self._pending.find(b"\n", searched)) < 0:
            searched = len(self._pending) - self._start  # _fill drops what was read before
            self._fill()
        line = self._pending[self._start : end]
        self._start = end + 1
        return line

    def _exactly(self, size: int) -> bytes:
        start = self._start
        if len(self._pending) - start >= size:  # the whole answer is here already
            self._start = start + size
            return self._pending[start : start + size]
        chunks = [self._pending[start:]]
        have = len(chunks[0])
        self._pending, self._start = b"", 0
        while have < size:
            self._fill()
            take = self._pending[: size - have]
            self._start = len(take)
            chunks.append(take)
            have += len(take)
        return b"".join(chunks)

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        self._pending, self._start = b"", 0
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
