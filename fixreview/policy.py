"""The review policy: ``.fixreview.toml`` as it is on the base branch, validated strictly.

The policy is always read from the base branch's tree (what ``git show BASE:.fixreview.toml``
prints), never from the working tree or a fix branch: a fix must not be able to loosen its own
review rules. A missing file means the strict defaults; a malformed one is an error naming the key.
"""

from __future__ import annotations

import tomllib
from typing import Any

from pydantic import Field, ValidationError

from fixreview.errors import InputError, NotFoundError
from fixreview.models import Strict
from fixreview.notes.records import describe_validation
from fixreview.repo.git import Repository

POLICY_PATH = ".fixreview.toml"
DEFAULT_BASE = "main"

DEFAULT_FIX_BRANCHES: tuple[str, ...] = (
    "ai-fix/*",
    "alert-autofix-*",
    "snyk-fix-*",
    "snyk-upgrade-*",
    "pixeebot/*",
    "copilot/*",
)

DEFAULT_AI_IDENTITIES: tuple[str, ...] = (
    "*[bot]",
    "*[bot]@*",
    "*-bot",
    "*-bot@*",
    "pixeebot*",
    "copilot*",
    "*@anthropic.com",
    "*noreply@openai.com",
    "devin-ai-integration*",
)

DEFAULT_SENSITIVE_PATHS: tuple[str, ...] = (
    "**/auth/**",
    "**/*auth*",
    "**/*login*",
    "**/*session*",
    "**/*password*",
    "**/*permission*",
    "**/*acl*",
    "**/*rbac*",
    "**/*policy*",
    "**/*secret*",
    "**/*credential*",
    "**/*token*",
    "**/*.pem",
    "**/*.key",
    "**/*crypt*",
    "**/*cipher*",
    "**/*hash*",
    "**/*sign*",
    "**/*keys*",
    ".fixreview.toml",
    ".fixreview/**",
    "CODEOWNERS",
    ".github/CODEOWNERS",
    "docs/CODEOWNERS",
    ".github/workflows/**",
    ".gitlab-ci.yml",
    "Jenkinsfile",
)


class ApprovalsPolicy(Strict):
    """What the verify gate requires before a fix counts as approved."""

    required: int = Field(default=1, ge=1)
    sensitive: int = Field(default=2, ge=1)
    allowed_signers: str = ".fixreview/allowed_signers"
    allow_rebased: bool = False
    ai_identities: list[str] = Field(default_factory=lambda: list(DEFAULT_AI_IDENTITIES))


class RiskPolicy(Strict):
    """Globs and thresholds for the automated risk checks."""

    sensitive_paths: list[str] = Field(default_factory=lambda: list(DEFAULT_SENSITIVE_PATHS))


class Policy(Strict):
    """The whole policy file. Every key is optional; absent keys take the strict defaults."""

    base: str = DEFAULT_BASE
    fix_branches: list[str] = Field(default_factory=lambda: list(DEFAULT_FIX_BRANCHES))
    findings: list[str] = Field(default_factory=list)
    approvals: ApprovalsPolicy = Field(default_factory=ApprovalsPolicy)
    risk: RiskPolicy = Field(default_factory=RiskPolicy)


class LoadedPolicy:
    """A policy together with where it was read from."""

    def __init__(self, policy: Policy, base: str, base_commit: str, found: bool) -> None:
        self.policy = policy
        self.base = base
        self.base_commit = base_commit
        self.found = found


def parse_policy(data: bytes, where: str) -> Policy:
    """Validate policy TOML; InputError names the file and the offending key."""
    try:
        raw: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{where}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: invalid TOML: {exc}") from None
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        raise InputError(f"{where}: {describe_validation(exc)}") from None


def load_policy(repo: Repository, base: str | None = None) -> LoadedPolicy:
    """Read the policy from the base branch (BASE, else ``main``, else ``master``).

    When the file on that branch names another base, the policy is read again from that one,
    so that the rules in force are always those of the branch the fixes target.
    """
    candidates = [base] if base else [DEFAULT_BASE, "master"]
    start = next((name for name in candidates if repo.resolve(name)), None)
    if start is None:
        raise NotFoundError(f"base branch {candidates[0]!r} not found (name it with --base)")
    loaded = _load_from(repo, start)
    if base is None and loaded.policy.base != start:
        if repo.resolve(loaded.policy.base) is None:
            raise InputError(
                f"{POLICY_PATH} on {start}: base branch {loaded.policy.base!r} does not exist"
            )
        loaded = _load_from(repo, loaded.policy.base)
    return loaded


def _load_from(repo: Repository, base: str) -> LoadedPolicy:
    commit = repo.resolve(base)
    if commit is None:
        raise NotFoundError(f"base branch {base!r} not found")
    data = repo.read_blob_at(commit, POLICY_PATH)
    if data is None:
        return LoadedPolicy(Policy(base=base), base, commit, found=False)
    policy = parse_policy(data, f"{POLICY_PATH} on {base}")
    return LoadedPolicy(policy, base, commit, found=True)
