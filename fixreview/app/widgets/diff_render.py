"""Textual-free rendering for the diff view: the row index, per-hunk highlighting, row segments.

``DiffView`` (``diff_view.py``) is the widget; this module holds everything it renders with, and
imports Rich and Pygments but not Textual, so it can be benchmarked and tested on its own:

- :func:`build_index` flattens a :class:`~fixreview.repo.diffs.Diff` into one small tuple per
  screen row (file header, note, hunk header, diff line, blank separator) — no styling at all.
- :class:`DiffRenderer` turns one row into Rich :class:`~rich.segment.Segment` objects on demand.
  Pygments highlighting happens lazily per hunk (in chunks of at most ``chunk_lines`` lines, so a
  20,000-line added file never blocks the event loop for long): the old side (context + removed
  lines) and the new side (context + added lines) are lexed as two small documents so that
  multi-line strings and comments colour sensibly. Token lists, not styles, are cached (LRU), so a
  theme change never re-lexes.
- :class:`Palette` is the set of Rich styles a row is drawn with. ``DiffView`` derives it from the
  Textual theme; :func:`pygments_palette` builds one from a Pygments style for use without Textual.

Diff text is untrusted: it only ever becomes ``Segment`` text (never markup), every control or
hidden character is swapped for its visible stand-in from :func:`fixreview.safetext.visible`
(line and paragraph separators too), and those stand-ins are drawn in ``Palette.hidden``.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, TypeAlias

from pygments.lexer import Lexer  # type: ignore[import-untyped]
from pygments.lexers import _fn_matches  # type: ignore[import-untyped]
from pygments.lexers._mapping import LEXERS  # type: ignore[import-untyped]
from pygments.lexers.special import TextLexer  # type: ignore[import-untyped]
from pygments.styles import get_style_by_name  # type: ignore[import-untyped]
from rich.cells import cell_len
from rich.color import Color, ColorType
from rich.segment import Segment
from rich.style import Style

from fixreview.repo.diffs import Diff, DiffLine, FileDiff, Hunk
from fixreview.safetext import pieces, visible

# -- the row index ------------------------------------------------------------------------------

ROW_BLANK: Final = 0
ROW_MESSAGE: Final = 1
ROW_FILE: Final = 2
ROW_NOTE: Final = 3
ROW_HUNK: Final = 4
ROW_LINE: Final = 5

Row: TypeAlias = tuple[int, int, int, int]
"""(kind, file index, hunk or note index, line index within the hunk)."""

_BLANK_ROW: Final[Row] = (ROW_BLANK, 0, 0, 0)
_MESSAGE_ROW: Final[Row] = (ROW_MESSAGE, 0, 0, 0)

STATUS_LETTERS: Final[dict[str, str]] = {
    "added": "A",
    "deleted": "D",
    "modified": "M",
    "renamed": "R",
    "copied": "C",
    "mode-changed": "M",
}

EXTRA_HIDDEN: Final = frozenset("\u2028\u2029")
"""Line and paragraph separators: ``safetext.visible`` keeps them, the diff view does not."""

DEFAULT_TAB_SIZE: Final = 4
CHUNK_LINES: Final = 128
"""A hunk is lexed at most this many lines at a time."""
CHUNK_OVERLAP: Final = 32
"""Lines before a chunk lexed (and thrown away) so constructs that began earlier colour right."""
LONG_LINE: Final = 2000
"""Lines longer than this are shown without highlighting (lexing them can be very slow)."""
HIGHLIGHT_CACHE_SIZE: Final = 256


def file_notes(file: FileDiff) -> tuple[str, ...]:
    """The note rows under a file header: rename/copy, mode change, binary, no content."""
    notes: list[str] = []
    if file.status in ("renamed", "copied") and file.old_path and file.old_path != file.path:
        notes.append(f"{file.status}: {file.old_path} → {file.path}")
    if file.status == "added":
        notes.append(f"new file, mode {file.new_mode}" if file.new_mode else "new file")
    elif file.status == "deleted":
        notes.append(f"deleted file, mode {file.old_mode}" if file.old_mode else "deleted file")
    elif file.old_mode and file.new_mode and file.old_mode != file.new_mode:
        notes.append(f"mode {file.old_mode} → {file.new_mode}")
    if file.binary:
        notes.append("binary file, not shown")
    elif not file.hunks and not notes:
        notes.append("no content changes")
    return tuple(notes)


@dataclass(frozen=True, slots=True)
class RowIndex:
    """The flat list of rows a diff is drawn as, and what navigation needs to know about it."""

    rows: list[Row]
    file_rows: list[int]
    """Row of each file's header."""
    notes: list[tuple[str, ...]]
    """Note texts of each file."""
    number_width: int
    """Cells of each line-number column."""
    code_width: int
    """An upper bound on the cells of the widest code line."""
    message: str


