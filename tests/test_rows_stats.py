"""The queue's diff sizes (files, lines added and removed) kept in one result-cache entry for
the whole queue (fixreview.queue._Sizes): cached, warm and uncached reads agree; the entry
never outlives a moved branch; a damaged entry is computed again."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixreview.queue import STATS_CACHE_KIND, load_queue
from fixreview.repo.git import Repository
from fixreview.resultcache import ResultCache
from tests.gitutil import TestRepo


def _sizes(path: Path) -> dict[str, tuple[int, int, int]]:
    queue = load_queue(Repository(path))
    return {f.branch.name: (f.stats.files, f.stats.added, f.stats.removed) for f in queue.fixes}


def _queue_repo(repo: TestRepo) -> TestRepo:
    base = repo.rev("HEAD")
    for n, lines in enumerate((1, 3, 7)):
        repo.git("checkout", "-q", "-b", f"ai-fix/f{n}", base)
        repo.commit(f"fix {n}", {f"app/f{n}.py": "x = 1\n" * lines, "README.md": None})
    repo.git("checkout", "-q", "main")
    return repo


def _entries(path: Path) -> list[Path]:
    directory = ResultCache.under(Repository(path).common_dir, STATS_CACHE_KIND).directory
    assert directory is not None
    return sorted(p for p in directory.rglob("*") if p.is_file())


def test_cached_warm_and_uncached_sizes_agree(
    repo: TestRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    _queue_repo(repo)
    monkeypatch.setenv("FIXREVIEW_NO_CACHE", "1")
    expected = _sizes(repo.path)
    assert expected == {
        "ai-fix/f0": (2, 1, 1),
        "ai-fix/f1": (2, 3, 1),
        "ai-fix/f2": (2, 7, 1),
    }
    monkeypatch.delenv("FIXREVIEW_NO_CACHE")
    assert _sizes(repo.path) == expected
    assert len(_entries(repo.path)) == 1
    assert _sizes(repo.path) == expected  # warm


def test_a_moved_branch_is_sized_again(repo: TestRepo) -> None:
    _queue_repo(repo)
    before = _sizes(repo.path)
    repo.git("checkout", "-q", "ai-fix/f1")
    repo.commit("more", {"app/f1.py": "x = 1\n" * 10})
    repo.git("checkout", "-q", "main")
    after = _sizes(repo.path)
    assert after["ai-fix/f1"] == (2, 10, 1) != before["ai-fix/f1"]
    assert after["ai-fix/f0"] == before["ai-fix/f0"]


@pytest.mark.parametrize("damage", [b"", b"junk", b"1 2 3\n", b"1 2 3\n" * 3 + b"x"])
def test_a_damaged_entry_is_computed_again(repo: TestRepo, damage: bytes) -> None:
    """Whatever a (locally forged) entry holds that is not three counts per fix is a miss;
    each damage is written with a valid header, so only the body's own checks catch it."""
    _queue_repo(repo)
    expected = _sizes(repo.path)
    (entry,) = _entries(repo.path)
    store = ResultCache.under(Repository(repo.path).common_dir, STATS_CACHE_KIND)
    key = entry.parent.name + entry.name
    assert store.put(key, damage)
    assert _sizes(repo.path) == expected


def test_the_sizes_are_counted_while_the_proposals_are_read(
    repo: TestRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git starts counting before the proposal notes are listed and read (one process, its
    input from a file: nothing waits on it meanwhile), and nothing else about the sizes moves."""
    from fixreview.notes.store import PROPOSALS_REF
    from tests.test_risk import make_fix

    _queue_repo(repo)
    make_fix(repo, {"app/db.py": "def query(sql, args):\n    return sql, args\n"})
    r = Repository(repo.path)
    assert r.ref_value(PROPOSALS_REF) is not None
    started: list[tuple[str, ...]] = []  # every git process, in the order they start
    run, clean_start = Repository._run, Repository.clean_start

    def running(self: Repository, args, input, env):  # type: ignore[no-untyped-def]
        started.append(tuple(args))
        return run(self, args, input, env)

    def starting(self: Repository, *args, **options):  # type: ignore[no-untyped-def]
        started.append(args)
        return clean_start(self, *args, **options)

    monkeypatch.setattr(Repository, "_run", running)
    monkeypatch.setattr(Repository, "clean_start", starting)
    sizes = {
        f.branch.name: (f.stats.files, f.stats.added, f.stats.removed) for f in load_queue(r).fixes
    }
    assert sizes["ai-fix/f2"] == (2, 7, 1) and sizes["ai-fix/x"] == (1, 2, 2)
    counting = next(n for n, argv in enumerate(started) if "--numstat" in argv)
    notes = next(n for n, argv in enumerate(started) if "ls-tree" in argv)
    assert counting < notes, started
    assert not any("rev-parse" in argv and "^{tree}" in " ".join(argv) for argv in started)


def test_a_queue_read_that_stops_stops_git_counting(repo: TestRepo) -> None:
    """The sizes' git is started before the fixes are read; a read that fails meanwhile stops
    it and waits for it: no git is left behind, running or unwaited for."""
    from fixreview.repo.git import Started

    _queue_repo(repo)
    started: list[Started] = []
    stopped: list[Started] = []

    class Watched(Repository):
        def clean_start(self, *args, **options):  # type: ignore[no-untyped-def]
            process = super().clean_start(*args, **options)
            if "--numstat" in args:
                started.append(process)
                original = process.stop

                def stop() -> None:
                    stopped.append(process)
                    original()

                process.stop = stop  # type: ignore[method-assign]
            return process

    calls: list[int] = []

    class Stop(Exception):
        pass

    def progress(stage: str, done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:  # the fixes are being read: git counts their sizes meanwhile
            raise Stop

    r = Watched(repo.path)
    with pytest.raises(Stop):
        load_queue(r, progress=progress)
    assert calls == [0, 0]
    assert len(started) == 1 and stopped == started
    assert started[0]._proc.returncode is not None  # waited for
    r.close()
