"""Untrusted text is shown literally in every panel: markup stays text, escapes become visible,
and nothing in the repository can run an action."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from textual.widget import Widget
from textual.widgets import DataTable, Static

from fixreview.app.main import FixreviewApp
from fixreview.app.screens.review import ReviewScreen
from fixreview.app.widgets.diff_view import DiffView
from fixreview.models import Finding, Location
from fixreview.proposals import propose
from fixreview.repo.git import Repository
from tests.gitutil import AI, TestRepo
from tests.signing_util import allow, make_reviewer
from tests.test_app import SIZE, settle, text_of

EVIL = (
    "[@click=app.quit]quit[/] [link=https://evil.example]x[/link] [bold]b[/bold] [/oops] "
    "\x1b[31mred\x1b[0m"
)
HIDDEN = "admin\u202e \u200b"


def actions(widget: Widget) -> list[str]:
    """The links and actions (``@click`` meta) in what WIDGET draws on screen: repository text
    must bring none. Clicking at a few offsets only finds one that happens to be there."""
    assert widget.size.height > 0, f"{widget} is not shown"
    found = []
    for y in range(widget.size.height):
        for seg in widget.render_line(y):
            if seg.style is None:
                continue
            if seg.style.link:
                found.append(f"link {seg.style.link}")
            found.extend(key for key in seg.style.meta if key.startswith("@"))
    return found


def build(repo: TestRepo) -> None:
    repo.checkout("-b", "ai-fix/evil")
    repo.commit(
        f"Fix {EVIL}\n\nRationale {EVIL}\n\nAssisted-by: Tool{EVIL[:17]}:model",
        {"app/db.py": f"def query(sql):\n    # {EVIL}\n    return '{HIDDEN}'\n"},
        who=AI,
    )
    repo.checkout("main")
    propose(
        Repository(repo.path),
        "ai-fix/evil",
        Finding(
            id="SEC-[b]1[/b]",
            title=f"Title {EVIL}",
            severity="high",
            evidence=f"Evidence {EVIL}",
            rule=EVIL,
            scanner=EVIL,
            asset=EVIL,
            reason=EVIL,
            url="javascript:[@click=app.quit]",
            locations=[Location(path="app/db.py", start_line=1)],
        ),
        rationale=f"Rationale {EVIL}",
    )


async def test_markup_and_escapes_show_literally_everywhere(repo: TestRepo, tmp_path: Path) -> None:
    build(repo)
    # a signed decision whose comment (note contents) carries the same payload
    reviewer = make_reviewer(tmp_path / "keys", "Rev", "rev@example.com")
    allow(repo, reviewer)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fixreview",
            "--repo",
            str(repo.path),
            "decide",
            "ai-fix/evil",
            "--reject",
            "--comment",
            f"Comment {EVIL}",
        ],
        capture_output=True,
        text=True,
        env=reviewer.env(),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    app = FixreviewApp(Repository(repo.path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("a")  # the fix was rejected: show decided fixes too
        table = app.screen.query_one("#queue", DataTable)
        row = [str(cell) for cell in table.get_row_at(0)]
        assert "SEC-[b]1[/b]" in row
        assert any("[@click=app.quit]quit[/]" in cell for cell in row)
        await pilot.click("#queue", offset=(30, 1))
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        finding = text_of(screen.query_one("#finding", Static))
        assert (
            "[@click=app.quit]quit[/]" in finding
            and "[link=https://evil.example]x[/link]" in finding
        )
        assert "\x1b" not in finding and "␛[31mred" in finding
        assert actions(screen.query_one("#finding", Static)) == []
        for offset in ((2, 1), (10, 2), (20, 4), (8, 8)):
            await pilot.click("#finding", offset=offset)
        await pilot.press("o")
        rationale = text_of(screen.query_one("#rationale", Static))
        assert "Rationale [@click=app.quit]quit[/]" in rationale and "\x1b" not in rationale
        assert actions(screen.query_one("#rationale", Static)) == []
        await pilot.press("c")
        decisions = text_of(screen.query_one("#decision-log", Static))
        assert "Comment [@click=app.quit]quit[/]" in decisions and "␛[31mred" in decisions
        assert "\x1b" not in decisions
        assert actions(screen.query_one("#decision-log", Static)) == []
        await pilot.click("#decision-log", offset=(12, 3))
        log = text_of(screen.query_one("#commit-log", Static))
        assert "Fix [@click=app.quit]quit[/]" in log and "␛[31m" in log
        assert actions(screen.query_one("#commit-log", Static)) == []
        await pilot.click("#commit-log", offset=(6, 3))
        await pilot.press("d")
        diff = screen.query_one("#final", DiffView)
        shown = "\n".join(diff.render_line(y).text for y in range(diff.size.height))
        assert "[@click=app.quit]quit[/]" in shown and "␛[31mred" in shown
        assert "<U+202E>" in shown and "<U+200B>" in shown
        assert actions(diff) == []
        await pilot.click("#final", offset=(20, 3))
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, ReviewScreen)
