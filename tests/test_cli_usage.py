"""The command line as a person meets it: help pages with examples, one docs page per command,
exit 2 for every usage or environment error, `verify` of a commit that is not a fix, `log` of a
finding no branch answers yet, `log --json` carrying every signed field, and multi-line text that
keeps its line breaks (with control characters still made visible)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fixreview.cli.main import COMMANDS, main
from fixreview.decisions import read_decisions
from fixreview.repo.git import Repository
from tests.cliutil import fixreview, one_error_line
from tests.gitutil import TestRepo

ROOT = Path(__file__).resolve().parents[1]
SUBCOMMANDS = [
    "init",
    "list",
    "show",
    "propose",
    "decide",
    "record-check",
    "verify",
    "attest",
    "log",
    "sync",
    "demo",
]


@pytest.fixture(autouse=True)
def columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Help pages wrapped as the docs show them, whatever the terminal."""
    monkeypatch.setenv("COLUMNS", "100")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> subprocess.CompletedProcess[str]:
    """``fixreview ARGV…`` in this process (the same entry point): its exit code and output."""
    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as exc:  # --help
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(list(argv), code, out, err)


# -- help pages and docs pages -------------------------------------------------------------------


def test_the_commands_are_the_ones_documented() -> None:
    assert sorted(COMMANDS) == sorted(SUBCOMMANDS)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_command_help_has_a_description_examples_and_exit_codes(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = run(capsys, command, "--help")
    assert proc.returncode == 0, proc.stderr
    page = proc.stdout
    usage, _, rest = page.partition("\n\n")
    assert usage.startswith(f"usage: fixreview {command}")
    description = rest.split("\n\n")[0]
    assert len(description.split()) >= 10, page  # a sentence or two, not just the usage line
    examples = page.split("examples:\n", 1)[1].split("\n\n")[0].splitlines()
    assert examples and all(
        line.startswith(f"  fixreview {command}") or line.startswith("      ") for line in examples
    ), page
    assert "exit codes: 0 " in page and "2 usage or environment error" in page


def test_top_help_says_that_no_command_opens_the_app(capsys: pytest.CaptureFixture[str]) -> None:
    page = run(capsys, "--help").stdout
    assert "With no COMMAND, fixreview opens the review app" in page
    assert "examples:\n  fixreview  " in page
    assert "exit codes: 0 success, 1 a negative answer" in page


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_one_docs_page_per_command_with_its_help_examples_and_exit_codes(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (ROOT / "docs" / "commands" / f"{command}.md").read_text()
    help_page = run(capsys, command, "--help").stdout
    examples = help_page.split("examples:\n", 1)[1].split("\n\n")[0]
    description = help_page.split("\n\n")[1]
    for line in [*description.splitlines(), *examples.splitlines()]:
        assert line.strip() in page, line
    for line in help_page.splitlines():  # every option is described there too
        if line.startswith("  -"):
            assert line.split()[0].rstrip(",") in page, line
    assert "## Exit codes" in page
    readme = (ROOT / "README.md").read_text()
    assert f"(docs/commands/{command}.md)" in readme


# -- exit 2 for every usage or environment error ---------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["show", "ai-fix/sqli"],
        ["propose", "ai-fix/sqli", "--finding", "FINDING"],
        ["decide", "ai-fix/sqli", "--reject", "--comment", "no"],
        ["verify", "ai-fix/sqli"],
        ["log"],
        ["log", "SEC-1"],
        [],  # the review app: it says so before opening
    ],
)
def test_an_unknown_base_exits_2_for_every_command(
    fixed: TestRepo, argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    finding = tmp_path / "f.toml"
    finding.write_text('id = "SEC-1"\ntitle = "SQL injection"\nseverity = "high"\n')
    argv = [str(finding) if a == "FINDING" else a for a in argv]
    for where in (["--base", "nosuch", *argv], [*argv, "--base", "nosuch"] if argv else []):
        if not where:
            continue
        line = one_error_line(run(capsys, "--repo", str(fixed.path), *where))
        assert "'nosuch' (from --base) not found" in line, line


@pytest.mark.parametrize("command", [c for c in SUBCOMMANDS if c != "demo"] + [None])
def test_not_a_repository_exits_2(command: str | None, tmp_path: Path) -> None:
    args = {
        "show": ["x"],
        "attest": ["x"],
        "propose": ["x", "--finding", "f.toml"],
        "decide": ["x", "--reject", "--comment", "no"],
        "record-check": ["tests", "--passed"],
    }
    argv = [command, *args.get(command, [])] if command else []
    # a fresh interpreter: looking for the repository walks up to /, outside the test's reach
    line = one_error_line(fixreview(tmp_path, *argv))
    assert "not a git repository" in line or "no such file" in line, line


@pytest.mark.parametrize(
    "argv",
    [
        ["nosuch"],
        ["list", "--bogus"],
        ["show"],
        ["verify", "--json", "--github"],
        ["decide", "ai-fix/sqli"],
        ["propose", "ai-fix/sqli"],
        ["log", "a", "b"],
        ["demo", "--base", "main"],
        ["--repo"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], repo: TestRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    line = one_error_line(run(capsys, "--repo", str(repo.path), *argv))
    assert "--help" in line, line


# -- verify on a commit that is not a fix ----------------------------------------------------------


def test_verify_of_a_commit_already_in_the_base_says_it_is_not_a_fix(
    demo_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tip = Repository(demo_repo).resolve("main")
    assert tip is not None
    for rev, where in (("main", "the tip of"), ("main~1", "already in"), ("HEAD", "the tip of")):
        proc = run(capsys, "--repo", str(demo_repo), "verify", rev)
        line = one_error_line(proc)
        assert f"{rev} (" in line and f"is not a fix: it is {where} the base branch main" in line
        assert proc.stdout == ""
    # the --json and --github forms answer the same: no document for a commit that is no fix
    line = one_error_line(run(capsys, "--repo", str(demo_repo), "verify", tip, "--json"))
    assert f"{tip} ({tip[:12]}) is not a fix" in line
    # a fix is still verified, named after its branch
    proc = run(capsys, "--repo", str(demo_repo), "verify", "ai-fix/sqli-invoice-search")
    assert proc.returncode == 0 and "verify: ai-fix/sqli-invoice-search at" in proc.stdout


# -- log: findings from the policy's findings sources ----------------------------------------------


def test_log_finds_a_finding_no_branch_answers_in_the_findings_sources(
    demo_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = run(capsys, "--repo", str(demo_repo), "log", "SEC-111")  # security/findings.toml
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "finding    SEC-111 (low) Session cookie set without SameSite attribute — app/auth.py:70",
        "fixes      none: no fix branch answers this finding",
    ]
    doc = json.loads(run(capsys, "--repo", str(demo_repo), "log", "SEC-111", "--json").stdout)
    assert doc["finding"]["id"] == "SEC-111" and doc["entries"] == []
    # a SARIF result, by RULEID@PATH:LINE (security/codeql.sarif)
    proc = run(capsys, "--repo", str(demo_repo), "log", "py/url-redirection@app/auth.py:69")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("finding    ") or "finding    " in proc.stdout
    # nothing by that name anywhere: a negative answer naming where it looked
    proc = run(capsys, "--repo", str(demo_repo), "log", "SEC-999")
    assert proc.returncode == 1
    assert "no fix branch and no finding named 'SEC-999'" in proc.stderr
    assert "security/findings.toml, security/codeql.sarif" in proc.stderr


# -- log --json: every signed field, and list's risk figures ---------------------------------------


def test_log_json_carries_every_signed_field_and_the_risk_figures_of_list(
    demo_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(run(capsys, "--repo", str(demo_repo), "log", "--json").stdout)
    listed = json.loads(run(capsys, "--repo", str(demo_repo), "list", "--all", "--json").stdout)
    rows = {row["branch"]: row for row in listed["fixes"]}
    assert {e["fix"]["branch"] for e in doc["entries"]} == set(rows)
    for entry in doc["entries"]:
        row = rows[entry["fix"]["branch"]]
        assert entry["fix"] == row  # the same row: status, risk_flags and blocking_flags
        assert isinstance(row["risk_flags"], int)
        assert entry["fix"]["risk_flags"] == len(entry["risk_flags"])
    records, _, _ = read_decisions(Repository(demo_repo))
    signed = {
        r.decision.id: r.decision.model_dump(mode="json", by_alias=True)
        for rs in records.values()
        for r in rs
    }
    logged = [d for e in doc["entries"] for d in e["decisions"]]
    assert logged, "the demo has decisions"
    for decision in logged:
        payload = decision["signed"]
        assert payload == signed[decision["id"]]
        for name in ("verdict", "checklist", "acknowledged_flags", "comment", "key", "time"):
            assert name in payload
        assert payload["head_commit"] == decision["head"]
        assert len(payload["diff_sha256"]) == 64
        assert set(payload["checklist"]) == {"intent", "scope", "blast_radius", "rollback"}
        assert all({"status", "note"} <= set(item) for item in payload["checklist"].values())
        assert decision["attached_to"] and "removed_in" in decision
    approvals = [d for d in logged if d["verdict"] == "approve"]
    assert any(d["signed"]["checklist"]["rollback"]["note"] for d in approvals)
    assert any(d["signed"]["comment"] for d in logged)


# -- multi-line text keeps its line breaks; controls stay visible ----------------------------------


def test_multi_line_text_keeps_its_line_breaks_and_control_characters_stay_visible(
    demo_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = str(demo_repo)
    out = run(capsys, "--repo", repo, "log", "ai-fix/sqli-invoice-search").stdout
    assert "␊" not in out
    assert (
        "  rationale  search_invoices() built its SQL by %-formatting the search term and the\n"
        "             status filter into the statement," in out
    )
    branch = "ai-fix/open-redirect-login"
    comment = "first line\nsecond \x1b[31mline\rthird\u202eline"
    proc = run(capsys, "--repo", repo, "decide", branch, "--request-changes", "--comment", comment)
    assert proc.returncode == 0, proc.stderr
    for argv in (["log", branch], ["verify", branch]):
        out = run(capsys, "--repo", repo, *argv).stdout
        assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
        assert "␊" not in out
        assert "second ␛[31mline␍third<U+202E>line" in out
    log = run(capsys, "--repo", repo, "log", branch).stdout
    assert "      comment: first line\n               second ␛[31mline␍third<U+202E>line\n" in log
    verify = run(capsys, "--repo", repo, "verify", branch).stdout
    assert ": first line\n              second ␛[31mline" in verify  # under "NOT APPROVED: "
