"""Bounds on what the risk checks' regular expressions read, so no input makes them crawl.

Diff lines are untrusted and unbounded: one added line can be megabytes long, and a regular
expression that backtracks (detect-secrets' keyword detector is quadratic in a run of word
characters) turns that into minutes. Every regex-based check reads lines through
:func:`cut` (parsers of manifests and CI files) or through bounded, overlapping windows
(:func:`windows`, the secret scan), never a whole unbounded line.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from itertools import accumulate
from typing import Final

MAX_LINE: Final = 4096
"""Characters of one line that a parser (manifests, CI files) reads; the rest is ignored."""

WINDOW: Final = 1024
"""Characters of one long line the secret scanner reads at a time."""

OVERLAP: Final = 256
"""Characters consecutive windows share: a secret up to this long is always whole in one."""

MAX_WORD_RUN: Final = 32
"""Longest run of word characters the keyword detector reads: a longer one keeps its first and
last :data:`MAX_WORD_RUN` // 2 characters (``db_password`` and ``password_hash`` both stay)."""

MAX_SCAN_LINE: Final = 64 * 1024
"""Characters of one added line the secret scanner reads; a longer line is reported."""

MAX_SCAN_TOTAL: Final = 8 * 1024 * 1024
"""Characters of all added lines together the secret scanner reads; the rest is reported."""

MAX_FILE_BYTES: Final = 256 * 1024
"""Bytes of a CI file read from the repository to follow its references."""

MAX_MANIFEST_BYTES: Final = 4 * 1024 * 1024
"""Bytes of one dependency manifest or lockfile (one side) read whole and parsed: a larger one
is named as changed, not parsed (tomli reads 3 to 13 MB a second, compiled or not; a 500 MB
lockfile pushed by an attacker is never read)."""

MAX_MANIFEST_TOTAL: Final = 16 * 1024 * 1024
"""Bytes of all dependency manifests and lockfiles, both sides, read for one fix; the files
past it are named as changed, not parsed."""

_LONG_WORD = re.compile(rf"\w{{{MAX_WORD_RUN + 1},}}")
# ASCII word characters to b"w", every other byte to b" "
_WORD_BYTES = bytes(
    ord("w") if chr(code).isascii() and (chr(code).isalnum() or chr(code) == "_") else ord(" ")
    for code in range(256)
)


def cut(text: str, limit: int = MAX_LINE) -> str:
    """TEXT, at most LIMIT characters of it."""
    return text if len(text) <= limit else text[:limit]


def is_long(text: str, limit: int = MAX_LINE) -> bool:
    return len(text) > limit


def has_long_word(text: str) -> bool:
    """Whether TEXT holds a run of word characters longer than :data:`MAX_WORD_RUN`."""
    return len(text) > MAX_WORD_RUN and _LONG_WORD.search(text) is not None


def long_windows(texts: Iterable[str]) -> list[str]:
    """Those of TEXTS that hold a run of word characters longer than :data:`MAX_WORD_RUN`
    (what :func:`has_long_word` says of each), in their order, found in one pass over them all.

    ASCII texts are joined with line feeds, which no word character is, and their word
    characters (``[A-Za-z0-9_]``: what ``\\w`` is in ASCII) made one byte and the others
    another, so a long run is a plain substring search; other texts are searched one by one.
    """
    candidates = [text for text in texts if len(text) > MAX_WORD_RUN]
    ascii_texts = [text for text in candidates if text.isascii()]
    found = {text for text in candidates if not text.isascii() and has_long_word(text)}
    if ascii_texts:
        starts = [0, *accumulate(len(text) + 1 for text in ascii_texts)]
        words = "\n".join(ascii_texts).encode("ascii").translate(_WORD_BYTES)
        run = b"w" * (MAX_WORD_RUN + 1)
        at = words.find(run)
        while at >= 0:
            index = bisect_right(starts, at) - 1
            found.add(ascii_texts[index])
            at = words.find(run, starts[index + 1])
    return [text for text in candidates if text in found]


def short_words(text: str) -> str:
    """TEXT with every run of word characters longer than :data:`MAX_WORD_RUN` shortened to its
    first and last halves of that.

    Such runs are what makes keyword expressions (``\\w*password\\w*…``) backtrack: their cost
    grows with the square of the run's length. A keyword at either end of a long name survives.
    """
    if len(text) <= MAX_WORD_RUN:
        return text
    half = MAX_WORD_RUN // 2
    return _LONG_WORD.sub(lambda m: m.group()[:half] + m.group()[-half:], text)


def windows(text: str, size: int = WINDOW, overlap: int = OVERLAP) -> Iterator[str]:
    """TEXT in pieces of at most SIZE characters, each sharing OVERLAP with the one before."""
    if len(text) <= size:
        yield text
        return
    step = size - overlap
    start = 0
    while True:
        yield text[start : start + size]
        if start + size >= len(text):
            return
        start += step
