"""The sample repositories: real history built from data, covering every promised scenario."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fixreview.changes import final_diff, human_changes
from fixreview.demo.builder import build_demo, sample_repos_dir
from fixreview.errors import FixreviewError
from fixreview.queue import load_queue
from fixreview.repo.git import Repository

ROOT = Path(__file__).resolve().parents[1]


def test_sample_data_holds_no_nested_git_repositories() -> None:
    data = sample_repos_dir()
    assert data == ROOT / "sample_repos"
    assert not [p for p in data.rglob(".git")]


def test_demo_has_realistic_history(demo_repo: Path) -> None:
    repo = Repository(demo_repo)
    main_log = repo.run_text("log", "--format=%an", "main").splitlines()
    assert len(main_log) >= 3
    assert not any("[bot]" in name for name in main_log)
    files = repo.run_text("ls-tree", "-r", "--name-only", "main").splitlines()
    assert any(f.endswith(".py") for f in files) and any(f.endswith(".js") for f in files)
    code_lines = sum(
        len(repo.run_text("show", f"main:{f}").splitlines())
        for f in files
        if f.endswith((".py", ".js"))
    )
    assert 200 <= code_lines <= 2000


def test_demo_covers_every_scenario(demo_repo: Path) -> None:
    repo = Repository(demo_repo)
    queue = load_queue(repo)
    fixes = {f.branch.name: f for f in queue.fixes}
    assert len(fixes) >= 9
    assert queue.warnings == []
    for fix in fixes.values():
        assert all(c.author.name.endswith("[bot]") for c in fix.commits[-1:]), fix.branch.name

    clean = fixes["ai-fix/sqli-invoice-search"]
    assert clean.source == "note" and clean.finding and clean.finding.rule == "CWE-89"
    assert human_changes(repo, clean).diff is not None
    assert human_changes(repo, clean).diff.files == ()  # type: ignore[union-attr]

    edited = fixes["ai-fix/command-injection-report-export"]
    assert edited.suggestion is not None and edited.suggestion.commit != edited.branch.head
    people = human_changes(repo, edited).diff
    assert people is not None and people.added > 0
    assert any(not c.author.name.endswith("[bot]") for c in edited.commits)

    secret = fixes["ai-fix/hardcoded-signing-secret"]
    assert "os.environ" in final_diff(repo, secret).raw

    wide = fixes["ai-fix/xss-invoice-notes"]
    assert wide.finding is not None
    finding_paths = {loc.path for loc in wide.finding.locations}
    assert len(set(final_diff(repo, wide).paths()) - finding_paths) >= 2

    bump = fixes["snyk-fix-pyyaml-5-4"]
    assert final_diff(repo, bump).paths() == ["requirements.txt"]

    auth = fixes["ai-fix/timing-safe-password-check"]
    assert "app/auth.py" in final_diff(repo, auth).paths()

    docs = fixes["ai-fix/docs-tls-verification"]
    assert all(p.endswith(".md") for p in final_diff(repo, docs).paths())

    sarif = fixes["alert-autofix-12"]
    assert sarif.finding is not None and sarif.finding.scanner.startswith("CodeQL")
    assert sarif.finding.severity == "high"

    trailers = fixes["ai-fix/open-redirect-login"]
    assert trailers.source == "trailers" and trailers.finding is not None
    assert trailers.finding.id == "SEC-107"
    assert trailers.suggestion is not None and trailers.suggestion.tool == "Claude"

    unlinked = fixes["copilot/tidy-logging"]
    assert unlinked.source == "none" and unlinked.finding is None

    moved = [f for f in fixes.values() if f.branch.merge_base != f.branch.base_commit]
    assert moved, "at least one branch was cut before main moved on"


def test_demo_build_is_repeatable(tmp_path: Path, demo_template: Path) -> None:
    again = build_demo(tmp_path / "again").repositories[0]
    refs = "for-each-ref", "--format=%(objectname) %(refname)"
    assert Repository(again).run_text(*refs) == Repository(demo_template).run_text(*refs)


def test_demo_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine\n")
    with pytest.raises(FixreviewError, match="not empty"):
        build_demo(tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "mine\n"


def test_demo_command_no_open(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fixreview", "demo", "--path", str(tmp_path / "d"), "--no-open"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert str(tmp_path / "d" / "payments-portal") in proc.stdout
    # building again over its own earlier output is fine
    proc = subprocess.run(
        [sys.executable, "-m", "fixreview", "demo", "--path", str(tmp_path / "d"), "--no-open"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_demo_comes_with_decided_fixes_and_its_own_signing_key(demo_repo: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fixreview", "--repo", str(demo_repo), "list", "--all", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    import json

    status = {row["branch"]: row["status"] for row in json.loads(proc.stdout)["fixes"]}
    assert status["ai-fix/sqli-invoice-search"] == "approved"
    assert status["ai-fix/docs-tls-verification"] == "stale"
    assert status["ai-fix/xss-invoice-notes"] == "rejected"
    assert list(status.values()).count("pending") == len(status) - 3
    repo = Repository(demo_repo)
    local = repo.run_text("config", "--local", "--get", "user.signingKey").strip()
    assert Path(local).exists() and "gpg.format=ssh" in repo.run_text("config", "--local", "--list")
    verify = subprocess.run(
        [
            sys.executable,
            "-m",
            "fixreview",
            "--repo",
            str(demo_repo),
            "verify",
            "ai-fix/sqli-invoice-search",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout


def test_risk_flags_in_show_and_list(demo_repo: Path) -> None:
    import json

    def run(*argv: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "fixreview", "--repo", str(demo_repo), *argv],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    doc = json.loads(run("show", "ai-fix/ci-pin-actions", "--json"))
    ids = {flag["id"]: flag for flag in doc["risk_flags"]}
    assert {"hidden-unicode", "ci-config-change"} <= set(ids)
    hidden = ids["hidden-unicode"]
    assert hidden["level"] == "block"
    assert {(e["path"], e["line"]) for e in hidden["evidence"]} == {
        (".github/workflows/ci.yml", 15),
        (".github/workflows/ci.yml", 18),
    }
    assert "\u202e" not in json.dumps(hidden, ensure_ascii=False)
    assert sorted(doc["fix"]["blocking_flags"]) == sorted(
        f["id"] for f in doc["risk_flags"] if f["level"] == "block"
    )
    text = run("show", "ai-fix/ci-pin-actions")
    assert "block hidden-unicode: Adds hidden or bidirectional Unicode" in text
    [row] = [line for line in run("list").splitlines() if " ai-fix/ci-pin-actions " in line]
    blocking = len(doc["fix"]["blocking_flags"])
    assert f" {blocking}!/{len(doc['risk_flags'])} " in row
    clean = json.loads(run("list", "--all", "--json"))["fixes"]
    sqli = next(row for row in clean if row["branch"] == "ai-fix/sqli-invoice-search")
    assert sqli["risk_flags"] == 0 and sqli["blocking_flags"] == []
