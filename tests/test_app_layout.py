"""The app fits the terminal and says its keys: Pilot tests at 80x24, 120x40 and 200x50 that press
keys and read the screen as drawn."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import DataTable, Footer, Input, Static

from fixreview.app.main import FixreviewApp
from fixreview.app.screens.help import HelpScreen
from fixreview.app.screens.note import NoteDialog
from fixreview.app.screens.review import ReviewScreen
from fixreview.app.widgets.checklist import ChecklistView
from fixreview.repo.git import Repository

PIXEE = "pixeebot/drip-2024-05-24-pixee-python/"
SEVEN = ["Severity", "Status", "Finding", "Title", "Branch", "Flags", "Approvals"]


def drawn(app: FixreviewApp) -> str:
    """The screen as the terminal shows it, one line per row."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def settle(app: FixreviewApp, pilot: Pilot[Any]) -> None:
    for _ in range(2):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def open_fix(app: FixreviewApp, pilot: Pilot[Any], needle: str) -> ReviewScreen:
    await settle(app, pilot)
    await pilot.press("slash")
    box = app.focused
    assert isinstance(box, Input), box
    box.insert_text_at_cursor(needle)
    await pilot.press("enter", "enter")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, ReviewScreen), screen
    return screen


def header(app: FixreviewApp) -> list[str]:
    table = app.screen.query_one("#queue", DataTable)
    return [str(column.label) for column in table.ordered_columns]


@pytest.mark.parametrize(
    ("size", "shown", "hidden"),
    [
        ((80, 24), ["Severity", "Status", "Title", "Flags"], ["Finding", "Branch", "Approvals"]),
        (
            (120, 40),
            SEVEN,
            ["Tool", "Files"],
        ),
        (
            (200, 50),
            [*SEVEN[:5], "Tool", "Files", "+/-", *SEVEN[5:]],
            [],
        ),
    ],
)
async def test_the_queue_shows_the_columns_that_fit(
    demo_repo: Path, size: tuple[int, int], shown: list[str], hidden: list[str]
) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        assert header(app) == [c for c in header(app) if c in shown + hidden]
        assert [c for c in header(app) if c in shown] == shown
        top = drawn(app).splitlines()[2]  # the table's header row
        for label in shown:
            assert f" {label} " in top + " ", (label, top)
        for label in hidden:
            assert f" {label} " not in top, (label, top)
        # the title takes the spare width (no longer cut at 40 characters on a wide terminal)
        long = "Passwords stored as unsalted MD5 and compared in non-constan"
        assert (long in drawn(app)) == (size[0] >= 200)
        if "Branch" in shown:  # and a branch of 33 characters whole at 120 and wider
            assert "ai-fix/timing-safe-password-check" in drawn(app)


async def test_the_queue_follows_a_resize(demo_repo: Path) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(app, pilot)
        assert "Tool" in header(app)
        await pilot.resize_terminal(80, 24)
        await settle(app, pilot)
        assert header(app) == ["Severity", "Status", "Title", "Flags"]


def add_branch(repo: Path, name: str, path: str) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)

    git("checkout", "-q", "-b", name, "main")
    (repo / path).write_text("# hardened by the codemod\n")
    git("add", path)
    git("commit", "-q", "-m", f"Harden {path}")
    git("checkout", "-q", "main")


async def test_branches_sharing_a_long_prefix_show_their_ends(demo_repo: Path) -> None:
    add_branch(demo_repo, PIXEE + "secure-tempfile-creation", "tempfile_note.py")
    add_branch(demo_repo, PIXEE + "harden-subprocess-calls", "subprocess_note.py")
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        screen = drawn(app)
        assert PIXEE not in screen  # too long for the column: its start gives way
        assert "-python/secure-tempfile-creation" in screen
        assert "-python/harden-subprocess-calls" in screen


async def test_the_review_screen_stacks_below_100_columns(demo_repo: Path) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_fix(app, pilot, "command-injection")
        side, main = screen.query_one("#review-side"), screen.query_one("#review-main")
        assert side.region.x == main.region.x and side.region.bottom <= main.region.y
        assert "SEC-102" in drawn(app) and "Final diff" in drawn(app)
        await pilot.resize_terminal(120, 40)
        await settle(app, pilot)
        assert side.region.right <= main.region.x and side.region.y == main.region.y


