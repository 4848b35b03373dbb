"""CI check records: record-check signs a test run's result onto a head commit, and the gate
requires the policy's checks to have passed on that exact head, signed by a CI key."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fixreview.notes.records import b64decode, b64encode
from fixreview.notes.store import CHECKS_REF
from tests.cliutil import APPROVE, fixreview, one_error_line
from tests.gitutil import AI, TestRepo
from tests.signing_util import Reviewer, allow, make_reviewer
from tests.test_decide_verify import sqli_fix

PASSING_JUNIT = (
    '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">'
    '<testsuite name="pytest" errors="0" failures="0" skipped="1" tests="3" time="0.42">'
    '<testcase classname="t" name="a" time="0.1"/><testcase classname="t" name="b" time="0.1"/>'
    '<testcase classname="t" name="c" time="0.1"><skipped message="later"/></testcase>'
    "</testsuite></testsuites>"
)
FAILING_JUNIT = (
    '<testsuite name="pytest" errors="0" failures="1" skipped="0" tests="2" time="0.2">'
    '<testcase classname="t" name="a"/><testcase classname="t" name="b">'
    '<failure message="assert 1 == 2">boom</failure></testcase></testsuite>'
)


@pytest.fixture
def ci(tmp_path: Path) -> Reviewer:
    """CI's own signing key (in CI: an ssh key from a secret)."""
    return make_reviewer(tmp_path / "ci-keys", "CI", "ci@example.com")


@pytest.fixture
def checked(repo: TestRepo, people: dict[str, Reviewer], ci: Reviewer) -> TestRepo:
    """main allows aisha and tomas as reviewers and CI's key as the CI signer, and requires the
    check ``tests``; ai-fix/sqli is an AI commit on top."""
    allow(repo, people["aisha"], people["tomas"])
    repo.commit(
        "Require tests",
        {
            ".fixreview.toml": '[checks]\nrequired = ["tests"]\n',
            ".fixreview/ci_signers": ci.allowed_line() + "\n",
        },
    )
    sqli_fix(repo)
    return repo


