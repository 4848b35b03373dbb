"""Commits of many branches at once: one ``git rev-list`` and one ``cat-file --batch``.

Raw commit objects are parsed here rather than through ``git log --format``, so that nothing a
commit message contains (separators, control characters) can shift the fields of another commit.
Trailers follow git's rule in its plain form: the last paragraph of the message, when every line
of it is ``Token: value`` (continuation lines start with white space).

Warm, :func:`load_graph` runs no git process: the parsed graph of a base and heads is kept in
the result cache (``commit-graph``), keyed by their ids, which name every commit reachable from
them, and by ``shallow`` and ``info/grafts``, which change the parents git reports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone

from fixreview.models import OBJECT_ID, Commit, Person
from fixreview.repo.git import Repository
from fixreview.resultcache import ResultCache, cache_key, code_digest, history_files

_IDENT = re.compile(r"^(?P<name>.*?) <(?P<email>[^>]*)> (?P<time>-?\d+) (?P<tz>[+-]\d{4})$")
_TRAILER = re.compile(r"^(?P<key>[A-Za-z0-9][A-Za-z0-9-]*)\s*:\s?(?P<value>.*)$")


class CommitGraph:
    """The commits reachable from some heads but not from a base, with their parent links."""

    def __init__(self, parents: dict[str, list[str]], commits: dict[str, Commit]) -> None:
        self.parents = parents
        self.commits = commits

    def branch_commits(self, head: str) -> list[str]:
        """Commits of HEAD not reachable from the base, newest first (topological)."""
        order: list[str] = []
        seen: set[str] = set()
        stack = [head]
        while stack:
            oid = stack.pop()
            if oid in seen or oid not in self.parents:
                continue
            seen.add(oid)
            order.append(oid)
            stack.extend(reversed(self.parents[oid]))
        return order

    def boundary(self, head: str) -> set[str]:
        """Parents, outside the set, of HEAD's commits: the base-side commits it grew from."""
        own = set(self.branch_commits(head))
        return {p for oid in own for p in self.parents[oid] if p not in self.parents}


# BUMP THIS whenever what load_graph computes changes (commits.py and models.py are hashed in
# too, as a safety net)
GRAPH_VERSION = "1"
GRAPH_CACHE_KIND = "commit-graph"


def load_graph(repo: Repository, base: str, heads: Iterable[str]) -> CommitGraph:
    """All commits of HEADS not reachable from BASE, parsed, with two git processes; none when
    the result cache holds the graph of these ids (only commit ids are cached by: a ref moves)."""
    wanted = list(dict.fromkeys(heads))
    if not wanted:
        return CommitGraph({}, {})
    store = ResultCache.under(repo.common_dir, GRAPH_CACHE_KIND)
    key = None
    if store.enabled and all(OBJECT_ID.fullmatch(oid) for oid in (base, *wanted)):
        key = cache_key(
            GRAPH_CACHE_KIND,
            GRAPH_VERSION,
            code_digest(("repo/commits.py", "models.py")),
            base,
            "".join(f"{oid}\n" for oid in wanted),
            history_files(repo.common_dir),
        )
        cached = _graph_from_entry(store.get(key))
        if cached is not None:
            return cached
    listing = repo.run_text(
        "rev-list", "--parents", "--stdin", input="\n".join([f"^{base}", *wanted]).encode() + b"\n"
    )
    parents: dict[str, list[str]] = {}
    for line in listing.splitlines():
        oids = line.split()
        if oids:
            parents[oids[0]] = oids[1:]
    raw = repo.read_objects(parents)
    commits = {oid: parse_commit(oid, data) for oid, data in raw.items() if data is not None}
    graph = CommitGraph(parents, commits)
    if key is not None and len(commits) == len(parents):  # a missing object may come later
        store.put(key, _graph_body(graph))
    return graph


def _graph_body(graph: CommitGraph) -> bytes:
    """A graph's entry: one JSON line of [commit, its parents] in git's order, then each commit
    as JSON, in the same order."""
    head = json.dumps([[oid, parents] for oid, parents in graph.parents.items()])
    lines = [head.encode("ascii")]
    lines += [graph.commits[oid].model_dump_json().encode("utf-8") for oid in graph.parents]
    return b"\n".join(lines)


