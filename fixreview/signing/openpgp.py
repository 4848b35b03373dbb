"""OpenPGP signatures with gpg: detached, armored, over the exact payload bytes.

Verification imports the allowed public keys (an armored keyring read from the base branch)
into a throwaway GnuPG home once, runs ``gpg --verify`` there for each signature, and judges by
gpg's status lines, never its exit code alone: a revoked or expired key, or one that did not yet
exist at the decision's claimed time, never counts; the key must carry a user id with the
reviewer's email.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fixreview.signing.base import (
    NO_MESSAGE,
    SignatureCheck,
    SignatureFormat,
    Signed,
    SigningError,
    first_error_line,
    run_tool,
)

_EMAIL = re.compile(r"<([^>]+)>")
FOREVER = datetime.max.replace(tzinfo=UTC)
"""How long a valid answer holds when nothing about it expires."""


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


# gpg status keywords that make a signature worthless whatever the exit code says
_REFUSING = {  # in order of what explains a refusal best
    "REVKEYSIG": "the signing key has been revoked",
    "KEYREVOKED": "the signing key has been revoked",
    "EXPKEYSIG": "the signing key has expired",
    "KEYEXPIRED": "the signing key has expired",
    "NO_PUBKEY": "the signing key is not among the allowed keys",
    "BADSIG": "the signature does not match the payload",
    "EXPSIG": "the signature has expired",
    "SIGEXPIRED": "the signature has expired",
    "ERRSIG": "the signature could not be checked",
}


@dataclass(frozen=True)
class _Key:
    """One public (sub)key of the allowed keyring, as ``--with-colons`` lists it."""

    fingerprint: str
    primary: str
    validity: str
    created: datetime | None
    expires: datetime | None
    can_sign: bool


class OpenPgpVerifier:
    """The allowed keys imported once into a private GnuPG home, for many verifications.

    A signature counts only when gpg reports GOODSIG and VALIDSIG and none of the refusing
    status keywords (revoked or expired key, expired or bad signature), whatever its exit code;
    and the signing key must exist, unrevoked, at the decision's claimed time.
    """

    def __init__(self, allowed_keys: bytes, program: str = "gpg") -> None:
        self.home = tempfile.mkdtemp(prefix="fxr-gpg-")
        os.chmod(self.home, 0o700)
        self.base = [program, "--homedir", self.home, "--batch", "--no-tty"]
        imported = run_tool([*self.base, "--import"], allowed_keys)
        self.imported = imported.returncode == 0 or b"IMPORT_OK" in imported.stderr
        self.keys: dict[str, _Key] = {}
        self.uids: dict[str, set[str]] = {}
        if self.imported:
            self._list_keys()

    def _list_keys(self) -> None:
        listing = run_tool([*self.base, "--with-colons", "--fixed-list-mode", "--list-keys"], None)
        primary = ""
        pending: list[str] = []
        for line in listing.stdout.decode("utf-8", "replace").splitlines():
            fields = line.split(":")
            kind = fields[0]
            if kind in ("pub", "sub"):
                pending = fields
                continue
            if kind == "fpr" and pending:
                fpr = fields[9]
                if pending[0] == "pub":
                    primary = fpr
                self.keys[fpr] = _Key(
                    fingerprint=fpr,
                    primary=primary,
                    validity=pending[1],
                    created=_epoch(pending[5]),
                    expires=_epoch(pending[6]),
                    can_sign="s" in pending[11].lower() if len(pending) > 11 else True,
                )
                pending = []
            elif kind == "uid" and primary and fields[1] != "r":
                match = _EMAIL.search(fields[9])
                if match:
                    self.uids.setdefault(primary, set()).add(match.group(1).lower())

    def emails_of(self, primary: str) -> set[str]:
        """Every e-mail address on the key's user ids: all of them are the key holder."""
        return set(self.uids.get(primary, set()))

    def verify(
        self, payload: bytes, signature: bytes, reviewer_email: str, claimed: datetime | None
    ) -> SignatureCheck:
        return self.verify_until(payload, signature, reviewer_email, claimed)[0]

    def verify_until(
        self, payload: bytes, signature: bytes, reviewer_email: str, claimed: datetime | None
    ) -> tuple[SignatureCheck, datetime | None]:
        """:meth:`verify`, and for a valid signature how long the answer holds: until the
        first expiry of the signature, its signing key or the primary key (:data:`FOREVER`
        when none expires); None when that is not known (an answer not to keep)."""
        if not self.imported:
            return SignatureCheck(
                False, "unknown", "the allowed OpenPGP keys could not be imported"
            ), None
        if len(signature) > 64 * 1024 or b"BEGIN PGP SIGNATURE" not in signature:
            return SignatureCheck(False, "unknown", "not an OpenPGP signature"), None
        sig = Path(self.home) / "payload.asc"
        sig.write_bytes(signature)
        proc = run_tool([*self.base, "--status-fd=1", "--verify", str(sig), "-"], payload)
        status = [
            ln.removeprefix("[GNUPG:] ").split(" ")
            for ln in proc.stdout.decode("utf-8", "replace").splitlines()
            if ln.startswith("[GNUPG:] ")
        ]
        keywords = {fields[0] for fields in status}
        refused = [k for k in _REFUSING if k in keywords]
        valid = [fields for fields in status if fields[0] == "VALIDSIG"]
        if refused or "GOODSIG" not in keywords or not valid or proc.returncode != 0:
            said = first_error_line(proc.stderr)
            reason = (
                _REFUSING[refused[0]]
                if refused
                else ("gpg gave no reason" if said == NO_MESSAGE else f"gpg said: {said}")
            )
            return SignatureCheck(False, "unknown", f"bad OpenPGP signature: {reason}"), None
        fields = valid[0]
        signing = fields[1]
        primary = fields[-1] if len(fields) >= 11 else signing
        when = claimed if claimed is not None else datetime.now(UTC)
        problem = self._key_refusal(signing, primary, reviewer_email, when)
        if problem is not None:
            return SignatureCheck(False, primary, problem), None
        return SignatureCheck(True, primary, "good signature"), self._until(
            fields, signing, primary
        )

    def _until(self, validsig: list[str], signing: str, primary: str) -> datetime | None:
        """The first expiry among the signature (VALIDSIG's expire-timestamp), its signing key
        and the primary key; FOREVER when none expires, None when one cannot be read."""
        expiry = validsig[4] if len(validsig) > 4 else ""
        if expiry not in ("", "0") and not expiry.isdigit():
            return None
        moments = [_epoch(expiry)] if expiry not in ("", "0") else []
        for fingerprint in (signing, primary):
            key = self.keys.get(fingerprint)
            if key is None:
                return None
            moments.append(key.expires)
        return min((m for m in moments if m is not None), default=FOREVER)

    def key_problem(self, primary: str, reviewer_email: str) -> str | None:
        """Why the key PRIMARY may not sign decisions for REVIEWER_EMAIL now (None: it may),
        asked before anything is signed: the rules :meth:`verify` applies to the key."""
        if not self.imported:
            return "the allowed OpenPGP keys could not be imported"
        signing = next(
            (k.fingerprint for k in self.keys.values() if k.primary == primary and k.can_sign),
            primary,
        )
        return self._key_refusal(signing, primary, reviewer_email, datetime.now(UTC))

    def _key_refusal(
        self, signing: str, primary: str, reviewer_email: str, when: datetime
    ) -> str | None:
        """Why key SIGNING (of PRIMARY) does not count for REVIEWER_EMAIL at WHEN and now."""
        key = self.keys.get(signing)
        owner = self.keys.get(primary)
        if key is None or owner is None:
            return f"key {primary} is not among the allowed keys"
        if not key.can_sign:
            return f"key {signing} is not a signing key"
        for what in (key, owner):
            if what.validity in ("r", "e", "i", "d"):
                word = {"r": "revoked", "e": "expired", "i": "invalid", "d": "disabled"}
                return f"key {what.fingerprint} is {word[what.validity]}"
        for moment, label in ((when, "at the decision's time"), (datetime.now(UTC), "now")):
            for what in (key, owner):
                if what.created is not None and moment < what.created:
                    return f"key {what.fingerprint} was not yet valid {label}"
                if what.expires is not None and moment >= what.expires:
                    return f"key {what.fingerprint} had expired {label}"
        if reviewer_email.lower() not in self.emails_of(primary):
            return f"key {primary} is not allowed for {reviewer_email}"
        return None

    def close(self) -> None:
        """Stop the agents of the private home (a hung gpgconf is given up on) and remove it."""
        if shutil.which("gpgconf"):
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(
                    ["gpgconf", "--homedir", self.home, "--kill", "all"],
                    capture_output=True,
                    check=False,
                    timeout=30,
                )
        shutil.rmtree(self.home, ignore_errors=True)


def _epoch(value: str) -> datetime | None:
    if not value.isdigit():
        return None
    return datetime.fromtimestamp(int(value), UTC)


def verify_openpgp(
    payload: bytes,
    signature: bytes,
    reviewer_email: str,
    allowed_keys: bytes,
    program: str = "gpg",
    claimed: datetime | None = None,
) -> SignatureCheck:
    """Verify against ALLOWED_KEYS only, in a private keyring; the key must name the reviewer."""
    verifier = OpenPgpVerifier(allowed_keys, program)
    try:
        return verifier.verify(payload, signature, reviewer_email, claimed)
    finally:
        verifier.close()
