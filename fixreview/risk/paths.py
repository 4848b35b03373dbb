"""Path globs for the risk checks, and what kind of file a path is (test, documentation).

Globs match the whole repository-relative path, case-insensitively: ``**`` spans any number
of directories (none included), ``*`` and ``?`` stay within one segment, ``[...]`` is a
character class (``[!...]`` negated). A pattern without ``**/`` in front is anchored at the
repository root: ``Jenkinsfile`` is the root one only, ``**/Jenkinsfile`` any of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from fixreview.repo.diffs import FileDiff
from fixreview.repo.diffs import git_unquote as unquote

DOC_SUFFIXES = (".md", ".rst", ".txt", ".adoc")
DOC_DIRS = frozenset({"docs", "doc"})


@lru_cache(maxsize=16_384)
def normalize(path: str) -> str:
    """PATH unquoted, without a leading ``./`` or ``/`` and with forward slashes (remembered:
    the checks of one fix ask for the same few paths dozens of times)."""
    path = unquote(path).replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if pattern.startswith("**", i):
            before_ok = i == 0 or pattern[i - 1] == "/"
            if before_ok and pattern.startswith("**/", i):
                out.append("(?:.*/)?")
                i += 3
                continue
            if before_ok and i + 2 == n and i > 0:
                # "dir/**": the directory's contents at any depth
                out.pop()  # the "/" just written
                out.append("(?:/.*)?")
                i += 2
                continue
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            close = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "]") else i + 1)
            if close == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : close]
                negate = body.startswith("!")
                if negate:
                    body = body[1:]
                body = body.replace("\\", "\\\\").replace("/", "")
                out.append(f"[{'^/' if negate else ''}{body}]")
                i = close + 1
                continue
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


@lru_cache(maxsize=2048)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """PATTERN as a compiled, case-insensitive, whole-path regular expression."""
    try:
        return re.compile(_translate(normalize(pattern)), re.IGNORECASE | re.DOTALL)
    except re.error:
        return re.compile(re.escape(normalize(pattern)), re.IGNORECASE)


@lru_cache(maxsize=2048)
def required_text(pattern: str) -> tuple[str, ...]:
    """Pieces of text, lower-cased, that every path PATTERN matches holds (each somewhere in
    it): the runs of PATTERN's plain characters between wildcards, classes and slashes (a
    slash beside ``**`` is optional). Empty, so no requirement, for a pattern with a character
    beyond ASCII, where case-insensitive matching is more than lower-casing."""
    text = normalize(pattern)
    if not text.isascii():
        return ()
    pieces: list[str] = []
    run: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in "*?/[":
            pieces.append("".join(run))
            run = []
            if char == "[":  # a class (as _translate reads it): its characters are not plain
                close = text.find("]", i + 2 if text[i + 1 : i + 2] in ("!", "]") else i + 1)
                if close != -1:
                    i = close + 1
                    continue
        else:
            run.append(char)
        i += 1
    pieces.append("".join(run))
    return tuple(piece.lower() for piece in pieces if piece)


def may_match(pattern: str, clean: str) -> bool:
    """False only when PATTERN cannot match CLEAN (a path as :func:`normalize` leaves it):
    an ASCII path that lacks a piece of :func:`required_text`. Spares compiling the patterns
    a path cannot match (a policy has about two hundred; a fix touches a few paths)."""
    if not clean.isascii():
        return True
    folded = clean.lower()
    return all(piece in folded for piece in required_text(pattern))


def glob_match(pattern: str, path: str) -> bool:
    clean = normalize(path)
    return may_match(pattern, clean) and compile_glob(pattern).fullmatch(clean) is not None


def first_match(patterns: Sequence[str], path: str) -> str | None:
    """The first of PATTERNS that matches PATH, or None."""
    return _first_match(tuple(patterns), path)


@lru_cache(maxsize=16_384)
def _first_match(patterns: tuple[str, ...], path: str) -> str | None:
    """:func:`first_match`, remembered: a queue's fixes ask about the same paths under the
    same policy lists again and again (each a few dozen patterns)."""
    clean = normalize(path)
    return next(
        (p for p in patterns if may_match(p, clean) and compile_glob(p).fullmatch(clean)), None
    )


def file_paths(item: FileDiff) -> list[str]:
    """The paths a file change touches: the new one, and the old one when it was renamed."""
    paths = [item.path]
    if item.old_path and item.old_path != item.path:
        paths.append(item.old_path)
    return paths


def match_file(patterns: Sequence[str], item: FileDiff) -> tuple[str, str] | None:
    """(path, pattern) for the first of the file's paths that one of PATTERNS matches."""
    for path in file_paths(item):
        pattern = first_match(patterns, path)
        if pattern is not None:
            return path, pattern
    return None


def is_test_file(patterns: Sequence[str], item: FileDiff) -> bool:
    return match_file(patterns, item) is not None


def is_doc_path(path: str) -> bool:
    """Documentation: a .md/.rst/.txt/.adoc file under docs/ or doc/, or any README*."""
    clean = normalize(path).lower()
    parts = clean.split("/")
    name = parts[-1]
    if name.startswith("readme"):
        return True
    return name.endswith(DOC_SUFFIXES) and any(part in DOC_DIRS for part in parts[:-1])


def documentation_only(files: Iterable[FileDiff]) -> bool:
    """Whether every changed file (and every old name of one) is documentation."""
    items = list(files)
    return bool(items) and all(is_doc_path(p) for item in items for p in file_paths(item))
