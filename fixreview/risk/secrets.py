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
import sys
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from itertools import accumulate
from types import ModuleType
from typing import Any, NoReturn

from fixreview.errors import FixreviewError
from fixreview.risk import secret_prefilter as prefilter
from fixreview.risk.bounds import (
    MAX_SCAN_LINE,
    MAX_SCAN_TOTAL,
    MAX_WORD_RUN,
    OVERLAP,
    WINDOW,
    long_windows,
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
_ELLIPSIS = "\u2026"
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


class Redactor:
    """Masks TOKENS in a text: each one present (the longest first) replaced by its mask.

    What :func:`redact` does, in time that grows with the text, not with the number of tokens
    times the number of texts: the tokens that may be in a text are looked up by their first
    :data:`MIN_REDACTED` characters, at each position of the text. Masking cannot make a token
    appear that was not there before, unless it holds the ellipsis a mask ends with: those are
    tried on every text.
    """

    def __init__(self, tokens: Iterable[str]) -> None:
        self.ordered = sorted({t for t in tokens if len(t) >= MIN_REDACTED}, key=len, reverse=True)
        self._rank = {token: rank for rank, token in enumerate(self.ordered)}
        self._by_head: dict[str, list[str]] = {}
        for token in self.ordered:
            self._by_head.setdefault(token[:MIN_REDACTED], []).append(token)
        self._always = [token for token in self.ordered if _ELLIPSIS in token]

    def _present(self, text: str) -> list[str]:
        """The tokens in TEXT (or that masking could make appear there), the longest first."""
        if len(text) >= len(self.ordered):  # fewer tokens than positions: try each
            return self.ordered
        heads = {text[i : i + MIN_REDACTED] for i in range(len(text) - MIN_REDACTED + 1)}
        found = {t for head in heads & self._by_head.keys() for t in self._by_head[head]}
        return sorted(found.union(self._always), key=self._rank.__getitem__)

    def __call__(self, text: str) -> str:
        for token in self._present(text) if self.ordered else ():
            if token in text:
                text = text.replace(token, mask(token))
        return text


def redact(text: str, tokens: Iterable[str]) -> str:
    """TEXT with every one of TOKENS (the longest first) replaced by its mask."""
    return Redactor(tokens)(text)


KEYWORD_PLUGIN = prefilter.KEYWORD_PLUGIN


@dataclass(frozen=True)
class Unscanned:
    """An added line only partly scanned: LENGTH characters, of which SCANNED were read."""

    path: str
    line: int
    length: int
    scanned: int


# per file: (path, {window: [line numbers holding it]}, the windows holding a long word)
Windows = list[tuple[str, dict[str, list[int]], list[str]]]
# one line of a synthetic diff: (index of its file in Windows, its text, the lines it stands
# for, where a full scan would have read it: (scan, position))
Piece = tuple[int, str, list[int], tuple[int, int]]
# per file name of a synthetic diff: (the real path, its pieces, numbered from 1)
Names = dict[str, tuple[str, list[Piece]]]


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
        for line_no, text in lines:
            if len(text) <= WINDOW:  # the common case: one window, within every budget
                holders = where.get(text)
                if holders is None:
                    if len(text) > total:
                        unscanned.append(Unscanned(path, line_no, len(text), 0))
                        continue
                    total -= len(text)
                    where[text] = [line_no]
                elif holders[-1] != line_no:
                    holders.append(line_no)
                continue
            budget, read = MAX_SCAN_LINE, 0
            for window in windows(text):
                holders = where.get(window)
                if holders is None:
                    if len(window) > min(budget, total):
                        unscanned.append(Unscanned(path, line_no, len(text), read))
                        break
                    budget -= len(window)
                    total -= len(window)
                    holders = where[window] = []
                if not holders or holders[-1] != line_no:
                    holders.append(line_no)
                read += len(window) - (OVERLAP if read else 0)
        out.append((path, where, long_windows(where)))
    return out, unscanned


def _pieces(
    files: Windows, long: bool, transform: Callable[[str], str] | None, scan: int
) -> list[Piece]:
    """The windows holding a long word (LONG) or not, as lines of a synthetic diff: line
    breaks made spaces, passed through TRANSFORM, each distinct text once per file with every
    line it stands for; SCAN numbers the scan that reads them."""
    out: list[Piece] = []
    for number, (_, where, longs) in enumerate(files):
        chosen = longs if long else [window for window in where if window not in longs]
        pieces: dict[str, list[int]] = {}
        for window in chosen:
            piece = window if window.isprintable() else _LINE_BREAKS.sub(" ", window)
            if transform is not None:
                piece = transform(piece)
            holders = pieces.get(piece)
            if holders is None:
                pieces[piece] = list(where[window])
            else:
                holders.extend(where[window])
        base = len(out)
        out += [
            (number, piece, holders, (scan, base + n))
            for n, (piece, holders) in enumerate(pieces.items())
        ]
    return out


def _synthetic_diff(files: Windows, pieces: Sequence[Piece]) -> tuple[str, Names]:
    """A unified diff of PIECES, numbered 1..n per file, and which lines each numbered line
    stands for.

    Numbering the added lines consecutively keeps detect-secrets' context window (the lines
    around a hit) made of added lines. The file name keeps the real one's directories, base
    name and extension, which is what detect-secrets' filters and plugins look at.
    """
    by_file: dict[int, list[Piece]] = {}
    for piece in pieces:
        by_file.setdefault(piece[0], []).append(piece)
    chunks: list[str] = []
    names: Names = {}
    for number, group in by_file.items():
        path = files[number][0]
        name = f"f{number}/{_UNSAFE_NAME.sub('_', normalize(path)) or 'file'}"
        names[name] = (path, group)
        chunks.append(f"--- a/{name}\n+++ b/{name}\n@@ -0,0 +1,{len(group)} @@\n")
        chunks.append("".join(f"+{piece[1]}\n" for piece in group))
    return "".join(chunks), names


# (the plugins to run, the pieces they read): one scan of detect-secrets each
Scans = list[tuple[frozenset[str], list[Piece]]]


def _to_scan(files: Windows, plugins: frozenset[str], prefiltered: bool = True) -> Scans:
    """What detect-secrets must read, grouped by the plugins to run on it (PLUGINS, all of
    detect-secrets'): every window by every plugin, but the windows holding a long word by
    every plugin but the keyword detector as they are, and by it alone once shortened.

    PREFILTERED, and with a detect-secrets version the prefilter knows, a piece is read only
    by the plugins that could report it, and not at all when none could
    (:func:`fixreview.risk.secret_prefilter.candidates`).
    """
    keyword = frozenset({KEYWORD_PLUGIN}) & plugins
    scans: Scans = [
        (plugins, _pieces(files, False, None, 0)),
        (plugins - keyword, _pieces(files, True, None, 1)),
        (keyword, _pieces(files, True, short_words, 2)),
    ]
    scans = [(names, pieces) for names, pieces in scans if names and pieces]
    if not (
        prefiltered
        and plugins == prefilter.PLUGINS
        and prefilter.usable(prefilter.installed_version())
    ):
        return scans
    groups: dict[frozenset[str], list[Piece]] = {}
    for names, pieces in scans:
        marks = prefilter.candidates([piece[1] for piece in pieces], names)
        for index in sorted(marks):
            groups.setdefault(frozenset(marks[index]), []).append(pieces[index])
    return sorted(groups.items(), key=lambda group: sorted(group[0]))


def _quick_scans(
    files: Sequence[tuple[str, Sequence[tuple[int, str]]]], plugins: frozenset[str]
) -> tuple[Windows, Scans] | None:
    """What :func:`_to_scan` makes of FILES' distinct windows, prefiltered, for PLUGINS (the
    prefilter's), the same scans piece for piece, made without a Python step per line where
    that is exact; None where it is not (the full way is taken).

    It is exact when every line is one window and every line is read: no line longer than
    :data:`WINDOW`, all of them together within :data:`MAX_SCAN_TOTAL` (so no budget cuts
    any), no line break inside a line (so a piece is its line as it is, nothing merges). Then
    a file's windows are its distinct lines in the order first seen (``dict.fromkeys``), the
    prefilter reads them all in one call as it would have, and a piece, with the lines holding
    it, is made only for what it marks; the windows holding a long word, usually none, go
    through :func:`_pieces` as before. The windows returned hold each file's path only (what
    :func:`_synthetic_diff` reads of them)."""
    texts = [[text for _, text in lines] for _, lines in files]
    every = [text for chunk in texts for text in chunk]
    if not every:
        return [(path, {}, []) for path, _ in files], []
    if (
        max(map(len, every)) > WINDOW
        or sum(map(len, every)) > MAX_SCAN_TOTAL
        or _LINE_BREAKS.search("".join(every)) is not None
    ):
        return None
    longs = set(long_windows(every))
    distinct = [list(dict.fromkeys(chunk)) for chunk in texts]
    chosen = [
        [text for text in chunk if text not in longs] if longs else chunk for chunk in distinct
    ]
    flat = [text for chunk in chosen for text in chunk]
    starts = [0, *accumulate(len(chunk) for chunk in chosen)]
    marks = prefilter.candidates(flat, plugins)
    wanted: dict[int, set[str]] = {}  # by file: the texts it must know the lines of
    for index in marks:
        wanted.setdefault(bisect_right(starts, index) - 1, set()).add(flat[index])
    long_files: Windows = []
    holders: dict[int, dict[str, list[int]]] = {}
    for number, (path, lines) in enumerate(files):
        needed = wanted.get(number, set())
        local = [text for text in distinct[number] if text in longs] if longs else []
        where: dict[str, list[int]] = {}
        if needed or local:
            look = needed.union(local)
            for line_no, text in lines:
                if text in look:
                    held = where.setdefault(text, [])
                    if not held or held[-1] != line_no:
                        held.append(line_no)
        holders[number] = where
        long_files.append((path, {text: where[text] for text in local}, local))
    keyword = frozenset({KEYWORD_PLUGIN}) & plugins
    groups: dict[frozenset[str], list[Piece]] = {}
    for index in sorted(marks):
        number = bisect_right(starts, index) - 1
        text = flat[index]
        piece: Piece = (number, text, list(holders[number][text]), (0, index))
        groups.setdefault(frozenset(marks[index]), []).append(piece)
    for names, pieces in (
        (plugins - keyword, _pieces(long_files, True, None, 1)),
        (keyword, _pieces(long_files, True, short_words, 2)),
    ):
        if not (names and pieces):
            continue
        found = prefilter.candidates([piece[1] for piece in pieces], names)
        for index in sorted(found):
            groups.setdefault(frozenset(found[index]), []).append(pieces[index])
    windows_of: Windows = [(path, {}, []) for path, _ in files]
    return windows_of, sorted(groups.items(), key=lambda group: sorted(group[0]))


def unscanned_lines(files: Sequence[tuple[str, Sequence[tuple[int, str]]]]) -> list[Unscanned]:
    """The added lines of FILES the secret scan reads only in part (over its budget)."""
    return _distinct_windows(files)[1]


def candidate_count(files: Sequence[tuple[str, Sequence[tuple[int, str]]]]) -> int:
    """How many lines of synthetic diffs the scan of FILES hands to detect-secrets."""
    groups = _distinct_windows(files)[0]
    return sum(len(pieces) for _, pieces in _to_scan(groups, prefilter.PLUGINS))


def scan_added_lines(files: Sequence[tuple[str, Sequence[tuple[int, str]]]]) -> list[SecretHit]:
    """Potential secrets in FILES: (path, [(new line number, text), ...]) of added lines."""
    return scan(files)[0]


def scan(
    files: Sequence[tuple[str, Sequence[tuple[int, str]]]], *, prefiltered: bool = True
) -> tuple[list[SecretHit], list[Unscanned]]:
    """Potential secrets in FILES, and the lines that were not scanned whole.

    Bounded: lines are read in overlapping windows, distinct windows only, up to a budget
    (:func:`_distinct_windows`). The keyword detector's expressions backtrack quadratically
    over a run of word characters, so a window holding a run longer than
    :data:`~fixreview.risk.bounds.MAX_WORD_RUN` is scanned twice: by every other plugin as it
    is, and by the keyword detector with such runs shortened
    (:func:`fixreview.risk.bounds.short_words`). Every other window is scanned once, by all.

    Fast: only the windows on which some plugin could report a secret are handed to
    detect-secrets, each to the plugins that could (:func:`_to_scan`), and detect-secrets is
    imported only when there is one. Not PREFILTERED, every window is read by every plugin
    (what the prefilter's tests compare it with).
    """
    quick = (
        _quick_scans(files, prefilter.PLUGINS)
        if prefiltered and prefilter.usable(prefilter.installed_version())
        else None
    )
    unscanned: list[Unscanned] = []
    if quick is not None:
        groups, scans = quick
    else:
        groups, unscanned = _distinct_windows(files)
        scans = _to_scan(groups, prefilter.PLUGINS, prefiltered)
    if not scans:
        return [], unscanned
    found: list[tuple[str, Piece, Any]] = []
    with _LOCK, _offline(), _settings() as settings:
        from detect_secrets.core.scan import scan_diff

        settings.disable_filters(*_DISABLED_FILTERS)
        configured = dict(settings.plugins)
        if frozenset(configured) != prefilter.PLUGINS:  # not the plugins the prefilter knows
            groups = _distinct_windows(files)[0]
            scans = _to_scan(groups, frozenset(configured), prefiltered=False)
        for plugins, pieces in scans:
            settings.disable_plugins(*list(settings.plugins))
            settings.configure_plugins(
                [{"name": name, **config} for name, config in configured.items() if name in plugins]
            )
            diff, names = _synthetic_diff(groups, pieces)
            for secret in scan_diff(diff):
                where = names.get(secret.filename)
                if where is not None and 1 <= secret.line_number <= len(where[1]):
                    found.append((where[0], where[1][secret.line_number - 1], secret))
    if not found:
        return [], unscanned
    # in the order one scan of every piece by every plugin reports them
    found.sort(key=lambda item: item[1][3])
    texts = {(path, no): line for path, lines in files for no, line in lines}
    hits: list[SecretHit] = []
    seen: set[tuple[str, int, str, str | None]] = set()
    for path, piece, secret in found:
        for line_no in piece[2]:
            line = texts.get((path, line_no), "")
            value = secret.secret_value or ""
            token = _token(line, value)
            key = (path, line_no, secret.type, token)
            if key not in seen:
                seen.add(key)
                hits.append(SecretHit(path, line_no, secret.type, token, ""))
    hits.sort(key=lambda hit: (hit.path, hit.line))
    return _with_excerpts(hits, texts, Redactor(h.token for h in hits if h.token)), unscanned


def _settings() -> AbstractContextManager[Any]:
    """detect-secrets' ``default_settings()`` (its modules imported on first use)."""
    try:
        from detect_secrets.settings import default_settings
    except ImportError:
        raise FixreviewError(
            "the secret check needs detect-secrets: pip install 'detect-secrets>=1.5,<2'"
        ) from None
    return default_settings()


class NetworkCheckError(FixreviewError):
    """detect-secrets asked for ``requests`` while it scanned: see :func:`_offline`."""


def _unavailable(*args: object, **kwargs: object) -> NoReturn:
    raise NetworkCheckError(
        "detect-secrets tried to reach the network to verify a secret; fixreview never asks "
        "it to (its default settings verify nothing)"
    )


def _offline_requests() -> ModuleType:
    """A stand-in for the ``requests`` package: every name it is asked for is a function that
    raises :class:`NetworkCheckError`, but ``exceptions.RequestException``, an exception class
    nothing raises (so an ``except`` naming it catches nothing)."""
    stand_in = ModuleType("requests", "fixreview's stand-in while detect-secrets is imported")
    exceptions = ModuleType("requests.exceptions")

    class RequestException(Exception):
        """Never raised: nothing here reaches the network."""

    exceptions.RequestException = RequestException  # type: ignore[attr-defined]
    stand_in.exceptions = exceptions  # type: ignore[attr-defined]
    stand_in.__getattr__ = lambda name: _unavailable  # type: ignore[method-assign]
    return stand_in


@contextmanager
def _offline() -> Iterator[None]:
    """While detect-secrets is imported and runs, a stand-in for ``requests``
    (:func:`_offline_requests`) in place of the real package, unless that is imported
    already: detect-secrets imports it (and with it urllib3, charset_normalizer, idna: about
    200 ms, most of a first scan) only to verify secrets with their providers over the
    network, which fixreview never asks of it. The real package stays importable after (the
    stand-in is taken out of ``sys.modules`` on the way out); detect-secrets' own modules keep
    the stand-in, so a call that would reach the network raises instead.

    A detect-secrets that cannot be imported with the stand-in (one that imports a module
    of ``requests``) is imported again, whole, with the real package."""
    if "requests" in sys.modules or "detect_secrets" in sys.modules:
        yield
        return
    stand_in = _offline_requests()
    sys.modules["requests"] = stand_in
    try:
        try:
            import detect_secrets.core.plugins.util as util
            import detect_secrets.core.scan
            import detect_secrets.settings  # noqa: F401

            every_plugin = getattr(util, "get_mapping_from_secret_type_to_class", None)
            if callable(every_plugin):
                every_plugin()  # imports every plugin's module (else the first scan does)
        except ImportError:
            for name in [n for n in sys.modules if n.split(".")[0] == "detect_secrets"]:
                del sys.modules[name]
            if sys.modules.get("requests") is stand_in:
                del sys.modules["requests"]
        yield
    finally:
        if sys.modules.get("requests") is stand_in:
            del sys.modules["requests"]


def _around(line: str, token: str, before: int = 40, after: int = 160) -> str:
    """The part of a long LINE around TOKEN (with ellipses where it was cut)."""
    if len(line) <= before + len(token) + after:
        return line
    at = max(0, line.find(token))
    start, end = max(0, at - before), min(len(line), at + len(token) + after)
    return ("\u2026" if start else "") + line[start:end] + ("\u2026" if end < len(line) else "")


def _with_excerpts(
    hits: list[SecretHit], texts: dict[tuple[str, int], str], redactor: Redactor
) -> list[SecretHit]:
    out = []
    for hit in hits:
        line = texts.get((hit.path, hit.line), "")
        if hit.token is None:
            excerpt = "(line not shown: it holds a potential secret)"
        else:
            excerpt = redactor(_around(line, hit.token).replace(hit.token, mask(hit.token)))
            excerpt = excerpt.strip()
        out.append(SecretHit(hit.path, hit.line, hit.kind, hit.token, excerpt))
    return out
