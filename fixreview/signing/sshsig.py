"""An in-process check of SSH signatures (the SSHSIG format).

Anyone who can push notes can add thousands of records that embed an allowed reviewer's public
key next to garbage signature bytes; running ``ssh-keygen -Y verify`` on each would cost minutes.
This module parses the armored SSHSIG blob (PROTOCOL.sshsig in OpenSSH's sources) and checks the
signature with the ``cryptography`` library, in microseconds. A key type it does not know
(security keys, certificates) is left to ssh-keygen alone.

It reads every signature as ssh-keygen reads it and never more leniently — the armor, canonical
base64, no trailing data in the blob, the signature or an ECDSA signature's integers, the
signature format matching the key, the namespace, the hash — so that its "good" on a signature
by a key ssh-keygen already accepted for the same principal can stand for ssh-keygen's
(:mod:`fixreview.signing.verifier`). tests/test_allowed_signers.py holds it to that against the
real ssh-keygen.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from fixreview.signing.allowed_signers import key_fingerprint

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.serialization import SSHPublicKeyTypes

# cryptography is imported where a signature is checked, not here: the app draws its queue
# before anything is verified, and importing it costs 30-50 ms

MAGIC = b"SSHSIG"
BEGIN = b"-----BEGIN SSH SIGNATURE-----\n"
END = b"-----END SSH SIGNATURE-----"
_WHITESPACE = b" \t\n\r\v\f"  # what ssh-keygen's base64 decoder skips
MAX_ARMORED = 64 * 1024  # a real signature is well under 2 KiB

Verdict = Literal["bad", "good", "unchecked"]


@dataclass(frozen=True)
class SshSig:
    """The fields of one SSHSIG blob."""

    public_key: bytes  # the ssh wire-format public key
    namespace: bytes
    reserved: bytes
    hash_algorithm: bytes
    signature: bytes  # string sig-format + string sig-blob

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.public_key)

    @property
    def key_type(self) -> str:
        return _read_strings(self.public_key, 1)[0].decode("ascii", "replace")


def parse_armored(armored: bytes) -> SshSig | None:
    """The SSHSIG inside ``-----BEGIN SSH SIGNATURE-----`` armor, or None when malformed.

    Read as ``ssh-keygen`` reads it (``sshsig_dearmor``), never more leniently: the armor must
    start the text, the body ends at the first END marker (what follows is ignored, as there),
    whitespace in the body is skipped, and the base64 must be canonical; the blob must hold
    exactly its five fields, the signature field exactly its two."""
    if len(armored) > MAX_ARMORED or not armored.startswith(BEGIN):
        return None
    body, end, _ = armored[len(BEGIN) :].partition(END)
    if not end:
        return None
    body = body.translate(None, _WHITESPACE)
    try:
        blob = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None
    if base64.b64encode(blob) != body:  # stray bits or padding: not what ssh-keygen signed
        return None
    if not blob.startswith(MAGIC) or len(blob) < 10:
        return None
    (version,) = struct.unpack(">I", blob[6:10])
    if version != 1:
        return None
    try:
        public_key, namespace, reserved, hash_algorithm, signature = _read_strings(
            blob[10:], 5, whole=True
        )
        _read_strings(signature, 2, whole=True)
        _read_strings(public_key, 1)  # a key starts with its type (key_type reads it)
    except ValueError:
        return None
    return SshSig(public_key, namespace, reserved, hash_algorithm, signature)


def check(payload: bytes, armored: bytes, namespace: str) -> tuple[Verdict, str]:
    """("bad", why) when the signature cannot be valid; ("good", "") when the cryptography
    checks out; ("unchecked", why) when this module cannot tell (ssh-keygen decides)."""
    sig = parse_armored(armored)
    if sig is None:
        return "bad", "not an SSH signature"
    if sig.namespace != namespace.encode():
        return "bad", f"signed for namespace {sig.namespace.decode('ascii', 'replace')!r}"
    digests = {b"sha256": hashlib.sha256, b"sha512": hashlib.sha512}
    if sig.hash_algorithm not in digests:
        return "bad", "unknown hash algorithm"
    signed = (
        MAGIC
        + _string(sig.namespace)
        + _string(b"")  # ssh-keygen signs and verifies an empty one, whatever the blob says
        + _string(sig.hash_algorithm)
        + _string(digests[sig.hash_algorithm](payload).digest())
    )
    try:
        sig_format, sig_blob = _read_strings(sig.signature, 2, whole=True)
    except ValueError:
        return "bad", "malformed signature"
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = _load_key(sig.public_key)
    if key is None:
        return "unchecked", f"key type {sig.key_type} is checked by ssh-keygen only"
    if isinstance(key, ed25519.Ed25519PublicKey):
        if sig_format != b"ssh-ed25519":
            return "bad", "signature format does not match the key"
        try:
            key.verify(sig_blob, signed)
        except (InvalidSignature, ValueError):
            return "bad", "the signature does not match the payload"
        return "good", ""
    # the other kinds' modules only for a key of theirs: most reviewers sign with ed25519
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

    try:
        if isinstance(key, rsa.RSAPublicKey):
            algorithms = {b"rsa-sha2-256": hashes.SHA256(), b"rsa-sha2-512": hashes.SHA512()}
            if sig_format not in algorithms:
                return "bad", "RSA signature without SHA-2"
            key.verify(sig_blob, signed, padding.PKCS1v15(), algorithms[sig_format])
        elif isinstance(key, ec.EllipticCurvePublicKey):
            if sig_format != _read_strings(sig.public_key, 1)[0]:
                return "bad", "signature format does not match the key"
            r, s = _read_mpints(sig_blob)
            curve_hash = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}
            chosen = curve_hash.get(key.curve.key_size)
            if chosen is None:
                return "unchecked", "unknown curve"
            key.verify(utils.encode_dss_signature(r, s), signed, ec.ECDSA(chosen))
        else:
            return "unchecked", f"key type {sig.key_type} is checked by ssh-keygen only"
    except (InvalidSignature, ValueError):
        return "bad", "the signature does not match the payload"
    return "good", ""


@lru_cache(maxsize=256)
def _load_key(blob: bytes) -> SSHPublicKeyTypes | None:
    """The public key in ssh wire format, loaded once per process; None when not supported.

    An ed25519 key in its one exact form (its type, then its 32 bytes, nothing after them) is
    made from those bytes, as ``load_ssh_public_key`` makes it, without importing
    cryptography's ssh serialization (about 20 ms); any other blob goes to that loader."""
    try:
        key_type, raw = _read_strings(blob, 2, whole=True)
    except ValueError:
        key_type, raw = b"", b""
    if key_type == b"ssh-ed25519" and len(raw) == 32:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            return Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            return None
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_ssh_public_key

    try:
        return load_ssh_public_key(_public_key_line(blob))
    except (ValueError, UnsupportedAlgorithm):
        return None


def _public_key_line(blob: bytes) -> bytes:
    key_type = _read_strings(blob, 1)[0]
    return key_type + b" " + base64.b64encode(blob)


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _read_strings(data: bytes, count: int, *, whole: bool = False) -> list[bytes]:
    """COUNT ssh wire strings from the start of DATA; WHOLE: DATA must hold nothing more
    (ssh-keygen refuses trailing data). ValueError when DATA is not that."""
    out: list[bytes] = []
    pos = 0
    for _ in range(count):
        if pos + 4 > len(data):
            raise ValueError("truncated")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        pos += 4
        if pos + length > len(data):
            raise ValueError("truncated")
        out.append(data[pos : pos + length])
        pos += length
    if whole and pos != len(data):
        raise ValueError("trailing data")
    return out


def _read_mpints(data: bytes) -> tuple[int, int]:
    """The two mpints of an ECDSA signature blob, and nothing after them; ValueError for a
    negative one (ssh-keygen refuses both)."""
    r, s = _read_strings(data, 2, whole=True)
    if (r and r[0] & 0x80) or (s and s[0] & 0x80):
        raise ValueError("negative mpint")
    return int.from_bytes(r, "big"), int.from_bytes(s, "big")
