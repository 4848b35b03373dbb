"""Automated risk checks on a fix branch: flags with stable ids, levels and evidence.

``assess`` is pure (diffs, policy and facts read from the trees in, flags out); ``assess_fix``
computes the three diffs of a fix with :mod:`fixreview.changes` and reads the trees
(:func:`fixreview.risk.tree.tree_facts`) first. The flag ids, their default levels and the policy
keys are described in docs/risk.md.

``assess_fix`` and ``assess_fixes`` keep their answers in the repository's result cache
(:mod:`fixreview.resultcache`, kind ``risk-flags``), keyed by everything the checks read
(:func:`risk_key`), so a fix whose inputs did not change is never diffed or scanned again; the
key is computed without any diff.

Each flag is declared once, in :mod:`fixreview.flag_registry`, a leaf module outside this
package: the policy validates ``[risk.levels]`` against it, and importing anything under
``fixreview.risk`` runs this module, which imports the policy (the checks themselves load on
first use). Keeping the declarations out of here keeps the imports one-way (registry, policy,
risk, gate).
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from fixreview.flag_registry import LEVEL_ORDER
from fixreview.models import Fix
from fixreview.policy import Policy
from fixreview.repo.git import Repository
from fixreview.resultcache import (
    ResultCache,
    cache_key,
    code_digest,
    history_files,
    json_body,
    library_identity,
    program_identity,
)
from fixreview.risk.flags import (
    BLOCKING,
    FLAG_IDS,
    Evidence,
    FlagId,
    Level,
    RiskFlag,
    flag_json,
    known_flag_ids,
)

if TYPE_CHECKING:
    from fixreview.progress import Progress
    from fixreview.repo.diffs import Diff
    from fixreview.risk.checks import assess
    from fixreview.risk.tree import TreeFacts, tree_facts


def __getattr__(name: str) -> Any:
    """The checks themselves (and the diff parser, the secret scan and the dependency parsers
    they import) load on first use: a command whose flags all come from the cache never
    imports them."""
    if name == "assess":
        from fixreview.risk.checks import assess

        return assess
    if name in ("TreeFacts", "tree_facts"):
        from fixreview.risk import tree

        return getattr(tree, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BLOCKING",
    "FLAG_IDS",
    "RISK_CHECKS_VERSION",
    "Evidence",
    "FlagId",
    "Level",
    "RiskFlag",
    "TreeFacts",
    "assess",
    "assess_fix",
    "assess_fixes",
    "flag_json",
    "flags_from_json",
    "known_flag_ids",
    "risk_key",
    "tree_facts",
]

# BUMP THIS whenever a risk check, a flag's text or level rule, or anything `assess_fix` reads
# changes (a new input must also join `risk_key`): cached flags of the old code are then never
# used. (The sources of the risk checks are also hashed into every key, below, as a safety net
# for a forgotten bump; this constant stays the documented rule: docs/development.md.)
RISK_CHECKS_VERSION = "5"
CACHE_KIND = "risk-flags"
STAGE_RISK = "checking risk flags"
"""What :func:`assess_fixes` tells its progress callback (fixreview/progress.py)."""

# The code whose behaviour the cached flags depend on, relative to the fixreview package.
_SOURCES = (
    "risk",
    "changes.py",
    "flag_registry.py",
    "policy.py",
    "default_policy.toml",
    "models.py",
    "safetext.py",
    "repo/diffs.py",
    "repo/git.py",
)
# Libraries the checks call (the secret scan, version parsing, the tokens of out-of-scope's
# code structure): a different install, new key.
_LIBRARIES = ("detect_secrets", "packaging", "tomli", "pygments")


@cache
def _environment() -> str:
    """What besides the inputs decides the flags: the checks' own code, the libraries they
    call, the git that computes the diffs, Python's Unicode tables. Read once per process."""
    return "\n".join(
        [
            f"sources {code_digest(_SOURCES)}",
            *map(library_identity, _LIBRARIES),
            f"git {program_identity('git')}",
            f"python {sys.version} unicode {unicodedata.unidata_version}",
        ]
    )


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(",", ":"))


def _needs_presence(fix: Fix) -> bool:
    suggestion = fix.suggestion
    return suggestion is not None and suggestion.commit != fix.branch.head


