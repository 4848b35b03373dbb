"""SSH signatures: ``ssh-keygen -Y sign`` and ``-Y verify`` in fixreview's own namespace.

``user.signingKey`` may be a private key file, a public key file whose private half is in
ssh-agent, or a ``key::`` literal (also a bare ``ssh-…`` literal, as git accepts); with no key,
``gpg.ssh.defaultKeyCommand`` is asked, as git does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
import tempfile
from pathlib import Path

from fixreview.signing.base import (
    NO_MESSAGE,
    SSH_NAMESPACE,
    SignatureCheck,
    SignatureFormat,
    Signed,
    SigningError,
    first_error_line,
    run_tool,
)


class SshSigner:
    format: SignatureFormat = "ssh"

    def __init__(self, program: str, key: str) -> None:
        self.program = program or "ssh-keygen"
        self.key = key
        self._fingerprint: str | None = None

    @property
    def is_literal(self) -> bool:
        return self.key.startswith(("key::", "ssh-", "ecdsa-", "sk-"))

    def _key_file(self, tmp: Path) -> tuple[str, list[str]]:
        """The path to give ``-f``, and extra flags (``-U``: the private key is in the agent)."""
        if self.is_literal:
            literal = self.key.removeprefix("key::").strip()
            path = tmp / "signing_key.pub"
            path.write_text(literal + "\n")
            return str(path), ["-U"]
        path = Path(os.path.expanduser(self.key))
        if not path.exists():
            raise SigningError(
                f"user.signingKey names {self.key}, which does not exist "
                "(set it to your ssh key: git config user.signingKey ~/.ssh/id_ed25519.pub)"
            )
        return str(path), []

    def public_line(self) -> str:
        """The public key as an allowed signers line ends: ``KEYTYPE BASE64`` (a comment
        dropped). From the literal key, else KEY.pub beside a private key, else the file
        itself when it is a public key."""
        if self.is_literal:
            text = self.key.removeprefix("key::").strip()
        else:
            path = Path(os.path.expanduser(self.key))
            public = path if path.name.endswith(".pub") else path.with_name(path.name + ".pub")
            try:
                text = public.read_text("utf-8").strip()
            except (OSError, UnicodeDecodeError):
                raise SigningError(
                    f"no public key at {public} (user.signingKey names {self.key})"
                ) from None
        fields = text.split()
        if len(fields) < 2:
            raise SigningError(f"{self.key} does not hold an ssh public key")
        return f"{fields[0]} {fields[1]}"

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            with tempfile.TemporaryDirectory(prefix="fixreview-ssh-") as tmp:
                path, _ = self._key_file(Path(tmp))
                proc = run_tool([self.program, "-l", "-E", "sha256", "-f", path], None)
            if proc.returncode != 0:
                raise SigningError(
                    f"cannot read the ssh signing key {self.key}: {first_error_line(proc.stderr)}"
                )
            fields = proc.stdout.decode().split()
            self._fingerprint = fields[1] if len(fields) > 1 else "unknown"
        return self._fingerprint

    def sign(self, payload: bytes, namespace: str = SSH_NAMESPACE) -> Signed:
        """PAYLOAD signed for NAMESPACE (decisions by default; an attestation has its own, so
        that neither signature can stand for the other)."""
        key = self.fingerprint()
        with tempfile.TemporaryDirectory(prefix="fixreview-ssh-") as tmp:
            path, flags = self._key_file(Path(tmp))
            proc = run_tool(
                [self.program, "-Y", "sign", "-n", namespace, "-f", path, *flags], payload
            )
        if proc.returncode != 0 or b"BEGIN SSH SIGNATURE" not in proc.stdout:
            raise SigningError(_explain(proc.stderr, self.key))
        return Signed(signature=proc.stdout, key=key)


def _explain(stderr: bytes, key: str) -> str:
    message = first_error_line(stderr)
    lowered = stderr.decode("utf-8", "replace").lower()
    if "agent" in lowered or "communication with agent failed" in lowered:
        return (
            f"ssh-agent could not sign with {key}: {message} "
            "(is the agent running and unlocked? ssh-add -X unlocks, ssh-add KEY adds the key)"
        )
    if "passphrase" in lowered or "incorrect" in lowered:
        return f"could not unlock the ssh key {key}: {message}"
    return f"ssh signing with {key} failed: {message}"


def verify_ssh(
    payload: bytes,
    signature: bytes,
    principal: str,
    allowed_signers: bytes,
    program: str = "ssh-keygen",
    namespace: str = SSH_NAMESPACE,
) -> SignatureCheck:
    """``ssh-keygen -Y verify`` of PAYLOAD against ALLOWED_SIGNERS for PRINCIPAL, signed for
    NAMESPACE (decisions by default)."""
    with tempfile.TemporaryDirectory(prefix="fixreview-verify-") as tmp:
        allowed = Path(tmp) / "allowed_signers"
        allowed.write_bytes(allowed_signers)
        sig = Path(tmp) / "payload.sig"
        sig.write_bytes(signature)
        proc = run_tool(
            [
                program,
                "-Y",
                "verify",
                "-f",
                str(allowed),
                "-I",
                principal,
                "-n",
                namespace,
                "-s",
                str(sig),
            ],
            payload,
        )
    key = signature_key(signature)
    if proc.returncode == 0:
        return SignatureCheck(True, key, "good signature")
    said = first_error_line(proc.stderr)
    if "no principal matched" in said.lower() or "not found" in said.lower():
        reason = f"key {key} is not allowed for {principal}"
    elif said == NO_MESSAGE:  # never a verifier's silence as a reason: say what was refused
        reason = f"ssh-keygen refused the signature by key {key} for {principal} without a reason"
    else:
        reason = f"ssh-keygen refused the signature by key {key} for {principal}: {said}"
    return SignatureCheck(False, key, reason)


def signature_key(signature: bytes) -> str:
    """The SHA256 fingerprint of the public key inside an armored SSH signature (SSHSIG),
    read from the blob itself, so it is known even when the signature does not verify."""
    lines = [ln.strip() for ln in signature.decode("ascii", "replace").splitlines()]
    body = "".join(ln for ln in lines if ln and not ln.startswith("-----"))
    try:
        blob = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return "unknown"
    if not blob.startswith(b"SSHSIG") or len(blob) < 14:
        return "unknown"
    length = struct.unpack(">I", blob[10:14])[0]
    public_key = blob[14 : 14 + length]
    if len(public_key) != length:
        return "unknown"
    digest = base64.b64encode(hashlib.sha256(public_key).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"
