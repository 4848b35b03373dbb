"""The app's first frame: the last run's rows, or with none kept the fix branches as git lists
them, provisional until the queue is read.

Each test starts the app (once to keep the rows: fixreview/rowsnapshot.py, then again) with the
load held at its first stage (the loading watcher, as in tests/test_app_progress.py) or before
the queue is read at all: what is on screen then came from the kept rows or the refs alone."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from textual.worker import WorkerFailed

from fixreview.app.main import FixreviewApp
from fixreview.app.screens.queue import (
    FAILED_NOTE,
    LISTED_NOTE,
    PROVISIONAL_NOTE,
    PROVISIONAL_STYLE,
    QueueScreen,
)
from fixreview.app.screens.review import ReviewScreen
from fixreview.queue import STAGE_BRANCHES
from fixreview.repo.git import Repository
from fixreview.rowsnapshot import ROWS_KIND
from tests.gitutil import AI, TestRepo
from tests.test_app import SIZE, rows, settle, text_of
from tests.test_app_progress import HOLD, Holds
from tests.test_import_hygiene import AFTER_THE_FIRST_FRAME, _loaded_by
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
    """Only the fix branches the refs list now: none of the last run's columns."""
    names = many_fixes(repo, COUNT)
    await first_run(repo.path)
    assert kept_entries(repo.path)
    repo.checkout("-b", "ai-fix/late", "main")
    repo.commit("Fix late\n\nFinding-Id: SEC-99", {"app/late.py": "n = 99\n"}, who=AI)
    repo.checkout("main")
    for branches in ((), ("ai-fix/f0*",)):  # a new branch; then a narrower request
        async with held_start(repo.path, branches) as (app, pilot, holds):
            assert rows(app) == ([*names, "ai-fix/late"] if not branches else names)
            assert state_line(app) == LISTED_NOTE
            assert {(row[0], row[2]) for row in cells(app)} == {("…", "…")}
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
        assert state_line(app) == LISTED_NOTE  # not the entry's rows: the refs' listing
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


# -- a first start: the fix branches as git lists them ------------------------------------------


def not_fixes(repo: TestRepo) -> None:
    """Branches that are no fix branches under the default patterns, one of them carrying a
    policy of its own that would make every branch one (only the base's policy counts)."""
    repo.checkout("-b", "feature/x", "main")
    repo.commit("Feature", {".fixreview.toml": 'fix_branches = ["*"]\n', "app/x.py": "x\n"})
    repo.checkout("-b", "ai-fixes", "main")
    repo.commit("Not a fix branch", {"app/y.py": "y\n"}, who=AI)
    repo.checkout("main")


async def test_a_first_start_lists_the_fix_branches_provisional_and_enter_waits_for_the_queue(
    repo: TestRepo,
) -> None:
    names = many_fixes(repo, COUNT)
    not_fixes(repo)
    assert not kept_entries(repo.path)
    async with held_start(repo.path) as (app, pilot, holds):
        assert app.session.queue is None  # nothing read yet: all of this is from the refs
        assert rows(app) == names  # by name; not main, feature/x or ai-fixes
        for i, row in enumerate(cells(app)):
            # the head commit's subject; nothing of the finding, nor of where the fix stands
            assert row[3] == f"Fix {i}"
            assert {row[k] for k in (0, 1, 2, 5, 6, 7, 8)} == {"…"}
        assert styles(app) == {PROVISIONAL_STYLE}
        assert state_line(app) == LISTED_NOTE
        assert "not checked" in LISTED_NOTE
        await pilot.press("j", "j", "enter")
        assert isinstance(app.screen, QueueScreen)  # nothing opens before the queue is read
        assert state_line(app) == f"loading the queue… then opening {names[2]}"
        holds.let_go()
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert app.screen.branch == names[2]
        assert app.queue_screen.provisional == []
        assert PROVISIONAL_STYLE not in styles(app)
        await pilot.press("escape")
        assert rows(app) == names
    # the next start draws the rows that start kept, and says so
    async with held_start(repo.path) as (app, pilot, holds):
        assert rows(app) == names
        assert state_line(app) == PROVISIONAL_NOTE
        assert {row[0] for row in cells(app)} != {"…"}


