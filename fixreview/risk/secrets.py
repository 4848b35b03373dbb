"""Secrets in added lines, found with detect-secrets, and how they are masked when shown.

detect-secrets (Yelp, Apache-2.0) is imported only when a diff has added lines to scan. It runs
with all of its plugins (what ``detect-secrets scan`` uses without a baseline) and its
default heuristic filters, except two that make no sense for a review of untrusted changes:
``is_invalid_file`` (the files are not on disk, only in the diff) and ``is_line_allowlisted``
(a ``pragma: allowlist secret`` comment written by the branch must not hide its own secret).
Its settings are process-global, so scans are serialized with a lock.

A secret is never shown whole: the word that holds it is cut to its first few characters and
an ellipsis, here and in every other flag's text.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fixreview.errors import FixreviewError
from fixreview.risk.bounds import (
    MAX_SCAN_LINE,
    MAX_SCAN_TOTAL,
    MAX_WORD_RUN,
    OVERLAP,
    WINDOW,
    has_long_word,
    short_words,
    windows,
)
from fixreview.risk.paths import normalize

_LOCK = threading.Lock()
_DISABLED_FILTERS = (
    "detect_secrets.filters.common.is_invalid_file",
    "detect_secrets.filters.allowlist.is_line_allowlisted",
)
# Characters that end the word holding a secret (so that a partial match masks the whole word).
_DELIMITERS = frozenset(" \t\r\n\f\v'\"`,;()<>[]{}=:")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._/-]")
_LINE_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
MIN_REDACTED = 6
MAX_WORD = 512  # characters a secret's word reaches beyond the secret on either side


@dataclass(frozen=True)
class SecretHit:
    """A potential secret on an added line. TOKEN is the whole word holding it (never shown)."""

    path: str
    line: int
    kind: str
    token: str | None
    excerpt: str


def mask(token: str) -> str:
    """The first few characters of TOKEN and an ellipsis (at most a third of it, at most 4)."""
    keep = min(4, len(token) // 3)
    return token[:keep] + "\u2026"


def _word_around(line: str, secret: str) -> str | None:
    """The word of LINE holding SECRET: at most :data:`MAX_WORD` characters on either side."""
    start = line.find(secret)
    if start < 0 or not secret:
        return None
    end = start + len(secret)
    floor, ceiling = max(0, start - MAX_WORD), min(len(line), end + MAX_WORD)
    while start > floor and line[start - 1] not in _DELIMITERS:
        start -= 1
    while end < ceiling and line[end] not in _DELIMITERS:
        end += 1
    return line[start:end]


def _token(line: str, value: str) -> str | None:
    """The word of LINE holding the secret VALUE that a plugin reported.

    The keyword detector reads long words shortened (:func:`short_words`), so its VALUE may not
    be in LINE as it is; its first ``MAX_WORD_RUN // 2`` characters always are.
    """
    if not value:
        return None
    found = _word_around(line, value)
    head = MAX_WORD_RUN // 2
    if found is None and len(value) > head:
        found = _word_around(line, value[:head])
    return found


def redact(text: str, tokens: Iterable[str]) -> str:
    """TEXT with every one of TOKENS (the longest first) replaced by its mask."""
    for token in sorted({t for t in tokens if len(t) >= MIN_REDACTED}, key=len, reverse=True):
        if token in text:
            text = text.replace(token, mask(token))
    return text


KEYWORD_PLUGIN = "KeywordDetector"


@dataclass(frozen=True)
class Unscanned:
    """An added line only partly scanned: LENGTH characters, of which SCANNED were read."""

    path: str
    line: int
    length: int
    scanned: int


# per file: (path, {window: [line numbers holding it]}, the windows holding a long word)
Windows = list[tuple[str, dict[str, list[int]], set[str]]]
Names = dict[str, tuple[str, list[list[int]]]]


def _distinct_windows(
    files: Sequence[tuple[str, Sequence[tuple[int, str]]]],
) -> tuple[Windows, list[Unscanned]]:
    """The distinct windows of each file's added lines, with the lines holding each, and the
    lines that were not read whole.

    Lines are cut into overlapping windows (:func:`fixreview.risk.bounds.windows`); a window
    repeated in one file is scanned once, for every line holding it, and only distinct windows
    count against the budget: :data:`MAX_SCAN_LINE` characters of one line,
    :data:`MAX_SCAN_TOTAL` of the whole diff.
    """
    out: Windows = []
    unscanned: list[Unscanned] = []
    total = MAX_SCAN_TOTAL
    for path, lines in files:
        where: dict[str, list[int]] = {}
        long: set[str] = set()
        for line_no, text in lines:
            budget, read = MAX_SCAN_LINE, 0
            for window in (text,) if len(text) <= WINDOW else windows(text):
                holders = where.get(window)
                if holders is None:
                    if len(window) > min(budget, total):
                        unscanned.append(Unscanned(path, line_no, len(text), read))
                        break
                    budget -= len(window)
                    total -= len(window)
                    holders = where[window] = []
                    if has_long_word(window):
                        long.add(window)
                if not holders or holders[-1] != line_no:
                    holders.append(line_no)
                read += len(window) - (OVERLAP if read else 0)
        out.append((path, where, long))
    return out, unscanned


def _synthetic_diff(
    files: Windows, long: bool, transform: Callable[[str], str]
) -> tuple[str, Names]:
    """A unified diff of the windows holding a long word (LONG) or not (passed through
    TRANSFORM), numbered 1..n per file, and which lines each numbered line stands for.

    Numbering the added lines consecutively keeps detect-secrets' context window (the lines
    around a hit) made of neighbouring added lines. The file name keeps the real one's
    directories, base name and extension, which is what detect-secrets' filters and plugins
    look at.
    """
    chunks: list[str] = []
    names: Names = {}
    for number, (path, where, long_windows) in enumerate(files):
        pieces: dict[str, list[int]] = {}
        for window, holders in where.items():
            if (window in long_windows) == long:
                piece = transform(_LINE_BREAKS.sub(" ", window))
                pieces.setdefault(piece, []).extend(holders)
        if not pieces:
            continue
        name = f"f{number}/{_UNSAFE_NAME.sub('_', normalize(path)) or 'file'}"
        names[name] = (path, list(pieces.values()))
        chunks.append(f"--- a/{name}\n+++ b/{name}\n@@ -0,0 +1,{len(pieces)} @@\n")
        chunks.append("".join(f"+{piece}\n" for piece in pieces))
    return "".join(chunks), names


def _as_is(piece: str) -> str:
    return piece


def unscanned_lines(files: Sequence[tuple[str, Sequence[tuple[int, str]]]]) -> list[Unscanned]:
    """The added lines of FILES the secret scan reads only in part (over its budget)."""
    return _distinct_windows(files)[1]


def scan_added_lines(files: Sequence[tuple[str, Sequence[tuple[int, str]]]]) -> list[SecretHit]:
    """Potential secrets in FILES: (path, [(new line number, text), ...]) of added lines."""
    return scan(files)[0]


def scan(
    files: Sequence[tuple[str, Sequence[tuple[int, str]]]],
) -> tuple[list[SecretHit], list[Unscanned]]:
    """Potential secrets in FILES, and the lines that were not scanned whole.

    Bounded: lines are read in overlapping windows, distinct windows only, up to a budget
    (:func:`_distinct_windows`). The keyword detector's expressions backtrack quadratically
    over a run of word characters, so a window holding a run longer than
    :data:`~fixreview.risk.bounds.MAX_WORD_RUN` is scanned twice: by every other plugin as it
    is, and by the keyword detector with such runs shortened
    (:func:`fixreview.risk.bounds.short_words`). Every other window is scanned once, by all.
    """
    groups, unscanned = _distinct_windows(files)
    plain, plain_names = _synthetic_diff(groups, False, _as_is)
    long, long_names = _synthetic_diff(groups, True, _as_is)
    words, word_names = _synthetic_diff(groups, True, short_words)
    if not plain and not long:
        return [], unscanned
    try:
        from detect_secrets.core.scan import scan_diff
        from detect_secrets.settings import default_settings
    except ImportError:
        raise FixreviewError(
            "the secret check needs detect-secrets: pip install 'detect-secrets>=1.5,<2'"
        ) from None

    texts = {(path, no): line for path, lines in files for no, line in lines}
    found: list[tuple[Any, Names]] = []
    with _LOCK, default_settings() as settings:
        settings.disable_filters(*_DISABLED_FILTERS)
        if plain:
            found.extend((secret, plain_names) for secret in scan_diff(plain))
        keyword = settings.plugins.get(KEYWORD_PLUGIN)
        if long:
            settings.disable_plugins(KEYWORD_PLUGIN)
            found.extend((secret, long_names) for secret in scan_diff(long))
            if keyword is not None:
                settings.disable_plugins(*list(settings.plugins))
                settings.configure_plugins([{"name": KEYWORD_PLUGIN, **keyword}])
                found.extend((secret, word_names) for secret in scan_diff(words))
    hits: list[SecretHit] = []
    seen: set[tuple[str, int, str, str | None]] = set()
    for secret, names in found:
        where = names.get(secret.filename)
        if where is None or not 1 <= secret.line_number <= len(where[1]):
            continue
        path, numbers = where
        for line_no in numbers[secret.line_number - 1]:
            line = texts.get((path, line_no), "")
            value = secret.secret_value or ""
            token = _token(line, value)
            key = (path, line_no, secret.type, token)
            if key not in seen:
                seen.add(key)
                hits.append(SecretHit(path, line_no, secret.type, token, ""))
    hits.sort(key=lambda hit: (hit.path, hit.line))
    return _with_excerpts(hits, texts, [v for v in (h.token for h in hits) if v]), unscanned


def _around(line: str, token: str, before: int = 40, after: int = 160) -> str:
    """The part of a long LINE around TOKEN (with ellipses where it was cut)."""
    if len(line) <= before + len(token) + after:
        return line
    at = max(0, line.find(token))
    start, end = max(0, at - before), min(len(line), at + len(token) + after)
    return ("\u2026" if start else "") + line[start:end] + ("\u2026" if end < len(line) else "")


def _with_excerpts(
    hits: list[SecretHit], texts: dict[tuple[str, int], str], tokens: list[str]
) -> list[SecretHit]:
    out = []
    for hit in hits:
        line = texts.get((hit.path, hit.line), "")
        if hit.token is None:
            excerpt = "(line not shown: it holds a potential secret)"
        else:
            excerpt = redact(_around(line, hit.token).replace(hit.token, mask(hit.token)), tokens)
            excerpt = excerpt.strip()
        out.append(SecretHit(hit.path, hit.line, hit.kind, hit.token, excerpt))
    return out