def _estimate_width(text: str, tab_size: int) -> int:
    """An upper bound on the cells TEXT takes once made visible and its tabs expanded."""
    extra_tabs = (tab_size - 1) * text.count("\t")
    if text.isascii():
        return len(text) + extra_tabs  # controls become one-cell pictures
    markers = 8 * sum(text.count(char) for char in EXTRA_HIDDEN)
    return cell_len(visible(text, multiline=False)) + extra_tabs + markers


def build_index(
    diff: Diff | None, empty_message: str = "(no changes)", *, tab_size: int = DEFAULT_TAB_SIZE
) -> RowIndex:
    """Flatten DIFF into rows: one small tuple per row and no styling, so it is cheap."""
    files = diff.files if diff is not None else ()
    rows: list[Row] = []
    append = rows.append
    file_rows: list[int] = []
    all_notes: list[tuple[str, ...]] = []
    largest_number = 1
    code_width = 0
    for file_index, file in enumerate(files):
        if file_index:
            append(_BLANK_ROW)
        file_rows.append(len(rows))
        append((ROW_FILE, file_index, 0, 0))
        notes = file_notes(file)
        all_notes.append(notes)
        for note_index in range(len(notes)):
            append((ROW_NOTE, file_index, note_index, 0))
        for hunk_index, hunk in enumerate(file.hunks):
            append((ROW_HUNK, file_index, hunk_index, 0))
            largest_number = max(
                largest_number,
                hunk.old_start + hunk.old_length,
                hunk.new_start + hunk.new_length,
            )
            for line_index, line in enumerate(hunk.lines):
                append((ROW_LINE, file_index, hunk_index, line_index))
                text = line.text
                if len(text) > code_width or "\t" in text or not text.isascii():
                    code_width = max(code_width, _estimate_width(text, tab_size))
    if not files:
        rows.append(_MESSAGE_ROW)
    return RowIndex(
        rows=rows,
        file_rows=file_rows,
        notes=all_notes,
        number_width=len(str(largest_number)),
        code_width=code_width,
        message=empty_message,
    )


# -- styles ---------------------------------------------------------------------------------------

TokenType: TypeAlias = Any
"""A Pygments token type (``pygments.token._TokenType``: a tuple with a ``parent``)."""


@dataclass
class Palette:
    """The Rich styles rows are drawn with. Every style is complete (background included)."""

    base: Style
    """Blank rows and anything outside the diff."""
    file: Style
    hunk: Style
    note: Style
    """Note rows, the empty message and "\\ No newline at end of file"."""
    hidden: Style
    """Stand-ins for control and hidden characters."""
    lines: dict[str, Style]
    """Line kind ("+", "-", " ") to the style of the whole line (its background tint)."""
    markers: dict[str, Style]
    """Line kind to the style of the +/- marker column."""
    gutters: dict[str, Style]
    """Line kind to the style of the line numbers."""
    tokens: dict[str, dict[TokenType, Style]]
    """Line kind to Pygments token type to style; types not listed inherit from their parent."""
    location: Style = field(default_factory=lambda: Style(reverse=True, bold=True))
    """Added to the gutter of the row :meth:`DiffView.scroll_to_location` found."""
    _memo: dict[tuple[str, TokenType], Style] = field(default_factory=dict, repr=False)

    def token_style(self, kind: str, token_type: TokenType) -> Style:
        """The style of a TOKEN_TYPE token on a line of KIND."""
        key = (kind, token_type)
        style = self._memo.get(key)
        if style is None:
            table = self.tokens.get(kind, {})
            style = self.lines[kind]
            search = token_type
            while search is not None:
                if search in table:
                    style = table[search]
                    break
                search = search.parent
            self._memo[key] = style
        return style


