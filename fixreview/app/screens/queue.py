"""The queue screen: one row per fix, filter as you type, sort, show or hide decided fixes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Header, Input, ProgressBar, Static

from fixreview.app.plain import one_line, say
from fixreview.app.widgets.key_footer import KeyFooter
from fixreview.progress import progress_text
from fixreview.safetext import visible_line
from fixreview.session import SORTS

if TYPE_CHECKING:  # the models: loaded while the first frame is drawn, not before
    from fixreview.models import Fix
    from fixreview.session import ReviewSession

PROVISIONAL_STYLE = "dim italic"  # a row from the last run, shown until the queue is read
UNKNOWN = "…"
PROVISIONAL_LINE = "bold"
PROVISIONAL_NOTE = (
    "loading the queue… the rows below are the last run's, not checked: status, flags and "
    "approvals are not known yet"
)
LISTED_NOTE = (
    "loading the queue… the fix branches below are as git lists them, not checked: finding, "
    "status, flags and approvals are not known yet"
)
FAILED_NOTE = "the queue could not be read (see the message)"
WARM_AFTER = 0.15  # seconds the cursor rests on a fix before its long diff is read ahead

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


@dataclass(frozen=True)
class Column:
    """A queue column: its key, its header, and its widest and narrowest width (``flex``: the
    title and branch share what the others leave)."""

    key: str
    label: str
    most: int
    flex: bool = False
    least: int = 0


COLUMNS = (
    Column("severity", "Severity", 8),
    Column("status", "Status", 17),
    Column("finding", "Finding", 20),
    Column("title", "Title", 200, flex=True, least=16),
    Column("branch", "Branch", 200, flex=True, least=16),
    Column("tool", "Tool", 18),
    Column("files", "Files", 5),
    Column("lines", "+/-", 11),
    Column("flags", "Flags", 7),
    Column("approvals", "Approvals", 9),
)
# which columns show from a terminal width up (the widest tier that fits)
TIERS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (200, tuple(c.key for c in COLUMNS)),
    (160, tuple(c.key for c in COLUMNS if c.key != "tool")),
    (120, ("severity", "status", "finding", "title", "branch", "flags", "approvals")),
    (100, ("severity", "status", "title", "branch", "flags")),
    (0, ("severity", "status", "title", "flags")),
)
RIGHT = ("files", "lines", "flags", "approvals")  # right-justified columns
CELL_PADDING = 2  # DataTable's cell_padding of 1 on each side
SCROLLBAR = 2  # room kept for the table's vertical scrollbar


def tail(text: str, width: int) -> str:
    """TEXT made visible on one line; when longer than WIDTH, its end with an ellipsis before:
    branches sharing a long prefix (``pixeebot/drip-2024-05-24-pixee-python/…``) differ at the
    end."""
    value = visible_line(text)
    if len(value) > width:
        value = "…" + value[len(value) - width + 1 :]
    return value


def plan_columns(width: int, natural: dict[str, int]) -> list[tuple[Column, int]]:
    """The columns a WIDTH-wide queue shows, each with its width. NATURAL is the widest cell
    of each column; the title and branch share what the others leave, the branch getting at
    most three fifths when both do not fit (the finding column is narrower
    below 160 columns)."""
    keys = next(keys for least, keys in TIERS if width >= least)
    shown = [c for c in COLUMNS if c.key in keys]
    most = {c.key: c.most for c in shown} | ({"finding": 12} if width < 160 else {})
    sizes = {
        c.key: min(most[c.key], max(len(c.label), natural.get(c.key, 0)))
        for c in shown
        if not c.flex
    }
    spare = width - SCROLLBAR - CELL_PADDING * len(shown) - sum(sizes.values())
    flex = [c for c in shown if c.flex]
    wants = {c.key: max(c.least, len(c.label), natural.get(c.key, 0)) for c in flex}
    if "branch" in wants and "title" in wants:
        if wants["branch"] + wants["title"] <= spare:
            sizes["branch"] = wants["branch"]
            sizes["title"] = spare - wants["branch"]
        else:
            sizes["branch"] = max(16, min(wants["branch"], spare * 3 // 5))
            sizes["title"] = max(16, spare - sizes["branch"])
    else:
        for c in flex:
            sizes[c.key] = max(c.least, spare)
    return [(c, sizes[c.key]) for c in shown]


def fix_texts(fix: Fix) -> dict[str, str]:
    """The columns of FIX's row that reading the queue tells, before any judgement (the
    columns a rows snapshot keeps: fixreview/rowsnapshot.py), before styling and cutting."""
    finding = fix.finding
    return {
        "severity": finding.severity if finding else "-",
        "finding": fix.finding_id or "-",
        "title": (
            finding.title
            if finding
            else ("(no linked finding)" if fix.source == "none" else "(finding not found)")
        ),
        "branch": fix.branch.name,
        "tool": fix.suggestion.tool if fix.suggestion else "",
        "files": str(fix.stats.files),
        "lines": f"+{fix.stats.added}/-{fix.stats.removed}",
    }


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


class QueueTable(DataTable[Text]):
    """The queue's table: ``enter`` opens the highlighted fix, and says so in the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", id="queue.table-open"),
    ]


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
        self.shown_columns: list[tuple[Column, int]] = []
        self.width_used = 0
        self._stale = False  # changed while another screen was shown: redraw when resumed
        self._warm_timer: Timer | None = None
        # the last run's rows (fixreview/rowsnapshot.py), shown until the queue is read; and
        # the fix Enter was pressed on meanwhile, opened once it is
        self.provisional: list[dict[str, str]] = []
        self.provisional_listed = False  # they are the fix branches git lists, not kept rows
        self.open_when_read: str | None = None
        self.failed = False  # reading the queue failed: nothing provisional is shown

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: id, title, branch, tool, severity, status", id="filter")
        yield Static(Text("loading the queue…"), id="queue-state")
        with Horizontal(id="queue-progress"):
            yield Static(id="progress-stage")
            yield ProgressBar(id="progress-bar", show_eta=False)
        yield QueueTable(id="queue", cursor_type="row", zebra_stripes=True)
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one("#queue", DataTable).focus()
        self.refresh_rows()

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self.width_used:
            self.refresh_rows()

    def plan(self) -> list[tuple[Column, int]]:
        """The columns for the screen's width and the rows shown (see ``plan_columns``)."""
        natural: dict[str, int] = {}
        every = [self.texts(fix) for fix in self.rows] if self.rows else self._provisional()
        for texts in every:
            for key, text in texts.items():
                natural[key] = max(natural.get(key, 0), len(text))
        return plan_columns(self.width_used, natural)

    def _provisional(self) -> list[dict[str, str]]:
        """The last run's rows' texts while the queue is read, in the default view only (they
        are kept in its order, unfiltered); else none."""
        if self.session.queue is not None or self.needle or self.show_decided:
            return []
        if self.session.sort_mode != SORTS[0]:
            return []
        return [self.provisional_texts(row) for row in self.provisional]

    def show_provisional(
        self, rows: list[dict[str, str]], drawn: threading.Event, listed: bool = False
    ) -> None:
        """Show ROWS until the queue is read (nothing happens once it is): the last run's, or
        when LISTED the fix branches as git lists them (fixreview/rowsnapshot.py). DRAWN is
        set once they are on screen (or would have been)."""
        if self.session.queue is None:
            self.provisional, self.provisional_listed = rows, listed
            if self.is_mounted:  # else on_mount draws them
                self.refresh_rows()
        self.app.call_after_refresh(drawn.set)

    def load_failed(self) -> None:
        """Reading the queue failed (the app says why): the provisional rows go, and Enter
        pressed on one of them opens nothing. A queue read before stays."""
        self.open_when_read = None
        if self.session.queue is None:
            self.failed = True
            self.provisional = []
            self.refresh_rows()

    def _names(self) -> list[str]:
        """The branch of each row of the table, in order."""
        if self.rows:
            return [fix.branch.name for fix in self.rows]
        return [texts["branch"] for texts in self._provisional()]

    def visible_fixes(self) -> list[Fix]:
        return self.session.visible(
            show_decided=self.show_decided, matches=lambda fix: matches(fix, self.needle)
        )

    def refresh_rows(self, keep: str | None = None) -> None:
        table = self.query_one("#queue", DataTable)
        before = self._names()
        at = table.cursor_row
        current = keep or (before[at] if 0 <= at < len(before) else None)
        if self.session.queue is not None:
            self.provisional = []  # read: the last run's rows are gone for good
        self.rows = self.visible_fixes()
        self.width_used = self.size.width or self.app.size.width
        columns = self.plan()
        table.clear(columns=columns != self.shown_columns)
        if columns != self.shown_columns:
            self.shown_columns = columns
            for column, width in columns:
                table.add_column(column.label, width=width, key=column.key)
        for fix in self.rows:
            cells = self.cells(fix)
            table.add_row(*(cells[column.key] for column, _ in columns), key=fix.branch.name)
        for texts in self._provisional():
            cells = self._styled(texts, provisional=True)
            table.add_row(*(cells[column.key] for column, _ in columns), key=texts["branch"])
        self._show_state()
        names = self._names()
        if current in names:
            table.move_cursor(row=names.index(current))
        if self.session.queue is not None and self.open_when_read is not None:
            self._open_read()

    def _open_read(self) -> None:
        """The queue is read: open the fix Enter was pressed on while it was being read, as
        the queue now says it is (its row, if it still lists it)."""
        branch, self.open_when_read = self.open_when_read, None
        names = [fix.branch.name for fix in self.rows]
        if branch in names:
            self.query_one("#queue", DataTable).move_cursor(row=names.index(branch))
            self.call_after_refresh(self.action_open)
        else:
            say(self.app, f"not opened: {branch} is not among the rows shown", severity="warning")

    def _show_state(self) -> None:
        """The line above the table: how many fixes are shown of how many, and how."""
        state = self.query_one("#queue-state", Static)
        queue = self.session.queue
        if queue is None and self.open_when_read is not None:
            line = Text("loading the queue… then opening ", style=PROVISIONAL_LINE)
            state.update(line.append_text(one_line(self.open_when_read)))
        elif queue is None and self._provisional():
            note = LISTED_NOTE if self.provisional_listed else PROVISIONAL_NOTE
            state.update(Text(note, style=PROVISIONAL_LINE))
        elif queue is None and self.failed:
            state.update(Text(FAILED_NOTE))
        elif queue is None:
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

    def show_progress(self, stage: str, done: int, total: int) -> None:
        """The line under the state line: what loading is doing now, and how far it is (a
        fixed stage name and counts: fixreview/progress.py)."""
        self.query_one("#progress-stage", Static).update(
            Text(visible_line(progress_text(stage, done, total)))
        )
        self.query_one("#progress-bar", ProgressBar).update(
            total=max(total, 1), progress=min(done, total)
        )
        self.query_one("#queue-progress").display = True

    def hide_progress(self) -> None:
        """Loading is over: no progress line."""
        self.query_one("#queue-progress").display = False

    def texts(self, fix: Fix) -> dict[str, str]:
        """Each column's text for FIX, before styling and cutting to width."""
        flags = self.session.flag_counts(fix)
        approvals: Callable[[Fix], tuple[int, int] | None] | None = getattr(
            self.session, "approvals", None
        )
        counted = approvals(fix) if approvals is not None else None
        return fix_texts(fix) | {
            "status": str(fix.branch.status) if self.session.status_known(fix) else "…",
            "flags": (
                "…" if flags is None else (f"{flags[0]}■ {flags[1]}" if flags[0] else str(flags[1]))
            ),
            "approvals": "…" if counted is None else f"{counted[0]}/{counted[1]}",
        }

    def cells(self, fix: Fix) -> dict[str, Text]:
        """Each shown column's cell for FIX, cut to the column's width (the branch keeps its
        end, everything else its start)."""
        return self._styled(self.texts(fix))

    def _styled(self, texts: dict[str, str], provisional: bool = False) -> dict[str, Text]:
        widths = {column.key: width for column, width in self.shown_columns}
        cells: dict[str, Text] = {}
        for key, value in texts.items():
            width = widths.get(key)
            if provisional:  # the last run's row: dim, no severity's or status's colour
                shown = tail(value, width) if key == "branch" and width else None
                cells[key] = Text(
                    shown if shown is not None else visible_line(value, width),
                    style=PROVISIONAL_STYLE,
                    justify="right" if key in RIGHT else None,
                )
            elif key == "severity":
                cells[key] = Text(value, style=SEVERITY_STYLE.get(value, ""))
            elif key == "status":
                cells[key] = Text(value, style=STATUS_STYLE.get(value, ""))
            elif key == "branch":
                cells[key] = Text(tail(value, width) if width else visible_line(value))
            elif key in RIGHT:
                cells[key] = Text(value, justify="right")
            else:
                cells[key] = one_line(value, width=width)
        return cells

    def provisional_texts(self, row: dict[str, str]) -> dict[str, str]:
        """A kept row's texts: where the fix stands is not known ("…") until the queue is read
        (fixreview/rowsnapshot.py keeps nothing of it)."""
        return dict(row) | dict.fromkeys(("status", "flags", "approvals"), UNKNOWN)

    def update_flags(self, branch: str) -> None:
        self._update_cells([branch], ("flags", "approvals"))

    def rows_changed(self, branches: Collection[str]) -> None:
        """BRANCHES' status, flags or approvals are now known. On screen: their cells are
        updated in place (the whole table is redrawn only when rows come or go, as a status
        moves a fix out of the default view); behind another screen: redrawn when shown."""
        if not self.is_active:  # under the review screen: nothing to draw until it is back
            self._stale = True
            return
        visible = self.visible_fixes()
        now = [f.branch.name for f in visible]
        before = [f.branch.name for f in self.rows]
        if now != before:
            kept = set(now)
            if [name for name in before if name in kept] != now:  # rows come, or move
                self.refresh_rows()
                return
            table = self.query_one("#queue", DataTable)
            at = before[table.cursor_row] if 0 <= table.cursor_row < len(before) else None
            for name in before:  # rows only go (decided fixes leave the default view)
                if name not in kept:
                    table.remove_row(name)
            self.rows = visible
            if at in kept:  # the cursor stays on its fix while rows above it leave
                table.move_cursor(row=now.index(at), animate=False)
        self._update_cells(branches, ("status", "flags", "approvals"))
        self._show_state()

    def on_screen_resume(self) -> None:
        if self._stale:
            self._stale = False
            self.refresh_rows()

    def _update_cells(self, branches: Collection[str], keys: tuple[str, ...]) -> None:
        table = self.query_one("#queue", DataTable)
        wanted = set(branches)
        shown = [column.key for column, _ in self.shown_columns if column.key in keys]
        for fix in self.rows:
            if fix.branch.name in wanted:
                cells = self.cells(fix)
                for key in shown:
                    table.update_cell(fix.branch.name, key, cells[key])

    # -- actions ----------------------------------------------------------------------------

    def action_cursor_down(self) -> None:
        self.query_one("#queue", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#queue", DataTable).action_cursor_up()

    def action_open(self) -> None:
        table = self.query_one("#queue", DataTable)
        names = self._names()
        if not self.rows and 0 <= table.cursor_row < len(names):  # the last run's rows
            self.open_when_read = names[table.cursor_row]
            self._show_state()
            return
        if self.rows and 0 <= table.cursor_row < len(self.rows):
            fix = self.rows[table.cursor_row]
            if self._warm_timer is not None:
                self._warm_timer.stop()
            self.session.about_to_open()  # background work waits while the screen is built
            self.warm_final(fix)  # git reads a long diff while the review screen is built
            self.post_message(self.Open(fix.branch.name))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Once the cursor rests on a fix, read its final diff ahead (when it is long)."""
        if self._warm_timer is not None:
            self._warm_timer.stop()
        row = event.cursor_row
        if 0 <= row < len(self.rows):
            fix = self.rows[row]
            self._warm_timer = self.set_timer(WARM_AFTER, lambda: self.warm_final(fix))

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="warm",
        name="reading ahead",
        description="reading ahead",  # not the repr of the fix: it holds its whole patch
    )
    def warm_final(self, fix: Fix) -> None:
        self.session.warm_final(fix)

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
