"""`fixreview attest`: the in-toto statement of an approved head, and its DSSE bundle checked with
stock tools only (base64, printf, ssh-keygen), as docs/commands/attest.md shows. Real git, real
keys, the command line."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

from tests.cliutil import APPROVE, fixreview
from tests.gitutil import TestRepo
from tests.signing_util import Reviewer
from tests.test_decide_verify import decide, gated, verify  # noqa: F401 (gated: a fixture)

# docs/commands/attest.md's recipe, word for word (the test checks the page holds it)
RECIPE = """jq -r .payload review.dsse.json | base64 -d > payload.json
jq -r '.signatures[0].sig' review.dsse.json | base64 -d > payload.sig
type=application/vnd.in-toto+json
printf 'DSSEv1 %d %s %d ' "${#type}" "$type" "$(wc -c < payload.json)" > pae
cat payload.json >> pae
ssh-keygen -Y verify -f allowed_signers -I "$REVIEWER" -n "$NAMESPACE" -s payload.sig < pae
"""
ROOT = Path(__file__).resolve().parents[1]


def test_an_approved_head_is_attested(
    gated: TestRepo,  # noqa: F811 (a fixture)
    people: dict[str, Reviewer],
) -> None:
    assert decide(gated, people["aisha"], *APPROVE).returncode == 0
    proc = fixreview(gated, "attest", "ai-fix/sqli")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    head = gated.rev("ai-fix/sqli")
    assert doc["_type"] == "https://in-toto.io/Statement/v1"
    assert doc["predicateType"] == "https://fixreview.dev/attestation/review/v1"
    [subject] = doc["subject"]
    assert subject["digest"] == {"gitCommit": head, "gitTree": gated.rev("ai-fix/sqli^{tree}")}
    gate = json.loads(verify(gated, "ai-fix/sqli", "--json").stdout)
    predicate = doc["predicate"]
    assert predicate["diffSha256"] == gate["diff_sha256"]
    assert predicate["base"] == {"branch": "main", "commit": gate["base_commit"]}
    [approval] = predicate["approvals"]
    assert approval["reviewer"] == "aisha@example.com"
    assert approval["key"] == gate["decisions"][0]["key"]
    assert approval["checklist"]["rollback"]["status"] == "confirmed"
    assert predicate["policy"] == {"path": ".fixreview.toml", "blob": None}  # the defaults


def test_a_head_that_does_not_pass_verify_is_not_attested(
    gated: TestRepo,  # noqa: F811 (a fixture)
    people: dict[str, Reviewer],
) -> None:
    changes = decide(gated, people["tomas"], "--request-changes", "--comment", "not yet")
    assert changes.returncode == 0, changes.stderr
    proc = fixreview(gated, "attest", "ai-fix/sqli")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "fixreview: ai-fix/sqli does not pass verify: nothing to attest (fixreview verify says why)"
    ]


def test_the_bundle_verifies_with_stock_tools_and_only_as_an_attestation(
    gated: TestRepo,  # noqa: F811 (a fixture)
    people: dict[str, Reviewer],
    tmp_path: Path,
) -> None:
    aisha = people["aisha"]
    assert decide(gated, aisha, *APPROVE).returncode == 0
    proc = fixreview(gated, "attest", "--bundle", "ai-fix/sqli", env=aisha.env())
    assert proc.returncode == 0, proc.stderr
    envelope = json.loads(proc.stdout)
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    bundle = tmp_path / "review.dsse.json"
    bundle.write_text(proc.stdout)
    (tmp_path / "allowed_signers").write_text(f"{aisha.email} {aisha.public}\n")
    assert RECIPE in (ROOT / "docs" / "commands" / "attest.md").read_text()
    script = f"""set -euo pipefail
cd {tmp_path}
{RECIPE}"""
    good = subprocess.run(
        ["bash", "-c", script],
        env={
            "NAMESPACE": "fixreview-attestation",
            "REVIEWER": aisha.email,
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0, good.stdout + good.stderr
    statement = json.loads((tmp_path / "payload.json").read_text())
    assert statement["subject"][0]["digest"]["gitCommit"] == gated.rev("ai-fix/sqli")
    # the same signature never passes as a decision's
    as_decision = subprocess.run(
        ["bash", "-c", script],
        env={"NAMESPACE": "fixreview-decision", "REVIEWER": aisha.email, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert as_decision.returncode != 0
    assert base64.b64decode(envelope["signatures"][0]["sig"]).startswith(
        b"-----BEGIN SSH SIGNATURE"
    )