async def test_only_the_base_policys_fix_branches_are_listed(repo: TestRepo) -> None:
    repo.commit("policy", {".fixreview.toml": 'fix_branches = ["bot/*"]\n'})
    many_fixes(repo, 2)  # ai-fix/…: fix branches by default, not under this policy
    not_fixes(repo)
    repo.checkout("-b", "bot/one", "main")
    repo.commit("Fix one\n\nFinding-Id: SEC-1", {"app/one.py": "1\n"}, who=AI)
    repo.checkout("main")
    async with held_start(repo.path) as (app, pilot, holds):
        assert rows(app) == ["bot/one"]
        holds.let_go()
        await settle(app, pilot)
        assert rows(app) == ["bot/one"]


async def test_the_reviewers_branches_narrow_the_listed_rows_and_the_title_says_so(
    repo: TestRepo,
) -> None:
    names = many_fixes(repo, COUNT)
    async with held_start(repo.path, ("ai-fix/f0[01]", "ai-fix/f00")) as (app, pilot, holds):
        assert rows(app) == names[:1]  # brackets are literal: only f00 matches
        assert f"{COUNT - 1} more not matching your branches" in app.sub_title
        holds.let_go()
        await settle(app, pilot)
        assert f"{COUNT - 1} more not matching your branches" in app.sub_title


class HeldRead:
    """Holds the app's queue read before it starts (after the provisional rows are drawn)."""

    def __init__(self, app: FixreviewApp) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()
        read = app.session.load_rows

        def held(*args: Any, **kwargs: Any) -> Any:
            self.reached.set()
            self.release.wait(HOLD)
            return read(*args, **kwargs)

        app.session.load_rows = held  # type: ignore[method-assign]

    async def at(self) -> None:
        assert await asyncio.to_thread(self.reached.wait, HOLD)


@pytest.mark.parametrize(
    ("policy", "listed"),
    [
        ("[approvals]\nrequried = 2\n", True),  # the patterns are known; the policy is refused
        ('fix_branches = "ai-fix/*"\n', False),  # the patterns themselves are not a list
    ],
)
async def test_a_refused_policy_leaves_no_listed_row_and_opens_nothing(
    repo: TestRepo, policy: str, listed: bool
) -> None:
    repo.commit("policy", {".fixreview.toml": policy})
    names = many_fixes(repo, COUNT)
    app = FixreviewApp(Repository(repo.path))
    hold = HeldRead(app)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await hold.at()
            await pilot.pause()
            assert rows(app) == (names if listed else [])
            await pilot.press("enter")
            (worker,) = [w for w in app.workers if w.group == "queue"]
            hold.release.set()
            with pytest.raises(WorkerFailed):
                await worker.wait()
            await pilot.pause()
            await pilot.pause()
            assert rows(app) == []
            assert state_line(app) == FAILED_NOTE
            assert isinstance(app.screen, QueueScreen)
            assert app.queue_screen.open_when_read is None
            messages = [str(n.message) for n in app._notifications]
            assert any(".fixreview.toml on main" in m for m in messages), messages
    finally:
        hold.release.set()


def test_the_command_checks_the_base_without_the_models_before_the_app(repo: TestRepo) -> None:
    """``fixreview`` (no command) resolves the base and reads its policy's patterns before it
    opens the app, without importing the models or every screen: they would delay its first
    frame. Here it stops at the terminal check, after those (the tests have no terminal)."""
    many_fixes(repo, 1)
    code, loaded = _loaded_by("--repo", str(repo.path))
    assert code == 2  # "the review app needs a terminal"
    assert "fixreview.fixbranches" in loaded
    early = {m for m in loaded for name in AFTER_THE_FIRST_FRAME if m == name}
    assert early == set()
    assert "fixreview.policy" not in loaded
    # what cannot be told without them is told as before: the model's own words, exit 2
    repo.commit("policy", {".fixreview.toml": 'fix_branches = "ai-fix/*"\n'})
    proc = subprocess.run(
        [sys.executable, "-m", "fixreview", "--repo", str(repo.path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "fix_branches" in proc.stderr and "needs a terminal" not in proc.stderr
