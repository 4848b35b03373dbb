"""The risk bar above the diff: one chip per risk flag; selecting one jumps to its evidence."""

from __future__ import annotations

from rich.text import Text
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Static

from fixreview.risk import RiskFlag

LEVEL_STYLE = {"block": "bold reverse", "warn": "bold", "info": "dim"}
LEVEL_MARK = {"block": "■", "warn": "▲", "info": "·"}


class FlagChip(Static):
    """One flag; click it (or cycle with ``f``) to jump to its evidence."""

    DEFAULT_CSS = """
    FlagChip { width: auto; padding: 0 1; margin-right: 1; }
    FlagChip.block { background: $error 40%; }
    FlagChip.warn { background: $warning 30%; }
    FlagChip.info { background: $panel; }
    FlagChip.-selected { text-style: reverse; }
    """

    class Selected(Message):
        def __init__(self, flag: RiskFlag) -> None:
            super().__init__()
            self.flag = flag

    def __init__(self, flag: RiskFlag) -> None:
        label = Text(
            f"{LEVEL_MARK.get(flag.level, '')} {flag.id}", style=LEVEL_STYLE.get(flag.level, "")
        )
        super().__init__(label, classes=flag.level)
        self.flag = flag
        self.tooltip = Text(f"{flag.title}\n{flag.detail}")

    def on_click(self) -> None:
        self.post_message(self.Selected(self.flag))


class RiskBar(Horizontal):
    """All flags of the fix, most severe first; empty bar says so."""

    DEFAULT_CSS = """
    RiskBar { height: 1; width: 100%; }
    RiskBar > .risk-none { color: $text-muted; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.flags: list[RiskFlag] = []
        self.cursor = -1

    async def set_flags(self, flags: list[RiskFlag] | None) -> None:
        self.flags = list(flags or [])
        self.cursor = -1
        await self.remove_children()
        if flags is None:
            await self.mount(Static(Text("risk checks: computing…"), classes="risk-none"))
        elif not flags:
            await self.mount(Static(Text("risk checks: no flags"), classes="risk-none"))
        else:
            await self.mount_all([FlagChip(flag) for flag in self.flags])

    def select_next(self) -> RiskFlag | None:
        if not self.flags:
            return None
        self.cursor = (self.cursor + 1) % len(self.flags)
        for index, chip in enumerate(self.query(FlagChip)):
            chip.set_class(index == self.cursor, "-selected")
        return self.flags[self.cursor]
