"""Signed decisions and the verify gate, end to end through the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fixreview.notes.records import b64decode, b64encode
from fixreview.notes.store import DECISIONS_REF
from tests.cliutil import APPROVE, fixreview
from tests.gitutil import AI, HUMAN, TestRepo
from tests.racing import RACERS, Job, overlapped, race, unreachable_commits
from tests.signing_util import Reviewer, allow, make_reviewer


@pytest.fixture
def gated(repo: TestRepo, people: dict[str, Reviewer]) -> TestRepo:
    """main allows aisha and tomas; ai-fix/sqli is an AI commit on top."""
    allow(repo, people["aisha"], people["tomas"])
    sqli_fix(repo)
    return repo


def sqli_fix(repo: TestRepo) -> None:
    """ai-fix/sqli: one AI commit on main, claiming SEC-1, with a test; main checked out."""
    repo.checkout("-b", "ai-fix/sqli")
    repo.commit(
        "Parameterize\n\nUse bound parameters so user input stays data.\n\nFinding-Id: SEC-1",
        {
            "app/db.py": "def query(sql, args):\n    return sql, args\n",
            "tests/test_db.py": "def test_query():\n    assert True\n",
        },
        who=AI,
    )
    repo.checkout("main")


def decide(
    repo: TestRepo, who: Reviewer, *argv: str, branch: str = "ai-fix/sqli"
) -> subprocess.CompletedProcess[str]:
    return fixreview(repo, "decide", branch, *argv, env=who.env())


def verify(
    repo: TestRepo, rev: str = "ai-fix/sqli", *argv: str
) -> subprocess.CompletedProcess[str]:
    return fixreview(repo, "verify", rev, *argv)


def records(repo: TestRepo, commit: str) -> list[str]:
    return repo.git("notes", f"--ref={DECISIONS_REF}", "show", commit).splitlines()


def test_approval_is_signed_bound_and_passes_the_gate(
    gated: TestRepo, people: dict[str, Reviewer]
) -> None:
    proc = decide(gated, people["aisha"], *APPROVE, "--comment", "looks right")
    assert proc.returncode == 0, proc.stderr
    assert "signed with SHA256:" in proc.stdout
    head = gated.rev("ai-fix/sqli")
    [line] = records(gated, head)
    tag, payload, signature = line.split(" ")
    assert tag == "decision"
    text = b64decode(payload).decode()
    for key in (
        "schema = 1",
        'verdict = "approve"',
        'finding = "SEC-1"',
        'branch = "ai-fix/sqli"',
        'target = "main"',
        f'head_commit = "{head}"',
        "head_tree",
        "base_commit",
        "base_tree",
        "diff_sha256",
        "suggestion_commit",
        'reviewer = "aisha@example.com"',
        'signing_format = "ssh"',
        'key = "SHA256:',
        "time = ",
        "[checklist.intent]",
        'status = "confirmed"',
        'note = "revert if search breaks"',
        "acknowledged_flags",
        'comment = "looks right"',
    ):
        assert key in text, key
    assert b"BEGIN SSH SIGNATURE" in b64decode(signature)
    proc = verify(gated)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "APPROVED: 1 of 1 approvals" in proc.stdout
    listed = fixreview(gated, "list", "--all", "--json")
    assert json.loads(listed.stdout)["fixes"][0]["status"] == "approved"


def test_no_decision_means_not_approved(gated: TestRepo, people: dict[str, Reviewer]) -> None:
    decide(gated, people["aisha"], "--reject", "--comment", "no", branch="ai-fix/sqli")
    gated.checkout("-b", "ai-fix/other", "main")
    gated.commit("other", {"o.txt": "o\n"}, who=AI)
    gated.checkout("main")
    proc = verify(gated, "ai-fix/other")
    assert proc.returncode == 1
    assert "no decisions on this fix" in proc.stdout
    assert "NOT APPROVED: 0 of 1 required approvals" in proc.stdout


def test_approve_needs_the_whole_checklist_and_rollback(
    gated: TestRepo, people: dict[str, Reviewer]
) -> None:
    proc = decide(gated, people["aisha"], "--approve", "--intent", "x", "--scope", "y")
    assert proc.returncode == 2 and "checklist not confirmed: blast radius, rollback" in proc.stderr
    proc = decide(
        gated,
        people["aisha"],
        "--approve",
        "--intent",
        "x",
        "--scope",
        "y",
        "--blast-radius",
        "z",
        "--rollback",
        "  ",
    )
    assert proc.returncode == 2 and "rollback criteria" in proc.stderr
    for verdict in ("--reject", "--request-changes"):
        proc = decide(gated, people["aisha"], verdict)
        assert proc.returncode == 2 and "needs a comment" in proc.stderr
    assert gated.git("for-each-ref", DECISIONS_REF) == ""


def test_no_signing_key_writes_nothing_and_says_what_to_configure(
    gated: TestRepo, people: dict[str, Reviewer]
) -> None:
    env = people["aisha"].env(**{"user.signingKey": ""})
    proc = fixreview(gated, "decide", "ai-fix/sqli", *APPROVE, env=env)
    assert proc.returncode == 2
    assert "user.signingKey" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    env = people["aisha"].env(**{"user.signingKey": "/nonexistent/key"})
    proc = fixreview(gated, "decide", "ai-fix/sqli", *APPROVE, env=env)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert gated.git("for-each-ref", DECISIONS_REF) == ""


def test_verify_without_notes_ref_names_the_refspec(gated: TestRepo) -> None:
    proc = verify(gated)
    assert proc.returncode == 2
    assert "git fetch origin 'refs/notes/fixreview/*:refs/notes/fixreview/*'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_verify_outside_a_repository(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fixreview", "--repo", str(tmp_path), "verify"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "not a git repository" in proc.stderr


# -- attacks that must fail ------------------------------------------------------------------


def _approved(gated: TestRepo, people: dict[str, Reviewer]) -> str:
    assert decide(gated, people["aisha"], *APPROVE).returncode == 0
    assert verify(gated).returncode == 0
    return gated.rev("ai-fix/sqli")


def _replace_note(repo: TestRepo, commit: str, lines: list[str]) -> None:
    """Make LINES the whole decisions history of COMMIT, as a force push of a rewritten notes
    ref would (a rewrite that keeps the history is judged as a ledger: tests/test_ledger.py)."""
    listed = repo.git("notes", f"--ref={DECISIONS_REF}", "list").splitlines()
    others = [
        (target, repo.git("notes", f"--ref={DECISIONS_REF}", "show", target))
        for _, target in (row.split(" ") for row in listed)
        if target != commit
    ]
    repo.git("update-ref", "-d", DECISIONS_REF)
    for target, text in others:
        repo.git("notes", f"--ref={DECISIONS_REF}", "add", "-m", text.rstrip("\n"), target)
    repo.git("notes", f"--ref={DECISIONS_REF}", "add", "-f", "-m", "\n".join(lines), commit)


@pytest.mark.parametrize(
    "field,old,new",
    [
        ("verdict", 'verdict = "approve"', 'verdict = "approve" '),
        ("finding", 'finding = "SEC-1"', 'finding = "SEC-2"'),
        ("reviewer", 'reviewer = "aisha@example.com"', 'reviewer = "tomas@example.com"'),
        ("comment", 'comment = ""', 'comment = "x"'),
        ("rollback", 'note = "revert if search breaks"', 'note = "never"'),
    ],
)
def test_any_changed_payload_field_breaks_the_signature(
    gated: TestRepo, people: dict[str, Reviewer], field: str, old: str, new: str
) -> None:
    head = _approved(gated, people)
    [line] = records(gated, head)
    tag, payload, signature = line.split(" ")
    text = b64decode(payload).decode()
    assert old in text, field
    forged = b64encode(text.replace(old, new, 1).encode())
    _replace_note(gated, head, [f"{tag} {forged} {signature}"])
    proc = verify(gated)
    assert proc.returncode == 1
    assert "not counted" in proc.stdout and "signature" in proc.stdout


def test_record_copied_onto_another_commit_does_not_count(
    gated: TestRepo, people: dict[str, Reviewer]
) -> None:
    head = _approved(gated, people)
    [line] = records(gated, head)
    gated.checkout("ai-fix/sqli")
    new_head = gated.commit("sneak in more", {"app/evil.py": "import os\n"}, who=AI)
    gated.checkout("main")
    _replace_note(gated, new_head, [line])
    proc = verify(gated)
    assert proc.returncode == 1
    assert "copied from another commit" in proc.stdout


def test_commit_added_after_approval_makes_it_stale(
    gated: TestRepo, people: dict[str, Reviewer]
) -> None:
    _approved(gated, people)
    gated.checkout("ai-fix/sqli")
    gated.commit("one more thing", {"app/db.py": "def query(sql, args):\n    return sql\n"}, who=AI)
    gated.checkout("main")
    proc = verify(gated)
    assert proc.returncode == 1 and "stale: decided on" in proc.stdout
    listed = json.loads(fixreview(gated, "list", "--json").stdout)
    assert listed["fixes"][0]["status"] == "stale"


def test_key_not_in_allowed_signers(gated: TestRepo, people: dict[str, Reviewer]) -> None:
    proc = decide(gated, people["mallory"], *APPROVE)
    assert proc.returncode == 2 and "will not count" in proc.stderr  # refused before signing
    proc = decide(gated, people["mallory"], *APPROVE, "--record-anyway")
    assert proc.returncode == 0
    proc = verify(gated)
    assert proc.returncode == 1
    # in words, never a verifier's raw output
    assert "signature: key SHA256:" in proc.stdout
    assert "is not in the base's allowed signers for mallory@example.com" in proc.stdout


def test_key_allowed_only_for_another_identity(
    gated: TestRepo, people: dict[str, Reviewer]
) -> None:
    # mallory signs with her own key but claims to be aisha
    mallory_as_aisha = Reviewer("Aisha Okafor", "aisha@example.com", people["mallory"].key)
    assert decide(gated, mallory_as_aisha, *APPROVE, "--record-anyway").returncode == 0
    proc = verify(gated)
    assert proc.returncode == 1
    assert "is not in the base's allowed signers for aisha@example.com" in proc.stdout
    # and aisha's own key cannot sign as tomas
    aisha_as_tomas = Reviewer("Tomás Herrera", "tomas@example.com", people["aisha"].key)
    assert decide(gated, aisha_as_tomas, *APPROVE, "--record-anyway").returncode == 0
    assert verify(gated).returncode == 1


def test_reviewer_who_authored_or_committed_a_commit_of_the_fix(
    gated: TestRepo, people: dict[str, Reviewer]
) -> None:
    aisha = people["aisha"]
    gated.checkout("ai-fix/sqli")
    gated.commit(
        "touch up",
        {"app/db.py": "def query(sql, args=()):\n    return sql, args\n"},
        who=HUMAN,
        committer=(aisha.name, aisha.email),
    )
    gated.checkout("main")
    assert decide(gated, aisha, *APPROVE, "--record-anyway").returncode == 0
    proc = verify(gated)
    assert proc.returncode == 1
    assert "authored or committed a commit of this fix" in proc.stdout


def test_ai_identity_cannot_be_a_reviewer(
    gated: TestRepo, people: dict[str, Reviewer], tmp_path: Path
) -> None:
    bot = make_reviewer(
        tmp_path / "bot", "review-bot[bot]", "review-bot[bot]@users.noreply.github.com"
    )
    gated.checkout("main")
    allow(gated, people["aisha"], people["tomas"], bot)
    gated.checkout("ai-fix/sqli")
    gated.git("rebase", "-q", "main")
    gated.checkout("main")
    assert decide(gated, bot, *APPROVE, "--record-anyway").returncode == 0
    proc = verify(gated)
    assert proc.returncode == 1 and "is an AI identity" in proc.stdout


def test_fix_branch_cannot_allow_its_own_key_or_loosen_the_policy(
    gated: TestRepo, people: dict[str, Reviewer]
) -> None:
    mallory = people["mallory"]
    gated.checkout("ai-fix/sqli")
    allow(gated, people["aisha"], people["tomas"], mallory)
    gated.commit(
        "loosen",
        {".fixreview.toml": "[approvals]\nrequired = 1\nsensitive = 1\nai_identities = []\n"},
    )
    gated.checkout("main")
    gated.commit("strict policy", {".fixreview.toml": "[approvals]\nrequired = 2\n"})
    sensitive = ["--ack", "policy-change", "sensitive-path"]
    assert decide(gated, mallory, *APPROVE, *sensitive, "--record-anyway").returncode == 0
    proc = verify(gated)
    assert proc.returncode == 1
    assert "signature:" in proc.stdout  # mallory's key is only allowed on the fix branch
    assert decide(gated, people["aisha"], *APPROVE, *sensitive).returncode == 0
    proc = verify(gated)
    assert proc.returncode == 1  # main asks for 2 (and the fix touches the policy: sensitive)
    assert "1 of 2 required approvals" in proc.stdout


def test_later_request_changes_or_reject_blocks(
    gated: TestRepo, people: dict[str, Reviewer]
) -> None:
    _approved(gated, people)
    assert (
        decide(gated, people["tomas"], "--request-changes", "--comment", "add a test").returncode
        == 0
    )
    proc = verify(gated)
    assert proc.returncode == 1 and "request-changes by Tomás Herrera" in proc.stdout
    assert (
        json.loads(fixreview(gated, "list", "--all", "--json").stdout)["fixes"][0]["status"]
        == "changes-requested"
    )
    # the same reviewer changing their mind to approve lifts their own veto
    assert decide(gated, people["tomas"], *APPROVE).returncode == 0
    assert verify(gated).returncode == 0
    # aisha's later reject stands over her own earlier approval
    assert decide(gated, people["aisha"], "--reject", "--comment", "wrong approach").returncode == 0
    proc = verify(gated)
    assert proc.returncode == 1 and "reject by Aisha Okafor" in proc.stdout
    assert (
        json.loads(fixreview(gated, "list", "--all", "--json").stdout)["fixes"][0]["status"]
        == "rejected"
    )


def test_malformed_line_is_reported_and_never_counted(
    gated: TestRepo, people: dict[str, Reviewer]
) -> None:
    head = _approved(gated, people)
    [line] = records(gated, head)
    _replace_note(gated, head, [line, "decision garbage!!! x", "[@click=app.quit] \x1b[31m"])
    proc = verify(gated)
    assert proc.returncode == 0
    assert proc.stdout.count("warning:") == 2
    assert "\x1b" not in proc.stdout
    assert "APPROVED: 1 of 1" in proc.stdout


def test_two_approvals_from_the_same_reviewer_count_once(
    gated: TestRepo, people: dict[str, Reviewer]
) -> None:
    gated.commit("two needed", {".fixreview.toml": "[approvals]\nrequired = 2\n"})
    gated.checkout("ai-fix/sqli")
    gated.git("rebase", "-q", "main")
    gated.checkout("main")
    assert decide(gated, people["aisha"], *APPROVE).returncode == 0
    assert decide(gated, people["aisha"], *APPROVE).returncode == 0
    proc = verify(gated)
    assert proc.returncode == 1 and "1 of 2 required approvals" in proc.stdout
    assert decide(gated, people["tomas"], *APPROVE).returncode == 0
    assert verify(gated).returncode == 0


def test_verify_json_and_github_annotations(gated: TestRepo, people: dict[str, Reviewer]) -> None:
    _approved(gated, people)
    assert (
        decide(
            gated, people["mallory"], *APPROVE, "--comment", "100% fine\nreally", "--record-anyway"
        ).returncode
        == 0
    )
    doc = json.loads(verify(gated, "ai-fix/sqli", "--json").stdout)
    assert doc["approved"] is True and doc["required"] == 1
    assert [(d["reviewer"], d["counted"], d["signature_valid"]) for d in doc["decisions"]] == [
        ("aisha@example.com", True, True),
        ("mallory@example.com", False, False),
    ] or sorted((d["reviewer"], d["counted"]) for d in doc["decisions"]) == [
        ("aisha@example.com", True),
        ("mallory@example.com", False),
    ]
    proc = verify(gated, "ai-fix/sqli", "--github")
    assert proc.returncode == 0
    assert (
        "::notice title=fixreview approval::approve by Aisha Okafor <aisha@example.com> counts"
        in proc.stdout
    )
    assert "::warning title=fixreview decision not counted::approve by Mallory" in proc.stdout


def test_verify_a_detached_head_in_ci(
    gated: TestRepo, people: dict[str, Reviewer], tmp_path: Path
) -> None:
    _approved(gated, people)
    ci = TestRepo.clone_of(gated.path, tmp_path / "ci", "--no-checkout")
    assert verify(ci, "origin/ai-fix/sqli").returncode == 2  # notes not fetched yet
    ci.git("fetch", "-q", "origin", "refs/notes/fixreview/*:refs/notes/fixreview/*")
    ci.git("checkout", "-q", "--detach", "origin/ai-fix/sqli")
    proc = fixreview(ci, "verify", "--base", "origin/main")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _many(repo: TestRepo, who: Reviewer, branches: list[str]) -> None:
    """One ``decide --request-changes`` per branch, each in its own process, all at one instant;
    every one succeeds, and the writers really raced (see tests/racing.py)."""
    decide = ["--repo", str(repo.path), "decide"]
    outcomes = race(
        [
            Job([*decide, branch, "--request-changes", "--comment", f"round {i}"], who.env())
            for i, branch in enumerate(branches)
        ]
    )
    assert [o.code for o in outcomes] == [0] * len(branches), [o.stderr for o in outcomes]
    assert overlapped(outcomes)  # every writer was running at one same instant
    assert unreachable_commits(repo.path) > 0  # some lost the compare-and-swap and retried


def test_concurrent_decides_on_one_commit_keep_every_record(
    gated: TestRepo, people: dict[str, Reviewer]
) -> None:
    _many(gated, people["aisha"], ["ai-fix/sqli"] * RACERS)
    lines = records(gated, gated.rev("ai-fix/sqli"))
    assert len(lines) == RACERS and len(set(lines)) == RACERS


def test_concurrent_decides_on_many_commits_keep_every_record(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    allow(repo, people["aisha"])
    names = [f"ai-fix/n{i:02d}" for i in range(RACERS)]
    for name in names:
        repo.checkout("-b", name, "main")
        repo.commit(name, {f"{name.replace('/', '_')}.txt": "x\n"}, who=AI)
    repo.checkout("main")
    _many(repo, people["aisha"], names)
    listed = repo.git("notes", f"--ref={DECISIONS_REF}", "list").splitlines()
    assert len(listed) == RACERS
    statuses = json.loads(fixreview(repo, "list", "--all", "--json").stdout)["fixes"]
    assert len(statuses) == RACERS
    assert {row["status"] for row in statuses} == {"changes-requested"}


def test_docs_recipe_verifies_a_decision_with_stock_tools_only(demo_repo: Path) -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "format.md").read_text()
    section = docs.split("## Verifying a decision with stock tools only")[1]
    recipe = section.split("```sh\n")[1].split("```")[0]
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", recipe],
        cwd=demo_repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert 'Good "fixreview-decision" signature for aisha.okafor@example.com' in proc.stdout
    assert proc.stdout.strip().endswith("decision verified")
    # the same recipe fails on a tampered payload
    tampered = recipe.replace(
        "> payload.toml\n", "> payload.toml\nsed -i 's/approve/reject/' payload.toml\n", 1
    )
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", tampered],
        cwd=demo_repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0 and "decision verified" not in proc.stdout


def test_rebased_approval_counts_only_where_the_policy_allows_it(
    gated: TestRepo, people: dict[str, Reviewer]
) -> None:
    old_head = _approved(gated, people)
    gated.commit("main moves on", {"README.md": "unrelated\n"})
    gated.checkout("ai-fix/sqli")
    gated.git("rebase", "-q", "main")
    gated.checkout("main")
    assert gated.rev("ai-fix/sqli") != old_head
    proc = verify(gated)
    assert proc.returncode == 1  # strict default: the approval named another commit
    gated.commit(
        "allow rebased approvals", {".fixreview.toml": "[approvals]\nallow_rebased = true\n"}
    )
    proc = verify(gated)
    assert proc.returncode == 0, proc.stdout  # same final diff, byte for byte
    gated.checkout("ai-fix/sqli")
    gated.commit("and a change", {"app/db.py": "def query(sql, args):\n    return args\n"}, who=AI)
    gated.checkout("main")
    assert verify(gated).returncode == 1  # a different diff is never covered


def test_deciding_on_your_own_fix_is_refused_unless_recorded_anyway(
    gated: TestRepo, people: dict[str, Reviewer]
) -> None:
    aisha = people["aisha"]
    gated.checkout("ai-fix/sqli")
    gated.commit("my tweak", {"app/db.py": "x = 1\n"}, who=(aisha.name, aisha.email))
    gated.checkout("main")
    proc = decide(gated, aisha, *APPROVE)
    assert proc.returncode == 2 and "will not count" in proc.stderr
    assert gated.git("for-each-ref", DECISIONS_REF) == ""
    proc = decide(gated, aisha, *APPROVE, "--record-anyway")
    assert proc.returncode == 0
    assert "will not count" in proc.stderr
    assert verify(gated).returncode == 1


def test_verify_in_a_checkout_with_only_remote_branches(
    gated: TestRepo, people: dict[str, Reviewer], tmp_path: Path
) -> None:
    _approved(gated, people)
    ci = TestRepo.clone_of(gated.path, tmp_path / "pr", "--no-checkout")
    ci.git("fetch", "-q", "origin", "refs/notes/fixreview/*:refs/notes/fixreview/*")
    ci.git("checkout", "-q", "--detach", "origin/ai-fix/sqli")
    ci.git("branch", "-D", "main")
    proc = fixreview(ci, "verify")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "base origin/main" in proc.stdout
