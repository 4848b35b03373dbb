"""The reviewer's git signing setup, read the way git reads it.

``gpg.format`` (``openpgp`` by default, or ``ssh``), ``user.signingKey``, ``gpg.ssh.program``,
``gpg.ssh.defaultKeyCommand``, ``gpg.openpgp.program`` / ``gpg.program``. The reviewer's identity
is git's committer identity (``user.name``, ``user.email``).
"""

from __future__ import annotations

from fixreview.models import Person
from fixreview.repo.git import Repository
from fixreview.signing.base import Signer, SigningError, run_tool
from fixreview.signing.openpgp import OpenPgpSigner
from fixreview.signing.ssh import SshSigner


def read_signing_config(repo: Repository) -> dict[str, str]:
    """``gpg.*`` and ``user.*`` settings in effect (keys in git's lower-case form)."""
    proc = repo.try_run("config", "-z", "--get-regexp", r"^(gpg|user)\.")
    values: dict[str, str] = {}
    for entry in proc.stdout.decode("utf-8", "replace").split("\0"):
        if entry:
            key, _, value = entry.partition("\n")
            values[key.lower()] = value  # the last one wins, as in git
    return values


def reviewer_identity(repo: Repository) -> Person:
    """Who is deciding: git's committer identity."""
    proc = repo.try_run("var", "GIT_COMMITTER_IDENT")
    if proc.returncode != 0:
        raise SigningError(
            "git does not know who you are: set user.name and user.email "
            "(git config user.email you@example.com)"
        )
    ident = proc.stdout.decode("utf-8", "replace").strip().rsplit(" ", 2)[0]
    name, _, email = ident.rpartition(" <")
    return Person(name=name.strip(), email=email.rstrip(">").strip())


def signer_from_git(repo: Repository) -> Signer:
    """The signer git itself would use for a signed commit in this repository."""
    cfg = read_signing_config(repo)
    fmt = cfg.get("gpg.format", "openpgp").lower()
    key = cfg.get("user.signingkey", "").strip()
    if fmt == "ssh":
        program = cfg.get("gpg.ssh.program", "ssh-keygen")
        if not key and cfg.get("gpg.ssh.defaultkeycommand"):
            key = _default_key(cfg["gpg.ssh.defaultkeycommand"])
        if not key:
            raise SigningError(
                "no ssh signing key: set user.signingKey "
                "(git config user.signingKey ~/.ssh/id_ed25519.pub)"
            )
        return SshSigner(program, key)
    if fmt == "openpgp":
        program = cfg.get("gpg.openpgp.program") or cfg.get("gpg.program") or "gpg"
        if not key:
            key = reviewer_identity(repo).email
        return OpenPgpSigner(program, key)
    raise SigningError(
        f"gpg.format {fmt!r} is not supported for decisions; use ssh or openpgp "
        "(git config gpg.format ssh)"
    )


def _default_key(command: str) -> str:
    proc = run_tool(["sh", "-c", command], None)  # as git runs it; with the signer timeout
    if proc.returncode != 0:
        return ""
    lines = [ln for ln in proc.stdout.decode("utf-8", "replace").splitlines() if ln.strip()]
    return f"key::{lines[0].strip()}" if lines else ""
