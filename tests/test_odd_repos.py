"""Odd repositories: each works, or says in one line why not, with the right exit code.

Empty, detached HEAD, bare (a server or a CI mirror), a linked worktree, shallow clones (and the
fetch that repairs them), SHA-256 object format, a missing base, and no fixes at all — every one
through the command line (``list``, ``show``, ``verify``, ``log``).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cliutil import APPROVE, fixreview
from tests.gitutil import AI, TestRepo, git
from tests.signing_util import Reviewer, allow

FINDING_TOML = """\
id = "SEC-1"
title = "SQL injection in query"
severity = "high"
[[locations]]
path = "app/db.py"
start_line = 1
end_line = 2
"""
NOTES_FETCH = ["fetch", "-q", "origin", "refs/notes/fixreview/*:refs/notes/fixreview/*"]


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    return proc.stdout


def error_line(proc: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert proc.returncode == code, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "internal error" not in lines[0]
    return lines[0]


def works_everywhere(
    path: Path, *base: str, approved: bool = True, rev: str = "ai-fix/sqli"
) -> None:
    """list, show, verify and log all answer in PATH (the fix ai-fix/sqli, at REV, is checked)."""
    listed = json.loads(ok(fixreview(path, "list", "--all", "--json", *base)))
    assert [f["branch"] for f in listed["fixes"]] == ["ai-fix/sqli"]
    assert "ai-fix/sqli" in ok(fixreview(path, "show", "ai-fix/sqli", *base))
    assert "ai-fix/sqli" in ok(fixreview(path, "log", *base))
    proc = fixreview(path, "verify", rev, *base)
    assert proc.returncode == (0 if approved else 1), proc.stdout + proc.stderr


def _make(path: Path, aisha: Reviewer, object_format: str = "sha1") -> TestRepo:
    """main allows aisha; ai-fix/sqli is an AI commit two commits behind main's head."""
    r = TestRepo(path, object_format)
    r.commit("Initial commit", {"app/db.py": "def query(sql):\n    return sql\n"})
    allow(r, aisha)
    start = r.rev("HEAD")
    r.commit("Docs", {"README.md": "demo\n"})
    r.commit("More docs", {"README.md": "demo, more\n"})
    r.checkout("-b", "ai-fix/sqli", start)
    r.commit(
        "Parameterize\n\nUse bound parameters so user input stays data.\n\nFinding-Id: SEC-1",
        {
            "app/db.py": "def query(sql, args):\n    return sql, args\n",
            "tests/test_db.py": "def test_query():\n    assert True\n",
        },
        who=AI,
    )
    r.checkout("main")
    return r


@pytest.fixture
def approved(tmp_path: Path, aisha: Reviewer) -> TestRepo:
    r = _make(tmp_path / "origin", aisha)
    ok(fixreview(r.path, "decide", "ai-fix/sqli", *APPROVE, env=aisha.env()))
    return r


def test_an_empty_repository_says_there_is_nothing_to_review(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    git(tmp_path, "init", "-q", str(path))
    commands = (["list"], ["show", "ai-fix/x"], ["verify"], ["log"], ["list", "--base", "main"], [])
    for argv in commands:  # [] is the review app: it says so before it opens
        line = error_line(fixreview(path, *argv))
        assert "no branches yet" in line and "empty repository" in line
    git(path, "config", "fixreview.base", "main")
    assert "no branches yet" in error_line(fixreview(path, "list"))


def test_a_detached_head(approved: TestRepo) -> None:
    approved.checkout("--detach", "ai-fix/sqli")
    works_everywhere(approved.path)
    ok(fixreview(approved.path, "verify"))  # HEAD, detached at the fix
    approved.checkout("--detach", "main~1")
    works_everywhere(approved.path)


def test_a_bare_repository_uses_its_head_as_the_base(approved: TestRepo, tmp_path: Path) -> None:
    bare = tmp_path / "server.git"
    git(tmp_path, "clone", "-q", "--mirror", str(approved.path), str(bare))
    works_everywhere(bare)  # no configuration: the bare repository's HEAD names main
    works_everywhere(bare, "--base", "main")
    doc = json.loads(ok(fixreview(bare, "list", "--json")))
    assert doc["base"] == "main" and doc["base_commit"] == approved.rev("main")
    # a bare clone without notes says which refspec to fetch
    plain = tmp_path / "plain.git"
    git(tmp_path, "clone", "-q", "--bare", str(approved.path), str(plain))
    line = error_line(fixreview(plain, "verify", "ai-fix/sqli"))
    assert "refs/notes/fixreview/*:refs/notes/fixreview/*" in line


def test_a_linked_worktree(approved: TestRepo, tmp_path: Path, aisha: Reviewer) -> None:
    tree = tmp_path / "tree"
    approved.git("worktree", "add", "-q", str(tree), "ai-fix/sqli")
    works_everywhere(tree)
    ok(fixreview(tree, "verify"))  # HEAD of the worktree is the fix
    # a decision recorded from the worktree is in the shared notes
    approved.checkout("-b", "ai-fix/two", "main")
    approved.commit("Two\n\nFinding-Id: SEC-2", {"b.txt": "b\n"}, who=AI)
    approved.checkout("main")
    ok(fixreview(tree, "decide", "ai-fix/two", *APPROVE, env=aisha.env()))
    ok(fixreview(approved.path, "verify", "ai-fix/two"))


def test_a_shallow_clone_says_what_to_fetch(approved: TestRepo, tmp_path: Path) -> None:
    url = f"file://{approved.path}"
    ci = tmp_path / "ci"
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-single-branch", url, str(ci))
    git(ci, *NOTES_FETCH)
    git(ci, "checkout", "-q", "--detach", "origin/ai-fix/sqli")
    line = error_line(fixreview(ci, "verify"))
    assert "shallow clone" in line and "git fetch --unshallow origin" in line
    proc = fixreview(ci, "list", "--all")
    assert proc.returncode == 0, proc.stderr
    assert "shallow clone" in proc.stderr and "git fetch --unshallow" in proc.stderr
    assert "shallow clone" in ok(fixreview(ci, "show", "ai-fix/sqli"))
    git(ci, "fetch", "-q", "--unshallow", "origin")
    works_everywhere(ci, rev="origin/ai-fix/sqli")
    ok(fixreview(ci, "verify"))


def test_a_single_branch_ci_clone_says_which_refspec_to_fetch(
    approved: TestRepo, tmp_path: Path
) -> None:
    ci = tmp_path / "ci"
    url = f"file://{approved.path}"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "ai-fix/sqli", url, str(ci))
    git(ci, *NOTES_FETCH)
    line = error_line(fixreview(ci, "verify"))
    assert "--base" in line
    line = error_line(fixreview(ci, "verify", "--base", "origin/main"))
    assert "git fetch origin '+refs/heads/main:refs/remotes/origin/main'" in line
    git(ci, "fetch", "-q", "--unshallow", "origin", "+refs/heads/main:refs/remotes/origin/main")
    ok(fixreview(ci, "verify", "--base", "origin/main"))
    ok(fixreview(ci, "verify", "--base", "refs/remotes/origin/main"))


