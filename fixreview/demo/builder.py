"""Builds the sample repositories from ``sample_repos/`` data into real git repositories.

The data format (``repo.toml``, overlay folders, ``fix.toml``) is described in
``sample_repos/README.md``. Every commit has fixed identities and dates, and proposals are
recorded with fixed ids and times, so that a build is byte-for-byte repeatable: the same
commit ids on every machine, which keeps tests and screenshots stable.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import tomli

from fixreview.decisions import (
    CHECKLIST_ITEMS,
    Checklist,
    ChecklistItem,
    prepare_decision,
    record_decision,
)
from fixreview.errors import FixreviewError, InputError
from fixreview.findings.sarif import parse_sarif, select_result
from fixreview.findings.toml_file import parse_one_finding
from fixreview.models import Finding, Person
from fixreview.policy import load_policy
from fixreview.proposals import propose
from fixreview.queue import fix_at
from fixreview.repo.git import init_repository
from fixreview.signing.ssh import SshSigner

MARKER = ".fixreview-demo"
DEMO_NAMESPACE = uuid.UUID("6f1c3a52-4a8e-4f0e-9a0b-2c1d5e7f9a10")
DEMO_USER = ("Demo Reviewer", "reviewer@demo.fixreview.invalid")


@dataclass(frozen=True)
class BuiltDemo:
    root: Path
    repositories: list[Path]


def sample_repos_dir() -> Path:
    """Where the sample data is: inside the installed package, or beside it in a checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_data" / "sample_repos", package.parent / "sample_repos"):
        if candidate.is_dir():
            return candidate
    raise FixreviewError("the sample repositories' data is missing from this installation")


def build_demo(path: Path | None = None, data: Path | None = None) -> BuiltDemo:
    """Build every sample repository under PATH (default: a new temporary directory)."""
    source = data or sample_repos_dir()
    if path is None:
        root = Path(tempfile.mkdtemp(prefix="fixreview-demo-"))
    else:
        root = path.expanduser().resolve()
        if root.exists() and any(root.iterdir()):
            if not (root / MARKER).exists():
                raise FixreviewError(
                    f"{root} exists and is not empty; give --path a new or empty directory"
                )
            shutil.rmtree(root)
        root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("built by fixreview demo; safe to delete\n")
    specs = sorted(p.parent for p in source.glob("*/repo.toml"))
    if not specs:
        raise FixreviewError(f"no sample repositories in {source}")
    return BuiltDemo(root, [build_repository(spec, root / spec.name) for spec in specs])


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        return tomli.loads(path.read_text("utf-8"))
    except (OSError, tomli.TOMLDecodeError) as exc:
        raise InputError(f"{path}: {exc}") from None


