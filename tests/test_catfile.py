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


def test_answers_are_remembered_but_a_missing_object_is_asked_again(repo: TestRepo) -> None:
    """What an object id names never changes: once read, a file of a commit and a path absent
    from it are answered without git — even after the objects are gone from the disk. An
    object that was missing is asked for again, and found once it is written."""
    head = repo.commit("one", {"a.txt": "a\n"})
    r = Repository(repo.path)
    absent = git(repo.path, "hash-object", "--stdin", input=b"written later\n").strip()
    specs = [f"{head}:a.txt", f"{head}:no-such-file", absent]
    assert r.read_objects(specs) == {specs[0]: b"a\n", specs[1]: None, absent: None}
    objects = repo.path / ".git" / "objects"
    moved = repo.path / "objects-moved"
    objects.rename(moved)
    objects.mkdir()  # git still sees a repository, with no object at all
    try:
        assert r.read_objects(specs[:2]) == {specs[0]: b"a\n", specs[1]: None}
        assert r.read_objects([f"{head}:a.txt"]) == {f"{head}:a.txt": b"a\n"}
    finally:
        objects.rmdir()
        moved.rename(objects)
    git(repo.path, "hash-object", "-w", "--stdin", input=b"written later\n")
    assert r.read_objects([absent]) == {absent: b"written later\n"}
