"""Sharing notes with `sync` (nothing lost, nothing duplicated) and reading them with `log`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fixreview.notes.store import CHECKS_REF, DECISIONS_REF, PROPOSALS_REF
from tests.gitutil import TestRepo, git
from tests.signing_util import Reviewer, allow, make_reviewer
from tests.test_decide_verify import APPROVE, decide, fixreview, verify

FINDING = 'id = "SEC-1"\ntitle = "SQL injection"\nseverity = "high"\n'


def _clone(remote: Path, dest: Path) -> TestRepo:
    repo = TestRepo.clone_of(remote, dest)
    git(dest, "branch", "-q", "--track", "ai-fix/sqli", "origin/ai-fix/sqli")
    return repo


def test_two_clones_sync_every_record_without_loss(repo: TestRepo, tmp_path: Path) -> None:
    aisha = make_reviewer(tmp_path / "k", "Aisha Okafor", "aisha@example.com")
    tomas = make_reviewer(tmp_path / "k", "Tomás Herrera", "tomas@example.com")
    repo.commit("policy", {".fixreview.toml": "[approvals]\nrequired = 2\n"})
    allow(repo, aisha, tomas)
    repo.checkout("-b", "ai-fix/sqli")
    repo.commit(
        "fix\n\nFinding-Id: SEC-1",
        {"app/db.py": "safe = True\n", "tests/test_db.py": "def test(): pass\n"},
        who=("bot[bot]", "bot[bot]@example.com"),
    )
    repo.checkout("main")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(remote))
    one = _clone(remote, tmp_path / "one")
    two = _clone(remote, tmp_path / "two")
    (tmp_path / "f.toml").write_text(FINDING)
    assert (
        fixreview(one, "propose", "ai-fix/sqli", "--finding", str(tmp_path / "f.toml")).returncode
        == 0
    )
    assert decide(one, aisha, *APPROVE).returncode == 0
    assert decide(two, tomas, *APPROVE).returncode == 0
    assert decide(two, tomas, "--request-changes", "--comment", "wait").returncode == 0
    assert decide(two, tomas, *APPROVE).returncode == 0
    reports = []
    for clone in (one, two, one):
        proc = fixreview(clone, "sync")
        assert proc.returncode == 0, proc.stderr
        reports.append(proc.stdout.splitlines())
    # what each sync did, said truly: one's records are ahead of the remote and pushed; two's
    # are merged with them; one then takes the merge
    assert reports == [
        [
            f"{PROPOSALS_REF}: nothing on the remote yet: records to push",
            f"{DECISIONS_REF}: nothing on the remote yet: records to push",
            f"{CHECKS_REF}: nothing on the remote",
            "pushed to origin",
        ],
        [
            f"{PROPOSALS_REF}: taken from the remote",
            f"{DECISIONS_REF}: merged",
            f"{CHECKS_REF}: nothing on the remote",
            "pushed to origin",
        ],
        [
            f"{PROPOSALS_REF}: up to date",
            f"{DECISIONS_REF}: fast-forwarded",
            f"{CHECKS_REF}: nothing on the remote",
            "pushed to origin",
        ],
    ]
    head = one.rev("ai-fix/sqli")
    for clone in (one, two):
        lines = clone.git("notes", f"--ref={DECISIONS_REF}", "show", head).splitlines()
        assert len(lines) == 4 and len(set(lines)) == 4
        assert len(clone.git("notes", f"--ref={PROPOSALS_REF}", "list").splitlines()) == 1
        proc = verify(clone)
        assert proc.returncode == 0, proc.stdout
        assert "APPROVED: 2 of 2" in proc.stdout
    remote_lines = git(remote, "notes", f"--ref={DECISIONS_REF}", "show", head).splitlines()
    assert len(remote_lines) == 4
    assert git(one.path, "for-each-ref", "--format=%(refname)", "refs/notes/remotes/").split() == [
        "refs/notes/remotes/origin/fixreview/decisions",
        "refs/notes/remotes/origin/fixreview/proposals",
    ]
    # syncing again changes nothing
    before = one.rev(DECISIONS_REF)
    assert fixreview(one, "sync").returncode == 0
    assert one.rev(DECISIONS_REF) == before


def test_sync_unknown_remote(repo: TestRepo) -> None:
    proc = fixreview(repo, "sync", "nowhere")
    assert proc.returncode == 2 and "no remote named 'nowhere'" in proc.stderr


def test_log_answers_what_why_who_and_which_finding(repo: TestRepo, tmp_path: Path) -> None:
    aisha: Reviewer = make_reviewer(tmp_path / "k", "Aisha Okafor", "aisha@example.com")
    allow(repo, aisha)
    repo.checkout("-b", "ai-fix/sqli")
    repo.commit(
        "Parameterize\n\nBound parameters keep input out of SQL.",
        {"app/db.py": "def query(sql, args):\n    return sql, args\n", "tests/t.py": "x = 1\n"},
        who=("bot[bot]", "bot[bot]@example.com"),
    )
    repo.checkout("main")
    (tmp_path / "f.toml").write_text(FINDING)
    assert (
        fixreview(repo, "propose", "ai-fix/sqli", "--finding", str(tmp_path / "f.toml")).returncode
        == 0
    )
    assert decide(repo, aisha, *APPROVE, "--comment", "ship it").returncode == 0
    for target in ("ai-fix/sqli", "SEC-1"):
        proc = fixreview(repo, "log", target)
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout
        assert "finding    SEC-1 (high) SQL injection" in out
        assert "rationale  Bound parameters keep input out of SQL." in out
        assert "changed    2 files, +3 -2" in out
        assert "approve by Aisha Okafor <aisha@example.com>" in out and ": counts" in out
        assert "comment: ship it" in out
        assert "gate       APPROVED" in out
    doc = json.loads(fixreview(repo, "log", "SEC-1", "--json").stdout)
    [entry] = doc["entries"]
    assert entry["approved"] is True and entry["decisions"][0]["counted"] is True
    assert entry["finding"]["id"] == "SEC-1"
    proc = fixreview(repo, "log", "SEC-404")
    assert proc.returncode == 1 and "no fix branch and no finding named 'SEC-404'" in proc.stderr


def test_log_without_any_decisions(repo: TestRepo) -> None:
    repo.checkout("-b", "ai-fix/x")
    repo.commit("x", {"x": "1\n"})
    repo.checkout("main")
    proc = subprocess.run(
        [sys.executable, "-m", "fixreview", "--repo", str(repo.path), "log"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and "decisions  none" in proc.stdout
