"""OpenPGP signatures with gpg: detached, armored, over the exact payload bytes.

Verification imports the allowed public keys (an armored keyring read from the base branch)
into a throwaway GnuPG home, runs ``gpg --verify`` there, and requires the signing key to carry
a user id with the reviewer's email.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from fixreview.signing.base import (
    SignatureCheck,
    SignatureFormat,
    Signed,
    SigningError,
    first_error_line,
    run_tool,
)

_EMAIL = re.compile(r"<([^>]+)>")


class OpenPgpSigner:
    format: SignatureFormat = "openpgp"

    def __init__(self, program: str, key: str) -> None:
        self.program = program or "gpg"
        self.key = key
        self._fingerprint: str | None = None

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            proc = run_tool(
                [
                    self.program,
                    "--batch",
                    "--with-colons",
                    "--fingerprint",
                    "--list-secret-keys",
                    self.key,
                ],
                None,
            )
            fprs = [
                line.split(":")[9]
                for line in proc.stdout.decode("utf-8", "replace").splitlines()
                if line.startswith("fpr:")
            ]
            if proc.returncode != 0 or not fprs:
                raise SigningError(
                    f"no OpenPGP secret key for {self.key!r} "
                    "(set user.signingKey, or use ssh: git config gpg.format ssh)"
                )
            self._fingerprint = fprs[0]
        return self._fingerprint

    def sign(self, payload: bytes) -> Signed:
        key = self.fingerprint()
        proc = run_tool([self.program, "--status-fd=2", "-bsau", self.key], payload)
        if proc.returncode != 0 or b"BEGIN PGP SIGNATURE" not in proc.stdout:
            raise SigningError(
                f"gpg could not sign with {self.key}: {first_error_line(proc.stderr)}"
            )
        return Signed(signature=proc.stdout, key=key)


def verify_openpgp(
    payload: bytes, signature: bytes, reviewer_email: str, allowed_keys: bytes, program: str = "gpg"
) -> SignatureCheck:
    """Verify against ALLOWED_KEYS only, in a private keyring; the key must name the reviewer."""
    home = tempfile.mkdtemp(prefix="fxr-gpg-")
    os.chmod(home, 0o700)
    try:
        base = [program, "--homedir", home, "--batch", "--no-tty"]
        imported = run_tool([*base, "--import"], allowed_keys)
        if imported.returncode != 0 and b"IMPORT_OK" not in imported.stderr:
            return SignatureCheck(
                False, "unknown", "the allowed OpenPGP keys could not be imported"
            )
        sig = Path(home) / "payload.asc"
        sig.write_bytes(signature)
        proc = run_tool([*base, "--status-fd=1", "--verify", str(sig), "-"], payload)
        status = proc.stdout.decode("utf-8", "replace").splitlines()
        valid = [ln.split() for ln in status if ln.startswith("[GNUPG:] VALIDSIG ")]
        if proc.returncode != 0 or not valid:
            bad = next(
                (
                    ln
                    for ln in status
                    if any(
                        tag in ln
                        for tag in ("BADSIG", "EXPKEYSIG", "REVKEYSIG", "NO_PUBKEY", "EXPSIG")
                    )
                ),
                "",
            )
            reason = (
                bad.removeprefix("[GNUPG:] ").split(" ")[0]
                if bad
                else first_error_line(proc.stderr)
            )
            if reason == "NO_PUBKEY":
                reason = "the signing key is not among the allowed keys"
            return SignatureCheck(False, "unknown", f"bad OpenPGP signature: {reason}")
        fields = valid[0]
        primary = fields[-1] if len(fields) >= 12 else fields[2]
        listing = run_tool([*base, "--with-colons", "--list-keys", primary], None)
        emails = {
            m.group(1).lower()
            for line in listing.stdout.decode("utf-8", "replace").splitlines()
            if line.startswith("uid:")
            for m in [_EMAIL.search(line.split(":")[9])]
            if m
        }
        if reviewer_email.lower() not in emails:
            return SignatureCheck(
                False, primary, f"key {primary} is not allowed for {reviewer_email}"
            )
        return SignatureCheck(True, primary, "good signature")
    finally:
        if shutil.which("gpgconf"):
            subprocess.run(
                ["gpgconf", "--homedir", home, "--kill", "all"], capture_output=True, check=False
            )
        shutil.rmtree(home, ignore_errors=True)