def record_check(
    repo: TestRepo, who: Reviewer, *argv: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return fixreview(repo, "record-check", *argv, env=who.env(), cwd=cwd)


def approve(repo: TestRepo, who: Reviewer) -> None:
    proc = fixreview(repo, "decide", "ai-fix/sqli", *APPROVE, env=who.env())
    assert proc.returncode == 0, proc.stderr


def verify(repo: TestRepo, *argv: str) -> subprocess.CompletedProcess[str]:
    return fixreview(repo, "verify", "ai-fix/sqli", *argv)


def check_lines(repo: TestRepo, commit: str) -> list[str]:
    proc = repo.git("notes", f"--ref={CHECKS_REF}", "list")
    if commit not in proc:
        return []
    return repo.git("notes", f"--ref={CHECKS_REF}", "show", commit).splitlines()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_record_check_signs_one_record_with_the_run_on_the_head(
    checked: TestRepo, ci: Reviewer, tmp_path: Path
) -> None:
    junit = write(tmp_path, "junit.xml", PASSING_JUNIT)
    head = checked.rev("ai-fix/sqli")
    proc = record_check(
        checked, ci, "tests", "--passed", "ai-fix/sqli", "--junit", str(junit),
        "--url", "https://ci.example.com/run/7",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = "tests passed (3 tests, 0 failures, 0 errors, 1 skipped, 0.42 s)"
    assert f"recorded {summary} at {head[:12]} by CI <ci@example.com>" in proc.stdout
    assert "signed with SHA256:" in proc.stdout
    [line] = check_lines(checked, head)
    tag, payload, signature = line.split(" ")
    assert tag == "check"
    text = b64decode(payload).decode()
    tree = checked.rev("ai-fix/sqli^{tree}")
    for key in (
        "schema = 1",
        'name = "tests"',
        'status = "passed"',
        f'head_commit = "{head}"',
        f'head_tree = "{tree}"',
        "time = ",
        'signer = "ci@example.com"',
        'signing_format = "ssh"',
        'key = "SHA256:',
        'url = "https://ci.example.com/run/7"',
        "[junit]",
        "tests = 3",
        "failures = 0",
        "errors = 0",
        "skipped = 1",
        "duration = 0.42",
    ):
        assert key in text, key
    # signed for fixreview's check namespace: it can never pass as a decision's signature
    assert b"BEGIN SSH SIGNATURE" in b64decode(signature)
    sig = tmp_path / "sig"
    sig.write_bytes(b64decode(signature))
    ok = subprocess.run(
        ["ssh-keygen", "-Y", "check-novalidate", "-n", "fixreview-check", "-s", str(sig)],
        input=b64decode(payload),
        capture_output=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    wrong = subprocess.run(
        ["ssh-keygen", "-Y", "check-novalidate", "-n", "fixreview-decision", "-s", str(sig)],
        input=b64decode(payload),
        capture_output=True,
        check=False,
    )
    assert wrong.returncode != 0


def test_gate_requires_the_check_and_passes_with_a_ci_signed_pass(
    checked: TestRepo, people: dict[str, Reviewer], ci: Reviewer
) -> None:
    approve(checked, people["aisha"])
    proc = verify(checked)
    assert proc.returncode == 1
    assert "required check tests missing: no counted record on this head" in proc.stdout
    assert record_check(checked, ci, "tests", "--passed", "ai-fix/sqli").returncode == 0
    proc = verify(checked)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "tests passed" in proc.stdout
    document = json.loads(verify(checked, "--json").stdout)
    [state] = document["checks"]
    assert state["name"] == "tests" and state["state"] == "passed" and state["required"]


def test_a_contributor_cannot_record_a_passing_run_with_their_own_key(
    checked: TestRepo, people: dict[str, Reviewer]
) -> None:
    """The attack: whoever can push notes records ``tests passed`` signed with their own key
    (or a reviewer's: reviewers are not CI). Neither counts."""
    approve(checked, people["aisha"])
    for who in (people["mallory"], people["tomas"]):
        assert record_check(checked, who, "tests", "--passed", "ai-fix/sqli").returncode == 0
    proc = verify(checked)
    assert proc.returncode == 1, proc.stdout
    assert "required check tests missing" in proc.stdout
    assert "2 records not counted: signature: key SHA256:" in proc.stdout
    assert "ci_signers" in proc.stdout


def test_an_unsigned_or_forged_record_never_counts(
    checked: TestRepo, people: dict[str, Reviewer], ci: Reviewer
) -> None:
    """A record whose payload was changed after signing (failed -> passed) does not count."""
    approve(checked, people["aisha"])
    head = checked.rev("ai-fix/sqli")
    assert record_check(checked, ci, "tests", "--failed", "ai-fix/sqli").returncode == 0
    [line] = check_lines(checked, head)
    tag, payload, signature = line.split(" ")
    forged = b64decode(payload).replace(b'status = "failed"', b'status = "passed"')
    checked.git("update-ref", "-d", CHECKS_REF)  # a ref that never held the original
    checked.git(
        "notes", f"--ref={CHECKS_REF}", "add", "-m", f"{tag} {b64encode(forged)} {signature}",
        head,
    )  # fmt: skip
    proc = verify(checked)
    assert proc.returncode == 1
    assert "required check tests missing" in proc.stdout
    assert "1 record not counted: signature: bad signature" in proc.stdout
    # and one with no signature at all is not even a record
    checked.git(
        "notes", f"--ref={CHECKS_REF}", "add", "-f", "-m", f"{tag} {b64encode(forged)}", head
    )
    proc = verify(checked)
    assert proc.returncode == 1
    assert "required check tests missing" in proc.stdout
    assert "a check record has 3 fields, not 2" in proc.stdout + proc.stderr


def test_a_pass_recorded_for_an_earlier_head_is_stale(
    checked: TestRepo, people: dict[str, Reviewer], ci: Reviewer
) -> None:
    """The attack: tests pass on the AI's first commit; a later commit breaks them, and the
    old pass must not stand for the new head."""
    assert record_check(checked, ci, "tests", "--passed", "ai-fix/sqli").returncode == 0
    first = checked.rev("ai-fix/sqli")
    checked.checkout("ai-fix/sqli")
    checked.commit("Tweak", {"app/db.py": "def query(sql, args):\n    return args, sql\n"}, who=AI)
    checked.checkout("main")
    approve(checked, people["aisha"])
    proc = verify(checked)
    assert proc.returncode == 1, proc.stdout
    assert "required check tests stale: recorded only for an earlier head" in proc.stdout
    assert first[:12] in proc.stdout
    shown = fixreview(checked, "show", "ai-fix/sqli", "--json")
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    [state] = document["checks"]
    assert state["state"] == "stale"
    [flag] = [f for f in document["risk_flags"] if f["id"] == "checks-not-passed"]
    assert flag["level"] == "warn" and "tests (stale)" in flag["detail"]
    assert "tests: stale: recorded only for an earlier head" in flag["evidence"][0]["excerpt"]
    # a pass on the new head: the gate passes and the flag goes (the checks are an input of
    # the cached flags, not stale in the risk cache)
    assert record_check(checked, ci, "tests", "--passed", "ai-fix/sqli").returncode == 0
    assert verify(checked).returncode == 0
    document = json.loads(fixreview(checked, "show", "ai-fix/sqli", "--json").stdout)
    assert [c["state"] for c in document["checks"]] == ["passed"]
    assert "checks-not-passed" not in [f["id"] for f in document["risk_flags"]]
    shown = fixreview(checked, "show", "ai-fix/sqli")
    assert "Checks  1" in shown.stdout and "passed  tests (required)" in shown.stdout
    listed = fixreview(checked, "list", "--all")
    assert "1/1" in listed.stdout


def test_a_later_failing_record_wins_over_an_earlier_pass(
    checked: TestRepo, people: dict[str, Reviewer], ci: Reviewer
) -> None:
    approve(checked, people["aisha"])
    assert record_check(checked, ci, "tests", "--passed", "ai-fix/sqli").returncode == 0
    assert verify(checked).returncode == 0
    assert record_check(checked, ci, "tests", "--failed", "ai-fix/sqli").returncode == 0
    proc = verify(checked)
    assert proc.returncode == 1
    assert "required check tests failed: tests failed on" in proc.stdout


def test_dropping_the_failing_record_from_the_notes_does_not_revive_the_pass(
    checked: TestRepo, people: dict[str, Reviewer], ci: Reviewer
) -> None:
    """The attack: rewrite the note without the failure (``git notes add -f``): the ref is a
    ledger, so the dropped record is still judged, and the removal reported."""
    approve(checked, people["aisha"])
    head = checked.rev("ai-fix/sqli")
    assert record_check(checked, ci, "tests", "--passed", "ai-fix/sqli").returncode == 0
    [passed] = check_lines(checked, head)
    assert record_check(checked, ci, "tests", "--failed", "ai-fix/sqli").returncode == 0
    checked.git("notes", f"--ref={CHECKS_REF}", "add", "-f", "-m", passed, head)
    assert check_lines(checked, head) == [passed]
    proc = verify(checked)
    assert proc.returncode == 1
    assert "required check tests failed" in proc.stdout
    assert "tampering: notes commit" in proc.stdout + proc.stderr


def test_a_record_copied_to_another_commit_does_not_count(
    checked: TestRepo, people: dict[str, Reviewer], ci: Reviewer
) -> None:
    checked.checkout("-b", "ai-fix/other", "main")
    checked.commit("Other", {"o.txt": "o\n"}, who=AI)
    checked.checkout("main")
    assert record_check(checked, ci, "tests", "--passed", "ai-fix/other").returncode == 0
    [line] = check_lines(checked, checked.rev("ai-fix/other"))
    head = checked.rev("ai-fix/sqli")
    checked.git("notes", f"--ref={CHECKS_REF}", "add", "-m", line, head)
    approve(checked, people["aisha"])
    proc = verify(checked)
    assert proc.returncode == 1
    assert "copied from another commit" in proc.stdout


def test_a_junit_report_with_failures_is_never_recorded_as_passed(
    checked: TestRepo, ci: Reviewer, tmp_path: Path
) -> None:
    junit = write(tmp_path, "junit.xml", FAILING_JUNIT)
    proc = record_check(checked, ci, "tests", "--passed", "ai-fix/sqli", "--junit", str(junit))
    assert "1 failures and 0 errors: tests cannot be recorded as passed" in one_error_line(proc)
    assert checked.git("for-each-ref", CHECKS_REF) == ""
    # attributes that claim a failure the cases do not show still count
    claimed = write(
        tmp_path, "claimed.xml", '<testsuite tests="1" errors="2"><testcase name="a"/></testsuite>'
    )
    proc = record_check(checked, ci, "tests", "--passed", "ai-fix/sqli", "--junit", str(claimed))
    assert "cannot be recorded as passed" in one_error_line(proc)
    proc = record_check(checked, ci, "tests", "--failed", "ai-fix/sqli", "--junit", str(junit))
    assert proc.returncode == 0, proc.stderr
    assert "tests failed (2 tests, 1 failures, 0 errors, 0 skipped, 0.2 s)" in proc.stdout


def test_a_crafted_passed_record_with_failures_is_refused_when_read(
    checked: TestRepo, people: dict[str, Reviewer], ci: Reviewer, tmp_path: Path
) -> None:
    """A record that says passed but carries failing counts, signed by CI's key all the same,
    is not a valid record: it never counts."""
    approve(checked, people["aisha"])
    head = checked.rev("ai-fix/sqli")
    tree = checked.rev("ai-fix/sqli^{tree}")
    payload = (
        f'schema = 1\nid = "x"\nname = "tests"\nstatus = "passed"\nhead_commit = "{head}"\n'
        f'head_tree = "{tree}"\ntime = 2026-01-01T00:00:00Z\nsigner = "ci@example.com"\n'
        'signing_format = "ssh"\nkey = "k"\n\n[junit]\ntests = 2\nfailures = 1\nerrors = 0\n'
        "skipped = 0\nduration = 0.1\n"
    ).encode()
    signed = ci.sign(payload, "fixreview-check")
    line = f"check {b64encode(payload)} {b64encode(signed)}"
    checked.git("notes", f"--ref={CHECKS_REF}", "add", "-m", line, head)
    proc = verify(checked)
    assert proc.returncode == 1
    assert "required check tests missing" in proc.stdout
    assert "passed check whose JUnit report has failures" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (
            '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><testsuite><testcase name="&b;"/>'
            "</testsuite>",
            "refused",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<testsuite><testcase name="&x;"/></testsuite>',
            "refused",
        ),
        ("<html><body>not a report</body></html>", "not a JUnit report"),
        ("<testsuite", "not XML"),
        ('<testsuite failures="many"><testcase name="a"/></testsuite>', "not a JUnit report"),
    ],
)
def test_hostile_or_broken_junit_is_one_line_and_writes_nothing(
    checked: TestRepo, ci: Reviewer, tmp_path: Path, content: str, said: str
) -> None:
    junit = write(tmp_path, "junit.xml", content)
    proc = record_check(checked, ci, "tests", "--failed", "ai-fix/sqli", "--junit", str(junit))
    assert said in one_error_line(proc)
    assert checked.git("for-each-ref", CHECKS_REF) == ""


def test_record_check_usage_errors_are_one_line(
    checked: TestRepo, ci: Reviewer, people: dict[str, Reviewer]
) -> None:
    assert "not a commit" in one_error_line(record_check(checked, ci, "tests", "--passed", "nope"))
    proc = record_check(checked, ci, "bad name!", "--passed", "ai-fix/sqli")
    assert "name" in one_error_line(proc)
    proc = record_check(checked, ci, "tests", "ai-fix/sqli")
    assert "--passed" in one_error_line(proc)
    env = ci.env(**{"gpg.format": "openpgp"})
    proc = fixreview(checked, "record-check", "tests", "--passed", "ai-fix/sqli", env=env)
    assert "ssh" in one_error_line(proc)
    assert checked.git("for-each-ref", CHECKS_REF) == ""


def test_a_check_key_cannot_sign_decisions_nor_a_reviewer_key_checks(
    checked: TestRepo, people: dict[str, Reviewer], ci: Reviewer
) -> None:
    """Separate signer lists: CI's key is not a reviewer's, and the other way round."""
    proc = fixreview(checked, "decide", "ai-fix/sqli", *APPROVE, "--record-anyway", env=ci.env())
    assert proc.returncode == 0, proc.stderr
    proc = record_check(checked, people["aisha"], "tests", "--passed", "ai-fix/sqli")
    assert proc.returncode == 0
    proc = verify(checked)
    assert proc.returncode == 1
    assert "0 of 1 required approvals" in proc.stdout
    assert "required check tests missing" in proc.stdout


def test_a_ci_keys_validity_window_bounds_the_list_snapshot(
    checked: TestRepo, ci: Reviewer, tmp_path: Path
) -> None:
    """A CI key valid for a few more days: list keeps its snapshot only until a day before the
    window ends (the checks' signature answers may change then), as it does for reviewers'."""
    from datetime import UTC, datetime, timedelta

    from tests.test_list_snapshot import snapshot_files

    bound = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=3)
    stamp = bound.strftime("%Y%m%d%H%MZ")
    checked.commit(
        "CI key for three more days",
        {".fixreview/ci_signers": f'{ci.email} valid-before="{stamp}" {ci.public}\n'},
    )
    assert record_check(checked, ci, "tests", "--passed", "ai-fix/sqli").returncode == 0
    proc = fixreview(checked, "list", "--json")
    assert proc.returncode == 0, proc.stderr
    [row] = json.loads(proc.stdout)["fixes"]
    assert [c["state"] for c in row["checks"]] == ["passed"]
    [entry] = snapshot_files(checked.path)
    kept = json.loads(entry.read_bytes().partition(b"\n")[2])
    assert kept["holds_until"] == (bound - timedelta(days=1)).timestamp()


