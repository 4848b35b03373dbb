"""Which branches are fix branches: the base's policy's patterns over the branch refs.

The queue (:func:`fixreview.queue.list_fix_branches`) and the app's provisional first frame
(:func:`listed_fix_branches`) both list fix branches with :func:`fix_branch_refs`, so the two
can never disagree on a name. The app's first frame is drawn before the models are imported:
:func:`fix_patterns` reads the policy's ``fix_branches`` from the base exactly as
:func:`fixreview.policy.load_policy` resolves it (the same base, the same ``base`` key followed),
with the TOML parser alone. When what it reads is not what the strict policy model would accept
for those two keys, it says so (None) rather than guess: a caller then lists nothing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from fixreview.documents import load_toml
from fixreview.repo.git import Repository
from fixreview.repo.refs import HEADS, REMOTES, BaseRef, BranchRefs

POLICY_PATH = ".fixreview.toml"
DEFAULT_POLICY_FILE = "default_policy.toml"


@functools.lru_cache(maxsize=1024)
def simple_glob(pattern: str) -> re.Pattern[str]:
    """A glob where only ``*`` (anything, ``/`` included) and ``?`` are wildcards: brackets are
    literal, so ``*[bot]`` means a name ending in "[bot]", not in b, o or t."""
    body = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL)


def matches_any(value: str, patterns: Sequence[str]) -> bool:
    return any(simple_glob(pattern).match(value) for pattern in patterns)


@dataclass(frozen=True)
class BranchRef:
    """A fix branch: its name (without ``refs/heads/`` or the remote), full ref and head."""

    name: str
    ref: str
    head: str


def fix_branch_refs(
    listing: Iterable[tuple[str, str, str]],
    base_ref: str,
    base_branch: str,
    patterns: Sequence[str],
    points_at: str | None = None,
    *,
    shadowed: bool = False,
) -> list[BranchRef]:
    """The fix branches of LISTING (``BranchRefs.listing``: object id, type, ref): the branches
    whose name matches one of PATTERNS, the base (BASE_REF, or any branch named BASE_BRANCH)
    left out; only those whose head is POINTS_AT, when given.

    A local branch wins over a remote-tracking branch of the same name, unless SHADOWED: then
    both are listed (the local one first), for a reviewer who names ``REMOTE/NAME``.
    """
    found: dict[str, BranchRef] = {}
    for oid, kind, ref in listing:
        if points_at is not None and oid != points_at:
            continue
        if kind != "commit":
            continue
        if ref.startswith(HEADS):
            name, local = ref.removeprefix(HEADS), True
        else:
            remote_name = ref.removeprefix(REMOTES)
            if "/" not in remote_name:
                continue
            name, local = remote_name.split("/", 1)[1], False
            if name == "HEAD":
                continue
        if ref == base_ref or name == base_branch:
            continue
        if not matches_any(name, patterns):  # each pattern compiled once per process
            continue
        key = ref if shadowed else name
        if local or key not in found:
            found[key] = BranchRef(name=name, ref=ref, head=oid)
    # refs/heads/… sorts before refs/remotes/…: a local branch comes first
    return sorted(found.values(), key=lambda b: (b.name, b.ref))


@dataclass(frozen=True)
class FixPatterns:
    """The base a policy was read from and the fix branch patterns it names."""

    refs: BranchRefs
    base: BaseRef
    patterns: tuple[str, ...]


def _policy_table(repo: Repository, base: BaseRef) -> dict[str, Any] | None:
    """The policy file on BASE as a TOML table; None when there is none. InputError when it is
    not TOML (as the policy's reader says)."""
    data = repo.read_blob_at(base.commit, POLICY_PATH)
    if data is None:
        return None
    return load_toml(data, f"{POLICY_PATH} on {base.name}")


def _strings(value: object) -> tuple[str, ...] | None:
    """VALUE when it is a list of strings (what the strict model accepts), else None."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return None
    return tuple(value)


@functools.cache
def default_fix_patterns() -> tuple[str, ...]:
    """``fix_branches`` of the bundled default policy (fixreview/default_policy.toml)."""
    data = files("fixreview").joinpath(DEFAULT_POLICY_FILE).read_bytes()
    patterns = _strings(load_toml(data, f"fixreview/{DEFAULT_POLICY_FILE}").get("fix_branches"))
    if patterns is None:
        raise RuntimeError(f"fixreview/{DEFAULT_POLICY_FILE} sets no fix_branches list")
    return patterns


def fix_patterns(repo: Repository, base: str | None = None) -> FixPatterns | None:
    """The base :func:`fixreview.policy.load_policy` reads the policy from for BASE, and the
    ``fix_branches`` patterns of that policy, read without validating the rest of it.

    BaseRefError when the base cannot be resolved and InputError when the file is not TOML, as
    ``load_policy`` raises them; None when ``base`` or ``fix_branches`` is not of the type the
    strict policy model accepts (``load_policy`` would refuse the file: no pattern is known).
    Any other key ``load_policy`` would refuse is not looked at: a caller shows what this finds
    as provisional only, until ``load_policy`` has read the policy.
    """
    refs = BranchRefs(repo)
    start = refs.resolve(base, "--base") if base is not None else refs.default(repo)
    at, table = start, _policy_table(repo, start)
    if base is None and table is not None and "base" in table:
        named = table["base"]
        if not isinstance(named, str):
            return None
        if named not in (start.name, start.ref, start.branch):
            target = refs.resolve(named, f"the base key of {POLICY_PATH} on {start.name}")
            if target.ref != start.ref:
                at, table = target, _policy_table(repo, target)
    if table is None or "fix_branches" not in table:
        return FixPatterns(refs, at, default_fix_patterns())
    patterns = _strings(table["fix_branches"])
    return FixPatterns(refs, at, patterns) if patterns is not None else None


@dataclass(frozen=True)
class Listed:
    """The fix branches a queue read for some branch patterns would hold, and how many more
    fix branches those patterns leave out."""

    branches: list[BranchRef]
    hidden: int


def listed_fix_branches(
    repo: Repository, base: str | None, only: Sequence[str] = ()
) -> Listed | None:
    """The fix branches of REPO under the base's policy (as :func:`fixreview.queue.load_queue`
    lists them: with ONLY, those matching one of its patterns), read without the models; None
    when the policy's patterns cannot be known so (see :func:`fix_patterns`). BaseRefError or
    InputError as ``load_policy`` raises them."""
    found = fix_patterns(repo, base)
    if found is None:
        return None
    every = fix_branch_refs(found.refs.listing, found.base.ref, found.base.branch, found.patterns)
    return narrowed(every, only)


def narrowed(every: list[BranchRef], only: Sequence[str]) -> Listed:
    """The fix branches EVERY narrowed to those matching one of the reviewer's patterns ONLY
    (all of them without any), and how many that leaves out."""
    branches = [b for b in every if matches_any(b.name, only)] if only else every
    return Listed(branches, len(every) - len(branches))
