"""An approval counts only for the finding it signed (design: "an approval of another finding
does not count"). Whoever may push notes can re-propose an approved fix for another finding: the
old approval must not now approve the new one, `verify` must say it was for another finding, and
`log` must show each decision under the finding it signed. Real git, real keys, the command
line as a reviewer and CI run it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cliutil import APPROVE, fixreview
from tests.gitutil import AI, TestRepo
from tests.signing_util import Reviewer, allow
from tests.test_decide_verify import decide, gated, verify  # noqa: F401 (gated: a fixture)

SQLI = 'id = "SEC-1"\ntitle = "SQL injection in query"\nseverity = "high"\n'
XSS = 'id = "SEC-9"\ntitle = "Reflected XSS in search"\nseverity = "critical"\n'


@pytest.fixture
def unclaimed(repo: TestRepo, people: dict[str, Reviewer]) -> TestRepo:
    """main allows aisha and tomas; ai-fix/sqli is an AI commit with no Finding-Id trailer:
    only proposal notes say which finding it answers."""
    allow(repo, people["aisha"], people["tomas"])
    repo.checkout("-b", "ai-fix/sqli")
    repo.commit(
        "Parameterize\n\nUse bound parameters so user input stays data.",
        {
            "app/db.py": "def query(sql, args):\n    return sql, args\n",
            "tests/test_db.py": "def test_query():\n    assert True\n",
        },
        who=AI,
    )
    repo.checkout("main")
    return repo


def propose(repo: TestRepo, tmp_path: Path, name: str, finding: str, *more: str) -> None:
    path = tmp_path / f"{name}.toml"
    path.write_text(finding)
    proc = fixreview(repo, "propose", "ai-fix/sqli", "--finding", str(path), *more)
    assert proc.returncode == 0, proc.stderr


def test_a_re_proposal_does_not_carry_the_approval_to_another_finding(
    unclaimed: TestRepo,
    people: dict[str, Reviewer],
    tmp_path: Path,
) -> None:
    propose(unclaimed, tmp_path, "sqli", SQLI)
    assert decide(unclaimed, people["aisha"], *APPROVE).returncode == 0
    assert verify(unclaimed).returncode == 0
    # anyone who may push notes re-proposes the approved fix for a worse finding
    propose(unclaimed, tmp_path, "xss", XSS)
    proc = verify(unclaimed)
    assert proc.returncode == 1, proc.stdout
    assert "approval was for finding SEC-1; the fix is now proposed for SEC-9" in proc.stdout
    doc = json.loads(verify(unclaimed, "ai-fix/sqli", "--json").stdout)
    [decision] = doc["decisions"]
    assert decision["counted"] is False and decision["finding"] == "SEC-1"
    listed = json.loads(fixreview(unclaimed, "list", "--all", "--json").stdout)["fixes"]
    assert [(f["finding_id"], f["status"]) for f in listed] == [("SEC-9", "pending")]
    # the old finding's trail still holds its approval, marked for the finding it signed
    trail = fixreview(unclaimed, "log", "SEC-1")
    assert trail.returncode == 0, trail.stderr
    assert "approve by Aisha Okafor <aisha@example.com>" in trail.stdout
    assert "for finding SEC-1 (the fix is now proposed for SEC-9)" in trail.stdout
    # proposed again for the finding she signed, her approval counts again
    propose(unclaimed, tmp_path, "sqli-again", SQLI)
    assert verify(unclaimed).returncode == 0


def test_a_veto_stands_whatever_finding_the_fix_is_proposed_for(
    gated: TestRepo,  # noqa: F811 (a fixture)
    people: dict[str, Reviewer],
    tmp_path: Path,
) -> None:
    """A rejection is about the code: re-proposing the fix for another finding does not lift
    it (the gate fails closed)."""
    propose(gated, tmp_path, "sqli", SQLI)
    assert decide(gated, people["tomas"], "--reject", "--comment", "breaks paging").returncode == 0
    assert decide(gated, people["aisha"], *APPROVE).returncode == 0
    propose(gated, tmp_path, "xss", XSS, "--force")
    # for SEC-9 now, acknowledging that the branch claims SEC-1
    approve = decide(gated, people["aisha"], *APPROVE, "--ack", "suggestion-mismatch")
    assert approve.returncode == 0, approve.stderr
    proc = verify(gated)
    assert proc.returncode == 1
    assert "reject by Tomás Herrera <tomas@example.com>: breaks paging" in proc.stdout


def _flags(repo: TestRepo) -> dict[str, dict[str, object]]:
    shown = fixreview(repo, "show", "ai-fix/sqli", "--json")
    assert shown.returncode == 0, shown.stderr
    return {f["id"]: f for f in json.loads(shown.stdout)["risk_flags"]}


def test_a_proposal_that_contradicts_the_branchs_finding_id_is_refused_or_flagged(
    gated: TestRepo,  # noqa: F811 (a fixture)
    people: dict[str, Reviewer],
    tmp_path: Path,
) -> None:
    """The branch's commit says `Finding-Id: SEC-1`. Proposing it for SEC-9 is refused in one
    line and writes nothing; forced (or pushed as a note by anyone, which is the same bytes),
    it carries a blocking `suggestion-mismatch` flag naming the trailer, so no approval counts
    until a reviewer has looked and acknowledged it."""
    (tmp_path / "xss.toml").write_text(XSS)
    refused = fixreview(gated, "propose", "ai-fix/sqli", "--finding", str(tmp_path / "xss.toml"))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "fixreview: error: ai-fix/sqli's commits claim Finding-Id SEC-1, not SEC-9: propose the "
        "finding the branch claims, or --force to record it with the suggestion-mismatch flag"
    ]
    assert gated.git("notes", "--ref=fixreview/proposals", "list").strip() == ""
    forced = fixreview(
        gated, "propose", "ai-fix/sqli", "--finding", str(tmp_path / "xss.toml"), "--force"
    )
    assert forced.returncode == 0, forced.stderr
    flag = _flags(gated)["suggestion-mismatch"]
    assert flag["level"] == "block"
    assert "SEC-9" in str(flag["detail"]) and "SEC-1" in str(flag["detail"])
    assert any("Finding-Id: SEC-1" in str(e["excerpt"]) for e in flag["evidence"])  # type: ignore[attr-defined]
    refused_decision = decide(gated, people["aisha"], *APPROVE)
    assert refused_decision.returncode == 2
    assert "suggestion-mismatch" in refused_decision.stderr
    # proposed for the finding its commits claim: accepted, and nothing to flag
    propose(gated, tmp_path, "sqli", SQLI)
    assert "suggestion-mismatch" not in _flags(gated)
