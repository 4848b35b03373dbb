"""The review app, driven through Pilot the way a reviewer drives it: keys in, screen and
repository out."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.widget import Widget
from textual.widgets import Checkbox, DataTable, Input, Static
from textual.worker import WorkerFailed

from fixreview.app.main import FixreviewApp
from fixreview.app.screens.decision import DecisionDialog
from fixreview.app.screens.help import HelpScreen
from fixreview.app.screens.queue import QueueScreen
from fixreview.app.screens.review import ReviewScreen
from fixreview.app.screens.summary import SummaryScreen
from fixreview.app.widgets.checklist import ChecklistView
from fixreview.app.widgets.diff_view import LOCATION_CONTEXT, DiffView
from fixreview.cli.main import main as cli_main
from fixreview.drafts import load_draft
from fixreview.notes.store import DECISIONS_REF
from fixreview.repo.git import Repository

SIZE = (180, 50)

# What the tests know of the demo, written down from sample_repos/payments-portal (see
# sample_repos/README.md's table), not asked of the code under test.
#
# The fixes awaiting review, in the queue's order: most severe first, then by branch name.
# Severities: the finding.toml of each fixes/NN-*/ folder; alert-autofix-12 is CodeQL's
# py/path-injection (security-severity 7.5: high) in security/codeql.sarif; open-redirect-login
# is SEC-107 (medium) through its Finding-Id trailer and security/findings.toml; tidy-logging
# has no finding, so it comes last. docs-tls-verification awaits review because its approval
# (`after = 1`) is on its first commit and so stale. Not awaiting: sqli-invoice-search (approved
# by secops on its head) and xss-invoice-notes (rejected by dev).
DEMO_AWAITING = [
    "ai-fix/command-injection-report-export",  # critical SEC-102
    "snyk-fix-pyyaml-5-4",  # critical SEC-105
    "ai-fix/hardcoded-signing-secret",  # high SEC-103
    "ai-fix/timing-safe-password-check",  # high SEC-106
    "alert-autofix-12",  # high, CodeQL py/path-injection
    "snyk-fix-gunicorn-23-0-0",  # high SEC-115
    "ai-fix/ci-pin-actions",  # medium SEC-109
    "ai-fix/codeowners-security-review",  # medium SEC-112
    "ai-fix/csv-formula-injection",  # medium SEC-114
    "ai-fix/gateway-sandbox-fallback",  # medium SEC-113
    "ai-fix/open-redirect-login",  # medium SEC-107
    "ai-fix/docs-tls-verification",  # low SEC-108, stale approval
    "ai-fix/mixed-content-favicon",  # low SEC-110
    "copilot/tidy-logging",  # no finding
]
DEMO_DECIDED = {"ai-fix/sqli-invoice-search": "approved", "ai-fix/xss-invoice-notes": "rejected"}
# The fixes whose files (each fixes/NN-*/NN-*/ overlay) match the default policy's
# risk.sensitive_paths: one approval does not pass verify (approvals.sensitive = 2).
DEMO_SENSITIVE = {
    "ai-fix/hardcoded-signing-secret",  # .github/workflows/ci.yml
    "ai-fix/timing-safe-password-check",  # app/auth.py
    "ai-fix/ci-pin-actions",  # .github/workflows/ci.yml
    "ai-fix/codeowners-security-review",  # .fixreview.toml, .github/CODEOWNERS
    "ai-fix/open-redirect-login",  # app/auth.py
}
# Decision notes on the demo as built: sqli-invoice-search's head, xss-invoice-notes's head and
# docs-tls-verification's first commit.
DEMO_DECISION_NOTES = 3


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


async def test_queue_lists_fixes_filters_sorts_and_toggles(demo_repo: Path) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        assert rows(app) == DEMO_AWAITING
        assert app.sub_title == f"0 reviewed this run · {len(DEMO_AWAITING)} awaiting review"
        table = app.screen.query_one("#queue", DataTable)
        first = table.get_row_at(0)
        assert str(first[0]) == "critical"
        await pilot.press("slash", *"pyyaml")
        assert rows(app) == ["snyk-fix-pyyaml-5-4"]
        await pilot.press("escape")
        assert rows(app) == DEMO_AWAITING
        await pilot.press("a")
        assert sorted(rows(app)) == sorted([*DEMO_AWAITING, *DEMO_DECIDED])
        statuses = {
            str(table.get_row_at(i)[4]): str(table.get_row_at(i)[1]) for i in range(table.row_count)
        }
        for branch, status in DEMO_DECIDED.items():
            assert statuses[branch] == status
        assert statuses["ai-fix/docs-tls-verification"] == "stale"
        await pilot.press("slash")
        await fill(app, pilot, "sqli", "enter")
        assert rows(app) == ["ai-fix/sqli-invoice-search"]
        await pilot.press("escape", "s")
        assert "sorted by age" in text_of(app.screen.query_one("#queue-state", Static))
        await pilot.press("s")
        assert "sorted by branch" in text_of(app.screen.query_one("#queue-state", Static))
        assert rows(app) == sorted([*DEMO_AWAITING, *DEMO_DECIDED])
        start = table.cursor_row if table.cursor_row < table.row_count - 3 else 0
        table.move_cursor(row=start)
        await pilot.press("j", "j", "k")
        assert table.cursor_row == start + 1
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        help_text = text_of(app.screen.query_one(Static))
        for key in ("⏎", "/", "s", "a", "q"):  # as Textual shows keys
            assert f"{key}  " in help_text
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)
        assert app.return_code is None  # running
        await pilot.press("q")
        assert app.return_code == 0  # q asked the app to exit, with success


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


async def focus(pilot: object, widget: Widget) -> None:
    """Give WIDGET the focus (Textual moves it on the next turn of the message loop)."""
    widget.focus()
    await pilot.pause()  # type: ignore[attr-defined]
    assert widget.has_focus, widget


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
    # each acknowledgement, then each text, wherever the dialog puts the focus first
    for flag_id in dialog.data.blocking:
        await focus(pilot, dialog.query_one(f"#ack-{flag_id}", Checkbox))
        await press("space")
    if verdict == "A":
        await focus(pilot, dialog.query_one("#rollback", Input))
        await press("ctrl+u")
        await fill(app, pilot, note)
    await focus(pilot, dialog.query_one("#comment", Input))
    await fill(app, pilot, f"{note} (comment)", "enter")
    await settle(app, pilot)


async def test_a_whole_batch_session_ends_in_notes_verify_accepts(demo_repo: Path) -> None:
    pending = DEMO_AWAITING
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
        # skip the first, then decide every other one in the queue's order: approve, send back,
        # reject in turn
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        verdicts = ["A", "C", "X"]
        decided: dict[str, str] = {}
        for step, branch in enumerate(pending[1:]):
            screen = app.screen
            assert isinstance(screen, ReviewScreen), type(screen)
            assert screen.branch == branch, step
            decided[branch] = verdicts[step % 3]
            await review_and_decide(app, pilot, verdicts[step % 3], f"note {step}")
        # the skipped fix is still pending: go back to it and approve it, then the summary shows
        assert isinstance(app.screen, ReviewScreen) and app.screen.branch == pending[0]
        decided[pending[0]] = "A"
        await review_and_decide(app, pilot, "A", "last one")
        assert isinstance(app.screen, SummaryScreen)
        summary = text_of(app.screen.query_one("#summary", Static))
        # 14 fixes: steps 0, 3, 6, 9, 12 and the skipped one approved, 4 sent back, 4 rejected
        assert "Approved: 6" in summary
        assert "Sent back (changes requested): 4" in summary
        assert "Rejected: 4" in summary
        assert "Skipped: 0" in summary
        signed = [
            str(n.message) for n in app._notifications if "signed with SHA256:" in str(n.message)
        ]
        assert signed, "a notification names the signing key's fingerprint"
        # codeowners-security-review and open-redirect-login, approved once, touch sensitive
        # paths: they still await a second approval
        approved_once = {b for b, v in decided.items() if v == "A"} & DEMO_SENSITIVE
        assert approved_once == {
            "ai-fix/codeowners-security-review",
            "ai-fix/open-redirect-login",
        }
        assert app.sub_title == "14 reviewed this run · 2 awaiting review"
    # the CI command, in this process (14 of them): an approval passes unless the fix touches a
    # sensitive path (two approvals needed); changes requested and rejected never pass
    passed = set()
    for branch in decided:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli_main(["--repo", str(demo_repo), "verify", branch])
        assert code in (0, 1), out.getvalue()
        if code == 0:
            passed.add(branch)
    assert passed == {
        "ai-fix/command-injection-report-export",
        "snyk-fix-pyyaml-5-4",
        "alert-autofix-12",
        "copilot/tidy-logging",
    }
    assert passed == {b for b, v in decided.items() if v == "A"} - DEMO_SENSITIVE
    # one new note on each decided head, besides the demo's own
    notes = Repository(demo_repo).run_text("notes", f"--ref={DECISIONS_REF}", "list")
    assert len(notes.splitlines()) == DEMO_DECISION_NOTES + len(pending)


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
    assert (
        repo.run_text("notes", f"--ref={DECISIONS_REF}", "list").count("\n") == DEMO_DECISION_NOTES
    )


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
        assert rows(app) == DEMO_AWAITING  # the last good queue is still shown


async def test_selecting_a_risk_flag_jumps_to_its_evidence(demo_repo: Path) -> None:
    """The out-of-scope flag of command-injection-report-export points at a change in export(),
    another function than the finding's (the import the AI added at the top of app/reports.py is
    in scope: docs/risk.md). From the bottom of the final diff, then from another view,
    selecting the flag shows the final diff at its evidence: the evidence line LOCATION_CONTEXT
    rows from the top, its gutter marked, the rows above it not."""
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await fill(app, pilot, "command-injection", "enter", "enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen) and screen.data is not None
        flag = next(f for f in screen.data.flags if f.id == "out-of-scope")
        evidence = flag.evidence[0]
        assert evidence.path == "app/reports.py" and "in function export()" in evidence.excerpt
        assert evidence.line is not None
        diff = screen.query_one("#final", DiffView)
        await pilot.press("d", "home")
        await pilot.pause()
        shown = [diff.render_line(y).text for y in range(diff.size.height)]
        assert not any(re.match(rf"\s*(\d+\s+)?{evidence.line} ", line) for line in shown)
        order = [f.id for f in screen.data.flags]
        await pilot.press("o")  # from another view: the jump shows the final diff
        for _ in range(order.index("out-of-scope") + 1):
            await pilot.press("f")  # the next flag
        await pilot.press("enter")  # jump to the highlighted flag's evidence
        await pilot.pause()
        assert screen.view_name == "final"
        top = [diff.render_line(y) for y in range(LOCATION_CONTEXT + 1)]
        line = top[LOCATION_CONTEXT].text
        assert re.match(rf"\s*(\d+\s+)?{evidence.line} ", line), (evidence.line, line)
        gutter = [next(iter(strip)).style for strip in top]
        assert gutter[LOCATION_CONTEXT] is not None and gutter[LOCATION_CONTEXT].reverse
        assert not any(style is not None and style.reverse for style in gutter[:LOCATION_CONTEXT])


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


async def test_the_queue_fills_in_place_and_waits_behind_the_review(
    demo_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows come first, every fix listed (statuses being judged show …); as statuses are
    known, decided fixes leave the table row by row — it is built once, not per batch — and
    nothing is redrawn behind the review screen until the queue is shown again."""
    builds: list[int] = []
    real = QueueScreen.refresh_rows

    def counting(self: QueueScreen, keep: str | None = None) -> None:
        real(self, keep)
        builds.append(len(self.rows))

    monkeypatch.setattr(QueueScreen, "refresh_rows", counting)
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert rows(app) == DEMO_AWAITING
        # before the queue is read no fix's row (mounted empty, then the branches as git lists
        # them, provisional), then once with every fix: then in place
        assert app.session.queue is not None
        assert builds == [0, 0, len(app.session.queue.fixes)], builds
        table = app.screen.query_one("#queue", DataTable)
        statuses = [str(table.get_row_at(i)[1]) for i in range(len(DEMO_AWAITING))]
        assert "…" not in statuses and set(statuses) <= {"pending", "stale"}
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
        builds.clear()
        app.queue_screen.rows_changed([DEMO_AWAITING[0]])  # behind the review: not drawn
        assert builds == []
        await pilot.press("escape")
        await settle(app, pilot)
        assert builds == [len(DEMO_AWAITING)]  # drawn once, when shown again
        assert rows(app) == DEMO_AWAITING


