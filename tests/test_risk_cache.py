"""Cached risk flags are never trusted across a changed input (the attack: a stale "no blocking
flag" letting an approval count), are served on a warm cache, survive a lossless round trip, and a
damaged entry is ignored and rebuilt. Real git throughout; "fresh" means FIXREVIEW_NO_CACHE=1."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixreview.models import Fix, Location
from fixreview.policy import Policy
from fixreview.queue import load_queue
from fixreview.repo.git import Repository
from fixreview.resultcache import NO_CACHE_ENV, ResultCache
from fixreview.risk import (
    CACHE_KIND,
    Evidence,
    FlagId,
    RiskFlag,
    assess_fix,
    assess_fixes,
    flags_body,
    flags_from_json,
    risk_key,
)
from fixreview.risk.flags import flag_json
from tests.gitutil import AI, TestRepo
from tests.test_risk import DB_LINES, GITHUB_TOKEN, make_fix


def fresh(
    repo: Repository, fix: Fix, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> list[RiskFlag]:
    with monkeypatch.context() as m:
        m.setenv(NO_CACHE_ENV, "1")
        return assess_fix(repo, fix, policy)


def entries(repo: TestRepo) -> list[Path]:
    root = repo.path / ".git" / "fixreview" / "cache" / CACHE_KIND
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def ids(flags: list[RiskFlag]) -> dict[str, str]:
    return {flag.id: flag.level for flag in flags}


@pytest.fixture
def fixed(repo: TestRepo) -> TestRepo:
    repo.commit("db module", {"app/db.py": DB_LINES, "tests/test_db.py": "def test(): pass\n"})
    make_fix(repo, {"app/db.py": DB_LINES.replace("line 42\n", "line 42 fixed\n")})
    return repo


def load(repo: TestRepo, branch: str = "ai-fix/x") -> tuple[Repository, Fix, Policy]:
    r = Repository(repo.path)
    queue = load_queue(r)
    return r, queue.get(branch), queue.policy.policy


def test_flags_round_trip_losslessly() -> None:
    flags = [
        RiskFlag(
            FlagId.SECRET_ADDED,
            "block",
            "t\u00eftle \u2192 \U0001f600",
            'detail with "quotes", \\ and a lone \udc80 surrogate\nand a newline',
            (
                Evidence("a/b.py", 3, "excerpt \u200b"),
                Evidence(None, None, ""),
                Evidence("weird\tpath", 0, "x" * 500),
            ),
        ),
        RiskFlag(FlagId.LARGE_DIFF, "info", "", "", ()),
    ]
    assert flags_from_json(flags_body(flags)) == flags
    assert flags_from_json(flags_body([])) == []
    for bad in (
        b"",
        b"{}",
        b"[1]",
        b'[{"id": "no-such-flag", "level": "block", "title": "", "detail": "", "evidence": []}]',
        flags_body(flags).replace(b'"block"', b'"blocker"'),
        flags_body(flags).replace(b'"line":3', b'"line":"3"'),
        flags_body(flags).replace(b'"line":3', b'"line":true'),
        flags_body(flags)[:-2],
    ):
        assert flags_from_json(bad) is None, bad
    assert [flag_json(f) for f in flags_from_json(flags_body(flags)) or []] == [
        flag_json(f) for f in flags
    ]


def test_a_warm_cache_serves_the_flags(fixed: TestRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    r, fix, policy = load(fixed)
    first = assess_fix(r, fix, policy)
    assert first == fresh(r, fix, policy, monkeypatch)
    assert len(entries(fixed)) == 1
    # proof that the second call reads the entry: one written by the cache's own code under
    # the same key (what only the local user can do) is what it returns
    marker = [RiskFlag(FlagId.LARGE_DIFF, "info", "from the cache", "", ())]
    store = ResultCache.under(r.common_dir, CACHE_KIND)
    store.put(risk_key(r, fix, policy, None), flags_body(marker))
    assert assess_fix(r, fix, policy) == marker
    assert assess_fixes(r, [fix], policy) == {fix.branch.name: marker}


def test_no_cache_writes_nothing(fixed: TestRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    r, fix, policy = load(fixed)
    fresh(r, fix, policy, monkeypatch)
    assert entries(fixed) == []


def check_variant(
    r: Repository, fix: Fix, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> list[RiskFlag]:
    """Assessed twice through the cache (cold, warm) and once without: all three the same."""
    cold = assess_fix(r, fix, policy)
    warm = assess_fix(r, fix, policy)
    assert cold == warm == fresh(r, fix, policy, monkeypatch)
    return warm


def test_every_input_change_is_a_new_answer(
    fixed: TestRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache is warmed for a fix, then each input the checks read is changed in turn: the
    flags always equal those computed without a cache, and each change does change them."""
    r, fix, policy = load(fixed)
    original = check_variant(r, fix, policy, monkeypatch)
    assert "secret-added" not in ids(original) and "no-linked-finding" not in ids(original)
    seen = [ids(original)]

    def differs(flags: list[RiskFlag]) -> dict[str, str]:
        found = ids(flags)
        assert flags != original
        seen.append(found)
        return found

    # 1. the policy's risk levels, changed on the base branch
    fixed.commit(
        "Block untested fixes", {".fixreview.toml": '[risk.levels]\n"no-test-change" = "block"\n'}
    )
    r, fix2, policy2 = load(fixed)
    assert differs(check_variant(r, fix2, policy2, monkeypatch)).get("no-test-change") == "block"
    # ... and the same fix under a policy only changed in a threshold
    looser = policy.model_copy(
        update={"risk": policy.risk.model_copy(update={"large_diff_lines": 0 + 1})}
    )
    assert "large-diff" in differs(check_variant(r, fix, looser, monkeypatch))
    # 2. the head tree: a human commit adds a secret
    fixed.checkout("ai-fix/x")
    fixed.commit("config", {"app/config.py": f'TOKEN = "{GITHUB_TOKEN}"\n'})
    fixed.checkout("main")
    r, head_fix, policy3 = load(fixed)
    assert head_fix.branch.head != fix.branch.head
    assert "secret-added" in differs(check_variant(r, head_fix, policy3, monkeypatch))
    # 3. the finding: gone, or pointing elsewhere
    assert "no-linked-finding" in differs(
        check_variant(r, fix.model_copy(update={"finding": None}), policy, monkeypatch)
    )
    assert fix.finding is not None
    elsewhere = fix.finding.model_copy(
        update={"locations": [Location(path="app/db.py", start_line=90)]}
    )
    assert "out-of-scope" in differs(
        check_variant(r, fix.model_copy(update={"finding": elsewhere}), policy, monkeypatch)
    )
    # 4. the suggestion: its rationale, and its frozen patch when the commit cannot be used
    assert fix.suggestion is not None
    thin = fix.suggestion.model_copy(update={"rationale": "fixed"})
    assert "thin-rationale" in differs(
        check_variant(r, fix.model_copy(update={"suggestion": thin}), policy, monkeypatch)
    )
    gone = "f" * 40  # a suggestion commit this repository does not have: the patch is replayed
    patch = fix.suggestion.patch
    replayed = fix.suggestion.model_copy(update={"commit": gone})
    same = check_variant(r, fix.model_copy(update={"suggestion": replayed}), policy, monkeypatch)
    other_patch = patch.replace("+line 42 fixed", "+line 42 fixed differently")
    assert other_patch != patch
    swapped = fix.model_copy(
        update={"suggestion": replayed.model_copy(update={"patch": other_patch})}
    )
    changed = check_variant(r, swapped, policy, monkeypatch)
    assert "diverges-from-suggestion" in ids(changed) and changed != same
    # 5. the commits' trailers and identities (what no-linked-finding quotes)
    claims = [c.model_copy(update={"trailers": [("Finding-Id", "SEC-404")]}) for c in fix.commits]
    unlinked = fix.model_copy(update={"finding": None, "commits": claims})
    flags = check_variant(r, unlinked, policy, monkeypatch)
    assert any("SEC-404" in flag.detail for flag in flags)
    assert len({tuple(sorted(s.items())) for s in seen}) > 1