async def test_the_review_screen_shows_each_check_beside_the_flags(
    checked: TestRepo, ci: Reviewer, tmp_path: Path
) -> None:
    """The reviewer sees where the head's checks stand without leaving the terminal: a line
    beside the risk flags, and each check's record (counts, head, signer, time, link) in the
    commits view; a URL with markup is shown as it is (check names are refused unless plain:
    letters, digits and ``._:/+-``)."""
    from textual.widgets import Static

    from fixreview.app.main import FixreviewApp
    from fixreview.repo.git import Repository
    from tests.test_app import text_of
    from tests.test_app_flags import _open

    junit = write(tmp_path, "junit.xml", PASSING_JUNIT)
    url = "https://ci.example.com/run/[bold]7[/bold]"
    assert record_check(
        checked, ci, "tests", "--passed", "ai-fix/sqli", "--junit", str(junit), "--url", url
    ).returncode == 0
    assert record_check(checked, ci, "lint", "--failed", "ai-fix/sqli").returncode == 0
    app = FixreviewApp(Repository(checked.path))
    async with app.run_test(size=(180, 50)) as pilot:
        screen = await _open(app, pilot, "ai-fix/sqli")
        line = text_of(screen.query_one("#review-checks", Static))
        assert line == "CI checks: ✓ tests passed  ✗ lint failed", line
        await pilot.press("c")
        await pilot.pause()
        detail = text_of(screen.query_one("#check-log", Static))
        assert screen.query_one("#check-log", Static).display
        assert "✓ passed  tests (required)" in detail
        assert "tests passed (3 tests, 0 failures, 0 errors, 1 skipped, 0.42 s) on " in detail
        assert "by CI <ci@example.com> at " in detail
        assert url in detail
        assert "✗ failed  lint\n" in detail


async def test_no_checks_line_where_no_check_is_recorded_or_required(repo: TestRepo) -> None:
    from textual.widgets import Static

    from fixreview.app.main import FixreviewApp
    from fixreview.repo.git import Repository
    from tests.test_app_flags import _flags_repo, _open

    app = FixreviewApp(Repository(_flags_repo(repo)))
    async with app.run_test(size=(180, 50)) as pilot:
        screen = await _open(app, pilot, "ai-fix/hidden")
        assert not screen.query_one("#review-checks", Static).display
        assert not screen.query_one("#check-log", Static).display
