"""The risk flags, each declared once: its stable id, default level, title, and gate weight.

This module is the one place a risk flag exists. Everything else reads it:

- :mod:`fixreview.policy` accepts exactly these ids in ``[risk.levels]`` and falls back to the
  default levels declared here;
- :mod:`fixreview.risk.checks` binds each id to the one check that raises it (its ``CHECKS``
  table, which a test proves covers every id here exactly once) and takes each flag's title
  from here;
- :mod:`fixreview.gate` asks for ``approvals.sensitive`` approvals when a raised flag is
  declared ``sensitive`` here (through :attr:`fixreview.risk.flags.RiskFlag.sensitive`).

Why a leaf module at the top of the package, not inside :mod:`fixreview.risk`: the policy
must know the ids and default levels to validate a policy file, and the risk checks read the
policy. ``fixreview.risk`` imports the policy, and importing anything under ``fixreview.risk``
runs ``fixreview/risk/__init__.py``, which imports the checks (and so the policy): the policy
importing ``fixreview.risk.anything`` would be an import cycle. So the declarations sit below
both, importing nothing of fixreview: ``registry <- policy <- risk.* <- gate``. The checks
themselves stay in :mod:`fixreview.risk.checks`, bound by one table rather than named here, so
that this module stays a leaf.

Ids are a stable public format (JSON, decision notes, policy files, ``--ack``): :class:`FlagId`
is a :class:`~enum.StrEnum`, so a member is the very string (``FlagId.LARGE_DIFF ==
"large-diff"``, ``str()``, f-strings, ``json.dumps`` and TOML all give ``large-diff``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal

RiskLevel = Literal["block", "warn", "info"]
BLOCKING: Final = "block"
LEVEL_ORDER: Mapping[str, int] = MappingProxyType({"block": 0, "warn": 1, "info": 2})


class FlagId(StrEnum):
    """The stable id of every risk flag (docs/risk.md)."""

    SENSITIVE_PATH = "sensitive-path"
    POLICY_CHANGE = "policy-change"
    CI_CONFIG_CHANGE = "ci-config-change"
    SECRET_ADDED = "secret-added"
    HIDDEN_UNICODE = "hidden-unicode"
    NO_LINKED_FINDING = "no-linked-finding"
    SUGGESTION_MISMATCH = "suggestion-mismatch"
    OUT_OF_SCOPE = "out-of-scope"
    DEPENDENCY_CHANGE = "dependency-change"
    BINARY_FILE = "binary-file"
    NO_TEST_CHANGE = "no-test-change"
    CHECKS_NOT_PASSED = "checks-not-passed"
    THIN_RATIONALE = "thin-rationale"
    LARGE_DIFF = "large-diff"
    MERGE_COMMIT = "merge-commit"
    DIVERGES_FROM_SUGGESTION = "diverges-from-suggestion"


@dataclass(frozen=True)
class FlagSpec:
    """One flag's declaration.

    ``level`` is its default level (``[risk.levels]`` overrides it); ``title`` its one-line
    title, and ``cases`` the titles of particular cases by name (``thin-rationale`` has no
    rationale at all, or an empty one); ``sensitive`` whether raising it makes a fix need
    ``approvals.sensitive`` approvals instead of ``approvals.required``.
    """

    id: FlagId
    level: RiskLevel
    title: str
    sensitive: bool = False
    cases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def title_for(self, case: str | None = None) -> str:
        """The title, or the title of CASE (a KeyError names an undeclared case)."""
        if case is None:
            return self.title
        if case not in self.cases:
            raise KeyError(f"{self.id}: no title declared for the case {case!r}")
        return self.cases[case]


# In documentation order (docs/risk.md, Flags): block first, then warn, then info.
FLAGS: Final[tuple[FlagSpec, ...]] = (
    FlagSpec(FlagId.SENSITIVE_PATH, "block", "Touches security-sensitive paths", sensitive=True),
    FlagSpec(FlagId.POLICY_CHANGE, "block", "Changes the review rules", sensitive=True),
    FlagSpec(FlagId.CI_CONFIG_CHANGE, "block", "Changes CI/CD configuration"),
    FlagSpec(
        FlagId.SECRET_ADDED,
        "block",
        "Adds what looks like a secret",
        cases=MappingProxyType({"unscanned": "Adds lines too long to scan for secrets"}),
    ),
    FlagSpec(FlagId.HIDDEN_UNICODE, "block", "Adds hidden or bidirectional Unicode"),
    FlagSpec(
        FlagId.NO_LINKED_FINDING,
        "block",
        "No finding is linked",
        cases=MappingProxyType({"not-found": "The claimed finding was not found"}),
    ),
    FlagSpec(
        FlagId.SUGGESTION_MISMATCH,
        "block",
        "The proposal does not match the branch",
        cases=MappingProxyType(
            {
                "finding": "The proposal names another finding than the branch's commits",
                "content": "The producer's change is in no commit of the branch (forced)",
            }
        ),
    ),
    FlagSpec(FlagId.OUT_OF_SCOPE, "warn", "Changes code outside the finding's locations"),
    FlagSpec(FlagId.DEPENDENCY_CHANGE, "warn", "Changes dependencies"),
    FlagSpec(FlagId.BINARY_FILE, "warn", "Adds or changes binary files"),
    FlagSpec(FlagId.NO_TEST_CHANGE, "warn", "No test touched"),
    FlagSpec(FlagId.CHECKS_NOT_PASSED, "warn", "A required CI check has not passed on this head"),
    FlagSpec(
        FlagId.THIN_RATIONALE,
        "warn",
        "Missing or thin AI rationale",
        cases=MappingProxyType({"none": "No AI rationale", "empty": "Empty AI rationale"}),
    ),
    FlagSpec(FlagId.LARGE_DIFF, "warn", "Large diff"),
    FlagSpec(FlagId.MERGE_COMMIT, "warn", "The fix contains merge commits"),
    FlagSpec(
        FlagId.DIVERGES_FROM_SUGGESTION,
        "info",
        "People changed the AI's suggestion",
        cases=MappingProxyType({"not-replayed": "Final diff differs from the AI's suggestion"}),
    ),
)

REGISTRY: Final[Mapping[FlagId, FlagSpec]] = MappingProxyType({spec.id: spec for spec in FLAGS})
if len(REGISTRY) != len(FLAGS) or set(REGISTRY) != set(FlagId):  # pragma: no cover
    raise RuntimeError("every FlagId must be declared exactly once in FLAGS")

FLAG_IDS: Final[tuple[FlagId, ...]] = tuple(spec.id for spec in FLAGS)
DEFAULT_RISK_LEVELS: Final[Mapping[FlagId, RiskLevel]] = MappingProxyType(
    {spec.id: spec.level for spec in FLAGS}
)
SENSITIVE_FLAG_IDS: Final[frozenset[FlagId]] = frozenset(
    spec.id for spec in FLAGS if spec.sensitive
)


def flag_spec(flag_id: str) -> FlagSpec:
    """The declaration of FLAG_ID (a FlagId or its string); KeyError when none is declared."""
    try:
        return REGISTRY[FlagId(flag_id)]
    except ValueError:
        raise KeyError(f"undeclared risk flag id {flag_id!r}") from None
