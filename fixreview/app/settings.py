"""Remembered user settings (for now, the chosen theme) in ``settings.toml``.

The file lives in ``$XDG_CONFIG_HOME/fixreview/`` (default ``~/.config/fixreview/``). It is
written by the app, not by hand, so reading it is forgiving: a missing, unreadable, malformed or
ill-typed file gives the defaults and never an exception. Writing keeps any keys this version
does not know about (when the old file can be read) and replaces the file atomically.

This module does not import Textual.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError

from fixreview.documents import parse_toml_text
from fixreview.user_config import config_dir

SETTINGS_FILE = "settings.toml"


class Settings(BaseModel):
    """What fixreview remembers between runs."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    theme: StrictStr | None = None
    """The name of the theme chosen last, or None for the default theme."""


def settings_path() -> Path:
    """Where the settings are stored."""
    return config_dir() / SETTINGS_FILE


def _read_table(path: Path) -> dict[str, Any] | None:
    """The TOML table in PATH, or None when it is missing, unreadable or not TOML."""
    try:
        return parse_toml_text(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError):  # not UTF-8 or not TOML
        return None


def load_settings() -> Settings:
    """The saved settings; the defaults when there are none or they cannot be used."""
    table = _read_table(settings_path())
    if table is None:
        return Settings()
    try:
        return Settings.model_validate(table)
    except ValidationError:
        return Settings()


def save_settings(settings: Settings) -> None:
    """Store SETTINGS, keeping unknown keys of a readable existing file.

    Raises OSError when the directory or file cannot be written.
    """
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    table = _read_table(path) or {}
    for key, value in settings.model_dump().items():
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    handle, temporary = tempfile.mkstemp(prefix=".settings-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            tomli_w.dump(table, out)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
