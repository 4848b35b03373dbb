"""What a risk check reports: a flag with a stable id, a level, a title, a detail and evidence.

The ids are stable (docs/risk.md lists them); the levels come from the policy
(``[risk.levels]``), their defaults from :data:`fixreview.policy.DEFAULT_RISK_LEVELS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from fixreview.policy import RiskLevel

Level = RiskLevel
BLOCKING: Final = "block"
LEVEL_ORDER: dict[str, int] = {"block": 0, "warn": 1, "info": 2}

SENSITIVE_PATH: Final = "sensitive-path"
POLICY_CHANGE: Final = "policy-change"
OUT_OF_SCOPE: Final = "out-of-scope"
DEPENDENCY_CHANGE: Final = "dependency-change"
CI_CONFIG_CHANGE: Final = "ci-config-change"
SECRET_ADDED: Final = "secret-added"
HIDDEN_UNICODE: Final = "hidden-unicode"
BINARY_FILE: Final = "binary-file"
NO_TEST_CHANGE: Final = "no-test-change"
THIN_RATIONALE: Final = "thin-rationale"
DIVERGES_FROM_SUGGESTION: Final = "diverges-from-suggestion"
LARGE_DIFF: Final = "large-diff"
MERGE_COMMIT: Final = "merge-commit"

FLAG_IDS: tuple[str, ...] = (
    SENSITIVE_PATH,
    POLICY_CHANGE,
    OUT_OF_SCOPE,
    DEPENDENCY_CHANGE,
    CI_CONFIG_CHANGE,
    SECRET_ADDED,
    HIDDEN_UNICODE,
    BINARY_FILE,
    NO_TEST_CHANGE,
    THIN_RATIONALE,
    DIVERGES_FROM_SUGGESTION,
    LARGE_DIFF,
    MERGE_COMMIT,
)


def known_flag_ids() -> tuple[str, ...]:
    """Every stable risk flag id, in documentation order."""
    return FLAG_IDS


@dataclass(frozen=True)
class Evidence:
    """One place a flag points at. LINE is in the new file (the old one for removed lines)."""

    path: str | None
    line: int | None
    excerpt: str


@dataclass(frozen=True)
class RiskFlag:
    """One risk check's finding about a fix: at most one per id, with every place as evidence."""

    id: str
    level: Level
    title: str
    detail: str
    evidence: tuple[Evidence, ...]

    @property
    def blocking(self) -> bool:
        return self.level == BLOCKING


def sort_key(flag: RiskFlag) -> tuple[int, str]:
    """Block, then warn, then info; by id within a level."""
    return LEVEL_ORDER[flag.level], flag.id


def flag_json(flag: RiskFlag) -> dict[str, Any]:
    """The flag as plain JSON data (what ``show --json`` prints)."""
    return {
        "id": flag.id,
        "level": flag.level,
        "title": flag.title,
        "detail": flag.detail,
        "evidence": [
            {"path": item.path, "line": item.line, "excerpt": item.excerpt}
            for item in flag.evidence
        ],
    }
