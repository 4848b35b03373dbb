"""The one place fixreview runs git: discovery of the repository and a byte-exact runner.

GitPython finds the repository (walking up from a path, as git does); every command then runs
through :meth:`Repository.run`, which returns git's exact bytes and turns failures into one-line
:class:`~fixreview.errors.GitError` messages. Objects are read in bulk through a single
``git cat-file --batch`` process.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from fixreview.errors import GitError, NotARepositoryError

ZERO_OID = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # the tree with nothing in it

# Options that make diff output independent of the user's configuration, so the same
# command gives the same bytes on a reviewer's laptop and in CI.
STABLE_DIFF_CONFIG: tuple[str, ...] = (
    "-c",
    "diff.noprefix=false",
    "-c",
    "diff.mnemonicPrefix=false",
    "-c",
    "diff.renames=true",
    "-c",
    "diff.algorithm=myers",
    "-c",
    "diff.context=3",
    "-c",
    "diff.interHunkContext=0",
    "-c",
    "diff.indentHeuristic=true",
    "-c",
    "diff.suppressBlankEmpty=false",
    "-c",
    "diff.relative=false",
    "-c",
    "core.quotePath=true",
)


class Repository:
    """A git repository on disk, addressed by its top-level directory (or git dir when bare)."""

    def __init__(self, path: str | os.PathLike[str] = ".") -> None:
        import git  # GitPython; imported here so `import fixreview` stays cheap

        start = Path(path)
        if not start.exists():
            raise NotARepositoryError(f"no such directory: {start}")
        try:
            found = git.Repo(start, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise NotARepositoryError(
                f"not a git repository (or any parent up to /): {start.resolve()}"
            ) from None
        self.git_dir = Path(found.git_dir)
        self.common_dir = Path(found.common_dir)
        self.workdir: Path | None = Path(found.working_tree_dir) if found.working_tree_dir else None
        found.close()

    @property
    def root(self) -> Path:
        """Where commands run: the work tree, or the git dir of a bare repository."""
        return self.workdir if self.workdir is not None else self.git_dir

    @property
    def state_dir(self) -> Path:
        """fixreview's private, never-committed state under the git dir (drafts, caches)."""
        return self.common_dir / "fixreview"

    # -- running git -------------------------------------------------------------------------

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        ok_codes: Iterable[int] = (0,),
    ) -> bytes:
        """Run ``git ARGS`` in the repository and return its exact standard output."""
        proc = self._run(args, input=input, env=env)
        if proc.returncode not in tuple(ok_codes):
            raise GitError(_describe_failure(args, proc))
        return proc.stdout

    def run_text(self, *args: str, input: bytes | None = None) -> str:
        """Run git and decode its output as UTF-8 (undecodable bytes kept as escapes)."""
        return self.run(*args, input=input).decode("utf-8", "surrogateescape")

    def try_run(
        self, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """Run git and hand back the completed process, whatever its exit code."""
        return self._run(args, input=input, env=env)

    def _run(
        self, args: Iterable[str], input: bytes | None, env: Mapping[str, str] | None
    ) -> subprocess.CompletedProcess[bytes]:
        full_env = dict(os.environ)
        full_env["GIT_TERMINAL_PROMPT"] = "0"
        full_env.pop("GIT_NOTES_REF", None)
        if env:
            full_env.update(env)
        try:
            return subprocess.run(
                ["git", *args],
                cwd=self.root,
                input=input,
                capture_output=True,
                env=full_env,
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH") from None

    # -- small queries -----------------------------------------------------------------------

    def resolve(self, rev: str) -> str | None:
        """The commit id that REV names, or None when it names no commit."""
        proc = self._run(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
            input=None,
            env=None,
        )
        if proc.returncode != 0:
            return None
        return proc.stdout.decode().strip()

    def ref_value(self, ref: str) -> str | None:
        """The object id a full ref name points at, or None when the ref does not exist."""
        proc = self._run(["rev-parse", "--verify", "--quiet", ref], input=None, env=None)
        if proc.returncode != 0:
            return None
        return proc.stdout.decode().strip()

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        proc = self._run(
            ["merge-base", "--is-ancestor", ancestor, descendant], input=None, env=None
        )
        return proc.returncode == 0

    def merge_base(self, a: str, b: str) -> str | None:
        proc = self._run(["merge-base", a, b], input=None, env=None)
        if proc.returncode != 0:
            return None
        return proc.stdout.decode().strip()

    def diff(self, old: str, new: str, *extra: str) -> bytes:
        """``git diff --binary --full-index OLD NEW`` with configuration pinned (exact bytes)."""
        return self.run(
            *STABLE_DIFF_CONFIG,
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--binary",
            "--full-index",
            *extra,
            old,
            new,
            "--",
        )

    # -- bulk object reads ---------------------------------------------------------------------

    def read_objects(self, specs: Iterable[str]) -> dict[str, bytes | None]:
        """Read many objects with one ``git cat-file --batch``; missing ones map to None.

        Each spec is anything ``cat-file`` accepts: an object id or ``REV:PATH``.
        """
        wanted = list(dict.fromkeys(specs))
        if not wanted:
            return {}
        for spec in wanted:
            if "\n" in spec:
                raise GitError(f"object name contains a newline: {spec!r}")
        stdin = "".join(f"{spec}\n" for spec in wanted).encode("utf-8", "surrogateescape")
        out = self.run("cat-file", "--batch", input=stdin)
        result: dict[str, bytes | None] = {}
        pos = 0
        for spec in wanted:
            end = out.index(b"\n", pos)
            header = out[pos:end].decode("utf-8", "surrogateescape")
            pos = end + 1
            parts = header.split(" ")
            if len(parts) == 3 and parts[2].isdigit():
                size = int(parts[2])
                result[spec] = out[pos : pos + size]
                pos += size + 1  # content is followed by a newline
            else:  # "<spec> missing" or "<spec> ambiguous"
                result[spec] = None
        return result

    def read_blob_at(self, rev: str, path: str) -> bytes | None:
        """The content of PATH in REV's tree (what ``git show REV:PATH`` prints), or None."""
        return self.read_objects([f"{rev}:{path}"])[f"{rev}:{path}"]


def init_repository(path: Path, branch: str = "main") -> Repository:
    """``git init -b BRANCH PATH`` and the repository it made."""
    proc = subprocess.run(
        ["git", "init", "-q", "-b", branch, str(path)], capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise GitError(_describe_failure(["init"], proc))
    return Repository(path)


def _describe_failure(args: Iterable[str], proc: subprocess.CompletedProcess[bytes]) -> str:
    """One line: which git subcommand failed and git's own first line of complaint."""
    words = list(args)
    while len(words) >= 2 and words[0] == "-c":
        words = words[2:]
    command = words[0] if words else ""
    lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    detail = next((line for line in lines if line.strip()), f"exit status {proc.returncode}")
    detail = detail.removeprefix("fatal: ").removeprefix("error: ")
    return f"git {command} failed: {detail}"
