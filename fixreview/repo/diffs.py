"""Parsed diffs: files, hunks and lines, from git's unified diff text via ``unidiff``.

A :class:`Diff` keeps the raw text it was parsed from. Binary files, renames, copies, mode
changes, additions and deletions are all represented; line records are named tuples, so that
a 20,000-line diff stays cheap to build and to hold. unidiff reads each file's headers and checks
every hunk; the hunks' lines are read from the text in one pass beside it (:func:`_hunk_lines`,
checked against unidiff's full parse by tests/test_diff_reading.py).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from unidiff.errors import UnidiffParseError
from unidiff.patch import Hunk as UnidiffHunk
from unidiff.patch import PatchSet

from fixreview.errors import InputError
from fixreview.heap import collector_paused

FileStatus = Literal["added", "deleted", "modified", "renamed", "copied", "mode-changed"]
LineKind = Literal["+", "-", " ", "\\"]


class DiffLine(NamedTuple):
    """One line of a hunk (a named tuple: a 100,000-line diff builds 200,000 of them)."""

    kind: LineKind
    old_no: int | None
    new_no: int | None
    text: str


@dataclass(frozen=True, slots=True)
class Hunk:
    old_start: int
    old_length: int
    new_start: int
    new_length: int
    section: str
    lines: tuple[DiffLine, ...]

    @property
    def header(self) -> str:
        tail = f" {self.section}" if self.section else ""
        return (
            f"@@ -{self.old_start},{self.old_length} +{self.new_start},{self.new_length} @@{tail}"
        )


@dataclass(frozen=True, slots=True)
class FileDiff:
    path: str
    old_path: str | None
    new_path: str | None
    status: FileStatus
    binary: bool
    old_mode: str | None
    new_mode: str | None
    added: int
    removed: int
    hunks: tuple[Hunk, ...]
    header: str

    @property
    def display_path(self) -> str:
        if self.status in ("renamed", "copied") and self.old_path and self.old_path != self.path:
            return f"{self.old_path} → {self.path}"
        return self.path


@dataclass(frozen=True)
class Diff:
    files: tuple[FileDiff, ...]
    raw: str = field(repr=False)
    total_lines: int | None = None
    """Set on a preview (:func:`diff_preview`): the line count of the whole diff text, of which
    this is the beginning. None: this is the whole diff."""

    @property
    def partial(self) -> bool:
        return self.total_lines is not None

    @property
    def added(self) -> int:
        return sum(f.added for f in self.files)

    @property
    def removed(self) -> int:
        return sum(f.removed for f in self.files)

    def paths(self) -> list[str]:
        return [f.path for f in self.files]

    def file(self, path: str) -> FileDiff | None:
        return next((f for f in self.files if f.path == path or f.old_path == path), None)


EMPTY_DIFF = Diff(files=(), raw="")


def parse_diff(text: str) -> Diff:
    """Parse git's diff output (``--binary`` patches included). The same text is parsed once
    per process (a Diff never changes): a suggestion nobody changed is the final diff's text."""
    if not text.strip():
        return EMPTY_DIFF
    with collector_paused():  # a line object for every line, and no garbage cycle
        return _parse(text)


@functools.lru_cache(maxsize=4)
def _parse(text: str) -> Diff:
    """TEXT read by unidiff: its files and hunks from a metadata-only parse (every line's kind
    and every hunk's counts checked, no line object built), the hunks' lines by
    :func:`_hunk_lines`; a text whose shape that reading does not know is parsed in full."""
    try:
        patch = PatchSet(text, metadata_only=True)
    except UnidiffParseError as exc:
        raise InputError(f"cannot parse diff: {exc}") from None
    lines = _hunk_lines(text, [hunk for item in patch for hunk in item])
    if lines is None:
        return _parse_in_full(text)
    found = iter(lines)
    return Diff(files=tuple(_file(item, found) for item in patch), raw=text)


def _parse_in_full(text: str) -> Diff:
    """TEXT read by unidiff's full parse, a line object for every line: what :func:`_parse`
    gives, the slower way (and the oracle its tests compare it with)."""
    try:
        patch = PatchSet(text)
    except UnidiffParseError as exc:
        raise InputError(f"cannot parse diff: {exc}") from None
    return Diff(files=tuple(_file(item) for item in patch), raw=text)


