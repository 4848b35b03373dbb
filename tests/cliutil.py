"""Running the fixreview command as a reviewer or CI would, and a complete approval's flags."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.gitutil import TestRepo

APPROVE = [
    "--approve",
    "--intent",
    "fixes SEC-1 only",
    "--scope",
    "one file",
    "--blast-radius",
    "query helper callers",
    "--rollback",
    "revert if search breaks",
    # the test repositories' Finding-Id: SEC-1 names no findings source: no-linked-finding
    "--ack",
    "no-linked-finding",
]


def fixreview(
    where: TestRepo | Path,
    *argv: str,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``fixreview --repo WHERE ARGV…`` in a fresh interpreter (in CWD, for relative file
    arguments): what it printed and its exit."""
    path = where.path if isinstance(where, TestRepo) else where
    return subprocess.run(
        [sys.executable, "-m", "fixreview", "--repo", str(path), *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=timeout,
        cwd=cwd,
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a usage or environment error (exit 2, no traceback)."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    return lines[0]
