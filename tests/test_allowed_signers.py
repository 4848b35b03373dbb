"""The allowed signers reader and the in-process SSHSIG check, on real keys and signatures made
by ssh-keygen: what they refuse must be refused, and what ssh-keygen accepts must never be."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixreview.signing.allowed_signers import match_pattern_list, parse_allowed_signers
from fixreview.signing.base import SSH_NAMESPACE
from fixreview.signing.ssh import verify_ssh
from fixreview.signing.sshsig import check, parse_armored

PAYLOAD = b'schema = 1\nverdict = "approve"\n'


def _key(tmp_path: Path, kind: str) -> tuple[Path, str, str]:
    key = tmp_path / f"id_{kind}"
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(key)], check=True)
    public = Path(str(key) + ".pub").read_text().strip()
    listed = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(key)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    return key, public, listed


def _sign(key: Path, payload: bytes, namespace: str = SSH_NAMESPACE) -> bytes:
    return subprocess.run(
        ["ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", str(key)],
        input=payload,
        capture_output=True,
        check=True,
    ).stdout


@pytest.mark.parametrize("kind", ["ed25519", "rsa", "ecdsa"])
def test_good_signatures_pass_and_any_change_fails(tmp_path: Path, kind: str) -> None:
    key, public, _ = _key(tmp_path, kind)
    signature = _sign(key, PAYLOAD)
    assert check(PAYLOAD, signature, SSH_NAMESPACE) == ("good", "")
    verdict, why = check(PAYLOAD + b" ", signature, SSH_NAMESPACE)
    assert verdict == "bad" and "does not match" in why
    assert check(PAYLOAD, _sign(key, PAYLOAD, "git"), SSH_NAMESPACE)[0] == "bad"
    # never stricter than the reference verifier on what it accepts
    allowed = f"a@example.com {public}\n".encode()
    assert verify_ssh(PAYLOAD, signature, "a@example.com", allowed).valid


def test_garbage_is_refused_without_raising(tmp_path: Path) -> None:
    key, _, fingerprint = _key(tmp_path, "ed25519")
    signature = _sign(key, PAYLOAD)
    assert parse_armored(signature) is not None
    assert parse_armored(signature).fingerprint == fingerprint  # type: ignore[union-attr]
    for junk in (b"", b"x", signature[:-60] + b"\n-----END SSH SIGNATURE-----\n", b"A" * 100_000):
        assert check(PAYLOAD, junk, SSH_NAMESPACE)[0] == "bad"


def test_lines_options_and_identities(tmp_path: Path) -> None:
    _, public, fingerprint = _key(tmp_path, "ed25519")
    _, other, other_fpr = _key(tmp_path, "rsa")
    text = (
        "# reviewers\n"
        "\n"
        f"aisha@example.com,a.okafor@example.com {public} Aisha\n"
        f'"lee@example.com" namespaces="git,fixreview-*",valid-after="20260101Z",'
        f'valid-before="202607011230Z" {other}\n'
        f"*@ops.example.com,!mallory@ops.example.com cert-authority {other}\n"
        "not a line\n"
        f"broken@example.com ssh-ed25519 !!!notbase64\n"
    ).encode()
    signers = parse_allowed_signers(text)
    assert signers.bad_lines == (6, 7)
    first, second, third = signers.entries
    assert first.fingerprint == fingerprint and first.namespaces is None
    assert first.allows("a.okafor@example.com") and not first.allows("A.Okafor@example.com")
    assert signers.identities_of_key(fingerprint) == ["aisha@example.com", "a.okafor@example.com"]
    assert second.principals == ("lee@example.com",) and second.fingerprint == other_fpr
    assert second.allows_namespace(SSH_NAMESPACE) and not second.allows_namespace("file")
    assert second.valid_after == datetime(2026, 1, 1, tzinfo=UTC)
    assert second.valid_before == datetime(2026, 7, 1, 12, 30, tzinfo=UTC)
    assert second.valid_at(datetime(2026, 3, 1, tzinfo=UTC)) is None
    assert "only valid after" in str(second.valid_at(datetime(2025, 12, 31, tzinfo=UTC)))
    assert "only valid before" in str(second.valid_at(datetime(2026, 7, 1, 12, 30, tzinfo=UTC)))
    assert third.cert_authority and third.allows("x@ops.example.com")
    assert not third.allows("mallory@ops.example.com")
    assert set(signers.identities_of_key(other_fpr)) == {"lee@example.com", "*@ops.example.com"}


def test_pattern_lists_as_openssh_matches_them() -> None:
    assert match_pattern_list("a@x.org", ["*@x.org"], fold_case=False)
    assert not match_pattern_list("a@x.org", ["*@x.org", "!a@*"], fold_case=False)
    assert match_pattern_list("ab@x.org", ["a?@x.org"], fold_case=False)
    assert not match_pattern_list("abc@x.org", ["a?@x.org"], fold_case=False)
    assert not match_pattern_list("A@X.org", ["a@x.org"], fold_case=False)
    assert match_pattern_list("A@X.org", ["a@x.org"], fold_case=True)
    assert match_pattern_list("a@x.org", ["A@X.ORG"], fold_case=True)
    assert not match_pattern_list("a@x.org", ["A@X.ORG"], fold_case=False)
    assert not match_pattern_list("a.b", ["a?b.c"], fold_case=False)
    assert not match_pattern_list("anything", [], fold_case=False)


def test_local_time_windows_are_read_as_local_time(tmp_path: Path) -> None:
    _, public, _ = _key(tmp_path, "ed25519")
    [entry] = parse_allowed_signers(f'a@x.org valid-before="20300101" {public}\n'.encode()).entries
    expected = datetime(2030, 1, 1).astimezone().astimezone(UTC)
    assert entry.valid_before == expected
    line = f'a@x.org valid-after="20300101123045Z" {public}\n'.encode()
    [seconds] = parse_allowed_signers(line).entries
    assert seconds.valid_after == datetime(2030, 1, 1, 12, 30, 45, tzinfo=UTC)
    bad = parse_allowed_signers(b'a@x.org valid-before="2030" ssh-ed25519 AAAA\n')
    assert bad.entries == () and bad.bad_lines == (1,)
