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
# CI's check records (fixreview.check_records) have their own: a check signature can never pass
# as a decision's, nor the reverse.
CHECK_NAMESPACE = "fixreview-check"


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


SIGNER_TIMEOUT_ENV = "FIXREVIEW_SIGNER_TIMEOUT"
DEFAULT_SIGNER_TIMEOUT = 60.0  # room for a person to type a passphrase or touch a key


def signer_timeout() -> float:
    """How long one signing or verifying program may run (``FIXREVIEW_SIGNER_TIMEOUT``)."""
    from fixreview.repo.git import timeout_from_env

    return timeout_from_env(SIGNER_TIMEOUT_ENV, DEFAULT_SIGNER_TIMEOUT)


def run_tool(
    argv: Sequence[str], payload: bytes | None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run a signing tool; a missing program is a SigningError naming the setting, and one
    that does not finish in time (a hung ssh-agent or gpg-agent) is stopped: a SigningError."""
    seconds = signer_timeout()
    try:
        return subprocess.run(
            list(argv), input=payload, capture_output=True, check=False, env=env, timeout=seconds
        )
    except FileNotFoundError:
        raise SigningError(
            f"signing program {argv[0]!r} not found (set gpg.ssh.program or gpg.program)"
        ) from None
    except subprocess.TimeoutExpired:
        raise SigningError(
            f"signing tool {argv[0]!r} did not finish within {seconds:g} s and was stopped "
            f"(a hung ssh-agent or gpg-agent, or a passphrase prompt nobody answered?; "
            f"raise {SIGNER_TIMEOUT_ENV} to wait longer)"
        ) from None


NO_MESSAGE = "no message"


def first_error_line(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith("Signing data on standard input")]
    return useful[-1] if useful else NO_MESSAGE
