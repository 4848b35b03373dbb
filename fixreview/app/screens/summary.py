"""The end of a batch: what this run approved, sent back, rejected and skipped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from fixreview.app.plain import one_line
from fixreview.gate import GateResult
from fixreview.session import Outcome


def gate_words(gate: GateResult | None) -> Text:
    """Whether an approved fix now passes the gate, and what it still lacks."""
    if gate is None:
        return Text("  (the gate could not judge it)", style="yellow")
    if gate.approved:
        return Text("  passes the gate", style="green")
    return one_line("  does not pass yet: " + "; ".join(gate.problems), style="yellow")


class SummaryScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Queue", id="summary.back")]

    def __init__(
        self, outcome: Outcome, gates: Mapping[str, GateResult | None] | None = None
    ) -> None:
        super().__init__()
        self.outcome = outcome
        self.gates = gates or {}  # the gate's judgement now, of each fix approved this run

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
                if names is outcome.approved and name in self.gates:
                    text.append_text(gate_words(self.gates[name]))
                text.append("\n")
            text.append("\n")
        return text

    def action_back(self) -> None:
        self.app.pop_screen()
