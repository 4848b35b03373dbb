"""The check records in the audit trail and in the attestation: ``log`` lists every check record
on a fix's commits next to its decisions, with what it counts for; ``attest`` names the checks
that passed on the head (the counted records only) and the checks the policy requires. Real git,
real keys (CI's and others'), the command line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from fixreview.notes.records import b64encode
from fixreview.notes.store import CHECKS_REF
from tests.cliutil import fixreview
from tests.gitutil import TestRepo
from tests.signing_util import Reviewer
from tests.test_checks import (  # noqa: F401 (ci, checked: fixtures)
    FAILING_JUNIT,
    PASSING_JUNIT,
    approve,
    check_lines,
    checked,
    ci,
    record_check,
    write,
)

RUN_URL = "https://ci.example.com/run/7"
PASS_COUNTS = {"tests": 3, "failures": 0, "errors": 0, "skipped": 1, "duration": 0.42}
FAIL_COUNTS = {"tests": 2, "failures": 1, "errors": 0, "skipped": 0, "duration": 0.2}


def fingerprint(who: Reviewer) -> str:
    """The key's SHA256 fingerprint, as ssh-keygen prints it."""
    out = subprocess.run(
        ["ssh-keygen", "-l", "-f", f"{who.key}.pub"], capture_output=True, text=True, check=True
    )
    return out.stdout.split()[1]


def recorded(repo: TestRepo, who: Reviewer, *argv: str) -> None:
    proc = record_check(repo, who, *argv, "ai-fix/sqli")
    assert proc.returncode == 0, proc.stderr


def three_records(repo: TestRepo, ci_key: Reviewer, mallory: Reviewer, tmp_path: Path) -> None:
    """On ai-fix/sqli's head, in this order: CI's passing ``tests`` (JUnit counts, a URL), CI's
    failing ``lint``, and a passing ``tests`` signed by a key that is not CI's."""
    passing = write(tmp_path, "pass.xml", PASSING_JUNIT)
    failing = write(tmp_path, "fail.xml", FAILING_JUNIT)
    recorded(repo, ci_key, "tests", "--passed", "--junit", str(passing), "--url", RUN_URL)
    recorded(repo, ci_key, "lint", "--failed", "--junit", str(failing))
    recorded(repo, mallory, "tests", "--passed")


def log_entry(repo: TestRepo) -> dict[str, Any]:
    proc = fixreview(repo, "log", "ai-fix/sqli", "--json")
    assert proc.returncode == 0, proc.stderr
    [entry] = json.loads(proc.stdout)["entries"]
    return dict(entry)


def test_log_lists_each_check_record_with_what_it_counts_for(
    checked: TestRepo,  # noqa: F811 (a fixture)
    people: dict[str, Reviewer],
    ci: Reviewer,  # noqa: F811 (a fixture)
    tmp_path: Path,
) -> None:
    approve(checked, people["aisha"])
    three_records(checked, ci, people["mallory"], tmp_path)
    head = checked.rev("ai-fix/sqli")
    proc = fixreview(checked, "log", "ai-fix/sqli")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # where each check stands, then its records in time order, next to the decisions
    at = lines.index("  checks     tests passed (required); lint failed")
    records, decisions = lines[at + 1 : at + 5], lines[at + 5 :]
    assert records[0].endswith(
        f"  tests passed (3 tests, 0 failures, 0 errors, 1 skipped, 0.42 s) on {head[:12]} "
        "by CI <ci@example.com>: counts"
    )
    assert records[1] == f"      url: {RUN_URL}"
    assert records[2].endswith(
        f"  lint failed (2 tests, 1 failures, 0 errors, 0 skipped, 0.2 s) on {head[:12]} "
        "by CI <ci@example.com>: counts"
    )
    mallory = fingerprint(people["mallory"])
    assert records[3].endswith(
        f"  tests passed on {head[:12]} by Mallory <mallory@example.com>: signature: key "
        f"{mallory} is not in the base's allowed signers for mallory@example.com "
        "(.fixreview/ci_signers on main)"
    )
    assert decisions[0] == "  decisions"
    assert "approve by Aisha Okafor <aisha@example.com>" in decisions[1]

    entry = log_entry(checked)
    passed, failed, refused = entry["check_records"]
    assert [r["time"] for r in (passed, failed, refused)] == sorted(
        r["time"] for r in (passed, failed, refused)
    )
    assert passed["name"] == "tests" and passed["status"] == "passed"
    assert passed["junit"] == PASS_COUNTS and passed["url"] == RUN_URL
    assert passed["head"] == head and passed["attached_to"] == head
    assert passed["signer"] == "ci@example.com" and passed["signer_name"] == "CI"
    assert passed["key"] == fingerprint(ci) and passed["signature_valid"]
    assert passed["counted"] and passed["decides"] and passed["reason"] is None
    assert passed["signed"]["id"] == passed["id"] and passed["signed"]["schema"] == 1
    assert failed["name"] == "lint" and failed["status"] == "failed"
    assert failed["junit"] == FAIL_COUNTS and failed["counted"] and failed["decides"]
    assert refused["signer"] == "mallory@example.com" and refused["key"] == mallory
    assert not refused["signature_valid"] and not refused["counted"]
    assert not refused["decides"] and refused["overridden_by"] is None
    assert refused["reason"].startswith(f"signature: key {mallory} is not in the base's")
    # the row's states are the same judgement's
    states = {s["name"]: s["state"] for s in entry["fix"]["checks"]}
    assert states == {"tests": "passed", "lint": "failed"}
    assert entry["approved"] and entry["tampering"] == []


