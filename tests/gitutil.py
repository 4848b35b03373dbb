"""Helpers for tests: real git repositories made in temporary directories."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

AI = ("secfix-bot[bot]", "secfix-bot[bot]@users.noreply.github.com")
HUMAN = ("Priya Natarajan", "priya@example.com")


def git(
    cwd: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None
) -> str:
    full = dict(os.environ)
    if env:
        full.update(env)
    proc = subprocess.run(
        ["git", *args], cwd=cwd, input=input, capture_output=True, env=full, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode()}")
    return proc.stdout.decode()


class TestRepo:
    """A scratch repository with a tiny API for writing files and committing them."""

    __test__ = False

    def __init__(self, path: Path, object_format: str = "sha1") -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        formats = () if object_format == "sha1" else (f"--object-format={object_format}",)
        git(path, "init", "-q", "-b", "main", *formats)  # sha1: whatever is there already
        git(path, "config", "fixreview.base", "main")  # the base is never guessed
        self.tick = 0

    @classmethod
    def clone_of(cls, source: Path, dest: Path, *options: str, tick: int = 100) -> TestRepo:
        """``git clone OPTIONS SOURCE DEST``, as a TestRepo whose commits are dated from TICK
        (after the source's own, so that times never go backwards)."""
        git(dest.parent, "clone", "-q", *options, str(source), str(dest))
        cloned = cls.__new__(cls)
        cloned.path, cloned.tick = dest, tick
        return cloned

    def write(self, files: dict[str, str | bytes | None]) -> None:
        for name, content in files.items():
            target = self.path / name
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)

    def commit(
        self,
        message: str,
        files: dict[str, str | bytes | None] | None = None,
        who: tuple[str, str] = HUMAN,
        committer: tuple[str, str] | None = None,
    ) -> str:
        if files:
            self.write(files)
        git(self.path, "add", "-A")
        self.tick += 1
        date = f"2026-10-01T10:{self.tick // 60:02d}:{self.tick % 60:02d}+00:00"
        by = committer or who
        env = {
            "GIT_AUTHOR_NAME": who[0],
            "GIT_AUTHOR_EMAIL": who[1],
            "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": by[0],
            "GIT_COMMITTER_EMAIL": by[1],
            "GIT_COMMITTER_DATE": date,
        }
        git(self.path, "commit", "-q", "--allow-empty", "-F", "-", input=message.encode(), env=env)
        return self.rev("HEAD")

    def rev(self, rev: str) -> str:
        return git(self.path, "rev-parse", rev).strip()

    def checkout(self, *args: str) -> None:
        git(self.path, "checkout", "-q", *args)

    def git(self, *args: str, input: bytes | None = None) -> str:
        return git(self.path, *args, input=input)