def _luminance(red: int, green: int, blue: int) -> float:
    """WCAG 2 relative luminance."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast_ratio(first: tuple[int, int, int], second: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio of two opaque RGB colours (1 to 21)."""
    a, b = _luminance(*first), _luminance(*second)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def readable(style: Style, minimum: float = 4.5) -> Style:
    """STYLE with its colour moved towards black or white until it has MINIMUM contrast with its
    background. Styles without both colours in true colour (e.g. ANSI themes) are left alone."""
    color, bgcolor = style.color, style.bgcolor
    if (
        color is None
        or bgcolor is None
        or color.type != ColorType.TRUECOLOR
        or bgcolor.type != ColorType.TRUECOLOR
    ):
        return style
    red, green, blue = color.get_truecolor()
    background = bgcolor.get_truecolor()
    if contrast_ratio((red, green, blue), background) >= minimum:
        return style
    to_white = contrast_ratio((255, 255, 255), background) > contrast_ratio((0, 0, 0), background)
    end = 255 if to_white else 0
    mixed = (red, green, blue)
    for step in range(1, 11):
        share = step / 10
        mixed = (
            round(red + (end - red) * share),
            round(green + (end - green) * share),
            round(blue + (end - blue) * share),
        )
        if contrast_ratio(mixed, background) >= minimum:
            break
    return style + Style(color=Color.from_rgb(*mixed))


def pygments_palette(dark: bool = True, style_name: str | None = None) -> Palette:
    """A palette without Textual: token colours from a Pygments style, fixed tints for lines.

    The widget derives its palette from the Textual theme instead; this one serves benchmarks,
    tests of the pure renderer, and any caller that renders diffs outside the app.
    """
    pygments_style = get_style_by_name(style_name or ("monokai" if dark else "default"))
    background = "#272822" if dark else "#ffffff"
    foreground = "#f8f8f2" if dark else "#000000"
    tints = (
        {"+": "#1f3d24", "-": "#4a1f24", " ": background}
        if dark
        else {"+": "#dcf5dc", "-": "#f8dcdc", " ": background}
    )
    base = Style(color=foreground, bgcolor=background)
    lines = {kind: Style(color=foreground, bgcolor=tint) for kind, tint in tints.items()}
    token_overlay: dict[TokenType, Style] = {}
    for token_type, spec in pygments_style:
        token_overlay[token_type] = Style(
            color=f"#{spec['color']}" if spec["color"] else None,
            bold=spec["bold"] or None,
            italic=spec["italic"] or None,
            underline=spec["underline"] or None,
        )
    return Palette(
        base=base,
        file=Style(color=foreground, bgcolor="#3b4a6b" if dark else "#cfd8ea", bold=True),
        hunk=Style(color="#66d9ef" if dark else "#0050a0", bgcolor=background, bold=True),
        note=Style(color="#e6db74" if dark else "#7a5c00", bgcolor=background, italic=True),
        hidden=Style(color="#ffffff", bgcolor="#d01010", bold=True),
        lines=lines,
        markers={kind: style + Style(bold=True) for kind, style in lines.items()},
        gutters={
            kind: style + Style(color="#75715e" if dark else "#808080")
            for kind, style in lines.items()
        },
        tokens={
            kind: {t: readable(style + overlay) for t, overlay in token_overlay.items()}
            for kind, style in lines.items()
        },
    )


# -- untrusted text to segments -------------------------------------------------------------------


def safe_pieces(text: str) -> Iterator[tuple[str, bool]]:
    """TEXT as (piece, is_stand_in) pairs: runs of plain text and stand-ins of hidden characters.

    The stand-ins and what counts as hidden are :func:`fixreview.safetext.pieces`' (one line).
    """
    return pieces(text, multiline=False)