class _Builder:
    def __init__(self, spec: Path, dest: Path) -> None:
        self.spec = spec
        self.dest = dest
        self.config = _load_toml(spec / "repo.toml")
        self.identities: dict[str, dict[str, str]] = self.config.get("identities", {})
        self.base: str = self.config.get("base", "main")
        dest.mkdir(parents=True)
        self.repo = init_repository(dest, self.base)
        self.keys = dest.parent / ".keys" / dest.name
        reviewer = self.config.get("reviewer", {})
        settings = [
            ("user.name", reviewer.get("name", DEMO_USER[0])),
            ("user.email", reviewer.get("email", DEMO_USER[1])),
            ("commit.gpgsign", "false"),
            ("tag.gpgsign", "false"),
            ("core.autocrlf", "false"),
            ("fixreview.base", self.base),  # the base is never guessed (docs/verify.md)
        ]
        if "key" in reviewer:
            settings += [
                ("gpg.format", "ssh"),
                ("user.signingKey", str(self._install_key(reviewer["key"]))),
            ]
        for key, value in settings:
            self.repo.run("config", key, value)
        self.last_date = datetime.fromisoformat("2026-09-01T00:00:00+00:00")

    def _install_key(self, relative: str) -> Path:
        """Copy a throwaway demo key beside the repository, private (ssh-keygen insists)."""
        source = self.spec / relative
        self.keys.mkdir(parents=True, exist_ok=True)
        target = self.keys / source.name
        if not target.exists():
            shutil.copyfile(source, target)
            shutil.copyfile(
                source.with_name(source.name + ".pub"), target.with_name(target.name + ".pub")
            )
            target.chmod(0o600)
        return target

    def _env(self, who: str, date: str, committer: str | None = None) -> dict[str, str]:
        author = self.identities[who]
        commit_by = self.identities[committer or who]
        self.last_date = max(self.last_date, datetime.fromisoformat(date))
        return {
            "GIT_AUTHOR_NAME": author["name"],
            "GIT_AUTHOR_EMAIL": author["email"],
            "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": commit_by["name"],
            "GIT_COMMITTER_EMAIL": commit_by["email"],
            "GIT_COMMITTER_DATE": date,
        }

    def commit(self, folder: Path, step: dict[str, Any]) -> str:
        overlay = folder / step["dir"]
        if not overlay.is_dir():
            raise InputError(f"{overlay}: overlay folder missing")
        for item in sorted(overlay.rglob("*")):
            if item.is_file():
                target = self.dest / item.relative_to(overlay)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(item, target)
                shutil.copymode(item, target)
        for gone in step.get("delete", []):
            self.repo.run("rm", "-q", "-r", "--", gone)
        self.repo.run("add", "-A")
        env = self._env(step["author"], step["date"], step.get("committer"))
        self.repo.run(
            "-c",
            "commit.gpgsign=false",
            "commit",
            "-q",
            "--no-verify",
            "--allow-empty",
            "--cleanup=whitespace",
            "-F",
            "-",
            input=step["message"].encode(),
            env=env,
        )
        head = self.repo.resolve("HEAD")
        assert head is not None
        return head

    def build(self) -> Path:
        mains = [self.commit(self.spec, step) for step in self.config.get("main", [])]
        fixes = sorted(p.parent for p in (self.spec / "fixes").glob("*/fix.toml"))
        for folder in fixes:
            self.build_fix(folder, mains)
        self.repo.run("checkout", "-q", self.base)
        return self.dest

    def build_fix(self, folder: Path, mains: list[str]) -> None:
        fix = _load_toml(folder / "fix.toml")
        start = mains[int(fix.get("start", len(mains))) - 1]
        self.repo.run("checkout", "-q", "-b", fix["branch"], start)
        steps = fix.get("commits", [])
        decisions = fix.get("decisions", [])
        proposal = fix.get("proposal")
        for number, step in enumerate(steps, start=1):
            commit = self.commit(folder, step)
            if proposal is not None and number == int(proposal.get("suggestion", 1)):
                self._propose(folder, fix["branch"], proposal, commit)
            for decision in decisions:
                if int(decision.get("after", len(steps))) == number:
                    self._decide(fix["branch"], commit, decision)

    def _notes_env(self, when: datetime) -> dict[str, str]:
        return {"GIT_COMMITTER_DATE": when.isoformat(), "GIT_AUTHOR_DATE": when.isoformat()}

    def _propose(self, folder: Path, branch: str, proposal: dict[str, Any], commit: str) -> None:
        when = self.last_date + timedelta(hours=1)
        propose(
            self.repo,
            branch,
            self._finding(folder, proposal),
            tool=proposal.get("tool"),
            model=proposal.get("model"),
            commit=commit,
            base=self.base,
            now=when,
            record_id=str(uuid.uuid5(DEMO_NAMESPACE, f"{self.spec.name}/{branch}")),
            env=self._notes_env(when),
        )

    def _decide(self, branch: str, head: str, spec: dict[str, Any]) -> None:
        """Record a decision signed with a demo reviewer's throwaway key."""
        who = self.identities[spec["reviewer"]]
        signer = SshSigner("ssh-keygen", str(self._install_key(who["key"])))
        loaded = load_policy(self.repo, self.base)
        fix, _ = fix_at(self.repo, loaded, head)
        checklist = Checklist(
            **{
                name: ChecklistItem(status="confirmed", note=spec[name])
                if name in spec
                else ChecklistItem()
                for name in CHECKLIST_ITEMS
            }
        )
        when = datetime.fromisoformat(spec["date"])
        decision = prepare_decision(
            self.repo,
            fix,
            spec["verdict"],
            checklist,
            reviewer=Person(name=who["name"], email=who["email"]),
            signer=signer,
            comment=spec.get("comment", ""),
            acknowledged=spec.get("ack", []),
            now=when,
            record_id=str(uuid.uuid5(DEMO_NAMESPACE, f"{self.spec.name}/{branch}/{spec['date']}")),
        )
        record_decision(self.repo, decision, signer, env=self._notes_env(when))

    def _finding(self, folder: Path, proposal: dict[str, Any]) -> Finding:
        if "finding" in proposal:
            path = folder / proposal["finding"]
            return parse_one_finding(path.read_bytes(), str(path))
        data = self.repo.read_blob_at(self.base, proposal["sarif"])
        if data is None:
            raise InputError(f"{folder}: {proposal['sarif']} is not on {self.base}")
        results = parse_sarif(data, proposal["sarif"])
        return select_result(results, proposal.get("result"), proposal["sarif"]).finding


def build_repository(spec: Path, dest: Path) -> Path:
    """Build one sample repository from its data folder SPEC into DEST (which must not exist)."""
    return _Builder(spec, dest).build()
