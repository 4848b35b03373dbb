"""The queue screen while the queue loads: the stage and its count, keys answering, then gone.

The load is held at a known stage by the app's loading watcher (told every step in the loading
worker, after the screen was), so nothing here races the worker."""

from __future__ import annotations

import asyncio
import threading

from textual.widgets import DataTable, ProgressBar, Static

from fixreview.app.main import FixreviewApp
from fixreview.queue import STAGE_BRANCHES
from fixreview.repo.git import Repository
from fixreview.risk import STAGE_RISK
from tests.gitutil import TestRepo
from tests.test_app import SIZE, rows, settle, text_of
from tests.test_progress import BRANCHES, many_fixes

HOLD = 60.0  # seconds a held stage waits at most for the test (a failed test lets go at once)


class Holds:
    """The loading watcher: holds the load at the first report of each of STAGES until the
    test lets it go."""

    def __init__(self, *stages: str) -> None:
        self.reached = {stage: threading.Event() for stage in stages}
        self.release = {stage: threading.Event() for stage in stages}

    def __call__(self, stage: str, done: int, total: int) -> None:
        reached = self.reached.get(stage)
        if reached is not None and not reached.is_set():
            reached.set()
            self.release[stage].wait(HOLD)

    async def at(self, stage: str) -> None:
        assert await asyncio.to_thread(self.reached[stage].wait, HOLD)

    def let_go(self) -> None:
        for event in self.release.values():
            event.set()


async def test_loading_shows_each_stage_and_its_count_then_goes(repo: TestRepo) -> None:
    many_fixes(repo)
    holds = Holds(STAGE_BRANCHES, STAGE_RISK)
    app = FixreviewApp(Repository(repo.path), loading_watcher=holds)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = app.queue_screen
            shown = screen.query_one("#queue-progress")
            stage = screen.query_one("#progress-stage", Static)
            bar = screen.query_one("#progress-bar", ProgressBar)
            await holds.at(STAGE_BRANCHES)
            await pilot.pause()
            assert shown.display
            assert text_of(stage) == f"{STAGE_BRANCHES} 0/{BRANCHES}"
            assert (bar.progress, bar.total) == (0, BRANCHES)
            assert "loading the queue" in text_of(screen.query_one("#queue-state", Static))
            holds.release[STAGE_BRANCHES].set()
            # the rows are drawn; the flags are being checked, and keys answer meanwhile
            await holds.at(STAGE_RISK)
            await pilot.pause()
            assert shown.display
            assert text_of(stage) == f"{STAGE_RISK} 0/{BRANCHES}"
            assert len(rows(app)) == BRANCHES
            table = screen.query_one("#queue", DataTable)
            await pilot.press("j", "j")
            assert table.cursor_row == 2
            await pilot.press("slash", *"f07", "enter")
            assert rows(app) == ["ai-fix/f07"]
            holds.let_go()
            await settle(app, pilot)
            assert not shown.display
            assert text_of(screen.query_one("#queue-state", Static)).startswith("1 of 30 fixes")
    finally:
        holds.let_go()


async def test_no_progress_is_left_once_loaded(repo: TestRepo) -> None:
    many_fixes(repo, 3)
    app = FixreviewApp(Repository(repo.path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert len(rows(app)) == 3
        assert not app.queue_screen.query_one("#queue-progress").display
