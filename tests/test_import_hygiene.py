"""The domain is a library a CI script imports: no Textual anywhere in it."""

from __future__ import annotations

import subprocess
import sys

from tests.gitutil import TestRepo

DOMAIN = [
    "fixreview.models",
    "fixreview.errors",
    "fixreview.policy",
    "fixreview.queue",
    "fixreview.proposals",
    "fixreview.changes",
    "fixreview.safetext",
    "fixreview.repo.git",
    "fixreview.repo.commits",
    "fixreview.repo.diffs",
    "fixreview.notes.records",
    "fixreview.notes.store",
    "fixreview.findings.sarif",
    "fixreview.findings.codetf",
    "fixreview.findings.toml_file",
    "fixreview.findings.sources",
    "fixreview.demo.builder",
    "fixreview.cli.main",
    "fixreview.cli.render",
    "fixreview.cli.jsonout",
    "fixreview.decisions",
    "fixreview.gate",
    "fixreview.audit",
    "fixreview.sync",
    "fixreview.signing",
    "fixreview.signing.ssh",
    "fixreview.signing.openpgp",
    "fixreview.risk",
]


def test_domain_does_not_import_textual() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {DOMAIN!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


def test_commands_other_than_the_app_do_not_import_textual(repo: TestRepo) -> None:
    repo.checkout("-b", "ai-fix/x")
    repo.commit("fix", {"x.txt": "x\n"})
    repo.checkout("main")
    code = (
        "import sys\n"
        "from fixreview.cli.main import main\n"
        "for argv in (['list'], ['show', 'ai-fix/x'], ['list', '--json'], ['log'],\n"
        "             ['verify', 'ai-fix/x']):\n"
        f"    assert main(['--repo', {str(repo.path)!r}, *argv]) in (0, 2)\n"
        "print('textual' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stdout.strip().endswith("False"), proc.stderr


def test_ci_runs_exactly_the_readme_test_command() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    command = readme.split("run the whole test suite")[1].split("```sh\n")[1].split("\n```")[0]
    assert command.strip() in (root / ".ci" / "run").read_text()
