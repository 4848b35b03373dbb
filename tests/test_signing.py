"""Signing with the reviewer's own git setup: key files, ssh-agent, key:: literals, gpg."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fixreview.repo.git import Repository
from fixreview.signing import SigningError, signer_from_git
from fixreview.signing.openpgp import verify_openpgp
from fixreview.signing.ssh import signature_key, verify_ssh
from tests.gitutil import TestRepo
from tests.signing_util import make_reviewer

PAYLOAD = b'schema = 1\nverdict = "approve"\n'


def _config(repo: TestRepo, **values: str) -> Repository:
    for key, value in values.items():
        repo.git("config", key.replace("_", "."), value)
    return Repository(repo.path)


def test_ssh_private_key_file(repo: TestRepo, tmp_path: Path) -> None:
    who = make_reviewer(tmp_path, "A", "a@example.com")
    signer = signer_from_git(_config(repo, gpg_format="ssh", user_signingKey=str(who.key)))
    signed = signer.sign(PAYLOAD)
    assert signed.key == signature_key(signed.signature) and signed.key.startswith("SHA256:")
    allowed = f"{who.allowed_line()}\n".encode()
    assert verify_ssh(PAYLOAD, signed.signature, "a@example.com", allowed).valid
    assert not verify_ssh(PAYLOAD + b"x", signed.signature, "a@example.com", allowed).valid
    check = verify_ssh(PAYLOAD, signed.signature, "b@example.com", allowed)
    assert not check.valid


def test_namespace_separates_decisions_from_commit_signatures(
    repo: TestRepo, tmp_path: Path
) -> None:
    who = make_reviewer(tmp_path, "A", "a@example.com")
    git_sig = who.sign(PAYLOAD, "git")
    allowed = f"{who.allowed_line()}\n".encode()
    assert not verify_ssh(PAYLOAD, git_sig, "a@example.com", allowed).valid


@pytest.fixture
def agent(tmp_path: Path) -> dict[str, str]:
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(100):
        if sock.exists():
            break
        subprocess.run(["sleep", "0.02"], check=False)
    os.environ["SSH_AUTH_SOCK"] = str(sock)
    yield {"SSH_AUTH_SOCK": str(sock)}
    os.environ.pop("SSH_AUTH_SOCK", None)
    proc.terminate()
    proc.wait()


def test_public_key_file_with_private_half_in_agent(
    repo: TestRepo, tmp_path: Path, agent: dict[str, str]
) -> None:
    who = make_reviewer(tmp_path, "A", "a@example.com")
    subprocess.run(["ssh-add", "-q", str(who.key)], check=True, capture_output=True)
    pub_only = tmp_path / "only.pub"
    shutil.copy(str(who.key) + ".pub", pub_only)
    os.unlink(who.key)  # the private key now lives only in the agent
    signer = signer_from_git(_config(repo, gpg_format="ssh", user_signingKey=str(pub_only)))
    signed = signer.sign(PAYLOAD)
    assert verify_ssh(
        PAYLOAD, signed.signature, "a@example.com", f"{who.allowed_line()}\n".encode()
    ).valid


def test_key_literal_and_locked_agent(
    repo: TestRepo, tmp_path: Path, agent: dict[str, str]
) -> None:
    who = make_reviewer(tmp_path, "A", "a@example.com")
    subprocess.run(["ssh-add", "-q", str(who.key)], check=True, capture_output=True)
    r = _config(repo, gpg_format="ssh", user_signingKey=f"key::{who.public}")
    signed = signer_from_git(r).sign(PAYLOAD)
    assert verify_ssh(
        PAYLOAD, signed.signature, "a@example.com", f"{who.allowed_line()}\n".encode()
    ).valid
    subprocess.run(
        ["ssh-add", "-x"],
        input=b"secret\nsecret\n",
        check=True,
        capture_output=True,
        env={**os.environ, "SSH_ASKPASS_REQUIRE": "never"},
    )
    if subprocess.run(["ssh-add", "-l"], capture_output=True, check=False).returncode == 0:
        pytest.skip("ssh-add could not lock the agent without a terminal")
    with pytest.raises(SigningError, match="agent"):
        signer_from_git(r).sign(PAYLOAD)


def test_gpg_ssh_program_is_used(repo: TestRepo, tmp_path: Path) -> None:
    who = make_reviewer(tmp_path, "A", "a@example.com")
    log = tmp_path / "calls.log"
    wrapper = tmp_path / "my-ssh-keygen"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec ssh-keygen "$@"\n')
    wrapper.chmod(0o755)
    r = _config(repo, gpg_format="ssh", user_signingKey=str(who.key), gpg_ssh_program=str(wrapper))
    signer_from_git(r).sign(PAYLOAD)
    assert "-Y sign -n fixreview-decision" in log.read_text()


def test_unsupported_format_and_missing_key(repo: TestRepo) -> None:
    with pytest.raises(SigningError, match="x509"):
        signer_from_git(_config(repo, gpg_format="x509"))
    with pytest.raises(SigningError, match=r"user\.signingKey"):
        signer_from_git(_config(repo, gpg_format="ssh"))


@pytest.fixture
def gnupg(tmp_path: Path) -> Path:
    home = Path(f"/tmp/fxr-gpg-test-{os.getpid()}-{tmp_path.name[-6:]}")
    home.mkdir(mode=0o700)
    os.environ["GNUPGHOME"] = str(home)
    subprocess.run(
        [
            "gpg",
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            "Olu Reviewer <olu@example.com>",
            "ed25519",
            "sign",
            "never",
        ],
        check=True,
        capture_output=True,
    )
    yield home
    os.environ.pop("GNUPGHOME", None)
    subprocess.run(
        ["gpgconf", "--homedir", str(home), "--kill", "all"], check=False, capture_output=True
    )
    shutil.rmtree(home, ignore_errors=True)


def test_openpgp_sign_and_verify_against_allowed_keys(repo: TestRepo, gnupg: Path) -> None:
    r = _config(repo, gpg_format="openpgp", user_signingKey="olu@example.com", gpg_program="gpg")
    signer = signer_from_git(r)
    signed = signer.sign(PAYLOAD)
    assert b"BEGIN PGP SIGNATURE" in signed.signature and len(signed.key) == 40
    allowed = subprocess.run(
        ["gpg", "--armor", "--export", "olu@example.com"], capture_output=True, check=True
    ).stdout
    check = verify_openpgp(PAYLOAD, signed.signature, "olu@example.com", allowed)
    assert check.valid and check.key == signed.key
    assert not verify_openpgp(PAYLOAD + b"x", signed.signature, "olu@example.com", allowed).valid
    other = verify_openpgp(PAYLOAD, signed.signature, "eve@example.com", allowed)
    assert not other.valid and "not allowed for eve@example.com" in other.reason
    assert not verify_openpgp(PAYLOAD, signed.signature, "olu@example.com", b"").valid


def test_openpgp_without_secret_key(repo: TestRepo, gnupg: Path) -> None:
    r = _config(repo, gpg_format="openpgp", user_signingKey="nobody@example.com")
    with pytest.raises(SigningError, match="no OpenPGP secret key"):
        signer_from_git(r).sign(PAYLOAD)