def test_log_shows_an_overridden_pass_and_a_dropped_failure(
    checked: TestRepo,  # noqa: F811 (a fixture)
    people: dict[str, Reviewer],
    ci: Reviewer,  # noqa: F811 (a fixture)
) -> None:
    """A later failure outweighs the pass; dropping it from the notes (``git notes add -f``)
    changes nothing, and the trail says it was dropped, as it says of a dropped decision."""
    approve(checked, people["aisha"])
    head = checked.rev("ai-fix/sqli")
    recorded(checked, ci, "tests", "--passed")
    [passed_line] = check_lines(checked, head)
    recorded(checked, ci, "tests", "--failed")
    checked.git("notes", f"--ref={CHECKS_REF}", "add", "-f", "-m", passed_line, head)
    entry = log_entry(checked)
    passed, failed = entry["check_records"]
    assert passed["status"] == "passed" and failed["status"] == "failed"
    assert passed["counted"] and not passed["decides"]
    assert passed["overridden_by"] == failed["id"]
    assert failed["decides"] and failed["overridden_by"] is None
    assert passed["removed_in"] is None and failed["removed_in"] is not None
    [tampering] = entry["tampering"]
    assert tampering.startswith(f"tampering: notes commit {failed['removed_in'][:12]} removed")
    assert f"a failed tests record on {head[:12]}" in tampering
    assert not entry["approved"]
    text = fixreview(checked, "log", "ai-fix/sqli").stdout
    assert "  checks     tests failed (required)" in text
    when = failed["time"].removesuffix("+00:00").split(".")[0] + "+00:00"
    assert f"on {head[:12]} by CI <ci@example.com>: counted, overridden: the failed " in text
    assert f"record of {when} decides tests" in text
    assert "by CI <ci@example.com>: counts\n" in text
    assert f"  ! {tampering}" in text.splitlines()


def test_attest_names_only_the_counted_passing_checks(
    checked: TestRepo,  # noqa: F811 (a fixture)
    people: dict[str, Reviewer],
    ci: Reviewer,  # noqa: F811 (a fixture)
    tmp_path: Path,
) -> None:
    approve(checked, people["aisha"])
    three_records(checked, ci, people["mallory"], tmp_path)
    recorded(checked, people["mallory"], "docs", "--passed")  # no CI key: not a passed check
    proc = fixreview(checked, "attest", "ai-fix/sqli")
    assert proc.returncode == 0, proc.stderr
    predicate = json.loads(proc.stdout)["predicate"]
    assert predicate["requiredChecks"] == ["tests"]
    [check] = predicate["checks"]  # not lint (failed), not mallory's tests or docs
    counted = log_entry(checked)["check_records"][0]
    assert check == {
        "name": "tests",
        "status": "passed",
        "counts": PASS_COUNTS,
        "url": RUN_URL,
        "signer": "ci@example.com",
        "signerName": "CI",
        "key": fingerprint(ci),
        "time": counted["time"],
        "recordId": counted["id"],
    }