def test_sha256_repositories(tmp_path: Path, aisha: Reviewer) -> None:
    r = _make(tmp_path / "s256", aisha, "sha256")
    assert len(r.rev("HEAD")) == 64
    (tmp_path / "finding.toml").write_text(FINDING_TOML)
    ok(fixreview(r.path, "propose", "ai-fix/sqli", "--finding", str(tmp_path / "finding.toml")))
    assert "SEC-1" in ok(fixreview(r.path, "show", "ai-fix/sqli"))
    ok(fixreview(r.path, "decide", "ai-fix/sqli", *APPROVE, env=aisha.env()))
    works_everywhere(r.path)
    doc = json.loads(ok(fixreview(r.path, "verify", "ai-fix/sqli", "--json")))
    assert doc["approved"] is True
    # a fix with no history in common is diffed from the empty tree of the right format
    r.git("checkout", "-q", "--orphan", "ai-fix/orphan")
    r.git("rm", "-rqf", ".")
    r.commit("Orphan\n\nFinding-Id: SEC-9", {"z.txt": "z\n"}, who=AI)
    r.checkout("main")
    assert "z.txt" in ok(fixreview(r.path, "show", "ai-fix/orphan"))
    assert "no history" in error_line(fixreview(r.path, "verify", "ai-fix/orphan"), 1)
    # sharing notes: a clone without them merges the remote's into a missing local ref
    server = tmp_path / "server.git"
    git(tmp_path, "clone", "-q", "--bare", str(r.path), str(server))
    r.git("remote", "add", "origin", str(server))
    ok(fixreview(r.path, "sync"))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(server), str(clone))
    ok(fixreview(clone, "sync"))
    ok(fixreview(clone, "verify", "origin/ai-fix/sqli"))


def test_a_missing_base(approved: TestRepo) -> None:
    approved.git("config", "fixreview.base", "trunk")
    for argv in (["list"], ["show", "ai-fix/sqli"], ["verify", "ai-fix/sqli"], ["log"]):
        line = error_line(fixreview(approved.path, *argv))
        assert "'trunk' (from git config fixreview.base) not found" in line
    works_everywhere(approved.path, "--base", "main")
    approved.git("config", "--unset", "fixreview.base")
    assert "--base" in error_line(fixreview(approved.path, "list"))


def test_no_fixes(repo: TestRepo) -> None:
    assert ok(fixreview(repo.path, "list")).strip() == "no fixes awaiting review"
    assert ok(fixreview(repo.path, "list", "--all")).strip() == "no fix branches"
    assert json.loads(ok(fixreview(repo.path, "list", "--json")))["fixes"] == []
    assert ok(fixreview(repo.path, "log")).strip() == "no fix branches"
    assert "no fix branch named" in error_line(fixreview(repo.path, "show", "ai-fix/x"), 1)
    assert "no fix branch" in error_line(fixreview(repo.path, "log", "SEC-1"), 1)
    line = error_line(fixreview(repo.path, "verify"))  # nothing was ever decided here
    assert "refs/notes/fixreview/*:refs/notes/fixreview/*" in line