def _graph_from_entry(body: bytes | None) -> CommitGraph | None:
    """A graph's entry read back (every commit validated again); None when there is none or
    anything in it is not what :func:`_graph_body` writes."""
    if body is None:
        return None
    lines = body.split(b"\n")
    try:
        head = json.loads(lines[0])
        if not isinstance(head, list) or len(head) != len(lines) - 1:
            return None
        parents: dict[str, list[str]] = {}
        commits: dict[str, Commit] = {}
        for item, line in zip(head, lines[1:], strict=True):
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], list)):
                return None
            oid, links = item
            if not isinstance(oid, str) or oid in parents:
                return None
            if not all(isinstance(link, str) and OBJECT_ID.fullmatch(link) for link in links):
                return None
            commit = Commit.model_validate_json(line)
            if commit.oid != oid or commit.parents != links:
                return None
            parents[oid] = links
            commits[oid] = commit
    except (ValueError, TypeError, RecursionError):  # pydantic's ValidationError is a ValueError
        return None
    return CommitGraph(parents, commits)


def read_commits(repo: Repository, oids: Iterable[str]) -> dict[str, Commit]:
    raw = repo.read_objects(oids)
    return {oid: parse_commit(oid, data) for oid, data in raw.items() if data is not None}


def parse_commit(oid: str, data: bytes) -> Commit:
    """Parse a raw commit object (headers, blank line, message)."""
    head, _, message_bytes = data.partition(b"\n\n")
    headers: dict[str, str] = {}
    parents: list[str] = []
    last_key = ""
    for raw_line in head.decode("utf-8", "replace").split("\n"):
        if raw_line.startswith(" "):  # continuation of a multi-line header (gpgsig)
            headers[last_key] = headers.get(last_key, "") + "\n" + raw_line[1:]
            continue
        key, _, value = raw_line.partition(" ")
        last_key = key
        if key == "parent":
            parents.append(value)
        elif key not in headers:
            headers[key] = value
    author, authored = _ident(headers.get("author", ""))
    committer, committed = _ident(headers.get("committer", ""))
    message = message_bytes.decode("utf-8", "replace")
    subject, body, trailers = split_message(message)
    return Commit(
        oid=oid,
        parents=parents,
        author=author,
        authored=authored,
        committer=committer,
        committed=committed,
        subject=subject,
        body=body,
        trailers=trailers,
    )


def split_message(message: str) -> tuple[str, str, list[tuple[str, str]]]:
    """Subject line, body without the trailer block, and the trailers in order."""
    paragraphs = re.split(r"\n[ \t]*\n", message.strip("\n"))
    subject = paragraphs[0].replace("\n", " ").strip() if paragraphs else ""
    rest = paragraphs[1:]
    trailers: list[tuple[str, str]] = []
    if rest:
        parsed = parse_trailer_block(rest[-1])
        if parsed is not None:
            trailers = parsed
            rest = rest[:-1]
    body = "\n\n".join(rest).strip("\n")
    return subject, body, trailers


def parse_trailer_block(paragraph: str) -> list[tuple[str, str]] | None:
    """The trailers of PARAGRAPH, or None when it is not a trailer block."""
    trailers: list[tuple[str, str]] = []
    for line in paragraph.split("\n"):
        if line[:1] in (" ", "\t") and trailers:
            key, value = trailers[-1]
            trailers[-1] = (key, f"{value} {line.strip()}".strip())
            continue
        match = _TRAILER.match(line)
        if match is None:
            return None
        trailers.append((match["key"], match["value"].strip()))
    return trailers or None


def _ident(value: str) -> tuple[Person, datetime]:
    match = _IDENT.match(value)
    if match is None:
        return Person(name=value, email=""), datetime.fromtimestamp(0, UTC)
    tz = match["tz"]
    offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5]))
    zone = timezone(-offset if tz[0] == "-" else offset)
    when = datetime.fromtimestamp(int(match["time"]), zone)
    return Person(name=match["name"], email=match["email"]), when
