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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fixreview.errors import FixreviewError
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
    start = line.find(secret)
    if start < 0 or not secret:
        return None
    end = start + len(secret)
    while start > 0 and line[start - 1] not in _DELIMITERS:
        start -= 1
    while end < len(line) and line[end] not in _DELIMITERS:
        end += 1
    return line[start:end]


def redact(text: str, tokens: Iterable[str]) -> str:
    """TEXT with every one of TOKENS (the longest first) replaced by its mask."""
    for token in sorted({t for t in tokens if len(t) >= MIN_REDACTED}, key=len, reverse=True):
        if token in text:
            text = text.replace(token, mask(token))
    return text


def _synthetic_diff(
    files: Sequence[tuple[str, Sequence[tuple[int, str]]]],
) -> tuple[str, dict[str, tuple[str, list[int]]]]:
    """A unified diff holding only the added lines, numbered 1..n per file.

    Numbering the added lines consecutively keeps detect-secrets' context window (the lines
    around a hit) made of neighbouring added lines; the real line numbers are kept aside.
    The file name keeps the real one's directories, base name and extension, which is what
    detect-secrets' filters and plugins look at.
    """
    chunks: list[str] = []
    names: dict[str, tuple[str, list[int]]] = {}
    for number, (path, lines) in enumerate(files):
        if not lines:
            continue
        name = f"f{number}/{_UNSAFE_NAME.sub('_', normalize(path)) or 'file'}"
        names[name] = (path, [line_no for line_no, _ in lines])
        chunks.append(f"--- a/{name}\n+++ b/{name}\n@@ -0,0 +1,{len(lines)} @@\n")
        chunks.append("".join(f"+{_LINE_BREAKS.sub(' ', text)}\n" for _, text in lines))
    return "".join(chunks), names


def scan_added_lines(files: Sequence[tuple[str, Sequence[tuple[int, str]]]]) -> list[SecretHit]:
    """Potential secrets in FILES: (path, [(new line number, text), ...]) of added lines."""
    text, names = _synthetic_diff(files)
    if not text:
        return []
    try:
        from detect_secrets.core.scan import scan_diff
        from detect_secrets.settings import default_settings
    except ImportError:
        raise FixreviewError(
            "the secret check needs detect-secrets: pip install 'detect-secrets>=1.5,<2'"
        ) from None

    texts = {(path, no): line for path, lines in files for no, line in lines}
    hits: list[SecretHit] = []
    with _LOCK, default_settings() as settings:
        settings.disable_filters(*_DISABLED_FILTERS)
        found = list(scan_diff(text))
    for secret in found:
        where = names.get(secret.filename)
        if where is None or not 1 <= secret.line_number <= len(where[1]):
            continue
        path, numbers = where
        line_no = numbers[secret.line_number - 1]
        line = texts.get((path, line_no), "")
        value = secret.secret_value or ""
        token = _word_around(line, value) if value else None
        hits.append(SecretHit(path, line_no, secret.type, token, ""))
    return _with_excerpts(hits, texts, [v for v in (h.token for h in hits) if v])


def _with_excerpts(
    hits: list[SecretHit], texts: dict[tuple[str, int], str], tokens: list[str]
) -> list[SecretHit]:
    out = []
    for hit in hits:
        line = texts.get((hit.path, hit.line), "")
        if hit.token is None:
            excerpt = "(line not shown: it holds a potential secret)"
        else:
            excerpt = redact(line.replace(hit.token, mask(hit.token)), tokens).strip()
        out.append(SecretHit(hit.path, hit.line, hit.kind, hit.token, excerpt))
    return out