def append_safe(
    segments: list[Segment],
    text: str,
    style: Style,
    hidden: Style,
    column: int,
    tab_size: int = DEFAULT_TAB_SIZE,
) -> int:
    """Append untrusted TEXT to SEGMENTS, starting at cell COLUMN; return the column after it.

    Controls and hidden characters become visible stand-ins drawn in HIDDEN; tabs become spaces
    up to the next tab stop.
    """
    for piece, stand_in in safe_pieces(text):
        if stand_in:
            segments.append(Segment(piece, hidden))
            column += cell_len(piece)
            continue
        if "\t" not in piece:
            segments.append(Segment(piece, style))
            column += cell_len(piece)
            continue
        parts = piece.split("\t")
        for number, part in enumerate(parts):
            if part:
                segments.append(Segment(part, style))
                column += cell_len(part)
            if number < len(parts) - 1:
                spaces = tab_size - column % tab_size if tab_size > 0 else 1
                segments.append(Segment(" " * spaces, style))
                column += spaces
    return column


def _lexable(text: str) -> str:
    """TEXT with every character needing a stand-in replaced by a space (same length).

    Pygments rewrites ``\\r`` and drops a leading BOM, which would shift token offsets; this keeps
    the offsets of what the lexer sees equal to those of the real line.
    """
    return "".join(" " if stand_in else piece for piece, stand_in in pieces(text, multiline=False))


# -- highlighting ------------------------------------------------------------------------------

LineTokens: TypeAlias = tuple[tuple[TokenType, int], ...]
"""(token type, length in characters) for one line; lengths add up to the line's length."""

_LEXER_CACHE: dict[str, Lexer | None] = {}
_LEXER_LOCK = threading.Lock()


def lexer_for_path(path: str) -> Lexer | None:
    """A Pygments lexer for PATH's file name, or None for plain text (cached per file name):
    Pygments' own choice among its built-in lexers (:func:`builtin_lexer_class`). The first
    call compiles every lexer's file name patterns (about 40 ms), so the widget calls this from
    a thread worker."""
    name = os.path.basename(path) or path
    with _LEXER_LOCK:
        if name in _LEXER_CACHE:
            return _LEXER_CACHE[name]
    lexer: Lexer | None = None
    found = builtin_lexer_class(name)
    if found is not None and not issubclass(found, TextLexer):
        lexer = found(stripnl=False, ensurenl=True)
    with _LEXER_LOCK:
        _LEXER_CACHE[name] = lexer
    return lexer


def builtin_lexer_class(name: str) -> type[Lexer] | None:
    """The lexer class ``pygments.lexers.get_lexer_for_filename`` picks for file NAME among
    Pygments' built-in lexers (the highest priority, a pattern without ``*`` counting half a
    point more, then the class name), or None. Lexers installed as plugins are not looked for:
    finding them reads every installed distribution's entry points, which cost 0.36 s of CPU
    and 37 MB on the benchmark machine, on the first diff opened."""
    matches: list[tuple[float, str, type[Lexer]]] = []
    for class_name, (module, _, _, patterns, _) in LEXERS.items():
        for pattern in patterns:
            if _fn_matches(name, pattern):
                found: type[Lexer] = getattr(importlib.import_module(module), class_name)
                bonus = 0.5 if "*" not in pattern else 0
                matches.append((found.priority + bonus, found.__name__, found))
    if not matches:
        return None
    return max(matches, key=lambda match: (match[0], match[1]))[2]


def lex_lines(lexer: Lexer, texts: Sequence[str]) -> list[LineTokens | None]:
    """Lex TEXTS as one document; the tokens of each line, or None where it is not highlighted."""
    lexable = ["" if len(text) > LONG_LINE else _lexable(text) for text in texts]
    per_line: list[list[tuple[TokenType, int]]] = [[]]
    for token_type, value in lexer.get_tokens("\n".join(lexable) + "\n"):
        if "\n" not in value:
            if value:
                per_line[-1].append((token_type, len(value)))
            continue
        for number, part in enumerate(value.split("\n")):
            if number:
                per_line.append([])
            if part:
                per_line[-1].append((token_type, len(part)))
    result: list[LineTokens | None] = []
    for number, text in enumerate(texts):
        tokens = per_line[number] if number < len(per_line) else None
        if (
            tokens is None
            or len(text) > LONG_LINE
            or sum(length for _, length in tokens) != len(text)
        ):
            result.append(None)
        else:
            result.append(tuple(tokens))
    return result


