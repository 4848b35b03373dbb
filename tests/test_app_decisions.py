"""Deciding in the app as a reviewer does, through Pilot: before signing they know whether it will
count, what they type lands in the signed note, and each fix opens at its top.

What the tests expect comes from the demo's own data (sample_repos/payments-portal): the
report-export fix raises no blocking flag and touches no sensitive path (one approval needed);
the timing-safe password fix touches a sensitive path (two needed); the demo reviewer's key is
in main's allowed signers for reviewer@demo.fixreview.invalid.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Checkbox, Input, Static

from fixreview.app.main import FixreviewApp
from fixreview.app.screens.decision import DecisionDialog
from fixreview.app.screens.review import ReviewScreen
from fixreview.app.screens.summary import SummaryScreen
from fixreview.notes.records import b64decode
from fixreview.notes.store import DECISIONS_REF
from fixreview.repo.git import Repository

SIZE = (180, 50)
ONE_APPROVAL = "ai-fix/command-injection-report-export"


def text_of(widget: Static) -> str:
    return str(widget.render())


async def settle(app: FixreviewApp, pilot: object) -> None:
    for _ in range(2):
        await app.workers.wait_for_complete()
        await pilot.pause()  # type: ignore[attr-defined]


async def open_fix(app: FixreviewApp, pilot: object, needle: str) -> ReviewScreen:
    """From the queue: filter for NEEDLE and open the first row."""
    await settle(app, pilot)
    await pilot.press("slash")  # type: ignore[attr-defined]
    box = app.focused
    assert isinstance(box, Input)
    box.value = needle
    await pilot.press("enter", "enter")  # type: ignore[attr-defined]
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, ReviewScreen), screen
    return screen


def as_stranger(demo_repo: Path) -> Repository:
    """The demo, with the reviewer's own key but an e-mail main's allowed signers do not list."""
    repo = Repository(demo_repo)
    repo.run("config", "user.email", "stranger@example.com")
    return repo


def standing(screen: ReviewScreen) -> str:
    return text_of(screen.query_one("#review-standing", Static))


def notes_on(repo: Repository, branch: str) -> list[str]:
    """The decoded payloads of the decision records on BRANCH's head."""
    head = repo.run_text("rev-parse", branch).strip()
    proc = repo.try_run("notes", f"--ref={DECISIONS_REF}", "show", head)
    lines = proc.stdout.decode().splitlines() if proc.returncode == 0 else []
    return [b64decode(line.split(" ")[1]).decode() for line in lines]


async def test_the_review_screen_says_how_many_approvals_a_fix_needs(demo_repo: Path) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_fix(app, pilot, "report-export")
        assert screen.branch == ONE_APPROVAL
        assert standing(screen) == "approvals: 0 of 1"  # and no reason it would not count
        await pilot.press("escape")
        screen = await open_fix(app, pilot, "timing-safe")
        assert standing(screen) == "approvals: 0 of 2"


