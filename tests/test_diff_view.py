"""The diff view: what it draws (numbers, markers, tints, colours, literal untrusted text, hidden
characters, notes), how it navigates, and that a 20,000-line diff only highlights what shows."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable, Coroutine
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.app import App, ComposeResult
from textual.message import Message
from textual.strip import Strip
from textual.widgets import ContentSwitcher, Static

from fixreview.app.widgets.diff_render import (
    ROW_HUNK,
    ROW_LINE,
    DiffRenderer,
    contrast_ratio,
    highlight_chunk,
    lexer_for_path,
    pygments_palette,
)
from fixreview.app.widgets.diff_view import LOCATION_CONTEXT, DiffView
from fixreview.repo.diffs import parse_diff

PYTHON = """\
diff --git a/app/db.py b/app/db.py
--- a/app/db.py
+++ b/app/db.py
@@ -1,4 +1,5 @@ def query(sql):
 import os
-def query(sql):
-    return run("SELECT " + sql)
+def query(sql, params=()):
+    return run("SELECT ?", params)
+    # done
 x = 1
"""

HOSTILE = (
    "diff --git a/notes.txt b/notes.txt\n"
    "--- a/notes.txt\n"
    "+++ b/notes.txt\n"
    "@@ -1,1 +1,3 @@\n"
    " keep\n"
    "+[bold]x[/bold] [@click=app.quit] [link=http://e.com]y[/link] \x1b[31mred\n"
    "+total = 1 \u202e + 2\u200b\n"
)

KINDS = """\
diff --git a/img.png b/img.png
index 1111111..2222222 100644
Binary files a/img.png and b/img.png differ
diff --git a/run.sh b/run.sh
old mode 100644
new mode 100755
diff --git a/a.txt b/b.txt
similarity index 90%
rename from a.txt
rename to b.txt
--- a/a.txt
+++ b/b.txt
@@ -1 +1 @@
-x
+y
diff --git a/new.py b/new.py
new file mode 100644
--- /dev/null
+++ b/new.py
@@ -0,0 +1 @@
+print("hi")
"""


def many_files(files: int, lines: int) -> str:
    """FILES modified Python files, each with one hunk of LINES added lines around context."""
    parts = []
    for number in range(files):
        path = f"pkg/mod_{number}.py"
        body = "".join(f"+    value_{n} = {n}\n" for n in range(lines))
        parts.append(
            f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
            f"@@ -10,2 +10,{lines + 2} @@ def f():\n     a = 1\n{body}     return a\n"
        )
    return "".join(parts)


def big_diff(files: int = 50, total_lines: int = 20_000) -> str:
    """About TOTAL_LINES diff lines of Python over FILES files, in hunks of 20 lines."""
    parts = []
    per_file = total_lines // files
    hunks = per_file // 20
    for number in range(files):
        path = f"src/service_{number}.py"
        parts.append(f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n")
        for h in range(hunks):
            start = 1 + h * 40
            parts.append(f"@@ -{start},12 +{start + 2 * h},14 @@ class Service{number}:\n")
            parts.append("".join(f"     ctx_{h}_{n} = load({n})\n" for n in range(3)))
            parts.append("".join(f'-    old_{h}_{n} = "value {n}"\n' for n in range(6)))
            parts.append("".join(f"+    new_{h}_{n} = compute({n}, retries=3)\n" for n in range(8)))
            parts.append("".join(f"     tail_{h}_{n} = done({n})\n" for n in range(3)))
    return "".join(parts)


class DiffApp(App[None]):
    def __init__(self, text: str | None) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        yield DiffView()

    def on_mount(self) -> None:
        self.query_one(DiffView).set_diff(parse_diff(self.text) if self.text else None)


def synchronously(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Run an async test in its own event loop (the project has no async pytest plugin)."""

    @functools.wraps(test)
    def run() -> None:
        asyncio.run(test())

    return run


def visible_texts(view: DiffView) -> list[str]:
    return [view.render_line(y).text for y in range(view.scrollable_content_region.height)]


