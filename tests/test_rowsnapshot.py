"""The kept rows of the app's queue (fixreview/rowsnapshot.py): their key, their shape, and the
queue read from the very refs the key was made of."""

from __future__ import annotations

import json

from fixreview.repo.git import Repository
from fixreview.repo.refs import read_ref_state
from fixreview.resultcache import ResultCache
from fixreview.rowsnapshot import ROW_COLUMNS, ROWS_KIND, read_rows, rows_key, write_rows
from fixreview.session import ReviewSession
from tests.gitutil import AI, TestRepo
from tests.test_progress import many_fixes

ROW = {column: f"{column} text" for column in ROW_COLUMNS}


def test_rows_are_kept_and_read_back_with_nothing_of_where_a_fix_stands(repo: TestRepo) -> None:
    git = Repository(repo.path)
    key = rows_key(git, read_ref_state(git), None, (), None)
    assert read_rows(git, key) is None
    assert write_rows(git, key, [ROW | {"status": "approved", "approvals": "2/2"}])
    assert read_rows(git, key) == [ROW]


def test_an_entry_of_another_shape_is_ignored(repo: TestRepo) -> None:
    git = Repository(repo.path)
    key = rows_key(git, read_ref_state(git), None, (), None)
    store = ResultCache.under(git.common_dir, ROWS_KIND)
    for body in (
        [ROW | {"status": "approved"}],  # a column that says where a fix stands
        [{k: v for k, v in ROW.items() if k != "branch"}],
        [ROW | {"files": 3}],
        {"rows": [ROW]},
    ):
        assert store.put(key, json.dumps(body).encode())
        assert read_rows(git, key) is None, body
    assert store.put(key, b"\xff not json")
    assert read_rows(git, key) is None


def test_every_part_of_the_request_is_in_the_key(repo: TestRepo) -> None:
    git = Repository(repo.path)
    state = read_ref_state(git)
    keys = {
        rows_key(git, state, None, (), None),
        rows_key(git, state, "main", (), None),
        rows_key(git, state, None, ("ai-fix/*",), None),
        rows_key(git, state, None, ("ai-fix/a", "b"), None),
        rows_key(git, state, None, ("ai-fix/a\0b",), None),
        rows_key(git, state, None, (), b""),
        rows_key(git, state, None, (), b'base = "main"\n'),
    }
    assert len(keys) == 7


def test_the_queue_is_read_from_the_state_the_key_was_made_of(repo: TestRepo) -> None:
    many_fixes(repo, 2)
    git = Repository(repo.path)
    state = read_ref_state(git)
    repo.checkout("-b", "ai-fix/late", "main")
    repo.commit("Fix late\n\nFinding-Id: SEC-99", {"app/late.py": "n = 99\n"}, who=AI)
    repo.checkout("main")
    session = ReviewSession(git)
    pinned, _ = session.load_rows(state=state)
    assert [f.branch.name for f in pinned.fixes] == ["ai-fix/f00", "ai-fix/f01"]
    assert git.pinned is None  # the session's repository still reads git's refs
    now, _ = session.load_rows()
    assert len(now.fixes) == 3
