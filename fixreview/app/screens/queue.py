"""The queue screen: one row per fix, filter as you type, sort, show or hide decided fixes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from fixreview.app.plain import one_line
from fixreview.models import Fix
from fixreview.session import SORTS, ReviewSession

SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "bold yellow",
    "low": "cyan",
    "info": "dim",
}
STATUS_STYLE = {
    "approved": "bold green",
    "rejected": "bold red",
    "changes-requested": "yellow",
    "stale": "magenta",
    "pending": "",
}
COLUMNS = ("Severity", "Status", "Finding", "Title", "Branch", "Tool", "Files", "+/-", "Flags")


def matches(fix: Fix, needle: str) -> bool:
    if not needle:
        return True
    finding = fix.finding
    haystack = [
        fix.branch.name,
        fix.suggestion.tool if fix.suggestion else "",
        str(fix.branch.status),
    ]
    if finding is not None:
        haystack += [finding.id, finding.title, finding.severity, finding.rule]
    return needle.lower() in "\n".join(haystack).lower()


class QueueScreen(Screen[None]):
    """The pending AI fixes, most severe first."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor_down", "Down", id="queue.down", show=False),
        Binding("k,up", "cursor_up", "Up", id="queue.up", show=False),
        Binding("enter", "open", "Open", id="queue.open"),
        Binding("slash", "filter", "Filter", id="queue.filter"),
        Binding("s", "cycle_sort", "Sort", id="queue.sort"),
        Binding("a", "toggle_decided", "Decided", id="queue.toggle-decided"),
        Binding("escape", "clear_filter", "Clear filter", id="queue.clear-filter", show=False),
    ]

    @dataclass
    class Open(Message):
        """The reviewer asked to review BRANCH."""

        branch: str

    def __init__(self, session: ReviewSession) -> None:
        super().__init__()
        self.session = session
        self.show_decided = False
        self.needle = ""
        self.rows: list[Fix] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: id, title, branch, tool, severity, status", id="filter")
        yield Static(Text("loading the queue…"), id="queue-state")
        yield DataTable(id="queue", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#queue", DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column.lower())
        table.focus()
        self.refresh_rows()

    def visible_fixes(self) -> list[Fix]:
        return self.session.visible(
            show_decided=self.show_decided, matches=lambda fix: matches(fix, self.needle)
        )

    def refresh_rows(self, keep: str | None = None) -> None:
        table = self.query_one("#queue", DataTable)
        current = keep or (
            self.rows[table.cursor_row].branch.name
            if self.rows and 0 <= table.cursor_row < len(self.rows)
            else None
        )
        self.rows = self.visible_fixes()
        table.clear()
        for fix in self.rows:
            table.add_row(*self.cells(fix), key=fix.branch.name)
        state = self.query_one("#queue-state", Static)
        queue = self.session.queue
        if queue is None:
            state.update(Text("loading the queue…"))
        else:
            shown = "all fixes" if self.show_decided else "awaiting review"
            text = (
                f"{len(self.rows)} of {len(queue.fixes)} fixes ({shown}) · "
                f"sorted by {self.session.sort_mode}"
            )
            if self.needle:
                text += " · filter: "
            line = Text(text)
            if self.needle:
                line.append_text(one_line(self.needle))
            state.update(line)
        names = [f.branch.name for f in self.rows]
        if current in names:
            table.move_cursor(row=names.index(current))

    def cells(self, fix: Fix) -> list[Text]:
        finding = fix.finding
        severity = finding.severity if finding else "-"
        flags = self.session.flag_counts(fix)
        status = str(fix.branch.status)
        title = (
            finding.title
            if finding
            else ("(no linked finding)" if fix.source == "none" else "(finding not found)")
        )
        return [
            Text(severity, style=SEVERITY_STYLE.get(severity, "")),
            Text(status, style=STATUS_STYLE.get(status, "")),
            one_line(fix.finding_id or "-", width=20),
            one_line(title, width=40),
            one_line(fix.branch.name, width=40),
            one_line(fix.suggestion.tool if fix.suggestion else "", width=18),
            Text(str(fix.stats.files), justify="right"),
            Text(f"+{fix.stats.added}/-{fix.stats.removed}", justify="right"),
            Text(
                "…"
                if flags is None
                else (f"{flags[0]}■ {flags[1]}" if flags[0] else str(flags[1])),
                justify="right",
            ),
        ]

    def update_flags(self, branch: str) -> None:
        table = self.query_one("#queue", DataTable)
        fix = next((f for f in self.rows if f.branch.name == branch), None)
        if fix is not None:
            table.update_cell(branch, "flags", self.cells(fix)[-1])

    # -- actions ----------------------------------------------------------------------------

    def action_cursor_down(self) -> None:
        self.query_one("#queue", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#queue", DataTable).action_cursor_up()

    def action_open(self) -> None:
        table = self.query_one("#queue", DataTable)
        if self.rows and 0 <= table.cursor_row < len(self.rows):
            self.post_message(self.Open(self.rows[table.cursor_row].branch.name))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self.query_one("#queue", DataTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.needle = event.value.strip()
            self.refresh_rows()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.query_one("#queue", DataTable).focus()

    def action_cycle_sort(self) -> None:
        session = self.session
        session.sort_mode = SORTS[(SORTS.index(session.sort_mode) + 1) % len(SORTS)]
        self.refresh_rows()

    def action_toggle_decided(self) -> None:
        self.show_decided = not self.show_decided
        self.refresh_rows()
