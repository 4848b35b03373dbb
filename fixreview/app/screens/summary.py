"""The end of a batch: what this run approved, sent back, rejected and skipped."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from fixreview.app.plain import one_line
from fixreview.session import Outcome


class SummaryScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Queue", id="summary.back")]

    def __init__(self, outcome: Outcome) -> None:
        super().__init__()
        self.outcome = outcome

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static(self.render_summary(), id="summary")
        yield Footer()

    def render_summary(self) -> Text:
        text = Text("No pending fix is left. This run:\n\n", style="bold")
        outcome = self.outcome
        for title, names in (
            ("Approved", outcome.approved),
            ("Sent back (changes requested)", outcome.changes_requested),
            ("Rejected", outcome.rejected),
            ("Skipped", outcome.skipped),
        ):
            text.append(f"{title}: {len(names)}\n", style="bold")
            for name in names:
                text.append("  ")
                text.append_text(one_line(name))
                text.append("\n")
            text.append("\n")
        return text

    def action_back(self) -> None:
        self.app.pop_screen()
