"""load_graph warm: the parsed commit graph of a base and heads (by id) comes from its
``commit-graph`` result-cache entry, exactly as computed cold; a damaged entry is computed again;
a moved head, new grafts or a shallow file are new keys; refs given by name are never cached."""

from __future__ import annotations

from pathlib import Path

from fixreview.repo.commits import GRAPH_CACHE_KIND, CommitGraph, _graph_body, load_graph
from fixreview.repo.git import Repository
from fixreview.resultcache import ResultCache
from tests.gitutil import TestRepo, git


def _entries(path: Path) -> list[Path]:
    directory = ResultCache.under(Repository(path).common_dir, GRAPH_CACHE_KIND).directory
    assert directory is not None
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


def _same(a: CommitGraph, b: CommitGraph) -> None:
    assert list(a.parents.items()) == list(b.parents.items())
    assert list(a.commits.items()) == list(b.commits.items())


def _branch(repo: TestRepo) -> tuple[str, str, str]:
    """main with one commit; ai-fix/x with two more (the second with trailers)."""
    base = repo.commit("base", {"a.txt": "a\n"})
    repo.checkout("-b", "ai-fix/x")
    first = repo.commit("first", {"a.txt": "b\n"})
    head = repo.commit("second\n\nbody\n\nFinding-Id: F-1\nAssisted-by: bot:m1\n", {"b.txt": "c"})
    repo.checkout("main")
    return base, first, head


def test_a_warm_graph_is_the_cold_graph_read_from_its_entry(repo: TestRepo) -> None:
    base, first, head = _branch(repo)
    cold = load_graph(Repository(repo.path), base, [head])
    assert list(cold.parents) == [head, first]
    assert cold.commits[head].trailer_values("Finding-Id") == ["F-1"]
    (entry,) = _entries(repo.path)
    _same(load_graph(Repository(repo.path), base, [head]), cold)
    # the entry is what is read: a changed (well-formed) entry is what comes back
    key = entry.parent.name + entry.name
    store = ResultCache.under(Repository(repo.path).common_dir, GRAPH_CACHE_KIND)
    changed = CommitGraph(
        dict(cold.parents),
        {**cold.commits, head: cold.commits[head].model_copy(update={"subject": "from cache"})},
    )
    assert store.put(key, _graph_body(changed))
    assert load_graph(Repository(repo.path), base, [head]).commits[head].subject == "from cache"
    # damaged entries are misses: computed again, and the entry rewritten
    for body in (b"garbage", _graph_body(changed).replace(first.encode(), head.encode(), 1), b""):
        assert store.put(key, body)
        _same(load_graph(Repository(repo.path), base, [head]), cold)
        assert store.get(key) == _graph_body(cold)


def test_moved_heads_and_changed_history_files_are_new_graphs(repo: TestRepo) -> None:
    base, first, head = _branch(repo)
    r = Repository(repo.path)
    load_graph(r, base, [head])
    repo.checkout("ai-fix/x")
    newer = repo.commit("third", {"c.txt": "d"})
    repo.checkout("main")
    assert list(load_graph(Repository(repo.path), base, [newer]).parents) == [newer, head, first]
    # grafts cut the history: the same ids, another graph
    grafts = Path(r.common_dir) / "info" / "grafts"
    grafts.parent.mkdir(exist_ok=True)
    grafts.write_text(f"{head}\n")
    grafted = load_graph(Repository(repo.path), base, [head])
    assert grafted.parents[head] == [] and first not in grafted.parents
    grafts.unlink()
    _same(load_graph(Repository(repo.path), base, [head]), load_graph(r, base, [head]))
    assert load_graph(Repository(repo.path), base, [head]).parents[head] == [first]
    # a shallow file changes the key too (its content is read, whatever it names)
    before = len(_entries(repo.path))
    (Path(r.common_dir) / "shallow").write_text(f"{base}\n")
    load_graph(Repository(repo.path), base, [head])
    assert len(_entries(repo.path)) == before + 1


def test_names_are_never_cached(repo: TestRepo) -> None:
    base, first, head = _branch(repo)
    graph = load_graph(Repository(repo.path), "main", ["ai-fix/x"])
    assert set(graph.parents) == {head, first}
    assert _entries(repo.path) == []
    git(repo.path, "update-ref", "refs/heads/ai-fix/x", first)
    assert set(load_graph(Repository(repo.path), "main", ["ai-fix/x"]).parents) == {first}
    assert base not in graph.parents
