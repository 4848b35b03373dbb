"""``fixreview init``: what a repository needs before its AI fixes can be reviewed here.

Each step is done only when it is not done already, so running it again changes nothing:

- ``.fixreview.toml`` at the top of the work tree, every key of the default policy written out
  commented (a file of comments is the default policy); an existing file is left alone;
- the reviewer's ssh signing key (git's ``user.signingKey`` with ``gpg.format = ssh``) added for
  their ``user.email`` to the allowed signers file the policy names, for fixreview's namespace
  only (the file is created when missing); an OpenPGP key is named with the command that exports
  it, not exported;
- the remote's notes fetched by ``git fetch`` into tracking refs
  (``+refs/notes/fixreview/*:refs/notes/remotes/REMOTE/fixreview/*``: safe to overwrite,
  merged by ``fixreview sync``, never into the local ledgers directly);
- ``notes.rewriteRef`` naming the proposals ref, so that a rebase carries each proposal to the
  rewritten commit (decisions are not carried: an approval binds to the exact commit reviewed).

The files are written, never committed: they belong on the base branch, through review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fixreview.errors import FixreviewError
from fixreview.notes.store import PROPOSALS_REF
from fixreview.policy import DEFAULT_POLICY, POLICY_PATH, Policy, default_policy_text, load_policy
from fixreview.repo.git import Repository
from fixreview.signing.allowed_signers import parse_allowed_signers
from fixreview.signing.base import SSH_NAMESPACE, SigningError
from fixreview.signing.config import read_signing_config, reviewer_identity, signer_from_git
from fixreview.signing.ssh import SshSigner
from fixreview.sync import notes_fetch_refspec


@dataclass
class InitReport:
    """What ``init`` did, what was so already, what to commit, and what is left to the user."""

    done: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    to_commit: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)


def init_repository(
    repo: Repository, remote: str = "origin", base: str | None = None
) -> InitReport:
    """Set REPO up for fixreview (see the module docstring); says what it did. BASE: the base
    branch whose policy names the allowed signers file (the defaults when it has none yet)."""
    if repo.run_text("rev-parse", "--is-bare-repository").strip() == "true":
        raise FixreviewError("fixreview init needs a work tree: run it in a clone, not a bare one")
    report = InitReport()
    _policy_file(repo.root, report)
    try:
        policy = load_policy(repo, base).policy
    except FixreviewError:  # no base branch yet (a new repository): the default file names
        policy = DEFAULT_POLICY
    _allowed_signer(repo, policy, report)
    _notes_fetch(repo, remote, report)
    _rewrite_ref(repo, report)
    return report


def commented_default_policy() -> str:
    """The default policy as a repository's file: a header, then every line commented."""
    text = default_policy_text().decode("utf-8")
    body = [
        line if not line.strip() or line.startswith("#") else f"# {line}"
        for line in text.splitlines()
    ]
    header = [
        "# fixreview's policy for this repository, read from the base branch (docs/policy.md).",
        "# Every key below is commented out at its default value: uncomment one to change it.",
        "# A fix branch cannot change this file for itself: the base branch's copy applies.",
        "",
    ]
    return "\n".join(header + body) + "\n"


def _policy_file(root: Path, report: InitReport) -> None:
    path = root / POLICY_PATH
    if path.exists():
        report.already.append(f"{POLICY_PATH} exists (left as it is)")
        return
    path.write_text(commented_default_policy(), encoding="utf-8")
    report.done.append(f"wrote {POLICY_PATH}: the default policy, every key commented")
    report.to_commit.append(POLICY_PATH)


def _allowed_signer(repo: Repository, policy: Policy, report: InitReport) -> None:
    config = read_signing_config(repo)
    try:
        who = reviewer_identity(repo)
        signer = signer_from_git(repo)
    except SigningError as exc:
        report.advice.append(f"no signing key to allow yet: {exc.message}")
        return
    if not isinstance(signer, SshSigner):
        keys = policy.approvals.allowed_openpgp_keys
        key = config.get("user.signingkey") or who.email
        report.advice.append(
            f"add your OpenPGP key to {keys}: gpg --export --armor {key} >> {keys}"
        )
        return
    try:
        public = signer.public_line()
    except SigningError as exc:
        report.advice.append(f"cannot read your ssh public key: {exc.message}")
        return
    name = policy.approvals.allowed_signers
    path = repo.root / name
    existing = path.read_bytes() if path.exists() else b""
    fingerprint = signer.fingerprint()
    signers = parse_allowed_signers(existing)
    if any(entry.allows(who.email) for entry in signers.for_key(fingerprint)):
        report.already.append(f"{name} allows your key {fingerprint} for {who.email}")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    line = f'{who.email} namespaces="{SSH_NAMESPACE}" {public}\n'
    separator = b"" if not existing or existing.endswith(b"\n") else b"\n"
    path.write_bytes(existing + separator + line.encode("utf-8"))
    report.done.append(f"allowed your key {fingerprint} for {who.email} in {name}")
    report.to_commit.append(name)


def _notes_fetch(repo: Repository, remote: str, report: InitReport) -> None:
    if repo.try_run("remote", "get-url", remote).returncode != 0:
        report.advice.append(
            f"no remote named {remote!r}: run fixreview init --remote NAME once there is one"
        )
        return
    refspec = notes_fetch_refspec(remote)
    fetched = repo.try_run("config", "--get-all", f"remote.{remote}.fetch").stdout.decode()
    if refspec in fetched.splitlines():
        report.already.append(f"git fetch {remote} brings its fixreview notes")
        return
    repo.run("config", "--add", f"remote.{remote}.fetch", refspec)
    report.done.append(
        f"git fetch {remote} now brings its fixreview notes (into tracking refs; "
        "fixreview sync merges and pushes them)"
    )


def _rewrite_ref(repo: Repository, report: InitReport) -> None:
    rewritten = repo.try_run("config", "--get-all", "notes.rewriteRef").stdout.decode()
    if PROPOSALS_REF in rewritten.splitlines():
        report.already.append("rebases carry proposal notes (notes.rewriteRef)")
        return
    repo.run("config", "--add", "notes.rewriteRef", PROPOSALS_REF)
    report.done.append(
        f"rebases now carry proposal notes (notes.rewriteRef = {PROPOSALS_REF}; decisions "
        "stay on the commit reviewed)"
    )
