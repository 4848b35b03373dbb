"""fixreview at scale: builds (and caches) a synthetic repository with N AI fix branches, then
times what a reviewer and CI do on it, each figure next to a lower bound measured in the same run.

Commands (benchmarks/README.md says what each figure and each lower bound is)::

    python3 benchmarks/scale.py                      # 1,000 fixes, every figure, median of 3
    python3 benchmarks/scale.py --fixes 100 1000     # the same at each size
    python3 benchmarks/scale.py --sizes              # list/app/verify at 100, 1,000, 5,000 fixes
                                                     # and the diff open at 2k, 20k, 100k lines
    python3 benchmarks/scale.py --only list,verify --repeat 5
    python3 benchmarks/scale.py --build-only --fixes 5000

The repository is built once per (builder version, N, big-fix sizes) under
``${XDG_CACHE_HOME:-~/.cache}/fixreview-bench/<version>/`` (``--cache DIR`` to move it); the
version is BUILD_VERSION, a hash of the builder's source and a hash of the note lines the project's
encoders produce today, so a change to the record format rebuilds it. Results are printed as a
table and written as JSON (``--json PATH``, default beside the repositories).
"""

from __future__ import annotations

import argparse
import atexit
import base64
import compileall
import contextlib
import hashlib
import inspect
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fixreview.decisions import (  # noqa: E402
    CHECKLIST_ITEMS,
    Checklist,
    ChecklistItem,
    Decision,
    prepare_decision,
)
from fixreview.findings.codetf import CodetfChange, parse_codetf  # noqa: E402
from fixreview.findings.sarif import parse_sarif  # noqa: E402
from fixreview.models import Finding, Fix, Person, Proposal, Suggestion  # noqa: E402
from fixreview.notes.records import (  # noqa: E402
    MAX_LINE_BYTES,
    TAG_DECISION,
    TAG_PROPOSAL,
    encode_line,
    model_to_toml,
)
from fixreview.notes.store import DECISIONS_REF, PROPOSALS_REF  # noqa: E402
from fixreview.queue import load_queue  # noqa: E402
from fixreview.repo.git import Repository  # noqa: E402
from fixreview.signing.base import SSH_NAMESPACE  # noqa: E402
from fixreview.signing.ssh import SshSigner  # noqa: E402

BUILD_VERSION = 1
DEFAULT_BIG = (2_000, 20_000, 100_000)
HEADLINE_BIG = 20_000  # the big fix items c, d and f are measured on
SIZES_FIXES = (100, 1_000, 5_000)
CHILD_TIMEOUT = 600.0
NAMESPACE = uuid.UUID("3b0f8f5e-2a57-4b3e-9d1c-6f0a1e9b7c42")
CODEMOD = "pixee:python/sql-parameterization"
CODETF_TEMPLATE = ROOT / "tests" / "fixtures" / "codetf" / "pygoat.codetf.json"


# --- how records become note lines (the one place to change when the format changes) ----------


def proposal_note_lines(proposal: Proposal) -> list[str]:
    """The note line(s) that record PROPOSAL, as ``fixreview propose`` writes them.

    Uses the project's own encoder: ``fixreview.proposals.proposal_line`` when it exists,
    else ``encode_line(TAG_PROPOSAL, model_to_toml(proposal))`` as ``propose`` does today.
    """
    import fixreview.proposals as proposals

    encoder: Callable[[Proposal], str] | None = getattr(proposals, "proposal_line", None)
    if encoder is not None:
        return [encoder(proposal)]
    return [encode_line(TAG_PROPOSAL, model_to_toml(proposal))]


def decision_note_line(decision: Decision, signer: SshSigner) -> str:
    """The signed note line of DECISION, as ``record_decision`` writes it."""
    payload = model_to_toml(decision)
    signed = signer.sign(payload)
    return encode_line(TAG_DECISION, payload, signed.signature)


def format_probe() -> str:
    """A hash of the lines today's encoders make for a sample proposal and decision payload:
    part of the cache key, so the cached repositories follow a change of the record format."""
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    oid = "1" * 40
    proposal = Proposal(
        id="probe",
        branch="ai-fix/probe",
        recorded=stamp,
        finding=Finding(id="F-1", severity="high"),
        suggestion=Suggestion(
            commit=oid,
            base=oid,
            patch="diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n",
        ),
    )
    decision = Decision(
        id="probe",
        verdict="approve",
        branch="ai-fix/probe",
        target="main",
        target_commit=oid,
        base_commit=oid,
        base_tree=oid,
        head_commit=oid,
        head_tree=oid,
        diff_sha256="0" * 64,
        reviewer="probe@example.com",
        signing_format="ssh",
        key="SHA256:probe",
        time=stamp,
        checklist=Checklist(),
    )
    text = "\n".join(proposal_note_lines(proposal)) + "\n" + model_to_toml(decision).decode()
    return hashlib.sha256(text.encode()).hexdigest()[:8]


# --- the synthetic repository's content -----------------------------------------------------------

PACKAGES = (
    "billing",
    "catalog",
    "orders",
    "reports",
    "search",
    "shipping",
    "inventory",
    "notifications",
    "customers",
    "analytics",
)
MODULES = (
    "views",
    "models",
    "handlers",
    "queries",
    "forms",
    "serializers",
    "helpers",
    "tasks",
    "api",
    "filters",
    "exports",
    "admin",
)
AUTH_MODULES = ("login", "session_store", "password_reset", "tokens", "permissions", "mfa")
FUNCTIONS = 12
HEADER_LINES = 8
FUNCTION_LINES = 6
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
MAINTAINER = ("Sam Maintainer", "sam@bench.example")
HUMAN = ("Dana Developer", "dana@bench.example")
SARIF_BOT = ("secfix-bot[bot]", "secfix-bot[bot]@users.noreply.github.com")
CODETF_BOT = ("pixeebot[bot]", "pixeebot[bot]@users.noreply.github.com")
REVIEWERS = (
    ("aisha", "Aisha Okafor", "aisha@bench.example"),
    ("tomas", "Tomás Herrera", "tomas@bench.example"),
    ("priya", "Priya Natarajan", "priya@bench.example"),
)
BIG_KINDS = {  # which file a big fix regenerates, by position in the sorted sizes
    0: ("lockfile", "frontend/package-lock.json"),
    1: ("generated-code", "src/generated/api_models.py"),
    2: ("vendored-bundle", "static/vendor/bundle.js"),
}
POLICY = """\
# fixreview policy of the benchmark repository (the defaults, plus the findings source)
findings = ["security/codeql.sarif"]

[approvals]
required = 1
sensitive = 2
"""


def module_lines(package: str, module: str) -> list[str]:
    """A data-access module: FUNCTIONS functions, each building its SQL from its arguments."""
    lines = [
        f'"""{package}.{module}: data access for the {package} service."""',
        "",
        "from __future__ import annotations",
        "",
        "import logging",
        "",
        "log = logging.getLogger(__name__)",
        "",
    ]
    for j in range(FUNCTIONS):
        table = f"{package}_{module}_{j}"
        lines += [
            f"def fetch_{module}_{j}(db, item_id, limit=50):",
            f'    """The {package} {module} rows of item {j}, newest first."""',
            f'    log.debug("fetch_{module}_{j} %s", item_id)',
            f'    rows = db.execute(f"SELECT * FROM {table} WHERE id = {{item_id}} "'
            ' f"LIMIT {limit}")',
            "    return [dict(row) for row in rows]",
            "",
        ]
    return lines


def vulnerable_line(j: int) -> int:
    """The 1-based line of function J's SQL statement in a module."""
    return HEADER_LINES + j * FUNCTION_LINES + 4


def test_lines(package: str, module: str) -> list[str]:
    lines = [f'"""Tests of {package}.{module}."""', "", f"from src.{package} import {module}", ""]
    for j in range(3):
        lines += [
            f"def test_fetch_{module}_{j}(fake_db):",
            f"    assert {module}.fetch_{module}_{j}(fake_db, 1) == []",
            "",
        ]
    return lines


def big_lines(kind: str, count: int, generation: int) -> list[str]:
    """COUNT lines of a generated file; every line differs between two generations."""
    g = generation
    if kind == "lockfile":
        out = []
        for k in range(count):
            digest = hashlib.sha512(f"dep-{k}-{g}".encode()).digest()
            integrity = base64.b64encode(digest).decode()
            out.append(
                f'    "node_modules/dep-{k:06d}": {{"version": "{g}.{k % 40}.{k % 7}", '
                f'"integrity": "sha512-{integrity}"}},'
            )
        return out
    if kind == "generated-code":
        return [
            f"    field_{k:06d} = Field(tag={k}, kind=Kind.INT{32 + 32 * (k % 2)}, "
            f"default={(g * 7919 + k) % 1000}, since=v{g})"
            for k in range(count)
        ]
    return [f"var a{k:06d}=function(e,t){{return e*{g}+t+{k % 97}}};" for k in range(count)]


