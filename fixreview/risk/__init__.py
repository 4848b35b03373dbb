"""Automated risk checks on a fix branch: flags with stable ids, levels and evidence.

``assess`` is pure (diffs and policy in, flags out); ``assess_fix`` computes the three diffs
of a fix with :mod:`fixreview.changes` first. The flag ids, their default levels and the policy
keys are described in docs/risk.md.
"""

from __future__ import annotations

from fixreview.changes import final_diff, human_changes, suggestion_diff
from fixreview.models import Fix
from fixreview.policy import Policy
from fixreview.repo.git import Repository
from fixreview.risk.checks import assess
from fixreview.risk.flags import (
    BLOCKING,
    FLAG_IDS,
    Evidence,
    Level,
    RiskFlag,
    flag_json,
    known_flag_ids,
)

__all__ = [
    "BLOCKING",
    "FLAG_IDS",
    "Evidence",
    "Level",
    "RiskFlag",
    "assess",
    "assess_fix",
    "flag_json",
    "known_flag_ids",
]


def assess_fix(repo: Repository, fix: Fix, policy: Policy) -> list[RiskFlag]:
    """The risk flags of FIX: its final, suggested and human diffs computed, then assessed."""
    return assess(
        fix,
        final_diff(repo, fix),
        suggestion_diff(repo, fix),
        human_changes(repo, fix).diff,
        policy,
    )
