"""Note records (one per line, base64url TOML) and the compare-and-swap writer."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from fixreview.models import Finding, Proposal
from fixreview.notes.proposal_codec import proposal_from_record
from fixreview.notes.records import (
    TAG_PROPOSAL,
    RawRecord,
    encode_line,
    model_to_toml,
    parse_note,
    toml_to_model,
)
from fixreview.notes.store import PROPOSALS_REF, append_record, read_notes
from fixreview.queue import load_queue
from fixreview.repo.git import Repository
from tests.gitutil import AI, TestRepo
from tests.racing import RACERS, Job, overlapped, race, unreachable_commits


def test_line_round_trip_keeps_exact_payload_bytes() -> None:
    payload = b'schema = 1\nid = "x"\n'
    line = encode_line("decision", payload, b"\x00sig\xff")
    assert "\n" not in line and line.startswith("decision ")
    records, bad = parse_note("a" * 40, (line + "\n").encode())
    assert bad == []
    assert records[0].payload == payload and records[0].signature == b"\x00sig\xff"


def test_bad_lines_are_reported_not_fatal() -> None:
    good = encode_line(TAG_PROPOSAL, b"schema = 1\n")
    note = "\n".join(
        [
            "garbage line",
            good,
            "proposal !!!not-base64!!!",
            "decision onlyonefield",
            "",
            "[@click=app.quit] markup",
        ]
    ).encode()
    records, bad = parse_note("b" * 40, note)
    assert [r.line for r in records] == [good]
    assert [b.number for b in bad] == [1, 3, 4, 6]
    assert "unknown record tag" in bad[0].describe()


def test_proposal_toml_round_trip() -> None:
    from datetime import UTC, datetime

    from fixreview.models import Suggestion

    proposal = Proposal(
        id="p1",
        branch="ai-fix/x",
        recorded=datetime(2026, 10, 1, tzinfo=UTC),
        finding=Finding(id="SEC-1", severity="low", evidence="line\n\x1b[31mred\n"),
        suggestion=Suggestion(commit="c" * 40, patch="diff --git a/x b/x\n"),
    )
    payload = model_to_toml(proposal)
    assert b"schema = 1" in payload
    assert toml_to_model(payload, Proposal) == proposal


def test_append_keeps_existing_lines_and_is_idempotent(repo: TestRepo) -> None:
    r = Repository(repo.path)
    target = repo.rev("HEAD")
    a = encode_line(TAG_PROPOSAL, b"a = 1\n")
    b = encode_line(TAG_PROPOSAL, b"b = 2\n")
    append_record(r, PROPOSALS_REF, target, a)
    append_record(r, PROPOSALS_REF, target, b)
    append_record(r, PROPOSALS_REF, target, a)
    note = repo.git("notes", f"--ref={PROPOSALS_REF}", "show", target)
    assert note.splitlines() == [a, b]
    snapshot = read_notes(r, PROPOSALS_REF)
    assert [rec.payload for rec in snapshot.records[target]] == [b"a = 1\n", b"b = 2\n"]
    assert repo.git("for-each-ref", "refs/notes/fixreview-tmp/") == ""


def test_concurrent_propose_processes_keep_every_proposal(repo: TestRepo, tmp_path: Path) -> None:
    finding = tmp_path / "finding.toml"
    finding.write_text('id = "SEC-9"\ntitle = "t"\nseverity = "high"\n')
    names = [f"ai-fix/c{i:02d}" for i in range(RACERS)]
    for name in names:
        repo.checkout("-b", name, "main")
        repo.commit(f"fix {name}", {f"{name.replace('/', '_')}.txt": f"{name}\n"}, who=AI)
    repo.checkout("main")
    outcomes = race(
        [
            Job(["--repo", str(repo.path), "propose", name, "--finding", str(finding)], os.environ)
            for name in names
        ]
    )
    assert [o.code for o in outcomes] == [0] * RACERS, [o.stderr for o in outcomes]
    assert overlapped(outcomes)  # every writer was running at one same instant
    assert unreachable_commits(repo.path) > 0  # some lost the compare-and-swap and retried
    fixes = load_queue(Repository(repo.path)).fixes
    assert sorted(f.branch.name for f in fixes if f.source == "note") == names
    listed = repo.git("notes", f"--ref={PROPOSALS_REF}", "list").splitlines()
    assert len(listed) == RACERS


def test_docs_recipe_decodes_a_proposal_with_stock_tools(repo: TestRepo, tmp_path: Path) -> None:
    repo.checkout("-b", "ai-fix/x")
    head = repo.commit("fix", {"x.txt": "x\n"}, who=AI)
    repo.checkout("main")
    r = Repository(repo.path)
    from fixreview.proposals import propose

    proposal = propose(r, "ai-fix/x", Finding(id="SEC-5", severity="low"))
    docs = (Path(__file__).resolve().parents[1] / "docs" / "format.md").read_text()
    recipe = (
        docs.split("## Reading records with stock tools")[1].split("```sh\n")[1].split("```")[0]
    )
    recipe = recipe.replace("ai-fix/sqli-invoice-search", "ai-fix/x")
    out = subprocess.run(
        ["sh", "-c", recipe], cwd=repo.path, capture_output=True, check=True
    ).stdout
    # the recipe's payload and patch are the record's, byte for byte: with them, the record's
    # own decoder gives back the proposal that was written
    patch = (repo.path / "suggestion.patch").read_bytes()
    assert out == (repo.path / "payload.toml").read_bytes() and b"patch_sha256" in out
    record = RawRecord(TAG_PROPOSAL, out, None, "", patch=patch)
    assert proposal_from_record(record) == proposal
    assert patch.decode() == proposal.suggestion.patch and "diff --git" in patch.decode()
    assert proposal.suggestion.commit == head
