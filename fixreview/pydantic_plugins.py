"""A stand-in for pydantic's plugin loader (``pydantic.plugin._loader``), installed by the
command line before any model is built (:func:`fixreview.cli.main.plugins_off`).

fixreview turns pydantic's plugins off (``PYDANTIC_DISABLE_PLUGINS=__all__``): no third-party
code runs inside the validation of untrusted records. pydantic then never looks for a plugin,
yet importing its loader still imports ``importlib.metadata`` and what it needs (``email``,
``csv``, ``zipfile``…): about 57 million instructions, 4% of a cold ``verify``. This module
answers exactly what the real loader answers with plugins off: none.
"""

from __future__ import annotations

from typing import Any

_plugins: dict[str, Any] | None = None  # as the real loader's: never filled, plugins are off


def get_plugins() -> tuple[()]:
    """No plugin: what pydantic's loader returns when ``PYDANTIC_DISABLE_PLUGINS`` is
    ``__all__``."""
    return ()
