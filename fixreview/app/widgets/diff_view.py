"""``DiffView``: a lazily rendered, syntax-highlighted diff widget built on Textual's Line API.

Modelled on Toolong's ``LogLines``: a ``ScrollView`` whose ``render_line`` draws only the rows on
screen, with an LRU cache of rendered strips keyed by (row, width, style generation).
:meth:`DiffView.set_diff` only builds a flat row index (see ``diff_render.py``, which holds the
Textual-free rendering); hunks are lexed with Pygments the first time one of their rows shows, and
each file's lexer is looked up in a thread worker, once the rows are drawn (they show uncoloured
until it is done).

Colours come from the Textual theme: the line tints, headers, gutter, notes and hidden-character
stand-ins are component classes (``diff-view--*``, restyle them in CSS), and token colours are
Textual's own ``HighlightTheme`` (the one ``TextArea`` and ``Markdown`` use) resolved against the
theme's variables and blended over each line's tint, so every theme — light, dark, user TOML —
colours code consistently. Theme changes and CSS updates bump the style generation. An app with
its own theme variables restyles the classes in its CSS, for example::

    DiffView > .diff-view--added { background: $diff-added-background;
                                   color: $diff-added-foreground; }

Added and removed lines carry both a ``+``/``-`` marker and a tint, so colour is never the only
signal. Diff text is untrusted: it becomes plain ``Segment`` text only, with control and hidden
characters replaced by visible stand-ins drawn in the ``diff-view--hidden-char`` style.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import ClassVar

from rich.style import Style
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.color import Color
from textual.geometry import Size
from textual.highlight import HighlightTheme
from textual.markup import parse_style
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style as VisualStyle
from textual.theme import Theme

from fixreview.app.widgets.diff_render import (
    DEFAULT_TAB_SIZE,
    ROW_HUNK,
    ROW_LINE,
    DiffRenderer,
    Palette,
    TokenType,
    readable,
)
from fixreview.repo.diffs import Diff

LOCATION_CONTEXT = 3
"""Rows shown above a line that :meth:`DiffView.scroll_to_location` jumps to."""


_VARIABLE = re.compile(r"\$([A-Za-z0-9_-]+)")  # a CSS variable in a highlight theme's style


class DiffView(ScrollView, can_focus=True, inherit_bindings=False):
    """A scrollable, syntax-highlighted view of a :class:`~fixreview.repo.diffs.Diff`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "scroll_up", "Scroll up", show=False, id="diff-view.scroll-up"),
        Binding("down", "scroll_down", "Scroll down", show=False, id="diff-view.scroll-down"),
        Binding("left", "scroll_left", "Scroll left", show=False, id="diff-view.scroll-left"),
        Binding("right", "scroll_right", "Scroll right", show=False, id="diff-view.scroll-right"),
        Binding("home", "scroll_home", "Top", show=False, id="diff-view.scroll-home"),
        Binding("end", "scroll_end", "Bottom", show=False, id="diff-view.scroll-end"),
        Binding("pageup", "page_up", "Page up", show=False, id="diff-view.page-up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="diff-view.page-down"),
        Binding("ctrl+pageup", "page_left", "Page left", show=False, id="diff-view.page-left"),
        Binding("ctrl+pagedown", "page_right", "Page right", show=False, id="diff-view.page-right"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "diff-view--added",
        "diff-view--removed",
        "diff-view--context",
        "diff-view--hunk",
        "diff-view--file",
        "diff-view--hidden-char",
        "diff-view--note",
        "diff-view--gutter",
    }

    DEFAULT_CSS = """
    DiffView {
        background: $surface;
        color: $foreground;
        & > .diff-view--added { background: $success 15%; }
        & > .diff-view--removed { background: $error 15%; }
        & > .diff-view--context { }
        & > .diff-view--hunk { background: $primary 10%; color: $primary; text-style: bold; }
        & > .diff-view--file { background: $primary 30%; color: $foreground; text-style: bold; }
        & > .diff-view--hidden-char { background: $error; color: $text; text-style: bold; }
        & > .diff-view--note { color: $warning; text-style: italic; }
        & > .diff-view--gutter { color: $text-muted; }
    }
    """

    HIGHLIGHT_THEME: ClassVar[type[HighlightTheme]] = HighlightTheme
    """Token type to Textual style (``$variables`` allowed); swap it to recolour code."""

    class CurrentFileChanged(Message):
        """The file at the top of the view changed (scrolling or navigation)."""

        def __init__(self, diff_view: DiffView, index: int) -> None:
            super().__init__()
            self.diff_view = diff_view
            self.index = index
            """Index of the file now current; -1 when the diff has no files."""

        @property
        def control(self) -> DiffView:
            return self.diff_view

    class _LexersReady(Message, bubble=False):
        def __init__(self, renderer: DiffRenderer) -> None:
            super().__init__()
            self.renderer = renderer

    def __init__(
        self,
        diff: Diff | None = None,
        *,
        empty_message: str = "(no changes)",
        tab_size: int = DEFAULT_TAB_SIZE,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.tab_size = tab_size
        self._strip_cache: LRUCache[tuple[int, int, int, bool], tuple[Strip, Strip | None, Style]]
        self._strip_cache = LRUCache(maxsize=1024)
        self._palette: Palette | None = None
        self._generation = 0
        self._renderer = DiffRenderer(diff, empty_message=empty_message, tab_size=tab_size)
        self._marked_row: int | None = None
        self._nav: tuple[int, int] | None = None
        """(file index, row) of the last navigation, for files too near the end to reach top."""
        self._reported_file: int | None = None
        self._update_virtual_size()

    # -- content ---------------------------------------------------------------------------------

    def set_diff(
        self, diff: Diff | None, *, empty_message: str = "(no changes)", keep_position: bool = False
    ) -> None:
        """Show DIFF (None or an empty diff shows EMPTY_MESSAGE) from the top, or where the view
        is scrolled to when KEEP_POSITION (the whole of a diff whose beginning is shown)."""
        self._renderer = DiffRenderer(diff, empty_message=empty_message, tab_size=self.tab_size)
        self._strip_cache.clear()
        self._marked_row = None
        self._nav = None
        self._update_virtual_size()
        if self.is_mounted and not keep_position:
            self.scroll_to(0, 0, animate=False, force=True)
        self.call_after_refresh(self._start_lexers)  # the rows are drawn first
        self.refresh()
        self._report_file()

    @property
    def diff(self) -> Diff | None:
        return self._renderer.diff

    @property
    def row_count(self) -> int:
        return self._renderer.row_count

    @property
    def file_count(self) -> int:
        return len(self._renderer.files)

    @property
    def highlighted_hunk_count(self) -> int:
        """Hunk chunks lexed and cached so far (each hunk under 128 lines is one chunk)."""
        return self._renderer.highlighted_chunks

    @property
    def lexers_ready(self) -> bool:
        """True once each file's Pygments lexer is known (highlighting starts then)."""
        return self._renderer.lexers_ready

    @property
    def marked_row(self) -> int | None:
        """The row :meth:`scroll_to_location` found (its gutter is highlighted), if any."""
        return self._marked_row

    def _update_virtual_size(self) -> None:
        renderer = self._renderer
        self.virtual_size = Size(renderer.width, renderer.row_count)

    # -- navigation ------------------------------------------------------------------------------

    def file_at_row(self, row: int) -> int:
        """Index of the file ROW belongs to; -1 when the diff has no files."""
        file_rows = self._renderer.index.file_rows
        if not file_rows:
            return -1
        return max(0, bisect_right(file_rows, row) - 1)

    def file_row(self, index: int) -> int:
        """The row of file INDEX's header."""
        return self._renderer.index.file_rows[index]

    @property
    def current_file_index(self) -> int:
        """The file at the top of the viewport (or the one last navigated to, when a file near
        the end cannot scroll to the top); -1 when the diff has no files."""
        top = round(self.scroll_y)
        if self._nav is not None:
            file_index, row = self._nav
            if top == min(row, self.max_scroll_y):
                return file_index
        return self.file_at_row(top)

    def scroll_to_file(self, index: int) -> bool:
        """Scroll so file INDEX's header is at the top; False if there is no such file."""
        if not 0 <= index < self.file_count:
            return False
        self._scroll_to_row(self.file_row(index), index)
        return True

    def next_file(self) -> bool:
        """Scroll to the next file's header; False at the last file."""
        return self.scroll_to_file(self.current_file_index + 1) if self.file_count else False

    def previous_file(self) -> bool:
        """Scroll to the current file's header, or the previous file's when already there."""
        current = self.current_file_index
        if current < 0:
            return False
        top = round(self.scroll_y)
        at_header = (
            self._nav is not None
            and self._nav[0] == current
            and (top == min(self._nav[1], self.max_scroll_y))
        )
        if not at_header and top > self.file_row(current):
            return self.scroll_to_file(current)
        return self.scroll_to_file(current - 1)

    def find_location(self, path: str, line: int | None) -> tuple[int, int, bool] | None:
        """(file index, row, exact) for PATH at new line LINE: the row showing that line, else
        the nearest hunk header, else the file header; None when PATH is not in the diff."""
        files = self._renderer.files
        file_index = next(
            (n for n, f in enumerate(files) if path in (f.path, f.new_path, f.old_path)), None
        )
        if file_index is None:
            return None
        header = self.file_row(file_index)
        file = files[file_index]
        if line is None or not file.hunks:
            return file_index, header, False
        rows = self._renderer.index.rows
        file_rows = self._renderer.index.file_rows
        end = file_rows[file_index + 1] if file_index + 1 < len(file_rows) else len(rows)
        old_side = file.status == "deleted"
        best_row, best_distance = header, -1
        for row in range(header, end):
            kind, _, hunk_index, line_index = rows[row]
            if kind == ROW_LINE:
                diff_line = file.hunks[hunk_index].lines[line_index]
                if (diff_line.old_no if old_side else diff_line.new_no) == line:
                    return file_index, row, True
            elif kind == ROW_HUNK:
                hunk = file.hunks[hunk_index]
                start, length = (
                    (hunk.old_start, hunk.old_length)
                    if old_side
                    else (hunk.new_start, hunk.new_length)
                )
                last = start + max(length, 1) - 1
                distance = 0 if start <= line <= last else min(abs(line - start), abs(line - last))
                if best_distance < 0 or distance < best_distance:
                    best_row, best_distance = row, distance
        return file_index, best_row, False

    def scroll_to_location(self, path: str, line: int | None) -> bool:
        """Jump to PATH at new line number LINE (the nearest hunk, else the file header, when no
        row shows that line). An exact line gets a highlighted gutter and a few rows of context
        above it. Returns False, without scrolling, when PATH is not in the diff."""
        found = self.find_location(path, line)
        if found is None:
            return False
        file_index, row, exact = found
        old_marked = self._marked_row
        self._marked_row = row if exact else None
        if old_marked != self._marked_row:
            self._strip_cache.clear()
            self.refresh()
        target = max(self.file_row(file_index), row - LOCATION_CONTEXT) if exact else row
        self._scroll_to_row(target, file_index)
        return True

    def _scroll_to_row(self, row: int, file_index: int) -> None:
        self._nav = (file_index, row)
        if self.is_mounted:  # else on_mount scrolls there
            self.scroll_to(y=row, animate=False, force=True)
            self._report_file()

    def action_scroll_home(self) -> None:
        """Jump to the top without animating (frames on the way would lex every hunk passed)."""
        self.scroll_home(animate=False, x_axis=self.scroll_y == 0)

    def action_scroll_end(self) -> None:
        """Jump to the bottom without animating."""
        self.scroll_end(animate=False, x_axis=self.is_vertical_scroll_end)

    def action_page_down(self) -> None:
        """One page down in one frame (an animated scroll draws, and lexes, every row between)."""
        self.scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        """One page up in one frame."""
        self.scroll_page_up(animate=False)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._report_file()

    def _report_file(self) -> None:
        if not self.is_mounted:
            return
        index = self.current_file_index
        if index != self._reported_file:
            self._reported_file = index
            self.post_message(self.CurrentFileChanged(self, index))

    # -- lexers (thread worker) ------------------------------------------------------------------

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)
        # once the rows are drawn: a process's first look-up compiles every lexer's file name
        # patterns (about 40 ms), which would share Python with the screen's first frame
        self.call_after_refresh(self._start_lexers)
        if self._nav is not None:
            self.call_after_refresh(self._scroll_to_row, self._nav[1], self._nav[0])

    def _start_lexers(self) -> None:
        renderer = self._renderer
        if renderer.lexers_ready or not self.is_mounted:
            return

        def resolve() -> None:
            renderer.resolve_lexers()
            self.post_message(self._LexersReady(renderer))

        self.run_worker(
            resolve, thread=True, exclusive=True, group="diff-view-lexers", exit_on_error=False
        )

    def on_diff_view__lexers_ready(self, message: _LexersReady) -> None:
        if message.renderer is self._renderer:
            self._strip_cache.clear()
            self.refresh()

    # -- styles ----------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._invalidate_styles()

    def _on_theme_changed(self, theme: Theme) -> None:
        self._invalidate_styles()
        self.refresh()

    def _invalidate_styles(self) -> None:
        if "_strip_cache" not in self.__dict__:  # called from Widget.__init__
            return
        self._palette = None
        self._generation += 1
        self._strip_cache.clear()

    def on_resize(self) -> None:
        self._strip_cache.clear()

    def _overlay(self, background: Color, name: str) -> Style:
        """Component NAME's colour, text style and (blended) background over BACKGROUND."""
        styles = self.get_component_styles(name)
        if styles.has_rule("background"):
            background = background + styles.background
        foreground = styles.color if styles.has_rule("color") else None
        if styles.has_rule("auto_color") and styles.auto_color:  # "auto 60%": contrast with bg
            foreground = background.get_contrast_text(styles.color.a)
        return VisualStyle(background=background, foreground=foreground).rich_style + (
            styles.text_style
        )

    def _build_palette(self) -> Palette:
        """Rich styles from the component classes and the highlight theme, each made readable
        (WCAG contrast 4.5, 3 for line numbers) on the background it is drawn on."""
        base = self.rich_style
        component = self.get_component_rich_style
        lines = {
            "+": readable(component("diff-view--added")),
            "-": readable(component("diff-view--removed")),
            " ": readable(component("diff-view--context")),
        }
        variables = self.app.get_css_variables()
        theme_styles: list[tuple[TokenType, VisualStyle]] = []
        for token_type, spec in self.HIGHLIGHT_THEME.STYLES.items():
            # only the variables SPEC names: Textual tokenizes every variable it is given, on
            # every call (about 150 of them, 8 ms a call, 60 calls when a fix is opened)
            named = {n: variables[n] for n in _VARIABLE.findall(spec) if n in variables}
            try:
                theme_styles.append((token_type, parse_style(spec, named)))
            except Exception:  # a theme missing a variable loses that colour, nothing more
                continue
        gutters: dict[str, Style] = {}
        tokens: dict[str, dict[TokenType, Style]] = {}
        for kind, line_style in lines.items():
            rich_background = line_style.bgcolor or base.bgcolor
            background = (
                Color.from_rich_color(rich_background) if rich_background else Color(0, 0, 0)
            )
            foreground = Color.from_rich_color(line_style.color) if line_style.color else None
            line_visual = VisualStyle(background=background, foreground=foreground)
            gutters[kind] = readable(self._overlay(background, "diff-view--gutter"), 3.0)
            tokens[kind] = {
                token_type: readable(line_style + (line_visual + style).rich_style)
                for token_type, style in theme_styles
            }
        return Palette(
            base=base,
            file=readable(component("diff-view--file")),
            hunk=readable(component("diff-view--hunk")),
            note=readable(component("diff-view--note")),
            hidden=readable(component("diff-view--hidden-char")),
            lines=lines,
            markers={kind: style + Style(bold=True) for kind, style in lines.items()},
            gutters=gutters,
            tokens=tokens,
        )

    @property
    def palette(self) -> Palette:
        """The styles rows are drawn with, built from the theme on first use after a change."""
        if self._palette is None:
            self._palette = self._build_palette()
        return self._palette

    # -- the Line API ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width = self.scrollable_content_region.width
        palette = self.palette
        renderer = self._renderer
        if width <= 0:
            return Strip.blank(0)
        if not 0 <= row < renderer.row_count:
            return Strip.blank(width, palette.base)
        marked = row == self._marked_row
        key = (row, width, self._generation, marked)
        cached = self._strip_cache.get(key)
        if cached is None:
            rendered = renderer.render_row(row, width, palette, marked=marked)
            fixed = Strip(rendered.fixed, rendered.fixed_width)
            code = None if rendered.code is None else Strip(rendered.code, rendered.code_width)
            cached = (fixed, code, rendered.fill)
            self._strip_cache[key] = cached
        fixed, code, fill = cached
        if code is None:
            return fixed
        room = width - fixed.cell_length
        if room <= 0:
            return fixed.crop(0, width)
        return Strip.join([fixed, code.crop_extend(scroll_x, scroll_x + room, fill)])
