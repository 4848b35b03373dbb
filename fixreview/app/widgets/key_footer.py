"""The footer of the app's screens: Textual's, recomposed once for a burst of binding changes.

Textual's :class:`~textual.widgets.Footer` rebuilds every key each time the focused widget's
bindings change. Opening a fix moves the focus several times in a row (the screen, the diff
view, the view switcher), and each move rebuilt the footer's keys: seven times, about 120 key
widgets mounted and styled while the reviewer waited for the diff. Here a change schedules one
rebuild after the next refresh, and further changes before it runs join it.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """A :class:`Footer` that rebuilds its keys at most once per refresh."""

    def __init__(self, *, compact: bool = False) -> None:
        super().__init__(compact=compact)
        self._rebuild_pending = False

    def bindings_changed(self, screen: Screen[object]) -> None:
        if self._rebuild_pending and self.is_attached and screen is self.screen:
            return  # the rebuild already scheduled reads the bindings as they are then
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._rebuild_pending = True
        super().bindings_changed(screen)

    async def recompose(self) -> None:
        self._rebuild_pending = False
        await super().recompose()
