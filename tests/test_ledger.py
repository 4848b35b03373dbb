"""The decisions notes ref is an append-only ledger: a record dropped by a later notes commit is
still read (``removed_in`` names the commit that dropped it), and ``sync`` never fast-forwards a
clone, or the remote, to a state that lost records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixreview.decisions import read_decisions
from fixreview.notes.records import TAG_DECISION, b64decode, encode_line
from fixreview.notes.store import DECISIONS_REF, read_ledger
from fixreview.repo.git import Repository
from tests.gitutil import AI, TestRepo, git
from tests.signing_util import Reviewer, allow, make_reviewer
from tests.test_decide_verify import APPROVE, decide, fixreview, verify

NOTES_ENV = {
    "GIT_AUTHOR_NAME": "Mallory",
    "GIT_AUTHOR_EMAIL": "mallory@example.com",
    "GIT_COMMITTER_NAME": "Mallory",
    "GIT_COMMITTER_EMAIL": "mallory@example.com",
}


@pytest.fixture
def team(tmp_path: Path) -> dict[str, Reviewer]:
    keys = tmp_path / "keys"
    return {
        "aisha": make_reviewer(keys, "Aisha Okafor", "aisha@example.com"),
        "tomas": make_reviewer(keys, "Tomás Herrera", "tomas@example.com"),
    }


@pytest.fixture
def fixed(repo: TestRepo, team: dict[str, Reviewer]) -> TestRepo:
    """main allows aisha and tomas; ai-fix/sqli is an AI commit on top."""
    allow(repo, team["aisha"], team["tomas"])
    repo.checkout("-b", "ai-fix/sqli")
    repo.commit(
        "Parameterize\n\nUse bound parameters.\n\nFinding-Id: SEC-1",
        {"app/db.py": "def query(sql, args):\n    return sql, args\n", "tests/t.py": "x = 1\n"},
        who=AI,
    )
    repo.checkout("main")
    return repo


def _lines(repo: Path, ref: str, commit: str) -> list[str]:
    return git(repo, "notes", f"--ref={ref}", "show", commit).splitlines()


def _approve_and_reject(repo: TestRepo, team: dict[str, Reviewer]) -> tuple[str, str]:
    """aisha approves, tomas rejects; returns (approval line, rejection line)."""
    assert decide(repo, team["aisha"], *APPROVE).returncode == 0
    assert decide(repo, team["tomas"], "--reject", "--comment", "unsafe").returncode == 0
    head = repo.rev("ai-fix/sqli")
    approve, reject = _lines(repo.path, DECISIONS_REF, head)
    assert b'verdict = "approve"' in b64decode(approve.split(" ")[1])
    return approve, reject


def _rewrite(path: Path, commit: str, lines: list[str]) -> str:
    """What an attacker who can push notes does: rewrite the note, a descendant commit."""
    git(
        path,
        "notes",
        f"--ref={DECISIONS_REF}",
        "add",
        "-f",
        "-m",
        "\n".join(lines),
        commit,
        env=NOTES_ENV,
    )
    return git(path, "rev-parse", DECISIONS_REF).strip()


def test_a_dropped_reject_is_still_read_and_still_vetoes(
    fixed: TestRepo, team: dict[str, Reviewer]
) -> None:
    approve, _ = _approve_and_reject(fixed, team)
    head = fixed.rev("ai-fix/sqli")
    assert verify(fixed).returncode == 1
    before = fixed.rev(DECISIONS_REF)
    rewritten = _rewrite(fixed.path, head, [approve])
    assert fixed.git("merge-base", "--is-ancestor", before, rewritten) == ""  # no force push
    records, warnings, exists = read_decisions(Repository(fixed.path))
    assert exists and warnings == []
    by_verdict = {r.decision.verdict: r for r in records[head]}
    assert by_verdict["approve"].removed_in is None
    assert by_verdict["reject"].removed_in == rewritten
    proc = verify(fixed)
    assert proc.returncode == 1, proc.stdout  # the veto still stands


def test_a_dropped_record_readded_later_is_in_the_tip_again(
    fixed: TestRepo, team: dict[str, Reviewer]
) -> None:
    approve, reject = _approve_and_reject(fixed, team)
    head = fixed.rev("ai-fix/sqli")
    _rewrite(fixed.path, head, [approve])
    _rewrite(fixed.path, head, [approve, reject])
    records, _, _ = read_decisions(Repository(fixed.path))
    assert sorted(r.decision.verdict for r in records[head]) == ["approve", "reject"]
    assert all(r.removed_in is None for r in records[head])


def test_a_whole_note_removed_is_still_read(fixed: TestRepo, team: dict[str, Reviewer]) -> None:
    _approve_and_reject(fixed, team)
    head = fixed.rev("ai-fix/sqli")
    git(fixed.path, "notes", f"--ref={DECISIONS_REF}", "remove", head, env=NOTES_ENV)
    gone = fixed.rev(DECISIONS_REF)
    records, _, _ = read_decisions(Repository(fixed.path))
    assert [r.removed_in for r in records[head]] == [gone, gone]
    assert verify(fixed).returncode == 1


# -- plumbing-level: fan-out paths and merges ---------------------------------------------------


def _blob(path: Path, text: str) -> str:
    return git(path, "hash-object", "-w", "--stdin", input=text.encode()).strip()


def _tree(path: Path, entries: dict[str, str]) -> str:
    """A tree of ENTRIES (path -> blob), nested directories made as needed."""
    files: dict[str, str] = {}
    dirs: dict[str, dict[str, str]] = {}
    for name, blob in entries.items():
        if "/" in name:
            top, rest = name.split("/", 1)
            dirs.setdefault(top, {})[rest] = blob
        else:
            files[name] = blob
    listing = [f"100644 blob {blob}\t{name}" for name, blob in files.items()]
    listing += [f"040000 tree {_tree(path, sub)}\t{name}" for name, sub in dirs.items()]
    return git(path, "mktree", input=("\n".join(listing) + "\n").encode()).strip()


def _commit(path: Path, tree: str, *parents: str) -> str:
    args = ["commit-tree", tree, "-m", "notes"]
    for parent in parents:
        args += ["-p", parent]
    return git(path, *args, env=NOTES_ENV).strip()


def _line(n: int) -> str:
    return encode_line(TAG_DECISION, f"n = {n}\n".encode(), b"sig")


def test_ledger_follows_fan_out_moves_and_merges(repo: TestRepo) -> None:
    path = repo.path
    target = "ab" + "c" * 38
    flat, fanned = target, "ab/" + "c" * 38
    a, b, c, d = (_line(n) for n in range(4))
    root = _commit(path, _tree(path, {flat: _blob(path, f"{a}\n{b}\n")}))
    # fan-out rewrite: the same note moves to ab/cc..., and b is dropped on the way
    moved = _commit(path, _tree(path, {fanned: _blob(path, f"{a}\n")}), root)
    # a side branch adds c; a merge keeps only ours (drops c)
    side = _commit(path, _tree(path, {flat: _blob(path, f"{a}\n{b}\n{c}\n")}), root)
    merged = _commit(path, _tree(path, {fanned: _blob(path, f"{a}\n{d}\n")}), moved, side)
    repo.git("update-ref", DECISIONS_REF, merged)
    ledger = read_ledger(Repository(path), DECISIONS_REF)
    assert ledger.tip == merged
    got = {r.line: r.removed_in for r in ledger.records[target]}
    # b was dropped by the fan-out rewrite, and again by the merge (side still had it): the
    # newest drop is named
    assert got == {a: None, d: None, b: merged, c: merged}
    at_moved = read_ledger(Repository(path), DECISIONS_REF, at=moved)
    assert {r.line: r.removed_in for r in at_moved.records[target]} == {a: None, b: moved}
    # a fan-out move alone drops nothing
    again = _commit(path, _tree(path, {flat: _blob(path, f"{a}\n{d}\n{b}\n{c}\n")}), merged)
    repo.git("update-ref", DECISIONS_REF, again)
    ledger = read_ledger(Repository(path), DECISIONS_REF)
    assert {r.line: r.removed_in for r in ledger.records[target]} == dict.fromkeys((a, d, b, c))


def test_a_note_moved_to_another_target_reads_as_removed_and_added(repo: TestRepo) -> None:
    """An attacker moves a note, bytes unchanged, from the commit it was made on to another
    (to git, an exact rename): its lines read as dropped from the first target by that notes
    commit, and as the second's; also beside a fan-out move of other notes in the same
    commit. (A reader that let git find renames must keep this.)"""
    path = repo.path
    first, second, other = "aa" + "1" * 38, "bb" + "2" * 38, "cc" + "3" * 38
    a, b = _line(1), _line(2)
    blob = _blob(path, f"{a}\n{b}\n")
    later = "dd" + "4" * 38  # a later notes commit: the tip is not the one that moved it
    root = _commit(path, _tree(path, {first: blob}))
    moved = _commit(path, _tree(path, {second: blob}), root)
    tip = _commit(path, _tree(path, {second: blob, later: _blob(path, f"{_line(4)}\n")}), moved)
    repo.git("update-ref", DECISIONS_REF, tip)
    ledger = read_ledger(Repository(path), DECISIONS_REF)
    assert {r.line: r.removed_in for r in ledger.records[first]} == {a: moved, b: moved}
    assert {r.line: r.removed_in for r in ledger.records[second]} == {a: None, b: None}
    c = _blob(path, f"{_line(3)}\n")
    root = _commit(path, _tree(path, {first: blob, other: c}))
    fanned = {f"bb/{second[2:]}": blob, f"cc/{other[2:]}": c}
    both = _commit(path, _tree(path, fanned), root)
    tip = _commit(path, _tree(path, {**fanned, later: _blob(path, f"{_line(4)}\n")}), both)
    repo.git("update-ref", DECISIONS_REF, tip)
    ledger = read_ledger(Repository(path), DECISIONS_REF)
    assert {r.line: r.removed_in for r in ledger.records[first]} == {a: both, b: both}
    assert {r.line: r.removed_in for r in ledger.records[second]} == {a: None, b: None}
    assert [r.removed_in for r in ledger.records[other]] == [None]


def test_a_target_s_second_path_deleted_beside_its_move_is_a_drop(repo: TestRepo) -> None:
    """One target under two paths (flat and fan-out, which git notes never writes but an
    attacker can): one moved, bytes unchanged, the other deleted in the same commit. The move
    drops nothing; the deletion drops its line (the move must not mask it)."""
    path = repo.path
    target = "ab" + "c" * 38
    a, b = _line(1), _line(2)
    one, two = _blob(path, f"{a}\n"), _blob(path, f"{b}\n")
    both = _commit(path, _tree(path, {target: one, f"ab/{target[2:]}": two}))
    moved_to = {f"ab/{target[2:4]}/{target[4:]}": one}
    moved = _commit(path, _tree(path, moved_to), both)
    later = {**moved_to, "dd" + "4" * 38: _blob(path, f"{_line(4)}\n")}
    repo.git("update-ref", DECISIONS_REF, _commit(path, _tree(path, later), moved))
    ledger = read_ledger(Repository(path), DECISIONS_REF)
    assert {r.line: r.removed_in for r in ledger.records[target]} == {a: None, b: moved}


def _fast_import(path: Path, ref: str, commits: list[dict[str, str]]) -> str:
    """Write COMMITS (each: note path -> its whole new text) as a chain of commits on REF in one
    ``git fast-import``; returns the last commit's id."""
    stream: list[bytes] = []
    for n, changes in enumerate(commits, start=1):
        stream.append(f"commit {ref}\nmark :{n}\n".encode())
        stream.append(b"committer Mallory <mallory@example.com> 1767225600 +0000\ndata 5\nnotes\n")
        if n > 1:
            stream.append(f"from :{n - 1}\n".encode())
        for name, text in changes.items():
            data = text.encode()
            stream.append(f"M 100644 inline {name}\ndata {len(data)}\n".encode() + data + b"\n")
    git(path, "fast-import", "--quiet", input=b"".join(stream))
    return git(path, "rev-parse", ref).strip()


