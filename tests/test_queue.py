"""Queue discovery on real repositories: patterns, trailers, proposals, merge-bases, sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixreview.errors import NotFoundError
from fixreview.models import Finding, Location
from fixreview.proposals import propose
from fixreview.queue import load_one, load_queue
from fixreview.repo.git import Repository
from tests.gitutil import AI, HUMAN, TestRepo


def _branch(
    repo: TestRepo,
    name: str,
    files: dict[str, str | bytes | None],
    message: str,
    start: str = "main",
) -> str:
    repo.checkout("-b", name, start)
    head = repo.commit(message, files, who=AI)
    repo.checkout("main")
    return head


FINDING = Finding(
    id="SEC-1",
    title="SQL injection",
    severity="high",
    locations=[Location(path="app/db.py", start_line=1, end_line=2)],
)


def test_default_patterns_find_producers_branches_and_skip_others(repo: TestRepo) -> None:
    for name in (
        "ai-fix/a",
        "ai-fix/deep/b",
        "alert-autofix-12",
        "snyk-fix-1a2b",
        "snyk-upgrade-xyz",
        "pixeebot/drip/x",
        "copilot/fix-1",
        "feature/x",
        "fix-ai/x",
    ):
        _branch(repo, name, {f"{name.replace('/', '_')}.txt": "x\n"}, f"change {name}")
    names = [f.branch.name for f in load_queue(Repository(repo.path)).fixes]
    assert names == sorted(
        [
            "ai-fix/a",
            "ai-fix/deep/b",
            "alert-autofix-12",
            "snyk-fix-1a2b",
            "snyk-upgrade-xyz",
            "pixeebot/drip/x",
            "copilot/fix-1",
        ]
    )


def test_policy_patterns_come_from_the_base_branch(repo: TestRepo) -> None:
    repo.commit("policy", {".fixreview.toml": 'fix_branches = ["bot/*"]\n'})
    _branch(repo, "bot/one", {"x.txt": "1\n"}, "one")
    _branch(repo, "ai-fix/two", {"y.txt": "1\n"}, "two")
    # a fix branch that rewrites the policy does not change what is read
    repo.checkout("-b", "bot/loosen")
    repo.commit("loosen", {".fixreview.toml": 'fix_branches = ["*"]\n'}, who=AI)
    repo.checkout("main")
    # nor does the working tree
    (repo.path / ".fixreview.toml").write_text('fix_branches = ["ai-fix/*"]\n')
    names = [f.branch.name for f in load_queue(Repository(repo.path)).fixes]
    assert names == ["bot/loosen", "bot/one"]


def test_merge_base_and_stats_when_main_moved_on(repo: TestRepo) -> None:
    fork = repo.rev("HEAD")
    head = _branch(
        repo,
        "ai-fix/sqli",
        {
            "app/db.py": "def query(sql, args):\n    return sql, args\n",
            "tests/test_db.py": "def test():\n    pass\n",
        },
        "fix",
    )
    repo.commit("main moves on", {"README.md": "demo\nmore\nlines\n"})
    queue = load_queue(Repository(repo.path))
    fix = queue.get("ai-fix/sqli")
    assert fix.branch.merge_base == fork
    assert fix.branch.head == head
    assert fix.branch.base_commit == repo.rev("main")
    assert (fix.stats.files, fix.stats.added, fix.stats.removed) == (2, 4, 2)


def test_branch_that_merged_main_in_still_gets_its_merge_base(repo: TestRepo) -> None:
    repo.checkout("-b", "ai-fix/m")
    repo.commit("fix", {"a.txt": "a\n"}, who=AI)
    repo.checkout("main")
    main_tip = repo.commit("main", {"b.txt": "b\n"})
    repo.checkout("ai-fix/m")
    repo.git("merge", "-q", "--no-edit", "main")
    repo.checkout("main")
    fix = load_queue(Repository(repo.path)).get("ai-fix/m")
    assert fix.branch.merge_base == main_tip
    assert (fix.stats.files, fix.stats.added) == (1, 1)


def test_trailers_link_a_finding_from_the_policy_sources(repo: TestRepo) -> None:
    repo.commit(
        "findings",
        {
            ".fixreview.toml": 'findings = ["security/findings.toml"]\n',
            "security/findings.toml": (
                '[[findings]]\nid = "SEC-7"\ntitle = "Open redirect"\nseverity = "medium"\n'
                '[[findings.locations]]\npath = "app/login.py"\nstart_line = 3\n'
            ),
        },
    )
    _branch(
        repo,
        "ai-fix/redirect",
        {"app/login.py": "safe\n"},
        "Validate the next parameter\n\nOnly relative paths are followed now.\n\n"
        "Finding-Id: SEC-7\nAssisted-by: Claude:claude-sonnet-4-5 [semgrep]",
    )
    _branch(repo, "ai-fix/unknown", {"x.py": "1\n"}, "Fix\n\nFinding-Id: SEC-404")
    _branch(repo, "copilot/tidy", {"y.py": "1\n"}, "Tidy logging")
    queue = load_queue(Repository(repo.path))
    linked = queue.get("ai-fix/redirect")
    assert linked.source == "trailers"
    assert linked.finding is not None and linked.finding.title == "Open redirect"
    assert linked.suggestion is not None
    assert (linked.suggestion.tool, linked.suggestion.model) == ("Claude", "claude-sonnet-4-5")
    assert linked.suggestion.rationale == "Only relative paths are followed now."
    unknown = queue.get("ai-fix/unknown")
    assert unknown.finding is None and unknown.source == "trailers"
    assert "SEC-404 not found" in unknown.problems[0]
    bare = queue.get("copilot/tidy")
    assert (bare.source, bare.finding, bare.suggestion) == ("none", None, None)
    assert "no linked finding" in bare.problems[0]


def test_proposal_note_links_finding_and_survives_a_rebase(repo: TestRepo) -> None:
    head = _branch(
        repo,
        "ai-fix/sqli",
        {"app/db.py": "def query(sql, args):\n    return sql, args\n"},
        "Parameterize\n\nUse bound parameters.\n\nAssisted-by: SecFix:gpt-5",
    )
    r = Repository(repo.path)
    proposal = propose(r, "ai-fix/sqli", FINDING)
    assert proposal.suggestion.commit == head
    assert (proposal.suggestion.tool, proposal.suggestion.model) == ("SecFix", "gpt-5")
    assert "+def query(sql, args):" in proposal.suggestion.patch
    fix = load_queue(r).get("ai-fix/sqli")
    assert fix.source == "note" and fix.finding == FINDING and fix.proposal_id == proposal.id
    # rebase onto a moved main: the suggestion commit leaves the branch, the proposal stays
    repo.commit("main moves", {"README.md": "moved\n"})
    repo.checkout("ai-fix/sqli")
    repo.git("rebase", "-q", "main")
    repo.checkout("main")
    fix = load_queue(r).get("ai-fix/sqli")
    assert fix.branch.head != head
    assert fix.source == "note" and fix.suggestion is not None and fix.suggestion.commit == head


def test_of_two_proposals_recorded_in_the_same_second_the_later_one_counts(
    repo: TestRepo,
) -> None:
    """Proposals are recorded to the second: a person's second proposal, made within the same
    second as the first (a forced one, corrected), is the newer, on the branch's commit and,
    after a rebase, by the branch's name."""
    from datetime import UTC, datetime

    head = _branch(repo, "ai-fix/sqli", {"app/db.py": "x = 1\n"}, "Parameterize")
    r = Repository(repo.path)
    second = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
    first = propose(r, "ai-fix/sqli", FINDING, rationale="first", now=second)
    later = propose(r, "ai-fix/sqli", FINDING, rationale="later", now=second)
    assert first.recorded == later.recorded and first.id != later.id
    assert load_queue(r).get("ai-fix/sqli").proposal_id == later.id
    assert load_one(r, "ai-fix/sqli").fixes[0].proposal_id == later.id
    repo.commit("main moves", {"README.md": "moved\n"})
    repo.checkout("ai-fix/sqli")
    repo.git("rebase", "-q", "main")
    repo.checkout("main")
    fix = load_queue(r).get("ai-fix/sqli")
    assert fix.branch.head != head and fix.proposal_id == later.id


