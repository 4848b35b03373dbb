"""What a risk check reports: a flag with a stable id, a level, a title, a detail and evidence.

The flags themselves (id, default level, title, whether they make a fix sensitive) are declared
once, in :mod:`fixreview.flag_registry`; this module re-exports what callers of the risk checks
need from there. The levels in force come from the policy (``[risk.levels]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fixreview.flag_registry import BLOCKING, FLAG_IDS, LEVEL_ORDER, FlagId, RiskLevel, flag_spec

__all__ = [
    "BLOCKING",
    "FLAG_IDS",
    "LEVEL_ORDER",
    "Evidence",
    "FlagId",
    "Level",
    "RiskFlag",
    "flag_json",
    "known_flag_ids",
    "sort_key",
]

Level = RiskLevel


def known_flag_ids() -> tuple[FlagId, ...]:
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

    id: FlagId
    level: Level
    title: str
    detail: str
    evidence: tuple[Evidence, ...]

    @property
    def blocking(self) -> bool:
        return self.level == BLOCKING

    @property
    def sensitive(self) -> bool:
        """Whether the flag makes the fix need ``approvals.sensitive`` approvals (declared with
        the flag: ``sensitive-path`` and ``policy-change``)."""
        return flag_spec(self.id).sensitive


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
