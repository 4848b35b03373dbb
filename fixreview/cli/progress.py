"""Progress on stderr for the long commands: one line rewritten in place, cleared when done.

It is drawn only when stderr is a terminal and ``TERM`` is not ``dumb``; otherwise (a pipe, a
file, a CI log, a dumb terminal) nothing is written, and stderr carries only the errors and
warnings it always did. The line is the command's name, a fixed stage name and counts
(fixreview/progress.py), made visible with fixreview/safetext.py all the same, and cut to the
terminal's width so that it never wraps (a wrapped line cannot be rewritten). No escape
sequence is written: each report goes back to the start of the line with a carriage return
and pads over the longer line before it with spaces; clearing blanks the line the same way and
leaves the cursor at its start, so what the command prints next starts on a clean line. The
reports are throttled (:class:`fixreview.progress.Throttle`), and a failing write (the terminal
went away) is ignored: progress never changes what a command does.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TextIO

from fixreview.progress import Progress, Throttle, progress_text
from fixreview.safetext import visible_line

FALLBACK_COLUMNS = 80
"""The width assumed when the terminal does not say its own."""


def shows_progress(stream: TextIO) -> bool:
    """Whether progress is drawn on STREAM: a terminal, and not a dumb one."""
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError, OSError):  # closed, or no file behind it
        return False
    return terminal and os.environ.get("TERM", "") != "dumb"


class _Line:
    """The progress line on STREAM, at most COLUMNS - 1 characters wide."""

    def __init__(self, stream: TextIO, prefix: str, columns: int) -> None:
        self.stream = stream
        self.prefix = prefix
        self.width = max(1, columns - 1)  # the last column would wrap on some terminals
        self.drawn = 0  # how many characters are on the line now

    def draw(self, stage: str, done: int, total: int) -> None:
        text = visible_line(f"{self.prefix}{progress_text(stage, done, total)}")[: self.width]
        self._write("\r" + text + " " * max(0, self.drawn - len(text)), len(text))

    def clear(self) -> None:
        if self.drawn:
            self._write("\r" + " " * self.drawn + "\r", 0)

    def _write(self, data: str, drawn: int) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(data)
            self.stream.flush()
            self.drawn = drawn


def _columns(stream: TextIO) -> int:
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return FALLBACK_COLUMNS
    return columns if columns > 0 else FALLBACK_COLUMNS


@contextlib.contextmanager
def stderr_progress(stream: TextIO, prefix: str) -> Iterator[Progress | None]:
    """A progress callback drawing on STREAM (stderr), each line starting with PREFIX, or None
    when STREAM does not show progress (:func:`shows_progress`); the line is cleared on the
    way out, whether the command succeeded or not."""
    if not shows_progress(stream):
        yield None
        return
    line = _Line(stream, prefix, _columns(stream))
    try:
        yield Throttle(line.draw)
    finally:
        line.clear()
