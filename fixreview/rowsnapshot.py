"""The queue's rows as the app last read them, kept to draw a provisional first frame.

Reading a thousand fixes takes the app a few tenths of a second after its start; until then a
reviewer would see an empty queue. At its next start the app draws the rows it read last time
from one result-cache entry (kind :data:`ROWS_KIND`), marked provisional until the real queue
replaces them.

What a row keeps (:data:`ROW_COLUMNS`) is what reading the queue shows before any judgement:
the finding, the branch, the tool, the diff's size. Never a status, a risk flag or an approval
count: those the app learns afresh every run, and shows "…" for until it has. Rows are in the
order the queue lists them by default (most severe first, fixes awaiting review).

The key is :func:`fixreview.listsnapshot.snapshot_key`'s (every ref and the git configuration,
the code, libraries, programs and environment), with the request: this kind and version, the
base, the branch patterns and the reviewer's config file, byte for byte. The app reads the
queue from the very ref state the key was made of (``ReviewSession.load_rows``), so an entry
holds the rows of exactly its inputs; nothing in them depends on the clock.

Entries are result-cache entries: written atomically, checked on read, ignored when corrupt;
a body that is not exactly the expected shape is ignored too.

With no rows kept for these inputs (a first start, or any ref moved since), :func:`listed_rows`
gives rows of what the refs alone tell: the fix branches the base's policy names
(fixreview/fixbranches.py, without the models) and each head commit's subject, every other
column :data:`NOT_READ`. They are read from the same ref state as the queue that replaces them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from fixreview.errors import FixreviewError
from fixreview.fixbranches import listed_fix_branches
from fixreview.listsnapshot import snapshot_key
from fixreview.repo.git import Repository
from fixreview.repo.refstate import RefState
from fixreview.resultcache import Field, ResultCache, json_body

ROWS_KIND = "app-rows"
# BUMP THIS whenever what an entry holds or how it is read changes (every file of the package
# is hashed into the key too, as a safety net)
ROWS_VERSION = "1"
ROW_COLUMNS = ("severity", "finding", "title", "branch", "tool", "files", "lines")
"""The columns a kept row holds: nothing that says where a fix stands (status, flags,
approvals)."""
MAX_ROWS = 20_000  # an entry with more rows is not written (nor read)
NOT_READ = "…"  # a column of a listed row (listed_rows) that only reading the queue tells
SUBJECT_CHARS = 300  # a listed row's subject is cut there (the title column shows less)

Row = dict[str, str]


def rows_key(
    repo: Repository,
    state: RefState,
    base: str | None,
    branches: Sequence[str],
    config: Field,
) -> str:
    """The key of the rows of REPO whose refs and configuration are STATE, read for BASE and
    the branch patterns BRANCHES, with the reviewer's config file CONFIG (its bytes; None
    when there is none; a string saying why it could not be read)."""
    patterns = json.dumps(list(branches))
    request: tuple[Field, ...] = (ROWS_KIND, ROWS_VERSION, base, patterns, config)
    return snapshot_key(repo, state, request)


def _store(repo: Repository) -> ResultCache:
    return ResultCache.under(repo.common_dir, ROWS_KIND)


def read_rows(repo: Repository, key: str) -> list[Row] | None:
    """The rows kept under KEY, each a text per column of :data:`ROW_COLUMNS`; None when there
    are none, or the entry is not to be trusted."""
    body = _store(repo).get(key)
    if body is None:
        return None
    data = json_body(body)
    if not isinstance(data, list) or len(data) > MAX_ROWS:
        return None
    rows: list[Row] = []
    for row in data:
        if not isinstance(row, dict) or set(row) != set(ROW_COLUMNS):
            return None
        if not all(isinstance(value, str) for value in row.values()):
            return None
        rows.append(row)
    return rows


def write_rows(repo: Repository, key: str, rows: Sequence[Mapping[str, str]]) -> bool:
    """Keep ROWS under KEY (each: a text per column of :data:`ROW_COLUMNS`, the others are
    dropped); whether they were kept."""
    if len(rows) > MAX_ROWS:
        return False
    kept = [{column: row[column] for column in ROW_COLUMNS} for row in rows]
    body = json.dumps(kept, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return _store(repo).put(key, body)


def _subject(commit: bytes | None) -> str:
    """The first line of COMMIT's message (a commit object's bytes), cut to SUBJECT_CHARS;
    NOT_READ when there is none."""
    if commit is None:
        return NOT_READ
    _, blank, message = commit.partition(b"\n\n")
    first = message.lstrip(b"\n").split(b"\n", 1)[0] if blank else b""
    text = first[: SUBJECT_CHARS * 4].decode("utf-8", "replace").strip()[:SUBJECT_CHARS]
    return text or NOT_READ


def listed_rows(
    repo: Repository, state: RefState, base: str | None, branches: Sequence[str]
) -> tuple[list[Row], int] | None:
    """Rows of the fix branches of REPO as its refs and configuration STATE list them, for
    BASE and the reviewer's branch patterns BRANCHES (fixreview/fixbranches.py: exactly the
    branches the queue read from STATE lists), by branch name, with how many more fix branches
    BRANCHES leave out. Each row holds the branch and its head commit's subject (as the title);
    every other column :data:`NOT_READ`. None when the policy's fix branches cannot be known
    without the models (a base that does not resolve, a policy file that is not TOML, or whose
    ``base`` or ``fix_branches`` the policy model refuses): then nothing is listed."""
    try:
        pinned = Repository(repo.root)  # a copy: the caller's repository may write refs
        pinned.pin(state)
        listed = listed_fix_branches(pinned, base, branches)
        if listed is None or len(listed.branches) > MAX_ROWS:
            return None
        commits = pinned.read_objects(dict.fromkeys(b.head for b in listed.branches))
    except FixreviewError:
        return None
    rows: list[Row] = []
    for branch in listed.branches:
        row = dict.fromkeys(ROW_COLUMNS, NOT_READ)
        row["branch"] = branch.name
        row["title"] = _subject(commits.get(branch.head))
        rows.append(row)
    return rows, listed.hidden