def _presence(repo: Repository, fixes: Iterable[Fix]) -> dict[str, str]:
    """For each suggestion commit the diffs would look up: what it resolves to as a commit
    here, or ``missing`` (one ``cat-file --batch-check`` for all)."""
    wanted = list(
        dict.fromkeys(
            f"{fix.suggestion.commit}^{{commit}}"
            for fix in fixes
            if fix.suggestion is not None and _needs_presence(fix)
        )
    )
    if not wanted:
        return {}
    out = repo.run("cat-file", "--batch-check", input="".join(f"{w}\n" for w in wanted).encode())
    lines = out.decode("utf-8", "replace").split("\n")
    found: dict[str, str] = {}
    for spec, line in zip(wanted, lines, strict=False):
        parts = line.split(" ")
        resolved = parts[0] if len(parts) == 3 and parts[1] == "commit" else "missing"
        found[spec.removesuffix("^{commit}")] = resolved
    return found


def _fix_facts(fix: Fix) -> str:
    """Everything of FIX the checks and the diffs may read, canonical: the branch's commits
    (head, merge-base, base tip: their ids fix their trees), every commit of the fix with its
    trailers, the finding, the suggestion (its frozen patch by hash) and the CI checks at the
    head as the gate judged them (``checks``, read by checks-not-passed). Left out: the review
    status, the diff stats and the queue's problems, which no check reads."""
    # the patch is left out of the dump (no copy of a megabyte patch) and named by its hash
    data = fix.model_dump(
        mode="json",
        by_alias=True,
        exclude={
            "branch": {"status"},
            "stats": True,
            "problems": True,
            "suggestion": {"patch"},
        },
    )
    suggestion = data.get("suggestion")
    if isinstance(suggestion, dict) and fix.suggestion is not None:
        patch = fix.suggestion.patch.encode("utf-8", "surrogatepass")
        suggestion["patch"] = f"sha256:{hashlib.sha256(patch).hexdigest()}:{len(patch)}"
    return _canonical(data)


def risk_key(
    repo: Repository,
    fix: Fix,
    policy: Policy,
    presence: str | None,
    shared: tuple[str, bytes] | None = None,
) -> str:
    """The cache key of FIX's flags under POLICY: every input of :func:`assess_fix`.

    PRESENCE is what the suggestion commit resolves to in this repository (``missing``), None
    when the diffs never look it up. No diff is computed: the commit ids in the fix name their
    trees, and the frozen patch is hashed. SHARED: :func:`_shared` of REPO and POLICY, when
    the caller keys many fixes.
    """
    policy_text, history = shared or _shared(repo, policy)
    return cache_key(
        CACHE_KIND,
        RISK_CHECKS_VERSION,
        _environment(),
        policy_text,
        _fix_facts(fix),
        presence,
        history,
    )


def _shared(repo: Repository, policy: Policy) -> tuple[str, bytes]:
    """The key fields every fix of a repository shares under POLICY (read once for many)."""
    return _canonical(policy.model_dump(mode="json", by_alias=True)), history_files(repo.common_dir)


def flags_body(flags: Sequence[RiskFlag]) -> bytes:
    return _canonical([flag_json(flag) for flag in flags]).encode("ascii")


def flags_from_json(body: bytes) -> list[RiskFlag] | None:
    """Flags read back from :func:`flags_body`, exactly; None when BODY is not such a list."""
    data = json_body(body)
    if not isinstance(data, list):
        return None
    flags: list[RiskFlag] = []
    for item in data:
        flag = _flag(item)
        if flag is None:
            return None
        flags.append(flag)
    return flags


def _flag(item: object) -> RiskFlag | None:
    if not isinstance(item, dict) or set(item) != {"id", "level", "title", "detail", "evidence"}:
        return None
    flag_id, level, title, detail = item["id"], item["level"], item["title"], item["detail"]
    if flag_id not in FLAG_IDS or level not in LEVEL_ORDER:
        return None
    if not isinstance(title, str) or not isinstance(detail, str):
        return None
    evidence = item["evidence"]
    if not isinstance(evidence, list):
        return None
    items: list[Evidence] = []
    for entry in evidence:
        if not isinstance(entry, dict) or set(entry) != {"path", "line", "excerpt"}:
            return None
        path, line, excerpt = entry["path"], entry["line"], entry["excerpt"]
        if not (path is None or isinstance(path, str)) or not isinstance(excerpt, str):
            return None
        if not (line is None or (isinstance(line, int) and not isinstance(line, bool))):
            return None
        items.append(Evidence(path, line, excerpt))
    return RiskFlag(FlagId(flag_id), level, title, detail, tuple(items))


