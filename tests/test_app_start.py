"""The app's first frame: the last run's rows, provisional, until the queue is read.

Each test starts the app once to keep the rows (fixreview/rowsnapshot.py), then again with the
load held at its first stage (the loading watcher, as in tests/test_app_progress.py): what is
on screen then is what came from the kept rows, nothing else."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from fixreview.app.main import FixreviewApp
from fixreview.app.screens.queue import PROVISIONAL_STYLE, QueueScreen
from fixreview.app.screens.review import ReviewScreen
from fixreview.queue import STAGE_BRANCHES
from fixreview.repo.git import Repository
from fixreview.rowsnapshot import ROWS_KIND
from tests.gitutil import AI, TestRepo
from tests.test_app import SIZE, rows, settle, text_of
from tests.test_app_progress import Holds
from tests.test_progress import many_fixes

COUNT = 4


async def first_run(path: Path, branches: tuple[str, ...] = ()) -> list[str]:
    """Start the app on PATH, let it read the queue, quit; the rows it showed."""
    app = FixreviewApp(Repository(path))
    app.session.branches = branches
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        return rows(app)


@contextlib.asynccontextmanager
async def held_start(
    path: Path, branches: tuple[str, ...] = ()
) -> AsyncIterator[tuple[FixreviewApp, Pilot[None], Holds]]:
    """The app started again on PATH, its load held at its first stage (what is on screen then
    came from the kept rows alone); the hold is let go on the way out, whatever happened."""
    holds = Holds(STAGE_BRANCHES)
    app = FixreviewApp(Repository(path), loading_watcher=holds)
    app.session.branches = branches
    try:
        async with app.run_test(size=SIZE) as pilot:
            await holds.at(STAGE_BRANCHES)
            await pilot.pause()
            yield app, pilot, holds
    finally:
        holds.let_go()


def state_line(app: FixreviewApp) -> str:
    return text_of(app.queue_screen.query_one("#queue-state", Static))


def cells(app: FixreviewApp) -> list[list[str]]:
    table = app.queue_screen.query_one("#queue", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def styles(app: FixreviewApp) -> set[str]:
    table = app.queue_screen.query_one("#queue", DataTable)
    return {str(cell.style) for i in range(table.row_count) for cell in table.get_row_at(i)}


def kept_entries(path: Path) -> list[Path]:
    root = path / ".git" / "fixreview" / "cache" / ROWS_KIND
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def test_the_last_runs_rows_show_provisional_and_enter_waits_for_the_queue(
    repo: TestRepo,
) -> None:
    many_fixes(repo, COUNT)
    shown = await first_run(repo.path)
    assert len(shown) == COUNT
    async with held_start(repo.path) as (app, pilot, holds):
        assert app.session.queue is None  # nothing read yet: all of this is the kept rows
        assert rows(app) == shown
        # where each fix stands is never taken from them: not known, and said so
        for row in cells(app):
            assert (row[1], row[-2], row[-1]) == ("…", "…", "…")
        assert styles(app) == {PROVISIONAL_STYLE}
        assert "the last run's, not checked" in state_line(app)
        # keys answer; Enter opens nothing until the queue is read
        await pilot.press("j", "enter")
        wanted = shown[1]
        assert isinstance(app.screen, QueueScreen)
        assert state_line(app) == f"loading the queue… then opening {wanted}"
        holds.let_go()
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert app.screen.branch == wanted
        assert app.session.queue is not None
        assert app.queue_screen.provisional == []
        assert PROVISIONAL_STYLE not in styles(app)


async def test_a_moved_ref_or_another_request_shows_no_rows_of_the_last_run(
    repo: TestRepo,
) -> None:
    many_fixes(repo, COUNT)
    await first_run(repo.path)
    assert kept_entries(repo.path)
    repo.checkout("-b", "ai-fix/late", "main")
    repo.commit("Fix late\n\nFinding-Id: SEC-99", {"app/late.py": "n = 99\n"}, who=AI)
    repo.checkout("main")
    for branches in ((), ("ai-fix/f0*",)):  # a new branch; then a narrower request
        async with held_start(repo.path, branches) as (app, pilot, holds):
            assert rows(app) == []
            assert state_line(app) == "loading the queue…"
            holds.let_go()
            await settle(app, pilot)
            assert len(rows(app)) == (COUNT + 1 if not branches else COUNT)


async def test_a_corrupt_entry_is_ignored_and_written_again(repo: TestRepo) -> None:
    many_fixes(repo, COUNT)
    shown = await first_run(repo.path)
    (entry,) = kept_entries(repo.path)
    good = entry.read_bytes()
    entry.write_bytes(good.replace(b"ai-fix/f01", b"ai-fix/XXX"))  # the checksum no longer holds
    async with held_start(repo.path) as (app, pilot, holds):
        assert rows(app) == []
        holds.let_go()
        await settle(app, pilot)
        assert rows(app) == shown
    assert entry.read_bytes() == good


async def test_sorting_or_filtering_leaves_the_last_runs_rows_aside(repo: TestRepo) -> None:
    """They are kept in the default view's order, unfiltered: any other view waits for the
    queue rather than show them as if sorted or filtered."""
    many_fixes(repo, COUNT)
    shown = await first_run(repo.path)
    async with held_start(repo.path) as (app, pilot, holds):
        assert rows(app) == shown
        await pilot.press("s")
        assert rows(app) == []
        assert state_line(app) == "loading the queue…"
        await pilot.press("s", "s")  # back to the default order
        assert rows(app) == shown
        await pilot.press("slash", "f")
        assert rows(app) == []
        holds.let_go()
        await settle(app, pilot)
        assert rows(app) == shown  # every branch matches "f"


async def test_a_fix_asked_for_meanwhile_is_not_opened_when_the_queue_no_longer_shows_it(
    repo: TestRepo,
) -> None:
    many_fixes(repo, COUNT)
    shown = await first_run(repo.path)
    async with held_start(repo.path) as (app, pilot, holds):
        await pilot.press("j", "enter")  # asks for shown[1] once the queue is read
        await pilot.press("slash", *shown[0][-3:], "enter")  # then filters it out
        holds.let_go()
        await settle(app, pilot)
        assert rows(app) == [shown[0]]
        assert isinstance(app.screen, QueueScreen)
        assert app.queue_screen.open_when_read is None
