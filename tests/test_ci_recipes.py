"""The shell steps of docs/ci.md, run as CI runs them: in a full clone of a bare remote served by a
real `git daemon` on 127.0.0.1 (git://), with the commit CI would test checked out. An approved
fix passes (its head, and the merge a queue or a merged results pipeline makes of it); an
unapproved one fails; a remote without notes fails."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cliutil import APPROVE
from tests.gitutil import AI, TestRepo, git
from tests.signing_util import Reviewer
from tests.test_decide_verify import decide, gated  # noqa: F401 (gated: a fixture)

ROOT = Path(__file__).resolve().parents[1]


def recipe(name: str) -> str:
    """The shell block docs/ci.md marks ``<!-- ci-steps: NAME -->``."""
    text = (ROOT / "docs" / "ci.md").read_text()
    found = re.search(rf"<!-- ci-steps: {name} -->\n```sh\n(.*?)```", text, re.DOTALL)
    assert found is not None, name
    return found.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A git daemon serving TMP/served on 127.0.0.1: (that directory, the git:// URL base)."""
    served = tmp_path / "served"
    served.mkdir()
    port = free_port()
    proc = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--enable=receive-pack",  # pushes over git:// too
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={served}",
            str(served),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield served, f"git://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def publish(repo: TestRepo, daemon: tuple[Path, str], notes: bool = True) -> None:
    """REPO's branches (and notes) pushed over git:// to a new bare remote.git."""
    served, url = daemon
    bare = served / "remote.git"
    if bare.exists():
        shutil.rmtree(bare)
    git(served, "init", "-q", "--bare", str(bare))
    refs = ["+refs/heads/*:refs/heads/*"] + (["+refs/notes/*:refs/notes/*"] if notes else [])
    git(repo.path, "push", "-q", f"{url}/remote.git", *refs)


