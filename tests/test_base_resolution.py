"""The base is a branch ref named without guessing: never a tag, never the first name that exists.

Each attack here worked when the base was found by ``git rev-parse`` on ``main``, ``master``,
``origin/main``, ``origin/master`` in turn: a tag won over the branch, and in a CI clone of a
``master`` repository a pushed branch ``main`` became the base.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cliutil import APPROVE, fixreview, one_error_line
from tests.gitutil import AI, TestRepo, git
from tests.signing_util import Reviewer, allow, make_reviewer

PERMISSIVE = (
    'base = "origin/main"\n'
    '[approvals]\nrequired = 1\nsensitive = 1\nallowed_signers = ".fixreview/allowed_signers"\n'
)


@pytest.fixture
def people(tmp_path: Path) -> dict[str, Reviewer]:
    keys = tmp_path / "keys"
    return {
        "aisha": make_reviewer(keys, "Aisha Okafor", "aisha@example.com"),
        "mallory": make_reviewer(keys, "Mallory", "mallory@example.com"),
    }


def _fix(repo: TestRepo, start: str) -> str:
    repo.checkout("-b", "ai-fix/sqli", start)
    head = repo.commit(
        "Parameterize\n\nUse bound parameters so user input stays data.\n\nFinding-Id: SEC-1",
        {
            "app/db.py": "def query(sql, args):\n    return sql, args\n",
            "tests/test_db.py": "def test_query():\n    assert True\n",
        },
        who=AI,
    )
    return head


def _attacker_commit(repo: TestRepo, start: str, mallory: Reviewer) -> str:
    """A commit on top of START that allows mallory and nobody else."""
    repo.checkout("--detach", start)
    return repo.commit(
        "Loosen review",
        {
            ".fixreview/allowed_signers": mallory.allowed_line() + "\n",
            ".fixreview.toml": PERMISSIVE,
        },
        who=("Mallory", "mallory@example.com"),
    )


def test_a_tag_named_main_is_never_the_base(
    repo: TestRepo, people: dict[str, Reviewer], tmp_path: Path
) -> None:
    allow(repo, people["aisha"])
    main = repo.rev("main")
    _fix(repo, main)
    evil = _attacker_commit(repo, main, people["mallory"])
    repo.git("tag", "main", evil)
    repo.git("tag", "origin/main", evil)
    repo.checkout("main")
    assert (
        fixreview(
            repo.path,
            "decide",
            "ai-fix/sqli",
            *APPROVE,
            "--record-anyway",  # an attacker records what the gate should not count
            env=people["mallory"].env(),
        ).returncode
        == 0
    )
    proc = fixreview(repo.path, "verify", "ai-fix/sqli")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"base main at {main[:12]}" in proc.stdout or main[:12] in proc.stdout
    doc = json.loads(fixreview(repo.path, "verify", "ai-fix/sqli", "--json").stdout)
    assert doc["approved"] is False
    # the same in a CI clone, where the tags came along and the base is named origin/main
    clone = tmp_path / "ci"
    git(tmp_path, "clone", "-q", "--no-checkout", str(repo.path), str(clone))
    git(clone, "fetch", "-q", "origin", "refs/notes/fixreview/*:refs/notes/fixreview/*")
    git(clone, "checkout", "-q", "--detach", "origin/ai-fix/sqli")
    for base in ("origin/main", "main"):
        proc = fixreview(clone, "verify", "--base", base)
        assert proc.returncode == 1, (base, proc.stdout + proc.stderr)
        listed = json.loads(fixreview(clone, "list", "--json", "--base", base).stdout)
        assert listed["base_commit"] == main
    proc = fixreview(clone, "verify", "--base", "refs/tags/main")
    assert "not a branch" in one_error_line(proc)


def _master_upstream(tmp_path: Path, people: dict[str, Reviewer]) -> TestRepo:
    """A repository whose default branch is master (allowing aisha), with an AI fix."""
    up = TestRepo.__new__(TestRepo)
    up.path = tmp_path / "upstream"
    up.path.mkdir()
    up.tick = 0
    git(up.path, "init", "-q", "-b", "master")
    up.commit("Initial commit", {"app/db.py": "def query(sql):\n    return sql\n"})
    allow(up, people["aisha"])
    _fix(up, "master")
    up.checkout("master")
    return up


def _ci_clone(tmp_path: Path, upstream: TestRepo) -> Path:
    """What CI has: a clone of the bare server repository, detached at the fix, no local
    branches, notes fetched."""
    bare = tmp_path / "server.git"
    git(tmp_path, "clone", "-q", "--mirror", str(upstream.path), str(bare))
    clone = tmp_path / "ci"
    git(tmp_path, "clone", "-q", "--no-checkout", str(bare), str(clone))
    git(clone, "fetch", "-q", "origin", "refs/notes/fixreview/*:refs/notes/fixreview/*")
    git(clone, "checkout", "-q", "--detach", "origin/ai-fix/sqli")
    git(clone, "branch", "-D", "master")
    return clone


def test_a_pushed_branch_main_does_not_become_the_base_of_a_master_repository(
    people: dict[str, Reviewer], tmp_path: Path
) -> None:
    up = _master_upstream(tmp_path, people)
    _attacker_commit(up, "master", people["mallory"])
    up.git("branch", "main", "HEAD")
    up.checkout("master")
    mallory = fixreview(
        up.path, "decide", "ai-fix/sqli", "--base", "main", *APPROVE, env=people["mallory"].env()
    )
    assert mallory.returncode == 0, mallory.stderr
    assert fixreview(up.path, "verify", "ai-fix/sqli", "--base", "main").returncode == 0
    clone = _ci_clone(tmp_path, up)
    assert git(clone, "symbolic-ref", "refs/remotes/origin/HEAD").strip() == (
        "refs/remotes/origin/master"
    )
    proc = fixreview(clone, "verify")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "base origin/master" in proc.stdout
    doc = json.loads(fixreview(clone, "verify", "--json").stdout)
    assert doc["approved"] is False


def test_origin_head_names_the_base_of_a_ci_clone(
    people: dict[str, Reviewer], tmp_path: Path
) -> None:
    up = _master_upstream(tmp_path, people)
    aisha = fixreview(
        up.path, "decide", "ai-fix/sqli", "--base", "master", *APPROVE, env=people["aisha"].env()
    )
    assert aisha.returncode == 0, aisha.stderr
    clone = _ci_clone(tmp_path, up)
    proc = fixreview(clone, "verify")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "base origin/master" in proc.stdout
    proc = fixreview(clone, "verify", "--base", "refs/remotes/origin/master")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # without origin/HEAD and without configuration nothing is guessed
    git(clone, "remote", "set-head", "origin", "--delete")
    line = one_error_line(fixreview(clone, "verify"))
    assert "--base" in line and "fixreview.base" in line
    git(clone, "config", "fixreview.base", "origin/master")
    assert fixreview(clone, "verify").returncode == 0


def test_an_ambiguous_base_names_the_candidates(repo: TestRepo) -> None:
    head = repo.rev("main")
    repo.git("remote", "add", "origin", "https://example.invalid/a.git")
    repo.git("remote", "add", "upstream", "https://example.invalid/b.git")
    repo.git("update-ref", "refs/remotes/origin/release", head)
    repo.git("update-ref", "refs/remotes/upstream/release", head)
    line = one_error_line(fixreview(repo.path, "list", "--base", "release"))
    assert "ambiguous" in line
    assert "refs/remotes/origin/release" in line and "refs/remotes/upstream/release" in line
    # a qualified name is one branch
    assert fixreview(repo.path, "list", "--base", "upstream/release").returncode == 0
    # a local branch origin/main and the remote-tracking origin/main
    repo.git("update-ref", "refs/remotes/origin/main", head)
    repo.git("branch", "origin/main", head)
    line = one_error_line(fixreview(repo.path, "list", "--base", "origin/main"))
    assert "refs/heads/origin/main" in line and "refs/remotes/origin/main" in line
    # a local branch wins over remote-tracking ones of the same name
    proc = fixreview(repo.path, "list", "--json", "--base", "main")
    assert json.loads(proc.stdout)["base"] == "main"
    # the configured base is resolved the same strict way
    repo.git("config", "fixreview.base", "release")
    line = one_error_line(fixreview(repo.path, "list"))
    assert "ambiguous" in line and "fixreview.base" in line


def test_no_configured_base_and_no_remote_head_asks_for_base(tmp_path: Path) -> None:
    path = tmp_path / "plain"
    git(tmp_path, "init", "-q", "-b", "main", str(path))
    git(path, "commit", "-q", "--allow-empty", "-m", "start")
    for command in (["list"], ["verify"], ["log"]):
        line = one_error_line(fixreview(path, *command))
        assert "--base" in line and "git config fixreview.base main" in line
    assert fixreview(path, "list", "--base", "main").returncode == 0


def test_an_unknown_base_is_a_usage_error(repo: TestRepo) -> None:
    for command in (["list"], ["verify"], ["show", "ai-fix/x"], ["log"]):
        line = one_error_line(fixreview(repo.path, *command, "--base", "nosuch"))
        assert "'nosuch' (from --base) not found" in line
    line = one_error_line(fixreview(repo.path, "list", "--base", "refs/heads/nosuch"))
    assert "not found" in line
    line = one_error_line(fixreview(repo.path, "list", "--base", "HEAD"))
    assert "not a branch name" in line  # the checkout is never the base
    repo.git("tag", "v1")
    line = one_error_line(fixreview(repo.path, "list", "--base", "v1"))
    assert "tags never count" in line
    # control characters in a name are shown, never sent to the terminal
    line = one_error_line(fixreview(repo.path, "list", "--base", "x\x1b[31m"))
    assert "\x1b" not in line


def test_the_configured_base_is_honoured(repo: TestRepo) -> None:
    repo.checkout("-b", "develop")
    develop = repo.commit("Develop policy", {".fixreview.toml": 'fix_branches = ["bot/*"]\n'})
    repo.checkout("-b", "bot/one")
    repo.commit("fix", {"a.txt": "a\n"}, who=AI)
    repo.checkout("main")
    assert json.loads(fixreview(repo.path, "list", "--all", "--json").stdout)["fixes"] == []
    repo.git("config", "fixreview.base", "develop")
    doc = json.loads(fixreview(repo.path, "list", "--all", "--json").stdout)
    assert doc["base"] == "develop" and doc["base_commit"] == develop
    assert [f["branch"] for f in doc["fixes"]] == ["bot/one"]
    repo.git("config", "fixreview.base", "refs/heads/develop")
    doc = json.loads(fixreview(repo.path, "list", "--all", "--json").stdout)
    assert doc["base_commit"] == develop
    # --base wins over the configuration
    doc = json.loads(fixreview(repo.path, "list", "--all", "--json", "--base", "main").stdout)
    assert doc["base"] == "main"


def test_the_policy_base_key_redirects_strictly(repo: TestRepo) -> None:
    main = repo.rev("main")
    repo.git("branch", "release", main)
    repo.commit("Target release", {".fixreview.toml": 'base = "release"\n'})
    doc = json.loads(fixreview(repo.path, "list", "--json").stdout)
    assert doc["base"] == "release" and doc["base_commit"] == main
    # a tag of that name does not count
    repo.git("branch", "-D", "release")
    repo.git("tag", "release", main)
    line = one_error_line(fixreview(repo.path, "list"))
    assert "'release' (from the base key of .fixreview.toml on main) not found" in line


def test_the_base_is_never_listed_as_a_fix(repo: TestRepo, tmp_path: Path) -> None:
    repo.commit("Every branch is a fix", {".fixreview.toml": 'fix_branches = ["*"]\n'})
    repo.checkout("-b", "feature")
    repo.commit("feature", {"f.txt": "f\n"}, who=AI)
    repo.checkout("main")
    doc = json.loads(fixreview(repo.path, "list", "--all", "--json").stdout)
    assert [f["branch"] for f in doc["fixes"]] == ["feature"]
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo.path), str(clone))
    for base in ([], ["--base", "origin/main"], ["--base", "refs/heads/main"]):
        doc = json.loads(fixreview(clone, "list", "--all", "--json", *base).stdout)
        assert [f["branch"] for f in doc["fixes"]] == ["feature"], base
