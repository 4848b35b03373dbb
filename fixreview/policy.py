"""The review policy: ``.fixreview.toml`` as it is on the base branch, validated strictly.

The policy is always read from the base branch's tree (what ``git show BASE:.fixreview.toml``
prints), never from the working tree or a fix branch: a fix must not be able to loosen its own
review rules. A missing file means the strict defaults; a malformed one is an error naming the key.

The defaults are one file bundled with the package, ``fixreview/default_policy.toml`` (shown
whole in docs/policy.md), parsed and validated by the same models as a repository's file; every
field's default is read from it (:data:`DEFAULT_POLICY`). The risk flag ids that ``[risk.levels]``
accepts, and their default levels, are declared with the flags (:mod:`fixreview.flag_registry`).
"""

from __future__ import annotations

from importlib.resources import files
from typing import Annotated, Any, Final

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from fixreview.documents import load_toml
from fixreview.errors import InputError
from fixreview.fixbranches import DEFAULT_POLICY_FILE
from fixreview.fixbranches import POLICY_PATH as POLICY_PATH  # where the policy is, for all
from fixreview.flag_registry import DEFAULT_RISK_LEVELS, FLAG_IDS, FlagId, RiskLevel
from fixreview.models import Strict
from fixreview.notes.records import describe_validation
from fixreview.repo.git import Repository
from fixreview.repo.refs import BaseRef, BranchRefs

# DEFAULT_POLICY_FILE: the defaults of every key, a file of the fixreview package shown whole
# in docs/policy.md. Which branches are fix branches is fixreview/fixbranches.py's (the app's
# first frame lists them without these models), and matches_any its glob.


class ApprovalsPolicy(Strict):
    """What the verify gate requires before a fix counts as approved."""

    required: int = Field(default_factory=lambda: _default().approvals.required, ge=1)
    # absent from the file: the larger of the default and required; it can only raise the count
    sensitive: int = Field(default_factory=lambda: _default().approvals.sensitive, ge=0)
    allowed_signers: str = Field(default_factory=lambda: _default().approvals.allowed_signers)
    allowed_openpgp_keys: str = Field(
        default_factory=lambda: _default().approvals.allowed_openpgp_keys
    )
    allow_rebased: bool = Field(default_factory=lambda: _default().approvals.allow_rebased)
    ai_identities: list[str] = Field(
        default_factory=lambda: list(_default().approvals.ai_identities)
    )

    @model_validator(mode="after")
    def _stricter_never_looser(self) -> ApprovalsPolicy:
        if "sensitive" not in self.model_fields_set:
            self.sensitive = max(_default().approvals.sensitive, self.required)
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


class RiskPolicy(Strict):
    """Globs, thresholds and levels for the automated risk checks (docs/risk.md).

    Globs match the whole repository-relative path, case-insensitively: ``**`` spans any
    number of directories (none included), ``*`` and ``?`` stay within one path segment.
    """

    sensitive_paths: list[str] = Field(
        default_factory=lambda: list(_default().risk.sensitive_paths)
    )
    policy_paths: list[str] = Field(default_factory=lambda: list(_default().risk.policy_paths))
    ci_paths: list[str] = Field(default_factory=lambda: list(_default().risk.ci_paths))
    test_paths: list[str] = Field(default_factory=lambda: list(_default().risk.test_paths))
    dependency_paths: list[str] = Field(
        default_factory=lambda: list(_default().risk.dependency_paths)
    )
    scope_slack_lines: int = Field(default_factory=lambda: _default().risk.scope_slack_lines, ge=0)
    min_rationale_words: int = Field(
        default_factory=lambda: _default().risk.min_rationale_words, ge=0
    )
    large_diff_lines: int = Field(default_factory=lambda: _default().risk.large_diff_lines, ge=1)
    large_diff_files: int = Field(default_factory=lambda: _default().risk.large_diff_files, ge=1)
    # overrides of the default levels declared with each flag (fixreview.flag_registry)
    levels: dict[FlagId, RiskLevel] = Field(default_factory=lambda: dict(_default().risk.levels))

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


CHECK_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,99}$"
"""A check's name: what ``[checks] required`` lists and ``record-check NAME`` records."""


class ChecksPolicy(Strict):
    """CI's check records (docs/policy.md, ``[checks]``): who may sign them, and which checks
    the gate requires to have passed on a fix's exact head."""

    signers: str = Field(default_factory=lambda: _default().checks.signers)
    required: list[Annotated[str, Field(pattern=CHECK_NAME_PATTERN)]] = Field(
        default_factory=lambda: list(_default().checks.required)
    )


class Policy(Strict):
    """The whole policy file. Every key is optional; absent keys take the strict defaults."""

    base: str = Field(default_factory=lambda: _default().base)
    fix_branches: list[str] = Field(default_factory=lambda: list(_default().fix_branches))
    findings: list[str] = Field(default_factory=lambda: list(_default().findings))
    approvals: ApprovalsPolicy = Field(default_factory=ApprovalsPolicy)
    risk: RiskPolicy = Field(default_factory=RiskPolicy)
    checks: ChecksPolicy = Field(default_factory=ChecksPolicy)


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
        self.branch_refs: BranchRefs | None = None
        """The branch refs read to resolve the base (:func:`load_policy`): listing the fixes
        reuses them instead of asking git again."""


def parse_policy(data: bytes, where: str) -> Policy:
    """Validate policy TOML; InputError names the file and the offending key."""
    raw = load_toml(data, where)
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        raise InputError(f"{where}: {describe_validation(exc)}") from None


def default_policy_text() -> bytes:
    """The bundled default policy file, as packaged (``fixreview/default_policy.toml``)."""
    return files("fixreview").joinpath(DEFAULT_POLICY_FILE).read_bytes()


def _default() -> Policy:
    """The bundled defaults, which every model field falls back to.

    The bundled file is validated by these same models, and sets every key, so that validating
    it never needs a default: were one missing, this is where it would show.
    """
    try:
        return DEFAULT_POLICY
    except NameError:
        raise RuntimeError(f"fixreview/{DEFAULT_POLICY_FILE} does not set every key") from None


DEFAULT_POLICY: Final[Policy] = parse_policy(
    default_policy_text(), f"fixreview/{DEFAULT_POLICY_FILE}"
)
"""Every key at its default: the bundled file, parsed and validated like a repository's."""


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
    loaded.branch_refs = refs
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
