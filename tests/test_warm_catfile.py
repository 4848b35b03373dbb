"""The long-lived ``git cat-file --batch`` reader keeps an offset into what git wrote instead of
copying the unread rest after every answer: answers of every size — empty, newline-only, many
small ones in one chunk, ones straddling the 1 MiB reads, several MiB — are git's exact bytes,
in one read and across reads."""

from __future__ import annotations

from fixreview.repo.git import Repository
from tests.gitutil import TestRepo, git

MIB = 1 << 20


def test_answers_of_every_size_are_exact(repo: TestRepo) -> None:
    files = {f"small{n}.txt": "\n" * (n % 3) + f"{n}\n" * (n % 7) for n in range(400)}
    files["empty.txt"] = ""
    files["newline.txt"] = "\n"
    for n, size in enumerate((MIB - 70, MIB - 1, MIB, MIB + 1, 3 * MIB + 17)):
        files[f"edge{n}.txt"] = ("y" * 99 + "\n") * (size // 100) + "z" * (size % 100)
    head = repo.commit("sizes", files)
    r = Repository(repo.path)
    listing = git(repo.path, "ls-tree", "-r", "--format=%(objectname) %(path)", head).split("\n")
    blobs = dict(line.split(" ", 1)[::-1] for line in listing if line)
    # small and large interleaved, so that answers start anywhere within a chunk
    names = sorted(files, key=lambda name: (sum(map(ord, name)) % 5, name))
    specs = [f"{head}:{name}" for name in names] + ["0" * 40]
    found = r.read_objects(specs)
    assert found["0" * 40] is None
    for name in names:
        assert found[f"{head}:{name}"] == files[name].encode(), name
    # by blob id, after the first read, in a different order
    again = r.read_objects([blobs[name] for name in reversed(names)])
    for name in names:
        assert again[blobs[name]] == files[name].encode(), name
    assert (
        again[blobs["edge4.txt"]] == git(repo.path, "cat-file", "blob", blobs["edge4.txt"]).encode()
    )
