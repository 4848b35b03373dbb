"""An in-process check of SSH signatures (the SSHSIG format), used only to refuse early.

Anyone who can push notes can add thousands of records that embed an allowed reviewer's public
key next to garbage signature bytes; running ``ssh-keygen -Y verify`` on each would cost minutes.
This module parses the armored SSHSIG blob (PROTOCOL.sshsig in OpenSSH's sources) and checks the
signature with the ``cryptography`` library, in microseconds. It can only *refuse*: a signature it
accepts still goes to ``ssh-keygen -Y verify``, the reference verifier, before it counts. A key
type it does not know (security keys, certificates) is left to ssh-keygen alone.
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
    """The SSHSIG inside ``-----BEGIN SSH SIGNATURE-----`` armor, or None when malformed."""
    if len(armored) > MAX_ARMORED:
        return None
    lines = [ln.strip() for ln in armored.decode("ascii", "replace").splitlines()]
    body = "".join(ln for ln in lines if ln and not ln.startswith("-----"))
    try:
        blob = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not blob.startswith(MAGIC) or len(blob) < 10:
        return None
    (version,) = struct.unpack(">I", blob[6:10])
    if version != 1:
        return None
    try:
        public_key, namespace, reserved, hash_algorithm, signature = _read_strings(blob[10:], 5)
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
        + _string(sig.reserved)
        + _string(sig.hash_algorithm)
        + _string(digests[sig.hash_algorithm](payload).digest())
    )
    try:
        sig_format, sig_blob = _read_strings(sig.signature, 2)
    except ValueError:
        return "bad", "malformed signature"
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

    key = _load_key(sig.public_key)
    if key is None:
        return "unchecked", f"key type {sig.key_type} is checked by ssh-keygen only"
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            if sig_format != b"ssh-ed25519":
                return "bad", "signature format does not match the key"
            key.verify(sig_blob, signed)
        elif isinstance(key, rsa.RSAPublicKey):
            algorithms = {b"rsa-sha2-256": hashes.SHA256(), b"rsa-sha2-512": hashes.SHA512()}
            if sig_format not in algorithms:
                return "bad", "RSA signature without SHA-2"
            key.verify(sig_blob, signed, padding.PKCS1v15(), algorithms[sig_format])
        elif isinstance(key, ec.EllipticCurvePublicKey):
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
    """The public key in ssh wire format, loaded once per process; None when not supported."""
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


def _read_strings(data: bytes, count: int) -> list[bytes]:
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
    return out


def _read_mpints(data: bytes) -> tuple[int, int]:
    r, s = _read_strings(data, 2)
    return int.from_bytes(r, "big"), int.from_bytes(s, "big")
