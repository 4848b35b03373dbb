"""The allowed signers reader and the in-process SSHSIG check, on real keys and signatures made
by ssh-keygen: what they refuse must be refused, and what ssh-keygen accepts must never be."""

from __future__ import annotations

import base64
import struct
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixreview.signing.allowed_signers import match_pattern_list, parse_allowed_signers
from fixreview.signing.base import SSH_NAMESPACE
from fixreview.signing.ssh import verify_ssh
from fixreview.signing.sshsig import BEGIN, END, _read_strings, check, parse_armored

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


LISTINGS = [
    "a {key}",
    '"a" {key} a comment',
    "b,a {key}",
    "*,!a {key}",
    "A {key}",
    "a bogus {key}",
    'a no-such="x" {key}',
    'a namespaces="fixreview-decision",bogus {key}',
    'a Namespaces="fixreview-decision" {key}',
    'a namespaces="git,fixreview-*" {key}',
    'a namespaces="git" {key}',
    "a cert-authority {key}",
    "a CERT-AUTHORITY {key}",
    'a cert-authority="x" {key}',
    "a namespaces {key}",
    'a VALID-AFTER="20200101" {key}',
    'a valid-before="20200101" {key}',
]


@pytest.mark.parametrize("line", LISTINGS)
def test_lines_are_read_as_ssh_keygen_reads_them(tmp_path: Path, line: str) -> None:
    """Whether a line lets key K sign for principal `a` now, read here and by ssh-keygen over a
    good signature by K: the same answer, for every option, case and pattern above."""
    key, public, fingerprint = _key(tmp_path, "ed25519")
    allowed = (line.format(key=public) + "\n").encode()
    now = datetime.now(UTC)
    listed = any(
        entry.allows("a")
        and entry.allows_namespace(SSH_NAMESPACE)
        and not entry.cert_authority
        and entry.valid_at(now) is None
        for entry in parse_allowed_signers(allowed).for_key(fingerprint)
    )
    assert listed == verify_ssh(PAYLOAD, _sign(key, PAYLOAD), "a", allowed).valid


def _blob(signature: bytes) -> bytes:
    body = b"".join(ln for ln in signature.splitlines() if not ln.startswith(b"-----"))
    return base64.b64decode(body)


def _armor(blob: bytes, begin: bytes = BEGIN, end: bytes = END + b"\n") -> bytes:
    text = base64.b64encode(blob)
    return begin + b"\n".join(text[i : i + 70] for i in range(0, len(text), 70)) + b"\n" + end


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _variants(signature: bytes) -> dict[str, bytes]:
    """A real signature reframed every way ssh-keygen is particular about."""
    blob = _blob(signature)
    public, namespace, reserved, hash_alg, sig = _read_strings(blob[10:], 5)
    sig_format, sig_blob = _read_strings(sig, 2)

    def framed(sig: bytes = sig, reserved: bytes = reserved, tail: bytes = b"") -> bytes:
        fields = (public, namespace, reserved, hash_alg, sig)
        return _armor(blob[:10] + b"".join(map(_string, fields)) + tail)

    other_format = b"ecdsa-sha2-nistp384" if sig_format.startswith(b"ecdsa") else b"rsa-sha2-512"
    lines = signature.splitlines(keepends=True)
    return {
        "as made": signature,
        "trailing data after the blob's fields": framed(tail=b"\0"),
        "trailing data after the signature's fields": framed(
            _string(sig_format) + _string(sig_blob) + b"\0"
        ),
        "trailing data inside the signature blob": framed(
            _string(sig_format) + _string(sig_blob + b"\0")
        ),
        "another signature format": framed(_string(other_format) + _string(sig_blob)),
        "a reserved field": framed(reserved=b"x"),
        "version 2": _armor(blob[:6] + struct.pack(">I", 2) + blob[10:]),
        "upper-case hash name": _armor(blob.replace(b"sha512", b"SHA512")),
        "no END line": _armor(blob, end=b""),
        "another BEGIN line": _armor(blob, begin=b"-----BEGIN FOO-----\n"),
        "a newline first": b"\n" + signature,
        "CRLF lines": signature.replace(b"\n", b"\r\n"),
        "text after END": signature + b"garbage\n",
        "END twice": signature + END + b"\n",
        "no final newline": signature.rstrip(b"\n"),
        "body on one line": lines[0]
        + b"".join(ln.strip() for ln in lines[1:-1])
        + b"\n"
        + lines[-1],
        "spaces and tabs in the body": lines[0]
        + b"".join(b" " + ln[:-1] + b"\t\n" for ln in lines[1:-1])
        + lines[-1],
        "padding removed": signature.replace(b"=\n-----END", b"\n-----END"),
        "last base64 character's spare bits set": _spare_bits(signature),
    }