_NO_NEWLINE = "\\ No newline at end of file"
_NO_NEWLINE_LINE = DiffLine("\\", None, None, " No newline at end of file")


def _hunk_lines(text: str, hunks: list[UnidiffHunk]) -> list[tuple[DiffLine, ...]] | None:
    """The lines of HUNKS (unidiff's metadata-only hunks of TEXT, in order), read from TEXT
    as unidiff's full parse reads them: a body line's kind is its first character (a bare
    newline is an empty context line), the line numbers count from the hunk's header, a hunk
    ends when its counts are met, and a ``\\ No newline at end of file`` after it belongs to it.

    None, for the full parse to decide, wherever unidiff's reading depends on more than this:
    a line starting with ``@`` that is not a hunk header, a ``\\`` or ``+++`` line or a bare
    newline right after a hunk, a body line of any other kind, a hunk that does not line up
    with unidiff's (its header, its end, its counts)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the text's last newline ends its last line
    found: list[tuple[DiffLine, ...]] = []
    count, i = len(lines), 0
    after_hunk = False
    while i < count:
        line = lines[i]
        if not line.startswith(("@", "\\")) and not (
            after_hunk and (not line or line.startswith("+++"))
        ):
            after_hunk = False
            i += 1
            continue
        if after_hunk and line.startswith(_NO_NEWLINE):
            found[-1] += (_NO_NEWLINE_LINE,)
            i += 1
            continue
        if len(found) == len(hunks) or not line.startswith("@@ -"):
            return None
        hunk = hunks[len(found)]
        header = _UNIDIFF_HUNK_HEADER.match(line)
        if header is None or (hunk.source_length == 0 and hunk.target_length == 0):
            return None
        old_no, new_no = hunk.source_start, hunk.target_start
        old_end, new_end = old_no + hunk.source_length, new_no + hunk.target_length
        body: list[DiffLine] = []
        i += 1
        while old_no < old_end or new_no < new_end:
            if i == count:
                return None
            line = lines[i]
            i += 1
            kind = line[:1]
            if kind == "+":
                body.append(DiffLine("+", None, new_no, line[1:]))
                new_no += 1
            elif kind == "-":
                body.append(DiffLine("-", old_no, None, line[1:]))
                old_no += 1
            elif kind == " " or not line:
                body.append(DiffLine(" ", old_no, new_no, line[1:]))
                old_no += 1
                new_no += 1
            elif kind == "\\":
                body.append(DiffLine("\\", None, None, line[1:]))
            else:
                return None
        if old_no != old_end or new_no != new_end:
            return None
        found.append(tuple(body))
        after_hunk = True
    return found if len(found) == len(hunks) else None


# a hunk header as unidiff reads one (unidiff.constants.RE_HUNK_HEADER)
_UNIDIFF_HUNK_HEADER = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))?\ @@[ ]?(.*)")
# a hunk header as git writes it: the counts may be left out when they are 1
_HUNK_HEADER = re.compile(r"@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)", re.DOTALL)


def diff_preview(text: str, max_lines: int) -> Diff | None:
    """The first MAX_LINES lines of the diff TEXT as a diff of their own, or None when TEXT is
    no longer than that (parse the whole, it is cheap) or its beginning has no hunk to show.

    What a reviewer sees while a huge diff is parsed: the files and hunks up to the cut, the
    hunk cut in two ending where the preview ends (its header's counts are those of the lines
    kept, so the preview parses like any diff). A file whose header the cut splits is left out.
    Never a decision's input: only the whole diff is hashed, checked or judged."""
    lines = text.split("\n", max_lines)
    if len(lines) <= max_lines or not lines[-1]:
        return None
    total = max_lines + lines[-1].count("\n") + (not lines[-1].endswith("\n"))
    kept = lines[:max_lines]
    last = next(
        (i for i in range(len(kept) - 1, -1, -1) if kept[i].startswith(("@@ ", "diff --git "))),
        None,
    )
    if last is None:
        return None
    if kept[last].startswith("diff --git "):
        kept = kept[:last]  # the cut falls in this file's header: leave the file out
    else:
        header = _HUNK_HEADER.fullmatch(kept[last])
        if header is None:
            return None
        body = kept[last + 1 :]
        kinds = [line[:1] for line in body]
        old = kinds.count(" ") + kinds.count("-")
        new = kinds.count(" ") + kinds.count("+")
        if not body:
            kept = kept[:last]
        else:
            kept[last] = f"@@ -{header[1]},{old} +{header[2]},{new} @@{header[3]}"
    if not any(line.startswith("@@ ") for line in kept):
        return None
    try:
        whole = parse_diff("\n".join(kept) + "\n")
    except InputError:
        return None
    return Diff(files=whole.files, raw=whole.raw, total_lines=total)


