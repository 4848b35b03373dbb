"""`fixreview init` on a real clone with a real ssh key: it writes the commented policy, allows
the reviewer's key for their e-mail (and only for fixreview's namespace), makes `git fetch`
bring the remote's notes into tracking refs, makes rebases carry proposals, says what to
commit — and a second run changes nothing. Then a decision signed with that key counts."""

from __future__ import annotations

import os
from pathlib import Path

import tomli

from fixreview.init_repo import commented_default_policy
from fixreview.policy import Policy
from tests.cliutil import APPROVE, fixreview
from tests.gitutil import AI, TestRepo, git
from tests.signing_util import Reviewer


def clone(repo: TestRepo, tmp_path: Path) -> TestRepo:
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(remote))
    dest = tmp_path / "clone"
    return TestRepo.clone_of(remote, dest, tick=200)


def test_init_sets_a_clone_up_once(
    repo: TestRepo, people: dict[str, Reviewer], tmp_path: Path
) -> None:
    aisha = people["aisha"]
    work = clone(repo, tmp_path)
    first = fixreview(work, "init", env=aisha.env())
    assert first.returncode == 0, first.stderr
    assert "done: wrote .fixreview.toml" in first.stdout
    assert "commit on the base branch (through review): git add .fixreview.toml " in first.stdout
    policy = (work.path / ".fixreview.toml").read_text()
    assert policy == commented_default_policy()
    allowed = (work.path / ".fixreview" / "allowed_signers").read_text()
    key_type, key_body = aisha.public.split()[:2]
    assert allowed == f'{aisha.email} namespaces="fixreview-decision" {key_type} {key_body}\n'
    fetch = git(work.path, "config", "--get-all", "remote.origin.fetch").splitlines()
    assert "+refs/notes/fixreview/*:refs/notes/remotes/origin/fixreview/*" in fetch
    rewrite = git(work.path, "config", "--get-all", "notes.rewriteRef").splitlines()
    assert rewrite == ["refs/notes/fixreview/proposals"]
    again = fixreview(work, "init", env=aisha.env())
    assert again.returncode == 0, again.stderr
    assert "done:" not in again.stdout and "nothing to do" in again.stdout
    assert (work.path / ".fixreview.toml").read_text() == policy
    assert (work.path / ".fixreview" / "allowed_signers").read_text() == allowed
    assert git(work.path, "config", "--get-all", "remote.origin.fetch").splitlines() == fetch
    # what init wrote, committed on the base branch, lets her approvals count
    work.commit("Set up fixreview")  # adds what init wrote, pushed to the base branch
    git(work.path, "push", "-q", "origin", "HEAD:main")
    git(work.path, "fetch", "-q", "origin")
    work.checkout("-b", "ai-fix/sqli")
    work.commit("Fix\n\nFinding-Id: SEC-1", {"app/db.py": "x = 1\n"}, who=AI)
    work.checkout("-")
    approve = fixreview(work, "decide", "ai-fix/sqli", *APPROVE, env=aisha.env())
    assert approve.returncode == 0, approve.stderr
    assert fixreview(work, "verify", "ai-fix/sqli").returncode == 0


def test_init_without_a_key_or_a_remote_says_what_is_left(repo: TestRepo, tmp_path: Path) -> None:
    env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "gpg.format", "GIT_CONFIG_VALUE_0": "ssh"}
    proc = fixreview(repo, "init", env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr
    assert (
        "to do: no signing key to allow yet: no ssh signing key: set user.signingKey" in proc.stdout
    )
    assert "to do: no remote named 'origin'" in proc.stdout
    assert "nothing to do" not in proc.stdout  # never both
    again = fixreview(repo, "init", env={**os.environ, **env})  # the policy is written now
    assert "to do: no remote named 'origin'" in again.stdout
    assert "nothing to do" not in again.stdout
    assert not (repo.path / ".fixreview" / "allowed_signers").exists()


def test_the_commented_policy_is_the_default_policy() -> None:
    assert tomli.loads(commented_default_policy()) == {}  # every key commented: the defaults
    assert "# required = 1" in commented_default_policy()
    assert Policy().approvals.required == 1


def test_init_refuses_a_bare_repository(repo: TestRepo, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(bare))
    proc = fixreview(bare, "init")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "fixreview: error: fixreview init needs a work tree: run it in a clone, not a bare one"
    ]
