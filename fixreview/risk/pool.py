"""The risk checks of many fixes, computed in worker processes.

Python runs one thread at a time: checking a thousand fixes in the process that also draws the
app would starve its UI thread, and would use one core of many. :func:`assess_in_pool` hands
the fixes missing from the result cache to a :class:`~concurrent.futures.ProcessPoolExecutor`
of workers (:func:`start_method`: *forked* from a process that runs no other thread, on Linux,
so a worker starts with everything its parent imported; else *spawned*, since a fork copies
other threads' locks in whatever state they are in). Each worker opens its own
:class:`Repository` on the same
repository, computes the diffs of its share with one git process
(:func:`fixreview.changes.prefetch`), computes every fix's flags with the function it is given,
writes each answer into the result cache itself (safe under concurrent writers) and sends the
encoded flags back; they reach the caller chunk by chunk, as chunks finish.

Nothing here decides what a flag is: the caller passes the function that computes one fix's
encoded flags (by reference: a module-level function, pickled by name) and decodes what comes
back. A fix the pool did not finish — a worker's exception for it, a worker killed, a pool that
could not start — is simply not delivered: the caller computes it in its own process, where
its usual error handling applies. The pool is shut down before :func:`assess_in_pool` returns.

How many workers (:func:`pool_jobs`) and whether a pool pays at all (:func:`worth_pool`) are
decided here too; the measured numbers behind the threshold are in docs/risk.md.
"""

from __future__ import annotations

import ast
import gc
import hashlib
import os
import pickle
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fixreview.jobs import (
    jobs_from_env,
    lowered_niceness,
    may_fork,
    start_background_worker,
    usable_cpus,
)
from fixreview.models import Fix
from fixreview.policy import Policy
from fixreview.repo.git import Repository
from fixreview.resultcache import ResultCache

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

WORKER_NICENESS = 10
"""How much lower than its parent's a worker's scheduling priority is (``nice``; the git
processes it starts inherit it): the checks are background work, and on a machine with few
cores the app's UI thread, and the fix the reviewer opens, go first. A spawned worker is
niced before it imports anything of fixreview (:func:`fixreview.jobs.start_background_worker`,
which also ends a worker whose parent is gone)."""
START_METHOD = "spawn"
"""How a worker starts when forking is not safe (:func:`start_method`): a fresh interpreter,
safe from a process with threads (unlike fork), and, unlike forkserver, it leaves no server
process behind once the pool is shut down."""

# The cost model, in "line units" (measured on the 1,000-fix benchmark repository, see
# docs/risk.md): checking a fix costs about 4 ms plus about 25 µs per changed line (added +
# removed) in-process, so a fix weighs its changed lines plus FIX_WEIGHT.
FIX_WEIGHT = 160
# Starting a spawned worker and importing what the checks need (the diff parser, the secret
# scan) takes 0.4-0.6 s of CPU (a forked one: see FORK_MIN_WEIGHT); a 2-worker pool checking 2
# small fixes took 1.0-1.5 s end to end against 0.01 s in-process (2-core benchmark machine
# shared with other work, 3 runs). Two workers halve the work W: the pool wins once
# W > 2 x start cost (2-3 s); POOL_MIN_WEIGHT asks for about 3 s of work (120,000 line units:
# e.g. 750 small fixes, or one 100,000-line fix), so small queues, and the app's
# after-a-decision batch of one fix, stay in-process.
POOL_MIN_WEIGHT = 120_000
FORK_MIN_WEIGHT = 30_000
"""The same threshold for forked workers, which start in a few milliseconds but still import
the checks' modules their parent has not imported (about 0.1-0.2 s): about 0.75 s of work."""
POOL_MIN_FIXES = 2
"""Never a pool for fewer misses than this: one fix cannot be split."""
CHUNKS_PER_WORKER = 4
"""Chunks of about equal weight per worker: the last chunks to finish are small, so both cores
stay busy to the end, and results come back several times per worker, not once."""
MAX_CHUNK_FIXES = 200
"""At most this many fixes per chunk (one prefetch each): results keep streaming back."""
BATCH_WEIGHT = 10_000
"""Checked in-process, the flags found are reported about this often (about 0.25 s of work)."""


