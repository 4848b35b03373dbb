"""Risk checks spread over worker processes (fixreview/risk/pool.py) give exactly the flags of the
in-process path, leave their answers in the result cache for a later run, lose nothing when a
worker fails or dies, leave no process behind, and FIXREVIEW_JOBS=1 starts none. Real git and
real spawned processes throughout; the pool's size threshold is lowered so small test
repositories use it."""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import fixreview.risk
from fixreview.jobs import ENV_VAR as JOBS_ENV
from fixreview.jobs import usable_cpus
from fixreview.models import Fix
from fixreview.policy import Policy
from fixreview.queue import load_queue
from fixreview.repo.git import Repository
from fixreview.risk import CACHE_KIND, RiskFlag, assess_fixes, pool
from fixreview.risk.pool import Miss
from tests.gitutil import TestRepo
from tests.test_risk import AWS_KEY, DB_LINES, GITHUB_TOKEN, PNG, edit_lines, make_fix

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def forced_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any two misses are worth a pool (the real thresholds want seconds of work)."""
    monkeypatch.setattr(pool, "POOL_MIN_WEIGHT", 0)
    monkeypatch.setattr(pool, "FORK_MIN_WEIGHT", 0)


@pytest.fixture(params=["fork", "spawn"])
def method(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Workers started each way: forked, as from the command line's ``list`` (no other
    thread), and spawned, as from the app (its worker threads)."""
    chosen: str = request.param
    monkeypatch.setattr(pool, "start_method", lambda: chosen)
    return chosen


