"""The review checklist: intent, scope, blast radius, rollback — each confirmed or open."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widgets import Static

from fixreview.decisions import CHECKLIST_ITEMS, CHECKLIST_LABELS, Checklist, ChecklistItem
from fixreview.safetext import visible


class ChecklistView(Static, can_focus=True):
    """Shows the four items; the selected one (last toggled, or moved to) is highlighted.

    Focused (tab), ``j``/``k`` or the arrows select an item without toggling it; ``e`` on the
    review screen edits the selected item's note.
    """

    DEFAULT_CSS = """
    ChecklistView { height: auto; padding: 0 1; border: round $primary 50%; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "select(1)", "Next item", id="checklist.next", show=False),
        Binding("k,up", "select(-1)", "Previous item", id="checklist.previous", show=False),
    ]

    selected: reactive[int] = reactive(0)

    def __init__(self, checklist: Checklist | None = None, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.checklist = checklist or Checklist()
        self.border_title = "Checklist  1-4 toggle · e edit note"

    def action_select(self, delta: int) -> None:
        """Select the item DELTA places away (stopping at the ends), toggling nothing."""
        self.selected = max(0, min(len(CHECKLIST_ITEMS) - 1, self.selected + delta))

    def set_checklist(self, checklist: Checklist) -> None:
        self.checklist = checklist
        self.refresh_view()

    def item(self, index: int) -> ChecklistItem:
        return self.checklist.item(CHECKLIST_ITEMS[index])

    def toggle(self, index: int) -> None:
        item = self.item(index)
        item.status = "open" if item.confirmed else "confirmed"
        self.selected = index
        self.refresh_view()

    def set_note(self, index: int, note: str) -> None:
        self.item(index).note = note
        self.refresh_view()

    def watch_selected(self, _: int) -> None:
        self.refresh_view()

    def refresh_view(self) -> None:
        text = Text()
        for index, name in enumerate(CHECKLIST_ITEMS):
            item = self.checklist.item(name)
            mark = "[x]" if item.confirmed else "[ ]"
            style = "bold reverse" if index == self.selected else ""
            text.append(f"{index + 1} {mark} ", style=style)
            text.append(CHECKLIST_LABELS[name], style=style)
            text.append("\n")
            if item.note:
                text.append("      " + visible(item.note, multiline=False) + "\n", style="italic")
        text.rstrip()
        self.update(text)

    def on_mount(self) -> None:
        self.refresh_view()
