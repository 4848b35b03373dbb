"""What a fix leaves alone is read at its merge-base: the paths each final diff changes, found in
bulk by git (``Repository.prefetch_changed_paths``), and the risk checks' tree reads
(``risk.tree.Unchanged``) giving exactly what reading every path at the head gives.

Real repositories, real git: the changed paths are checked against ``git ls-tree`` of both
sides, and the tree facts of fixes that change CI files every way (added, moved, replaced by a
file, a symbolic link or a submodule) against the facts read without the shortcut."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from fixreview.changes import CHANGED_PATHS_MIN_FIXES, final_diff, prefetch
from fixreview.models import Fix
from fixreview.queue import load_queue
from fixreview.repo.git import Repository, _changed_paths_of
from fixreview.risk.tree import TreeFacts, Unchanged, tree_facts
from tests.gitutil import TestRepo, git

EMPTY_PAIR = "4b825dc642cb6eb9a060e54bf8d69288fbee4904 4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def entries(repo: TestRepo, rev: str | None) -> dict[str, str]:
    """Every file, link and submodule of REV's tree: path -> "mode id" (None: the empty tree)."""
    if rev is None:
        return {}
    out = git(repo.path, "ls-tree", "-r", "-z", "--full-tree", rev)
    found = {}
    for item in out.split("\0"):
        if item:
            meta, _, path = item.partition("\t")
            mode, _, oid = meta.split(" ")
            found[path] = f"{mode} {oid}"
    return found


def differing(repo: TestRepo, old: str | None, new: str) -> frozenset[str]:
    """The oracle: the paths whose entry is not the same on both sides."""
    a, b = entries(repo, old), entries(repo, new)
    return frozenset(path for path in a.keys() | b.keys() if a.get(path) != b.get(path))


def history(path: Path, object_format: str = "sha1") -> tuple[TestRepo, list[str]]:
    """Commits that change entries every way a tree can: content, mode, type (file, link,
    submodule, directory), renames, names with a newline, one that starts like an echo line."""
    repo = TestRepo(path, object_format)
    commits = [
        repo.commit(
            "start",
            {
                "a.txt": "one\n",
                "moved.py": "".join(f"line {n}\n" for n in range(40)),
                "tool.sh": "#!/bin/sh\n",
                "dir/inner/deep.txt": "deep\n",
                "becomes-dir": "a file first\n",
                "dir with space/é ü.txt": "unicode\n",
            },
        )
    ]
    os.chmod(path / "tool.sh", 0o755)
    (path / "renamed.py").write_text((path / "moved.py").read_text())
    (path / "moved.py").unlink()
    (path / "becomes-dir").unlink()
    os.symlink("a.txt", path / "link")
    commits.append(
        repo.commit(
            "many kinds",
            {
                "becomes-dir/now.txt": "a directory now\n",
                "new\nline.txt": "a name with a newline\n",
                f"{EMPTY_PAIR}\nlooks-like-an-echo": "x\n",
                "dir/inner/deep.txt": None,
                "dir/inner/other.txt": "other\n",
            },
        )
    )
    repo.git("rm", "-q", "--cached", "a.txt")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{commits[0]},a.txt")
    (path / "a.txt").unlink()
    commits.append(repo.commit("a submodule where a file was", {}))
    commits.append(repo.commit("nothing", {}))
    return repo, commits


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
def test_changed_paths_are_every_entry_that_differs(tmp_path: Path, object_format: str) -> None:
    repo, commits = history(tmp_path / "r", object_format)
    bulk = Repository(repo.path)
    empty = bulk.empty_tree
    pairs = [(old, new) for old in commits for new in commits]  # identical pairs too
    pairs += [(empty, new) for new in commits]
    bulk.prefetch_changed_paths(pairs)
    for old, new in pairs:
        found = bulk.changed_paths(old, new)
        assert found == differing(repo, None if old == empty else old, new), (old, new)
    assert Repository(repo.path).changed_paths(commits[0], commits[1]) is None  # not prefetched
    assert f"{EMPTY_PAIR}\nlooks-like-an-echo" in (bulk.changed_paths(commits[0], commits[1]) or ())
    assert {"a.txt", "becomes-dir", "becomes-dir/now.txt", "link", "moved.py", "renamed.py"} <= (
        bulk.changed_paths(commits[0], commits[2]) or set()
    )


