"""The flag panel: every risk flag of the fix, readable where it is acknowledged.

One entry per flag, most severe first: its level, id and title, its detail, and each piece of
evidence (``path:line`` and the excerpt). ``f`` on the review screen opens the panel with the
next flag highlighted; ``enter`` jumps the final diff to the highlighted flag's evidence (again:
to its next located evidence); ``escape`` closes the panel. Every text shown comes from the
repository or the checks and goes through :mod:`fixreview.app.plain`: never markup.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from fixreview.app.plain import one_line, plain
from fixreview.risk import Evidence, RiskFlag

LEVEL_STYLE = {"block": "bold red", "warn": "bold yellow", "info": "dim"}
LEVEL_MARK = {"block": "■", "warn": "▲", "info": "·"}


def evidence_place(evidence: Evidence) -> str:
    """``path:line``, ``path``, or empty when the evidence names no file."""
    if evidence.path is None:
        return ""
    return f"{evidence.path}:{evidence.line}" if evidence.line is not None else evidence.path


def evidence_text(evidence: Evidence) -> Text:
    """One piece of evidence as one line of plain text: ``path:line  excerpt``."""
    line = Text("  • ")
    place = evidence_place(evidence)
    if place:
        line.append_text(one_line(place, style="bold"))
        if evidence.excerpt:
            line.append("  ")
    if evidence.excerpt:
        line.append_text(one_line(evidence.excerpt))
    if not place and not evidence.excerpt:
        line.append("(no detail)", style="dim")
    return line


def evidence_lines(flag: RiskFlag) -> Text:
    """Every piece of evidence of FLAG, one per line (says so when there is none)."""
    if not flag.evidence:
        return Text("  • no evidence: see the detail", style="dim")
    return Text("\n").join(evidence_text(e) for e in flag.evidence)


def flag_entry(flag: RiskFlag) -> Text:
    """FLAG whole: level, id and title, then the detail, then each piece of evidence."""
    entry = Text()
    entry.append(f"{LEVEL_MARK.get(flag.level, '')} {flag.level} ", LEVEL_STYLE.get(flag.level))
    entry.append_text(one_line(flag.id, style="bold"))
    entry.append("  ")
    entry.append_text(one_line(flag.title))
    entry.append("\n")
    entry.append_text(plain(flag.detail, style="italic"))
    entry.append("\n")
    entry.append_text(evidence_lines(flag))
    return entry


def ack_text(flag: RiskFlag) -> Text:
    """What the decision dialog shows under a blocking flag's checkbox: title, detail, and
    each piece of evidence, so that nothing is acknowledged unseen."""
    text = one_line(flag.title, style="bold")
    text.append("\n")
    text.append_text(plain(flag.detail, style="italic"))
    text.append("\n")
    text.append_text(evidence_lines(flag))
    return text


class FlagPanel(OptionList):
    """All the fix's flags with their detail and evidence; hidden until ``f`` opens it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close flags", id="flag-panel.close"),
        Binding("f", "next", "Next flag", show=False, id="flag-panel.next"),
        Binding("j", "cursor_down", "Down", show=False, id="flag-panel.down"),
        Binding("k", "cursor_up", "Up", show=False, id="flag-panel.up"),
    ]

    class Jump(Message):
        """Show EVIDENCE of FLAG in the final diff."""

        def __init__(self, flag: RiskFlag, evidence: Evidence) -> None:
            super().__init__()
            self.flag = flag
            self.evidence = evidence

    class Closed(Message):
        """The panel was closed (escape): give the focus back."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.flags: list[RiskFlag] = []
        self._next_evidence: dict[int, int] = {}
        self.display = False

    def set_flags(self, flags: list[RiskFlag] | None) -> None:
        """Show FLAGS (None: still computing). Keeps the panel open or closed as it was."""
        self.flags = list(flags or [])
        self._next_evidence = {}
        self.clear_options()
        if flags is None:
            self.add_option(Option(Text("risk checks: computing…", style="dim"), disabled=True))
        elif not flags:
            self.add_option(Option(Text("risk checks: no flags", style="dim"), disabled=True))
        else:
            self.add_options([Option(flag_entry(flag)) for flag in self.flags])

    def open_next(self) -> RiskFlag | None:
        """Show and focus the panel with the next flag highlighted (the first when none is)."""
        self.display = True
        self.focus()
        if not self.flags:
            return None
        current = self.highlighted
        self.highlighted = 0 if current is None else (current + 1) % len(self.flags)
        return self.flags[self.highlighted]

    def open_at(self, flag: RiskFlag) -> None:
        """Show and focus the panel with FLAG highlighted (a chip was clicked)."""
        self.display = True
        self.focus()
        for index, shown in enumerate(self.flags):
            if shown is flag or shown == flag:
                self.highlighted = index
                return

    def action_next(self) -> None:
        self.open_next()

    def action_close(self) -> None:
        self.display = False
        self.post_message(self.Closed())

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = event.option_index
        if not 0 <= index < len(self.flags):
            return
        flag = self.flags[index]
        located = [e for e in flag.evidence if e.path]
        if not located:
            self.app.bell()
            return
        turn = self._next_evidence.get(index, 0)
        self._next_evidence[index] = turn + 1
        self.post_message(self.Jump(flag, located[turn % len(located)]))
