"""The app's process hands large blocks back when they are freed (fixreview/app/memory.py).

Asked of glibc itself in a fresh interpreter: after an 8 MiB block is freed, a 4 MiB one still
gets a mapping of its own (glibc alone would have raised its threshold to 8 MiB and served it
from the heap, where freeing it seldom lowers the resident size). Nothing is timed."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

PROBE = """
import ctypes, sys
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
if sys.argv[1] == "app":
    from fixreview.app.main import FixreviewApp  # what the app's start does, and only that
    from fixreview.app.memory import return_large_blocks
    assert return_large_blocks()
big = bytearray(8 * 1024 * 1024)
del big
before = libc.mallinfo2().hblks
block = bytearray(4 * 1024 * 1024)
print(libc.mallinfo2().hblks - before)
"""


def glibc_with_mallinfo2() -> bool:
    try:
        return hasattr(ctypes.CDLL(None), "mallinfo2") and hasattr(ctypes.CDLL(None), "mallopt")
    except OSError:
        return False


@pytest.mark.skipif(not glibc_with_mallinfo2(), reason="glibc 2.33 or later only")
def test_a_large_block_is_mapped_apart_after_a_larger_one_was_freed() -> None:
    def mapped(mode: str) -> int:
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
        )
        return int(proc.stdout.strip())

    assert mapped("plain") == 0  # glibc's own moving threshold: from the heap
    assert mapped("app") == 1


def test_the_app_asks_for_it_when_it_is_made() -> None:
    code = (
        "import fixreview.app.memory as memory, fixreview.app.main as main\n"
        "asked = []\n"
        "main.return_large_blocks = lambda: asked.append(1) or True\n"
        "from fixreview.repo.git import Repository\n"
        "main.FixreviewApp(Repository('.'))\n"
        "print(len(asked))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "1"
