"""Untrusted text for widgets: always plain ``Text``, with control and hidden characters visible.

Textual parses a plain ``str`` given to ``Static``, ``Label``, ``DataTable`` cells or
notifications as markup: ``[@click=app.quit]`` would run an action and a stray ``[/x]`` would
crash. Everything from the repository goes through these helpers instead.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import App
from textual.content import Content
from textual.notifications import SeverityLevel
from textual.widget import Widget

from fixreview.safetext import visible, visible_line


def plain(text: str, style: str = "") -> Text:
    """Multi-line untrusted text as a Rich ``Text`` (never markup)."""
    return Text(visible(text), style=style)


def one_line(text: str, style: str = "", width: int | None = None) -> Text:
    return Text(visible_line(text, width), style=style)


def content(text: str) -> Content:
    """Untrusted text as Textual ``Content`` (for notifications and labels)."""
    return Content(visible(text))


def say(
    where: App[Any] | Widget,
    message: str,
    *,
    title: str = "",
    severity: SeverityLevel = "information",
    timeout: float | None = None,
) -> None:
    """A notification whose untrusted text is shown literally (a plain str would be markup)."""
    shown = content(message)  # Textual types the message as str; Content renders literally
    where.notify(shown, title=title, severity=severity, timeout=timeout)  # type: ignore[arg-type]