def test_history_read_is_linear_in_the_change(
    repo: TestRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """400 notes commits, each appending one line to one of 40 notes, then one dropping every
    note's first line: the whole history is read in one git pass, and every drop is found."""
    path = repo.path
    targets = [f"{i:02x}" + "e" * 38 for i in range(40)]
    notes: dict[str, list[str]] = {t: [] for t in targets}
    commits: list[dict[str, str]] = []
    for n in range(400):
        target = targets[n % 40]
        notes[target].append(_line(n))
        commits.append({target: "\n".join(notes[target]) + "\n"})
    commits.append({t: "\n".join(v[1:]) + "\n" for t, v in notes.items()})
    last = _fast_import(path, DECISIONS_REF, commits)
    trace = tmp_path / "trace2.json"
    opened = Repository(path)  # finding the repository is one git process, before the read
    monkeypatch.setenv("GIT_TRACE2_EVENT", str(trace))
    ledger = read_ledger(opened, DECISIONS_REF)
    monkeypatch.delenv("GIT_TRACE2_EVENT")
    removed = [r for rs in ledger.records.values() for r in rs if r.removed_in]
    assert len(removed) == 40 and {r.removed_in for r in removed} == {last}
    assert sum(len(rs) for rs in ledger.records.values()) == 400
    # the work does not grow with the history: a fixed number of git processes, not one a commit
    started = [json.loads(line) for line in trace.read_text().splitlines()]
    processes = [e["argv"] for e in started if e.get("event") == "start"]
    assert 1 <= len(processes) <= 4, processes
    assert any("log" in argv for argv in processes), processes


# -- sync against a real bare remote ------------------------------------------------------------


def _clone(remote: Path, dest: Path) -> TestRepo:
    clone = TestRepo.clone_of(remote, dest)
    git(dest, "branch", "-q", "--track", "ai-fix/sqli", "origin/ai-fix/sqli")
    return clone


def test_sync_restores_records_an_attacker_dropped_and_pushed(
    fixed: TestRepo, team: dict[str, Reviewer], tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(fixed.path), str(remote))
    one = _clone(remote, tmp_path / "one")
    approve, reject = _approve_and_reject(one, team)
    assert fixreview(one, "sync").returncode == 0
    head = one.rev("ai-fix/sqli")
    # the attacker fetches the notes, drops the reject and pushes: a fast-forward, no force
    evil = _clone(remote, tmp_path / "evil")
    assert fixreview(evil, "sync").returncode == 0
    rewritten = _rewrite(evil.path, head, [approve])
    git(evil.path, "push", "-q", "origin", f"{DECISIONS_REF}:{DECISIONS_REF}")
    assert _lines(remote, DECISIONS_REF, head) == [approve]
    # a reviewer syncs: no fast-forward to the loss; the union goes back to the remote
    proc = fixreview(one, "sync")
    assert proc.returncode == 0, proc.stderr
    assert "restored 1 record" in proc.stdout and rewritten[:12] in proc.stdout
    for where in (one.path, remote):
        assert sorted(_lines(where, DECISIONS_REF, head)) == sorted([approve, reject])
    assert git(remote, "merge-base", "--is-ancestor", rewritten, DECISIONS_REF) == ""
    # a fresh clone of the remote sees the veto
    two = _clone(remote, tmp_path / "two")
    assert fixreview(two, "sync").returncode == 0
    assert verify(two).returncode == 1
    # syncing again changes nothing
    before = one.rev(DECISIONS_REF)
    assert fixreview(one, "sync").returncode == 0
    assert one.rev(DECISIONS_REF) == before


def test_sync_restores_what_a_local_rewrite_dropped(
    fixed: TestRepo, team: dict[str, Reviewer], tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(fixed.path), str(remote))
    one = _clone(remote, tmp_path / "one")
    approve, reject = _approve_and_reject(one, team)
    head = one.rev("ai-fix/sqli")
    _rewrite(one.path, head, [approve])  # dropped before it was ever pushed
    assert fixreview(one, "sync").returncode == 0
    for where in (one.path, remote):
        assert sorted(_lines(where, DECISIONS_REF, head)) == sorted([approve, reject])


def test_sync_after_a_force_push_keeps_the_union(
    fixed: TestRepo, team: dict[str, Reviewer], tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(fixed.path), str(remote))
    one = _clone(remote, tmp_path / "one")
    approve, reject = _approve_and_reject(one, team)
    assert fixreview(one, "sync").returncode == 0
    head = one.rev("ai-fix/sqli")
    # the attacker replaces the remote's history altogether (a host that allows force pushes)
    evil = _clone(remote, tmp_path / "evil")
    git(evil.path, "notes", f"--ref={DECISIONS_REF}", "add", "-m", approve, head, env=NOTES_ENV)
    git(evil.path, "push", "-q", "-f", "origin", f"{DECISIONS_REF}:{DECISIONS_REF}")
    assert fixreview(one, "sync").returncode == 0
    for where in (one.path, remote):
        assert sorted(_lines(where, DECISIONS_REF, head)) == sorted([approve, reject])
