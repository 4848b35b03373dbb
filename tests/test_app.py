"""The review app, driven through Pilot the way a reviewer drives it: keys in, screen and
repository out."""

from __future__ import annotations

import contextlib
import io
import subprocess
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static
from textual.worker import WorkerFailed

from fixreview.app.main import FixreviewApp
from fixreview.app.screens.decision import DecisionDialog
from fixreview.app.screens.help import HelpScreen
from fixreview.app.screens.queue import QueueScreen
from fixreview.app.screens.review import ReviewScreen
from fixreview.app.screens.summary import SummaryScreen
from fixreview.app.widgets.checklist import ChecklistView
from fixreview.app.widgets.diff_view import DiffView
from fixreview.cli.main import main as cli_main
from fixreview.drafts import load_draft
from fixreview.gate import fill_statuses
from fixreview.models import AWAITING_REVIEW
from fixreview.notes.store import DECISIONS_REF
from fixreview.queue import load_queue
from fixreview.repo.git import Repository

SIZE = (180, 50)


def text_of(widget: Static) -> str:
    return str(widget.render())


def rows(app: FixreviewApp) -> list[str]:
    table = app.screen.query_one("#queue", DataTable)
    return [str(table.get_row_at(i)[4]) for i in range(table.row_count)]


async def settle(app: FixreviewApp, pilot: object) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]


async def fill(app: FixreviewApp, pilot: object, text: str, *then: str) -> None:
    """TEXT into the focused input at its cursor in one go, as typing it would leave it, then
    the keys THEN. Pilot pays a round trip through the app per key (about 0.1 s), and these
    tests are about what the text does, not about typing it (the filter test still types)."""
    box = app.focused
    assert isinstance(box, Input), box
    box.insert_text_at_cursor(text)
    await pilot.press(*then)  # type: ignore[attr-defined]


async def open_dialog(app: FixreviewApp, pilot: object, needle: str, key: str) -> DecisionDialog:
    """From the queue: filter for NEEDLE, open the fix, press KEY (A, C or X): the dialog,
    once what the rule-book says is shown."""
    await settle(app, pilot)
    await pilot.press("slash")  # type: ignore[attr-defined]
    await fill(app, pilot, needle, "enter", "enter")
    await settle(app, pilot)
    await pilot.press(key)  # type: ignore[attr-defined]
    await settle(app, pilot)
    dialog = app.screen
    assert isinstance(dialog, DecisionDialog), dialog
    return dialog


def awaiting(repo: Path) -> list[str]:
    r = Repository(repo)
    queue = load_queue(r)
    fill_statuses(r, queue)
    fixes = [f for f in queue.fixes if f.branch.status in AWAITING_REVIEW]
    return [f.branch.name for f in sorted(fixes, key=lambda f: (f.severity_rank, f.branch.name))]


async def test_queue_lists_fixes_filters_sorts_and_toggles(demo_repo: Path) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        assert rows(app) == awaiting(demo_repo)
        assert "0 reviewed this run" in app.sub_title
        table = app.screen.query_one("#queue", DataTable)
        first = table.get_row_at(0)
        assert str(first[0]) == "critical"
        await pilot.press("slash", *"pyyaml")
        assert rows(app) == ["snyk-fix-pyyaml-5-4"]
        await pilot.press("escape")
        assert rows(app) == awaiting(demo_repo)
        await pilot.press("a")
        everything = rows(app)
        assert (
            "ai-fix/xss-invoice-notes" in everything and "ai-fix/sqli-invoice-search" in everything
        )
        statuses = {
            str(table.get_row_at(i)[4]): str(table.get_row_at(i)[1]) for i in range(table.row_count)
        }
        assert statuses["ai-fix/sqli-invoice-search"] == "approved"
        assert statuses["ai-fix/xss-invoice-notes"] == "rejected"
        assert statuses["ai-fix/docs-tls-verification"] == "stale"
        await pilot.press("slash")
        await fill(app, pilot, "sqli", "enter")
        assert rows(app) == ["ai-fix/sqli-invoice-search"]
        await pilot.press("escape", "s")
        assert "sorted by age" in text_of(app.screen.query_one("#queue-state", Static))
        await pilot.press("s")
        assert "sorted by branch" in text_of(app.screen.query_one("#queue-state", Static))
        assert rows(app) == sorted(rows(app))
        start = table.cursor_row if table.cursor_row < table.row_count - 3 else 0
        table.move_cursor(row=start)
        await pilot.press("j", "j", "k")
        assert table.cursor_row == start + 1
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        help_text = text_of(app.screen.query_one(Static))
        for key in ("enter", "slash", "s", "a", "q"):
            assert f"{key}  " in help_text
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)
        await pilot.press("q")
    assert app.return_code == 0 or app.return_code is None


