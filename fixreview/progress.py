"""Progress of long operations: what they report (a stage and counts) and how often it is drawn.

A long operation — loading the queue, the risk checks, judging decisions, ``sync``, reading a
SARIF log, searching a branch for a producer's change — takes an optional :data:`Progress`
callback and calls it with a fixed stage name (a ``STAGE_*`` constant of the module doing the
work: never untrusted text) and how many of how many steps are done. None, the default
everywhere, reports nothing; reporting never changes a result. Operations may report once per
item, so a callback must be cheap: whatever draws the progress (the command line's stderr line,
the app's progress bar) goes through a :class:`Throttle`, which passes on at most
:data:`MAX_RATE` reports a second.

Modules that ``verify`` loads import this one only for type checking (they take ``None`` and
test for it), so that the gate loads nothing it did not before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: STAGE is a fixed ``STAGE_*`` name; DONE steps of TOTAL."""

MAX_RATE = 10
"""The most reports a second a :class:`Throttle` passes on."""


class Throttle:
    """SINK, told the first report of each stage at once and then at most one report every
    INTERVAL seconds (the others are dropped: a newer one follows). Safe to call from several
    threads; SINK is called under a lock, one report at a time."""

    def __init__(
        self,
        sink: Progress,
        interval: float = 1 / MAX_RATE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sink = sink
        self._interval = interval
        self._clock = clock
        self._seen: set[str] = set()
        self._last = 0.0
        self._lock = threading.Lock()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self._clock()
        with self._lock:
            if stage in self._seen and now - self._last < self._interval:
                return
            self._seen.add(stage)
            self._last = now
            self._sink(stage, done, total)


def progress_text(stage: str, done: int, total: int) -> str:
    """What a report says: the stage and, when it has several steps, ``DONE/TOTAL``."""
    return f"{stage} {min(done, total)}/{total}" if total > 1 else stage
