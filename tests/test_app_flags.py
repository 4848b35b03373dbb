"""Risk flags are readable where they are acknowledged: the review screen's flag panel (``f``)
shows each flag's detail and evidence and jumps to it, the decision dialog shows the evidence
under each blocking flag's checkbox, and a fix with no linked finding says so plainly."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Checkbox, Static

from fixreview.app.main import FixreviewApp
from fixreview.app.screens.decision import DecisionDialog
from fixreview.app.screens.review import NO_SUGGESTION, ReviewScreen
from fixreview.app.widgets.diff_view import DiffView
from fixreview.app.widgets.flag_panel import FlagPanel
from fixreview.repo.git import Repository
from tests.gitutil import AI, HUMAN, TestRepo
from tests.test_app import fill, settle, text_of

SIZE = (180, 50)
HIDDEN_LINE = 300  # far down a long file: jumping there must scroll the final diff


def _flags_repo(repo: TestRepo) -> Path:
    """ai-fix/hidden: a right-to-left override far down a long file, claiming Finding-Id
    SEC-1 (which no findings source holds); ai-fix/unlinked: a plain human commit, no trailer,
    no proposal: no finding and no AI suggestion."""
    lines = [f"value_{n} = {n}\n" for n in range(1, 401)]
    repo.commit("Add the table", {"app/table.py": "".join(lines)})
    repo.checkout("-b", "ai-fix/hidden")
    lines = [line.replace("\n", "  # checked\n") for line in lines]  # a diff taller than the screen
    lines[HIDDEN_LINE - 1] = "access = 'user\u202e nimda'\n"
    repo.commit(
        "Tidy the table\n\nAssisted-by: SecFix:gpt\nFinding-Id: SEC-1",
        {"app/table.py": "".join(lines)},
        who=AI,
    )
    repo.checkout("main")
    repo.checkout("-b", "ai-fix/unlinked")
    repo.commit("Rename a helper", {"app/db.py": "def run(sql):\n    return sql\n"}, who=HUMAN)
    repo.checkout("main")
    return repo.path


async def _open(app: FixreviewApp, pilot: object, needle: str) -> ReviewScreen:
    await settle(app, pilot)
    await pilot.press("slash")  # type: ignore[attr-defined]
    await fill(app, pilot, needle, "enter", "enter")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, ReviewScreen) and screen.data is not None, screen
    return screen


def _panel_text(panel: FlagPanel) -> str:
    return "\n".join(panel.render_line(y).text for y in range(panel.size.height))


async def test_f_opens_the_flag_panel_with_the_evidence_and_enter_jumps_to_it(
    repo: TestRepo,
) -> None:
    app = FixreviewApp(Repository(_flags_repo(repo)))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot, "ai-fix/hidden")
        assert screen.data is not None
        order = [flag.id for flag in screen.data.flags]
        panel = screen.query_one(FlagPanel)
        assert not panel.display, "the panel waits for f"
        for _ in range(order.index("hidden-unicode") + 1):
            await pilot.press("f")
        # the option list scrolls its highlight into view after a layout: more than one frame
        # when the machine is loaded (a full run once read the panel before it had)
        await settle(app, pilot)
        assert panel.display and app.focused is panel
        assert panel.highlighted == order.index("hidden-unicode")
        shown = _panel_text(panel)
        assert f"app/table.py:{HIDDEN_LINE}" in shown
        assert "<U+202E>" in shown and "Adds hidden or bidirectional Unicode" in shown
        assert not [n for n in app._notifications if "hidden-unicode" in str(n.message)], (
            "no toast: the detail is in the panel"
        )
        diff = screen.query_one("#final", DiffView)
        assert diff.scroll_y == 0
        await pilot.press("enter")
        await pilot.pause()
        assert screen.view_name == "final" and panel.display
        found = diff.find_location("app/table.py", HIDDEN_LINE)
        assert found is not None and found[2], "the evidence line is in the diff"
        assert diff.scroll_y > 0, "enter scrolled the final diff to the evidence"
        visible = "\n".join(diff.render_line(y).text for y in range(diff.size.height))
        assert "<U+202E>" in visible and str(HIDDEN_LINE) in visible
        # escape closes the panel and gives the diff the focus back
        await pilot.press("f", "escape")
        await pilot.pause()
        assert not panel.display and app.focused is diff
        # the unresolved claim is a blocking flag of its own, with the trailer as evidence
        assert "no-linked-finding" in order
        missing = next(f for f in screen.data.flags if f.id == "no-linked-finding")
        assert missing.level == "block" and "SEC-1" in missing.detail
        assert missing.title == "The claimed finding was not found"
        assert any("Finding-Id: SEC-1" in e.excerpt for e in missing.evidence)


async def test_a_fix_with_no_finding_shows_the_flag_and_says_there_is_nothing_to_compare(
    repo: TestRepo,
) -> None:
    app = FixreviewApp(Repository(_flags_repo(repo)))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot, "ai-fix/unlinked")
        assert screen.data is not None
        flags = {flag.id: flag for flag in screen.data.flags}
        assert flags["no-linked-finding"].level == "block"
        assert flags["no-linked-finding"].title == "No finding is linked"
        await pilot.press("f")
        await pilot.pause()
        shown = _panel_text(screen.query_one(FlagPanel))
        assert "no-linked-finding" in shown and "No finding is linked" in shown
        assert "no Finding-Id trailer" in shown  # the evidence line
        assert NO_SUGGESTION == (
            "No AI suggestion is linked to this fix: there is nothing to compare."
        )
        await pilot.press("escape")  # closes the panel
        for key, view in (("o", "#suggestion-diff"), ("h", "#human-diff")):
            await pilot.press(key)
            await pilot.pause()
            diff = screen.query_one(view, DiffView)
            text = "\n".join(diff.render_line(y).text for y in range(diff.size.height))
            assert NO_SUGGESTION in text, (key, text)
            assert "People did not change" not in text


async def test_the_dialog_shows_each_blocking_flags_evidence_under_its_checkbox(
    repo: TestRepo,
) -> None:
    app = FixreviewApp(Repository(_flags_repo(repo)))
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot, "ai-fix/hidden")
        assert screen.data is not None
        blocking = screen.data.blocking
        assert set(blocking) >= {"hidden-unicode", "no-linked-finding"}
        await pilot.press("X")
        await settle(app, pilot)
        dialog = app.screen
        assert isinstance(dialog, DecisionDialog)
        children = list(dialog.query_one("#decision-acks").children)
        for flag_id in blocking:
            box = dialog.query_one(f"#ack-{flag_id}", Checkbox)
            evidence = dialog.query_one(f"#ack-evidence-{flag_id}", Static)
            assert children.index(evidence) == children.index(box) + 1, "right under it"
            flag = next(f for f in screen.data.flags if f.id == flag_id)
            text = text_of(evidence)
            assert flag.title in text
            for item in flag.evidence:
                assert item.excerpt[:40] in text
        hidden = text_of(dialog.query_one("#ack-evidence-hidden-unicode", Static))
        assert f"app/table.py:{HIDDEN_LINE}" in hidden and "<U+202E>" in hidden
        missing = text_of(dialog.query_one("#ack-evidence-no-linked-finding", Static))
        assert "Finding-Id: SEC-1" in missing