def test_a_suggestion_commit_that_arrives_later_is_a_new_answer(
    fixed: TestRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A suggestion linked by its commit alone (no frozen patch): while the commit is missing
    there is nothing to compare; once fetched, its diff counts. The cache must tell the two
    apart though the fix's own facts did not change."""
    other = TestRepo(tmp_path / "other")
    other.git("fetch", "-q", str(fixed.path), "main")
    other.checkout("-B", "main", "FETCH_HEAD")
    other.commit("AI elsewhere", {"app/db.py": DB_LINES.replace("line 7\n", "line 7 AI\n")}, who=AI)
    elsewhere = other.rev("HEAD")
    r, fix, policy = load(fixed)
    assert fix.suggestion is not None
    linked = fix.model_copy(
        update={"suggestion": fix.suggestion.model_copy(update={"commit": elsewhere, "patch": ""})}
    )
    before = check_variant(r, linked, policy, monkeypatch)
    fixed.git("fetch", "-q", str(other.path), "HEAD:refs/remotes/other/main")
    after = check_variant(r, linked, policy, monkeypatch)
    assert "diverges-from-suggestion" not in ids(before)
    assert "diverges-from-suggestion" in ids(after)


def test_damaged_entries_are_ignored_and_rebuilt(
    fixed: TestRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_fix(fixed, {"app/config.py": f'TOKEN = "{GITHUB_TOKEN}"\n'}, branch="ai-fix/y")
    r = Repository(fixed.path)
    queue = load_queue(r)
    policy = queue.policy.policy
    fix, other = queue.get("ai-fix/x"), queue.get("ai-fix/y")
    results = assess_fixes(r, [fix, other], policy)
    expected = fresh(r, fix, policy, monkeypatch)
    assert results[fix.branch.name] == expected
    assert "secret-added" in ids(results[other.branch.name])
    store = ResultCache.under(r.common_dir, CACHE_KIND)
    path = store.path(risk_key(r, fix, policy, None))
    other_path = store.path(risk_key(r, other, policy, None))
    assert path is not None and other_path is not None and path.is_file()
    good = path.read_bytes()
    for damage in (
        b"garbage",
        good[: len(good) // 2],
        other_path.read_bytes(),  # another fix's valid entry copied over: its flags differ
        good.replace(b'"info"', b'"block"'),  # a level changed by hand: the checksum fails
    ):
        path.write_bytes(damage)
        assert assess_fix(r, fix, policy) == expected
        assert path.read_bytes() == good  # rebuilt
    # a body that is well formed for the cache but not flags is recomputed too
    store.put(risk_key(r, fix, policy, None), b'{"not": "flags"}')
    assert assess_fix(r, fix, policy) == expected and path.read_bytes() == good


def test_an_unwritable_cache_is_no_cache(fixed: TestRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    (fixed.path / ".git" / "fixreview").mkdir(exist_ok=True)
    (fixed.path / ".git" / "fixreview" / "cache").write_text("in the way")
    r, fix, policy = load(fixed)
    assert assess_fix(r, fix, policy) == fresh(r, fix, policy, monkeypatch)
    assert assess_fixes(r, [fix], policy) == {fix.branch.name: fresh(r, fix, policy, monkeypatch)}