async def test_evidence_code_scrolls_sideways_instead_of_wrapping(demo_repo: Path) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_fix(app, pilot, "command-injection")
        evidence = screen.query_one("#evidence", Static)
        panel = screen.query_one("#finding-scroll", VerticalScroll)
        longest = max(len(line) for line in str(evidence.render()).splitlines())
        assert evidence.size.width >= longest > panel.scrollable_content_region.width
        assert "subprocess-shell-true.subprocess-shell-true" in str(evidence.render())
        while app.focused is not panel:  # tab to the finding: its border marks the focus
            await pilot.press("tab")
        assert panel.styles.border_top[0] == "heavy"
        await pilot.press("right", "right", "right")
        await pilot.pause()
        assert panel.scroll_x > 0


async def test_help_says_every_key_the_way_textual_shows_it(demo_repo: Path) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one(Static).render())
        for line in ("/  Filter", "⏎  Open", "tab  Focus the next panel", "^p  Command"):
            assert line in text, (line, text)
        assert "slash" not in text and "question_mark" not in text
        await pilot.press("escape")
        await open_fix(app, pilot, "command-injection")
        await pilot.press("question_mark")
        text = str(app.screen.query_one(Static).render())
        for line in (
            "]  Next fix",
            "[  Prev fix",
            "A  Approve",
            "j ↓  Next item",
            "pgdn  Page down",
            "←  Scroll left",
            "→  Scroll right",
            "shift+tab  Focus the previous panel",
            "?  Help",
        ):
            assert line in text, (line, text)
        assert "square_bracket" not in text


async def test_the_palette_names_keys_the_way_textual_shows_them(demo_repo: Path) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_fix(app, pilot, "command-injection")
        helps = {c.title: c.help for c in app.get_system_commands(screen)}
        assert helps["Next fix"] == "key: ]" and helps["Approve"] == "key: A"
        assert "Edit the note of the selected checklist item" in helps


@pytest.mark.parametrize("width", [80, 120, 200])
async def test_the_footer_fits_with_the_most_used_keys_first(demo_repo: Path, width: int) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=(width, 24)) as pilot:
        await settle(app, pilot)
        footer = app.screen.query_one(Footer)
        assert footer.max_scroll_x == 0
        assert drawn(app).splitlines()[-1].lstrip().startswith("⏎ Open / Filter")
        await open_fix(app, pilot, "command-injection")
        footer = app.screen.query_one(Footer)
        assert footer.max_scroll_x == 0
        bottom = drawn(app).splitlines()[-1]
        assert bottom.lstrip().startswith("ACX decide ][ fix dohc view")
        assert "? Help" in bottom


async def test_a_checklist_item_is_selected_without_toggling_and_e_edits_it(
    demo_repo: Path,
) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_fix(app, pilot, "command-injection")
        checklist = screen.query_one(ChecklistView)
        while app.focused is not checklist:
            await pilot.press("tab")
        assert checklist.styles.border_top[0] == "heavy"  # the focused panel is marked
        await pilot.press("j", "j", "down", "k")
        assert checklist.selected == 2
        assert not any(checklist.item(i).confirmed for i in range(4))
        await pilot.press("e")
        dialog = app.screen
        assert isinstance(dialog, NoteDialog)
        box = dialog.query_one(Input)
        box.insert_text_at_cursor("only the export endpoint")
        await pilot.press("enter")
        await pilot.pause()
        assert checklist.item(2).note == "only the export endpoint"
        assert not any(checklist.item(i).confirmed for i in range(4))
        assert "only the export endpoint" in drawn(app)


async def test_opening_a_fix_rebuilds_the_footer_a_few_times_not_once_per_focus_move(
    demo_repo: Path,
) -> None:
    """Opening a fix moves the focus several times; Textual's footer rebuilt every key at each
    move (seven rebuilds of 17 keys on the demo) while the reviewer waited for the diff."""
    from fixreview.app.widgets.key_footer import KeyFooter

    rebuilds = 0
    compose = KeyFooter.compose

    def counting(self: KeyFooter) -> Any:
        nonlocal rebuilds
        rebuilds += isinstance(self.screen, ReviewScreen)  # the queue's footer apart
        return compose(self)

    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        KeyFooter.compose = counting  # type: ignore[method-assign]
        try:
            await open_fix(app, pilot, "command-injection")
        finally:
            KeyFooter.compose = compose  # type: ignore[method-assign]
        assert 1 <= rebuilds <= 4, rebuilds
        assert "ACX decide" in drawn(app).splitlines()[-1]  # the review's keys, all the same
