"""One rule-book: what ``decide`` refuses or warns about is exactly what the gate then does with
the record — with real git, real ssh keys and the real command line."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fixreview.notes.store import DECISIONS_REF
from tests.cliutil import APPROVE, fixreview
from tests.gitutil import AI, TestRepo
from tests.signing_util import Reviewer, allow, make_reviewer

CI_FILE = {".github/workflows/ci.yml": "on: push\njobs: {}\n"}


def fix_branch(repo: TestRepo, people: dict[str, Reviewer], files: dict[str, str]) -> TestRepo:
    allow(repo, people["aisha"], people["tomas"])
    repo.checkout("-b", "ai-fix/sqli")
    repo.commit("Parameterize\n\nFinding-Id: SEC-1", files, who=AI)
    repo.checkout("main")
    return repo


def decide(repo: TestRepo, who: Reviewer, *argv: str) -> subprocess.CompletedProcess[str]:
    return fixreview(repo, "decide", "ai-fix/sqli", *argv, env=who.env())


def verify(repo: TestRepo) -> subprocess.CompletedProcess[str]:
    return fixreview(repo, "verify", "ai-fix/sqli")


def warned_then_refused(repo: TestRepo, who: Reviewer, reason: str) -> None:
    """WHO's approval is refused for REASON unless recorded anyway, then with a warning naming
    REASON; and the gate refuses it for REASON."""
    proc = decide(repo, who, *APPROVE)
    assert proc.returncode == 2
    [refusal] = proc.stderr.splitlines()
    assert "will not count under the gate" in refusal and reason in refusal
    assert "nothing recorded; --record-anyway records it" in refusal
    assert repo.git("for-each-ref", DECISIONS_REF) == ""
    proc = decide(repo, who, *APPROVE, "--record-anyway")
    assert proc.returncode == 0
    [warning] = proc.stderr.splitlines()
    assert "will not count under the gate" in warning and reason in warning
    gate = verify(repo)
    assert gate.returncode == 1 and reason in gate.stdout


def test_decide_refuses_an_approval_that_leaves_a_blocking_flag_unacknowledged(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    fix_branch(repo, people, {"app/db.py": "def query(sql, args):\n    pass\n", **CI_FILE})
    proc = decide(repo, people["aisha"], *APPROVE)
    assert proc.returncode == 2, proc.stdout
    [line] = proc.stderr.splitlines()
    assert line.endswith(
        "cannot record this approve: "
        "blocking risk flags not acknowledged: ci-config-change, sensitive-path"
    )
    assert repo.git("for-each-ref", DECISIONS_REF) == ""  # nothing signed, nothing written
    proc = decide(repo, people["aisha"], *APPROVE, "--ack", "ci-config-change")
    assert proc.returncode == 2 and proc.stderr.endswith("not acknowledged: sensitive-path\n")
    # acknowledged, it is recorded and counts (tomas makes the second vote a sensitive path needs)
    acks = ["--ack", "ci-config-change", "sensitive-path"]
    for who in ("aisha", "tomas"):
        proc = decide(repo, people[who], *APPROVE, *acks)
        assert proc.returncode == 0 and "will not count" not in proc.stderr, proc.stderr
    assert verify(repo).returncode == 0


def test_every_refusal_is_named_in_one_line(repo: TestRepo, people: dict[str, Reviewer]) -> None:
    fix_branch(repo, people, {"app/db.py": "x = 1\n", **CI_FILE})
    proc = decide(repo, people["aisha"], "--approve", "--intent", "x", "--ack", "no-such-flag")
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    for reason in (
        "checklist not confirmed: scope, blast radius, rollback",
        "no rollback criteria written",
        "blocking risk flags not acknowledged: ci-config-change, no-linked-finding, sensitive-path",
        "unknown risk flag id(s): no-such-flag",
    ):
        assert reason in line, line


def test_a_commit_under_the_reviewers_name_makes_decide_warn_and_the_gate_refuse(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    """decide once compared e-mails only; the gate compares names too. Now both do."""
    fix_branch(repo, people, {"app/db.py": "def query(sql, args):\n    pass\n"})
    aisha = people["aisha"]
    repo.checkout("ai-fix/sqli")
    repo.commit("tweak from home", {"app/db.py": "x = 2\n"}, who=(aisha.name, "aisha@home.test"))
    repo.checkout("main")
    warned_then_refused(repo, aisha, "authored or committed a commit of this fix")


def test_a_key_allowed_for_another_address_is_explained_in_words(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    """aisha's key, used under another e-mail: refused before signing, and — recorded anyway —
    refused by the gate in words, never as a verifier's raw output."""
    fix_branch(repo, people, {"app/db.py": "def query(sql, args):\n    pass\n"})
    aisha = people["aisha"]
    elsewhere = Reviewer(aisha.name, "aisha@elsewhere.test", aisha.key)
    reason = "is not in the base's allowed signers for aisha@elsewhere.test"
    warned_then_refused(repo, elsewhere, reason)
    assert "no message" not in verify(repo).stdout


def test_a_key_the_base_does_not_allow_makes_decide_warn_and_the_gate_refuse(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    fix_branch(repo, people, {"app/db.py": "def query(sql, args):\n    pass\n"})
    reason = "is not in the base's allowed signers for mallory@example.com"
    warned_then_refused(repo, people["mallory"], reason)


def test_an_ai_identity_is_warned_before_the_gate_refuses_it(
    repo: TestRepo, people: dict[str, Reviewer], tmp_path: Path
) -> None:
    bot = make_reviewer(tmp_path / "bot", "review-bot[bot]", "review-bot[bot]@example.com")
    people["bot"] = bot
    fix_branch(repo, people, {"app/db.py": "def query(sql, args):\n    pass\n"})
    repo.checkout("main")
    allow(repo, people["aisha"], bot)
    repo.checkout("ai-fix/sqli")
    repo.git("rebase", "-q", "main")
    repo.checkout("main")
    warned_then_refused(repo, bot, "is an AI identity")


def test_a_clean_approval_warns_of_nothing_and_passes(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    fix_branch(repo, people, {"app/db.py": "def query(sql, args):\n    pass\n"})
    proc = decide(repo, people["aisha"], *APPROVE)
    assert proc.returncode == 0 and proc.stderr == ""
    assert verify(repo).returncode == 0