def highlight_chunk(
    lexer: Lexer, lines: Sequence[DiffLine], start: int, stop: int, overlap: int = CHUNK_OVERLAP
) -> tuple[LineTokens | None, ...]:
    """Tokens for LINES[START:STOP] of a hunk: old and new sides lexed as two documents.

    Removed lines take their tokens from the old side, added and context lines from the new.
    Up to OVERLAP lines before START are lexed too, for constructs that began before the chunk.
    """
    result: list[LineTokens | None] = [None] * (stop - start)
    old_texts: list[str] = []
    old_targets: list[int] = []
    new_texts: list[str] = []
    new_targets: list[int] = []
    for number in range(max(0, start - overlap), stop):
        line = lines[number]
        kind = line.kind
        target = number - start if number >= start else -1
        if kind == "-" or kind == " ":
            old_texts.append(line.text)
            old_targets.append(target if kind == "-" else -1)
        if kind == "+" or kind == " ":
            new_texts.append(line.text)
            new_targets.append(target)
    for texts, targets in ((old_texts, old_targets), (new_texts, new_targets)):
        if all(target < 0 for target in targets):
            continue
        for target, tokens in zip(targets, lex_lines(lexer, texts), strict=True):
            if target >= 0:
                result[target] = tokens
    return tuple(result)


# -- rendering rows -------------------------------------------------------------------------------


class RenderedRow(NamedTuple):
    """One row: FIXED never scrolls sideways; CODE (diff lines only) does, padded with FILL."""

    fixed: list[Segment]
    fixed_width: int
    code: list[Segment] | None
    code_width: int
    fill: Style