def test_output_that_does_not_read_exactly_is_not_used() -> None:
    one, two = b"1" * 40 + b" " + b"2" * 40, b"3" * 40 + b" " + b"4" * 40
    entry = b":100644 100644 " + b"a" * 40 + b" " + b"b" * 40 + b" M\0path\0"
    assert _changed_paths_of(one + b"\n" + entry + two + b"\n", [one, two]) == [
        frozenset({"path"}),
        frozenset(),
    ]
    assert _changed_paths_of(one + b"\n" + entry, [one, two]) is None  # an echo missing
    assert _changed_paths_of(two + b"\n" + one + b"\n", [one, two]) is None  # out of order
    assert _changed_paths_of(entry + one + b"\n" + two + b"\n", [one, two]) is None
    assert _changed_paths_of(one + b"\n" + entry[:-3], [one]) is None  # cut short
    assert _changed_paths_of(one + b"\n" + one + b"\n", [one]) is None  # one echo too many


def test_a_path_is_the_same_unless_it_changed_holds_a_change_or_lies_under_one() -> None:
    changed = frozenset({"src/app.py", ".github/workflows/ci.yml", "lib"})
    same = Unchanged("h" * 40, "m" * 40, changed, tuple(sorted(changed)))
    for path in [
        ".gitlab-ci.yml",
        "src/action.yml",
        "src/app.pyc",
        "libs/action.yml",
        "docs",
        "sr",
        "src-other/action.yml",
        ".github/workflow",
    ]:
        assert same.same(path), path
    for path in [
        "src/app.py",
        "src",
        ".github",
        ".github/workflows",
        "lib",
        "lib/action.yml",  # a submodule or file that became a directory
        "./.gitlab-ci.yml",
        "src/../x",
        "a//b",
        "x/",
        "/x",
        "",
    ]:
        assert not same.same(path), path
    assert same.asked(f"{'h' * 40}:docs") == f"{'m' * 40}:docs"
    assert same.asked(f"{'h' * 40}:src") == f"{'h' * 40}:src"
    assert same.asked(f"{'b' * 40}:docs") == f"{'b' * 40}:docs"  # the base's tip: as it is