async def test_background_work_waits_from_enter_while_the_review_screen_is_built(
    demo_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building the review screen is most of what Enter costs: the queue's background work
    (judging, risk checks, rows filled in) waits from the key on, not only once the screen's
    worker has started; it goes on once the fix is open."""
    waiting: list[bool] = []
    real = ReviewScreen.compose

    def compose(self: ReviewScreen) -> object:
        waiting.append(self.session.reviewer_waiting)
        return real(self)

    monkeypatch.setattr(ReviewScreen, "compose", compose)
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert not app.session.reviewer_waiting
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert waiting == [True]
        assert not app.session.reviewer_waiting


async def test_opening_is_prepared_once_the_rows_are_drawn_before_judging(
    demo_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review screen's imports are made ready in the loading worker, after the queue's rows
    are drawn (not in its first frame) and before judging, not on the first Enter."""
    import fixreview.app.main as app_main
    from fixreview.session import ReviewSession

    events: list[str] = []
    real_render = DataTable.render_line
    real_prepare = app_main.prepare_to_open
    real_judge_all = ReviewSession.judge_all

    def render_line(self: DataTable[object], y: int) -> object:
        if self.id == "queue" and self.row_count and "drawn" not in events:
            events.append("drawn")
        return real_render(self, y)

    def prepare() -> None:
        events.append("prepared")
        real_prepare()

    def judge_all(self: ReviewSession, *args: object, **kwargs: object) -> None:
        events.append("judging")
        real_judge_all(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DataTable, "render_line", render_line)
    monkeypatch.setattr(app_main, "prepare_to_open", prepare)
    monkeypatch.setattr(ReviewSession, "judge_all", judge_all)
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert events == ["drawn", "prepared", "judging"]


async def test_the_queue_read_and_judged_is_left_out_of_full_collections(
    demo_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the rows are drawn, and again once judged, what is in memory is frozen out of the
    cycle collector's full passes: the queue's fixes among it, so opening a fix never waits
    for a pass over the whole queue."""
    import gc

    import fixreview.app.main as app_main

    frozen: list[int] = []
    real_settle = app_main.settle_heap

    def settle_heap() -> None:
        real_settle()
        frozen.append(gc.get_freeze_count())

    monkeypatch.setattr(app_main, "settle_heap", settle_heap)
    gc.unfreeze()
    try:
        app = FixreviewApp(Repository(demo_repo))
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            queue = app.session.queue
            assert queue is not None and len(frozen) == 2
            assert all(count > 0 for count in frozen)  # (frozen objects freed leave its count)
            tracked = {id(o) for o in gc.get_objects()}  # the collector's, frozen ones not in it
            fix = queue.fixes[0]
            assert gc.is_tracked(fix) and id(fix) not in tracked
    finally:
        gc.unfreeze()


def test_preparing_to_open_imports_the_review_screen() -> None:
    code = (
        "import sys\n"
        "import fixreview.app.main as m\n"
        "before = 'fixreview.app.screens.review' in sys.modules\n"
        "m.prepare_to_open()\n"
        "print(before, 'fixreview.app.screens.review' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["False", "True"]


async def test_the_cursor_stays_on_its_fix_while_rows_above_it_leave(demo_repo: Path) -> None:
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("a")  # every fix, decided ones too
        await settle(app, pilot)
        screen = app.queue_screen
        table = screen.query_one("#queue", DataTable)
        names = [f.branch.name for f in screen.rows]
        first_decided = min(names.index(n) for n in DEMO_DECIDED)
        # an awaiting fix below a decided one, not the last row (where a cursor would stay anyway)
        last = next(n for n in names[first_decided + 1 : -1] if n in DEMO_AWAITING)
        table.move_cursor(row=names.index(last))
        await pilot.pause()
        # statuses now hide the decided fixes, as when judging finds them: they leave in place
        screen.show_decided = False
        screen.rows_changed([])
        await pilot.pause()
        assert rows(app) == [n for n in names if n not in DEMO_DECIDED and n in DEMO_AWAITING]
        assert screen.rows[table.cursor_row].branch.name == last


async def test_judging_starts_once_the_queue_rows_are_drawn(
    demo_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Judging shares Python with the UI thread: the queue's rows reach the screen first, so
    it answers keys at once; the statuses fill in afterwards, and do. (The first paint of the
    rows is made slow, so that judging started with the rows, not after them, is seen.)"""
    from fixreview.session import ReviewSession

    drawn: list[int] = []  # the rows the queue table had each time it drew a line
    at_judging: list[list[int]] = []
    real_render = DataTable.render_line
    real_judge_all = ReviewSession.judge_all

    def render_line(self: DataTable[object], y: int) -> object:
        line = real_render(self, y)
        if self.id == "queue":
            if self.row_count and not drawn:
                time.sleep(0.3)  # a slow first paint: judging must not start before its end
            drawn.append(self.row_count)
        return line

    def judge_all(self: ReviewSession, *args: object, **kwargs: object) -> None:
        at_judging.append(list(drawn))
        real_judge_all(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DataTable, "render_line", render_line)
    monkeypatch.setattr(ReviewSession, "judge_all", judge_all)
    app = FixreviewApp(Repository(demo_repo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert len(at_judging) == 1
        assert any(count > 0 for count in at_judging[0]), "judging began before any row was drawn"
        assert rows(app) == DEMO_AWAITING  # and it judged: the decided fixes left the view