async def test_review_views_and_file_navigation(demo_repo: Path) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await fill(app, pilot, "command-injection", "enter", "enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        assert "SEC-102" in text_of(screen.query_one("#finding", Static))
        assert "OS command injection" in text_of(screen.query_one("#finding", Static))
        final = screen.query_one("#final", DiffView)
        assert final.file_count == 2
        await pilot.press("n")
        assert final.current_file_index == 1
        await pilot.press("p")
        assert final.current_file_index == 0
        await pilot.press("o")
        assert "shlex.quote" in text_of(screen.query_one("#rationale", Static))
        assert screen.query_one("#suggestion-diff", DiffView).file_count == 1
        await pilot.press("h")
        assert "commits after the suggestion" in text_of(screen.query_one("#human-how", Static))
        assert screen.query_one("#human-diff", DiffView).file_count == 2
        await pilot.press("c")
        log = text_of(screen.query_one("#commit-log", Static))
        assert (
            "Priya Natarajan" in log and "secfix-bot[bot]" in log and "Finding-Id: SEC-102" in log
        )
        await pilot.press("d", "escape")
        assert isinstance(app.screen, QueueScreen)


async def test_recorded_decisions_show_as_the_gate_judges_them(demo_repo: Path) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("a", "slash")
        await fill(app, pilot, "docs-tls", "enter", "enter")
        await settle(app, pilot)
        await pilot.press("c")
        decisions = text_of(app.screen.query_one("#decision-log", Static))
        assert "approve  Aisha Okafor <aisha.okafor@example.com>" in decisions
        assert "stale: decided on" in decisions
        assert "gate: not approved" in decisions


async def test_checklist_is_drafted_and_survives_a_killed_app(demo_repo: Path) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await fill(app, pilot, "timing-safe", "enter", "enter")
        await settle(app, pilot)
        await pilot.press("1", "3", "e")
        assert isinstance(app.screen.query_one(Input), Input)
        await pilot.press("ctrl+u")
        await fill(app, pilot, "touches login only", "enter")
        # the app is "killed": no clean exit path runs
    draft = load_draft(Repository(demo_repo), "ai-fix/timing-safe-password-check")
    assert draft is not None
    assert draft.checklist.intent.status == "confirmed"
    assert draft.checklist.scope.status == "open"
    assert draft.checklist.blast_radius.status == "confirmed"
    assert draft.checklist.blast_radius.note == "touches login only"
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await fill(app, pilot, "timing-safe", "enter", "enter")
        await settle(app, pilot)
        checklist = app.screen.query_one(ChecklistView)
        assert checklist.checklist.blast_radius.note == "touches login only"
        assert "[x]" in text_of(checklist)


async def review_and_decide(app: FixreviewApp, pilot: object, verdict: str, note: str) -> None:
    """Confirm the checklist (for approvals), open the dialog, acknowledge flags, sign."""
    screen = app.screen
    assert isinstance(screen, ReviewScreen)
    press = pilot.press  # type: ignore[attr-defined]
    if verdict == "A":
        checklist = screen.query_one(ChecklistView)
        for index in range(4):
            if not checklist.item(index).confirmed:
                await press(str(index + 1))
    await press(verdict)
    await pilot.pause()  # type: ignore[attr-defined]
    dialog = app.screen
    assert isinstance(dialog, DecisionDialog)
    for _ in dialog.data.blocking:
        await press("space", "tab")
    if verdict == "A":
        await press("ctrl+u")
        await fill(app, pilot, note, "enter")
    await fill(app, pilot, f"{note} (comment)", "enter")
    await settle(app, pilot)


async def test_a_whole_batch_session_ends_in_notes_verify_accepts(demo_repo: Path) -> None:
    pending = awaiting(demo_repo)
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen) and app.screen.branch == pending[0]
        # approve refused while the checklist is open
        await pilot.press("A")
        await pilot.pause()
        assert not isinstance(app.screen, DecisionDialog)
        assert any("checklist not confirmed" in str(n.message) for n in app._notifications)
        # skip the first, then decide every other one: approve, send back, reject in turn
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert app.screen.branch == pending[1]  # type: ignore[attr-defined]
        verdicts = ["A", "C", "X"]
        decided: dict[str, str] = {}
        for step in range(len(pending) - 1):
            screen = app.screen
            assert isinstance(screen, ReviewScreen), type(screen)
            decided[screen.branch] = verdicts[step % 3]
            await review_and_decide(app, pilot, verdicts[step % 3], f"note {step}")
        # the skipped fix is still pending: go back to it and approve it, then the summary shows
        assert isinstance(app.screen, ReviewScreen) and app.screen.branch == pending[0]
        decided[pending[0]] = "A"
        await review_and_decide(app, pilot, "A", "last one")
        assert isinstance(app.screen, SummaryScreen)
        summary = text_of(app.screen.query_one("#summary", Static))
        approved = [b for b, v in decided.items() if v == "A"]
        assert f"Approved: {len(approved)}" in summary
        assert (
            f"Sent back (changes requested): {sum(v == 'C' for v in decided.values())}" in summary
        )
        assert f"Rejected: {sum(v == 'X' for v in decided.values())}" in summary
        assert "Skipped: 0" in summary
        signed = [
            str(n.message) for n in app._notifications if "signed with SHA256:" in str(n.message)
        ]
        assert signed, "a notification names the signing key's fingerprint"
        assert f"{len(pending)} reviewed this run" in app.sub_title
    repo = Repository(demo_repo)
    for branch, verdict in decided.items():  # the CI command, in this process (14 of them)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli_main(["--repo", str(demo_repo), "verify", branch])
        if verdict == "A":
            needs_two = "sensitive" in out.getvalue()
            assert code == (1 if needs_two else 0), out.getvalue()
        else:
            assert code == 1
    assert len(repo.run_text("notes", f"--ref={DECISIONS_REF}", "list").splitlines()) >= len(
        pending
    )