def frontend_lines(name: str) -> list[str]:
    lines = [f"// {name}: portal frontend", "'use strict';", ""]
    for k in range(15):
        lines += [
            f"export function {name}Handler{k}(event) {{",
            f"  const row = document.querySelector('#{name}-{k}');",
            "  row.textContent = event.detail.label;",
            "}",
            "",
        ]
    return lines


def text(lines: Iterable[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


# --- the builder --------------------------------------------------------------------------------


@dataclass
class FixPlan:
    """One fix branch to build, and what is recorded on it."""

    index: int
    branch: str
    source: str  # "sarif" or "codetf"
    path: str
    function: int
    fork: int  # index of the main commit it starts from
    human: bool = False
    test: bool = False
    big: int = 0  # lines a big fix replaces (0: a small fix)
    big_kind: str = ""
    decision: str = ""  # "", "approve", "approve2", "stale", "changes"
    finding: Finding | None = None
    tool: str = ""
    model: str = ""
    rationale: str = ""
    marks: dict[str, int] = field(default_factory=dict)
    oids: dict[str, str] = field(default_factory=dict)

    @property
    def expected_status(self) -> str:
        return {
            "approve": "approved",
            "approve2": "approved",
            "stale": "stale",
            "changes": "changes-requested",
        }.get(self.decision, "pending")


def plan_fixes(count: int, big_sizes: Sequence[int]) -> list[FixPlan]:
    """Which fix does what. Per 20 fixes: every 4th approved (a sensitive one, every 12th,
    by two reviewers), 2 with a human commit after the AI's (one of them approved on the AI's
    commit: stale), 1 sent back; even ones from SARIF, odd ones from CodeTF."""
    plans = []
    for i in range(count):
        sensitive = i % 12 == 0
        package = "auth" if sensitive else PACKAGES[i % len(PACKAGES)]
        module = (
            AUTH_MODULES[(i // 12) % len(AUTH_MODULES)]
            if sensitive
            else MODULES[(i // len(PACKAGES)) % len(MODULES)]
        )
        source = "sarif" if i % 2 == 0 else "codetf"
        kind = "sqli" if source == "sarif" else "sql-parameterization"
        decision = ""
        if i % 4 == 0:
            decision = "approve2" if sensitive else "approve"
        if i % 20 == 2:
            decision = "stale"
        if i % 20 == 5:
            decision = "changes"
        plans.append(
            FixPlan(
                index=i,
                branch=f"ai-fix/{kind}-{package}-{module}-{i:05d}",
                source=source,
                path=f"src/{package}/{module}.py",
                function=(i * 7) % FUNCTIONS,
                fork=1 + i % 3,
                human=i % 10 == 2,
                test=i % 3 == 1 and not sensitive,
                decision=decision,
            )
        )
    for position, size in enumerate(sorted(big_sizes)):
        kind, path = BIG_KINDS[min(position, 2)]
        plans.append(
            FixPlan(
                index=count + position,
                branch=f"ai-fix/big-{size}-{kind}",
                source="sarif",
                path=path,
                function=0,
                fork=3,
                big=size,
                big_kind=kind,
            )
        )
    return plans


class FastImport:
    """A ``git fast-import`` stream written to a temporary file, then run once."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.mark = 0

    def data(self, payload: bytes) -> None:
        self.parts.append(b"data %d\n" % len(payload))
        self.parts.append(payload)
        self.parts.append(b"\n")

    def commit(
        self,
        ref: str,
        who: tuple[str, str],
        when: int,
        message: str,
        parent: str | None,
        files: dict[str, bytes],
        author: tuple[str, str] | None = None,
        notes: dict[str, bytes] | None = None,
    ) -> int:
        self.mark += 1
        by = author or who
        self.parts.append(f"commit {ref}\nmark :{self.mark}\n".encode())
        self.parts.append(f"author {by[0]} <{by[1]}> {when} +0000\n".encode())
        self.parts.append(f"committer {who[0]} <{who[1]}> {when} +0000\n".encode())
        self.data(message.encode())
        if parent is not None:
            self.parts.append(f"from {parent}\n".encode())
        for path, content in sorted(files.items()):
            self.parts.append(f"M 100644 inline {path}\n".encode())
            self.data(content)
        for target, content in (notes or {}).items():
            self.parts.append(f"N inline {target}\n".encode())
            self.data(content)
        self.parts.append(b"\n")
        return self.mark

    def run(self, repo: Path, env: dict[str, str]) -> dict[int, str]:
        """Import the stream; the commit id of every mark."""
        with tempfile.TemporaryDirectory(prefix="fixreview-bench-") as tmp:
            marks = Path(tmp) / "marks"
            stream = Path(tmp) / "stream"
            stream.write_bytes(b"".join(self.parts))
            with stream.open("rb") as handle:
                subprocess.run(
                    ["git", "fast-import", "--quiet", f"--export-marks={marks}"],
                    cwd=repo,
                    stdin=handle,
                    env=env,
                    check=True,
                )
            found = {}
            for line in marks.read_text().splitlines():
                mark, oid = line.split()
                found[int(mark[1:])] = oid
        self.parts.clear()
        return found


def git_env() -> dict[str, str]:
    """git as the builder runs it: none of the machine's configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"})
    return env


def git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", *args], cwd=repo, input=data, env=git_env(), check=True, capture_output=True
    ).stdout


class Builder:
    """Builds the benchmark repository at DEST: main with a few hundred files and the policy,
    COUNT small fix branches plus one big fix per size in BIG, their proposals (the project's
    own SARIF and CodeTF importers, the project's encoders) and signed decisions, all written
    with ``git fast-import``."""

    def __init__(self, dest: Path, count: int, big: Sequence[int]) -> None:
        self.dest = dest
        self.repo_dir = dest / "repo"
        self.keys = dest / "keys"
        self.count = count
        self.big = sorted(big)
        self.plans = plan_fixes(count, self.big)
        self.env = git_env()

    # the steps, in order

    def build(self) -> dict[str, Any]:
        started = time.perf_counter()
        self.repo_dir.mkdir(parents=True)
        git(self.repo_dir, "init", "-q", "-b", "main")
        self.make_keys()
        for key, value in (
            ("user.name", REVIEWERS[0][1]),
            ("user.email", REVIEWERS[0][2]),
            ("gpg.format", "ssh"),
            ("user.signingKey", str(self.keys / "aisha")),
            ("commit.gpgsign", "false"),
            ("fixreview.base", "main"),
            ("core.autocrlf", "false"),
        ):
            git(self.repo_dir, "config", key, value)
        self.findings()
        mains = self.write_branches()
        git(self.repo_dir, "checkout", "-q", "-f", "main")
        self.write_proposals(mains)
        decisions = self.write_decisions()
        manifest = {
            "builder": cache_version(),
            "fixes": self.count,
            "big": {str(p.big): p.branch for p in self.plans if p.big},
            "big_paths": {str(p.big): p.path for p in self.plans if p.big},
            "branches": [
                {
                    "branch": p.branch,
                    "head": p.oids["head"],
                    "ai_commit": p.oids["ai"],
                    "merge_base": mains[p.fork],
                    "source": p.source,
                    "human": p.human,
                    "big": p.big,
                    "decision": p.decision,
                    "expected_status": p.expected_status,
                }
                for p in self.plans
            ],
            "two_approvals": [p.branch for p in self.plans if p.decision == "approve2"],
            "decisions": decisions,
            "reviewers": {key: [name, email] for key, name, email in REVIEWERS},
            "build_seconds": round(time.perf_counter() - started, 2),
        }
        (self.dest / "manifest.json").write_text(json.dumps(manifest, indent=1))
        return manifest

    def make_keys(self) -> None:
        self.keys.mkdir(parents=True)
        lines = []
        for key, _, email in REVIEWERS:
            path = self.keys / key
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", email, "-f", str(path)],
                check=True,
            )
            public = Path(str(path) + ".pub").read_text().split()
            lines.append(f"{email} {public[0]} {public[1]}")
        self.allowed_signers = ("\n".join(lines) + "\n").encode()

    def findings(self) -> None:
        """The SARIF log on main and the CodeTF report, read back with the project's
        importers: each fix gets its finding (and, from CodeTF, its tool and rationale)."""
        sarif_plans = [p for p in self.plans if p.source == "sarif"]
        rules = [
            {
                "id": "py/sql-injection",
                "name": "SqlInjection",
                "shortDescription": {"text": "SQL query built from user-controlled sources"},
                "fullDescription": {
                    "text": "Building a SQL query from user-controlled sources is vulnerable "
                    "to insertion of malicious SQL code by the user."
                },
                "properties": {"tags": ["security", "external/cwe/cwe-089"]},
            },
            {
                "id": "js/vulnerable-dependency",
                "name": "VulnerableDependency",
                "shortDescription": {"text": "Dependency with a known vulnerability"},
                "properties": {"tags": ["security", "dependencies"]},
            },
        ]
        scores = ("9.8", "8.1", "7.5", "5.3", "3.1")
        results = []
        for p in sarif_plans:
            line = 1 if p.big else vulnerable_line(p.function)
            rule = 1 if p.big else 0
            what = (
                f"This generated file ({p.path}) pins a dependency with a known advisory."
                if p.big
                else f"This SQL query depends on a user-provided value (fetch_{p.function})."
            )
            results.append(
                {
                    "ruleId": rules[rule]["id"],
                    "ruleIndex": rule,
                    "message": {"text": what},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": p.path},
                                "region": {"startLine": line, "endLine": line},
                            }
                        }
                    ],
                    "properties": {"security-severity": scores[p.index % len(scores)]},
                }
            )
        log = {
            "version": "2.1.0",
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "runs": [
                {
                    "tool": {"driver": {"name": "CodeQL", "version": "2.19.0", "rules": rules}},
                    "results": results,
                }
            ],
        }
        self.sarif = json.dumps(log, indent=1).encode()
        parsed = parse_sarif(self.sarif, "security/codeql.sarif")
        for p, result in zip(sarif_plans, parsed, strict=True):
            p.finding = result.finding
            p.tool, p.model = "SecFix Autofix", "gpt-4.1"
            p.rationale = (
                f"The query in {p.path} interpolated the caller's value into the SQL text; "
                "this passes it as a bound parameter instead, so the database never parses it "
                "as SQL. Behaviour for valid identifiers is unchanged."
            )
        codetf_plans = [p for p in self.plans if p.source == "codetf"]
        template = json.loads(CODETF_TEMPLATE.read_bytes())
        described = next(  # the real report's text for this codemod, else its first result
            (r for r in template["results"] if r.get("codemod") == CODEMOD),
            template["results"][0],
        )
        codetf_results = []
        for p in codetf_plans:
            line = vulnerable_line(p.function)
            codetf_results.append(
                {
                    "codemod": CODEMOD,
                    "summary": described.get("summary", "Parameterize SQL Queries"),
                    "description": described.get("description", ""),
                    "references": described.get("references", []),
                    "properties": {},
                    "failedFiles": [],
                    "changeset": [
                        {
                            "path": p.path,
                            "diff": f"--- \n+++ \n@@ -{line},1 +{line},2 @@\n-old\n+new\n+new\n",
                            "changes": [
                                {
                                    "lineNumber": str(line),
                                    "description": "Parameterized SQL query execution.",
                                    "properties": {},
                                    "diffSide": "right",
                                    "packageActions": [],
                                }
                            ],
                        }
                    ],
                }
            )
        report = {"run": template["run"], "results": codetf_results}
        changes: list[CodetfChange] = parse_codetf(json.dumps(report).encode(), "codemodder.json")
        for p, change in zip(codetf_plans, changes, strict=True):
            p.finding = change.finding
            p.tool, p.model, p.rationale = change.tool, change.model, change.rationale

    def main_files(self) -> dict[str, bytes]:
        files: dict[str, bytes] = {
            "README.md": text(["# Portal", "", "The customer portal: services and frontend."]),
            "pyproject.toml": text(
                ["[project]", 'name = "portal"', 'version = "1.0.0"', "dependencies = []"]
            ),
            "frontend/package.json": text(["{", '  "name": "portal-frontend"', "}"]),
            ".github/workflows/ci.yml": text(
                ["name: ci", "on: [push]", "jobs:", "  test:", "    runs-on: ubuntu-latest"]
            ),
        }
        for package in PACKAGES:
            files[f"src/{package}/__init__.py"] = b""
            for module in MODULES:
                files[f"src/{package}/{module}.py"] = text(module_lines(package, module))
                files[f"tests/{package}/test_{module}.py"] = text(test_lines(package, module))
        files["src/auth/__init__.py"] = b""
        for module in AUTH_MODULES:
            files[f"src/auth/{module}.py"] = text(module_lines("auth", module))
        for k in range(30):
            files[f"frontend/src/page{k:02d}.js"] = text(frontend_lines(f"page{k:02d}"))
        for k in range(10):
            files[f"docs/chapter{k:02d}.md"] = text([f"# Chapter {k}", "", "Text. " * 40])
        for p in self.plans:
            if p.big:
                files[p.path] = text(big_lines(p.big_kind, p.big, 1))
        return files

    def write_branches(self) -> dict[int, str]:
        """main (4 commits) and every fix branch, in one fast-import; returns main's commit ids
        by index (1-4)."""
        stream = FastImport()
        main = "refs/heads/main"
        marks = {
            1: stream.commit(main, MAINTAINER, T0, "Initial import\n", None, self.main_files())
        }
        marks[2] = stream.commit(
            main,
            MAINTAINER,
            T0 + 86_400,
            "Add security scan results and the fixreview policy\n",
            f":{marks[1]}",
            {
                ".fixreview.toml": POLICY.encode(),
                ".fixreview/allowed_signers": self.allowed_signers,
                "security/codeql.sarif": self.sarif,
            },
        )
        marks[3] = stream.commit(
            main,
            MAINTAINER,
            T0 + 2 * 86_400,
            "Docs: the export chapter\n",
            f":{marks[2]}",
            {"docs/chapter03.md": text(["# Chapter 3", "", "Exports. " * 40])},
        )
        marks[4] = stream.commit(
            main,
            MAINTAINER,
            T0 + 3 * 86_400,
            "Release 1.0.1\n",
            f":{marks[3]}",
            {"README.md": text(["# Portal", "", "Release 1.0.1."])},
        )
        for p in self.plans:
            when = T0 + 10 * 86_400 + p.index * 97
            bot = SARIF_BOT if p.source == "sarif" else CODETF_BOT
            assert p.finding is not None
            message = (
                f"Fix {p.finding.title or p.finding.id} in {p.path}\n\n{p.rationale}\n\n"
                f"Assisted-by: {p.tool.split(' ')[0]}:{p.model or 'codemod'}\n"
            )
            p.marks["ai"] = stream.commit(
                f"refs/heads/{p.branch}", bot, when, message, f":{marks[p.fork]}", self.ai_files(p)
            )
            p.marks["head"] = p.marks["ai"]
            if p.human:
                p.marks["head"] = stream.commit(
                    f"refs/heads/{p.branch}",
                    HUMAN,
                    when + 7_200,
                    "Cap the page size the caller asks for\n",
                    f":{p.marks['ai']}",
                    self.human_files(p),
                )
        found = stream.run(self.repo_dir, self.env)
        for p in self.plans:
            p.oids = {name: found[mark] for name, mark in p.marks.items()}
        return {index: found[mark] for index, mark in marks.items()}

    def fixed_module(self, p: FixPlan, human: bool = False) -> list[str]:
        package, module = p.path.removeprefix("src/").removesuffix(".py").split("/")
        lines = module_lines(package, module)
        at = vulnerable_line(p.function) - 1
        table = f"{package}_{module}_{p.function}"
        replacement = [
            f"    # parameterized query (finding {p.index})",
            f'    rows = db.execute("SELECT * FROM {table} WHERE id = ? LIMIT ?", '
            "(item_id, limit))",
        ]
        if human:
            replacement.insert(0, "    limit = min(limit, 500)")
        lines[at : at + 1] = replacement
        return lines

    def ai_files(self, p: FixPlan) -> dict[str, bytes]:
        if p.big:
            return {p.path: text(big_lines(p.big_kind, p.big, 2))}
        files = {p.path: text(self.fixed_module(p))}
        if p.test:
            package, module = p.path.removeprefix("src/").removesuffix(".py").split("/")
            lines = test_lines(package, module)
            lines += [
                f"def test_fetch_{module}_{p.function}_is_parameterized(fake_db):",
                f'    {module}.fetch_{module}_{p.function}(fake_db, "1 OR 1=1")',
                "    assert fake_db.last_params == ('1 OR 1=1', 50)",
                "",
            ]
            files[f"tests/{package}/test_{module}.py"] = text(lines)
        return files

    def human_files(self, p: FixPlan) -> dict[str, bytes]:
        return {p.path: text(self.fixed_module(p, human=True))}

    def patches(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """``git diff --binary --full-index A B`` of every (A, B) commit pair, computed together
        by the project's own bulk diff (one ``diff-tree --stdin``, the same bytes)."""
        repo = Repository(self.repo_dir)
        repo.prefetch_diffs(pairs)
        return {(a, b): repo.diff(a, b).decode("utf-8", "replace") for a, b in pairs}

    def write_proposals(self, mains: dict[int, str]) -> None:
        """One proposal per fix on its AI commit, one notes commit each (as ``propose`` does),
        the frozen patch that of merge-base..AI commit."""
        pairs = [(mains[p.fork], p.oids["ai"]) for p in self.plans]
        patches = self.patches(pairs)
        stream = FastImport()
        for p, pair in zip(self.plans, pairs, strict=True):
            assert p.finding is not None
            when = T0 + 10 * 86_400 + p.index * 97 + 600
            bot = SARIF_BOT if p.source == "sarif" else CODETF_BOT
            proposal = Proposal(
                id=str(uuid.uuid5(NAMESPACE, f"proposal/{p.branch}")),
                branch=p.branch,
                recorded=datetime.fromtimestamp(when, UTC),
                recorded_by=f"{bot[0]} <{bot[1]}>",
                finding=p.finding,
                suggestion=Suggestion(
                    tool=p.tool,
                    model=p.model,
                    rationale=p.rationale,
                    commit=p.oids["ai"],
                    base=pair[0],
                    patch=patches[pair],
                    created=datetime.fromtimestamp(T0 + 10 * 86_400 + p.index * 97, UTC),
                ),
            )
            lines = proposal_note_lines(proposal)
            if any(len(line) > MAX_LINE_BYTES for line in lines):
                continue  # propose refuses it too: the fix stays linked by nothing
            stream.commit(
                PROPOSALS_REF,
                bot,
                when,
                "Notes added by 'git notes add'\n",
                None,
                {},
                notes={p.oids["ai"]: text(lines)},
            )
        stream.run(self.repo_dir, self.env)

    def write_decisions(self) -> int:
        """Signed decisions with the project's decision code (prepared against the queue as
        fixreview reads it, signed with real ssh keys), one notes commit each."""
        repo = Repository(self.repo_dir)
        queue = load_queue(repo)
        fixes = {fix.branch.name: fix for fix in queue.fixes}
        signers = {key: SshSigner("ssh-keygen", str(self.keys / key)) for key, _, _ in REVIEWERS}
        people = {key: Person(name=name, email=email) for key, name, email in REVIEWERS}
        jobs: list[tuple[FixPlan, str, str, Fix]] = []
        for p in self.plans:
            if not p.decision:
                continue
            fix = fixes[p.branch]
            first = REVIEWERS[p.index % 3][0]
            if p.decision == "stale":  # approved on the AI's commit; a person committed after
                at = fix.branch.model_copy(update={"head": p.oids["ai"]})
                jobs.append((p, first, "approve", fix.model_copy(update={"branch": at})))
            elif p.decision == "changes":
                jobs.append((p, "tomas", "request-changes", fix))
            elif p.decision == "approve2":
                jobs += [(p, "aisha", "approve", fix), (p, "tomas", "approve", fix)]
            else:
                jobs.append((p, first, "approve", fix))
        for signer in signers.values():
            signer.fingerprint()

        def one(job: tuple[FixPlan, str, str, Fix], number: int) -> tuple[int, str, str]:
            p, who, verdict, fix = job
            checklist = Checklist(
                **{
                    name: ChecklistItem(status="confirmed", note=f"{name}: checked for {p.branch}")
                    for name in CHECKLIST_ITEMS
                }
            )
            when = T0 + 20 * 86_400 + p.index * 97 + number
            decision = prepare_decision(
                repo,
                fix,
                verdict,  # type: ignore[arg-type]
                checklist,
                reviewer=people[who],
                signer=signers[who],
                comment="" if verdict == "approve" else "Cap the page size as well, please.",
                acknowledged=["sensitive-path"] if p.decision == "approve2" else [],
                now=datetime.fromtimestamp(when, UTC),
                record_id=str(uuid.uuid5(NAMESPACE, f"decision/{p.branch}/{who}")),
            )
            return when, decision.head_commit, decision_note_line(decision, signers[who])

        with ThreadPoolExecutor(max_workers=4) as pool:
            made = list(pool.map(one, jobs, range(len(jobs))))
        stream = FastImport()
        notes: dict[str, list[str]] = {}
        for when, target, line in sorted(made):
            notes.setdefault(target, []).append(line)
            stream.commit(
                DECISIONS_REF,
                MAINTAINER,
                when,
                "Notes added by 'git notes add'\n",
                None,
                {},
                notes={target: text(notes[target])},
            )
        stream.run(self.repo_dir, self.env)
        return len(made)


BUILDER_SOURCES: tuple[Any, ...] = (
    plan_fixes,
    FixPlan,
    FastImport,
    Builder,
    module_lines,
    test_lines,
    big_lines,
    frontend_lines,
    vulnerable_line,
)


def cache_version() -> str:
    source = "".join(inspect.getsource(part) for part in BUILDER_SOURCES) + POLICY
    digest = hashlib.sha256(source.encode()).hexdigest()[:8]
    return f"v{BUILD_VERSION}-{digest}-{format_probe()}"


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fixreview-bench"


def build(cache: Path, count: int, big: Sequence[int], *, rebuild: bool = False) -> Path:
    """The benchmark repository for COUNT fixes and the BIG sizes: built, or from the cache.
    Returns its directory (``repo/``, ``keys/``, ``manifest.json``)."""
    dest = cache / f"fixes-{count}-big-{'-'.join(str(n) for n in sorted(big))}"
    if (dest / "manifest.json").exists() and not rebuild:
        return dest
    if dest.exists():
        shutil.rmtree(dest)  # a build that did not finish, or --rebuild
    dest.mkdir(parents=True)
    manifest = Builder(dest, count, big).build()
    print(f"built {dest} in {manifest['build_seconds']} s", file=sys.stderr)
    return dest


def build_demo(cache: Path) -> Path:
    """The sample repositories (``fixreview demo``), built once; returns payments-portal."""
    root = cache / "demo"
    repo = root / "payments-portal"
    if not repo.is_dir():
        subprocess.run(
            [sys.executable, "-m", "fixreview", "demo", "--no-open", "--path", str(root)],
            check=True,
            capture_output=True,
        )
    return repo


# --- measuring ------------------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured figure next to its lower bound (seconds, or a count)."""

    key: str
    what: str
    samples: list[float] = field(default_factory=list)
    floor_samples: list[float] = field(default_factory=list)
    floor_what: str = ""
    unit: str = "s"
    note: str = ""
    na: str = ""

    @property
    def value(self) -> float | None:
        return statistics.median(self.samples) if self.samples and not self.na else None

    @property
    def floor(self) -> float | None:
        return statistics.median(self.floor_samples) if self.floor_samples else None

    @property
    def ratio(self) -> float | None:
        value, floor = self.value, self.floor
        return value / floor if value is not None and floor else None

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "what": self.what,
            "unit": self.unit,
            "value": self.value,
            "floor": self.floor,
            "ratio": self.ratio,
            "floor_what": self.floor_what,
            "samples": self.samples,
            "floor_samples": self.floor_samples,
            "note": self.note,
            "na": self.na,
        }


def wall(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    cwd: Path | None = None,
    ok: Sequence[int] = (0,),
) -> float:
    """Wall time of one process (output discarded); RuntimeError when it fails."""
    started = time.perf_counter()
    proc = subprocess.run(
        list(argv), input=stdin, env=env, cwd=cwd, capture_output=True, timeout=CHILD_TIMEOUT
    )
    elapsed = time.perf_counter() - started
    if proc.returncode not in ok:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
        raise RuntimeError(f"{' '.join(argv[:4])}… exited {proc.returncode}: {tail[0][:160]}")
    return elapsed


def fixreview_cli(repo: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "fixreview", "--repo", str(repo), *args]


_DROPPED: list[Path] = []


def drop_cache(repo: Path) -> None:
    """Take fixreview's on-disk state under .git/fixreview (caches) away, keeping drafts: moved
    aside, beside the repository, and deleted when this script ends (:func:`forget_dropped`).

    Not deleted now: a cold run writes some 3,000 cache files, and deleting them just before
    the next cold run made ext4 skip every inode freed in the last minutes when it allocated
    the new ones (``recently_deleted`` in its inode allocator): 2-3 s of kernel time per run
    that a fresh clone does not pay, measured with ``perf`` on the benchmark machine."""
    state = repo / ".git" / "fixreview"
    if not state.is_dir():
        return
    trash = repo.parent / f".{repo.name}.dropped"
    trash.mkdir(exist_ok=True)
    if trash not in _DROPPED:
        _DROPPED.append(trash)
    for entry in state.iterdir():
        if entry.name != "drafts":
            entry.rename(trash / f"{time.monotonic_ns()}-{entry.name}")


def forget_dropped() -> None:
    """Delete what :func:`drop_cache` moved aside."""
    while _DROPPED:
        shutil.rmtree(_DROPPED.pop(), ignore_errors=True)


def median_of(
    repeat: int,
    run: Callable[[], float],
    before: Callable[[], None] | None = None,
) -> list[float]:
    samples = []
    for _ in range(repeat):
        if before is not None:
            before()
        samples.append(run())
    return samples


def measure(figure: Figure, body: Callable[[Figure], None]) -> Figure:
    """Run BODY; a failure (a bug in the app, a timeout) becomes ``n/a (reason)``."""
    try:
        body(figure)
    except Exception as exc:  # the benchmark carries on and says why
        figure.na = f"{type(exc).__name__}: {exc}"[:200]
    return figure


def manifest_of(built: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((built / "manifest.json").read_text())
    return data


def entry(manifest: dict[str, Any], branch: str) -> dict[str, Any]:
    return next(b for b in manifest["branches"] if b["branch"] == branch)


def python_floor() -> float:
    return wall([sys.executable, "-c", "import pydantic"])


# a. list


def list_floor_inputs(repo: Path, manifest: dict[str, Any], tmp: Path) -> str:
    """The plumbing lower bound of ``list``: one for-each-ref, one diff-tree --stdin --numstat
    over the (merge-base tree, head tree) pairs, one cat-file --batch over the notes blobs; the
    inputs are prepared here, the shell command returned is what is timed."""
    revs = [rev for b in manifest["branches"] for rev in (b["merge_base"], b["head"])]
    out = git(repo, "cat-file", "--batch-check", data=text(f"{r}^{{tree}}" for r in revs))
    trees = [line.split()[0] for line in out.decode().splitlines()]
    (tmp / "pairs").write_bytes(text(f"{trees[i]} {trees[i + 1]}" for i in range(0, len(trees), 2)))
    blobs = []
    for ref in (PROPOSALS_REF, DECISIONS_REF):
        listing = git(repo, "ls-tree", "-r", ref).decode()
        blobs += [line.split()[2] for line in listing.splitlines()]
    (tmp / "blobs").write_bytes(text(blobs))
    return (
        "git for-each-ref --format='%(objectname) %(objecttype) %(refname)' refs/heads "
        "refs/remotes >/dev/null && "
        f"git diff-tree --stdin -r --numstat <'{tmp}/pairs' >/dev/null && "
        f"git cat-file --batch <'{tmp}/blobs' >/dev/null"
    )


def measure_list(repo: Path, manifest: dict[str, Any], repeat: int, tmp: Path) -> list[Figure]:
    floor_cmd = list_floor_inputs(repo, manifest, tmp)
    floors = median_of(repeat, lambda: wall(["sh", "-c", floor_cmd], cwd=repo))
    floor_what = "for-each-ref + diff-tree --stdin --numstat + cat-file --batch (notes)"
    argv = fixreview_cli(repo, "list", "--json")

    def cold(f: Figure) -> None:
        f.samples = median_of(repeat, lambda: wall(argv), before=lambda: drop_cache(repo))
        f.floor_samples = floors

    def warm(f: Figure) -> None:
        wall(argv)
        f.samples = median_of(repeat, lambda: wall(argv))
        f.floor_samples = floors

    return [
        measure(Figure("list.cold", "list --json, cold cache", floor_what=floor_what), cold),
        measure(Figure("list.warm", "list --json, warm cache", floor_what=floor_what), warm),
    ]


# b, c, f, g: the app, in a child process driven by Pilot

CHILD = r'''
import asyncio, json, os, sys, time

def emit(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()

def hwm_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None

def finish(**kw):
    emit(done=True, hwm_kib=hwm_kib(), **kw)
    sys.stdout.flush()
    os._exit(0)

MODE, TARGET = sys.argv[1], sys.argv[2]
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "300"))
SIZE = (160, 50)

async def wait_for(pilot, test, what):
    deadline = time.perf_counter() + TIMEOUT
    while not test():
        if time.perf_counter() > deadline:
            finish(error=f"timeout waiting for {what}")
        await pilot.pause(0.005)

def rows_table(app):
    from textual.widgets import DataTable
    for table in app.screen.query(DataTable):
        if table.row_count > 0:
            return table
    return None

async def ready(app, pilot):
    """The queue is read: its real rows are drawn (not the provisional ones a start draws
    first, on which Enter waits for the queue)."""
    await wait_for(pilot, lambda: read_queue(app), "the queue's rows")
    await pilot.pause()
    emit(mark="ready")
    return rows_table(app)

async def interactive(app, pilot):
    """The queue answers keys: its rows are there, and a "down" sent as the terminal sends it
    has moved the cursor. (Not pilot.press or pilot.pause: they also wait, up to a second, for
    the process to stop using CPU, which a worker filling columns in does by design.)"""
    from textual import events
    await wait_for(pilot, lambda: rows_table(app) is not None, "the queue's rows")
    table = rows_table(app)
    table.focus()
    before = table.cursor_row
    key = events.Key("down", None)
    key.set_sender(app)
    app._driver.send_message(key)
    deadline = time.perf_counter() + TIMEOUT
    while rows_table(app).cursor_row == before:
        if time.perf_counter() > deadline:
            finish(error="timeout waiting for the cursor to move")
        await asyncio.sleep(0.002)
    emit(mark="ready")

async def bare(count):
    from textual.app import App
    from textual.widgets import DataTable

    class Bare(App):
        def compose(self):
            yield DataTable(cursor_type="row", zebra_stripes=True)

        def on_mount(self):
            table = self.query_one(DataTable)
            table.add_columns(*[f"col{k}" for k in range(10)])
            for r in range(count):
                table.add_row(*[f"cell {r}.{k}" for k in range(10)], key=str(r))

    app = Bare()
    async with app.run_test(size=SIZE) as pilot:
        await interactive(app, pilot)
        finish()

async def bare_scroll(count):
    """Textual's floor for a page-down: a line-API ScrollView of COUNT plain rows."""
    from rich.segment import Segment
    from textual.app import App
    from textual.geometry import Size
    from textual.scroll_view import ScrollView
    from textual.strip import Strip
    seen = {}

    class Rows(ScrollView, can_focus=True):
        def on_mount(self):
            self.virtual_size = Size(120, count)

        def render_line(self, y):
            row = self.scroll_offset.y + y
            strip = Strip([Segment(f"{row:>7} +    field_{row:06d} = Field(tag={row})")])
            if row > 0 and self.scroll_offset.y > 0 and y >= self.size.height - 1:
                seen.setdefault("page", time.perf_counter())
            return strip

    class Bare(App):
        def compose(self):
            yield Rows()

        def on_mount(self):
            self.query_one(Rows).focus()

    app = Bare()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        started = time.perf_counter()
        await pilot.press("pagedown")
        await wait_for(pilot, lambda: "page" in seen, "the page")
        finish(pagedown=seen["page"] - started)

def fixreview_app(repo):
    from fixreview.app.main import FixreviewApp
    from fixreview.repo.git import Repository
    return FixreviewApp(Repository(repo), None)

def read_queue(app):
    """The queue is read: the session has it (whatever the app drew before, from the rows it
    kept last time, is gone)."""
    return app.session.queue is not None and rows_table(app) is not None and not getattr(
        app.queue_screen, "provisional", None)

async def queue(repo, kept=True):
    """Start to a key answered, then to the queue read. KEPT False: with no rows kept from
    a start before (moved aside for the run, put back after)."""
    import shutil
    from pathlib import Path
    rows = Path(repo) / ".git" / "fixreview" / "cache" / "app-rows"
    aside = rows.with_name("app-rows.aside")
    if not kept:
        shutil.rmtree(aside, ignore_errors=True)
        if rows.exists():
            rows.rename(aside)
    app = fixreview_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await interactive(app, pilot)
        deadline = time.perf_counter() + TIMEOUT
        while not read_queue(app):
            if time.perf_counter() > deadline:
                finish(error="timeout waiting for the queue to be read")
            await asyncio.sleep(0.002)
        emit(mark="read")
        if not kept:
            shutil.rmtree(rows, ignore_errors=True)
            if aside.exists():
                aside.rename(rows)
        finish()

async def prime(repo):
    """A whole start: the queue read and judged, what the app keeps for its next start kept."""
    app = fixreview_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        finish()

async def diff(repo, branch, path):
    import fixreview.app.widgets.diff_view as dv
    from fixreview.app.screens.queue import QueueScreen
    seen = {}
    phase = {"name": None}
    original = dv.DiffView.render_line

    def render_line(self, y):
        strip = original(self, y)
        name = phase["name"]
        if name is not None and self.id == "final":
            now = time.perf_counter()
            last = y >= self.scrollable_content_region.height - 1
            if name in ("open", "reopen"):
                if path in strip.text:
                    seen.setdefault(name + ".first", now)
                if last and name + ".first" in seen:
                    seen.setdefault(name + ".frame", now)
            elif name == "page" and self.scroll_offset.y > 0:
                seen.setdefault("page.first", now)
                if last:
                    seen.setdefault("page.frame", now)
        return strip

    dv.DiffView.render_line = render_line
    app = fixreview_app(repo)
    result = {}
    async with app.run_test(size=SIZE) as pilot:
        table = await ready(app, pilot)
        table.move_cursor(row=table.get_row_index(branch))
        table.focus()
        await pilot.pause()
        for name in ("open", "reopen"):
            phase["name"] = name
            started = time.perf_counter()
            await pilot.press("enter")
            await wait_for(pilot, lambda: name + ".frame" in seen, f"the first diff frame ({name})")
            result[name] = seen[name + ".first"] - started
            result[name + ".frame"] = seen[name + ".frame"] - started
            if name == "open":
                result["hwm_open_kib"] = hwm_kib()
                phase["name"] = None
                await pilot.pause(0.2)
                phase["name"] = "page"
                started = time.perf_counter()
                await pilot.press("pagedown")
                await wait_for(pilot, lambda: "page.frame" in seen, "the next page")
                result["pagedown"] = seen["page.frame"] - started
                phase["name"] = None
                await pilot.press("escape")
                await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen), "the queue")
                await pilot.pause()
        finish(**result)

async def batch(repo, wanted, log):
    from textual.widgets import Checkbox, Input
    from fixreview.app.screens.decision import DecisionDialog
    from fixreview.app.screens.review import ReviewScreen
    from fixreview.app.screens.summary import SummaryScreen

    def logged():
        try:
            with open(log) as handle:
                return sum(1 for _ in handle)
        except OSError:
            return 0

    app = fixreview_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        table = await ready(app, pilot)
        await app.workers.wait_for_complete()
        at_start = logged()
        started = time.perf_counter()
        table.move_cursor(row=0)
        table.focus()
        await pilot.press("enter")
        decided = 0
        for _ in range(wanted * 3):
            if decided >= wanted or isinstance(app.screen, SummaryScreen):
                break
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, (ReviewScreen, SummaryScreen))
                and (isinstance(app.screen, SummaryScreen) or app.screen.data is not None),
                "a loaded fix",
            )
            screen = app.screen
            if isinstance(screen, SummaryScreen):
                break
            before = len(app.session.decided)
            approve = not screen.data.blocking
            await pilot.press(*(["1", "2", "3", "4", "A"] if approve else ["C"]))
            await wait_for(pilot, lambda: isinstance(app.screen, DecisionDialog), "the dialog")
            dialog = app.screen
            focused = app.focused
            if approve and isinstance(focused, Input) and focused.id == "rollback":
                focused.value = "revert if the export job fails"
                await pilot.press("enter")
            focused = app.focused
            if isinstance(focused, Input) and focused.id == "comment":
                focused.value = "benchmark decision"
                await pilot.pause()
            await pilot.press("enter")
            for _ in range(400):
                await pilot.pause(0.01)
                if app.screen is not dialog:
                    break
            if app.screen is dialog:
                boxes = dialog.query("#record-anyway")
                if boxes:
                    boxes.first(Checkbox).value = True
                    dialog.query_one("#comment", Input).focus()
                    await pilot.press("enter")
                await wait_for(pilot, lambda: app.screen is not dialog, "the dialog to close")
            await wait_for(pilot, lambda: len(app.session.decided) > before, "the decision")
            decided += 1
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        finish(decided=decided, seconds=time.perf_counter() - started, at_start=at_start,
               at_end=logged())

if MODE == "bare":
    asyncio.run(bare(int(TARGET)))
elif MODE == "bare-scroll":
    asyncio.run(bare_scroll(int(TARGET)))
elif MODE == "queue":
    asyncio.run(queue(TARGET))
elif MODE == "queue-unkept":
    asyncio.run(queue(TARGET, kept=False))
elif MODE == "prime":
    asyncio.run(prime(TARGET))
elif MODE == "diff":
    asyncio.run(diff(TARGET, sys.argv[3], sys.argv[4]))
elif MODE == "batch":
    asyncio.run(batch(TARGET, int(sys.argv[3]), sys.argv[4]))
'''


@dataclass
class ChildResult:
    ready: float | None  # seconds from spawning to the "ready" marker
    done: dict[str, Any]
    marks: dict[str, float] = field(default_factory=dict)  # every marker, seconds from spawning


def run_child(*args: str, env: dict[str, str] | None = None) -> ChildResult:
    """Run the Pilot child; the time from spawning it to its ``ready`` marker, and what it
    reported when done. RuntimeError when it failed or reported an error."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    ready: float | None = None
    marks: dict[str, float] = {}
    done: dict[str, Any] | None = None
    assert proc.stdout is not None
    deadline = started + CHILD_TIMEOUT
    try:
        for raw in proc.stdout:
            now = time.perf_counter()
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if message.get("mark") == "ready" and ready is None:
                ready = now - started
            if message.get("mark"):
                marks.setdefault(message["mark"], now - started)
            if message.get("done"):
                done = message
                break
            if now > deadline:
                break
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=30)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if done is None:
        err = (proc.stderr.read() if proc.stderr else b"").decode("utf-8", "replace")
        lines = [line for line in err.strip().splitlines() if line.strip()]
        raise RuntimeError(f"the app child ended early: {lines[-1][:200] if lines else '?'}")
    if proc.stderr:
        proc.stderr.close()
    if done.get("error"):
        raise RuntimeError(done["error"])
    return ChildResult(ready, done, marks)


def measure_app(repo: Path, count: int, repeat: int) -> list[Figure]:
    figures = []
    bare_runs: list[ChildResult] = []

    def bare_floor() -> list[float]:
        if not bare_runs:
            bare_runs.extend(run_child("bare", str(count)) for _ in range(repeat))
        return [r.ready or 0.0 for r in bare_runs]

    # a start after a start (the rows it kept drawn first, provisional) and a first start,
    # alternated, each run to a key answered and then to the queue read
    kept_runs: list[ChildResult] = []
    first_runs: list[ChildResult] = []

    def runs() -> None:
        if not kept_runs:
            run_child("prime", str(repo))
            for _ in range(repeat):
                kept_runs.append(run_child("queue", str(repo)))
                first_runs.append(run_child("queue-unkept", str(repo)))

    def start(f: Figure) -> None:
        runs()
        f.samples = [r.ready or 0.0 for r in kept_runs]
        f.floor_samples = bare_floor()

    def read(f: Figure) -> None:
        runs()
        f.samples = [r.marks["read"] for r in kept_runs]
        f.floor_samples = bare_floor()

    def first(f: Figure) -> None:
        runs()
        f.samples = [r.ready or 0.0 for r in first_runs]
        f.floor_samples = bare_floor()

    floor_what = f"bare Textual app, one DataTable of {count} rows"
    figures.append(
        measure(
            Figure(
                "app.start",
                "app: start to an interactive queue (a key moves the cursor)",
                floor_what=floor_what,
                note="a start after a start: the rows it kept are drawn first, provisional",
            ),
            start,
        )
    )
    figures.append(
        measure(Figure("app.read", "app: start to the queue read", floor_what=floor_what), read)
    )
    figures.append(
        measure(
            Figure(
                "app.first", "app: first start (no rows kept) to a key", floor_what=floor_what
            ),
            first,
        )
    )
    return figures


def measure_diff(
    repo: Path, manifest: dict[str, Any], size: int, repeat: int, with_rss: bool
) -> list[Figure]:
    """c and f: Enter on the big fix to its first diff frame (cold and warm), page-down, and
    the app's peak RSS with it open."""
    branch = manifest["big"][str(size)]
    path = manifest["big_paths"][str(size)]
    b = entry(manifest, branch)
    git_floor = median_of(
        repeat, lambda: wall(["git", "diff", b["merge_base"], b["head"]], cwd=repo)
    )
    cold: list[ChildResult] = []
    warm: list[ChildResult] = []
    errors: list[str] = []
    for _ in range(repeat):
        try:
            drop_cache(repo)
            cold.append(run_child("diff", str(repo), branch, path))
            warm.append(run_child("diff", str(repo), branch, path))
        except RuntimeError as exc:
            errors.append(str(exc))
            break

    def from_runs(runs: list[ChildResult], key: str) -> Callable[[Figure], None]:
        def body(f: Figure) -> None:
            if not runs:
                raise RuntimeError(errors[0] if errors else "no run")
            f.samples = [float(r.done[key]) for r in runs]

        return body

    lines = f"{size:,}-line fix"
    floor_what = "git diff of the fix"
    figures = [
        measure(
            Figure(
                f"diff{size}.open.cold",
                f"{lines}: Enter → first diff line, cold cache",
                floor_samples=git_floor,
                floor_what=floor_what,
            ),
            from_runs(cold, "open"),
        ),
        measure(
            Figure(
                f"diff{size}.open.warm",
                f"{lines}: Enter → first diff line, warm cache",
                floor_samples=git_floor,
                floor_what=floor_what,
            ),
            from_runs(warm, "open"),
        ),
        measure(
            Figure(
                f"diff{size}.reopen",
                f"{lines}: reopened in the same app",
                floor_samples=git_floor,
                floor_what=floor_what,
            ),
            from_runs(cold, "reopen"),
        ),
    ]

    def page(f: Figure) -> None:
        from_runs(cold, "pagedown")(f)
        f.floor_samples = [
            float(run_child("bare-scroll", str(2 * size)).done["pagedown"]) for _ in range(repeat)
        ]

    figures.append(
        measure(
            Figure(
                f"diff{size}.pagedown",
                f"{lines}: page-down in the diff view",
                floor_what=f"a bare line-API ScrollView of {2 * size:,} rows",
            ),
            page,
        )
    )
    if with_rss:

        def rss(f: Figure) -> None:
            from_runs(cold, "hwm_open_kib")(f)
            f.samples = [s / 1024 for s in f.samples]
            f.floor_samples = [
                float(run_child("bare", str(manifest["fixes"])).done["hwm_kib"]) / 1024
                for _ in range(repeat)
            ]

        figures.append(
            measure(
                Figure(
                    "rss",
                    f"app peak RSS, {manifest['fixes']:,} fixes, {lines} open",
                    unit="MB",
                    floor_what="bare Textual app with the same number of rows",
                ),
                rss,
            )
        )
    return figures


def measure_show_risk(
    repo: Path, manifest: dict[str, Any], size: int, repeat: int, only: set[str]
) -> list[Figure]:
    branch = manifest["big"][str(size)]
    b = entry(manifest, branch)
    lines = f"{size:,}-line fix"
    figures = []
    git_diff = ["git", "diff", b["merge_base"], b["head"]]
    if "show" in only:

        def show(f: Figure) -> None:
            argv = fixreview_cli(repo, "show", branch)
            f.samples = median_of(repeat, lambda: wall(argv), before=lambda: drop_cache(repo))
            f.floor_samples = [python_floor() + wall(git_diff, cwd=repo) for _ in range(repeat)]

        figures.append(
            measure(
                Figure(
                    "show",
                    f"show of the {lines} (CLI), cold cache",
                    floor_what="python -c 'import pydantic' + git diff",
                ),
                show,
            )
        )
    if "risk" in only:
        program = (
            "import sys, time\n"
            "from fixreview.queue import load_queue\n"
            "from fixreview.repo.git import Repository\n"
            "from fixreview.risk import assess_fix\n"
            "repo = Repository(sys.argv[1])\n"
            "queue = load_queue(repo)\n"
            "fix = queue.get(sys.argv[2])\n"
            "started = time.perf_counter()\n"
            "assess_fix(repo, fix, queue.policy.policy)\n"
            "print(time.perf_counter() - started)\n"
        )

        def risk(f: Figure) -> None:
            def once() -> float:
                drop_cache(repo)
                proc = subprocess.run(
                    [sys.executable, "-c", program, str(repo), branch],
                    capture_output=True,
                    timeout=CHILD_TIMEOUT,
                    check=False,
                )
                if proc.returncode != 0:
                    err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
                    raise RuntimeError(err[-1][:200] if err else f"exit {proc.returncode}")
                return float(proc.stdout.split()[-1])

            f.samples = [once() for _ in range(repeat)]
            f.floor_samples = median_of(repeat, lambda: wall(git_diff, cwd=repo))

        figures.append(
            measure(
                Figure(
                    "risk",
                    f"risk checks (assess_fix) on the {lines}, in process, cold cache",
                    floor_what="git diff of the fix",
                ),
                risk,
            )
        )
    return figures


# e. verify and log


def ssh_verify_floor(repo: Path, rev: str, allowed: bytes, tmp: Path) -> float:
    """git notes show REV + one ssh-keygen -Y verify per decision on it (real signatures)."""
    started = time.perf_counter()
    shown = subprocess.run(
        ["git", "notes", "--ref", "fixreview/decisions", "show", rev],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout
    elapsed = time.perf_counter() - started
    (tmp / "allowed").write_bytes(allowed)
    for n, line in enumerate(shown.decode().split("\n")):
        parts = line.split(" ")
        if len(parts) != 3:
            continue
        payload = base64.urlsafe_b64decode(parts[1])
        signature = base64.urlsafe_b64decode(parts[2])
        principal = re.search(rb'^reviewer = "([^"]+)"', payload, re.MULTILINE)
        (tmp / f"sig{n}").write_bytes(signature)
        elapsed += wall(
            [
                "ssh-keygen",
                "-Y",
                "verify",
                "-f",
                str(tmp / "allowed"),
                "-I",
                principal.group(1).decode() if principal else "?",
                "-n",
                SSH_NAMESPACE,
                "-s",
                str(tmp / f"sig{n}"),
            ],
            stdin=payload,
        )
    return elapsed


def measure_verify(repo: Path, manifest: dict[str, Any], repeat: int, tmp: Path) -> list[Figure]:
    branch = manifest["two_approvals"][0]
    head = entry(manifest, branch)["head"]
    allowed = git(repo, "show", "main:.fixreview/allowed_signers")
    argv = fixreview_cli(repo, "verify", head)

    def floor() -> list[float]:
        return [python_floor() + ssh_verify_floor(repo, head, allowed, tmp) for _ in range(repeat)]

    floor_what = "python -c 'import pydantic' + git notes show + 2 ssh-keygen -Y verify"

    def cold(f: Figure) -> None:
        f.samples = median_of(repeat, lambda: wall(argv), before=lambda: drop_cache(repo))
        f.floor_samples = floor()

    def warm(f: Figure) -> None:
        wall(argv)
        f.samples = median_of(repeat, lambda: wall(argv))
        f.floor_samples = floor()

    return [
        measure(
            Figure(
                "verify.cold", "verify, fix with 2 approvals, cold cache", floor_what=floor_what
            ),
            cold,
        ),
        measure(
            Figure(
                "verify.warm", "verify, fix with 2 approvals, warm cache", floor_what=floor_what
            ),
            warm,
        ),
    ]


def measure_log(demo: Path, repeat: int, tmp: Path) -> list[Figure]:
    def body(f: Figure) -> None:
        work = tmp / "log-demo"
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(demo, work, symlinks=True)
        argv = fixreview_cli(work, "log")
        f.samples = median_of(repeat, lambda: wall(argv), before=lambda: drop_cache(work))
        allowed = git(work, "show", "main:.fixreview/allowed_signers")
        targets = git(work, "notes", "--ref", "fixreview/decisions", "list").decode().split()
        heads = targets[1::2]

        def floor() -> float:
            total = python_floor() + wall(
                ["git", "log", "-p", "--format=%H", DECISIONS_REF, PROPOSALS_REF], cwd=work
            )
            for head in heads:
                total += ssh_verify_floor(work, head, allowed, tmp)
            return total

        f.floor_samples = [floor() for _ in range(repeat)]

    return [
        measure(
            Figure(
                "log",
                "log on the demo (16 fixes), cold cache",
                floor_what="python -c 'import pydantic' + git log -p of the notes + 1 ssh-keygen "
                "-Y verify per decision",
            ),
            body,
        )
    ]


# g. a batch session, counting processes

WRAPPER = """#!/bin/bash
line={name}
for arg in "$@"; do line+=$'\\x1f'"${{arg//$'\\n'/\\\\n}}"; done
printf '%s\\n' "$line" >> "$FIXREVIEW_BENCH_LOG"
exec {real} "$@"
"""


def measure_batch(demo: Path, tmp: Path, decisions: int = 14) -> list[Figure]:
    counts = Figure(
        "batch.processes",
        f"batch session of {decisions} decisions (demo): git + ssh-keygen processes",
        unit="count",
        floor_what="—",
    )
    verifies = Figure(
        "batch.verify",
        f"batch session of {decisions} decisions (demo): ssh-keygen -Y verify calls",
        unit="count",
        floor_what="one per decision record, existing and new",
    )
    seconds = Figure(
        "batch.seconds",
        f"batch session of {decisions} decisions (demo), wall time (with the wrappers)",
        floor_what="—",
    )

    def body(_: Figure) -> None:
        work = tmp / "batch-demo"
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(demo, work, symlinks=True)
        wrappers = tmp / "wrappers"
        wrappers.mkdir(exist_ok=True)
        for name in ("git", "ssh-keygen"):
            real = shutil.which(name)
            if real is None:
                raise RuntimeError(f"{name} not found")
            script = wrappers / name
            script.write_text(WRAPPER.format(name=name, real=real))
            script.chmod(0o755)
        log = tmp / "processes.log"
        log.write_text("")
        existing = len(git(work, "log", "-p", DECISIONS_REF).decode().split("\n+decision ")) - 1
        env = {
            **os.environ,
            "PATH": f"{wrappers}{os.pathsep}{os.environ.get('PATH', '')}",
            "FIXREVIEW_BENCH_LOG": str(log),
        }
        result = run_child("batch", str(work), str(decisions), str(log), env=env)
        calls = log.read_text().splitlines()
        start = int(result.done["at_start"])
        decided = int(result.done["decided"])
        counts.samples = [float(len(calls))]
        verifies.samples = [float(sum(1 for c in calls if "\x1f-Y\x1fverify" in c))]
        verifies.floor_samples = [float(existing + decided)]
        seconds.samples = [float(result.done["seconds"])]
        during = calls[start:]
        counts.note = (
            f"{decided} decisions recorded; from the app's start to its last worker: "
            f"{start} processes before the first Enter, {len(during)} after"
        )
        verifies.note = (
            f"{sum(1 for c in calls[:start] if chr(31) + '-Y' + chr(31) + 'verify' in c)} "
            "before the first Enter"
        )
        seconds.note = "from the first Enter to the last worker, Pilot's polling included"

    measure(counts, body)
    verifies.na = seconds.na = counts.na
    return [counts, verifies, seconds]


# --- the report ---------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break

    def version(*argv: str) -> str:
        try:
            proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
        except OSError:
            return "?"
        said = (proc.stdout or proc.stderr).strip().splitlines()
        return said[0] if said and proc.returncode == 0 else "?"

    import textual

    commit = version("git", "-C", str(ROOT), "describe", "--always", "--dirty")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "git": version("git", "--version"),
        "ssh": version("ssh", "-V"),
        "textual": textual.__version__,
        "fixreview_commit": commit if commit != "?" else f"{ROOT} (not a git checkout)",
        "platform": platform.platform(),
    }


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if value < 1:
        return f"{value * 1000:,.0f} ms"
    return f"{value:,.2f} s"


def table(title: str, figures: Sequence[Figure]) -> str:
    rows = [("what", "measured", "lower bound", "ratio", "lower bound is")]
    for f in figures:
        measured = f"n/a ({f.na})" if f.na else fmt(f.value, f.unit)
        ratio = "—" if f.ratio is None else f"{f.ratio:,.1f}x"
        rows.append((f.what, measured, fmt(f.floor, f.unit), ratio, f.floor_what))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    out = [title]
    for n, row in enumerate(rows):
        cells = [
            row[0].ljust(widths[0]),
            row[1].rjust(widths[1]),
            row[2].rjust(widths[2]),
            row[3].rjust(widths[3]),
            row[4],
        ]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in [*widths, 14]))
    notes = [f"  {f.key}: {f.note}" for f in figures if f.note]
    return "\n".join(out + notes)


