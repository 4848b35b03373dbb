"""A hung git, ssh-agent, gpg-agent or signer never hangs fixreview: every git process and
every signing or verifying program has a timeout, and running out of it is one clear line on
stderr and exit 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from fixreview.notes.store import DECISIONS_REF
from tests.cliutil import APPROVE, fixreview, one_error_line
from tests.gitutil import TestRepo
from tests.signing_util import Reviewer


def _hung_program(directory: Path, name: str = "hung") -> Path:
    """A real program that never answers (it sleeps far longer than any test waits)."""
    directory.mkdir(parents=True, exist_ok=True)
    program = directory / name
    program.write_text("#!/bin/sh\nexec sleep 600\n")
    program.chmod(0o755)
    return program


def _fixreview(repo: TestRepo, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    """The command, given two minutes: a hang it failed to stop fails the test (TimeoutExpired),
    and the one-line error it must print says its own timeout fired."""
    return fixreview(repo, *argv, env=env, timeout=120)


def _one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    line = one_error_line(proc)
    for word in words:
        assert word in line, line


def _no_decision(repo: TestRepo) -> None:
    listed = subprocess.run(
        ["git", "-C", str(repo.path), "rev-parse", "--verify", "--quiet", DECISIONS_REF],
        capture_output=True,
        check=False,
    )
    assert listed.returncode != 0


def test_a_hung_ssh_signer_is_stopped(fixed: TestRepo, aisha: Reviewer, tmp_path: Path) -> None:
    hung = _hung_program(tmp_path / "bin")
    env = aisha.env(**{"gpg.ssh.program": str(hung)})
    env["FIXREVIEW_SIGNER_TIMEOUT"] = "1"
    proc = _fixreview(fixed, env, "decide", "ai-fix/sqli", *APPROVE)
    _one_line_error(proc, "did not finish within 1 s", "FIXREVIEW_SIGNER_TIMEOUT")
    _no_decision(fixed)


def test_a_hung_ssh_agent_default_key_command_is_stopped(
    fixed: TestRepo, aisha: Reviewer, tmp_path: Path
) -> None:
    hung = _hung_program(tmp_path / "bin")
    env = aisha.env(**{"user.signingKey": "", "gpg.ssh.defaultKeyCommand": str(hung)})
    env["FIXREVIEW_SIGNER_TIMEOUT"] = "1"
    proc = _fixreview(fixed, env, "decide", "ai-fix/sqli", *APPROVE)
    _one_line_error(proc, "did not finish within 1 s")
    _no_decision(fixed)


def test_a_hung_gpg_is_stopped(fixed: TestRepo, aisha: Reviewer, tmp_path: Path) -> None:
    hung = _hung_program(tmp_path / "bin")
    env = aisha.env(
        **{"gpg.format": "openpgp", "gpg.program": str(hung), "user.signingKey": "ABCDEF12"}
    )
    env["FIXREVIEW_SIGNER_TIMEOUT"] = "1"
    proc = _fixreview(fixed, env, "decide", "ai-fix/sqli", *APPROVE)
    _one_line_error(proc, "did not finish within 1 s")
    _no_decision(fixed)


def test_a_hung_verifier_is_stopped(fixed: TestRepo, aisha: Reviewer, tmp_path: Path) -> None:
    proc = _fixreview(fixed, aisha.env(), "decide", "ai-fix/sqli", *APPROVE)
    assert proc.returncode == 0, proc.stderr
    hung_dir = tmp_path / "hung-bin"
    _hung_program(hung_dir, "ssh-keygen")
    _hung_program(hung_dir, "gpg")
    env = dict(os.environ)
    env["PATH"] = f"{hung_dir}{os.pathsep}{env['PATH']}"
    env["FIXREVIEW_SIGNER_TIMEOUT"] = "1"
    proc = _fixreview(fixed, env, "verify", "ai-fix/sqli")
    # an environment error, one line: never a pass, never a hang, never a traceback
    _one_line_error(proc, "'ssh-keygen' did not finish within 1 s")


def test_a_hung_git_is_stopped(fixed: TestRepo, aisha: Reviewer) -> None:
    hooks = fixed.path / ".git" / "hooks"
    _hung_program(hooks, "reference-transaction")
    env = aisha.env()
    env["FIXREVIEW_GIT_TIMEOUT"] = "2"
    proc = _fixreview(fixed, env, "decide", "ai-fix/sqli", *APPROVE)
    _one_line_error(proc, "did not finish within 2 s", "FIXREVIEW_GIT_TIMEOUT")
    _no_decision(fixed)
    # the stopped git left nothing that blocks the next writer
    (hooks / "reference-transaction").unlink()
    proc = _fixreview(fixed, aisha.env(), "decide", "ai-fix/sqli", *APPROVE)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("value", ["soon", "0", "-3", "nan"])
def test_a_bad_timeout_setting_is_one_line(fixed: TestRepo, value: str) -> None:
    env = dict(os.environ, FIXREVIEW_GIT_TIMEOUT=value)
    proc = _fixreview(fixed, env, "list")
    _one_line_error(proc, "FIXREVIEW_GIT_TIMEOUT must be")