async def test_signing_failure_keeps_the_draft_and_the_app(demo_repo: Path) -> None:
    repo = Repository(demo_repo)
    repo.run("config", "user.signingKey", "/nonexistent/key")
    app = FixreviewApp(repo)
    async with app.run_test(size=SIZE) as pilot:
        await open_dialog(app, pilot, "docs-tls", "C")
        await fill(app, pilot, "please cite the CA fingerprint", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DecisionDialog)
        error = text_of(app.screen.query_one("#decision-error", Static))
        assert "not recorded" in error and "does not exist" in error
        await pilot.press("escape")
        assert isinstance(app.screen, ReviewScreen)
    draft = load_draft(repo, "ai-fix/docs-tls-verification")
    assert draft is not None and draft.comment == "please cite the CA fingerprint"
    assert repo.run_text("notes", f"--ref={DECISIONS_REF}", "list").count("\n") == 3


async def test_the_dialog_says_before_signing_whether_the_decision_will_count(
    demo_repo: Path,
) -> None:
    """The rule-book's answer, as the reviewer types: what is missing, then that it counts; and
    for a key the base does not allow, that it will be recorded but will not count."""
    repo = Repository(demo_repo)
    app = FixreviewApp(repo)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(app, pilot, "docs-tls", "C")
        counts = dialog.query_one("#decision-counts", Static)
        assert "to record it: a request-changes decision needs a comment" in text_of(counts)
        await fill(app, pilot, "cite the CA")
        await pilot.pause()
        assert text_of(counts) == "this request-changes will count under the gate"
        await pilot.press("escape")
    # the same reviewer signing as someone the base's allowed signers do not list
    repo.run("config", "user.email", "stranger@example.com")
    app = FixreviewApp(repo)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(app, pilot, "docs-tls", "C")
        counts = dialog.query_one("#decision-counts", Static)
        assert dialog.draft.comment == "cite the CA"  # the draft kept what was typed
        said = text_of(counts)
        assert "will not count under the gate" in said, said
        assert "not in the base's allowed signers for stranger@example.com" in said, said
        await pilot.press("enter")  # recorded all the same, and the notification says so
        await settle(app, pilot)
        assert not isinstance(app.screen, DecisionDialog)
        warned = [str(n.message) for n in app._notifications if "will not count" in str(n.message)]
        assert warned, "a notification repeats that the decision will not count"