def test_unknown_branch_is_a_negative_answer(repo: TestRepo) -> None:
    _branch(repo, "ai-fix/sqli", {"x": "1\n"}, "x")
    with pytest.raises(NotFoundError, match="did you mean ai-fix/sqli"):
        load_queue(Repository(repo.path)).get("sqli")


def test_remote_tracking_fix_branches_are_found(tmp_path: Path, repo: TestRepo) -> None:
    _branch(repo, "ai-fix/remote-only", {"r.txt": "r\n"}, "remote fix")
    clone = tmp_path / "clone"
    repo.git("clone", "-q", str(repo.path), str(clone))
    fixes = load_queue(Repository(clone)).fixes
    assert [(f.branch.name, f.branch.ref) for f in fixes] == [
        ("ai-fix/remote-only", "refs/remotes/origin/ai-fix/remote-only")
    ]
    assert fixes[0].stats.files == 1


def test_remote_name_picks_the_remote_branch_beside_a_local_one(
    tmp_path: Path, repo: TestRepo
) -> None:
    """`show origin/X` in a clone where a local X moved on: the remote's head, not "no fix
    branch named" (the local one hid it)."""
    _branch(repo, "ai-fix/both", {"r.txt": "r\n"}, "remote fix")
    clone = TestRepo.clone_of(repo.path, tmp_path / "clone")
    remote_head = clone.git("rev-parse", "origin/ai-fix/both").strip()
    clone.git("config", "fixreview.base", "main")
    clone.checkout("-b", "ai-fix/both", "origin/ai-fix/both")
    local_head = clone.commit("local follow-up", {"r.txt": "local\n"}, who=HUMAN)
    clone.checkout("main")
    r = Repository(clone.path)
    assert load_one(r, "origin/ai-fix/both").fixes[0].branch.head == remote_head
    assert load_one(r, "ai-fix/both").fixes[0].branch.head == local_head
    assert load_one(r, "refs/heads/ai-fix/both").fixes[0].branch.head == local_head
    # the queue lists the name once, the local branch
    assert [f.branch.head for f in load_queue(r).fixes] == [local_head]
    with pytest.raises(NotFoundError, match="did you mean ai-fix/both\\?"):
        load_one(r, "both")


