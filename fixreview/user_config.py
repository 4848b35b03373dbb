"""The reviewer's own configuration: ``config.toml`` in ``$XDG_CONFIG_HOME/fixreview/``.

Written by hand, so read strictly: an unknown key, a wrong type or a file that is not TOML is one
line naming the key (exit 2), never silently ignored. What it sets:

- ``theme``: the app's theme, by name (a built-in one or one of ``themes/``);
- ``base``: the base branch when ``--base`` is not given (before ``git config fixreview.base``);
- ``branches``: the fix branches this reviewer reviews, as patterns (``["pixeebot/*"]``; ``*``
  matches ``/`` too, as in the policy's ``fix_branches``): the app's queue and ``list`` show the
  policy's fix branches that match one of them (``list --branch`` overrides it). It narrows what
  is shown, never what is a fix branch;
- ``[keys]``: key remapping by binding id (``"review.approve" = "ctrl+a"``; docs/app.md lists
  the ids), as Textual's ``App.set_keymap`` takes them.

The app-written ``settings.toml`` beside it (the theme chosen last) is a different file; this
one wins over it. Nothing here can loosen the gate: the policy and the allowed keys are read
from the base branch only.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError

from fixreview.config_location import CONFIG_FILE, config_dir, config_path
from fixreview.documents import load_toml
from fixreview.errors import InputError
from fixreview.notes.records import describe_validation

__all__ = ["CONFIG_FILE", "UserConfig", "config_dir", "config_path", "load_user_config"]


class UserConfig(BaseModel):
    """What a reviewer configures for themselves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    theme: StrictStr | None = None
    base: StrictStr | None = None
    branches: list[StrictStr] = []
    keys: dict[StrictStr, StrictStr] = {}


def load_user_config(path: Path | None = None) -> UserConfig:
    """The configuration in PATH (default: :func:`config_path`); the defaults when there is no
    file; InputError naming the key when it cannot be used."""
    where = path or config_path()
    try:
        data = where.read_bytes()
    except FileNotFoundError:
        return UserConfig()
    except OSError as exc:
        raise InputError(f"{where}: cannot be read: {exc.strerror or exc}") from None
    table = load_toml(data, str(where))
    try:
        return UserConfig.model_validate(table)
    except ValidationError as exc:
        raise InputError(f"{where}: {describe_validation(exc)}") from None
