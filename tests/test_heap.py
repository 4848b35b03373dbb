"""The cycle collector paused while a large diff is parsed, and frozen in the risk workers
(fixreview/heap.py, fixreview/risk/pool.py)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from fixreview.heap import collector_paused
from fixreview.models import Fix
from fixreview.policy import Policy
from fixreview.repo import diffs
from fixreview.repo.git import Repository
from tests.gitutil import TestRepo
from tests.test_risk import make_fix
from tests.test_risk_pool import answers_of


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_off_inside_and_back_on_after() -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "the outer pause still holds"
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_an_error_inside_still_turns_it_back_on() -> None:
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_overlapping_pauses_in_two_threads_end_with_the_last() -> None:
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with collector_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    with collector_paused():
        thread.start()
        assert inside.wait(10)
    assert not gc.isenabled(), "the other thread's pause has not ended"
    release.set()
    thread.join(10)
    assert gc.isenabled()


def test_a_diff_is_parsed_without_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    real = diffs._hunk_lines

    def watching(*args: object) -> object:
        seen.append(gc.isenabled())
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(diffs, "_hunk_lines", watching)
    text = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
    diffs._parse.cache_clear()
    parsed = diffs.parse_diff(text)
    assert [line.text for line in parsed.files[0].hunks[0].lines] == ["a", "b"]
    assert seen == [False] and gc.isenabled()


def _freeze_count(repo: Repository, fix: Fix, policy: Policy) -> bytes:
    """A worker's answer for any fix: how many objects it froze out of the collector."""
    return str(gc.get_freeze_count()).encode()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_worker_freezes_what_it_starts_with(repo: TestRepo, method: str) -> None:
    repo.commit("base", {"a.py": "x = 1\n"})
    for number in range(2):
        make_fix(repo, {"a.py": f"x = {number + 2}\n"}, branch=f"ai-fix/f{number}")
    answers = answers_of(repo.path, _freeze_count, method)
    # a fork starts with what its parent froze (the app's tests freeze this process's objects);
    # a spawned worker is a fresh interpreter
    before = gc.get_freeze_count() if method == "fork" else 0
    assert all(int(body) > before + 1000 for _, body in answers), "the imports at least"