@dataclass(frozen=True)
class Miss:
    """One fix to check: its place in the caller's list, and its cache key (None: no cache)."""

    index: int
    fix: Fix
    key: str | None


ComputeBody = Callable[[Repository, Fix, Policy], bytes]
"""Computes one fix's encoded flags; must be a module-level function (pickled by name)."""
KeyOf = Callable[[Repository, Fix], str]
"""Makes one fix's cache key, in a forked worker, for a fix sent without one."""


def pool_jobs(requested: int | None = None) -> int:
    """How many workers to use: ``FIXREVIEW_JOBS``, else the processor count; never more than
    REQUESTED (a caller asking for fewer) when given. 1 means no pool."""
    jobs = jobs_from_env(usable_cpus())
    if requested is not None:
        jobs = min(jobs, max(1, requested))
    return jobs


MAX_MAIN_BYTES = 1024 * 1024
"""A main script larger than this is not read: no pool (see :func:`main_safe_to_import`)."""


def main_safe_to_import() -> bool:
    """Whether a spawned worker may import this process's main module: a spawned (or
    forkserver) child runs the main script again, as ``__mp_main__``, before it does any work.
    Safe: no main file (``python -c``, an embedding), or ``python -m package`` (never run again),
    or a script whose top level only imports, defines, assigns literals and runs the rest
    under ``if __name__ == "__main__":`` (pip's console scripts, ``fixreview`` itself). Any
    other script — one that would check the queue, print or write again in every worker — gets
    no pool (the caller checks in-process, as a script without the guard expects)."""
    main = sys.modules.get("__main__")
    if main is None:
        return True
    spec_name = getattr(getattr(main, "__spec__", None), "name", None)
    if isinstance(spec_name, str):
        return spec_name == "__main__" or spec_name.endswith(".__main__")
    path = getattr(main, "__file__", None)
    if not isinstance(path, str):
        return True
    try:
        with open(path, "rb") as handle:
            source = handle.read(MAX_MAIN_BYTES + 1)
        if len(source) > MAX_MAIN_BYTES:
            return False
        tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return all(_inert(statement) for statement in tree.body)


_INERT_NODES = (
    ast.Assign,
    ast.AnnAssign,
    ast.Constant,
    ast.Name,
    ast.Attribute,
    ast.Tuple,
    ast.List,
    ast.expr_context,
)


def _inert(statement: ast.stmt) -> bool:
    """Whether STATEMENT at a module's top level does nothing but bind names when imported."""
    if isinstance(
        statement,
        ast.Import | ast.ImportFrom | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
    ):
        return True
    if isinstance(statement, ast.Expr):  # a docstring
        return isinstance(statement.value, ast.Constant)
    if isinstance(statement, ast.Assign | ast.AnnAssign):  # NAME = a literal or a name
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return all(isinstance(target, ast.Name) for target in targets) and all(
            isinstance(node, _INERT_NODES) for node in ast.walk(statement)
        )
    if isinstance(statement, ast.If):
        test = statement.test
        return (
            not statement.orelse
            and isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and test.left.id == "__name__"
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)
            and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__"
        )
    return False


def weight(fix: Fix) -> int:
    """What checking FIX costs, in line units: its changed lines plus a fixed part. The queue
    fills the line counts (``Fix.stats``) when it loads."""
    return max(0, fix.stats.added) + max(0, fix.stats.removed) + FIX_WEIGHT


def start_method() -> str:
    """How this process starts its workers: ``fork`` when it may (:func:`fixreview.jobs.may_fork`:
    the command line's ``list``, whose judging thread is started only once the workers are),
    so a worker begins with its parent's imports and memory; else :data:`START_METHOD` (the
    app, whose UI and workers are threads; other systems)."""
    return "fork" if may_fork() else START_METHOD