class DiffRenderer:
    """Renders the rows of one diff, highlighting hunks the first time one of their rows shows."""

    def __init__(
        self,
        diff: Diff | None,
        *,
        empty_message: str = "(no changes)",
        tab_size: int = DEFAULT_TAB_SIZE,
        chunk_lines: int = CHUNK_LINES,
        cache_size: int = HIGHLIGHT_CACHE_SIZE,
    ) -> None:
        self.diff = diff
        self.files: tuple[FileDiff, ...] = diff.files if diff is not None else ()
        self.tab_size = tab_size
        self.chunk_lines = max(1, chunk_lines)
        self.cache_size = max(1, cache_size)
        self.index = build_index(diff, empty_message, tab_size=tab_size)
        self.fixed_width = 2 * self.index.number_width + 4
        """Cells of the line-number gutters and the marker column."""
        self._lexers: dict[int, Lexer | None] | None = None
        self._highlights: OrderedDict[tuple[int, int, int], tuple[LineTokens | None, ...]] = (
            OrderedDict()
        )

    # -- sizes ----------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.index.rows)

    @property
    def width(self) -> int:
        """Cells needed to show the widest line in full."""
        return self.fixed_width + self.index.code_width

    # -- lexers and highlight cache -------------------------------------------------------------

    @property
    def lexers_ready(self) -> bool:
        return self._lexers is not None

    def resolve_lexers(self) -> None:
        """Find each file's lexer. Blocking (may import lexer modules): run it in a thread."""
        lexers: dict[int, Lexer | None] = {}
        for number, file in enumerate(self.files):
            if file.binary or not file.hunks:
                continue
            try:
                lexers[number] = lexer_for_path(file.path)
            except Exception:  # a broken Pygments plugin must not break the diff view
                lexers[number] = None
        self._lexers = lexers

    @property
    def highlighted_chunks(self) -> int:
        """How many hunk chunks have token lists cached (a hunk under CHUNK_LINES is one)."""
        return len(self._highlights)

    def line_tokens(self, file_index: int, hunk_index: int, line_index: int) -> LineTokens | None:
        """The tokens of one diff line, lexing its chunk of the hunk on first use."""
        lexers = self._lexers
        if lexers is None:
            return None
        lexer = lexers.get(file_index)
        if lexer is None:
            return None
        chunk = line_index // self.chunk_lines
        key = (file_index, hunk_index, chunk)
        cached = self._highlights.get(key)
        if cached is None:
            lines = self.files[file_index].hunks[hunk_index].lines
            start = chunk * self.chunk_lines
            stop = min(len(lines), start + self.chunk_lines)
            cached = highlight_chunk(lexer, lines, start, stop)
            self._highlights[key] = cached
            if len(self._highlights) > self.cache_size:
                self._highlights.popitem(last=False)
        else:
            self._highlights.move_to_end(key)
        return cached[line_index - chunk * self.chunk_lines]

    # -- rows -----------------------------------------------------------------------------------

    def render_row(
        self, row: int, width: int, palette: Palette, *, marked: bool = False
    ) -> RenderedRow:
        """Segments for ROW at WIDTH cells. MARKED highlights the gutter (a located line)."""
        kind, file_index, second, line_index = self.index.rows[row]
        if kind == ROW_LINE:
            return self._render_line(file_index, second, line_index, palette, marked)
        segments: list[Segment] = []
        style = palette.base
        if kind == ROW_FILE:
            style = palette.file
            self._file_header(segments, self.files[file_index], width, palette)
        elif kind == ROW_HUNK:
            style = palette.hunk
            hunk = self.files[file_index].hunks[second]
            append_safe(segments, hunk.header, style, palette.hidden, 0, self.tab_size)
        elif kind == ROW_NOTE:
            style = palette.note
            note = self.index.notes[file_index][second]
            indent = " " * self.fixed_width
            segments.append(Segment(indent, style))
            append_safe(segments, note, style, palette.hidden, len(indent), self.tab_size)
        elif kind == ROW_MESSAGE:
            style = palette.note
            segments.append(Segment(" ", style))
            append_safe(segments, self.index.message, style, palette.hidden, 1, self.tab_size)
        segments = list(Segment.adjust_line_length(segments, width, style, pad=True))
        return RenderedRow(segments, width, None, 0, style)

    def _file_header(
        self, segments: list[Segment], file: FileDiff, width: int, palette: Palette
    ) -> None:
        style = palette.file
        letter = STATUS_LETTERS.get(file.status, "?")
        segments.append(Segment(f" {letter} ", style + Style(reverse=True)))
        segments.append(Segment(" ", style))
        column = append_safe(segments, file.display_path, style, palette.hidden, 4, self.tab_size)
        counts = "binary " if file.binary else f"+{file.added} -{file.removed} "
        gap = width - column - len(counts)
        segments.append(Segment(" " * max(2, gap), style))
        segments.append(Segment(counts, style))

    def _render_line(
        self, file_index: int, hunk_index: int, line_index: int, palette: Palette, marked: bool
    ) -> RenderedRow:
        hunk: Hunk = self.files[file_index].hunks[hunk_index]
        line = hunk.lines[line_index]
        kind = line.kind
        digits = self.index.number_width
        old = "" if line.old_no is None else str(line.old_no)
        new = "" if line.new_no is None else str(line.new_no)
        if kind == "\\":
            line_style = palette.note
            gutter = line_style
            marker_style = line_style
        else:
            line_style = palette.lines[kind]
            gutter = palette.gutters[kind]
            marker_style = palette.markers[kind]
        if marked:
            gutter = gutter + palette.location
        fixed = [
            Segment(f"{old:>{digits}} {new:>{digits}} ", gutter),
            Segment(f"{kind} ", marker_style),
        ]
        code: list[Segment] = []
        text = line.text
        tokens = None if kind == "\\" else self.line_tokens(file_index, hunk_index, line_index)
        if tokens is None:
            column = append_safe(code, text, line_style, palette.hidden, 0, self.tab_size)
        else:
            column = 0
            position = 0
            hidden = palette.hidden
            token_style = palette.token_style
            for token_type, length in tokens:
                piece = text[position : position + length]
                position += length
                column = append_safe(
                    code, piece, token_style(kind, token_type), hidden, column, self.tab_size
                )
        return RenderedRow(fixed, self.fixed_width, code, column, line_style)

    def render_text(self, row: int, width: int, palette: Palette) -> str:
        """The plain text of ROW as it would be drawn at WIDTH with no horizontal scroll."""
        rendered = self.render_row(row, width, palette)
        text = "".join(segment.text for segment in rendered.fixed)
        if rendered.code is not None:
            text += "".join(segment.text for segment in rendered.code)
        return text
