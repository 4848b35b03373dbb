"""``?``: every key of the screen below, of its panels and of the app, with what it does."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close")
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        """One section per place a key works: the screen, its panels, everywhere."""
        text = Text()
        width = max((len(k) for _, lines in self.sections for k, _ in lines), default=0)
        for title, lines in self.sections:
            text.append(f"{title}\n", style="bold underline")
            for keys, description in lines:
                text.append(f"{keys:>{width}}  ", style="bold")
                text.append(description + "\n")
            text.append("\n")
        text.append("esc closes this help", style="dim")
        with VerticalScroll(id="help-dialog", classes="dialog"):
            yield Static(text)

    def action_close(self) -> None:
        self.dismiss(None)
