"""An approval counts only for the finding it signed (design: "an approval of another finding
does not count"). Whoever may push notes can re-propose an approved fix for another finding: the
old approval must not now approve the new one, `verify` must say it was for another finding, and
`log` must show each decision under the finding it signed. Real git, real keys, the command
line as a reviewer and CI run it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cliutil import APPROVE, fixreview
from tests.gitutil import TestRepo
from tests.signing_util import Reviewer
from tests.test_decide_verify import decide, gated, verify  # noqa: F401 (gated: a fixture)

SQLI = 'id = "SEC-1"\ntitle = "SQL injection in query"\nseverity = "high"\n'
XSS = 'id = "SEC-9"\ntitle = "Reflected XSS in search"\nseverity = "critical"\n'


def propose(repo: TestRepo, tmp_path: Path, name: str, finding: str) -> None:
    path = tmp_path / f"{name}.toml"
    path.write_text(finding)
    proc = fixreview(repo, "propose", "ai-fix/sqli", "--finding", str(path))
    assert proc.returncode == 0, proc.stderr


def test_a_re_proposal_does_not_carry_the_approval_to_another_finding(
    gated: TestRepo,  # noqa: F811 (a fixture)
    people: dict[str, Reviewer],
    tmp_path: Path,
) -> None:
    propose(gated, tmp_path, "sqli", SQLI)
    assert decide(gated, people["aisha"], *APPROVE).returncode == 0
    assert verify(gated).returncode == 0
    # anyone who may push notes re-proposes the approved fix for a worse finding
    propose(gated, tmp_path, "xss", XSS)
    proc = verify(gated)
    assert proc.returncode == 1, proc.stdout
    assert "approval was for finding SEC-1; the fix is now proposed for SEC-9" in proc.stdout
    doc = json.loads(verify(gated, "ai-fix/sqli", "--json").stdout)
    [decision] = doc["decisions"]
    assert decision["counted"] is False and decision["finding"] == "SEC-1"
    listed = json.loads(fixreview(gated, "list", "--all", "--json").stdout)["fixes"]
    assert [(f["finding_id"], f["status"]) for f in listed] == [("SEC-9", "pending")]
    # the old finding's trail still holds its approval, marked for the finding it signed
    trail = fixreview(gated, "log", "SEC-1")
    assert trail.returncode == 0, trail.stderr
    assert "approve by Aisha Okafor <aisha@example.com>" in trail.stdout
    assert "for finding SEC-1 (the fix is now proposed for SEC-9)" in trail.stdout
    # proposed again for the finding she signed, her approval counts again
    propose(gated, tmp_path, "sqli-again", SQLI)
    assert verify(gated).returncode == 0


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
    propose(gated, tmp_path, "xss", XSS)
    assert decide(gated, people["aisha"], *APPROVE).returncode == 0  # for SEC-9 now
    proc = verify(gated)
    assert proc.returncode == 1
    assert "reject by Tomás Herrera <tomas@example.com>: breaks paging" in proc.stdout
