"""How much an AI rationale says: its words, not counting the trailers at its end.

A rationale read from a commit message ends with trailers (``Finding-Id: SEC-12``,
``Assisted-by: ...``, ``Co-authored-by: ...``), which say nothing about why the change is right,
so they are left out of the count.
"""

from __future__ import annotations

import re

_TRAILER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*:\s+\S")
_WORD = re.compile(r"[^\W_]+(?:['\u2019.-][^\W_]+)*")


def strip_trailers(text: str) -> str:
    """TEXT without its final paragraph when every line of that paragraph is a trailer."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    last = [line for line in paragraphs[-1].splitlines() if line.strip()]
    if len(paragraphs) > 1 and last and all(_TRAILER.match(line) for line in last):
        paragraphs = paragraphs[:-1]
    elif len(paragraphs) == 1 and last and all(_TRAILER.match(line) for line in last):
        return ""
    return "\n\n".join(paragraphs)


MAX_RATIONALE = 64 * 1024
"""Characters of a rationale that are read: far more than any threshold needs."""


def rationale_words(text: str) -> int:
    """The number of words in TEXT, trailers left out (at most :data:`MAX_RATIONALE` read)."""
    if len(text) > MAX_RATIONALE:
        return len(_WORD.findall(text[:MAX_RATIONALE]))  # cut: its trailers are not in it
    return len(_WORD.findall(strip_trailers(text)))
