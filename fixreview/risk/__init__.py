"""Automated risk checks on a fix branch: flags with stable ids, levels and evidence.

``assess`` is pure (diffs, policy and facts read from the trees in, flags out); ``assess_fix``
computes the three diffs of a fix with :mod:`fixreview.changes` and reads the trees
(:func:`fixreview.risk.tree.tree_facts`) first. The flag ids, their default levels and the policy
keys are described in docs/risk.md.

Each flag is declared once, in :mod:`fixreview.flag_registry`, a leaf module outside this
package: the policy validates ``[risk.levels]`` against it, and importing anything under
``fixreview.risk`` runs this module, which imports the checks and so the policy. Keeping the
declarations out of here keeps the imports one-way (registry, policy, risk, gate).
"""

from __future__ import annotations

from fixreview.changes import final_diff, human_changes, suggestion_diff
from fixreview.models import Fix
from fixreview.policy import Policy
from fixreview.repo.diffs import Diff
from fixreview.repo.git import Repository
from fixreview.risk.checks import assess
from fixreview.risk.flags import (
    BLOCKING,
    FLAG_IDS,
    Evidence,
    FlagId,
    Level,
    RiskFlag,
    flag_json,
    known_flag_ids,
)
from fixreview.risk.tree import TreeFacts, tree_facts

__all__ = [
    "BLOCKING",
    "FLAG_IDS",
    "Evidence",
    "FlagId",
    "Level",
    "RiskFlag",
    "TreeFacts",
    "assess",
    "assess_fix",
    "flag_json",
    "known_flag_ids",
    "tree_facts",
]


def assess_fix(
    repo: Repository,
    fix: Fix,
    policy: Policy,
    diffs: tuple[Diff, Diff | None, Diff | None] | None = None,
) -> list[RiskFlag]:
    """The risk flags of FIX: its trees read, then assessed. DIFFS, the final, suggestion and
    human diffs when the caller has them already, are not computed again."""
    final, suggestion, human = diffs or (
        final_diff(repo, fix),
        suggestion_diff(repo, fix),
        human_changes(repo, fix).diff,
    )
    risk = policy.risk
    facts = tree_facts(repo, fix, final, risk.ci_paths, risk.dependency_paths)
    return assess(fix, final, suggestion, human, policy, facts)
