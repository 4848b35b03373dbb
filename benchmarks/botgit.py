"""git as the AI bot: the identity and runner the small benchmark builders share."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bot[bot]",
    "GIT_AUTHOR_EMAIL": "bot@example.com",
    "GIT_COMMITTER_NAME": "bot[bot]",
    "GIT_COMMITTER_EMAIL": "bot@example.com",
}


def git(cwd: Path, *args: str, data: bytes | None = None) -> str:
    """``git ARGS`` in CWD as the bot; its standard output (a failure raises)."""
    return subprocess.run(
        ["git", *args], cwd=cwd, env=ENV, input=data, check=True, capture_output=True
    ).stdout.decode()