def _git_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The arguments of every git process the repository code runs from now on."""
    calls: list[tuple[str, ...]] = []
    original = Repository._run

    def counting(self: Repository, args, input, env):  # type: ignore[no-untyped-def]
        calls.append(tuple(args))
        return original(self, args, input, env)

    monkeypatch.setattr(Repository, "_run", counting)
    return calls


def test_whole_queue_costs_a_fixed_number_of_git_processes(
    repo: TestRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = Repository(repo.path)
    for i in range(12):
        _branch(repo, f"ai-fix/n{i}", {f"f{i}.txt": "x\n"}, f"fix {i}\n\nFinding-Id: SEC-{i}")
        if i % 2:
            # the branch claims SEC-i, the proposal SEC-1: forced (this test counts processes)
            propose(r, f"ai-fix/n{i}", FINDING, force=True)
    calls = _git_calls(monkeypatch)
    queue = load_queue(r)
    assert len(queue.fixes) == 12
    assert len(calls) <= 12, calls
    cat_files = [c for c in calls if "cat-file" in c]
    assert len(cat_files) <= 4
    # the branch refs are listed once: the base's resolution and the fixes share the listing
    assert sum(1 for c in calls if "for-each-ref" in c) == 1, calls


def test_trailer_suggestion_is_the_oldest_commit_claiming_the_finding(repo: TestRepo) -> None:
    repo.checkout("-b", "ai-fix/two-step")
    ai = repo.commit(
        "AI fix\n\nWhy it works.\n\nFinding-Id: SEC-3\nAssisted-by: Bot:m1", {"a": "1\n"}, who=AI
    )
    repo.commit("Human follow-up\n\nFinding-Id: SEC-3", {"a": "2\n"}, who=HUMAN)
    repo.checkout("main")
    fix = load_queue(Repository(repo.path)).get("ai-fix/two-step")
    assert fix.suggestion is not None and fix.suggestion.commit == ai
    assert fix.suggestion.rationale == "Why it works." and fix.finding_id == "SEC-3"


def test_the_fix_at_a_head_is_found_in_the_one_listing_of_branch_refs(
    repo: TestRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``verify`` names the fix branch at the head it checks from the refs listed to resolve
    the base (no second, slower ``for-each-ref --points-at``), local before remote, and a head
    no fix branch points at is still judged, unnamed."""
    from fixreview.policy import load_policy
    from fixreview.queue import fix_at

    _branch(repo, "ai-fix/one", {"one.txt": "1\n"}, "fix one")
    _branch(repo, "ai-fix/also-one", {"one.txt": "1\n"}, "fix one")
    head = repo.rev("ai-fix/one")
    repo.git("branch", "-f", "ai-fix/also-one", head)  # two fix branches at one head
    repo.git("branch", "not-a-fix", head)
    r = Repository(repo.path)
    calls = _git_calls(monkeypatch)
    loaded = load_policy(r)
    fix, _ = fix_at(r, loaded, head)
    assert fix.branch.name == "ai-fix/also-one"  # the first fix branch at HEAD, by name
    assert sum(1 for c in calls if "for-each-ref" in c) == 1, calls
    lone = repo.commit("not on any branch", {"lone.txt": "x\n"})
    repo.git("reset", "-q", "--hard", "HEAD~1")
    fix, _ = fix_at(r, load_policy(r), lone)
    assert fix.branch.head == lone and not fix.branch.ref
