"""The review policy: ``.fixreview.toml`` as it is on the base branch, validated strictly.

The policy is always read from the base branch's tree (what ``git show BASE:.fixreview.toml``
prints), never from the working tree or a fix branch: a fix must not be able to loosen its own
review rules. A missing file means the strict defaults; a malformed one is an error naming the key.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from fixreview.documents import load_toml
from fixreview.errors import InputError
from fixreview.flag_registry import DEFAULT_RISK_LEVELS, FLAG_IDS, FlagId, RiskLevel
from fixreview.models import Strict
from fixreview.notes.records import describe_validation
from fixreview.repo.git import Repository
from fixreview.repo.refs import BaseRef, BranchRefs

POLICY_PATH = ".fixreview.toml"
DEFAULT_SENSITIVE_APPROVALS = 2
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
    # authentication and sessions
    "**/auth/**",
    "**/*auth*",
    "**/*login*",
    "**/*logout*",
    "**/*session*",
    "**/*password*",
    "**/*passwd*",
    "**/*oauth*",
    "**/*saml*",
    "**/*oidc*",
    "**/sso/**",
    "**/*mfa*",
    "**/*totp*",
    "**/*jwt*",
    "**/*csrf*",
    # authorization and policy enforcement
    "**/*permission*",
    "**/*privilege*",
    "**/acl*",
    "**/*_acl*",
    "**/*-acl*",
    "**/*acl.*",
    "**/*rbac*",
    "**/*policy*",
    "**/*policies*",
    "**/*.rego",
    "**/*cors*",
    "**/*firewall*",
    # secrets and credentials
    "**/*secret*",
    "**/*credential*",
    "**/*token*",
    "**/*apikey*",
    "**/*api_key*",
    "**/*api-key*",
    "**/.env",
    "**/.env.*",
    "**/.netrc",
    "**/.npmrc",
    "**/.pypirc",
    "**/.ssh/**",
    "**/*vault*",
    # keys, certificates, crypto and key rotation
    "**/*.pem",
    "**/*.key",
    "**/*.p12",
    "**/*.pfx",
    "**/*.jks",
    "**/*.keystore",
    "**/*.crt",
    "**/id_rsa*",
    "**/id_ecdsa*",
    "**/id_ed25519*",
    "**/keys/**",
    "**/*keystore*",
    "**/*keyring*",
    "**/*kms*",
    "**/*key*rotat*",
    "**/*rotat*key*",
    "**/*crypt*",
    "**/*cipher*",
    "**/*hash*",
    "**/*hmac*",
    "**/*signing*",
    "**/*signature*",
    "**/*signer*",
    "**/*tls*",
    "**/*ssl*",
    "**/certs/**",
    # the review rules themselves (also covered by policy-change and ci-config-change)
    ".fixreview.toml",
    ".fixreview/**",
    "CODEOWNERS",
    ".github/CODEOWNERS",
    "docs/CODEOWNERS",
    ".github/workflows/**",
    ".gitlab-ci.yml",
    "Jenkinsfile",
)


def simple_glob(pattern: str) -> re.Pattern[str]:
    """A glob where only ``*`` (anything, ``/`` included) and ``?`` are wildcards: brackets are
    literal, so ``*[bot]`` means a name ending in "[bot]", not in b, o or t."""
    body = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL)


def matches_any(value: str, patterns: list[str]) -> bool:
    return any(simple_glob(pattern).match(value) for pattern in patterns)


class ApprovalsPolicy(Strict):
    """What the verify gate requires before a fix counts as approved."""

    required: int = Field(default=1, ge=1)
    # absent from the file: max(2, required); a sensitive path can only raise the count
    sensitive: int = Field(default=0, ge=0)
    allowed_signers: str = ".fixreview/allowed_signers"
    allowed_openpgp_keys: str = ".fixreview/allowed_keys.asc"
    allow_rebased: bool = False
    ai_identities: list[str] = Field(default_factory=lambda: list(DEFAULT_AI_IDENTITIES))

    @model_validator(mode="after")
    def _stricter_never_looser(self) -> ApprovalsPolicy:
        if "sensitive" not in self.model_fields_set:
            self.sensitive = max(DEFAULT_SENSITIVE_APPROVALS, self.required)
        elif self.sensitive < self.required:
            raise PydanticCustomError(
                "sensitive_below_required",
                "approvals.sensitive ({sensitive}) is below approvals.required ({required}): "
                "a sensitive path can only raise the number of approvals",
                {"sensitive": self.sensitive, "required": self.required},
            )
        return self

    def needed(self, sensitive: bool) -> int:
        """Approvals a fix needs: the largest that any applicable rule asks for."""
        return max(self.required, self.sensitive) if sensitive else self.required


# Extra policy files: .fixreview.toml, approvals.allowed_signers and CODEOWNERS (root,
# .github/, docs/) always count and need not be listed.
DEFAULT_POLICY_PATHS: tuple[str, ...] = (
    ".fixreview/**",
    ".github/settings.yml",
)

DEFAULT_CI_PATHS: tuple[str, ...] = (
    ".github/workflows/**",
    ".github/actions/**",
    "**/action.yml",
    "**/action.yaml",
    ".gitlab-ci.yml",
    "**/.gitlab-ci.yml",
    ".gitlab-ci/**",
    ".gitlab/**",
    "Jenkinsfile",
    "**/Jenkinsfile",
    "**/*.jenkinsfile",
    ".circleci/**",
    "**/azure-pipelines.yml",
    "**/azure-pipelines.yaml",
    ".azure-pipelines/**",
    ".buildkite/**",
    "buildkite.yml",
    "buildkite.yaml",
    "buildkite.json",
    "bitbucket-pipelines.yml",
    ".travis.yml",
    ".drone.yml",
    ".drone.star",
    ".woodpecker.yml",
    ".woodpecker/**",
    "appveyor.yml",
    ".appveyor.yml",
    "cloudbuild.yaml",
    "cloudbuild.yml",
    "buildspec.yml",
    ".tekton/**",
    ".semaphore/**",
    "codefresh.yml",
    ".pre-commit-config.yaml",
    ".pre-commit-hooks.yaml",
    ".husky/**",
)

DEFAULT_TEST_PATHS: tuple[str, ...] = (
    "**/test/**",
    "**/tests/**",
    "**/spec/**",
    "**/specs/**",
    "**/__tests__/**",
    "**/testdata/**",
    "**/test_*.py",
    "**/*_test.py",
    "**/conftest.py",
    "**/*_test.go",
    "**/*.test.[cm]js",
    "**/*.test.[jt]s",
    "**/*.test.[jt]sx",
    "**/*.spec.[jt]s",
    "**/*.spec.[jt]sx",
    "**/*Test.java",
    "**/*Tests.java",
    "**/*Test.kt",
    "**/*Tests.kt",
    "**/*_spec.rb",
    "**/*_test.rb",
    "**/*Test.php",
    "**/*Tests.cs",
    "**/*Test.cs",
    "**/*Tests.swift",
    "**/*_test.exs",
    "**/*_test.dart",
)

DEFAULT_DEPENDENCY_PATHS: tuple[str, ...] = (
    "**/requirements*.txt",
    "**/requirements/*.txt",
    "**/constraints*.txt",
    "**/setup.py",
    "**/setup.cfg",
    "**/pyproject.toml",
    "**/Pipfile",
    "**/Pipfile.lock",
    "**/poetry.lock",
    "**/uv.lock",
    "**/pdm.lock",
    "**/package.json",
    "**/package-lock.json",
    "**/npm-shrinkwrap.json",
    "**/yarn.lock",
    "**/pnpm-lock.yaml",
    "**/go.mod",
    "**/go.sum",
    "**/Cargo.toml",
    "**/Cargo.lock",
    "**/pom.xml",
    "**/build.gradle",
    "**/build.gradle.kts",
    "**/gradle.lockfile",
    "**/libs.versions.toml",
    "**/Gemfile",
    "**/Gemfile.lock",
    "**/*.gemspec",
    ".gitmodules",
)


class RiskPolicy(Strict):
    """Globs, thresholds and levels for the automated risk checks (docs/risk.md).

    Globs match the whole repository-relative path, case-insensitively: ``**`` spans any
    number of directories (none included), ``*`` and ``?`` stay within one path segment.
    """

    sensitive_paths: list[str] = Field(default_factory=lambda: list(DEFAULT_SENSITIVE_PATHS))
    policy_paths: list[str] = Field(default_factory=lambda: list(DEFAULT_POLICY_PATHS))
    ci_paths: list[str] = Field(default_factory=lambda: list(DEFAULT_CI_PATHS))
    test_paths: list[str] = Field(default_factory=lambda: list(DEFAULT_TEST_PATHS))
    dependency_paths: list[str] = Field(default_factory=lambda: list(DEFAULT_DEPENDENCY_PATHS))
    scope_slack_lines: int = Field(default=10, ge=0)
    min_rationale_words: int = Field(default=12, ge=0)
    large_diff_lines: int = Field(default=400, ge=1)
    large_diff_files: int = Field(default=20, ge=1)
    # overrides of the default levels declared with each flag (fixreview.flag_registry)
    levels: dict[FlagId, RiskLevel] = Field(default_factory=dict)

    @field_validator("levels", mode="before")
    @classmethod
    def _known_flag_ids(cls, value: Any) -> Any:
        if isinstance(value, dict):
            unknown = sorted(str(key) for key in value if key not in DEFAULT_RISK_LEVELS)
            if unknown:
                raise PydanticCustomError(
                    "unknown_flag_id",
                    "unknown risk flag id {ids} (known: {known})",
                    {
                        "ids": ", ".join(repr(k) for k in unknown),
                        "known": ", ".join(FLAG_IDS),
                    },
                )
        return value

    def level(self, flag_id: FlagId) -> RiskLevel:
        """The level of FLAG_ID under this policy: its override, else its declared default."""
        return self.levels.get(flag_id, DEFAULT_RISK_LEVELS[flag_id])


class Policy(Strict):
    """The whole policy file. Every key is optional; absent keys take the strict defaults."""

    base: str = DEFAULT_BASE
    fix_branches: list[str] = Field(default_factory=lambda: list(DEFAULT_FIX_BRANCHES))
    findings: list[str] = Field(default_factory=list)
    approvals: ApprovalsPolicy = Field(default_factory=ApprovalsPolicy)
    risk: RiskPolicy = Field(default_factory=RiskPolicy)


class LoadedPolicy:
    """A policy together with where it was read from.

    ``base`` is the name people read (``main``, ``origin/main``), ``base_ref`` the full branch
    ref it was resolved to (``refs/heads/main``), ``base_branch`` the branch name without the
    remote, and ``base_commit`` the commit the policy and allowed signers were read at.
    """

    def __init__(
        self,
        policy: Policy,
        base: str,
        base_commit: str,
        found: bool,
        base_ref: str = "",
        base_branch: str = "",
    ) -> None:
        self.policy = policy
        self.base = base
        self.base_commit = base_commit
        self.found = found
        self.base_ref = base_ref or f"refs/heads/{base}"
        self.base_branch = base_branch or base


def parse_policy(data: bytes, where: str) -> Policy:
    """Validate policy TOML; InputError names the file and the offending key."""
    raw = load_toml(data, where)
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        raise InputError(f"{where}: {describe_validation(exc)}") from None


def load_policy(repo: Repository, base: str | None = None) -> LoadedPolicy:
    """Read the policy from the base branch, resolved strictly (fixreview.repo.refs).

    BASE (``--base``) is used as given. Without it, the base is ``git config fixreview.base``,
    else the remote's HEAD as ``git clone`` recorded it; and when the policy file on that branch
    sets ``base`` to another branch, the policy is read again from that one (resolved the same
    way), so that the rules in force are always those of the branch the fixes target.
    """
    refs = BranchRefs(repo)
    start = refs.resolve(base, "--base") if base is not None else refs.default(repo)
    loaded = _load_from(repo, start)
    if base is None and loaded.found and "base" in loaded.policy.model_fields_set:
        named = loaded.policy.base
        if named not in (start.name, start.ref, start.branch):
            target = refs.resolve(named, f"the base key of {POLICY_PATH} on {start.name}")
            if target.ref != start.ref:
                loaded = _load_from(repo, target)
    return loaded


def _load_from(repo: Repository, base: BaseRef) -> LoadedPolicy:
    data = repo.read_blob_at(base.commit, POLICY_PATH)
    found = data is not None
    policy = (
        parse_policy(data, f"{POLICY_PATH} on {base.name}")
        if data is not None
        else Policy(base=base.name)
    )
    return LoadedPolicy(
        policy, base.name, base.commit, found, base_ref=base.ref, base_branch=base.branch
    )