def row_of(view: DiffView, needle: str) -> int:
    """The screen row (y) whose text contains NEEDLE."""
    for y, text in enumerate(visible_texts(view)):
        if needle in text:
            return y
    raise AssertionError(f"{needle!r} not on screen: {visible_texts(view)}")


def code_segments(strip: Strip, view: DiffView) -> list[Segment]:
    """The segments of a diff line strip after the gutter and marker columns."""
    skip = view._renderer.fixed_width
    return list(strip.crop(skip, strip.cell_length))


@synchronously
async def test_line_numbers_markers_and_tints() -> None:
    app = DiffApp(PYTHON)
    async with app.run_test(size=(90, 20)) as pilot:
        await pilot.pause()
        view = app.query_one(DiffView)
        texts = visible_texts(view)
        assert texts[0].startswith(" M  app/db.py")
        assert texts[0].rstrip().endswith("+3 -2")
        assert texts[1].startswith("@@ -1,4 +1,5 @@ def query(sql):")
        assert texts[2].startswith("1 1   import os")
        assert texts[3].startswith("2   - def query(sql):")
        assert texts[5].startswith("  2 + def query(sql, params=()):")
        assert texts[8].startswith("4 5   x = 1")
        assert all(len(text) == view.scrollable_content_region.width for text in texts)

        context = view.render_line(2)
        added = view.render_line(5)
        removed = view.render_line(3)
        backgrounds = {
            name: {seg.style.bgcolor for seg in strip if seg.style is not None}
            for name, strip in (("context", context), ("added", added), ("removed", removed))
        }
        for name in ("added", "removed"):
            assert None not in backgrounds[name]
            assert backgrounds[name].isdisjoint(backgrounds["context"]), name
        assert backgrounds["added"].isdisjoint(backgrounds["removed"])
        marker = next(seg for seg in added if seg.text == "+ ")
        assert marker.style is not None and marker.style.bold


