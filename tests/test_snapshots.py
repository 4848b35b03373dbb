"""SVG snapshots of every screen on the sample repositories (pytest-textual-snapshot).

Update them with ``pytest tests/test_snapshots.py --snapshot-update`` after a deliberate change,
and look at the report before committing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from fixreview.app.main import FixreviewApp
from fixreview.app.screens.summary import SummaryScreen
from fixreview.repo.git import Repository
from fixreview.session import Outcome

SIZE = (150, 42)


@pytest.fixture(autouse=True)
def steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """No blinking cursor in snapshots."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None, raising=False)


async def settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def keys(*pressed: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in pressed:
            await pilot.press(key)
            await settle(pilot)

    return run


def app(demo_repo: Path) -> FixreviewApp:
    return FixreviewApp(Repository(demo_repo))


def test_queue(snap_compare: Any, demo_repo: Path) -> None:
    assert snap_compare(app(demo_repo), terminal_size=SIZE, run_before=keys())


def test_queue_with_decided_fixes_sorted_by_branch(snap_compare: Any, demo_repo: Path) -> None:
    assert snap_compare(app(demo_repo), terminal_size=SIZE, run_before=keys("a", "s", "s"))


# the terminal sizes the layout is drawn for: the queue's columns and the review screen's
# stacking follow the width (docs/app.md, Layout)
SIZES = [(80, 24), (120, 40), (200, 50)]


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_queue_at_size(snap_compare: Any, demo_repo: Path, size: tuple[int, int]) -> None:
    assert snap_compare(app(demo_repo), terminal_size=size, run_before=keys())


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_review_at_size(snap_compare: Any, demo_repo: Path, size: tuple[int, int]) -> None:
    assert snap_compare(app(demo_repo), terminal_size=size, run_before=keys("enter"))


@pytest.mark.parametrize("view", ["d", "o", "h", "c"])
def test_review_views(snap_compare: Any, demo_repo: Path, view: str) -> None:
    assert snap_compare(app(demo_repo), terminal_size=SIZE, run_before=keys("enter", view))


def test_decision_dialog(snap_compare: Any, demo_repo: Path) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await keys("slash")(pilot)
        box = pilot.app.focused  # the filter text in one go: typing it is not what is shown
        assert isinstance(box, Input), box
        box.insert_text_at_cursor("timing-safe")
        await keys("enter", "enter", "1", "2", "3", "4", "A")(pilot)

    assert snap_compare(app(demo_repo), terminal_size=SIZE, run_before=run)


def test_summary(snap_compare: Any, demo_repo: Path) -> None:
    outcome = Outcome(
        approved=["ai-fix/sqli-invoice-search"],
        changes_requested=["ai-fix/hardcoded-signing-secret"],
        rejected=["ai-fix/xss-invoice-notes"],
        skipped=["copilot/tidy-logging"],
    )

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.app.push_screen(SummaryScreen(outcome))
        await settle(pilot)

    assert snap_compare(app(demo_repo), terminal_size=SIZE, run_before=run)
