"""Diffs computed in bulk (one ``git diff-tree --stdin``) are byte for byte the diffs ``git diff``
gives each pair: the bound diff hash does not depend on which way it was computed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fixreview.repo.git import Repository
from tests.gitutil import TestRepo, git

HEX_LINES = "4b825dc642cb6eb9a060e54bf8d69288fbee4904 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"


def _history(path: Path, object_format: str = "sha1") -> tuple[TestRepo, list[str]]:
    """A repository whose commits change files every way a diff can show."""
    repo = TestRepo(path, object_format)
    commits = [
        repo.commit(
            "start",
            {
                "a.txt": "one\ntwo\nthree\n" * 20,
                "bin.dat": bytes(range(256)) * 4,
                "moved.py": "".join(f"line {n}\n" for n in range(40)),
                "gone.txt": "bye\n",
                "dir with space/é ü.txt": "unicode\n",
            },
        )
    ]
    os.symlink("a.txt", path / "link")
    (path / "tool.sh").write_text("#!/bin/sh\n")
    commits.append(repo.commit("symlink and script", {}))
    os.chmod(path / "tool.sh", 0o755)
    (path / "renamed.py").write_text((path / "moved.py").read_text() + "extra\n")
    (path / "moved.py").unlink()
    commits.append(
        repo.commit(
            "many kinds",
            {
                "a.txt": "one\nTWO\nthree\n" * 20,
                "bin.dat": bytes(reversed(range(256))) * 4,
                "gone.txt": None,
                # content that looks like the echoed pair line diff-tree prints
                "looks-like-header.txt": HEX_LINES * 3,
                "new\nline.txt": "a name with a newline\n",
                "no-newline": "end",
            },
        )
    )
    commits.append(repo.commit("empty", {}))
    # what the checkout and the user's configuration would do to a porcelain diff
    (path / ".gitattributes").write_text("*.txt diff=evil\n*.py -diff\n")
    git(path, "config", "diff.evil.textconv", "rev")
    git(path, "config", "diff.noprefix", "true")
    commits.append(repo.commit("attributes", {"a.txt": "changed again\n"}))
    return repo, commits


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
def test_bulk_diffs_are_the_bytes_of_git_diff(tmp_path: Path, object_format: str) -> None:
    repo, commits = _history(tmp_path / "r", object_format)
    empty = Repository(repo.path).empty_tree
    trees = [git(repo.path, "rev-parse", f"{c}^{{tree}}").strip() for c in commits]
    pairs = [(empty, commits[-1])]
    pairs += [(old, new) for old in commits for new in commits]  # includes identical pairs
    pairs += [(trees[0], trees[2]), (commits[0], trees[2]), (trees[3], commits[3])]

    bulk = Repository(repo.path)
    calls = []
    bulk.prefetch_diffs(pairs)
    for old, new in pairs:
        calls.append(bulk._diffs[(old, new)])  # every pair was filled by the one process

    for (old, new), prefetched in zip(pairs, calls, strict=True):
        one = Repository(repo.path).diff(old, new)  # a fresh process per pair
        assert prefetched == one, (old, new)
        assert bulk.diff(old, new) == one
    changed = Repository(repo.path).diff(commits[1], commits[2])
    assert b"+" + HEX_LINES.encode() in changed and b"GIT binary patch" in changed
    assert b'new\\nline.txt"' in changed and b"rename from moved.py" in changed


def test_the_diff_hash_is_kept_and_never_trusted_when_damaged(tmp_path: Path) -> None:
    import hashlib

    from fixreview.decisions import _diff_hash_entry, cached_diff_sha256, diff_sha256

    repo, commits = _history(tmp_path / "r")
    first = Repository(repo.path)
    expected = hashlib.sha256(first.diff(commits[0], commits[2])).hexdigest()
    assert cached_diff_sha256(first, commits[0], commits[2]) is None
    assert diff_sha256(first, commits[0], commits[2]) == expected
    again = Repository(repo.path)
    assert cached_diff_sha256(again, commits[0], commits[2]) == expected
    assert diff_sha256(again, commits[0], commits[2]) == expected
    assert again._diffs == {}  # from the cache: no diff computed
    assert diff_sha256(again, commits[1], commits[2]) != expected  # another pair, another key
    store, key, _, _ = _diff_hash_entry(again, commits[0], commits[2])
    for damaged in (b"not a hash", b"A" * 64, expected.encode()[:-1]):
        store.put(key, damaged)
        fresh = Repository(repo.path)
        assert cached_diff_sha256(fresh, commits[0], commits[2]) is None  # never trusted
        assert diff_sha256(fresh, commits[0], commits[2]) == expected
        assert fresh._diffs  # recomputed
