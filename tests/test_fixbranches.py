"""The fix branches read without the models (fixreview/fixbranches.py) are exactly those the queue
lists (``list_fix_branches`` under ``load_policy``), on every way a base and its policy can be
set; and where the policy's patterns cannot be known so, nothing is listed."""

from __future__ import annotations

import pytest

from fixreview.errors import InputError
from fixreview.fixbranches import BranchRef, listed_fix_branches
from fixreview.policy import load_policy
from fixreview.queue import list_fix_branches, load_queue
from fixreview.repo.git import Repository
from fixreview.repo.refs import BaseRefError
from tests.gitutil import AI, TestRepo


def branch(repo: TestRepo, name: str, start: str = "main") -> None:
    repo.checkout("-b", name, start)
    path = f"app/{name.replace('/', '_')}.py"
    repo.commit(f"Fix {name}\n\nFinding-Id: SEC-1", {path: "n\n"}, who=AI)
    repo.checkout("main")


def both(repo: TestRepo, base: str | None = None) -> tuple[list[BranchRef], list[BranchRef]]:
    """What the light reader lists, and what the queue lists."""
    git = Repository(repo.path)
    listed = listed_fix_branches(git, base)
    assert listed is not None
    return listed.branches, list_fix_branches(git, load_policy(git, base))


def test_the_default_patterns_without_a_policy_file(repo: TestRepo) -> None:
    for name in ("ai-fix/a", "pixeebot/b", "feature/c", "ai-fixes", "copilot/d"):
        branch(repo, name)
    light, queue = both(repo)
    assert light == queue
    assert [b.name for b in light] == ["ai-fix/a", "copilot/d", "pixeebot/b"]


def test_the_policys_own_patterns_and_a_base_key_that_moves_the_base(repo: TestRepo) -> None:
    repo.commit("policy", {".fixreview.toml": 'base = "trunk"\nfix_branches = ["ai-fix/*"]\n'})
    repo.checkout("-b", "trunk")  # the policy on trunk is the one in force
    repo.commit("trunk policy", {".fixreview.toml": 'fix_branches = ["bot/*", "trunk*"]\n'})
    repo.checkout("main")
    for name in ("ai-fix/a", "bot/b", "bot/c", "feature/x"):
        branch(repo, name)
    light, queue = both(repo)
    assert light == queue
    assert [b.name for b in light] == ["bot/b", "bot/c"]  # not trunk itself, not ai-fix/a
    light, queue = both(repo, "main")  # --base: the base key is not followed
    assert light == queue
    assert [b.name for b in light] == ["ai-fix/a"]


def test_remote_tracking_branches_and_a_local_one_of_the_same_name(repo: TestRepo) -> None:
    for name in ("ai-fix/a", "ai-fix/b"):
        branch(repo, name)
    clone = TestRepo.clone_of(repo.path, repo.path.parent / "clone")
    clone.git("config", "fixreview.base", "origin/main")
    clone.checkout("-b", "ai-fix/a", "origin/ai-fix/a")
    clone.commit("local work", {"app/local.py": "x\n"}, who=AI)
    light, queue = both(clone)
    assert light == queue
    assert [(b.name, b.ref) for b in light] == [
        ("ai-fix/a", "refs/heads/ai-fix/a"),  # the local one wins
        ("ai-fix/b", "refs/remotes/origin/ai-fix/b"),
    ]


def test_the_reviewers_patterns_narrow_and_count_what_they_leave(repo: TestRepo) -> None:
    for name in ("ai-fix/a", "ai-fix/b", "pixeebot/c"):
        branch(repo, name)
    listed = listed_fix_branches(Repository(repo.path), None, ["pixeebot/*", "feature/*"])
    assert listed is not None
    queue = load_queue(Repository(repo.path), only=["pixeebot/*", "feature/*"])
    assert [b.name for b in listed.branches] == [f.branch.name for f in queue.fixes]
    assert listed.hidden == queue.hidden == 2


@pytest.mark.parametrize(
    "policy",
    [
        'fix_branches = "ai-fix/*"\n',  # a string, not a list: the model refuses it
        'fix_branches = ["ai-fix/*", 3]\n',
        "base = 7\n",
    ],
)
def test_patterns_the_model_would_refuse_list_nothing(repo: TestRepo, policy: str) -> None:
    repo.commit("policy", {".fixreview.toml": policy})
    branch(repo, "ai-fix/a")
    assert listed_fix_branches(Repository(repo.path), None) is None


def test_a_policy_that_is_not_toml_or_a_base_that_does_not_resolve_fails_as_the_queue(
    repo: TestRepo,
) -> None:
    branch(repo, "ai-fix/a")
    with pytest.raises(BaseRefError):
        listed_fix_branches(Repository(repo.path), "nowhere")
    repo.commit("policy", {".fixreview.toml": "fix_branches = [\n"})
    with pytest.raises(InputError, match=r"\.fixreview\.toml on main"):
        listed_fix_branches(Repository(repo.path), None)
