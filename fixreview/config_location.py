"""Where the reviewer's own configuration lives (fixreview/user_config.py reads it).

Apart from the reader, so that finding the file costs no import of the models that validate it
(``list`` keys its snapshot by the file's bytes before anything is parsed).
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_FILE = "config.toml"


def config_dir() -> Path:
    """fixreview's configuration directory: ``$XDG_CONFIG_HOME/fixreview``.

    As the XDG specification asks, an unset, empty or relative ``XDG_CONFIG_HOME`` is ignored in
    favour of ``~/.config``.
    """
    base = os.environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "fixreview"


def config_path() -> Path:
    return config_dir() / CONFIG_FILE
