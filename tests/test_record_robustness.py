"""No note line can crash or stall a command: deeply nested TOML, wrong types, local date-times,
huge or binary lines and malformed frozen patches are skipped with a warning; and ``--json``
output never passes terminal control or invisible characters through raw."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fixreview.decisions import read_decisions
from fixreview.models import Finding
from fixreview.notes.records import (
    MAX_DECISION_LINE_BYTES,
    TAG_DECISION,
    b64decode,
    b64encode,
    encode_line,
    parse_note,
    toml_to_model,
)
from fixreview.notes.store import DECISIONS_REF, PROPOSALS_REF, append_record
from fixreview.proposals import proposal_line, propose
from fixreview.repo.git import Repository
from tests.gitutil import AI, TestRepo
from tests.signing_util import Reviewer, allow
from tests.test_decide_verify import APPROVE, decide, fixreview, verify

DEEP = b"a = " + b"[" * 100_000 + b"]" * 100_000 + b"\n"


@pytest.fixture
def approved(repo: TestRepo, aisha: Reviewer, tmp_path: Path) -> TestRepo:
    """ai-fix/sqli, proposed with a finding and approved by aisha (verify passes)."""
    allow(repo, aisha)
    repo.checkout("-b", "ai-fix/sqli")
    repo.commit(
        "Parameterize\n\nUse bound parameters so user input stays data.",
        {"app/db.py": "def query(sql, args):\n    return sql, args\n", "tests/t.py": "x = 1\n"},
        who=AI,
    )
    repo.checkout("main")
    (tmp_path / "f.toml").write_text('id = "SEC-1"\ntitle = "SQL injection"\nseverity = "high"\n')
    proc = fixreview(repo, "propose", "ai-fix/sqli", "--finding", str(tmp_path / "f.toml"))
    assert proc.returncode == 0, proc.stderr
    proc = decide(repo, aisha, *APPROVE)
    assert proc.returncode == 0, proc.stderr
    assert verify(repo).returncode == 0
    return repo


def _add_decision_line(repo: TestRepo, line: str) -> None:
    append_record(Repository(repo.path), DECISIONS_REF, repo.rev("ai-fix/sqli"), line)


def _every_command_survives(repo: TestRepo, expect: str) -> None:
    """list, show, log and verify all run, and list and verify report EXPECT."""
    for argv in (
        ["list", "--all"],
        ["list", "--all", "--json"],
        ["show", "ai-fix/sqli"],
        ["show", "ai-fix/sqli", "--json"],
        ["log", "ai-fix/sqli"],
        ["log", "ai-fix/sqli", "--json"],
        ["verify", "ai-fix/sqli"],
    ):
        proc = fixreview(repo, *argv)
        assert proc.returncode == 0, (argv, proc.stdout[-2000:], proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr
        if argv[0] in ("list", "verify"):  # the commands that report the notes' warnings
            assert expect in proc.stdout + proc.stderr, (argv, proc.stdout[-2000:], proc.stderr)


def _signed_payload(repo: TestRepo) -> tuple[str, bytes, str]:
    """The first decision on the head: its tag, payload bytes and signature (base64url)."""
    note = repo.git("notes", f"--ref={DECISIONS_REF}", "show", repo.rev("ai-fix/sqli"))
    tag, payload, signature = note.splitlines()[0].split(" ")
    return tag, b64decode(payload), signature


def test_deeply_nested_payload_is_a_warning(approved: TestRepo) -> None:
    _add_decision_line(approved, encode_line(TAG_DECISION, DEEP, b"sig"))
    _every_command_survives(approved, "nested too deeply")


def test_wrong_types_are_a_warning(approved: TestRepo) -> None:
    tag, payload, signature = _signed_payload(approved)
    for old, new in (
        (b'verdict = "approve"', b"verdict = 5"),
        (b'verdict = "approve"', b"verdict = [1, {a = 2}]"),
        (b"schema = 1", b"schema = 1e999"),
    ):
        assert old in payload
        _add_decision_line(approved, f"{tag} {b64encode(payload.replace(old, new))} {signature}")
    _every_command_survives(approved, "not a valid Decision")


def test_local_date_time_is_a_warning(approved: TestRepo) -> None:
    tag, payload, signature = _signed_payload(approved)
    lines = payload.split(b"\n")
    [index] = [i for i, line in enumerate(lines) if line.startswith(b"time = ")]
    lines[index] = b"time = 2026-10-01T10:00:00"  # no offset: a TOML local date-time
    local = b64encode(b"\n".join(lines))
    _add_decision_line(approved, f"{tag} {local} {signature}")
    _every_command_survives(approved, "timezone")
    records, _, _ = read_decisions(Repository(approved.path))
    assert all(r.decision.time.tzinfo is not None for rs in records.values() for r in rs)


def test_local_date_time_in_a_proposal_is_a_warning(approved: TestRepo) -> None:
    r = Repository(approved.path)
    head = approved.rev("ai-fix/sqli")
    [line] = approved.git("notes", f"--ref={PROPOSALS_REF}", "show", head).splitlines()
    fields = line.split(" ")  # proposal PAYLOAD PATCH: the patch field is kept as it is
    payload = b64decode(fields[1])
    text = b"\n".join(
        b"recorded = 2099-01-01T00:00:00" if item.startswith(b"recorded = ") else item
        for item in payload.split(b"\n")
    )
    append_record(r, PROPOSALS_REF, head, " ".join([fields[0], b64encode(text), *fields[2:]]))
    _every_command_survives(approved, "timezone")


def test_huge_binary_and_junk_lines_are_warnings(approved: TestRepo) -> None:
    huge = "decision " + "A" * (MAX_DECISION_LINE_BYTES + 4) + " AAAA"
    _add_decision_line(approved, huge)
    _add_decision_line(approved, "decision \x00\x01\x02\xff\ufffe \x1b[31m")
    _add_decision_line(approved, "\x1b]8;;http://evil/\x07click\x1b]8;;\x07")
    _every_command_survives(approved, "line too long")
    _, warnings, _ = read_decisions(Repository(approved.path))
    assert len(warnings) == 3


def test_a_line_above_the_cap_is_never_parsed() -> None:
    huge = b"proposal " + b"A" * (17 * 1024 * 1024)
    records, bad = parse_note("a" * 40, huge)  # its speed: benchmarks/junk_records.py
    assert records == [] and "too long" in bad[0].reason and len(bad[0].text) < 100


def _bad_patch_proposal(repo: TestRepo, patch: str) -> None:
    """A second, newer proposal for the branch whose frozen patch is PATCH (proposals are
    unsigned: anyone who may push notes can add one)."""
    r = Repository(repo.path)
    head = repo.rev("ai-fix/sqli")
    from datetime import UTC, datetime

    proposal = propose(r, "ai-fix/sqli", Finding(id="SEC-1", severity="high"))
    broken = proposal.model_copy(
        update={
            "id": "broken",
            "recorded": datetime(2099, 1, 1, tzinfo=UTC),
            "suggestion": proposal.suggestion.model_copy(update={"patch": patch}),
        }
    )
    append_record(r, PROPOSALS_REF, head, proposal_line(broken))  # as propose writes it


@pytest.mark.parametrize(
    "patch",
    [
        "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,5 +1,5 @@\n+only one line\n",
        "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -a,b +c,d @@\n garbage\n",
        "@@ -1 +1 @@\n-a\n+b\n",
    ],
)
def test_malformed_frozen_patch_is_a_warning(approved: TestRepo, patch: str) -> None:
    _bad_patch_proposal(approved, patch)
    _every_command_survives(approved, "suggestion.patch")
    listed = json.loads(fixreview(approved, "list", "--all", "--json").stdout)
    [row] = listed["fixes"]
    assert row["status"] == "approved" and row["finding_id"] == "SEC-1"


def test_a_bad_record_never_hides_the_good_ones(approved: TestRepo) -> None:
    note = b"".join(
        line + b"\n"
        for line in (
            encode_line(TAG_DECISION, DEEP, b"s").encode(),
            b"decision \xff\xfe \xff",
            encode_line(TAG_DECISION, b"time = 1979-05-27T07:32:00\n", b"s").encode(),
        )
    )
    records, bad = parse_note("a" * 40, note)
    assert len(records) + len(bad) == 3
    for record in records:
        with pytest.raises(ValueError):
            from fixreview.decisions import Decision

            toml_to_model(record.payload, Decision)


# -- 20,000 junk records on one commit ------------------------------------------------------------


def test_twenty_thousand_junk_records_read_in_seconds(approved: TestRepo, tmp_path: Path) -> None:
    tag, payload, signature = _signed_payload(approved)
    head = approved.rev("ai-fix/sqli")
    existing = approved.git("notes", f"--ref={DECISIONS_REF}", "show", head)
    junk = []
    for n in range(20_000):
        kind = n % 4
        if kind == 0:  # well-formed, signature does not match
            body = payload.replace(b'comment = ""', f'comment = "junk {n}"'.encode())
            junk.append(f"{tag} {b64encode(body)} {signature}")
        elif kind == 1:  # not TOML
            junk.append(encode_line(TAG_DECISION, f"junk {n} = = =".encode(), b"s"))
        elif kind == 2:  # wrong types
            junk.append(encode_line(TAG_DECISION, f"verdict = {n}\n".encode(), b"s"))
        else:  # not base64
            junk.append(f"decision !!{n}!! !!")
    note = tmp_path / "note"
    note.write_text(existing + "\n".join(junk) + "\n")
    approved.git("notes", f"--ref={DECISIONS_REF}", "add", "-f", "-F", str(note), head)
    records, warnings, _ = read_decisions(Repository(approved.path))  # speed: benchmarks/
    assert len(records[head]) == 1 + 5000 and len(warnings) == 15_000


# -- --json never prints control or invisible characters raw ------------------------------------

NASTY = "\u009b31m\u202egnp.exe\u200b\u2066\U000e0041\u0085\u00ad"


def test_json_output_escapes_controls_and_invisible_characters(repo: TestRepo) -> None:
    branch = f"ai-fix/x{NASTY}"
    repo.checkout("-b", branch)
    repo.commit(f"subject {NASTY}\n\nbody \x1b[2J {NASTY}\n\nFinding-Id: SEC-{NASTY}", {"x": "1\n"})
    repo.checkout("main")
    for argv in (["list", "--all", "--json"], ["show", branch, "--json"]):
        proc = subprocess.run(
            [sys.executable, "-m", "fixreview", "--repo", str(repo.path), *argv],
            capture_output=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        raw = proc.stdout
        for char in NASTY + "\x1b":
            if not char.isalnum() and char != ".":
                assert char.encode("utf-8") not in raw, (argv, f"U+{ord(char):04X}")
        assert b"\\u009b" in raw and b"\\u202e" in raw and b"\\udb40\\udc41" in raw
        document = json.loads(raw)
        text = json.dumps(document, ensure_ascii=False)
        assert NASTY in text  # the strings read back exactly
        if argv[0] == "show":
            assert "body \x1b[2J" in document["commits"][0]["body"]