def test_attest_names_the_latest_pass_with_no_counts_without_junit(
    checked: TestRepo,  # noqa: F811 (a fixture)
    people: dict[str, Reviewer],
    ci: Reviewer,  # noqa: F811 (a fixture)
) -> None:
    """A check recorded without a JUnit report has no counts; a later pass of the same check
    is the one named."""
    approve(checked, people["aisha"])
    recorded(checked, ci, "tests", "--failed")
    recorded(checked, ci, "tests", "--passed", "--url", RUN_URL)
    predicate = json.loads(fixreview(checked, "attest", "ai-fix/sqli").stdout)["predicate"]
    [check] = predicate["checks"]
    assert check["counts"] is None and check["url"] == RUN_URL
    latest = log_entry(checked)["check_records"][1]
    assert latest["decides"] and check["recordId"] == latest["id"]


def test_hostile_text_in_check_records_reaches_no_terminal(
    checked: TestRepo,  # noqa: F811 (a fixture)
    people: dict[str, Reviewer],
    ci: Reviewer,  # noqa: F811 (a fixture)
) -> None:
    """A URL and a signer's name with terminal escapes and a bidi override: JSON escapes them
    (and reads back the original), text shows stand-ins. A record whose name is hostile, signed
    by CI's own key, is refused when read: its name is never printed."""
    approve(checked, people["aisha"])
    url = "https://ci.example.com/run/7\x1b]8;;https://evil.example\x07\u202e"
    recorded(checked, ci, "tests", "--passed", "--url", url)
    hostile = ci.env(**{"user.name": "CI\x1b[2J\u202e"})
    proc = fixreview(checked, "record-check", "lint", "--passed", "ai-fix/sqli", env=hostile)
    assert proc.returncode == 0, proc.stderr
    head = checked.rev("ai-fix/sqli")
    tree = checked.rev("ai-fix/sqli^{tree}")
    name = "docs\\u001b[31m\\u202e"  # TOML escapes: the payload parses, the name is refused
    payload = (
        f'schema = 1\nid = "x"\nname = "{name}"\nstatus = "passed"\nhead_commit = "{head}"\n'
        f'head_tree = "{tree}"\ntime = 2030-01-01T00:00:00Z\nsigner = "ci@example.com"\n'
        'signing_format = "ssh"\nkey = "k"\n'
    ).encode()
    signed = ci.sign(payload, "fixreview-check")
    lines = [*check_lines(checked, head), f"check {b64encode(payload)} {b64encode(signed)}"]
    checked.git("notes", f"--ref={CHECKS_REF}", "add", "-f", "-m", "\n".join(lines), head)

    for argv in (("log", "ai-fix/sqli"), ("log", "ai-fix/sqli", "--json"),
                 ("attest", "ai-fix/sqli")):  # fmt: skip
        proc = fixreview(checked, *argv)
        assert proc.returncode == 0, proc.stderr
        for raw in ("\x1b", "\x07", "\u202e"):
            assert raw not in proc.stdout + proc.stderr, (argv, raw)
    text = fixreview(checked, "log", "ai-fix/sqli").stdout
    assert "url: https://ci.example.com/run/7" in text
    assert "docs" not in text
    out = fixreview(checked, "log", "ai-fix/sqli", "--json").stdout
    assert "\\u001b]8;;https://evil.example\\u0007\\u202e" in out
    doc = json.loads(out)
    records = doc["entries"][0]["check_records"]
    assert [r["name"] for r in records] == ["tests", "lint"]  # the hostile one is refused
    assert records[0]["url"] == url and records[1]["signer_name"] == "CI\x1b[2J\u202e"
    assert any(
        f"note on {head[:12]} record 3: payload is not a valid CheckRecord: name:" in w
        for w in doc["warnings"]
    )
    attested = json.loads(fixreview(checked, "attest", "ai-fix/sqli").stdout)["predicate"]
    assert [c["name"] for c in attested["checks"]] == ["tests", "lint"]
    assert attested["checks"][0]["url"] == url
