"""The long-lived ``git cat-file --batch`` behind Repository.read_objects: the same answers as a
process of its own, for many and large objects, across calls and threads."""

from __future__ import annotations

import threading

from fixreview.repo.git import Repository
from tests.gitutil import TestRepo, git


def test_many_large_objects_in_one_read_and_across_reads(repo: TestRepo) -> None:
    big = "".join(f"line {n} " + "x" * 200 + "\n" for n in range(2000))  # ~400 KB: > a pipe
    head = repo.commit("big files", {f"big{n}.txt": big + str(n) for n in range(5)})
    r = Repository(repo.path)
    blobs = git(repo.path, "ls-tree", "-r", "--format=%(objectname)", head).split()
    specs = [*blobs, *(f"{head}:big{n}.txt" for n in range(5))] * 200  # names repeat
    specs += [f"{head}:no-such-file", "0" * 40, f"{head}:big0.txt"]
    found = r.read_objects(specs)
    for n in range(5):
        assert found[f"{head}:big{n}.txt"] == (big + str(n)).encode()
    assert found[f"{head}:no-such-file"] is None and found["0" * 40] is None
    for blob in blobs:
        assert found[blob] == git(repo.path, "cat-file", "blob", blob).encode()
    # the same process answers again, after a miss, and names through refs still work
    assert r.read_objects([f"{head}:big1.txt"])[f"{head}:big1.txt"] == (big + "1").encode()
    assert r.read_objects(["main:big2.txt"])["main:big2.txt"] == (big + "2").encode()


def test_an_object_written_after_the_process_started_is_found(repo: TestRepo) -> None:
    r = Repository(repo.path)
    first = repo.commit("one", {"a.txt": "a\n"})
    assert r.read_objects([f"{first}:a.txt"])[f"{first}:a.txt"] == b"a\n"
    second = repo.commit("two", {"a.txt": "b\n"})
    git(repo.path, "gc", "-q")  # into a pack the running cat-file has not seen
    assert r.read_objects([f"{second}:a.txt"])[f"{second}:a.txt"] == b"b\n"


def test_threads_share_the_process_safely(repo: TestRepo) -> None:
    heads = [repo.commit(f"c{n}", {"f.txt": f"{n}\n" * (n + 1)}) for n in range(8)]
    r = Repository(repo.path)
    wrong: list[str] = []

    def read(n: int) -> None:
        for _ in range(30):
            got = r.read_objects([f"{heads[n]}:f.txt"])[f"{heads[n]}:f.txt"]
            if got != f"{n}\n".encode() * (n + 1):
                wrong.append(f"{n}: {got!r}")

    threads = [threading.Thread(target=read, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