def worth_pool(misses: Sequence[Miss], jobs: int, method: str = START_METHOD) -> bool:
    """Whether checking MISSES with JOBS workers started by METHOD beats checking them here,
    start cost paid."""
    if jobs < 2 or len(misses) < POOL_MIN_FIXES:
        return False
    least = FORK_MIN_WEIGHT if method == "fork" else POOL_MIN_WEIGHT
    if sum(weight(miss.fix) for miss in misses) < least:
        return False
    return method == "fork" or main_safe_to_import()


def plan_chunks(misses: Sequence[Miss], jobs: int) -> list[list[Miss]]:
    """MISSES cut into chunks of about equal weight, heaviest first (the order to hand them
    out: the longest jobs start first, the small ones fill the gaps at the end). A fix heavier
    than a chunk's share is a chunk of its own; the others keep their order within a chunk."""
    if not misses:
        return []
    total = sum(weight(miss.fix) for miss in misses)
    target = max(1, total // max(1, jobs * CHUNKS_PER_WORKER))
    chunks: list[list[Miss]] = []
    current: list[Miss] = []
    current_weight = 0
    for miss in misses:
        heft = weight(miss.fix)
        if heft >= target:
            chunks.append([miss])
            continue
        current.append(miss)
        current_weight += heft
        if current_weight >= target or len(current) >= MAX_CHUNK_FIXES:
            chunks.append(current)
            current, current_weight = [], 0
    if current:
        chunks.append(current)
    chunks.sort(key=lambda chunk: sum(weight(miss.fix) for miss in chunk), reverse=True)
    return chunks


def batches_in_order(misses: Sequence[Miss], max_weight: int = BATCH_WEIGHT) -> list[list[Miss]]:
    """MISSES in their order, cut into batches of about MAX_WEIGHT (a fix heavier than that
    alone): what is checked in-process between two reports of the flags found."""
    batches: list[list[Miss]] = []
    current: list[Miss] = []
    current_weight = 0
    for miss in misses:
        current.append(miss)
        current_weight += weight(miss.fix)
        if current_weight >= max_weight:
            batches.append(current)
            current, current_weight = [], 0
    if current:
        batches.append(current)
    return batches


# -- in the worker ----------------------------------------------------------------------------


@dataclass
class _WorkerState:
    repo: Repository
    policy: Policy
    store: ResultCache
    compute: ComputeBody


_state: _WorkerState | None = None


def _start_worker(
    root: str, git_dir: str, policy: Policy, cache_kind: str, compute: ComputeBody
) -> None:
    """A worker's setup, once it runs at a lower priority (:data:`WORKER_NICENESS`, set by
    :func:`fixreview.jobs.start_background_worker` before this module is even imported) and
    watches its parent: the parent handles Ctrl-C (it stops the pool), so the worker ignores
    it; the repository is opened again here and must be the parent's (else the worker fails
    and the parent computes everything itself). What the worker holds by then (a forked one:
    its parent's whole memory) is frozen out of the cycle collector's passes
    (:func:`gc.freeze`): they then pass over what the checks allocate, not over the queue too."""
    global _state
    gc.freeze()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    repo = Repository.reopen(root, git_dir)
    if repo is None:
        raise RuntimeError(f"{root} is no longer the repository {git_dir}")
    store = ResultCache.under(repo.common_dir, cache_kind)
    _state = _WorkerState(repo, policy, store, compute)


Payload = tuple[int, Fix | None, str | None, str | None]
"""What a worker gets of one fix: its place, the fix (its suggestion's patch left out when
large, see :func:`lightened`; None for a forked worker, which has it already: see
:data:`_inherited`), its cache key, and that patch's SHA-256 when it was left out."""

_key_of: KeyOf | None = None
"""What makes the cache key of a fix sent without one, set with :data:`_inherited` (a caller
whose cache holds nothing yet has its forked workers make the keys, not all itself first)."""
_inherited: dict[int, Fix] = {}
"""The fixes a pool of forked workers checks, by place, set in the parent before the workers
are forked and emptied once they are gone: a forked worker finds each fix of its chunks here,
in the memory it was forked with, instead of unpickling it (a 1,000-fix queue pickled whole
was 16.7 MB, about 0.1 s of the parent's CPU as the pool starts and as much in the workers)."""


def _assess_chunk(chunk: list[Payload]) -> list[tuple[int, bytes]]:
    """The encoded flags of every fix of CHUNK that could be computed, each written into the
    result cache under its key; a fix whose computation raised, or whose patch left out is not
    exactly its final diff (:func:`restored`), is left out (the parent computes it)."""
    from fixreview.changes import prefetch

    state = _state
    if state is None:
        raise RuntimeError("the worker was not started")
    prefetch(state.repo, [fix for fix in (_of(payload) for payload in chunk) if fix is not None])
    done: list[tuple[int, bytes]] = []
    for index, sent, key, digest in chunk:
        try:
            if sent is None:
                fix = _inherited.get(index)
            else:
                fix = sent if digest is None else restored(state.repo, sent, digest)
            if fix is None:
                continue
            body = state.compute(state.repo, fix, state.policy)
            if key is None and _key_of is not None:
                key = _key_of(state.repo, fix)
        except Exception:  # the parent computes it again, where its errors are reported
            continue
        if key is not None:
            state.store.put(key, body)
        done.append((index, body))
    return done


def _of(payload: Payload) -> Fix | None:
    """The fix PAYLOAD stands for, as sent or as inherited (None: neither)."""
    index, sent, _, _ = payload
    return _inherited.get(index) if sent is None else sent


def payload_of(miss: Miss, inherited: bool) -> Payload:
    """What a worker is sent of MISS: its place and key only when the workers INHERITED the
    fixes (forked after :data:`_inherited` was set), else the fix itself, lightened."""
    if inherited:
        return (miss.index, None, miss.key, None)
    fix, digest = lightened(miss.fix)
    return (miss.index, fix, miss.key, digest)


PATCH_BY_HASH_OVER = 256 * 1024
"""A suggestion's patch longer than this (characters) is not sent to a worker: its SHA-256 is,
and the worker takes the fix's final diff for it when that diff is exactly the patch (an AI fix
nobody changed, the usual case for huge generated fixes). Pickling a 100,000-line fix's 9 MB
patch in the parent, as the pool starts, added 10-15 MB to the app's peak memory."""


def _patch_digest(patch: str) -> str:
    return hashlib.sha256(patch.encode("utf-8", "surrogatepass")).hexdigest()


def lightened(fix: Fix) -> tuple[Fix, str | None]:
    """FIX as sent to a worker: when its suggestion's patch is longer than
    :data:`PATCH_BY_HASH_OVER`, a copy without it and the patch's SHA-256; else FIX itself and
    None."""
    suggestion = fix.suggestion
    if suggestion is None or len(suggestion.patch) <= PATCH_BY_HASH_OVER:
        return fix, None
    bare = suggestion.model_copy(update={"patch": ""})
    return fix.model_copy(update={"suggestion": bare}), _patch_digest(suggestion.patch)


def restored(repo: Repository, sent: Fix, digest: str) -> Fix | None:
    """The fix a worker got without its suggestion's patch (:func:`lightened`), whose patch
    had the SHA-256 DIGEST, with that patch back: its final diff when that diff's text has
    exactly that hash; else None (the worker cannot know the patch: the parent checks it)."""
    from fixreview.changes import final_text

    suggestion = sent.suggestion
    if suggestion is None:
        return None
    text = final_text(repo, sent)
    if _patch_digest(text) != digest:
        return None
    return sent.model_copy(update={"suggestion": suggestion.model_copy(update={"patch": text})})


# -- in the parent ----------------------------------------------------------------------------


def assess_in_pool(
    repo: Repository,
    policy: Policy,
    misses: Sequence[Miss],
    jobs: int,
    compute: ComputeBody,
    cache_kind: str,
    deliver: Callable[[list[tuple[int, bytes]]], None],
    method: str = START_METHOD,
    started: Callable[[], None] | None = None,
    key_of: KeyOf | None = None,
) -> None:
    """Compute the encoded flags of MISSES in up to JOBS workers started by METHOD
    (:func:`start_method`) with COMPUTE, each worker writing its answers into the result cache
    of CACHE_KIND; DELIVER gets each chunk's answers, ``(index, body)``, in the calling thread
    as the chunk finishes. STARTED, when given, is called once the workers are started and
    every chunk handed out (forked workers are started before the pool's own threads: a
    caller that starts threads of its own does so in STARTED, never before), or once the pool
    could not start. KEY_OF, for forked workers only, makes the key of a miss sent without one
    (in the worker, after its check).

    Whatever goes wrong with the pool (it cannot start, a worker dies, an argument cannot be
    pickled) only means some misses are never delivered: the caller computes those itself.
    The pool is shut down, its workers gone, before this returns or raises; an exception from
    DELIVER or a KeyboardInterrupt stops the workers at once and is raised again."""
    # loaded only when a pool is used: a warm run never pays for them
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    chunks = plan_chunks(misses, jobs)
    if not chunks:
        if started is not None:
            started()
        return
    workers = max(1, min(jobs, len(chunks)))
    global _key_of
    inherited = method == "fork"
    if inherited:  # before the first submit, which forks every worker
        _inherited.update((miss.index, miss.fix) for miss in misses)
        _key_of = key_of
    try:
        _start_resource_tracker()
        # niced first: a spawned worker's imports are not at the caller's priority
        setup = (str(repo.root), str(repo.git_dir), policy, cache_kind, compute)
        niceness = lowered_niceness(WORKER_NICENESS)
        executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context(method),
            initializer=start_background_worker,
            initargs=(os.getpid(), niceness, pickle.dumps((_start_worker, setup))),
        )
    except Exception:  # no such start method, no semaphores in this sandbox, ...
        _forget_inherited()
        if started is not None:
            started()
        return
    finished = False
    try:
        pending: set[Future[list[tuple[int, bytes]]]] = set()
        for chunk in chunks:  # forked workers are started by the first submit
            payload = [payload_of(miss, inherited) for miss in chunk]
            try:
                pending.add(executor.submit(_assess_chunk, payload))
            except Exception:  # a worker could not be started, or the pool broke
                break
        if started is not None:
            started()
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    answers = future.result()
                except Exception:  # BrokenProcessPool, a pickling error, the chunk's prefetch
                    continue
                deliver(answers)
        finished = True
    finally:
        try:
            if finished:
                executor.shutdown(wait=True)
            else:
                _stop(executor)
        finally:
            _forget_inherited()