def run_steps(
    name: str, url: str, work: Path, rev: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Clone the remote as CI does (whole history, REV checked out detached), then run the
    recipe's steps with a `fixreview` on PATH that is this checkout's."""
    git(work.parent, "clone", "-q", f"{url}/remote.git", str(work))
    git(work, "checkout", "-q", "--detach", rev)
    shim = work.parent / "bin"
    shim.mkdir(exist_ok=True)
    (shim / "fixreview").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m fixreview "$@"\n')
    (shim / "fixreview").chmod(0o755)
    full = {**os.environ, **env, "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "-c", recipe(name)],
        cwd=work,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


def merged(repo: TestRepo, head: str, name: str) -> str:
    """The merge commit a queue (or a merged results pipeline) makes of HEAD into main."""
    repo.git("checkout", "-q", "-b", name, "main")
    repo.git("merge", "-q", "--no-ff", "--no-edit", head)
    sha = repo.rev("HEAD")
    repo.git("checkout", "-q", "main")
    return sha


def test_the_recipes_pass_an_approved_fix_and_its_merge(
    gated: TestRepo,  # noqa: F811 (a fixture)
    people: dict[str, Reviewer],
    daemon: tuple[Path, str],
    tmp_path: Path,
) -> None:
    _, url = daemon
    assert decide(gated, people["aisha"], *APPROVE).returncode == 0
    gated.commit("main moves on", {"README.md": "more\n"})
    head = gated.rev("ai-fix/sqli")
    queued = merged(gated, "ai-fix/sqli", "gh-readonly-queue/main/pr-1")
    publish(gated, daemon)
    cases = [
        ("github", head, {"REV": head}),
        ("github", queued, {"REV": queued}),
        ("gitlab", head, {"CI_COMMIT_SHA": head, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"}),
        (
            "gitlab",
            queued,
            {"CI_COMMIT_SHA": queued, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"},
        ),
    ]
    for n, (name, rev, env) in enumerate(cases):
        proc = run_steps(name, url, tmp_path / f"ci{n}", rev, env)
        assert proc.returncode == 0, (name, rev, proc.stdout, proc.stderr)


def test_the_recipes_fail_closed(
    gated: TestRepo,  # noqa: F811 (a fixture)
    people: dict[str, Reviewer],
    daemon: tuple[Path, str],
    tmp_path: Path,
) -> None:
    _, url = daemon
    assert decide(gated, people["aisha"], *APPROVE).returncode == 0
    gated.checkout("-b", "ai-fix/other", "main")
    gated.commit("Other\n\nFinding-Id: SEC-1", {"app/other.py": "y = 2\n"}, who=AI)
    gated.checkout("main")
    unapproved = gated.rev("ai-fix/other")
    publish(gated, daemon)
    gitlab = {"CI_COMMIT_SHA": unapproved, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"}
    for n, (name, env) in enumerate([("github", {"REV": unapproved}), ("gitlab", gitlab)]):
        proc = run_steps(name, url, tmp_path / f"no{n}", unapproved, env)
        assert proc.returncode == 1, (name, proc.stdout, proc.stderr)
    # a remote without the notes: the fetch of the notes finds nothing, and verify exits 2
    publish(gated, daemon, notes=False)
    head = gated.rev("ai-fix/sqli")
    proc = run_steps("github", url, tmp_path / "nonotes", head, {"REV": head})
    assert proc.returncode != 0, proc.stdout


def test_the_tests_recipe_records_a_real_run_that_the_gate_then_requires(
    gated: TestRepo,  # noqa: F811 (a fixture)
    people: dict[str, Reviewer],
    daemon: tuple[Path, str],
    tmp_path: Path,
) -> None:
    """docs/ci.md's tests job: a real pytest run in a clone of the remote writes JUnit, CI's
    key signs the check record, sync pushes the notes over git://; then the gate job, in a
    fresh clone, passes only on the head whose run passed."""
    from tests.signing_util import make_reviewer

    _, url = daemon
    ci = make_reviewer(tmp_path / "ci-keys", "CI", "ci@example.com")
    gated.commit(
        "Require tests",
        {
            ".fixreview.toml": '[checks]\nrequired = ["tests"]\n',
            ".fixreview/ci_signers": ci.allowed_line() + "\n",
        },
    )
    assert decide(gated, people["aisha"], *APPROVE).returncode == 0
    head = gated.rev("ai-fix/sqli")
    publish(gated, daemon)
    env = {"REV": head, "RUN_URL": "https://ci.example.com/runs/1", "RUNNER_TEMP": ""}
    gate = run_steps("github", url, tmp_path / "gate0", head, {"REV": head})
    assert gate.returncode == 1, gate.stdout + gate.stderr  # no run recorded yet
    assert "required check tests missing" in gate.stdout
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    env.update(RUNNER_TEMP=str(temp), CI_SIGNING_KEY=ci.key.read_text())
    job = run_steps("github-tests", url, tmp_path / "tests0", head, env)
    assert job.returncode == 0, job.stdout + job.stderr
    assert "1 passed" in job.stdout
    assert "recorded tests passed (1 tests, 0 failures, 0 errors, 0 skipped" in job.stdout
    assert "pushed to origin" in job.stdout
    gate = run_steps("github", url, tmp_path / "gate1", head, {"REV": head})
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "required check tests: passed" in gate.stdout

    # a new head whose test fails: recorded as failed, pushed, and the gate refuses it
    gated.checkout("ai-fix/sqli")
    gated.commit(
        "Break it", {"tests/test_db.py": "def test_query():\n    assert 1 == 2\n"}, who=AI
    )
    gated.checkout("main")
    broken = gated.rev("ai-fix/sqli")
    served, _ = daemon
    git(gated.path, "push", "-q", f"{url}/remote.git", "+refs/heads/*:refs/heads/*")
    env.update(REV=broken)
    job = run_steps("github-tests", url, tmp_path / "tests1", broken, env)
    assert job.returncode == 1, job.stdout + job.stderr
    assert "recorded tests failed (1 tests, 1 failures, 0 errors, 0 skipped" in job.stdout
    gate = run_steps("github", url, tmp_path / "gate2", broken, {"REV": broken})
    assert gate.returncode == 1
    assert "required check tests failed" in gate.stdout
    # the notes were pushed, never forced: the earlier pass is still on the remote
    notes = git(served / "remote.git", "notes", "--ref=refs/notes/fixreview/checks", "list")
    assert head in notes and broken in notes
