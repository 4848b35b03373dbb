"""A fix with a long final diff: the review screen shows its first lines at once, says so, and
completes them where the reviewer has scrolled to once the whole is parsed."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from textual.message import Message
from textual.widgets import DataTable, Static

import fixreview.app.screens.queue as queue_screen
from fixreview.app.main import FixreviewApp
from fixreview.app.screens.review import ReviewScreen
from fixreview.app.widgets.diff_view import DiffView
from fixreview.changes import final_text
from fixreview.models import Fix
from fixreview.queue import load_queue
from fixreview.repo.diffs import Diff
from fixreview.repo.git import Repository
from fixreview.risk import assess_fixes
from fixreview.session import PREVIEW_AFTER, PREVIEW_LINES, ReviewSession
from tests.gitutil import AI, TestRepo
from tests.test_app_layout import open_fix, settle

LINES = 3_000  # every line replaced: a diff of 6,000 lines and more, past PREVIEW_AFTER
BRANCH = "ai-fix/regenerate-models"


def _long_fix(repo: TestRepo) -> None:
    repo.commit("generated models", {"gen/models.py": "".join(f"old {i}\n" for i in range(LINES))})
    repo.checkout("-b", BRANCH)
    repo.commit(
        "regenerate the models",
        {"gen/models.py": "".join(f"new {i}\n" for i in range(LINES))},
        who=AI,
    )
    repo.checkout("main")


def slow_git_diff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put a git first on PATH that logs each ``diff`` it runs into the file returned and
    makes it take half a second more, then runs the real git."""
    real = shutil.which("git")
    assert real is not None
    log = tmp_path / "diffs.log"
    wrappers = tmp_path / "wrappers"
    wrappers.mkdir()
    script = wrappers / "git"
    script.write_text(
        f'#!/bin/sh\nfor a in "$@"; do [ "$a" = diff ] && echo diff >> "{log}" && sleep 0.5 '
        f'&& break; done\nexec "{real}" "$@"\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrappers}{os.pathsep}{os.environ['PATH']}")
    return log


def test_the_session_previews_a_long_final_diff_until_it_is_parsed(repo: TestRepo) -> None:
    _long_fix(repo)
    session = ReviewSession(Repository(repo.path))
    session.queue = load_queue(session.repo)
    fix = session.fix(BRANCH)
    text = final_text(session.repo, fix)
    assert text.count("\n") > PREVIEW_AFTER
    preview = session.final_preview(fix)
    assert preview is not None and preview.partial
    assert preview.total_lines == text.count("\n")
    assert preview.raw.count("\n") <= PREVIEW_LINES
    whole = session.final(fix)
    assert not whole.partial and whole.raw == text
    assert session.final_preview(fix) is None  # parsed: nothing to preview any more


def test_a_short_final_diff_has_no_preview(repo: TestRepo) -> None:
    repo.checkout("-b", "ai-fix/short")
    repo.commit("fix", {"app/db.py": "def query(sql, args):\n    return sql, args\n"}, who=AI)
    repo.checkout("main")
    session = ReviewSession(Repository(repo.path))
    session.queue = load_queue(session.repo)
    assert session.final_preview(session.fix("ai-fix/short")) is None


async def test_opening_a_long_fix_shows_its_beginning_first_then_the_whole(
    repo: TestRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Its diff not at hand as the screen is built (the cursor never rests long enough here,
    the flags are cached, so judging computes no diff in the app, and git is slow): the
    worker waits for the diff being read, sends its first lines, then the whole."""
    monkeypatch.setattr(queue_screen, "WARM_AFTER", 3600.0)
    _long_fix(repo)
    warm = Repository(repo.path)
    queue = load_queue(warm)
    assess_fixes(warm, queue.fixes, queue.policy.policy)
    slow_git_diff(tmp_path, monkeypatch)
    finals: list[Diff] = []
    seen: list[Message] = []

    def hook(message: Message) -> None:  # each message once, though it bubbles to the app
        if isinstance(message, ReviewScreen.FinalDiff) and not any(m is message for m in seen):
            seen.append(message)
            finals.append(message.diff)

    app = FixreviewApp(Repository(repo.path))
    async with app.run_test(size=(160, 45), message_hook=hook) as pilot:
        screen = await open_fix(app, pilot, "regenerate")
        # the worker sent the preview, then the whole diff
        assert [d.partial for d in finals] == [True, False]
        preview, whole = finals
        assert whole.raw == final_text(app.session.repo, screen.fix)
        view = screen.query_one("#final", DiffView)
        title = screen.query_one("#view-title", Static)
        assert view.diff is whole
        assert str(title.render()) == "Final diff"
        # the preview as the reviewer sees it, scrolled, then completed where they are
        screen._show_final(preview)
        await pilot.pause()
        assert f"the first {preview.raw.count(chr(10)):,} of {whole.raw.count(chr(10)):,}" in str(
            title.render()
        )
        await pilot.press("pagedown", "pagedown")
        await pilot.pause()
        scrolled = view.scroll_offset.y
        assert scrolled > 0
        screen._show_final(whole)
        await pilot.pause()
        assert view.diff is whole and view.scroll_offset.y == scrolled
        assert str(title.render()) == "Final diff"
        assert view.row_count > 2 * LINES


async def test_resting_the_cursor_on_a_long_fix_reads_its_diff_ahead(repo: TestRepo) -> None:
    _long_fix(repo)
    repo.checkout("-b", "ai-fix/a-short")
    repo.commit("fix", {"app/db.py": "def query(sql, args):\n    return sql, args\n"}, who=AI)
    repo.checkout("main")
    warm = Repository(repo.path)  # the flags cached: judging computes no diff in the app
    queue = load_queue(warm)
    assess_fixes(warm, queue.fixes, queue.policy.policy)
    app = FixreviewApp(Repository(repo.path))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(app, pilot)
        session = app.session
        long, short = session.fix(BRANCH), session.fix("ai-fix/a-short")
        table = app.screen.query_one("#queue", DataTable)
        assert table.cursor_row == table.get_row_index("ai-fix/a-short")  # listed first
        await pilot.pause(0.4)
        await settle(app, pilot)
        assert not session.repo.has_diff(short.branch.merge_base or "", short.branch.head)
        assert not session.repo.has_diff(long.branch.merge_base or "", long.branch.head)
        table.move_cursor(row=table.get_row_index(BRANCH))
        await pilot.pause(0.4)
        await settle(app, pilot)
        assert session.repo.has_diff(long.branch.merge_base or "", long.branch.head)
        assert not session.repo.has_diff(short.branch.merge_base or "", short.branch.head)


async def test_a_long_fix_read_ahead_opens_with_its_beginning_in_the_first_frame(
    repo: TestRepo,
) -> None:
    """Once the cursor has rested on a long fix (its diff read ahead), Enter shows its first
    lines as the review screen is filled, before any worker has run: no "loading…" frame; the
    worker then sends the whole diff alone, once those lines are drawn (parsing it meanwhile
    would hold Python while the screen waits)."""
    _long_fix(repo)
    warm = Repository(repo.path)  # the flags cached: judging computes no diff in the app
    queue = load_queue(warm)
    assess_fixes(warm, queue.fixes, queue.policy.policy)
    at_fill: list[Diff | None] = []
    finals: list[Diff] = []
    seen: list[Message] = []
    events: list[str] = []

    def hook(message: Message) -> None:
        if isinstance(message, ReviewScreen.FinalDiff) and not any(m is message for m in seen):
            seen.append(message)
            finals.append(message.diff)
            events.append("whole" if not message.diff.partial else "preview")

    real_render = DiffView.render_line

    def render_line(self: DiffView, y: int) -> object:
        shown = self.diff
        if self.id == "final" and shown is not None and shown.partial and not events:
            events.append("preview drawn")
        return real_render(self, y)

    real_final = ReviewSession.final

    def final(self: ReviewSession, fix: Fix) -> Diff:
        events.append("parse")
        return real_final(self, fix)

    real_show_fix = ReviewScreen.show_fix

    async def show_fix(self: ReviewScreen, branch: str) -> None:
        await real_show_fix(self, branch)
        at_fill.append(self.query_one("#final", DiffView).diff)
        time.sleep(0.3)  # a slow screen: the worker must still wait for the first lines drawn

    app = FixreviewApp(Repository(repo.path))
    async with app.run_test(size=(160, 45), message_hook=hook) as pilot:
        ReviewScreen.show_fix = show_fix  # type: ignore[method-assign]
        DiffView.render_line = render_line  # type: ignore[method-assign,assignment]
        ReviewSession.final = final  # type: ignore[method-assign]
        try:
            await settle(app, pilot)
            table = app.screen.query_one("#queue", DataTable)
            table.move_cursor(row=table.get_row_index(BRANCH))
            await pilot.pause(0.4)
            await settle(app, pilot)
            fix = app.session.fix(BRANCH)
            assert app.session.repo.has_diff(fix.branch.merge_base or "", fix.branch.head)
            await pilot.press("enter")
            await settle(app, pilot)
        finally:
            ReviewScreen.show_fix = real_show_fix  # type: ignore[method-assign]
            DiffView.render_line = real_render  # type: ignore[method-assign]
            ReviewSession.final = real_final  # type: ignore[method-assign]
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        (first,) = at_fill
        assert first is not None and first.partial  # the preview, as the screen was filled
        assert first.raw.count("\n") <= PREVIEW_LINES
        assert [d.partial for d in finals] == [False]  # then only the whole from the worker,
        # ... parsed only once the first lines were drawn
        assert events[:3] == ["preview drawn", "parse", "whole"], events
        assert screen.query_one("#final", DiffView).diff is finals[0]


def test_what_is_at_hand_of_a_final_diff_runs_no_git(repo: TestRepo) -> None:
    """Nothing before the text is read; then a long diff's first lines, a short one whole (and
    parsed once: the worker's final() is the same diff)."""
    _long_fix(repo)
    repo.checkout("-b", "ai-fix/short")
    repo.commit("fix", {"app/db.py": "def query(sql, args):\n    return sql, args\n"}, who=AI)
    repo.checkout("main")
    session = ReviewSession(Repository(repo.path))
    session.queue = load_queue(session.repo)
    long, short = session.fix(BRANCH), session.fix("ai-fix/short")
    assert session.final_at_hand(long) is None and session.final_at_hand(short) is None
    final_text(session.repo, long)
    final_text(session.repo, short)
    preview = session.final_at_hand(long)
    assert preview is not None and preview.partial
    whole = session.final_at_hand(short)
    assert whole is not None and not whole.partial and whole.paths() == ["app/db.py"]
    assert session.final(short) is whole


def test_opening_a_fix_waits_for_its_read_ahead_instead_of_running_git_again(
    repo: TestRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enter starts reading the diff while the review screen is built; the screen's worker,
    asking for the same diff meanwhile, waits for that run: one `git diff`, not two. (A
    wrapper around the real git logs each diff and makes it take half a second.)"""
    _long_fix(repo)
    log = slow_git_diff(tmp_path, monkeypatch)
    session = ReviewSession(Repository(repo.path))
    session.queue = load_queue(session.repo)
    fix = session.fix(BRANCH)
    reading = threading.Thread(target=session.warm_final, args=(fix,))
    reading.start()
    for _ in range(100):  # the read-ahead's git diff has started
        if log.exists():
            break
        time.sleep(0.05)
    preview = session.final_preview(fix)
    reading.join()
    assert preview is not None and preview.partial
    assert log.read_text().splitlines() == ["diff"]
    assert session.final(fix).raw == final_text(session.repo, fix)
    assert log.read_text().splitlines() == ["diff"]


async def test_workers_about_a_fix_are_not_described_by_its_repr(
    repo: TestRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Textual describes a worker by the repr of its arguments unless told otherwise; a fix's
    repr holds its whole patch (3 MB, 30 ms for a 20,000-line fix, on the Enter path). Opening
    a fix, reading its diff ahead and judging it again after a decision never write one."""
    _long_fix(repo)
    written: list[str] = []

    def counting(self: Fix) -> str:
        written.append(self.branch.name)
        return "Fix(...)"

    monkeypatch.setattr(Fix, "__repr__", counting)
    assert repr(load_queue(Repository(repo.path)).fixes[0]) == "Fix(...)"
    written.clear()
    app = FixreviewApp(Repository(repo.path))
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_fix(app, pilot, "regenerate")
        fix = screen.fix
        app.queue_screen.warm_final(fix)
        app.rejudge(fix)
        await settle(app, pilot)
        assert written == []


async def test_the_diff_view_looks_its_lexers_up_once_its_rows_are_drawn(
    repo: TestRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process's first lexer look-up compiles every lexer's file name patterns: the diff
    view starts it once its rows are drawn, not beside the screen's first frame."""
    from fixreview.app.widgets.diff_render import DiffRenderer

    _long_fix(repo)
    drawn: list[str | None] = []
    at_lookup: list[int] = []
    real_render = DiffView.render_line
    real_resolve = DiffRenderer.resolve_lexers

    def render_line(self: DiffView, y: int) -> object:
        if self.diff is not None:
            drawn.append(self.id)
        return real_render(self, y)

    def resolve_lexers(self: DiffRenderer) -> None:
        if self.diff is not None:
            at_lookup.append(len(drawn))
        real_resolve(self)

    monkeypatch.setattr(DiffView, "render_line", render_line)
    monkeypatch.setattr(DiffRenderer, "resolve_lexers", resolve_lexers)
    app = FixreviewApp(Repository(repo.path))
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_fix(app, pilot, "regenerate")
        assert screen.query_one("#final", DiffView).lexers_ready
        assert at_lookup and all(count > 0 for count in at_lookup), at_lookup