async def test_before_starting_the_reviewer_learns_their_approval_would_not_count(
    demo_repo: Path,
) -> None:
    repo = as_stranger(demo_repo)
    app = FixreviewApp(repo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_fix(app, pilot, "report-export")
        said = standing(screen)
        assert said.startswith("approvals: 0 of 1   your approval would not count: "), said
        assert "not in the base's allowed signers for stranger@example.com" in said, said


async def test_with_no_signing_key_the_review_says_so_before_anything_is_typed(
    demo_repo: Path,
) -> None:
    repo = Repository(demo_repo)
    repo.run("config", "--unset", "user.signingKey")
    app = FixreviewApp(repo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_fix(app, pilot, "report-export")
        said = standing(screen)
        assert "your approval would not count: you cannot sign yet" in said, said
        assert "user.signingKey" in said, said


async def test_a_decision_that_will_not_count_needs_an_explicit_confirmation(
    demo_repo: Path,
) -> None:
    repo = as_stranger(demo_repo)
    app = FixreviewApp(repo)
    async with app.run_test(size=SIZE) as pilot:
        await open_fix(app, pilot, "report-export")
        await pilot.press("C")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, DecisionDialog)
        counts = dialog.query_one("#decision-counts", Static)
        assert "needs a comment" in text_of(counts)
        comment = app.focused
        assert isinstance(comment, Input) and comment.id == "comment"
        comment.value = "not mine to judge"
        await pilot.pause()
        assert "will not count under the gate" in text_of(counts)
        assert "not in the base's allowed signers for stranger@example.com" in text_of(counts)
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is dialog, "not recorded without the confirmation"
        assert "record it anyway" in text_of(dialog.query_one("#decision-error", Static))
        assert notes_on(repo, ONE_APPROVAL) == []
        await pilot.press("tab", "space")  # the confirmation, right after the comment
        assert dialog.query_one("#record-anyway", Checkbox).value
        await pilot.press("shift+tab", "enter")
        await settle(app, pilot)
        assert app.screen is not dialog
        [note] = notes_on(repo, ONE_APPROVAL)
        assert 'comment = "not mine to judge"' in note
        assert 'reviewer = "stranger@example.com"' in note
        warned = [str(n.message) for n in app._notifications if "will not count" in str(n.message)]
        assert warned, "after recording, a notification repeats that it will not count"


@pytest.mark.parametrize("verdict", ["A", "C", "X"])
async def test_what_the_reviewer_types_then_enter_lands_in_the_signed_note(
    demo_repo: Path, verdict: str
) -> None:
    """The field the verdict needs has the focus; enter never toggles anything."""
    repo = Repository(demo_repo)
    app = FixreviewApp(repo)
    async with app.run_test(size=SIZE) as pilot:
        await open_fix(app, pilot, "report-export")
        if verdict == "A":
            await pilot.press("1", "2", "3", "4")
        await pilot.press(verdict)
        await settle(app, pilot)
        assert isinstance(app.screen, DecisionDialog)
        if verdict == "A":
            rollback = app.focused
            assert isinstance(rollback, Input) and rollback.id == "rollback"
            rollback.value = "revert when exports fail"
            await pilot.press("enter")
        comment = app.focused
        assert isinstance(comment, Input) and comment.id == "comment"
        comment.value = f"typed for {verdict}"
        await pilot.pause()
        word = {"A": "approve", "C": "request-changes", "X": "reject"}[verdict]
        counts = app.screen.query_one("#decision-counts", Static)
        assert text_of(counts) == f"this {word} will count under the gate"
        await pilot.press("enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, DecisionDialog)
    [note] = notes_on(repo, ONE_APPROVAL)
    assert f'comment = "typed for {verdict}"' in note
    if verdict == "A":
        assert 'note = "revert when exports fail"' in note


async def test_each_fix_opens_at_its_top(demo_repo: Path) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")  # the first row, unfiltered: ] has somewhere to go
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        first = screen.branch
        finding = screen.query_one("#finding-scroll")
        finding.scroll_end(animate=False)
        await pilot.pause()
        assert finding.scroll_y > 0, "the finding is longer than its panel"
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert screen.branch != first
        assert finding.scroll_y == 0
        fix = app.session.fix(screen.branch)
        assert fix.finding is not None
        shown = text_of(screen.query_one("#finding", Static))
        assert shown.startswith(fix.finding.id)


async def test_the_summary_says_whether_each_approved_fix_passes_the_gate(
    demo_repo: Path,
) -> None:
    repo = Repository(demo_repo)
    app = FixreviewApp(repo)
    async with app.run_test(size=SIZE) as pilot:
        await open_fix(app, pilot, "report-export")
        await pilot.press("1", "2", "3", "4", "A")
        await settle(app, pilot)
        rollback = app.focused
        assert isinstance(rollback, Input)
        rollback.value = "revert when exports fail"
        await pilot.press("enter", "enter")
        await settle(app, pilot)
        app.show_summary(app.session.outcome())
        await settle(app, pilot)
        assert isinstance(app.screen, SummaryScreen)
        summary = text_of(app.screen.query_one("#summary", Static))
        assert f"{ONE_APPROVAL}  passes the gate" in summary, summary


@pytest.mark.parametrize(("needle", "keys"), [("report-export", "C"), ("timing-safe", "1234A")])
async def test_at_80x24_the_dialog_keeps_in_view_what_the_reviewer_works_with(
    demo_repo: Path, needle: str, keys: str
) -> None:
    """What will be signed scrolls; the field being typed in, and what the rule-book says of
    the decision, stay on screen — also for an approval with a blocking flag to acknowledge,
    whose checkbox is a tab away and then in view."""
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_fix(app, pilot, needle)
        await pilot.press(*keys)
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, DecisionDialog)
        frame = dialog.query_one("#decision-body").region

        def shown(name: str) -> bool:
            return frame.contains_region(dialog.query_one(name).region)

        assert dialog.query_one("#decision-counts").region.bottom <= 24
        focused = app.focused
        assert focused is not None and focused.id is not None and shown(f"#{focused.id}")
        if keys.endswith("A"):
            await pilot.press("shift+tab")
            await pilot.pause()
            assert app.focused is dialog.query_one("#ack-sensitive-path", Checkbox)
            assert shown("#ack-sensitive-path")
