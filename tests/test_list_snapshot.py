"""The whole-queue snapshot of ``list`` (fixreview/listsnapshot.py): an unchanged queue is
answered from one entry (three git processes, no ssh-keygen), and never after any of its inputs
changed: a new branch, a moved head, a new note, a changed policy or allowed signers, the
reviewer's config, the clock past a validity bound. A corrupt, forged or concurrently written
entry is never trusted. Real git and ssh-keygen, counted through wrappers on PATH."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fixreview.listsnapshot import (
    LIBRARIES,
    SNAPSHOT_KIND,
    ListOutput,
    read_snapshot,
    write_snapshot,
)
from fixreview.repo.git import Repository
from fixreview.repo.refs import BranchRefs, read_ref_state
from fixreview.signing.verifier import DecisionVerifier
from tests.gitutil import git
from tests.signing_util import Reviewer
from tests.test_signature_cache import PAYLOAD, new_process, sign

HIT = ["git config", "git for-each-ref", "git rev-parse"]
"""What a list answered from its snapshot runs: discovery, the refs, the configuration."""


class Counted:
    """git, ssh-keygen and gpg wrapped so that each run is logged (one line: tool, first
    argument); the environment that puts them first on PATH."""

    def __init__(self, where: Path) -> None:
        self.log = where / "runs.log"
        self.log.write_text("")
        wrappers = where / "wrappers"
        wrappers.mkdir()
        for name in ("git", "ssh-keygen", "gpg"):
            real = shutil.which(name)
            assert real is not None
            script = wrappers / name
            script.write_text(f'#!/bin/sh\necho "{name} $1" >> "{self.log}"\nexec "{real}" "$@"\n')
            script.chmod(0o755)
        self.env = dict(os.environ, PATH=f"{wrappers}{os.pathsep}{os.environ['PATH']}")

    def list(self, repo: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """``fixreview list ARGS`` in a fresh interpreter, the run log emptied first."""
        self.log.write_text("")
        proc = subprocess.run(
            [sys.executable, "-m", "fixreview", "--repo", str(repo), "list", *args],
            capture_output=True,
            text=True,
            env={**self.env, **extra},
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return proc

    def runs(self) -> list[str]:
        return sorted(self.log.read_text().splitlines())

    def was_snapshot(self) -> bool:
        """Whether the last list was answered from its snapshot (only HIT ran)."""
        return self.runs() == HIT


@pytest.fixture
def counted(tmp_path: Path) -> Counted:
    return Counted(tmp_path)


def fresh(counted: Counted, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """list computed from scratch: no cache at all."""
    return counted.list(repo, *args, FIXREVIEW_NO_CACHE="1")


def snapshot_files(repo: Path) -> list[Path]:
    root = repo / ".git" / "fixreview" / "cache" / SNAPSHOT_KIND
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_an_unchanged_queue_is_answered_from_one_entry(demo_repo: Path, counted: Counted) -> None:
    for args in (("--all", "--json"), ("--all",), ()):
        first = counted.list(demo_repo, *args)
        assert not counted.was_snapshot()
        second = counted.list(demo_repo, *args)
        assert counted.was_snapshot(), counted.runs()
        assert "ssh-keygen -Y" not in counted.runs()
        reference = fresh(counted, demo_repo, *args)
        assert (second.stdout, second.stderr) == (first.stdout, first.stderr)
        assert (second.stdout, second.stderr) == (reference.stdout, reference.stderr)
    assert len(snapshot_files(demo_repo)) == 3  # one per request
    document = json.loads(counted.list(demo_repo, "--all", "--json").stdout)
    assert {f["status"] for f in document["fixes"]} >= {"approved", "rejected", "stale"}


def _commit_on(repo: Path, branch: str, files: dict[str, str], message: str) -> None:
    """A commit on BRANCH changing FILES, without touching the work tree."""
    env = dict(os.environ, GIT_INDEX_FILE=str(repo / ".git" / "test-index"))
    git(repo, "read-tree", branch, env=env)
    for name, content in files.items():
        blob = git(repo, "hash-object", "-w", "--stdin", input=content.encode()).strip()
        git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{name}", env=env)
    tree = git(repo, "write-tree", env=env).strip()
    head = git(repo, "rev-parse", branch).strip()
    commit = git(repo, "commit-tree", tree, "-p", head, "-m", message).strip()
    git(repo, "update-ref", f"refs/heads/{branch}", commit, head)


def _show(repo: Path, spec: str) -> str:
    return git(repo, "show", spec)


def new_branch(repo: Path) -> None:
    git(repo, "branch", "ai-fix/zz-copy-of-sqli", "ai-fix/sqli-invoice-search")


def moved_head(repo: Path) -> None:
    _commit_on(repo, "ai-fix/open-redirect-login", {"NOTES.md": "later\n"}, "a human commit")


def new_decision_note(repo: Path) -> None:
    head = git(repo, "rev-parse", "ai-fix/sqli-invoice-search").strip()
    git(repo, "notes", "--ref", "fixreview/decisions", "append", "-m", "junk", head)


def new_proposal_note(repo: Path) -> None:
    head = git(repo, "rev-parse", "ai-fix/open-redirect-login").strip()
    git(repo, "notes", "--ref", "fixreview/proposals", "append", "-m", "junk", head)


def changed_policy(repo: Path) -> None:
    policy = _show(repo, "main:.fixreview.toml")
    narrowed = policy + '\nfix_branches = ["ai-fix/*"]\n'
    _commit_on(repo, "main", {".fixreview.toml": narrowed}, "policy")


def emptied_allowed_signers(repo: Path) -> None:
    _commit_on(repo, "main", {".fixreview/allowed_signers": "\n"}, "no reviewers")


def base_configured_elsewhere(repo: Path) -> None:
    git(repo, "branch", "other-base", "ai-fix/sqli-invoice-search")
    git(repo, "config", "fixreview.base", "other-base")


def reviewer_config(repo: Path) -> None:
    where = Path(os.environ["XDG_CONFIG_HOME"]) / "fixreview"
    where.mkdir(parents=True, exist_ok=True)
    (where / "config.toml").write_text('branches = ["ai-fix/*"]\n')


CHANGES: dict[str, Callable[[Path], None]] = {
    "new branch": new_branch,
    "moved head": moved_head,
    "new decision note": new_decision_note,
    "new proposal note": new_proposal_note,
    "changed policy": changed_policy,
    "changed allowed signers": emptied_allowed_signers,
    "git config": base_configured_elsewhere,
    "reviewer config": reviewer_config,
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_any_changed_input_is_recomputed(demo_repo: Path, counted: Counted, change: str) -> None:
    before: dict[tuple[str, ...], str] = {}
    for args in (("--all", "--json"), ()):
        before[args] = counted.list(demo_repo, *args).stdout
        counted.list(demo_repo, *args)
        assert counted.was_snapshot()
    CHANGES[change](demo_repo)
    for args in (("--all", "--json"), ()):
        after = counted.list(demo_repo, *args)
        if change not in ("new decision note", "new proposal note"):  # junk: seen, not shown
            assert after.stdout != before[args] or args == ()
        assert not counted.was_snapshot(), counted.runs()
        reference = fresh(counted, demo_repo, *args)
        assert (after.stdout, after.stderr) == (reference.stdout, reference.stderr)
        again = counted.list(demo_repo, *args)  # the new state has its own snapshot
        assert counted.was_snapshot()
        assert (again.stdout, again.stderr) == (reference.stdout, reference.stderr)


def test_corrupt_and_forged_entries_are_never_trusted(demo_repo: Path, counted: Counted) -> None:
    reference = counted.list(demo_repo, "--all", "--json")
    [entry] = snapshot_files(demo_repo)
    good = entry.read_bytes()
    for damaged in (b"", b"garbage", good[:-1], good.replace(b'"code": 0', b'"code": 1')):
        entry.write_bytes(damaged)
        proc = counted.list(demo_repo, "--all", "--json")
        assert not counted.was_snapshot()
        assert proc.stdout == reference.stdout
        counted.list(demo_repo, "--all", "--json")
        assert counted.was_snapshot()  # rebuilt
    # another request's entry, whole and valid, copied over this one's: never its answer
    text = counted.list(demo_repo)
    other = next(p for p in snapshot_files(demo_repo) if p != entry)
    shutil.copyfile(other, entry)
    proc = counted.list(demo_repo, "--all", "--json")
    assert not counted.was_snapshot()
    assert proc.stdout == reference.stdout != text.stdout


def test_concurrent_lists_write_one_whole_entry(demo_repo: Path, counted: Counted) -> None:
    reference = fresh(counted, demo_repo, "--all", "--json")
    command = [sys.executable, "-m", "fixreview", "--repo", str(demo_repo), "list", "--all"]
    procs = [
        subprocess.Popen([*command, "--json"], stdout=subprocess.PIPE, text=True, env=counted.env)
        for _ in range(3)
    ]
    outputs = [p.communicate()[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert outputs == [reference.stdout] * 3
    proc = counted.list(demo_repo, "--all", "--json")
    assert counted.was_snapshot()
    assert proc.stdout == reference.stdout
    leftovers = [p for p in snapshot_files(demo_repo) if p.name.startswith(".tmp-")]
    assert leftovers == []


def _window(repo: Path, before: datetime) -> None:
    """Every allowed signer of the demo valid only before BEFORE (UTC)."""
    lines = _show(repo, "main:.fixreview/allowed_signers").splitlines()
    stamp = before.strftime("%Y%m%d%H%MZ")
    windowed = []
    for line in lines:
        if line.strip() and not line.startswith("#"):
            principal, rest = line.split(" ", 1)
            line = f'{principal} valid-before="{stamp}" {rest}'
        windowed.append(line)
    _commit_on(repo, "main", {".fixreview/allowed_signers": "\n".join(windowed) + "\n"}, "window")


def test_a_validity_bound_within_a_day_keeps_no_snapshot(
    demo_repo: Path, counted: Counted
) -> None:
    _window(demo_repo, datetime.now(UTC) + timedelta(hours=12))
    first = counted.list(demo_repo, "--all", "--json")
    assert snapshot_files(demo_repo) == []
    second = counted.list(demo_repo, "--all", "--json")
    assert not counted.was_snapshot()
    assert second.stdout == first.stdout
    assert '"approved"' in first.stdout  # the approval still counts now


def test_a_snapshot_holds_until_the_next_validity_bound(
    demo_repo: Path, counted: Counted
) -> None:
    bound = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=3)
    _window(demo_repo, bound)
    first = counted.list(demo_repo, "--all", "--json")
    [entry] = snapshot_files(demo_repo)
    kept = json.loads(entry.read_bytes().partition(b"\n")[2])
    assert kept["holds_until"] == (bound - timedelta(days=1)).timestamp()
    counted.list(demo_repo, "--all", "--json")
    assert counted.was_snapshot()
    # the same entry, read at and after that instant: not used
    repo = Repository(demo_repo)
    key = entry.parent.name + entry.name
    assert read_snapshot(repo, key) == ListOutput(first.stdout, first.stderr, 0)
    assert read_snapshot(repo, key, kept["holds_until"] - 1) is not None
    assert read_snapshot(repo, key, kept["holds_until"]) is None
    assert read_snapshot(repo, key, kept["created"] - 1) is None  # the clock went back


def test_the_verifier_says_until_when_its_answers_hold(
    people: dict[str, Reviewer], tmp_path: Path
) -> None:
    aisha = people["aisha"]
    signature = sign(aisha)
    claimed = datetime.now(UTC) - timedelta(hours=1)

    def holds(allowed: str) -> float:
        new_process()
        verifier = DecisionVerifier(
            allowed.encode(),
            None,
            ssh_file="allowed_signers",
            pgp_file="keys.asc",
            base="main",
            cache_dir=tmp_path / "git",
        )
        assert verifier.holds_until == float("inf")
        verifier.check("ssh", PAYLOAD, signature, aisha.email, claimed)
        return verifier.holds_until

    assert holds(f"{aisha.allowed_line()}\n") == float("inf")
    past = f'{aisha.email} valid-after="20200101Z" {aisha.public}\n'
    assert holds(past) == float("inf")  # a bound long past changes nothing any more
    coming = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=5)
    stamp = coming.strftime("%Y%m%d%H%MZ")
    windowed = f'{aisha.email} valid-before="{stamp}" {aisha.public}\n'
    assert holds(windowed) == (coming - timedelta(days=1)).timestamp()
    soon = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y%m%d%H%MZ")
    assert holds(f'{aisha.email} valid-before="{soon}" {aisha.public}\n') == 0.0
    assert holds(f'{aisha.email} valid-before="{stamp}" {aisha.public}\nnot a line\n') == 0.0


def test_an_entry_is_kept_only_for_a_time_to_come(demo_repo: Path) -> None:
    repo = Repository(demo_repo)
    key = "ab" * 32
    output = ListOutput("out\n", "err\n", 0)
    now = time.time()
    assert not write_snapshot(repo, key, output, now, now)
    assert not write_snapshot(repo, key, output, now, 0.0)
    assert read_snapshot(repo, key) is None
    assert write_snapshot(repo, key, output, now, float("inf"))
    assert read_snapshot(repo, key) == output
    assert read_snapshot(repo, key, now + 10 * 365 * 86400) == output


def test_a_pinned_repository_reads_refs_as_they_were(demo_repo: Path) -> None:
    repo = Repository(demo_repo)
    state = read_ref_state(repo)
    before = repo.ref_value("refs/heads/ai-fix/sqli-invoice-search")
    notes = repo.ref_value("refs/notes/fixreview/decisions")
    branches = BranchRefs(repo).listing
    repo.pin(state)
    moved_head(demo_repo)
    new_branch(demo_repo)
    new_decision_note(demo_repo)
    git(demo_repo, "branch", "-f", "ai-fix/sqli-invoice-search", "main")
    assert repo.ref_value("refs/heads/ai-fix/sqli-invoice-search") == before
    assert repo.ref_value("refs/notes/fixreview/decisions") == notes
    assert repo.ref_value("refs/heads/ai-fix/zz-copy-of-sqli") is None
    assert BranchRefs(repo).listing == branches
    assert Repository(demo_repo).ref_value("refs/heads/ai-fix/sqli-invoice-search") != before


def test_every_library_a_list_loads_is_part_of_the_key(demo_repo: Path) -> None:
    """A library a list run loads but the key does not name could be upgraded under a
    snapshot: the run's third-party modules must all be in LIBRARIES."""
    script = (
        "import sys\n"
        "from fixreview.cli.main import main\n"
        f"code = main(['--repo', {str(demo_repo)!r}, 'list', '--all', '--json'])\n"
        "names = {m.split('.')[0] for m in list(sys.modules)}\n"
        "print(repr(sorted(names)), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=dict(os.environ, FIXREVIEW_NO_CACHE="1"),
        check=True,
    )
    loaded = set(ast.literal_eval(proc.stderr.strip().splitlines()[-1]))
    third_party = {
        name
        for name in loaded
        if name not in sys.stdlib_module_names
        and not name.startswith("_")
        and not name.endswith("__mypyc")  # a compiled library's helper: its files are the key's
        and name != "fixreview"
    }
    assert "detect_secrets" in third_party and "pydantic" in third_party
    assert third_party <= set(LIBRARIES), sorted(third_party - set(LIBRARIES))
