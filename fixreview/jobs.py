"""How many things fixreview may do at once: the usable CPUs, or ``FIXREVIEW_JOBS``.

``FIXREVIEW_JOBS`` (an integer ≥ 1; 1 = one at a time) overrides the number of workers of every
pool fixreview runs (signature checks, risk checks). A value that is not such an integer is
ignored. Callers cap the answer to what their work can use.

Work can be shared with a *forked* copy of the process only when forking is safe
(:func:`may_fork`): a fork copies other threads' locks in whatever state they hold them.
:func:`forked_beside` runs a function in such a copy while the caller goes on.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

ENV_VAR = "FIXREVIEW_JOBS"
_MAX_JOBS = 1024  # far above any useful pool; keeps an absurd setting bounded


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the system has one), ≥ 1."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    return max(1, count)


def jobs_from_env(default: int) -> int:
    """The integer in ``FIXREVIEW_JOBS`` when it is one ≥ 1 (capped at a sane maximum), else
    DEFAULT (itself at least 1)."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if raw.isascii() and raw.isdigit():
        value = int(raw)
        if value >= 1:
            return min(value, _MAX_JOBS)
    return max(1, default)


def may_fork() -> bool:
    """Whether this process may fork a copy of itself to share work: on Linux, from the main
    thread, while no other Python thread runs (the command line before it starts any; never
    the app, whose UI and workers are threads). Elsewhere forking a process that has loaded
    system frameworks is not safe."""
    return (
        sys.platform == "linux"
        and threading.current_thread() is threading.main_thread()
        and threading.active_count() == 1
    )


class Beside:
    """The work a forked copy of this process does beside the caller (:func:`forked_beside`),
    or none when no copy could be forked."""

    def __init__(self, process: BaseProcess | None) -> None:
        self._process = process

    @property
    def forked(self) -> bool:
        return self._process is not None

    def wait(self) -> None:
        """Return once the copy has ended (at once when there is none)."""
        if self._process is not None:
            self._process.join()

    def stop(self) -> None:
        """End the copy now, and wait for it."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join()


def start_forked(target: Callable[..., None], *args: Any, wanted: bool = True) -> Beside:
    """TARGET(*ARGS) started in a forked copy of this process, when WANTED, :func:`may_fork`
    and ``FIXREVIEW_JOBS`` allow a second job (else no copy: the caller does the work itself).
    The caller waits for it, or stops it (:class:`Beside`); at the latest, multiprocessing ends
    it with the program (a daemon).

    The copy must not use this process's git processes (a Repository's open pipes): it opens
    the repository again. It ends with ``os._exit`` (no exit handler, no buffered output of
    the parent written twice). Its work may only be cache entries, which the caller reads back
    and checks like any entry, recomputing whatever is missing or does not read back."""
    process = None
    if wanted and may_fork() and jobs_from_env(usable_cpus()) >= 2:
        import multiprocessing

        try:
            process = multiprocessing.get_context("fork").Process(
                target=target, args=args, daemon=True
            )
            process.start()
        except Exception:  # no fork here, no processes left, ...
            process = None
    return Beside(process)


@contextmanager
def forked_beside(
    target: Callable[..., None], *args: Any, wanted: bool = True
) -> Iterator[Beside]:
    """TARGET(*ARGS) run in a forked copy of this process (:func:`start_forked`) while the
    block runs; waited for when the block ends, ended at once when it raises."""
    beside = start_forked(target, *args, wanted=wanted)
    try:
        yield beside
    except BaseException:
        beside.stop()
        raise
    beside.wait()


class Claims:
    """Which of up to SLOTS pieces of work this process and a forked copy of it have each
    taken, in memory both share (an anonymous shared mapping, made before the fork): the
    caller takes pieces from the front of a list, the copy from its back, and each stops where
    the other has been, so both end together whatever each piece costs. A piece both take at
    the same instant is done twice, never lost; one taken by neither (a copy that died) is for
    the caller to do."""

    FRONT = 1
    BACK = 2

    def __init__(self, slots: int = 256) -> None:
        import mmap

        self.slots = slots
        self._taken = mmap.mmap(-1, slots)  # MAP_SHARED | MAP_ANONYMOUS: shared across fork

    def take(self, slot: int, side: int) -> bool:
        """Take SLOT for SIDE; False when either side has it already."""
        if self._taken[slot]:
            return False
        self._taken[slot] = side
        return True

    def holder(self, slot: int) -> int:
        """Who took SLOT: :data:`FRONT`, :data:`BACK`, or 0 for nobody."""
        return self._taken[slot]


FORK_MIN_NOTES = 128
"""Notes to parse below which no forked copy shares the work (a fork and a git process cost a
few tens of milliseconds; a note about a millisecond)."""

_ahead: dict[tuple[str, str], tuple[Claims, Beside]] = {}


def register_ahead(key: tuple[str, str], claims: Claims, copy: Beside) -> None:
    """Keep COPY, started ahead of the work named KEY (a notes ref and its tip), and the CLAIMS
    it takes in, for the work to meet (:func:`taken_ahead`)."""
    _ahead[key] = (claims, copy)


def taken_ahead(key: tuple[str, str]) -> tuple[Claims, Beside] | None:
    """The copy started ahead of the work KEY, and its claims, now the caller's to meet and
    wait for; None when there is none."""
    return _ahead.pop(key, None)


def stop_ahead() -> None:
    """End every copy started ahead that no work took (the work asked for something else)."""
    while _ahead:
        _, (_, copy) = _ahead.popitem()
        copy.stop()


MAX_NICENESS = 19
"""The lowest scheduling priority (``nice``) a process can have on Linux and most systems."""


def lowered_niceness(by: int) -> int:
    """This process's niceness plus BY, at most :data:`MAX_NICENESS`: what a background worker
    started from here runs at."""
    try:
        current = os.getpriority(os.PRIO_PROCESS, 0)
    except (AttributeError, OSError):  # no priorities on this system
        current = 0
    return min(current + max(0, by), MAX_NICENESS)


PARENT_CHECK_EVERY = 1.0
"""Seconds between two looks of a background worker at whether its parent is still there."""


def start_background_worker(parent: int, niceness: int, then: bytes) -> None:
    """A worker process's initializer (a pool's): it lowers its priority to NICENESS before
    anything else, then unpickles THEN, ``(function, args)``, and calls it. So a spawned
    worker's imports (the models, the checks: 0.4-0.6 s of CPU) happen once it is niced, in
    that unpickling, not before, at its parent's priority, beside the parent's UI. This module
    is light (what unpickling this function imports); a priority that cannot be lowered is
    left as it is, never raised.

    The worker also ends once PARENT, the process that started it, is gone (killed, or ended
    with ``os._exit``): its siblings hold both ends of the pool's pipes, so it would otherwise
    wait for work for ever."""
    import pickle

    try:
        if os.getpriority(os.PRIO_PROCESS, 0) < niceness:
            os.setpriority(os.PRIO_PROCESS, 0, niceness)
    except (AttributeError, OSError):  # no priorities on this system: as it is
        pass
    threading.Thread(target=_end_with, args=(parent,), daemon=True, name="parent").start()
    function, args = pickle.loads(then)
    function(*args)


def _end_with(parent: int) -> None:
    """End this process as soon as PARENT is no longer its parent."""
    import time

    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_EVERY)
    os._exit(1)
