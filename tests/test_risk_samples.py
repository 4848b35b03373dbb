"""Risk checks on the sample repository: the clean fix is clean, every flag is shown somewhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fixreview.queue import load_queue
from fixreview.repo.git import Repository
from fixreview.risk import FLAG_IDS, RiskFlag, assess_fix, flag_json

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def sample_flags(demo_repo: Path) -> dict[str, dict[str, RiskFlag]]:
    repo = Repository(demo_repo)
    queue = load_queue(repo)
    return {
        fix.branch.name: {f.id: f for f in assess_fix(repo, fix, queue.policy.policy)}
        for fix in queue.fixes
    }


def test_clean_sql_injection_fix_raises_no_flag(
    sample_flags: dict[str, dict[str, RiskFlag]],
) -> None:
    assert sample_flags["ai-fix/sqli-invoice-search"] == {}


def test_every_flag_is_raised_by_some_sample_branch(
    sample_flags: dict[str, dict[str, RiskFlag]],
) -> None:
    raised = {flag_id for flags in sample_flags.values() for flag_id in flags}
    # Flags no sample branch raises, each with why, and where it is tested instead:
    not_in_samples = {
        # the demo's branches are linear (the sample data has no merges, and adding one would
        # change the app's SVG snapshots): tests/test_risk_attacks.py makes a merge commit
        "merge-commit",
        # a proposal contradicting its branch's Finding-Id trailer, which `propose` refuses
        # unless forced; a sample branch would change the app's SVG snapshots:
        # tests/test_finding_binding.py forces one through the command line
        "suggestion-mismatch",
        # raised only where the base's policy requires CI checks ([checks] required), which the
        # demo's does not (every demo fix would carry it, and the app's SVG snapshots change):
        # tests/test_checks.py requires one, records it failing, then passing on a new head
        "checks-not-passed",
    }
    assert raised == set(FLAG_IDS) - not_in_samples


def test_sample_branches_raise_what_they_are_there_for(
    sample_flags: dict[str, dict[str, RiskFlag]],
) -> None:
    expect = {
        "ai-fix/command-injection-report-export": {"diverges-from-suggestion"},
        "ai-fix/hardcoded-signing-secret": {"ci-config-change", "out-of-scope"},
        "ai-fix/xss-invoice-notes": {"out-of-scope", "no-test-change"},
        "snyk-fix-pyyaml-5-4": {"dependency-change", "no-test-change"},
        "ai-fix/timing-safe-password-check": {"sensitive-path"},
        "ai-fix/ci-pin-actions": {"ci-config-change", "hidden-unicode", "sensitive-path"},
        "ai-fix/mixed-content-favicon": {"binary-file"},
        "copilot/tidy-logging": {"thin-rationale"},
        "ai-fix/codeowners-security-review": {"policy-change", "sensitive-path"},
        "ai-fix/gateway-sandbox-fallback": {"secret-added"},
        "ai-fix/csv-formula-injection": {"large-diff"},
        "snyk-fix-gunicorn-23-0-0": {"dependency-change"},
    }
    for branch, ids in expect.items():
        assert ids <= set(sample_flags[branch]), (branch, sorted(sample_flags[branch]))
    assert set(sample_flags["ai-fix/csv-formula-injection"]) == {"large-diff"}
    assert set(sample_flags["ai-fix/gateway-sandbox-fallback"]) == {"secret-added"}

    xss = sample_flags["ai-fix/xss-invoice-notes"]["out-of-scope"]
    assert "3 of 4 changed files are not named" in xss.detail
    assert {e.path for e in xss.evidence} == {"README.md", "app/db.py", "web/static/style.css"}

    gunicorn = sample_flags["snyk-fix-gunicorn-23-0-0"]["dependency-change"]
    assert [(e.path, e.line, e.excerpt) for e in gunicorn.evidence] == [
        ("requirements.txt", 3, "gunicorn 20.0.4 \u2192 23.0.0 (MAJOR version jump 20 \u2192 23)")
    ]
    pyyaml = sample_flags["snyk-fix-pyyaml-5-4"]["dependency-change"]
    assert "MAJOR" not in pyyaml.detail and "PyYAML 5.3 \u2192 5.4" in pyyaml.detail

    policy = sample_flags["ai-fix/codeowners-security-review"]["policy-change"]
    assert {e.path for e in policy.evidence} == {".fixreview.toml", ".github/CODEOWNERS"}

    hidden = sample_flags["ai-fix/ci-pin-actions"]["hidden-unicode"]
    assert {e.excerpt.split(":")[0] for e in hidden.evidence} == {"U+200B", "U+202E"}


def test_the_sample_secret_is_masked_everywhere(
    sample_flags: dict[str, dict[str, RiskFlag]], demo_repo: Path
) -> None:
    secret = Repository(demo_repo).run_text("show", "ai-fix/gateway-sandbox-fallback:app/config.py")
    value = next(
        line.split('"')[1] for line in secret.splitlines() if line.startswith("SANDBOX_GATEWAY_KEY")
    )
    assert len(value) > 20
    flag = sample_flags["ai-fix/gateway-sandbox-fallback"]["secret-added"]
    assert [(e.path, e.line) for e in flag.evidence] == [("app/config.py", 16)]
    assert flag.evidence[0].excerpt.endswith('SANDBOX_GATEWAY_KEY = "pgk_\u2026"')
    everything = json.dumps(
        {b: [flag_json(f) for f in flags.values()] for b, flags in sample_flags.items()},
        ensure_ascii=False,
    )
    assert value not in everything and value[:8] not in everything


def test_risk_checks_benchmark_script_runs() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "risk_checks.py"), "--lines", "2000"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "2000-line diff" in proc.stdout and "large-diff" in proc.stdout