_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def git_unquote(path: str) -> str:
    """A path as git quotes it (``"caf\\303\\251.md"``, core.quotePath) in plain text."""
    if len(path) < 2 or path[0] != '"' or path[-1] != '"':
        return path
    body, out, i = path[1:-1], bytearray(), 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            octal = body[i + 1 : i + 4]
            if len(octal) == 3 and all(c in "01234567" for c in octal):
                out.append(int(octal, 8) & 0xFF)
                i += 4
                continue
            out.append(_ESCAPES.get(body[i + 1], ord(body[i + 1]) & 0xFF))
            i += 2
            continue
        out.extend(char.encode("utf-8"))
        i += 1
    return out.decode("utf-8", "replace")


def _strip_prefix(name: str | None) -> str | None:
    if name is None or name == "/dev/null":
        return None
    name = git_unquote(name)
    if name.startswith(("a/", "b/")):
        return name[2:]
    return name


def _file(item: object, lines: Iterator[tuple[DiffLine, ...]] | None = None) -> FileDiff:
    """ITEM, one file of unidiff's PatchSet, as a FileDiff; LINES: its hunks' lines, in order,
    when ITEM was parsed for its metadata only (:func:`_hunk_lines`), else taken from ITEM."""
    from unidiff.patch import PatchedFile

    assert isinstance(item, PatchedFile)
    info = str(item.patch_info or "")
    old_mode = new_mode = None
    copied = False
    for line in info.splitlines():
        if line.startswith("old mode "):
            old_mode = line.removeprefix("old mode ").strip()
        elif line.startswith("new mode "):
            new_mode = line.removeprefix("new mode ").strip()
        elif line.startswith("new file mode "):
            new_mode = line.removeprefix("new file mode ").strip()
        elif line.startswith("deleted file mode "):
            old_mode = line.removeprefix("deleted file mode ").strip()
        elif line.startswith("copy from "):
            copied = True
    old_path = _strip_prefix(item.source_file)
    new_path = _strip_prefix(item.target_file)
    if item.is_added_file:
        status: FileStatus = "added"
    elif item.is_removed_file:
        status = "deleted"
    elif item.is_rename:
        status = "copied" if copied else "renamed"
    elif copied:
        status = "copied"
    elif len(item) == 0 and not item.is_binary_file and old_mode and new_mode:
        status = "mode-changed"
    else:
        status = "modified"
    hunks = tuple(
        Hunk(
            old_start=h.source_start,
            old_length=h.source_length,
            new_start=h.target_start,
            new_length=h.target_length,
            section=h.section_header or "",
            lines=next(lines)
            if lines is not None
            else tuple(
                DiffLine(
                    kind=line.line_type if line.line_type in "+- \\" else " ",  # type: ignore[arg-type]
                    old_no=line.source_line_no,
                    new_no=line.target_line_no,
                    text=line.value.rstrip("\n"),
                )
                for line in h
            ),
        )
        for h in item
    )
    path = git_unquote(item.path)
    return FileDiff(
        path=path,
        old_path=old_path,
        new_path=new_path,
        status=status,
        binary=bool(item.is_binary_file),
        old_mode=old_mode,
        new_mode=new_mode,
        added=item.added,
        removed=item.removed,
        hunks=hunks,
        header=info,
    )