@pytest.mark.parametrize("verdict", ["C", "X"])
async def test_send_back_and_reject_need_a_comment(demo_repo: Path, verdict: str) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press(verdict)
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DecisionDialog)
        assert "needs a comment" in text_of(app.screen.query_one("#decision-error", Static))


def test_every_binding_has_an_id_and_a_place_in_help() -> None:
    from fixreview.app.screens.decision import DecisionDialog as Dialog
    from fixreview.app.screens.note import NoteDialog

    for owner in (
        FixreviewApp,
        QueueScreen,
        ReviewScreen,
        Dialog,
        SummaryScreen,
        HelpScreen,
        NoteDialog,
    ):
        for binding in owner.BINDINGS:
            assert getattr(binding, "id", None), (owner.__name__, binding)


async def test_command_palette_offers_the_screen_actions(demo_repo: Path) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in ("Open", "Filter", "Sort", "Decided", "Theme"):
            assert any(title.lower() in t.lower() for t in titles), (title, titles)
        await pilot.press("enter")
        await settle(app, pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in ("Approve", "Request changes", "Reject", "Human changes", "Next fix"):
            assert title in titles
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Commits")
        command.callback()
        await pilot.pause()
        await pilot.pause()
        assert app.screen.query_one("#views").current == "commits"  # type: ignore[attr-defined]


async def test_a_failing_worker_shows_its_error_and_the_app_lives_on(demo_repo: Path) -> None:
    repo = Repository(demo_repo)
    app = FixreviewApp(repo)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(app, pilot)
        # the policy on main becomes malformed: reloading the queue fails in its worker
        subprocess.run(["git", "-C", str(demo_repo), "checkout", "-q", "main"], check=True)
        (demo_repo / ".fixreview.toml").write_text("[approvals]\nrequried = 2\n")
        subprocess.run(["git", "-C", str(demo_repo), "commit", "-qam", "broken policy"], check=True)
        worker = app.reload_queue()
        with pytest.raises(WorkerFailed):
            await worker.wait()
        await pilot.pause()
        messages = [str(n.message) for n in app._notifications]
        assert any("approvals.requried: unknown key" in m for m in messages), messages
        assert app.is_running and isinstance(app.screen, QueueScreen)
        assert rows(app)  # the last good queue is still shown


async def test_selecting_a_risk_flag_jumps_to_its_evidence(demo_repo: Path) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await fill(app, pilot, "ci-pin", "enter", "enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen) and screen.data is not None
        order = [flag.id for flag in screen.data.flags]
        hidden = order.index("hidden-unicode")
        await pilot.press("o")
        for _ in range(hidden + 1):
            await pilot.press("f")
        await pilot.pause()
        assert screen.view_name == "final"
        diff = screen.query_one("#final", DiffView)
        top = "\n".join(diff.render_line(y).text for y in range(3))
        assert "<U+200B>" in "\n".join(diff.render_line(y).text for y in range(diff.size.height))
        assert top.strip()


async def test_a_new_decision_shows_when_the_fix_is_reopened(demo_repo: Path) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await fill(app, pilot, "pyyaml", "enter", "enter")
        await settle(app, pilot)
        await review_and_decide(app, pilot, "C", "pin with hashes")
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        await pilot.press("a", "slash", "ctrl+u")
        await fill(app, pilot, "pyyaml", "enter", "enter")
        await settle(app, pilot)
        await pilot.press("c")
        decisions = text_of(app.screen.query_one("#decision-log", Static))
        assert "request-changes  Demo Reviewer" in decisions
        assert "pin with hashes (comment)" in decisions
