"""What every signing backend provides, and the results it hands back."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from fixreview.errors import FixreviewError

SignatureFormat = Literal["ssh", "openpgp"]

# Decisions are signed in a namespace of fixreview's own, so a decision signature can never
# pass as a git commit signature (namespace "git") or the reverse.
SSH_NAMESPACE = "fixreview-decision"


class SigningError(FixreviewError):
    """Signing failed: nothing was written. The message says what to configure."""


@dataclass(frozen=True)
class Signed:
    signature: bytes
    key: str  # the signing key's fingerprint (SHA256:… for ssh, the hex fingerprint for OpenPGP)


@dataclass(frozen=True)
class SignatureCheck:
    """The reference verifier's answer for one signature."""

    valid: bool
    key: str
    reason: str
    identities: tuple[str, ...] = ()  # for OpenPGP: every e-mail on the key's user ids


class Signer(Protocol):
    format: SignatureFormat

    def fingerprint(self) -> str: ...

    def sign(self, payload: bytes) -> Signed: ...


def run_tool(
    argv: Sequence[str], payload: bytes | None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run a signing tool; a missing program is a SigningError naming the setting."""
    try:
        return subprocess.run(list(argv), input=payload, capture_output=True, check=False, env=env)
    except FileNotFoundError:
        raise SigningError(
            f"signing program {argv[0]!r} not found (set gpg.ssh.program or gpg.program)"
        ) from None


def first_error_line(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith("Signing data on standard input")]
    return useful[-1] if useful else "no message"
