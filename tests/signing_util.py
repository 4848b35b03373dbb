"""Throwaway signing keys for tests, made with the real ssh-keygen and gpg."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.gitutil import TestRepo


@dataclass
class Reviewer:
    name: str
    email: str
    key: Path  # private key file (ssh)

    @property
    def public(self) -> str:
        return Path(str(self.key) + ".pub").read_text().strip()

    def allowed_line(self) -> str:
        return f"{self.email} {self.public}"

    def sign(self, payload: bytes, namespace: str) -> bytes:
        """``ssh-keygen -Y sign`` of PAYLOAD with this key, for NAMESPACE: a signature made by
        hand, as an attacker holding the key (or a stolen CI secret) would make one."""
        return subprocess.run(
            ["ssh-keygen", "-Y", "sign", "-n", namespace, "-f", str(self.key)],
            input=payload,
            capture_output=True,
            check=True,
        ).stdout

    def env(self, **extra: str) -> dict[str, str]:
        """Environment that makes git (and so fixreview) act as this reviewer."""
        config = {
            "user.name": self.name,
            "user.email": self.email,
            "gpg.format": "ssh",
            "user.signingKey": str(self.key),
            **extra,
        }
        env = dict(os.environ)
        env["GIT_CONFIG_COUNT"] = str(len(config))
        for i, (key, value) in enumerate(config.items()):
            env[f"GIT_CONFIG_KEY_{i}"] = key
            env[f"GIT_CONFIG_VALUE_{i}"] = value
        return env


def make_reviewer(directory: Path, name: str, email: str) -> Reviewer:
    directory.mkdir(parents=True, exist_ok=True)
    key = directory / email.replace("@", "_at_")
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", email, "-f", str(key)], check=True
    )
    return Reviewer(name, email, key)


def allow(repo: TestRepo, *reviewers: Reviewer, path: str = ".fixreview/allowed_signers") -> str:
    """Commit an allowed signers file listing REVIEWERS on the current branch."""
    content = "".join(r.allowed_line() + "\n" for r in reviewers)
    return repo.commit("Allow reviewers", {path: content})
