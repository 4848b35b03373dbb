"""Signature checks kept on disk (fixreview/signing/verifier.py): a warm cache runs no
ssh-keygen or gpg, a cached "valid" never makes another payload, signature, principal or allowed
signers file valid, a forged or damaged entry fails closed, and only definitive answers that the
clock cannot change are kept. Real ssh-keygen and gpg, counted through a wrapper on PATH."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fixreview.resultcache import ResultCache, cache_key
from fixreview.signing import SigningError
from fixreview.signing import verifier as verifier_module
from fixreview.signing.base import SSH_NAMESPACE, SignatureCheck
from fixreview.signing.openpgp import OpenPgpSigner
from fixreview.signing.ssh import SshSigner
from fixreview.signing.verifier import (
    CACHE_KIND,
    SIGNATURE_CHECKS_VERSION,
    DecisionVerifier,
    check_body,
    check_from_body,
)
from tests.signing_util import Reviewer
from tests.test_signing import gnupg  # noqa: F401 (a fixture)

PAYLOAD = b'schema = 1\nverdict = "approve"\n'
CLAIMED = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """ssh-keygen and gpg wrapped so that each run is logged in the returned file."""
    log = tmp_path / "tool-runs.log"
    log.write_text("")
    wrappers = tmp_path / "wrappers"
    wrappers.mkdir()
    for name in ("ssh-keygen", "gpg"):
        real = shutil.which(name)
        assert real is not None
        script = wrappers / name
        script.write_text(f'#!/bin/sh\necho "{name} $1 $2" >> "{log}"\nexec "{real}" "$@"\n')
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrappers}{os.pathsep}{os.environ['PATH']}")
    verifier_module._tool.cache_clear()
    yield log
    verifier_module._tool.cache_clear()


def runs(log: Path, what: str) -> int:
    return sum(1 for line in log.read_text().splitlines() if line.startswith(what))


def new_process() -> None:
    """Forget what this process remembers, as a second `verify` would start."""
    verifier_module._cache.clear()
    verifier_module._close_pgp_verifiers()


def ssh_verifier(allowed: bytes, git_dir: Path | None) -> DecisionVerifier:
    return DecisionVerifier(
        allowed,
        None,
        ssh_file="allowed_signers",
        pgp_file="keys.asc",
        base="main",
        cache_dir=git_dir,
    )


def sign(who: Reviewer, payload: bytes = PAYLOAD) -> bytes:
    return SshSigner("ssh-keygen", str(who.key)).sign(payload).signature


def entries(git_dir: Path) -> list[Path]:
    root = git_dir / "fixreview" / "cache" / CACHE_KIND
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def ssh_key(allowed: bytes, principal: str, payload: bytes, signature: bytes) -> str:
    """The key the verifier files an ssh answer under (as fixreview/signing/verifier.py)."""
    return cache_key(
        CACHE_KIND,
        SIGNATURE_CHECKS_VERSION,
        "ssh",
        verifier_module._tool("ssh-keygen"),
        SSH_NAMESPACE,
        principal,
        hashlib.sha256(allowed).hexdigest(),
        payload,
        signature,
    )


def test_a_warm_cache_runs_no_ssh_keygen(
    people: dict[str, Reviewer], tmp_path: Path, counted: Path
) -> None:
    aisha = people["aisha"]
    allowed = f"{aisha.allowed_line()}\n".encode()
    signature = sign(aisha)
    git_dir = tmp_path / "git"
    before = runs(counted, "ssh-keygen -Y verify")
    assert (
        ssh_verifier(allowed, git_dir).check("ssh", PAYLOAD, signature, aisha.email, CLAIMED).valid
    )
    assert runs(counted, "ssh-keygen -Y verify") == before + 1
    assert len(entries(git_dir)) == 1
    new_process()
    check = ssh_verifier(allowed, git_dir).check("ssh", PAYLOAD, signature, aisha.email, CLAIMED)
    assert check.valid and check.key.startswith("SHA256:")
    assert runs(counted, "ssh-keygen -Y verify") == before + 1  # none this time
    new_process()
    # without a cache directory, every process asks ssh-keygen again
    assert ssh_verifier(allowed, None).check("ssh", PAYLOAD, signature, aisha.email, CLAIMED).valid
    assert runs(counted, "ssh-keygen -Y verify") == before + 2


def test_a_cached_valid_answer_validates_nothing_else(
    people: dict[str, Reviewer], tmp_path: Path, counted: Path
) -> None:
    aisha, tomas, mallory = people["aisha"], people["tomas"], people["mallory"]
    # aisha's key listed for her and for tomas: both principals reach ssh-keygen
    allowed = (
        f"{aisha.allowed_line()}\n{tomas.email} {aisha.public}\n{tomas.allowed_line()}\n".encode()
    )
    git_dir = tmp_path / "git"
    signature = sign(aisha)
    assert (
        ssh_verifier(allowed, git_dir).check("ssh", PAYLOAD, signature, aisha.email, CLAIMED).valid
    )
    new_process()
    verifier = ssh_verifier(allowed, git_dir)
    attempts = {
        "another payload": ("ssh", PAYLOAD + b"x", signature, aisha.email),
        "mallory's signature": ("ssh", PAYLOAD, sign(mallory), aisha.email),
        "tomas's signature over other bytes": ("ssh", PAYLOAD, sign(tomas, b"other"), tomas.email),
        "as an OpenPGP signature": ("openpgp", PAYLOAD, signature, aisha.email),
    }
    for label, (fmt, payload, sig, principal) in attempts.items():
        assert not verifier.check(fmt, payload, sig, principal, CLAIMED).valid, label
    # the same signature for another principal is its own question, asked of ssh-keygen
    before = runs(counted, "ssh-keygen -Y verify")
    assert verifier.check("ssh", PAYLOAD, signature, tomas.email, CLAIMED).valid
    assert runs(counted, "ssh-keygen -Y verify") == before + 1
    # another allowed signers file (aisha no longer listed) never reads her cached answer
    new_process()
    without = f"{tomas.allowed_line()}\n".encode()
    check = ssh_verifier(without, git_dir).check("ssh", PAYLOAD, signature, aisha.email, CLAIMED)
    assert not check.valid and "not in the base's allowed signers" in check.reason


def test_forged_and_damaged_entries_fail_closed(
    people: dict[str, Reviewer], tmp_path: Path, counted: Path
) -> None:
    aisha, mallory = people["aisha"], people["mallory"]
    allowed = f"{aisha.allowed_line()}\n".encode()
    git_dir = tmp_path / "git"
    signature = sign(aisha)
    assert (
        ssh_verifier(allowed, git_dir).check("ssh", PAYLOAD, signature, aisha.email, CLAIMED).valid
    )
    (path,) = entries(git_dir)
    good = path.read_bytes()
    check_key = (
        ssh_verifier(allowed, None).check("ssh", PAYLOAD, signature, aisha.email, CLAIMED).key
    )
    store = ResultCache.under(git_dir, CACHE_KIND)
    forged_valid = check_body(SignatureCheck(True, "SHA256:x", "good signature"), CLAIMED, None)
    # a well-formed "valid" filed under the exact key of a tampered payload, and of mallory's
    # signature claiming to be aisha's: refused before the cache is ever read
    for payload, sig in ((PAYLOAD + b"x", signature), (PAYLOAD, sign(mallory))):
        store.put(ssh_key(allowed, aisha.email, payload, sig), forged_valid)
        new_process()
        check = ssh_verifier(allowed, git_dir).check("ssh", payload, sig, aisha.email, CLAIMED)
        assert not check.valid, check
    # damaged entries of the good answer: ignored, ssh-keygen asked again, the entry rebuilt
    for damage in (b"garbage", good[:-5], good.replace(b"true", b"fals")):
        path.write_bytes(damage)
        new_process()
        before = runs(counted, "ssh-keygen -Y verify")
        assert (
            ssh_verifier(allowed, git_dir)
            .check("ssh", PAYLOAD, signature, aisha.email, CLAIMED)
            .valid
        )
        assert runs(counted, "ssh-keygen -Y verify") == before + 1
        rebuilt = store.get(ssh_key(allowed, aisha.email, PAYLOAD, signature))
        assert rebuilt is not None
        assert check_from_body(rebuilt, datetime.now(UTC)) == SignatureCheck(
            True, check_key, "good signature"
        )
    # an entry saying "invalid" for a good signature can only refuse
    store.put(
        ssh_key(allowed, aisha.email, PAYLOAD, signature),
        check_body(SignatureCheck(False, "SHA256:x", "forged refusal"), CLAIMED, None),
    )
    new_process()
    assert (
        not ssh_verifier(allowed, git_dir)
        .check("ssh", PAYLOAD, signature, aisha.email, CLAIMED)
        .valid
    )


def test_only_definitive_clock_free_answers_are_kept(
    people: dict[str, Reviewer], tmp_path: Path, counted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    aisha = people["aisha"]
    signature = sign(aisha)
    git_dir = tmp_path / "git"
    # a validity window in the allowed signers: ssh-keygen's answer depends on the clock
    windowed = f'{aisha.email} valid-after="20200101" {aisha.public}\n'.encode()
    assert (
        ssh_verifier(windowed, git_dir).check("ssh", PAYLOAD, signature, aisha.email, CLAIMED).valid
    )
    assert entries(git_dir) == []
    # no ssh-keygen: an error, never an answer kept
    new_process()
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    verifier_module._tool.cache_clear()
    allowed = f"{aisha.allowed_line()}\n".encode()
    with pytest.raises(SigningError):
        ssh_verifier(allowed, git_dir).check("ssh", PAYLOAD, signature, aisha.email, CLAIMED)
    assert entries(git_dir) == []


def test_kept_answers_hold_only_in_their_time() -> None:
    check = SignatureCheck(True, "K", "good signature", ("a@example.com",))
    until = CLAIMED + timedelta(days=1)
    body = check_body(check, CLAIMED, until)
    assert check_from_body(body, CLAIMED + timedelta(hours=1)) == check
    assert check_from_body(body, until) is None  # expired: ask again
    assert check_from_body(body, CLAIMED - timedelta(hours=1)) is None  # the clock went back
    forever = check_body(check, CLAIMED, None)
    assert check_from_body(forever, CLAIMED + timedelta(days=10000)) == check
    for bad in (b"", b"[]", forever.replace(b"true", b"1"), forever.replace(b'"K"', b"7")):
        assert check_from_body(bad, CLAIMED) is None


def test_openpgp_answers_are_kept_and_bound_to_their_inputs(
    gnupg: Path,  # noqa: F811
    tmp_path: Path,
    counted: Path,
) -> None:
    import subprocess

    signed = OpenPgpSigner("gpg", "olu@example.com").sign(PAYLOAD)
    allowed = subprocess.run(
        ["gpg", "--armor", "--export", "olu@example.com"], capture_output=True, check=True
    ).stdout
    git_dir = tmp_path / "git"
    claimed = datetime.now(UTC)  # the key was made just now

    def check(
        payload: bytes, who: str = "olu@example.com", keys: bytes = allowed
    ) -> SignatureCheck:
        new_process()
        verifier = DecisionVerifier(
            None, keys, ssh_file="a", pgp_file="keys.asc", base="main", cache_dir=git_dir
        )
        return verifier.check("openpgp", payload, signed.signature, who, claimed)

    first = check(PAYLOAD)
    assert first.valid and first.identities == ("olu@example.com",)
    before = runs(counted, "gpg")
    assert check(PAYLOAD) == first
    assert runs(counted, "gpg") == before  # no gpg at all: no import, no verify
    assert not check(PAYLOAD + b"x").valid
    assert not check(PAYLOAD, who="eve@example.com").valid
    assert not check(PAYLOAD, keys=b"").valid
    kept = len(entries(git_dir))
    assert kept == 2  # the good answer and the bad signature; not eve's (checked against now)
