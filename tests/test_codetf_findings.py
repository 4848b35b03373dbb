"""A CodeTF result that fixed several scanner findings: `propose --result FINDING-ID` records
that finding, not the result's first, and each is resolved in the policy's findings sources (a
semgrep SARIF on the base) for the severity, evidence and scanner a codemod does not know. Real
git, the command line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cliutil import fixreview
from tests.gitutil import AI, TestRepo
from tests.test_importers_codetf import document, result

RULE = "python.lang.security.audit.formatted-sql-query.formatted-sql-query"
MESSAGE = "Detected possible formatted SQL query. Use parameterized queries instead."


def semgrep_sarif() -> str:
    """Two results of one semgrep rule, shaped as semgrep OSS writes them (level error)."""

    def hit(line: int) -> dict[str, object]:
        return {
            "ruleId": RULE,
            "ruleIndex": 0,
            "level": "error",
            "message": {"text": MESSAGE},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": "app/db.py"},
                        "region": {"startLine": line, "snippet": {"text": f"query {line}"}},
                    }
                }
            ],
        }

    rule = {
        "id": RULE,
        "name": RULE,
        "shortDescription": {"text": f"Semgrep Finding: {RULE}"},
        "defaultConfiguration": {"level": "error"},
    }
    log = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {"name": "Semgrep OSS", "semanticVersion": "1.185.0", "rules": [rule]}
                },
                "results": [hit(2), hit(4)],
            }
        ],
    }
    return json.dumps(log)


BEFORE = "import db\nq1 = f'select {a}'\n\nq2 = f'select {b}'\n"
AFTER = "import db\nq1 = ('select %s', a)\n\nq2 = ('select %s', b)\n"
DIFF = (
    "--- \n+++ \n@@ -1,4 +1,4 @@\n import db\n-q1 = f'select {a}'\n+q1 = ('select %s', a)\n"
    " \n-q2 = f'select {b}'\n+q2 = ('select %s', b)\n"
)


def test_the_finding_named_is_recorded_with_the_scanners_severity(
    repo: TestRepo, tmp_path: Path
) -> None:
    repo.commit(
        "code and scan",
        {
            "app/db.py": BEFORE,
            "scans/semgrep.sarif": semgrep_sarif(),
            ".fixreview.toml": 'findings = ["scans/semgrep.sarif"]\n',
        },
    )
    repo.checkout("-b", "ai-fix/sql")
    repo.commit("Parameterize both queries (codemod)", {"app/db.py": AFTER}, who=AI)
    repo.checkout("main")
    change = result("pixee:python/sql-parameterization", "app/db.py")
    change["changeset"][0]["diff"] = DIFF
    change["changeset"][0]["changes"] = [
        {
            "lineNumber": line,
            "fixedFindings": [{"id": f"{RULE}@app/db.py:{line}", "rule": {"id": RULE}}],
        }
        for line in (2, 4)
    ]
    report = tmp_path / "codetf.json"
    report.write_bytes(document(change))
    second = f"{RULE}@app/db.py:4"
    proc = fixreview(repo, "propose", "ai-fix/sql", "--codetf", str(report), "--result", second)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"proposed {second} (high)")
    shown = json.loads(fixreview(repo, "show", "ai-fix/sql", "--json").stdout)
    finding = shown["finding"]
    assert (finding["id"], finding["severity"]) == (second, "high")
    assert finding["scanner"] == "Semgrep OSS 1.185.0"
    assert "query 4" in finding["evidence"]  # the scanner's evidence, not the codemod's diff
    assert finding["title"] == "Summary of pixee:python/sql-parameterization"
    # without a finding id, the result's first finding (docs/commands/propose.md)
    proc = fixreview(repo, "propose", "ai-fix/sql", "--codetf", str(report), "--result", "0")
    assert proc.stdout.startswith(f"proposed {RULE}@app/db.py:2 (high)"), proc.stdout + proc.stderr
