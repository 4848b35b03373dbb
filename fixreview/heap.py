"""How fixreview steers Python's cycle collector, where it measurably costs time.

The collector runs after every 700 net allocations of container objects (tuples, lists,
objects), and every so often passes over every tracked object of the process. Building a large
structure that holds no garbage, such as the 200,000 lines of a 100,000-line diff, sets off
hundreds of passes that find nothing, the later ones over everything alive (in a forked risk
worker: the parent's whole queue too): 40-50% of that diff's parse, measured beside a million
other objects. :func:`collector_paused` turns it off for such a build; the app's
``settle_heap`` and the risk workers freeze (:func:`gc.freeze`) what they hold for good.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.Lock()
_paused = 0
_enabled_before = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cycle collector off while the body runs, in every thread (it is the process's),
    and as it was before once the last of the pauses that overlap ends (nested, or in other
    threads). Meant for builds that make no garbage cycle: nothing is left to collect later."""
    global _paused, _enabled_before
    with _LOCK:
        if _paused == 0:
            _enabled_before = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _LOCK:
            _paused -= 1
            if _paused == 0 and _enabled_before:
                gc.enable()