def _forget_inherited() -> None:
    global _key_of
    _inherited.clear()
    _key_of = None


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker (the pool's semaphores need it) with a usable
    standard error. In the app, Textual's capture of ``sys.stderr`` says its file descriptor
    is -1; the tracker passes that to the process it starts, which fails ("bad value(s) in
    fds_to_keep"), and no pool could ever start there: every check of a cold queue then ran
    in the app's own process, beside its UI thread. The interpreter's own standard error (the
    tracker's anyway: a started process keeps descriptor 2) stands in for the moment it takes.
    """
    from multiprocessing import resource_tracker

    try:
        usable = sys.stderr.fileno() >= 0
    except Exception:  # no descriptor at all: the tracker does without
        usable = True
    if usable:
        return
    captured = sys.stderr
    sys.stderr = sys.__stderr__
    try:
        resource_tracker.ensure_running()
    finally:
        sys.stderr = captured


def _stop(executor: ProcessPoolExecutor) -> None:
    """Cancel what has not started, end the workers now (not after their current chunk) and
    wait for them: no process is left behind. (The executor has no public way to end its
    workers before Python 3.14; without its process table, shutting down waits for the chunks
    being computed, which are bounded.)"""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for process in processes:
        if process.is_alive():
            process.terminate()
    executor.shutdown(wait=True, cancel_futures=True)
    for process in processes:
        process.join()
