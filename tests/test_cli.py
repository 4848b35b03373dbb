"""The command line: list, show, propose, and one clear line for every kind of bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fixreview.cli.main import main
from fixreview.notes.store import PROPOSALS_REF
from tests.gitutil import AI, HUMAN, TestRepo
from tests.test_suggestion_match import sides

FINDING_TOML = """\
id = "SEC-101"
title = "SQL injection in invoice search"
severity = "high"
rule = "CWE-89"
scanner = "Semgrep 1.90.0"
asset = "GET /invoices/search"
evidence = "cursor.execute(f\\"... {term}\\")"
reason = "user input reaches SQL"
url = "https://cwe.mitre.org/data/definitions/89.html"
[[locations]]
path = "app/db.py"
start_line = 1
end_line = 2
"""

SARIF = {
    "version": "2.1.0",
    "runs": [
        {
            "tool": {
                "driver": {
                    "name": "CodeQL",
                    "semanticVersion": "2.19.3",
                    "rules": [
                        {
                            "id": "py/sql-injection",
                            "shortDescription": {
                                "text": "SQL query built from user-controlled sources"
                            },
                            "properties": {"security-severity": "8.8"},
                            "helpUri": "https://codeql.github.com/",
                        }
                    ],
                }
            },
            "results": [
                {
                    "ruleId": "py/sql-injection",
                    "ruleIndex": 0,
                    "message": {"text": "This query depends on user input."},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": "app/db.py"},
                                "region": {"startLine": 2, "snippet": {"text": "return sql"}},
                            }
                        }
                    ],
                }
            ],
        }
    ],
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def fixrepo(repo: TestRepo, tmp_path: Path) -> TestRepo:
    repo.checkout("-b", "ai-fix/sqli")
    repo.commit(
        "Use a parameterized query\n\nBound parameters keep user input out of the SQL text.\n\n"
        "Finding-Id: SEC-101\nAssisted-by: SecFix:gpt-5-codex",
        {"app/db.py": "def query(sql, args):\n    return sql, args\n"},
        who=AI,
    )
    repo.commit(
        "Tighten the fix",
        {"app/db.py": "def query(sql, args=()):\n    return sql, tuple(args)\n"},
        who=HUMAN,
    )
    repo.checkout("main")
    (tmp_path / "finding.toml").write_text(FINDING_TOML)
    (tmp_path / "scan.sarif").write_text(json.dumps(SARIF))
    return repo


def test_propose_then_list_and_show(
    fixrepo: TestRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ai_commit = fixrepo.rev("ai-fix/sqli~1")
    code, out, err = run(
        capsys,
        "--repo",
        str(fixrepo.path),
        "propose",
        "ai-fix/sqli",
        "--finding",
        str(tmp_path / "finding.toml"),
        "--commit",
        ai_commit,
    )
    assert (code, err) == (0, "")
    assert "SEC-101" in out and ai_commit[:12] in out
    code, out, _ = run(capsys, "list", "--repo", str(fixrepo.path))
    assert code == 0
    row = out.splitlines()[1]
    for cell in (
        "high",
        "SEC-101",
        "SQL injection in invoice search",
        "ai-fix/sqli",
        "SecFix",
        "+2/-2",
        "pending",
    ):
        assert cell in row
    code, out, _ = run(capsys, "show", "ai-fix/sqli", "--repo", str(fixrepo.path))
    assert code == 0
    assert "Finding  SEC-101  high  SQL injection in invoice search" in out
    assert "Bound parameters keep user input out of the SQL text." in out
    assert "commits after the suggestion" in out
    assert "Finding-Id: SEC-101" in out
    code, out, _ = run(capsys, "show", "ai-fix/sqli", "--json", "--repo", str(fixrepo.path))
    doc = json.loads(out)
    assert doc["fix"]["finding_id"] == "SEC-101" and doc["fix"]["source"] == "note"
    assert doc["suggestion"]["commit"] == ai_commit
    assert doc["suggestion"]["diff"]["changes"][0]["path"] == "app/db.py"
    assert doc["human_changes"]["diff"]["added"] == 2
    assert [c["author"]["name"] for c in doc["commits"]] == [HUMAN[0], AI[0]]
    assert doc["finding"]["locations"] == [{"path": "app/db.py", "start_line": 1, "end_line": 2}]


def test_propose_from_sarif_by_each_selector(
    fixrepo: TestRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for selector in ("0", "py/sql-injection@app/db.py:2"):
        code, out, err = run(
            capsys,
            "--repo",
            str(fixrepo.path),
            "propose",
            "ai-fix/sqli",
            "--sarif",
            str(tmp_path / "scan.sarif"),
            "--result",
            selector,
            # the branch's trailer claims SEC-101, which this scan does not name
            "--force",
        )
        assert code == 0, err
    code, out, _ = run(capsys, "--repo", str(fixrepo.path), "list", "--json")
    row = json.loads(out)["fixes"][0]
    assert (row["severity"], row["finding_id"]) == ("high", "py/sql-injection@app/db.py:2")


def test_list_json_is_documented_shape(
    fixrepo: TestRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--repo", str(fixrepo.path), "list", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["schema"] == 1 and doc["base"] == "main"
    assert set(doc["fixes"][0]) == {
        "branch",
        "ref",
        "head",
        "merge_base",
        "status",
        "source",
        "finding_id",
        "severity",
        "title",
        "tool",
        "model",
        "files",
        "added",
        "removed",
        "problems",
        "risk_flags",
        "blocking_flags",
        "checks",
    }
    documented = (Path(__file__).resolve().parents[1] / "docs" / "json.md").read_text()
    for key in doc["fixes"][0]:
        assert f"`{key}`" in documented, key


# -- errors: one line on stderr, the right exit code, never a traceback ----------------------


def run_process(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fixreview", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def assert_one_line(proc: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0]


def test_not_a_git_repository(tmp_path: Path) -> None:
    assert_one_line(run_process("--repo", str(tmp_path), "list"), 2, "not a git repository")
    assert_one_line(run_process("list", cwd=tmp_path), 2, "not a git repository")
    assert_one_line(run_process("--repo", str(tmp_path / "nope"), "list"), 2, "no such directory")


def test_unknown_branch(fixrepo: TestRepo) -> None:
    assert_one_line(
        run_process("--repo", str(fixrepo.path), "show", "ai-fix/nope"), 1, "ai-fix/nope"
    )
    assert_one_line(
        run_process("--repo", str(fixrepo.path), "propose", "ai-fix/nope", "--finding", "x.toml"),
        2,
        "x.toml",
    )


def test_malformed_finding_toml(fixrepo: TestRepo, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "SEC-1"\nseverity = "urgent"\n')
    assert_one_line(
        run_process("--repo", str(fixrepo.path), "propose", "ai-fix/sqli", "--finding", str(bad)),
        2,
        "severity",
    )
    bad.write_text('id = "SEC-1"\nseverity = "high"\ncolour = "red"\n')
    assert_one_line(
        run_process("--repo", str(fixrepo.path), "propose", "ai-fix/sqli", "--finding", str(bad)),
        2,
        "colour: unknown key",
    )
    bad.write_text('id = "SEC-1\n')
    assert_one_line(
        run_process("--repo", str(fixrepo.path), "propose", "ai-fix/sqli", "--finding", str(bad)),
        2,
        "invalid TOML",
    )


def test_malformed_policy_names_the_key(fixrepo: TestRepo) -> None:
    fixrepo.commit("policy", {".fixreview.toml": "[approvals]\nrequried = 2\n"})
    assert_one_line(
        run_process("--repo", str(fixrepo.path), "list"),
        2,
        ".fixreview.toml on main",
        "approvals.requried: unknown key",
    )


def test_malformed_sarif(fixrepo: TestRepo, tmp_path: Path) -> None:
    bad = tmp_path / "bad.sarif"
    bad.write_text("{not json")
    assert_one_line(
        run_process("--repo", str(fixrepo.path), "propose", "ai-fix/sqli", "--sarif", str(bad)),
        2,
        "bad.sarif",
    )
    bad.write_text('{"version": "2.1.0"}')
    assert_one_line(
        run_process("--repo", str(fixrepo.path), "propose", "ai-fix/sqli", "--sarif", str(bad)),
        2,
        "bad.sarif",
    )
    proc = run_process(
        "--repo",
        str(fixrepo.path),
        "propose",
        "ai-fix/sqli",
        "--sarif",
        str(tmp_path / "scan.sarif"),
        "--result",
        "py/other@x.py:1",
    )
    assert_one_line(proc, 1, "no result matches")


def test_malformed_note_lines_are_reported_and_never_count(fixrepo: TestRepo) -> None:
    head = fixrepo.rev("ai-fix/sqli")
    fixrepo.git(
        "notes",
        f"--ref={PROPOSALS_REF}",
        "add",
        "-m",
        "proposal bm90IHRvbWw=\n[@click=app.quit]",
        head,
    )
    proc = run_process("--repo", str(fixrepo.path), "list")
    assert proc.returncode == 0
    assert "Traceback" not in proc.stderr
    warnings = proc.stderr.strip().splitlines()
    assert len(warnings) == 2 and all(w.startswith("fixreview: warning: ") for w in warnings)
    assert any("payload is not TOML" in w for w in warnings)
    assert any("unknown record tag" in w and "'[@click=app.quit]'" in w for w in warnings)
    # the branch is still linked through its trailer, not through the broken note
    assert "SEC-101" not in proc.stdout or "(finding not found)" in proc.stdout
    assert "trailers" in run_process("--repo", str(fixrepo.path), "list", "--json").stdout


def test_missing_notes_ref_is_not_an_error_for_list(fixrepo: TestRepo) -> None:
    proc = run_process("--repo", str(fixrepo.path), "list", "--json")
    assert proc.returncode == 0 and proc.stderr == ""
    assert json.loads(proc.stdout)["fixes"][0]["source"] == "trailers"


def test_usage_errors_are_one_line_exit_2(fixrepo: TestRepo) -> None:
    assert_one_line(run_process("--repo", str(fixrepo.path), "frobnicate"), 2, "invalid choice")
    assert_one_line(
        run_process("--repo", str(fixrepo.path), "propose", "ai-fix/sqli"), 2, "required"
    )
    assert_one_line(
        run_process(
            "--repo", str(fixrepo.path), "propose", "ai-fix/sqli", "--finding", "a", "--sarif", "b"
        ),
        2,
        "not allowed with",
    )


def test_propose_from_real_codetf_picks_the_change_by_the_files_the_branch_touched(
    repo: TestRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = Path(__file__).resolve().parent / "fixtures" / "codetf"
    report = json.loads((fixture / "pygoat.codetf.json").read_text())
    # main holds the settings the codemod read; the bot's branch makes its change
    before, after = sides(report["results"][1]["changeset"][0]["diff"])
    repo.commit("pygoat settings", {"pygoat/settings.py": before})
    repo.checkout("-b", "pixeebot/drip/settings")
    repo.commit(
        "Harden Django settings",
        {"pygoat/settings.py": after},
        who=("pixeebot[bot]", "pixeebot[bot]@users.noreply.github.com"),
    )
    repo.checkout("main")
    code, _, err = run(
        capsys,
        "--repo",
        str(repo.path),
        "propose",
        "pixeebot/drip/settings",
        "--codetf",
        str(fixture / "pygoat.codetf.json"),
    )
    # two codemods changed exactly pygoat/settings.py: the choice is ambiguous, and says so
    assert code == 2
    assert "2 results match the branch's changed files equally well" in err
    assert "1 (pixee:python/django-debug-flag-on)" in err
    code, out, err = run(
        capsys,
        "--repo",
        str(repo.path),
        "propose",
        "pixeebot/drip/settings",
        "--codetf",
        str(fixture / "pygoat.codetf.json"),
        "--result",
        "1",
    )
    assert code == 0, err
    code, out, _ = run(capsys, "--repo", str(repo.path), "show", "pixeebot/drip/settings", "--json")
    doc = json.loads(out)
    assert doc["finding"]["id"] == "pixee:python/django-debug-flag-on@pygoat/settings.py"
    assert doc["suggestion"]["tool"].startswith("codemodder-python")
    assert "DEBUG" in doc["suggestion"]["rationale"]


def test_error_messages_never_pass_escape_sequences_to_the_terminal(
    fixrepo: TestRepo, tmp_path: Path
) -> None:
    fixrepo.commit("policy", {".fixreview.toml": '"\\u001b[2J" = 1\n'})
    proc = run_process("--repo", str(fixrepo.path), "list")
    assert proc.returncode == 2 and "unknown key" in proc.stderr
    assert "\x1b" not in proc.stderr and "␛[2J" in proc.stderr