def _compute(
    repo: Repository,
    fix: Fix,
    policy: Policy,
    diffs: tuple[Diff, Diff | None, Diff | None] | None,
) -> list[RiskFlag]:
    from fixreview.changes import final_diff, human_changes, suggestion_diff
    from fixreview.risk.checks import assess
    from fixreview.risk.tree import tree_facts

    if diffs is None:
        final = final_diff(repo, fix)
        diffs = (final, suggestion_diff(repo, fix, final), human_changes(repo, fix).diff)
    final, suggestion, human = diffs
    risk = policy.risk
    facts = tree_facts(repo, fix, final, risk.ci_paths, risk.dependency_paths)
    return assess(fix, final, suggestion, human, policy, facts)


def _key_of(
    repo: Repository,
    fix: Fix,
    policy: Policy,
    presence: dict[str, str],
    shared: tuple[str, bytes] | None = None,
) -> str:
    """FIX's cache key (:func:`risk_key`), PRESENCE read from :func:`_presence` of the queue."""
    looked_up = presence.get(fix.suggestion.commit) if fix.suggestion is not None else None
    return risk_key(repo, fix, policy, looked_up if _needs_presence(fix) else None, shared)


def _lookup(
    repo: Repository,
    store: ResultCache,
    fix: Fix,
    policy: Policy,
    presence: dict[str, str],
    shared: tuple[str, bytes] | None = None,
) -> tuple[str, list[RiskFlag] | None]:
    """FIX's cache key, and its flags when the cache holds a sound entry for it."""
    key = _key_of(repo, fix, policy, presence, shared)
    body = store.get(key)
    return key, flags_from_json(body) if body is not None else None


def assess_fix(
    repo: Repository,
    fix: Fix,
    policy: Policy,
    diffs: tuple[Diff, Diff | None, Diff | None] | None = None,
) -> list[RiskFlag]:
    """The risk flags of FIX: from the cache when its inputs were assessed before, else its
    trees read, then assessed. DIFFS, the final, suggestion and human diffs when the caller
    has them already, are not computed again."""
    store = ResultCache.under(repo.common_dir, CACHE_KIND)
    if not store.enabled:
        return _compute(repo, fix, policy, diffs)
    key, flags = _lookup(repo, store, fix, policy, _presence(repo, [fix]))
    if flags is None:
        flags = _compute(repo, fix, policy, diffs)
        store.put(key, flags_body(flags))
    return flags


def _compute_body(repo: Repository, fix: Fix, policy: Policy) -> bytes:
    """FIX's flags computed and encoded (:func:`flags_body`): what a worker of
    :mod:`fixreview.risk.pool` runs, pickled by name."""
    return flags_body(_compute(repo, fix, policy, None))


LOOKUPS_BETWEEN_PAUSES = 64
"""Cache lookups (a key each: about 0.1 ms) made by :func:`assess_fixes` between two calls of
its PAUSE."""