class CountingRepository(Repository):
    """A real repository that remembers every spec its checks asked to read."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.asked: list[str] = []

    def read_objects(self, specs: Iterable[str]) -> dict[str, bytes | None]:
        wanted = list(specs)
        self.asked.extend(wanted)
        return super().read_objects(wanted)


WORKFLOW = "on: push\njobs:\n  b:\n    steps:\n      - uses: ./ci/build\n"

FIXES: dict[str, dict[str, str | bytes | None]] = {
    "code-only": {"src/app.py": "print('fixed')\n"},
    "action-beside": {"src/app.py": "x = 1\n", "src/action.yml": "runs:\n  using: node20\n"},
    "workflow-moved-on": {".github/workflows/ci.yml": WORKFLOW.replace("ci/build", "tools/x")},
    "workflow-added": {".github/workflows/new.yml": "jobs:\n  - uses: ./deploy\n"},
    "workflows-deleted": {".github/workflows/ci.yml": None},
    "gitlab-added": {".gitlab-ci.yml": "include:\n  local: ci/more.yml\n", "ci/more.yml": "a: b\n"},
    "action-changed": {"ci/build/action.yml": "runs:\n  using: composite\n  steps: []\n"},
}


def fix_repo(tmp_path: Path) -> TestRepo:
    repo = TestRepo(tmp_path / "repo")
    repo.commit(
        "start",
        {
            "src/app.py": "print('hi')\n",
            ".github/workflows/ci.yml": WORKFLOW,
            "ci/build/action.yml": "runs:\n  using: node20\n",
            "ci/build/run.sh": "make\n",
            ".gitmodules": '[submodule "lib"]\n\tpath = lib\n\turl = https://x.invalid/lib\n',
        },
    )
    for name, files in FIXES.items():
        repo.checkout("-b", f"ai-fix/{name}", "main")
        repo.commit(f"fix {name}", files)
        repo.checkout("main")
    # branches replacing .github by a file, ci/ by a symbolic link, ci/build by a submodule
    repo.checkout("-b", "ai-fix/github-a-file", "main")
    repo.git("rm", "-q", "-r", ".github")
    repo.commit("the workflows are gone", {".github": "now a file\n"})
    repo.checkout("main")
    repo.checkout("-b", "ai-fix/ci-a-link", "main")
    repo.git("rm", "-q", "-r", "ci")
    os.symlink("src", repo.path / "ci")
    repo.commit("ci is a link now", {})
    repo.checkout("main")
    repo.checkout("-b", "ai-fix/build-a-submodule", "main")
    start = repo.rev("main")
    repo.git("rm", "-q", "-r", "ci/build")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{start},ci/build")
    repo.commit("ci/build is a submodule now", {})
    repo.git("reset", "-q", "--hard")
    repo.checkout("main")
    repo.commit("main moves on", {"README.md": "later\n"})  # the base tip is not the merge-base
    return repo


def facts(repo: Repository, fixes: list[Fix]) -> list[TreeFacts]:
    """The tree facts of FIXES with the repository's policy, and with no CI path patterns (a
    workflow a fix adds is then found only by listing the workflows directory)."""
    policy = load_queue(repo).policy.policy
    return [
        tree_facts(repo, fix, final_diff(repo, fix), ci_paths, policy.risk.dependency_paths)
        for ci_paths in (policy.risk.ci_paths, ())
        for fix in fixes
    ]


def test_tree_facts_read_at_the_merge_base_are_those_read_at_the_head(tmp_path: Path) -> None:
    repo = fix_repo(tmp_path)
    plain = CountingRepository(repo.path)
    fixes = load_queue(plain).fixes
    assert len(fixes) == len(FIXES) + 3 >= CHANGED_PATHS_MIN_FIXES
    for fix in fixes:  # the diffs, without the changed paths: every path read at the head
        plain.prefetch_diffs([(fix.branch.merge_base or plain.empty_tree, fix.branch.head)])
    expected = facts(plain, fixes)
    assert all(plain.changed_paths(f.branch.merge_base or "", f.branch.head) is None for f in fixes)

    shared = CountingRepository(repo.path)
    fixes = load_queue(shared).fixes
    prefetch(shared, fixes)  # a queue's worth: the changed paths too
    assert all(Unchanged.of(shared, fix) is not None for fix in fixes)
    shared.asked.clear()
    assert facts(shared, fixes) == expected
    heads = {fix.branch.head for fix in fixes}
    at_heads = [spec for spec in shared.asked if spec.partition(":")[0] in heads]
    plain.asked.clear()
    facts(plain, fixes)
    assert len(at_heads) < len([s for s in plain.asked if s.partition(":")[0] in heads]) / 2
    by_name = dict(zip((f.branch.name for f in fixes), expected[len(fixes) :], strict=True))
    # the facts are not empty: what the shortcut must not lose is there to lose
    assert any(ref.path == "ci/build" for ref in by_name["ai-fix/code-only"].ci_references)
    assert any(ref.path == "tools/x" for ref in by_name["ai-fix/workflow-moved-on"].ci_references)
    assert any(ref.path == "deploy" for ref in by_name["ai-fix/workflow-added"].ci_references)
    assert any(ref.path == "src" for ref in by_name["ai-fix/action-beside"].ci_references)
    assert by_name["ai-fix/gitlab-added"] != by_name["ai-fix/code-only"]


def test_a_few_fixes_spend_no_process_on_changed_paths(repo: TestRepo) -> None:
    repo.checkout("-b", "ai-fix/one", "main")
    repo.commit("fix", {"app/db.py": "def query(sql, args):\n    return sql, args\n"})
    repo.checkout("main")
    r = Repository(repo.path)
    fixes = load_queue(r).fixes
    prefetch(r, fixes)
    assert len(fixes) < CHANGED_PATHS_MIN_FIXES
    assert Unchanged.of(r, fixes[0]) is None


def test_the_reader_forgets_what_was_used_least_recently(repo: TestRepo) -> None:
    """Note blobs read once fill the reader's memory; the base's trees asked by every fix stay."""
    from fixreview.repo.catfile import MEMO_BYTES, MEMO_OBJECT_BYTES

    count = MEMO_BYTES // (MEMO_OBJECT_BYTES // 2) + 8
    blobs = [
        repo.git(
            "hash-object", "-w", "--stdin", input=bytes([n % 256]) * (MEMO_OBJECT_BYTES // 2)
        ).strip()
        for n in range(count)
    ]
    r = Repository(repo.path)
    base = repo.rev("main")
    hot = [f"{base}:app", f"{base}:app/db.py", f"{base}:no-such-file"]
    first = r.read_objects(hot)
    for n, blob in enumerate(blobs):
        assert r.read_objects([blob])[blob] == bytes([n % 256]) * (MEMO_OBJECT_BYTES // 2)
        assert r.read_objects(hot) == first  # used again: remembered last
    memo = r._batch_reader()._memo
    assert all(spec in memo for spec in hot)
    assert blobs[0] not in memo and blobs[-1] in memo  # the oldest went first
    assert sum(len(k) + len(v or b"") for k, v in memo.items()) <= MEMO_BYTES