def _spare_bits(signature: bytes) -> bytes:
    """The same blob with the base64's unused low bits of its last character set: only a
    padded body has such bits (an unpadded one is returned as it is)."""
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    head, padding, end = signature.partition(b"=")
    if not padding:
        return signature
    last = alphabet.index(head[-1:])
    return head[:-1] + alphabet[last | 1 : (last | 1) + 1] + b"=" + end


@pytest.mark.parametrize("kind", ["ed25519", "rsa", "ecdsa"])
def test_the_in_process_check_agrees_with_ssh_keygen(tmp_path: Path, kind: str) -> None:
    """Every framing ssh-keygen is particular about: the in-process check says "good" exactly
    when ssh-keygen accepts — never where it refuses, so its "good" on a key and principal
    ssh-keygen accepted once can stand for ssh-keygen's (fixreview/signing/verifier.py)."""
    key, public, _ = _key(tmp_path, kind)
    allowed = f"a {public}\n".encode()
    for label, variant in _variants(_sign(key, PAYLOAD)).items():
        ours = check(PAYLOAD, variant, SSH_NAMESPACE)[0] == "good"
        assert ours == verify_ssh(PAYLOAD, variant, "a", allowed).valid, label


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    edits=st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.sampled_from(["delete", "insert", "replace"]),
            st.sampled_from(list(b" \n\r\t=-+/AQgw\0")),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_edited_signatures_are_never_good_where_ssh_keygen_refuses(
    ed25519_signed: tuple[bytes, bytes], edits: list[tuple[int, str, int]]
) -> None:
    """A real signature's armored text with characters deleted, inserted or replaced: whenever
    the in-process check calls it good, ssh-keygen accepts it too."""
    allowed, signature = ed25519_signed
    text = bytearray(signature)
    for position, how, char in edits:
        at = position % (len(text) + 1)
        if how == "insert":
            text[at:at] = bytes([char])
        elif at < len(text):
            text[at : at + 1] = b"" if how == "delete" else bytes([char])
    if check(PAYLOAD, bytes(text), SSH_NAMESPACE)[0] == "good":
        assert verify_ssh(PAYLOAD, bytes(text), "a", allowed).valid


@pytest.fixture(scope="module")
def ed25519_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    key, public, _ = _key(tmp_path_factory.mktemp("edited"), "ed25519")
    return f"a {public}\n".encode(), _sign(key, PAYLOAD)


_KEY_TYPES = [b"ssh-ed25519", b"ssh-rsa", b"ecdsa-sha2-nistp256", b"sk-ssh-ed25519@openssh.com"]


@settings(max_examples=300, deadline=None)
@given(
    key_type=st.sampled_from([None, *_KEY_TYPES]),
    key_rest=st.binary(max_size=80),
    hash_algorithm=st.sampled_from([b"sha256", b"sha512", b"md5"]),
    sig_format=st.sampled_from([*_KEY_TYPES, b"rsa-sha2-256"]),
    sig_blob=st.binary(max_size=80),
    inner=st.booleans(),
)
def test_any_framed_blob_is_judged_without_raising(
    key_type: bytes | None,
    key_rest: bytes,
    hash_algorithm: bytes,
    sig_format: bytes,
    sig_blob: bytes,
    inner: bool,
) -> None:
    """Whatever a pushed record puts in a well-framed SSHSIG — a key field that is no key, a
    truncated one, any signature bytes — the check answers and never raises (a raise once
    stopped the judgement of a whole queue)."""
    public = key_rest if key_type is None else _string(key_type) + key_rest
    if inner:  # the ECDSA shape: two mpints inside the signature blob
        sig_blob = _string(sig_blob[:33]) + _string(sig_blob[33:])
    fields = (public, SSH_NAMESPACE.encode(), b"", hash_algorithm)
    blob = b"SSHSIG" + struct.pack(">I", 1) + b"".join(map(_string, fields))
    blob += _string(_string(sig_format) + _string(sig_blob))
    verdict, _ = check(PAYLOAD, _armor(blob), SSH_NAMESPACE)
    assert verdict in ("bad", "unchecked")
