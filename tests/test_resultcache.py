"""The on-disk result cache (fixreview/resultcache.py): unambiguous keys, self-checking entries,
anything wrong read as a miss and overwritten, no cache rather than an error, and forked
processes writing and reading the same keys at once never reading a torn or foreign entry."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fixreview.resultcache import MAX_ENTRY_BYTES, NO_CACHE_ENV, ResultCache, cache_key
from tests.racing import ROOT


def store(tmp_path: Path, kind: str = "test-kind") -> ResultCache:
    return ResultCache.under(tmp_path / "git", kind)


def test_keys_are_unambiguous() -> None:
    base = cache_key("k", "1", "ab", "c")
    assert base != cache_key("k", "1", "a", "bc")
    assert base != cache_key("k", "2", "ab", "c")
    assert base != cache_key("j", "1", "ab", "c")
    assert cache_key("k", "1", None) != cache_key("k", "1", "")
    assert cache_key("k", "1", "") != cache_key("k", "1", b"")
    assert cache_key("k", "1", "1") != cache_key("k", "1", 1)
    assert cache_key("k", "1", "a", None) != cache_key("k", "1", None, "a")
    assert cache_key("k", "1", "ab", "c") == base  # deterministic


def test_round_trip_and_layout(tmp_path: Path) -> None:
    cache = store(tmp_path)
    key = cache_key("test-kind", "1", "x")
    assert cache.get(key) is None
    assert cache.put(key, b"body \x00\xff")
    assert cache.get(key) == b"body \x00\xff"
    path = tmp_path / "git" / "fixreview" / "cache" / "test-kind" / key[:2] / key[2:]
    assert path.is_file()
    assert [p.name for p in path.parent.iterdir()] == [key[2:]]  # no temporary file left
    assert cache.put(key, b"other")
    assert cache.get(key) == b"other"


def test_a_temporary_name_in_use_is_never_written_through(tmp_path: Path) -> None:
    """A writer names its temporary file after its process and a counter; a file already there
    under every name it would use next (another writer's, a symbolic link planted there) is
    left alone, and the entry is still stored, with no temporary file left behind."""
    from fixreview import resultcache

    cache = store(tmp_path)
    first = cache_key("test-kind", "1", "first")
    assert cache.put(first, b"one")  # makes the entry's directory
    key = cache_key("test-kind", "1", "x")
    shard = cache.path(key).parent  # type: ignore[union-attr]
    shard.mkdir(parents=True, exist_ok=True)
    upcoming = next(resultcache._temporaries) + 1
    taken = shard / f".tmp-{os.getpid()}-{upcoming}"
    victim = tmp_path / "victim"
    victim.write_bytes(b"untouched")
    taken.symlink_to(victim)
    assert cache.put(key, b"two")
    assert cache.get(key) == b"two"
    assert victim.read_bytes() == b"untouched"
    assert taken.is_symlink()
    assert sorted(p.name for p in shard.iterdir() if p.name.startswith(".tmp-")) == [taken.name]
    made = cache.path(first).parent  # type: ignore[union-attr]
    assert oct(made.stat().st_mode & 0o777) == oct(0o700)  # made by the cache: this user's only


def corruptions(path: Path, other: Path) -> list[tuple[str, object]]:
    good = path.read_bytes()
    return [
        ("garbage", b"\x00garbage\nnot an entry"),
        ("truncated", good[:-3]),
        ("header only", good.partition(b"\n")[0]),
        ("empty", b""),
        ("body changed", good[:-1] + bytes([good[-1] ^ 1])),
        ("another key's entry copied over", other.read_bytes()),
        ("longer", good + b"x"),
        ("symlink", "symlink"),
        ("directory", "directory"),
        ("too big", good + b"x" * (MAX_ENTRY_BYTES + 1)),
    ]


def test_anything_wrong_is_a_miss_and_is_overwritten(tmp_path: Path) -> None:
    cache = store(tmp_path)
    key, other_key = cache_key("test-kind", "1", "a"), cache_key("test-kind", "1", "b")
    cache.put(key, b"the answer")
    cache.put(other_key, b"the answer")  # same body: only the key tells them apart
    path, other = cache.path(key), cache.path(other_key)
    assert path is not None and other is not None
    for label, damage in corruptions(path, other):
        if path.is_symlink() or path.is_file():
            path.unlink()
        if damage == "symlink":
            path.symlink_to(other)
        elif damage == "directory":
            (path / "inside").mkdir(parents=True)
        else:
            assert isinstance(damage, bytes)
            path.write_bytes(damage)
        assert cache.get(key) is None, label
        assert cache.put(key, b"the answer"), label
        assert cache.get(key) == b"the answer", label
        assert path.is_file() and not path.is_symlink(), label
    assert cache.get(other_key) == b"the answer"  # the symlink's target was never written


def test_no_cache_is_never_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = cache_key("test-kind", "1", "x")
    missing = ResultCache.under(tmp_path / "no" / "such" / "dir" / "file", "test-kind")
    (tmp_path / "no").write_text("a file where a directory should be")
    assert not missing.put(key, b"x") and missing.get(key) is None
    blocked = tmp_path / "git"
    blocked.mkdir()
    (blocked / "fixreview").write_text("not a directory")
    cache = ResultCache.under(blocked, "test-kind")
    assert not cache.put(key, b"x") and cache.get(key) is None
    assert not ResultCache.under(None, "test-kind").put(key, b"x")
    monkeypatch.setenv(NO_CACHE_ENV, "1")
    off = store(tmp_path / "other")
    assert not off.enabled and not off.put(key, b"x") and off.get(key) is None
    assert not (tmp_path / "other").exists()


def test_entry_size_is_bounded(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "cache", "test-kind", max_bytes=1000)
    key = cache_key("test-kind", "1", "x")
    assert not cache.put(key, b"x" * 1000)
    assert cache.get(key) is None
    assert cache.put(key, b"x" * 500) and cache.get(key) == b"x" * 500


def test_bad_keys_and_kinds_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ResultCache(tmp_path, "../escape")
    cache = store(tmp_path)
    assert not cache.put("../../x" + "0" * 57, b"x")
    assert cache.get("not-a-key") is None


# -- concurrent processes ------------------------------------------------------------------------

WORKERS = 8
ROUNDS = 150
KEYS = 4

# Run by a fresh interpreter that forks the workers (never pytest itself: see tests/racing.py).
# Each worker writes, for each key, bodies that are right for that key but differ per worker and
# round (and are large, so a torn write would show), and reads every key after each write: a
# read must be a miss or a whole, right body for that key.
DRIVER = textwrap.dedent(
    """
    import hashlib, os, sys
    from pathlib import Path
    from fixreview.resultcache import ResultCache, cache_key

    root, workers, rounds, nkeys = Path(sys.argv[1]), *map(int, sys.argv[2:5])
    keys = [cache_key("race", "1", str(n)) for n in range(nkeys)]

    def body(key, worker, n):
        head = f"{key} {worker} {n} ".encode()
        filler = hashlib.sha256(head).digest() * 4000  # 128 KB
        return head + filler

    def right(key, data):
        parts = data.split(b" ", 3)
        if len(parts) != 4 or parts[0] != key.encode():
            return False
        return parts[3] == hashlib.sha256(b" ".join(parts[:3]) + b" ").digest() * 4000

    gate, release = os.pipe()
    pids = []
    for worker in range(workers):
        pid = os.fork()
        if pid == 0:
            os.close(release)
            os.read(gate, 1)
            cache = ResultCache(root, "race")
            bad = 0
            for n in range(rounds):
                for key in keys:
                    cache.put(key, body(key, worker, n))
                    for other in keys:
                        data = cache.get(other)
                        if data is not None and not right(other, data):
                            bad += 1
            os._exit(min(bad, 100))
        pids.append(pid)
    os.close(gate)
    os.close(release)
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
    print(" ".join(map(str, codes)))
    """
)


def test_forked_writers_and_readers_never_see_a_torn_or_foreign_entry(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, str(root), str(WORKERS), str(ROUNDS), str(KEYS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, NO_CACHE_ENV: ""},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0"] * WORKERS, proc.stdout  # no worker read a wrong entry
    cache = ResultCache(root, "race")
    for n in range(KEYS):
        data = cache.get(cache_key("race", "1", str(n)))
        assert data is not None and data.startswith(cache_key("race", "1", str(n)).encode())
    assert list(root.rglob(".tmp-*")) == []  # every writer renamed its temporary file