@synchronously
async def test_python_gets_token_colours() -> None:
    app = DiffApp(PYTHON)
    async with app.run_test(size=(90, 20)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()
        view = app.query_one(DiffView)
        assert view.lexers_ready
        line = view.render_line(5)
        line_colour = view.get_component_rich_style("diff-view--added").color
        colours = {seg.style.color for seg in code_segments(line, view) if seg.style}
        assert colours - {line_colour, None}, "no token got its own colour"
        keyword = next(seg for seg in code_segments(line, view) if seg.text == "def")
        name = next(seg for seg in code_segments(line, view) if seg.text == "params")
        assert keyword.style != name.style
        assert view.highlighted_hunk_count == 1


@synchronously
async def test_markup_and_escapes_are_shown_literally_and_do_nothing() -> None:
    app = DiffApp(HOSTILE)
    async with app.run_test(size=(100, 12)) as pilot:
        await pilot.pause()
        view = app.query_one(DiffView)
        y = row_of(view, "[@click=app.quit]")
        text = view.render_line(y).text
        assert "[bold]x[/bold] [@click=app.quit] [link=http://e.com]y[/link] ␛[31mred" in text
        for strip in (view.render_line(n) for n in range(view.row_count)):
            for seg in strip:
                assert "\x1b" not in seg.text
                assert seg.style is None or (seg.style.link is None and not seg.style.meta)
        escape = next(seg for seg in view.render_line(y) if seg.text == "␛")
        assert escape.style == view.palette.hidden

        await pilot.click(DiffView, offset=(30, y))
        await pilot.click(DiffView, offset=(10, y))
        await pilot.press("enter", "space")
        await pilot.pause()
        assert app.is_running
        assert app.return_code is None


@synchronously
async def test_hidden_characters_are_marked() -> None:
    app = DiffApp(HOSTILE)
    async with app.run_test(size=(100, 12)) as pilot:
        await pilot.pause()
        view = app.query_one(DiffView)
        y = row_of(view, "total = 1")
        strip = view.render_line(y)
        assert "total = 1 <U+202E> + 2<U+200B>" in strip.text
        hidden = view.palette.hidden
        assert hidden.bgcolor == view.get_component_rich_style("diff-view--hidden-char").bgcolor
        added = view.get_component_rich_style("diff-view--added")
        markers = [seg for seg in strip if seg.text in ("<U+202E>", "<U+200B>")]
        assert len(markers) == 2
        for seg in markers:
            assert seg.style == hidden
            assert seg.style is not None and seg.style.bgcolor != added.bgcolor
        assert "\u202e" not in strip.text and "\u200b" not in strip.text


@synchronously
async def test_binary_mode_rename_and_new_file_notes() -> None:
    app = DiffApp(KINDS)
    async with app.run_test(size=(90, 30)) as pilot:
        await pilot.pause()
        view = app.query_one(DiffView)
        texts = [text.rstrip() for text in visible_texts(view)]
        joined = "\n".join(texts)
        assert re.search(r"^ M  img\.png +binary$", joined, re.M)
        assert "binary file, not shown" in joined
        assert re.search(r"^ M  run\.sh +\+0 -0$", joined, re.M)
        assert "mode 100644 → 100755" in joined
        assert re.search(r"^ R  a\.txt → b\.txt +\+1 -1$", joined, re.M)
        assert "renamed: a.txt → b.txt" in joined
        assert re.search(r"^ A  new\.py +\+1 -0$", joined, re.M)
        assert "new file, mode 100644" in joined
        assert ' 1 + print("hi")' in joined
        note_style = view.get_component_rich_style("diff-view--note")
        y = row_of(view, "binary file, not shown")
        assert all(seg.style == note_style for seg in view.render_line(y))


@synchronously
async def test_empty_and_loading_messages() -> None:
    app = DiffApp(None)
    async with app.run_test(size=(60, 8)) as pilot:
        await pilot.pause()
        view = app.query_one(DiffView)
        assert view.render_line(0).text.strip() == "(no changes)"
        assert view.file_count == 0 and view.current_file_index == -1
        assert not view.next_file() and not view.previous_file()
        view.set_diff(None, empty_message="loading…")
        await pilot.pause()
        assert view.render_line(0).text.strip() == "loading…"
        view.set_diff(parse_diff(PYTHON))
        await pilot.pause()
        assert view.file_count == 1 and view.row_count == 9
        assert "app/db.py" in view.render_line(0).text


@synchronously
async def test_next_previous_file_and_location() -> None:
    tail = "diff --git a/logo.png b/logo.png\nBinary files a/logo.png and b/logo.png differ\n"
    app = DiffApp(many_files(4, 10) + tail)
    changes: list[int] = []

    def hook(message: Message) -> None:
        if isinstance(message, DiffView.CurrentFileChanged):
            changes.append(message.index)

    async with app.run_test(size=(80, 10), message_hook=hook) as pilot:
        await pilot.pause()
        view = app.query_one(DiffView)
        rows = view._renderer.index.file_rows
        assert view.file_count == 5
        assert rows == [0, 15, 30, 45, 60]  # header, hunk, 12 lines, blank between files
        assert view.row_count == 62 and view.max_scroll_y < rows[4]
        assert view.current_file_index == 0

        assert view.next_file()
        await pilot.pause()
        assert view.scroll_y == rows[1] and view.current_file_index == 1
        assert view.next_file()
        await pilot.pause()
        assert view.scroll_y == rows[2] and view.current_file_index == 2

        await pilot.press("down", "down")
        assert view.scroll_y == rows[2] + 2 and view.current_file_index == 2
        assert view.previous_file()  # back to the top of the current file first
        await pilot.pause()
        assert view.scroll_y == rows[2]
        assert view.previous_file()
        await pilot.pause()
        assert view.scroll_y == rows[1] and view.current_file_index == 1

        # The last file cannot scroll to the top, but next_file still reaches it.
        assert view.next_file() and view.next_file() and view.next_file()
        await pilot.pause()
        assert view.current_file_index == 4 and view.scroll_y == view.max_scroll_y
        assert not view.next_file()
        assert view.previous_file()
        await pilot.pause()
        assert view.current_file_index == 3 and view.scroll_y == rows[3]
        assert 4 in changes and 3 in changes

        # Exactly the line: a few rows of context above it, its gutter highlighted.
        assert view.scroll_to_location("pkg/mod_2.py", 15)
        await pilot.pause()
        row = view.marked_row
        assert row is not None
        assert view.scroll_y == row - LOCATION_CONTEXT
        strip = view.render_line(LOCATION_CONTEXT)
        assert strip.text.startswith("   15 + ")
        assert "value_4 = 4" in strip.text
        gutter = next(iter(strip))
        assert gutter.style is not None and gutter.style.reverse

        # Not in any hunk: the nearest hunk header; no path: the file header.
        assert view.scroll_to_location("pkg/mod_1.py", 500)
        await pilot.pause()
        assert view.marked_row is None
        assert view._renderer.index.rows[round(view.scroll_y)][0] == ROW_HUNK
        assert view.render_line(0).text.startswith("@@ -10,2 +10,12 @@ def f():")
        assert view.scroll_to_location("pkg/mod_3.py", None)
        await pilot.pause()
        assert view.scroll_y == rows[3]
        assert not view.scroll_to_location("nowhere.py", 3)
        assert view.scroll_y == rows[3]


class SwitcherApp(App[None]):
    """The review screen's layout in small: the diff view starts hidden in a ContentSwitcher."""

    def compose(self) -> ComposeResult:
        with ContentSwitcher(initial="other"):
            yield Static("another view", id="other")
            yield DiffView(id="final")

    def on_mount(self) -> None:
        self.query_one(DiffView).set_diff(parse_diff(many_files(4, 10)))


@synchronously
async def test_location_in_a_view_just_made_visible() -> None:
    app = SwitcherApp()
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        view = app.query_one(DiffView)
        assert view.size.height == 0
        app.query_one(ContentSwitcher).current = "final"
        assert view.scroll_to_location("pkg/mod_2.py", 20)
        await pilot.pause()
        await pilot.pause()
        assert view.marked_row is not None
        assert view.scroll_y == view.marked_row - LOCATION_CONTEXT > 0
        assert view.current_file_index == 2
        assert "value_9 = 9" in view.render_line(LOCATION_CONTEXT).text


@synchronously
async def test_keyboard_scrolling() -> None:
    app = DiffApp(many_files(5, 10))
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        view = app.query_one(DiffView)
        assert app.focused is view
        await pilot.press("pagedown")
        assert view.scroll_y > 5
        await pilot.press("end")
        await pilot.pause()
        assert view.scroll_y == view.max_scroll_y
        await pilot.press("home")
        await pilot.pause()
        assert view.scroll_y == 0
        ids = {binding.id for _, binding in view._bindings}
        assert None not in ids


@synchronously
async def test_twenty_thousand_lines_highlight_only_what_shows() -> None:
    diff = parse_diff(big_diff())
    hunk_count = sum(len(f.hunks) for f in diff.files)
    line_count = sum(len(h.lines) for f in diff.files for h in f.hunks)
    assert line_count == 20_000 and hunk_count == 1000

    app = DiffApp(None)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(DiffView)
        view.set_diff(diff)
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()
        assert view.row_count == line_count + hunk_count + 2 * len(diff.files) - 1
        texts = visible_texts(view)
        assert texts[0].startswith(" M  src/service_0.py")
        assert "ctx_0_0 = load(0)" in texts[2]
        assert 0 < view.highlighted_hunk_count <= 5
        await pilot.press("end")
        await pilot.pause()
        assert "tail_19_2 = done(2)" in visible_texts(view)[-1]
        view.scroll_to_location("src/service_25.py", 401)
        await pilot.pause()
        assert view.highlighted_hunk_count <= 12 < hunk_count // 50


@synchronously
async def test_resize_and_theme_change_rerender() -> None:
    app = DiffApp(PYTHON)
    async with app.run_test(size=(90, 20)) as pilot:
        await pilot.pause()
        view = app.query_one(DiffView)
        assert view.render_line(5).cell_length == view.scrollable_content_region.width
        await pilot.resize_terminal(50, 12)
        await pilot.pause()
        width = view.scrollable_content_region.width
        assert width < 90
        for y in range(view.scrollable_content_region.height):
            assert view.render_line(y).cell_length == width
        assert view.render_line(5).text.startswith("  2 + def query(sql, params=()")

        before = view.render_line(5)
        old_background = next(iter(before)).style
        app.theme = "textual-light"
        await pilot.pause()
        await pilot.pause()
        after = view.render_line(5)
        assert after.text == before.text
        new_background = next(iter(after)).style
        assert old_background is not None and new_background is not None
        assert old_background.bgcolor != new_background.bgcolor


@synchronously
async def test_every_theme_draws_readable_text() -> None:
    """Token colours, gutters and headers keep WCAG contrast on their own line's tint."""
    app = DiffApp(PYTHON + HOSTILE + KINDS)
    async with app.run_test(size=(90, 40)) as pilot:
        view = app.query_one(DiffView)
        for theme in ("textual-dark", "textual-light", "solarized-light", "nord"):
            app.theme = theme
            await app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.pause()
            checked = 0
            for y in range(view.row_count):
                is_line = view._renderer.index.rows[y][0] == ROW_LINE
                for number, seg in enumerate(view.render_line(y)):
                    style = seg.style
                    if not seg.text.strip() or style is None or style.color is None:
                        continue
                    checked += 1
                    assert style.bgcolor is not None
                    ratio = contrast_ratio(
                        style.color.get_truecolor(), style.bgcolor.get_truecolor()
                    )
                    minimum = 3.0 if is_line and number == 0 else 4.5  # line numbers: 3
                    assert ratio >= minimum - 0.01, (theme, y, seg.text)
            # every row has a coloured gutter or header, most lines several tokens: uncoloured
            # segments would pass the loop above without checking anything
            assert checked >= 2 * view.row_count, (theme, checked, view.row_count)


@synchronously
async def test_horizontal_scroll_keeps_the_gutter() -> None:
    long = "x" * 200
    text = PYTHON.replace("+    # done\n", f"+    # {long}\n")
    app = DiffApp(text)
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        view = app.query_one(DiffView)
        assert view.virtual_size.width >= view._renderer.fixed_width + 206
        view.scroll_to(x=50, animate=False)
        await pilot.pause()
        line = view.render_line(row_of(view, "xxxxx"))
        assert line.text.startswith("  4 + " + "x" * 10)
        assert line.cell_length == view.scrollable_content_region.width


# -- the pure renderer ------------------------------------------------------------------------


def test_sides_are_lexed_as_documents() -> None:
    """A line inside a docstring that opened on a context line is coloured as a string."""
    diff = parse_diff(
        "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1,3 +1,4 @@\n"
        ' def f():\n     """Start of a docstring\n+    import os; x = 1\n     """\n'
    )
    lexer = lexer_for_path("m.py")
    assert lexer is not None
    tokens = highlight_chunk(lexer, diff.files[0].hunks[0].lines, 0, 4)
    added = tokens[2]
    assert added is not None
    assert all("String" in str(token_type) for token_type, _ in added)
    assert sum(length for _, length in added) == len("    import os; x = 1")


def test_renderer_expands_tabs_and_keeps_wide_characters() -> None:
    diff = parse_diff(
        "diff --git a/t.txt b/t.txt\n--- a/t.txt\n+++ b/t.txt\n@@ -1 +1 @@\n-a\tb\n+漢字\tc\r\n"
    )
    renderer = DiffRenderer(diff, tab_size=4)
    palette = pygments_palette()
    rows = renderer.index.rows
    assert [row[0] for row in rows] == [2, 4, ROW_LINE, ROW_LINE]
    assert renderer.render_text(2, 40, palette).endswith("- a   b")
    rendered = renderer.render_row(3, 40, palette)
    assert rendered.code is not None
    code = "".join(seg.text for seg in rendered.code)
    assert code == "漢字    c␍"
    assert rendered.code_width == 4 + 4 + 1 + 1  # two wide characters, tab to column 8
    carriage = next(seg for seg in rendered.code if seg.text == "␍")
    assert carriage.style == palette.hidden


def test_row_index_is_cheap_and_unstyled() -> None:
    diff = parse_diff(big_diff(files=10, total_lines=2000))
    renderer = DiffRenderer(diff)
    assert renderer.highlighted_chunks == 0
    assert not renderer.lexers_ready
    assert all(isinstance(row, tuple) and len(row) == 4 for row in renderer.index.rows)
    # Without lexers rows still render, uncoloured, and nothing is lexed.
    palette = pygments_palette(dark=False)
    for row in range(40):
        renderer.render_row(row, 80, palette)
    assert renderer.highlighted_chunks == 0
    renderer.resolve_lexers()
    for row in range(40):
        renderer.render_row(row, 80, palette)
    assert 0 < renderer.highlighted_chunks <= 3


def test_palette_token_lookup_walks_parents() -> None:
    palette = pygments_palette()
    from pygments.token import Token  # type: ignore[import-untyped]

    made_up = Token.Name.Function.Something.Deeper
    assert palette.token_style("+", made_up) == palette.token_style("+", Token.Name.Function)
    assert palette.token_style(" ", Token) == palette.lines[" "] + Style()


def test_hidden_characters_in_paths_and_hunk_headers() -> None:
    diff = parse_diff(
        "diff --git a/ev\u202eil.py b/ev\u202eil.py\n--- a/ev\u202eil.py\n+++ b/ev\u202eil.py\n"
        "@@ -1 +1 @@ def f\u200b():\n-a\n+b\n"
    )
    renderer = DiffRenderer(diff)
    palette = pygments_palette()
    header = renderer.render_row(0, 60, palette)
    hunk = renderer.render_row(1, 60, palette)
    assert "ev<U+202E>il.py" in "".join(seg.text for seg in header.fixed)
    assert "def f<U+200B>():" in "".join(seg.text for seg in hunk.fixed)
    for row in (header, hunk):
        stand_ins = [seg for seg in row.fixed if seg.text.startswith("<U+")]
        assert len(stand_ins) == 1 and stand_ins[0].style == palette.hidden
        assert not any(char in seg.text for seg in row.fixed for char in "\u202e\u200b")


def _names_for(pattern: str) -> str:
    """A file name PATTERN (a Pygments lexer's) matches: each wildcard made a plain letter."""
    name = re.sub(r"\[([^\]]+)\]", lambda m: m.group(1).lstrip("!")[0], pattern)
    return name.replace("*", "x").replace("?", "a")


def test_lexers_are_pygments_own_choice_among_its_built_in_lexers() -> None:
    """The diff view's lexer look-up reads no plugin entry points (0.36 s and 37 MB on the
    first diff opened), and picks what Pygments picks: for a name made from every built-in
    lexer's every pattern, and for common names, the same lexer class."""
    from pygments.lexers import get_lexer_for_filename
    from pygments.lexers._mapping import LEXERS
    from pygments.util import ClassNotFound

    from fixreview.app.widgets.diff_render import builtin_lexer_class

    names = {_names_for(p) for _, _, _, patterns, _ in LEXERS.values() for p in patterns}
    names |= {"app.py", "Makefile", "Dockerfile", "x.h", "x.m", "CMakeLists.txt", "noext", "a"}
    assert len(names) > 500
    for name in sorted(names):
        try:
            expected = type(get_lexer_for_filename(name))
        except ClassNotFound:
            expected = None
        assert builtin_lexer_class(name) is expected, name