ALL = ("list", "app", "diff", "show", "risk", "verify", "log", "rss", "batch")


def run_suite(
    cache: Path,
    count: int,
    big: Sequence[int],
    only: set[str],
    repeat: int,
    rebuild: bool,
    headline: int,
) -> list[Figure]:
    built = build(cache, count, big, rebuild=rebuild)
    repo = built / "repo"
    manifest = manifest_of(built)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="fixreview-bench-") as scratch:
        tmp = Path(scratch)
        if "list" in only:
            figures += measure_list(repo, manifest, repeat, tmp)
        if "app" in only:
            figures += measure_app(repo, count, repeat)
        if only & {"diff", "rss"}:
            figures += measure_diff(repo, manifest, headline, repeat, "rss" in only)
        if only & {"show", "risk"}:
            figures += measure_show_risk(repo, manifest, headline, repeat, only)
        if "verify" in only:
            figures += measure_verify(repo, manifest, repeat, tmp)
        if only & {"log", "batch"}:
            demo = build_demo(cache)
            if "log" in only:
                figures += measure_log(demo, repeat, tmp)
            if "batch" in only:
                figures += measure_batch(demo, tmp)
    return figures


def run_sizes(
    cache: Path, big: Sequence[int], repeat: int, rebuild: bool, diff_fixes: int
) -> dict[str, list[Figure]]:
    """How cost grows: list, app start and verify at 100, 1,000 and 5,000 fixes; the diff open
    at each big-fix size."""
    out: dict[str, list[Figure]] = {}
    for count in SIZES_FIXES:
        out[f"{count} fixes"] = run_suite(
            cache, count, big, {"list", "app", "verify"}, repeat, rebuild, HEADLINE_BIG
        )
    built = build(cache, diff_fixes, big, rebuild=False)
    manifest = manifest_of(built)
    diffs: list[Figure] = []
    for size in sorted(big):
        diffs += measure_diff(built / "repo", manifest, size, repeat, with_rss=False)
    out[f"diff open ({diff_fixes} fixes)"] = diffs
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--fixes",
        type=int,
        nargs="+",
        default=[1_000],
        metavar="N",
        help="numbers of fix branches (default 1000)",
    )
    parser.add_argument(
        "--big",
        type=int,
        nargs="+",
        default=list(DEFAULT_BIG),
        metavar="LINES",
        help="lines replaced by each big fix (default 2000 20000 100000)",
    )
    parser.add_argument(
        "--diff-lines",
        type=int,
        default=HEADLINE_BIG,
        help="the big fix the diff, show, risk and RSS figures use",
    )
    parser.add_argument(
        "--only", default=",".join(ALL), help=f"comma-separated subset of: {','.join(ALL)}"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument(
        "--sizes",
        action="store_true",
        help="also: list/app/verify at 100, 1000, 5000 fixes; diff open per size",
    )
    parser.add_argument("--cache", type=Path, default=None, help="where repositories are built")
    parser.add_argument("--json", type=Path, default=None, help="where to write the results")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the repositories")
    parser.add_argument("--build-only", action="store_true", help="build, measure nothing")
    args = parser.parse_args(argv)
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    unknown = only - set(ALL)
    if unknown:
        parser.error(f"unknown --only part(s): {', '.join(sorted(unknown))}")
    if args.diff_lines not in args.big:
        parser.error("--diff-lines must be one of the --big sizes")
    # every fixreview process measured imports the fixreview beside this script (a checkout
    # of an older commit measures that commit), whatever is installed
    os.environ["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(ROOT), os.environ.get("PYTHONPATH", "")) if part
    )
    # as installed: bytecode compiled once (pip does it for an install; a sandbox that sets
    # PYTHONDONTWRITEBYTECODE would otherwise compile every module in every process measured)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    compileall.compile_dir(str(ROOT / "fixreview"), quiet=1)
    cache = (args.cache or default_cache()).expanduser().resolve() / cache_version()
    cache.mkdir(parents=True, exist_ok=True)
    if args.build_only:
        for count in args.fixes:
            print(build(cache, count, args.big, rebuild=args.rebuild))
        return 0
    info = machine()
    report: dict[str, Any] = {
        "machine": info,
        "builder": cache.name,
        "repeat": args.repeat,
        "runs": {},
        "sizes": {},
    }
    print(
        f"machine: {info['cpus']} CPUs ({info['cpu_model']}), Python {info['python']}, "
        f"{info['git']}, Textual {info['textual']}, fixreview {info['fixreview_commit']}"
    )
    atexit.register(forget_dropped)
    for count in args.fixes:
        figures = run_suite(
            cache, count, args.big, only, args.repeat, args.rebuild, args.diff_lines
        )
        print()
        print(table(f"{count:,} fixes (median of {args.repeat})", figures))
        report["runs"][str(count)] = [f.as_json() for f in figures]
    if args.sizes:
        for title, figures in run_sizes(cache, args.big, args.repeat, False, args.fixes[0]).items():
            print()
            print(table(f"scaling: {title}", figures))
            report["sizes"][title] = [f.as_json() for f in figures]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = args.json or cache / f"results-{stamp}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=1))
    print(f"\nJSON: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
