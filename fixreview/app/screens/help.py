"""``?``: every key of the screen below and of the app, with what it does."""

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

    def __init__(self, title: str, bindings: list[tuple[str, str]]) -> None:
        super().__init__()
        self.help_title = title
        self.bindings = bindings

    def compose(self) -> ComposeResult:
        text = Text(f"{self.help_title}: keys\n\n", style="bold")
        for key, description in self.bindings:
            text.append(f"{key:>14}  ", style="bold")
            text.append(description + "\n")
        text.append("\nescape closes this help", style="dim")
        with VerticalScroll(id="help-dialog", classes="dialog"):
            yield Static(text)

    def action_close(self) -> None:
        self.dismiss(None)