def assess_fixes(
    repo: Repository,
    fixes: Sequence[Fix],
    policy: Policy,
    jobs: int | None = None,
    on_flags: Callable[[dict[str, list[RiskFlag]]], None] | None = None,
    progress: Progress | None = None,
    started: Callable[[], None] | None = None,
    pause: Callable[[], None] | None = None,
) -> dict[str, list[RiskFlag]]:
    """The risk flags of every fix, by branch name: the keys resolved with at most one git
    process, only the fixes missing from the cache assessed, their diffs computed together
    (:func:`fixreview.changes.prefetch`).

    When the misses are many or large enough to pay for starting processes
    (:func:`fixreview.risk.pool.worth_pool`), they are checked in worker processes, at most
    JOBS of them (default and upper bound: ``FIXREVIEW_JOBS``, else the processor count; 1:
    never a pool); else, or for whatever the pool did not finish, here. ON_FLAGS, when given,
    is called in the calling thread with the flags found so far: the cache hits first, in one
    call, then each batch of fixes as it is checked. PROGRESS, when given, is told how many
    fixes have their flags (:data:`STAGE_RISK`), as they come. STARTED, when given, is called
    once, in the calling thread, as soon as the workers are at work (or when none are used,
    before any fix is checked here): a caller starts its own threads there, not before, so that
    the workers can be forked (:func:`fixreview.risk.pool.start_method`). PAUSE, when given, is
    called in the calling thread before each step that uses this process (the cache read,
    starting the pool, each report of flags found, each fix checked here) and returns when the
    work may go on: the app's background checks wait there while the reviewer opens a fix."""
    from fixreview.risk import pool

    def turn() -> None:
        if pause is not None:
            pause()

    total = len(fixes)
    store = ResultCache.under(repo.common_dir, CACHE_KIND)
    found: dict[str, list[RiskFlag]] = {}
    misses: list[pool.Miss] = []
    method = pool.start_method()
    key_of: pool.KeyOf | None = None
    turn()
    if store.enabled and method == "fork" and store.holds_nothing():
        # nothing was ever stored: every lookup would miss. The keys are made where each fix
        # is checked (in the forked workers, which have the fixes), not all here first
        key_of = functools.partial(
            _key_of, policy=policy, presence=_presence(repo, fixes), shared=_shared(repo, policy)
        )
        misses = [pool.Miss(index, fix, None) for index, fix in enumerate(fixes)]
    elif store.enabled:
        presence = _presence(repo, fixes)
        shared = _shared(repo, policy)
        for index, fix in enumerate(fixes):
            if index % LOOKUPS_BETWEEN_PAUSES == LOOKUPS_BETWEEN_PAUSES - 1:
                turn()
            key, flags = _lookup(repo, store, fix, policy, presence, shared)
            if flags is None:
                misses.append(pool.Miss(index, fix, key))
            else:
                found[fix.branch.name] = flags
    else:
        misses = [pool.Miss(index, fix, None) for index, fix in enumerate(fixes)]
    if progress is not None:
        progress(STAGE_RISK, len(found), total)
    if found and on_flags is not None:
        turn()
        on_flags(dict(found))
    done: set[int] = set()

    def report(batch: dict[str, list[RiskFlag]]) -> None:
        turn()
        found.update(batch)
        if batch and progress is not None:
            progress(STAGE_RISK, len(found), total)
        if batch and on_flags is not None:
            on_flags(batch)

    def deliver(answers: list[tuple[int, bytes]]) -> None:
        batch: dict[str, list[RiskFlag]] = {}
        for index, body in answers:
            flags = flags_from_json(body)
            if flags is None:  # cannot happen (flags_body output); computed here instead
                continue
            done.add(index)
            batch[fixes[index].branch.name] = flags
        report(batch)

    begun = False

    def begin() -> None:
        nonlocal begun
        if not begun:
            begun = True
            if started is not None:
                started()

    workers = pool.pool_jobs(jobs)
    if pool.worth_pool(misses, workers, method):
        turn()
        pool.assess_in_pool(
            repo, policy, misses, workers, _compute_body, CACHE_KIND, deliver, method, begin,
            key_of=key_of,
        )  # fmt: skip
    begin()
    rest = [miss for miss in misses if miss.index not in done]
    if rest:
        from fixreview.changes import prefetch

        turn()
        prefetch(repo, [miss.fix for miss in rest])
    for chunk in pool.batches_in_order(rest) if on_flags is not None else [rest]:
        batch = {}
        for miss in chunk:
            turn()
            flags = _compute(repo, miss.fix, policy, None)
            made = miss.key if key_of is None else key_of(repo, miss.fix)
            if made is not None:
                store.put(made, flags_body(flags))
            batch[miss.fix.branch.name] = flags
            if progress is not None:
                progress(STAGE_RISK, len(found) + len(batch), total)
        report(batch)
    return {fix.branch.name: found[fix.branch.name] for fix in fixes}