@pytest.fixture
def computed_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The branch of every fix whose flags this process computes (the real ``_compute`` runs;
    a worker, a fresh interpreter, is not affected)."""
    calls: list[str] = []
    real = fixreview.risk._compute

    def counting(repo: Repository, fix: Fix, policy: Policy, diffs: Any) -> list[RiskFlag]:
        calls.append(fix.branch.name)
        return real(repo, fix, policy, diffs)

    monkeypatch.setattr(fixreview.risk, "_compute", counting)
    return calls


def children() -> set[int]:
    """The live child processes of this process (every thread's)."""
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            found.update(int(pid) for pid in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def cmdline(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}/cmdline").read_bytes()).replace(b"\0", b" ").decode()
    except OSError:
        return ""


def state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def workers() -> set[int]:
    """Our live or unreaped worker processes (a pool's spawned interpreters, or its forked
    copies of this process; not the git processes a Repository keeps open, nor
    multiprocessing's resource tracker, which is started once for the process's semaphores,
    holds nothing of ours and ends with us)."""
    ours = cmdline(os.getpid())
    return {
        pid
        for pid in children()
        if state(pid) == "Z" or "spawn_main" in cmdline(pid) or cmdline(pid) == ours
    }


def cache_files(path: Path) -> dict[str, bytes]:
    root = path / ".git" / "fixreview" / "cache" / CACHE_KIND
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def clear_cache(path: Path) -> None:
    shutil.rmtree(path / ".git" / "fixreview" / "cache" / CACHE_KIND, ignore_errors=True)


def assess(path: Path, jobs: str, **options: Any) -> dict[str, list[RiskFlag]]:
    old = os.environ.get(JOBS_ENV)
    os.environ[JOBS_ENV] = jobs
    try:
        repo = Repository(path)
        queue = load_queue(repo)
        return assess_fixes(repo, queue.fixes, queue.policy.policy, **options)
    finally:
        if old is None:
            os.environ.pop(JOBS_ENV, None)
        else:
            os.environ[JOBS_ENV] = old


@pytest.fixture
def many(repo: TestRepo) -> TestRepo:
    """About 30 fix branches: secrets, CI and dependency files, binaries, big-ish diffs, human
    edits after the AI, docs only, renames, deletions."""
    repo.commit(
        "base",
        {
            "app/db.py": DB_LINES,
            "requirements.txt": "requests==2.31.0\nPyYAML==5.3\n",
            "package.json": '{"dependencies": {"left-pad": "1.0.0"}}\n',
            ".github/workflows/ci.yml": "on: push\njobs:\n  t:\n    steps:\n      - uses: ./ci\n",
            "ci/action.yml": "runs:\n  using: composite\n",
            "docs/guide.md": "# Guide\n",
            "tests/test_db.py": "def test(): pass\n",
        },
    )
    variants: list[tuple[dict[str, str | bytes | None], dict[str, str | bytes | None] | None]] = [
        ({"app/db.py": edit_lines({42: "line 42 fixed"})}, None),
        ({"app/db.py": edit_lines({41: f"token = '{GITHUB_TOKEN}'"})}, None),
        ({"app/config.py": f"AWS_ACCESS_KEY_ID = '{AWS_KEY}'\n"}, None),
        ({".github/workflows/ci.yml": "on: [push, pull_request]\njobs: {}\n"}, None),
        ({"ci/action.yml": "runs:\n  using: node20\n"}, None),
        ({"requirements.txt": "requests==2.32.0\nPyYAML==5.4\nnewdep==1.0\n"}, None),
        ({"package.json": '{"dependencies": {"left-pad": "1.3.0"}}\n'}, None),
        ({"app/logo.png": PNG}, None),
        ({"docs/guide.md": "# Guide\n\nMore words.\n"}, None),
        ({"app/db.py": edit_lines({43: "line 43 \u202eevil"})}, None),
        ({"app/db.py": None}, None),
        (
            {"app/db.py": edit_lines({44: "line 44 ai"})},
            {"app/db.py": edit_lines({44: "line 44 human"}), "tests/test_db.py": "ok = 1\n"},
        ),
        ({"app/big.py": "".join(f"value_{n} = compute({n})\n" for n in range(3000))}, None),
        ({"app/wide.py": "x = '" + "a" * 5000 + "'\n" + "y = 2\n" * 500}, None),
    ]
    for number in range(30):
        files, human = variants[number % len(variants)]
        if number >= len(variants):  # the same kinds again, each a different change
            files = {**files, f"app/extra_{number}.py": f"n = {number}\n" * (number * 7)}
        make_fix(repo, files, branch=f"ai-fix/b{number:02d}", human=human)
    return repo


def test_pool_gives_the_in_process_flags_on_the_demo_repository(
    demo_repo: Path, forced_pool: None, computed_here: list[str], method: str
) -> None:
    alone = assess(demo_repo, "1")
    written_here = cache_files(demo_repo)
    assert len(computed_here) == len(alone) > 1
    clear_cache(demo_repo)
    computed_here.clear()

    pooled = assess(demo_repo, "2")
    assert computed_here == [], "the workers computed every fix"
    assert pooled == alone
    assert list(pooled) == list(alone)
    assert cache_files(demo_repo) == written_here, "the workers wrote the same entries"

    again = assess(demo_repo, "1")  # in-process, reading what the workers wrote
    assert again == alone
    assert computed_here == [], "every entry a worker wrote is a hit"


def test_pool_gives_the_in_process_flags_on_thirty_varied_fixes(
    many: TestRepo, forced_pool: None, computed_here: list[str], method: str
) -> None:
    alone = assess(many.path, "1")
    assert len(alone) == 30
    raised = {flag.id for flags in alone.values() for flag in flags}
    assert {"secret-added", "ci-config-change", "dependency-change", "binary-file"} <= raised
    assert {"hidden-unicode", "diverges-from-suggestion"} <= raised
    written_here = cache_files(many.path)
    clear_cache(many.path)
    computed_here.clear()

    reported: list[dict[str, list[RiskFlag]]] = []
    pooled = assess(many.path, "2", on_flags=reported.append)
    assert computed_here == []
    assert pooled == alone
    assert len(reported) > 1, "flags arrive chunk by chunk"
    merged = {name: flags for batch in reported for name, flags in batch.items()}
    assert merged == alone and sum(len(batch) for batch in reported) == 30
    assert cache_files(many.path) == written_here

    again = assess(many.path, "2", on_flags=reported.append)
    assert again == alone and computed_here == []


def test_cache_hits_are_reported_first_in_one_call(
    many: TestRepo, forced_pool: None, computed_here: list[str]
) -> None:
    repo = Repository(many.path)
    queue = load_queue(repo)
    policy = queue.policy.policy
    assess_fixes(repo, queue.fixes[:10], policy)
    computed_here.clear()
    reported: list[dict[str, list[RiskFlag]]] = []
    os.environ[JOBS_ENV] = "2"
    try:
        flags = assess_fixes(repo, queue.fixes, policy, on_flags=reported.append)
    finally:
        del os.environ[JOBS_ENV]
    assert set(reported[0]) == {fix.branch.name for fix in queue.fixes[:10]}
    assert all(not set(batch) & set(reported[0]) for batch in reported[1:])
    assert {name for batch in reported for name in batch} == set(flags)


def test_a_chunk_the_pool_cannot_take_is_computed_here(
    many: TestRepo,
    forced_pool: None,
    computed_here: list[str],
    method: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fix that cannot be pickled is computed here when the workers are spawned; forked
    workers are sent no fix at all (they have the parent's), so they check it too."""
    alone = assess(many.path, "1")
    clear_cache(many.path)
    computed_here.clear()

    class LocalFix(Fix):  # defined in a function: it cannot be pickled for a worker
        pass

    repo = Repository(many.path)
    queue = load_queue(repo)
    odd = LocalFix.model_validate(queue.fixes[3].model_dump())
    fixes = [*queue.fixes[:3], odd, *queue.fixes[4:]]
    monkeypatch.setattr(pool, "MAX_CHUNK_FIXES", 1)  # one fix per chunk
    monkeypatch.setenv(JOBS_ENV, "2")
    pooled = assess_fixes(repo, fixes, queue.policy.policy)
    assert pooled == alone
    if method == "spawn":
        assert computed_here == [odd.branch.name], "only the fix the pool could not take"
    else:
        assert computed_here == [], "the forked workers had every fix, the odd one too"
    assert pool._inherited == {}, "the parent keeps no reference once the pool is gone"


def test_workers_killed_midway_lose_nothing_and_leave_no_process(
    many: TestRepo,
    forced_pool: None,
    computed_here: list[str],
    monkeypatch: pytest.MonkeyPatch,
    method: str,
) -> None:
    alone = assess(many.path, "1")
    clear_cache(many.path)
    computed_here.clear()
    before = workers()
    killed: list[int] = []

    def kill_workers(batch: dict[str, list[RiskFlag]]) -> None:
        if not killed:
            for pid in workers() - before:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    monkeypatch.setattr(pool, "MAX_CHUNK_FIXES", 1)
    pooled = assess(many.path, "2", on_flags=kill_workers)
    assert killed, "the workers were running when the first chunk came back"
    assert pooled == alone
    assert workers() == before, "no worker outlives assess_fixes"


def test_an_interrupt_stops_the_pool_and_leaves_no_process(
    many: TestRepo, forced_pool: None, method: str
) -> None:
    before = workers()

    def interrupt(batch: dict[str, list[RiskFlag]]) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        assess(many.path, "2", on_flags=interrupt)
    assert workers() == before


def test_a_fix_nobody_can_check_fails_as_in_process(
    many: TestRepo, forced_pool: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fix whose head is not in the repository: its worker's chunk fails, the parent tries
    it again and raises what the in-process path raises; no worker is left behind."""
    repo = Repository(many.path)
    queue = load_queue(repo)
    gone = "0123456789abcdef0123456789abcdef01234567"
    broken = queue.fixes[5].model_copy(
        update={"branch": queue.fixes[5].branch.model_copy(update={"head": gone})}
    )
    fixes = [*queue.fixes[:5], broken, *queue.fixes[6:]]
    before = workers()
    errors = []
    for jobs in ("1", "2"):
        clear_cache(many.path)
        monkeypatch.setenv(JOBS_ENV, jobs)
        with pytest.raises(Exception) as caught:
            assess_fixes(repo, fixes, queue.policy.policy)
        errors.append((type(caught.value), str(caught.value)))
    assert errors[0] == errors[1]
    assert workers() == before


def test_jobs_one_starts_no_process(many: TestRepo) -> None:
    """In a fresh interpreter: with FIXREVIEW_JOBS=1 (or jobs=1) no pool is used and no process
    but git's is started; with 2, a pool is."""
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from fixreview.queue import load_queue
        from fixreview.repo.git import Repository
        from fixreview.risk import assess_fixes, pool
        pool.POOL_MIN_WEIGHT = pool.FORK_MIN_WEIGHT = 0
        pools = []
        real = pool.assess_in_pool
        def counted(*args, **options):
            pools.append(1)
            return real(*args, **options)
        pool.assess_in_pool = counted
        repo = Repository(sys.argv[1])
        queue = load_queue(repo)
        jobs = int(sys.argv[2]) if len(sys.argv) > 2 else None
        flags = assess_fixes(repo, queue.fixes, queue.policy.policy, jobs=jobs)
        assert len(flags) == 30
        kids = []
        for task in Path("/proc/self/task").iterdir():
            try:  # a thread of the pool may end between the listing and the read
                kids.extend((task / "children").read_text().split())
            except OSError:
                pass
        # a Repository keeps one `git cat-file --batch` open: that is not a pool's
        commands = []
        for pid in kids:
            try:
                commands.append(Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\\0")[0])
            except OSError:  # ended since
                pass
        print(len(pools), sum(1 for command in commands if not command.endswith(b"git")))
        """
    )

    def started(jobs_env: str, *jobs: str) -> tuple[int, int]:
        env = dict(os.environ, FIXREVIEW_JOBS=jobs_env, FIXREVIEW_NO_CACHE="1")
        out = subprocess.run(
            [sys.executable, "-c", script, str(many.path), *jobs],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        pools, left = out.stdout.split()[-2:]
        return int(pools), int(left)

    assert started("1") == (0, 0)
    assert started("2", "1") == (0, 0), "a caller asking for one worker gets no pool"
    assert started("2")[0] == 1, "(the test sees a pool that was used)"


def test_a_script_without_a_main_guard_is_not_run_again(many: TestRepo, tmp_path: Path) -> None:
    """A spawned worker imports the main script again: one that would check the queue (or
    print, or write) again at its top level gets no pool, and runs once."""
    body = textwrap.dedent(
        """
        import sys
        from fixreview.queue import load_queue
        from fixreview.repo.git import Repository
        from fixreview.risk import assess_fixes, pool
        pool.POOL_MIN_WEIGHT = 0
        {call}
        """
    )
    call = textwrap.dedent(
        """
        repo = Repository(sys.argv[1])
        queue = load_queue(repo)
        flags = assess_fixes(repo, queue.fixes, queue.policy.policy)
        print("ran", len(flags))
        """
    )
    unguarded = tmp_path / "unguarded.py"
    unguarded.write_text(body.replace("{call}", call))
    guarded = tmp_path / "guarded.py"
    guarded.write_text(
        body.replace("{call}", "def main():\n" + textwrap.indent(call, "    "))
        + "\nif __name__ == '__main__':\n    main()\n"
    )
    env = dict(os.environ, FIXREVIEW_JOBS="2", FIXREVIEW_NO_CACHE="1", PYTHONPATH=str(ROOT))
    for script in (unguarded, guarded):
        out = subprocess.run(
            [sys.executable, str(script), str(many.path)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.split("\n").count("ran 30") == 1, (script.name, out.stdout)


def test_jobs_come_from_the_environment_and_never_exceed_what_is_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default = usable_cpus()
    assert default >= 1
    for bad in ("", "0", "-2", "two", "1.5", "\u0663", " "):
        monkeypatch.setenv(JOBS_ENV, bad)
        assert pool.pool_jobs() == default, bad
    monkeypatch.setenv(JOBS_ENV, "7")
    assert pool.pool_jobs() == 7
    assert pool.pool_jobs(3) == 3
    assert pool.pool_jobs(0) == 1
    monkeypatch.setenv(JOBS_ENV, "1")
    assert pool.pool_jobs(4) == 1


def test_chunks_hold_every_fix_once_heaviest_first_a_huge_fix_alone(
    many: TestRepo,
) -> None:
    queue = load_queue(Repository(many.path))
    misses = [Miss(index, fix, None) for index, fix in enumerate(queue.fixes)]
    huge = max(queue.fixes, key=pool.weight)
    assert huge.stats.added >= 3000
    chunks = pool.plan_chunks(misses, 2)
    assert sorted(m.index for chunk in chunks for m in chunk) == list(range(len(misses)))
    assert [m.fix for m in chunks[0]] == [huge]
    weights = [sum(pool.weight(m.fix) for m in chunk) for chunk in chunks]
    assert weights == sorted(weights, reverse=True)
    assert len(chunks) >= 4
    assert not pool.worth_pool(misses, 2), "thirty small fixes are not worth a pool"
    assert not pool.worth_pool(misses, 1)


def _iter_batches(batches: list[list[Miss]]) -> Iterator[int]:
    for batch in batches:
        yield from (miss.index for miss in batch)


def test_in_process_batches_keep_the_order(many: TestRepo) -> None:
    queue = load_queue(Repository(many.path))
    misses = [Miss(index, fix, None) for index, fix in enumerate(queue.fixes)]
    batches = pool.batches_in_order(misses, 1000)
    assert list(_iter_batches(batches)) == list(range(len(misses)))
    assert len(batches) > 1


def _niceness(repo: Repository, fix: Fix, policy: Policy) -> bytes:
    """A worker's answer for any fix: its own niceness (pickled by name for the workers)."""
    return str(os.nice(0)).encode()


def test_workers_run_at_a_lower_priority(many: TestRepo) -> None:
    """The checks are background work: each worker (and the git it starts) is niced below the
    process that draws the app."""
    repo = Repository(many.path)
    queue = load_queue(repo)
    answers: list[tuple[int, bytes]] = []
    misses = [Miss(index, fix, None) for index, fix in enumerate(queue.fixes)]
    pool.assess_in_pool(repo, queue.policy.policy, misses, 2, _niceness, CACHE_KIND, answers.extend)
    assert len(answers) == len(misses)
    expected = min(os.nice(0) + pool.WORKER_NICENESS, 19)
    assert {int(body) for _, body in answers} == {expected}


def test_each_step_in_this_process_waits_its_turn(
    many: TestRepo, computed_here: list[str]
) -> None:
    """PAUSE comes before the cache is read, before each fix checked in this process and
    before each report of flags found (where the app's background checks wait while the
    reviewer opens a fix); cache hits, too, are reported after one."""
    events = computed_here  # the branches checked here, in order, with the pauses between

    def report(batch: dict[str, list[RiskFlag]]) -> None:
        events.append("<report>")

    clear_cache(many.path)
    flags = assess(many.path, "1", on_flags=report, pause=lambda: events.append("<pause>"))
    checked = [e for e in events if not e.startswith("<")]
    assert len(checked) == len(flags) > 20
    assert events[0] == "<pause>"
    for before, event in itertools.pairwise(events):
        if event != "<pause>":
            assert before == "<pause>", events
    events.clear()
    assert assess(many.path, "1", on_flags=report, pause=lambda: events.append("<pause>")) == flags
    assert events == ["<pause>", "<pause>", "<report>"]  # the cache read, the hits reported


def test_the_pool_starts_after_a_pause(
    many: TestRepo, forced_pool: None, computed_here: list[str]
) -> None:
    """Starting the workers (the app spawns them: a process each, its setup pickled) waits its
    turn too."""
    events: list[str] = []
    clear_cache(many.path)
    flags = assess(
        many.path,
        "2",
        pause=lambda: events.append("<pause>"),
        started=lambda: events.append("<started>"),
    )
    assert len(flags) > 20 and computed_here == []
    assert events.count("<started>") == 1
    assert events[events.index("<started>") - 1] == "<pause>"


def test_large_patches_go_to_the_workers_by_hash(
    many: TestRepo,
    forced_pool: None,
    computed_here: list[str],
    method: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A suggestion's patch over PATCH_BY_HASH_OVER (here: any) is sent as its SHA-256, not
    pickled in the parent: a worker takes the fix's final diff for it when that diff is
    exactly the patch, and the flags are the in-process ones; a fix whose patch is not its
    final diff (people changed the AI's patch after it) is not guessed at: it is computed
    here. Forked workers are sent no fix at all: they check every one, with its patch."""
    from fixreview.changes import final_text

    alone = assess(many.path, "1")
    clear_cache(many.path)
    computed_here.clear()
    monkeypatch.setattr(pool, "PATCH_BY_HASH_OVER", 0)
    pooled = assess(many.path, "2")
    assert pooled == alone
    repo = Repository(many.path)
    fixes = load_queue(repo).fixes
    differs = {
        f.branch.name
        for f in fixes
        if f.suggestion is not None
        and f.suggestion.patch
        and f.suggestion.patch != final_text(repo, f)
    }
    assert differs and len(differs) < len(fixes)
    assert sorted(computed_here) == (sorted(differs) if method == "spawn" else [])
    misses = [Miss(index, fix, None) for index, fix in enumerate(fixes)]
    assert all(pool.payload_of(miss, inherited=True)[1:] == (None, None, None) for miss in misses)
    assert [pool.payload_of(miss, inherited=False)[3] is not None for miss in misses] == [
        bool(miss.fix.suggestion and miss.fix.suggestion.patch) for miss in misses
    ]


def test_a_lightened_fix_keeps_everything_but_its_patch(many: TestRepo) -> None:
    fix = next(f for f in load_queue(Repository(many.path)).fixes if f.suggestion is not None)
    assert fix.suggestion is not None and fix.suggestion.patch
    assert pool.lightened(fix) == (fix, None)  # short: sent as it is
    old = pool.PATCH_BY_HASH_OVER
    pool.PATCH_BY_HASH_OVER = 0
    try:
        sent, digest = pool.lightened(fix)
    finally:
        pool.PATCH_BY_HASH_OVER = old
    assert sent.suggestion is not None and sent.suggestion.patch == ""
    patch = fix.suggestion.patch.encode("utf-8", "surrogatepass")
    assert digest == hashlib.sha256(patch).hexdigest()
    whole = sent.model_copy(update={"suggestion": fix.suggestion})
    assert whole == fix and fix.suggestion.patch  # the queue's own fix is untouched


NICENESS_AT_IMPORT = os.nice(0)
"""This module's niceness when it was imported: in a spawned worker, when the checks' function
was unpickled, with the models and everything else it imports."""


def _niceness_at_import(repo: Repository, fix: Fix, policy: Policy) -> bytes:
    """A worker's answer for any fix: its niceness when it imported this module."""
    return str(NICENESS_AT_IMPORT).encode()


def answers_of(path: Path, compute: pool.ComputeBody, method: str) -> list[tuple[int, bytes]]:
    """What a 2-worker pool started by METHOD answers with COMPUTE for every fix of the
    repository at PATH (nothing cached); as many answers as fixes."""
    repo = Repository(path)
    queue = load_queue(repo)
    answers: list[tuple[int, bytes]] = []
    misses = [Miss(index, fix, None) for index, fix in enumerate(queue.fixes)]
    pool.assess_in_pool(
        repo, queue.policy.policy, misses, 2, compute, CACHE_KIND, answers.extend, method=method
    )
    assert len(answers) == len(misses)
    return answers


def test_a_spawned_worker_is_niced_before_its_imports(many: TestRepo) -> None:
    """A spawned worker imports the models and the checks (0.4-0.6 s of CPU) as it unpickles
    what it runs: it does so at the lower priority already, not beside the app's UI at its
    own (the app spawns its workers as the reviewer may be opening a fix)."""
    answers = answers_of(many.path, _niceness_at_import, "spawn")
    expected = min(os.nice(0) + pool.WORKER_NICENESS, 19)
    assert expected > os.nice(0), "the test needs a priority that can be lowered"
    assert {int(body) for _, body in answers} == {expected}


def test_workers_are_forked_only_from_a_process_without_other_threads() -> None:
    """A fork copies every thread's locks as they are: the app (threads) spawns its workers,
    the command line (none) forks them."""
    assert pool.start_method() == ("fork" if sys.platform == "linux" else pool.START_METHOD)
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert pool.start_method() == pool.START_METHOD == "spawn"
    finally:
        release.set()
        other.join()
    seen: list[str] = []
    aside = threading.Thread(target=lambda: seen.append(pool.start_method()))
    aside.start()
    aside.join()
    assert seen == ["spawn"], "never forked from a thread other than the main one"


def test_the_callers_threads_start_once_the_workers_are_forked(
    many: TestRepo, forced_pool: None, computed_here: list[str]
) -> None:
    """``list`` starts its judging thread in STARTED: the workers are forked by then (no thread
    of the caller's is copied into them), and the checks are theirs."""
    if sys.platform != "linux":
        pytest.skip("workers are forked on Linux only")
    at_start: list[tuple[set[int], int]] = []

    def started() -> None:
        at_start.append((workers(), threading.active_count()))

    before = workers()
    flags = assess(many.path, "2", started=started)
    assert len(flags) == 30 and computed_here == []
    assert len(at_start) == 1, "called once"
    running, _ = at_start[0]
    assert len(running - before) == 2, "both workers forked before STARTED"
    assert workers() == before


def test_started_is_called_once_without_a_pool(many: TestRepo) -> None:
    calls: list[int] = []
    flags = assess(many.path, "1", started=lambda: calls.append(1))
    assert len(flags) == 30 and calls == [1]
    calls.clear()
    assert assess(many.path, "2", started=lambda: calls.append(1)) == flags  # all hits now
    assert calls == [1]


IN_AN_APP = """
import asyncio, sys
from textual.app import App
from fixreview.queue import load_queue
from fixreview.repo.git import Repository
from fixreview.risk import CACHE_KIND, _compute_body, pool

async def main():
    repo = Repository(sys.argv[1])
    queue = load_queue(repo)
    misses = [pool.Miss(i, fix, None) for i, fix in enumerate(queue.fixes)]
    got = []
    async with App().run_test():
        captured = sys.stderr.fileno()  # Textual's capture of standard error
        await asyncio.to_thread(
            pool.assess_in_pool, repo, queue.policy.policy, misses, 2, _compute_body,
            CACHE_KIND, got.extend,
        )
    print(captured, len(got), len(misses))

asyncio.run(main())
"""


def test_the_pool_starts_inside_the_app(many: TestRepo) -> None:
    """While a Textual app runs, its capture of standard error has no descriptor (-1), which
    multiprocessing's resource tracker would hand to its process: no pool could start, and a
    cold queue's checks all ran in the app's process. In a fresh interpreter (the tracker is
    started once per process), every fix is delivered by the pool."""
    proc = subprocess.run(
        [sys.executable, "-c", IN_AN_APP, str(many.path)],
        capture_output=True,
        text=True,
        check=True,
    )
    captured, delivered, misses = (int(n) for n in proc.stdout.split())
    assert captured == -1
    assert delivered == misses > 20


THE_APP = """
import asyncio, os, sys
import fixreview.risk
from fixreview.app.main import FixreviewApp
from fixreview.repo.git import Repository
from fixreview.risk import pool

pool.POOL_MIN_WEIGHT = 0  # any two misses are worth a pool (the real threshold: 3 s of work)
here, pools = [], []
real_compute, real_pool = fixreview.risk._compute, pool.assess_in_pool

def counting(repo, fix, policy, diffs):  # a fix checked in the app's own process
    here.append(fix.branch.name)
    return real_compute(repo, fix, policy, diffs)

def watched(*args, **kwargs):
    pools.append(os.getpid())
    return real_pool(*args, **kwargs)

fixreview.risk._compute, pool.assess_in_pool = counting, watched

async def main():
    app = FixreviewApp(Repository(sys.argv[1]))
    async with app.run_test() as pilot:
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        fixes = app.session.queue.fixes
        known = [f for f in fixes if app.session.flag_counts(f) is not None]
        print(len(fixes), len(known), len(here), len(pools), sys.stderr.fileno())

asyncio.run(main())
"""


def test_the_app_checks_a_cold_queue_in_worker_processes(many: TestRepo) -> None:
    """The real app under Pilot, on a cold cache, the pool's threshold lowered: every fix's
    flags are shown, none was checked in the app's own process (its fallback when no pool
    starts), and the workers wrote the cache. (In a fresh interpreter: multiprocessing's
    resource tracker is started once per process, with whatever standard error it had.)"""
    clear_cache(many.path)
    env = dict(os.environ, PYTHONPATH=str(ROOT), **{JOBS_ENV: "2"})
    proc = subprocess.run(
        [sys.executable, "-c", THE_APP, str(many.path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT,
    )
    fixes, known, here, pools, captured = (int(n) for n in proc.stdout.split())
    assert captured == -1, "Textual's capture of standard error, as the app runs"
    assert pools == 1
    assert known == fixes > 20
    assert here == 0, "checked in the app's process: the pool did not start"
    assert len(cache_files(many.path)) >= fixes


def _linger(repo: Repository, fix: Fix, policy: Policy) -> bytes:
    """A worker's check that never ends: it leaves a file named after its pid, and waits."""
    (Path(os.environ["LINGER_DIR"]) / str(os.getpid())).touch()
    threading.Event().wait()
    return b""


ORPHANED = """
import sys
from fixreview.queue import load_queue
from fixreview.repo.git import Repository
from fixreview.risk import CACHE_KIND, pool
from tests.test_risk_pool import _linger

repo = Repository(sys.argv[1])
queue = load_queue(repo)
misses = [pool.Miss(i, fix, None) for i, fix in enumerate(queue.fixes)]
pool.assess_in_pool(
    repo, queue.policy.policy, misses, 2, _linger, CACHE_KIND, print, method="spawn"
)
"""


def test_workers_end_when_their_parent_is_killed(many: TestRepo, tmp_path: Path) -> None:
    """The app may be killed, or end with os._exit, with its workers at work or waiting for
    work (their siblings hold both ends of the pool's pipes, so nothing tells them): each
    ends by itself once its parent is gone, none is left for ever."""
    lingering = tmp_path / "lingering"
    lingering.mkdir()
    env = dict(os.environ, LINGER_DIR=str(lingering), PYTHONPATH=str(ROOT))
    parent = subprocess.Popen([sys.executable, "-c", ORPHANED, str(many.path)], env=env, cwd=ROOT)
    try:
        for _ in range(1200):  # both workers are at work
            if len(list(lingering.iterdir())) == 2 or parent.poll() is not None:
                break
            threading.Event().wait(0.05)
        pids = [int(p.name) for p in lingering.iterdir()]
        assert len(pids) == 2, "the workers never started"
    finally:
        parent.kill()
        parent.wait()
    for _ in range(1200):
        if all(state(pid) in ("", "Z") for pid in pids):
            break
        threading.Event().wait(0.05)
    assert [state(pid) for pid in pids if state(pid) not in ("", "Z")] == []


def test_a_cache_that_holds_nothing_has_the_forked_workers_make_the_keys(
    many: TestRepo,
    forced_pool: None,
    computed_here: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing stored yet: no lookup can hit, so the caller looks nothing up and its forked
    workers make each key after the check; the entries are those a later lookup finds. With
    entries there (or spawned workers), the caller looks each fix up first, as before."""
    if sys.platform != "linux":
        pytest.skip("workers are forked on Linux only")
    looked_up: list[str] = []
    real = fixreview.risk._lookup

    def counting(repo: Repository, store: Any, fix: Fix, *rest: Any) -> Any:
        looked_up.append(fix.branch.name)
        return real(repo, store, fix, *rest)

    monkeypatch.setattr(fixreview.risk, "_lookup", counting)
    monkeypatch.setattr(pool, "start_method", lambda: "fork")
    clear_cache(many.path)
    cold = assess(many.path, "2")
    assert looked_up == [] and computed_here == [], "no lookup here, every check in a worker"
    assert len(cache_files(many.path)) == len(cold) == 30
    again = assess(many.path, "2")
    assert again == cold and len(looked_up) == 30 and computed_here == [], "every key a hit"
    clear_cache(many.path)
    looked_up.clear()
    monkeypatch.setattr(pool, "start_method", lambda: "spawn")
    assert assess(many.path, "1") == cold
    assert len(looked_up) == 30, "not forked: looked up first"


def test_holds_nothing_is_no_entry_ever_stored(tmp_path: Path) -> None:
    from fixreview.resultcache import ResultCache, cache_key

    store = ResultCache(tmp_path / "cache", "kind")
    assert store.holds_nothing()
    assert store.put(cache_key("kind", "1", "x"), b"body")
    assert not store.holds_nothing()
    assert not ResultCache(None, "kind").holds_nothing(), "no cache: nothing to say"
