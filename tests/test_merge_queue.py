"""`verify` of a merge queue's commit (GitHub's merge_group, GitLab's merged results): a merge
commit passes as the approved head it merges when its first parent is in the base (or is such
a merge itself) and its tree is exactly the clean merge of the two — and says so. Every way an
attacker could dress unreviewed code as such a merge is refused. Real git, real keys, the
command line as CI runs it."""

from __future__ import annotations

import json
import subprocess

from tests.cliutil import APPROVE
from tests.gitutil import AI, HUMAN, TestRepo
from tests.signing_util import Reviewer
from tests.test_decide_verify import decide, gated, verify  # noqa: F401 (gated: a fixture)


def merge(
    repo: TestRepo, into: str, head: str, name: str, extra: dict[str, str] | None = None
) -> str:
    """A merge commit of HEAD into INTO on branch NAME, as a merge queue makes one; EXTRA:
    files changed in the merge commit itself (what an attacker would slip in)."""
    repo.git("checkout", "-q", "-b", name, into)
    repo.git("merge", "-q", "--no-ff", "--no-edit", head)
    if extra:
        repo.write(extra)
        repo.git("add", "-A")
        repo.git("commit", "-q", "--amend", "--no-edit")
    sha = repo.rev("HEAD")
    repo.git("checkout", "-q", "main")
    return sha


def approved(repo: TestRepo, people: dict[str, Reviewer], branch: str = "ai-fix/sqli") -> None:
    proc = decide(repo, people["aisha"], *APPROVE, branch=branch)
    assert proc.returncode == 0, proc.stderr


def test_the_clean_merge_of_an_approved_head_passes_and_says_so(
    gated: TestRepo,  # noqa: F811 (a fixture)
    people: dict[str, Reviewer],
) -> None:
    approved(gated, people)
    gated.commit("unrelated work on main", {"README.md": "more\n"})
    queued = merge(gated, "main", "ai-fix/sqli", "gh-readonly-queue/main/pr-1")
    proc = verify(gated, queued)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"verified as merge commit {queued[:12]}: the clean merge of this approved head" in (
        proc.stdout
    )
    doc = json.loads(verify(gated, queued, "--json").stdout)
    assert doc["approved"] is True and doc["merge_commit"] == queued
    assert doc["head"] == gated.rev("ai-fix/sqli") and doc["merged_into"] == gated.rev("main")


def test_a_queue_of_two_approved_heads_passes(
    gated: TestRepo,  # noqa: F811 (a fixture)
    people: dict[str, Reviewer],
) -> None:
    approved(gated, people)
    gated.checkout("-b", "ai-fix/xss", "main")
    gated.commit("Escape\n\nFinding-Id: SEC-1", {"app/views.py": "x = 1\n"}, who=AI)
    gated.checkout("main")
    approved(gated, people, "ai-fix/xss")
    first = merge(gated, "main", "ai-fix/sqli", "queue/1")
    second = merge(gated, first, "ai-fix/xss", "queue/2")
    assert verify(gated, second).returncode == 0


def test_what_an_attacker_dresses_as_a_queue_merge_is_refused(
    gated: TestRepo,  # noqa: F811 (a fixture)
    people: dict[str, Reviewer],
) -> None:
    approved(gated, people)
    # an extra change in the merge commit itself
    padded = merge(gated, "main", "ai-fix/sqli", "queue/padded", {"app/evil.py": "boom()\n"})
    proc = verify(gated, padded)
    assert proc.returncode == 1
    assert "its tree is not the clean merge" in proc.stdout
    # merged into an unreviewed commit, not the base
    gated.checkout("-b", "attacker", "main")
    gated.commit("unreviewed", {"app/evil.py": "boom()\n"}, who=HUMAN)
    gated.checkout("main")
    smuggled = merge(gated, "attacker", "ai-fix/sqli", "queue/smuggled")
    proc = verify(gated, smuggled)
    assert proc.returncode == 1
    assert "is neither in main nor an approved merge queue commit" in proc.stdout
    # the head merged is not approved
    gated.checkout("-b", "ai-fix/other", "main")
    gated.commit("Other\n\nFinding-Id: SEC-1", {"app/other.py": "y = 2\n"}, who=AI)
    gated.checkout("main")
    unapproved = merge(gated, "main", "ai-fix/other", "queue/unapproved")
    proc = verify(gated, unapproved)
    assert proc.returncode == 1
    assert "is not approved" in proc.stdout
    # the parents swapped: the approved head first (main moved on, so this is a real merge)
    gated.commit("more work on main", {"README.md": "more\n"})
    swapped = merge(gated, "ai-fix/sqli", "main", "queue/swapped")
    assert len(gated.git("rev-list", "--parents", "-n1", swapped).split()) == 3
    proc = verify(gated, swapped)
    assert proc.returncode == 1
    assert "is already in main" in proc.stdout or "is neither in main" in proc.stdout


def test_a_merge_that_needed_resolving_is_refused(
    gated: TestRepo,  # noqa: F811 (a fixture)
    people: dict[str, Reviewer],
) -> None:
    """Base and head both changed the same lines: whatever the resolution, it is a change no
    one reviewed, so the merge commit does not pass as the approved head."""
    approved(gated, people)
    gated.commit(
        "main edits the same lines",
        {"app/db.py": "def query(sql):  # main\n    return sql.strip()\n"},
    )
    gated.git("checkout", "-q", "-b", "queue/conflict", "main")
    conflicted = subprocess.run(
        ["git", "merge", "--no-ff", "--no-edit", "ai-fix/sqli"], cwd=gated.path, capture_output=True
    )
    assert conflicted.returncode != 0
    gated.write({"app/db.py": "def query(sql, args):\n    return sql, args  # resolved\n"})
    gated.git("add", "-A")
    gated.git("commit", "-q", "--no-edit")
    resolved = gated.rev("HEAD")
    gated.git("checkout", "-q", "main")
    proc = verify(gated, resolved)
    assert proc.returncode == 1
    assert "do not merge cleanly here" in proc.stdout
