"""The reviewed diff is what merging does: a head with several merge-bases is flagged.

The attack: the base merged two incomparable commits, a security fix (A) and a README tweak
(B). The "fix" merges the same two with the tree of B ("ours"), dropping the security fix, and
touches the README. ``git merge-base`` prints one of A and B; from B the diff is a README tweak,
while merging the head into the base reverts the security fix.
"""

from __future__ import annotations

import json
import subprocess
import sys

from fixreview.queue import load_queue
from fixreview.repo.git import Repository
from tests.gitutil import AI, TestRepo, git

VULNERABLE = "def login(user, password):\n    return True\n"
FIXED = "def login(user, password):\n    return check(user, password)\n"


def _criss_cross(repo: TestRepo) -> tuple[str, str, str]:
    """main = merge(A: security fix, B: README tweak); ai-fix/docs = "ours" merge of B and A
    (A's change dropped) plus a README edit. Returns (A, B, head)."""
    repo.commit("auth", {"app/auth.py": VULNERABLE})
    repo.checkout("-b", "security")
    a = repo.commit("Security fix: check the password", {"app/auth.py": FIXED})
    repo.checkout("main")
    b = repo.commit("README tweak", {"README.md": "demo, tweaked\n"})
    git(repo.path, "merge", "-q", "--no-ff", "-m", "Merge security fix", "security")
    # the attacker's branch: starts at B, "merges" A keeping B's tree, then edits the README
    repo.checkout("-b", "ai-fix/docs", b)
    git(repo.path, "merge", "-q", "-s", "ours", "-m", "Merge security", a)
    head = repo.commit(
        "Docs: clarify the README\n\nFinding-Id: SEC-9",
        {"README.md": "demo, tweaked and clarified\n"},
        who=AI,
    )
    repo.checkout("main")
    return a, b, head


def _cli(repo: TestRepo, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fixreview", "--repo", str(repo.path), *argv],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_attack_is_real_merging_reverts_the_security_fix(repo: TestRepo) -> None:
    a, b, head = _criss_cross(repo)
    bases = set(git(repo.path, "merge-base", "--all", "main", head).split())
    assert bases == {a, b}
    merged = repo.path.parent / "merged"
    git(repo.path, "worktree", "add", "-q", "--detach", str(merged), "main")
    git(merged, "merge", "-q", "--no-edit", head)
    assert (merged / "app" / "auth.py").read_text() == VULNERABLE


def test_all_merge_bases_are_recorded_and_the_fix_is_flagged(repo: TestRepo) -> None:
    a, b, _ = _criss_cross(repo)
    fix = load_queue(Repository(repo.path)).get("ai-fix/docs")
    assert sorted(fix.branch.merge_bases) == sorted([a, b])
    assert fix.branch.merge_base in (a, b)
    [problem] = [p for p in fix.problems if "merge-bases" in p]
    assert problem.startswith("HEAD has 2 merge-bases with main (criss-cross history)")
    assert "rebase the fix onto main" in problem


def test_list_and_show_json_carry_the_problem(repo: TestRepo) -> None:
    _criss_cross(repo)
    listed = _cli(repo, "list", "--all", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = [r for r in json.loads(listed.stdout)["fixes"] if r["branch"] == "ai-fix/docs"]
    assert any("criss-cross" in p for p in row["problems"]), row
    shown = _cli(repo, "show", "ai-fix/docs", "--json")
    assert shown.returncode == 0, shown.stderr
    assert "criss-cross" in shown.stdout
    text = _cli(repo, "show", "ai-fix/docs")
    assert "criss-cross" in text.stdout


def test_a_fix_that_merged_the_base_in_has_one_merge_base(repo: TestRepo) -> None:
    start = repo.rev("HEAD")
    repo.checkout("-b", "ai-fix/merged-main")
    repo.commit("Fix\n\nFinding-Id: SEC-1", {"app/db.py": "def query(sql, a):\n    pass\n"}, who=AI)
    repo.checkout("main")
    tip = repo.commit("main moves on", {"README.md": "more\n"})
    repo.checkout("ai-fix/merged-main")
    git(repo.path, "merge", "-q", "--no-edit", "main")
    repo.checkout("main")
    fix = load_queue(Repository(repo.path)).get("ai-fix/merged-main")
    assert fix.branch.merge_bases == [tip] and fix.branch.merge_base == tip
    assert not [p for p in fix.problems if "merge-bases" in p]
    assert start != tip


def test_a_plain_fix_records_its_one_merge_base_without_asking_git(repo: TestRepo) -> None:
    start = repo.rev("HEAD")
    repo.checkout("-b", "ai-fix/plain")
    repo.commit("Fix\n\nFinding-Id: SEC-1", {"app/db.py": "x = 1\n"}, who=AI)
    repo.checkout("main")
    fix = load_queue(Repository(repo.path)).get("ai-fix/plain")
    assert fix.branch.merge_bases == [start] and fix.branch.merge_base == start


def test_unrelated_history_has_no_merge_base(repo: TestRepo) -> None:
    repo.checkout("--orphan", "ai-fix/orphan")
    repo.commit("Unrelated\n\nFinding-Id: SEC-1", {"other.txt": "x\n"}, who=AI)
    repo.checkout("main")
    fix = load_queue(Repository(repo.path)).get("ai-fix/orphan")
    assert fix.branch.merge_bases == [] and fix.branch.merge_base is None


def test_merge_bases_round_trip_in_the_model() -> None:
    from fixreview.models import FixBranch

    oid = "1" * 40
    branch = FixBranch(
        name="x", ref="refs/heads/x", base="main", base_commit=oid, merge_base=oid, head=oid
    )
    assert branch.merge_bases == []
    assert FixBranch.model_validate(branch.model_dump()).merge_bases == []
