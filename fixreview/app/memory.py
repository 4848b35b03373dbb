"""Large blocks handed back to the system when freed, for the app's long-lived process.

glibc's malloc serves a request of at least its mmap threshold (128 KiB at start) with a mapping
of its own, unmapped when freed. But the threshold moves: each time such a block is freed, it
rises to that block's size (up to 32 MiB). After one 9 MB proposal patch or diff text has come
and gone, every block below that size comes from the heap, where freeing it rarely lowers the
resident size: a cold queue and one long diff opened left the app tens of megabytes larger than
what it held (benchmarks/scale.py, rss: about 30 MB of a 190 MB peak).

:func:`return_large_blocks` fixes the threshold, which also stops it moving (mallopt(3)). Not
glibc (musl, macOS): nothing is done.
"""

from __future__ import annotations

import contextlib

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
LARGE_BLOCK = 1024 * 1024
"""Blocks of this size or more get a mapping of their own, returned when freed: diff texts,
patches and their copies are megabytes; the UI's own objects are far below it."""


def return_large_blocks() -> bool:
    """Have blocks of :data:`LARGE_BLOCK` bytes or more mapped apart and unmapped when freed,
    for the rest of the process; whether the C library took it (False: not glibc)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # no C library to ask, or no mallopt
        mallopt = ctypes.CDLL(None).mallopt
        mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        mallopt.restype = ctypes.c_int
        return bool(mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK))
    return False
