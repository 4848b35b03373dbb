"""Everything the review screen shows for one fix, computed in one call (off the UI thread)."""

from __future__ import annotations

from dataclasses import dataclass

from fixreview.changes import HumanChanges, final_diff, human_changes, suggestion_diff
from fixreview.models import Fix
from fixreview.policy import Policy
from fixreview.repo.diffs import Diff
from fixreview.repo.git import Repository
from fixreview.risk import RiskFlag, assess


@dataclass(frozen=True)
class ReviewData:
    fix: Fix
    final: Diff
    suggestion: Diff | None
    human: HumanChanges
    flags: list[RiskFlag]

    @property
    def blocking(self) -> list[str]:
        return [flag.id for flag in self.flags if flag.level == "block"]


def load_review(repo: Repository, fix: Fix, policy: Policy) -> ReviewData:
    final = final_diff(repo, fix)
    suggestion = suggestion_diff(repo, fix)
    human = human_changes(repo, fix)
    return ReviewData(
        fix, final, suggestion, human, assess(fix, final, suggestion, human.diff, policy)
    )
