"""Resolving the base: a branch ref, named without guessing, never a tag.

The base decides which policy and which allowed signers the gate trusts, so it must come from a
source the person pushing a fix cannot move, and a name must mean exactly one branch:

* a full ref name is accepted only under ``refs/heads/`` or ``refs/remotes/<remote>/``;
* ``main`` is ``refs/heads/main`` when that exists, else ``refs/remotes/<R>/main`` when exactly
  one configured remote has it (two remotes having it is ambiguous);
* ``origin/main`` is ``refs/remotes/origin/main`` or ``refs/heads/origin/main`` (both existing is
  ambiguous);
* tags never count, and neither does anything ``git rev-parse`` would find elsewhere.

Without ``--base`` the starting base is git's local configuration ``fixreview.base``, else the
remote's HEAD as ``git clone`` records it (``refs/remotes/origin/HEAD``); never the first name
that happens to exist; in a bare repository (a server, a CI mirror) HEAD, which names the default
branch and which no push can move. All refs and the configuration are read with two git processes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fixreview.errors import FixreviewError
from fixreview.repo.git import Repository
from fixreview.repo.refstate import LISTING_FORMAT, RefState
from fixreview.safetext import visible

BASE_CONFIG = "fixreview.base"
HEADS = "refs/heads/"
REMOTES = "refs/remotes/"
# fixreview's notes refs (fixreview.notes.store reads and writes them): named here, where a
# command can look them up before the record models are imported
PROPOSALS_REF = "refs/notes/fixreview/proposals"
DECISIONS_REF = "refs/notes/fixreview/decisions"
CHECKS_REF = "refs/notes/fixreview/checks"
_CONFIG_KEYS = r"^(fixreview\.base|remote\..*\.(url|fetch))$"


class BaseRefError(FixreviewError):
    """The base cannot be resolved to exactly one branch: a usage or environment error (2)."""


@dataclass(frozen=True)
class BaseRef:
    """A resolved base: its full ref, the branch name without the remote, and its commit."""

    ref: str
    commit: str
    branch: str

    @property
    def name(self) -> str:
        """``main`` for ``refs/heads/main``, ``origin/main`` for ``refs/remotes/origin/main``."""
        return short_name(self.ref)


def short_name(ref: str) -> str:
    """A branch ref without its ``refs/heads/`` or ``refs/remotes/`` prefix."""
    if ref.startswith(HEADS):
        return ref.removeprefix(HEADS)
    return ref.removeprefix(REMOTES)


NO_BRANCHES = "the repository has no branches yet (an empty repository has nothing to review)"


def _shown(name: str) -> str:
    return repr(visible(name, multiline=False))


class BranchRefs:
    """Every branch ref of a repository (``refs/heads``, ``refs/remotes``), its remotes and
    the ``fixreview.base`` setting, read once."""

    def __init__(self, repo: Repository) -> None:
        self.commits: dict[str, str] = {}  # full ref -> commit (refs to non-commits omitted)
        self.kinds: dict[str, str] = {}  # full ref -> object type
        self.symrefs: dict[str, str] = {}  # refs/remotes/R/HEAD -> the ref it points at
        self.listing: list[tuple[str, str, str]] = []  # (object id, type, ref), git's order
        pinned = repo.pinned
        if pinned is not None:  # the state a snapshot's key was made of (refstate.py)
            out = pinned.listing.decode("utf-8", "surrogateescape")
            config: bytes | None = None if pinned.config is None else _config_subset(pinned.config)
        else:
            out = repo.run("for-each-ref", f"--format={LISTING_FORMAT}", HEADS, REMOTES).decode(
                "utf-8", "surrogateescape"
            )
            proc = repo.try_run("config", "--null", "--get-regexp", _CONFIG_KEYS)
            config = proc.stdout if proc.returncode == 0 else None
        for line in out.split("\n"):  # not splitlines(): a ref name may hold U+0085 or U+2028
            head, _, symref = line.partition("\0")
            parts = head.split(" ", 2)
            if len(parts) != 3:
                continue
            oid, kind, ref = parts
            if not (ref.startswith(HEADS) or ref.startswith(REMOTES)):
                continue  # a pinned listing holds every ref
            self.listing.append((oid, kind, ref))
            self.kinds[ref] = kind
            if symref:
                self.symrefs[ref] = symref
            if kind == "commit":
                self.commits[ref] = oid
        self.remotes: tuple[str, ...] = ()
        self.configured: str | None = None
        remotes: list[str] = []
        if config is not None:
            for entry in config.decode("utf-8", "surrogateescape").split("\0"):
                key, _, value = entry.partition("\n")
                if key == BASE_CONFIG:
                    self.configured = value  # the last one wins, as with git config --get
                elif key.startswith("remote."):
                    name = key.removeprefix("remote.").rsplit(".", 1)[0]
                    if name and name not in remotes:
                        remotes.append(name)
        for ref in self.kinds:  # a remote-tracking namespace whose remote is no longer configured
            rest = ref.removeprefix(REMOTES)
            first, sep, _ = rest.partition("/")
            owned = any(rest.startswith(f"{r}/") for r in remotes)
            if ref.startswith(REMOTES) and sep and not owned:
                remotes.append(first)
        self.remotes = tuple(remotes)

    # -- resolving a name --------------------------------------------------------------------

    def _commit_of(self, ref: str) -> BaseRef:
        target = self.symrefs.get(ref, ref)
        if target != ref and not (target.startswith(HEADS) or target.startswith(REMOTES)):
            raise BaseRefError(f"base {_shown(ref)} points at {_shown(target)}, not a branch")
        commit = self.commits.get(target)
        if commit is None:
            kind = self.kinds.get(target)
            what = f"a {kind}" if kind else "missing"
            raise BaseRefError(f"base {_shown(target)} is {what}, not a commit")
        branch = short_name(target)
        remote = self._remote_of(branch) if target.startswith(REMOTES) else None
        if remote is not None:
            branch = branch.removeprefix(f"{remote}/")
        return BaseRef(ref=target, commit=commit, branch=branch)

    def _remote_of(self, name: str) -> str | None:
        """The remote whose tracking namespace NAME (``REMOTE/BRANCH``) is in (the longest
        remote name that fits, as remote names may hold ``/``), or None."""
        owners = [r for r in self.remotes if name.startswith(f"{r}/")]
        return max(owners, key=len) if owners else None

    def candidates(self, name: str) -> list[str]:
        """Every branch ref NAME could mean, in the order of the rules above."""
        if name.startswith("refs/"):
            if name.startswith(HEADS) or name.startswith(REMOTES):
                return [name] if name in self.kinds else []
            return []
        local = f"{HEADS}{name}"
        if "/" in name:
            found = [ref for ref in (local, f"{REMOTES}{name}") if ref in self.kinds]
            if found:
                return found
        if local in self.kinds:
            return [local]
        return [
            f"{REMOTES}{remote}/{name}"
            for remote in self.remotes
            if f"{REMOTES}{remote}/{name}" in self.kinds
        ]

    def resolve(self, name: str, where: str = "") -> BaseRef:
        """The one branch NAME means; BaseRefError when none or several (WHERE says who asked)."""
        what = f"base {_shown(name)}" + (f" (from {where})" if where else "")
        if not name or name.startswith("-") or "\n" in name or name == "HEAD":
            raise BaseRefError(f"{what} is not a branch name")
        if name.startswith("refs/") and not (name.startswith(HEADS) or name.startswith(REMOTES)):
            raise BaseRefError(
                f"{what} is not a branch: only refs/heads/… and refs/remotes/<remote>/… "
                "can be a base (tags never count)"
            )
        found = self.candidates(name)
        if not found:
            if not self.kinds:
                raise BaseRefError(f"{what} not found: {NO_BRANCHES}")
            raise BaseRefError(
                f"{what} not found: no such branch under refs/heads or refs/remotes "
                f"(tags never count){self._fetch_hint(name)}"
            )
        if len(found) > 1:
            names = ", ".join(visible(ref, multiline=False) for ref in found)
            raise BaseRefError(f"{what} is ambiguous: {names} (name one with --base REF)")
        return self._commit_of(found[0])

    def _fetch_hint(self, name: str) -> str:
        """How to fetch NAME into a clone that lacks it (a shallow or single-branch CI clone)."""
        if not self.remotes or name.startswith(HEADS):
            return ""
        rest = name.removeprefix(REMOTES)
        owner = self._remote_of(rest)
        remote = owner or self.remotes[0]
        branch = rest.removeprefix(f"{owner}/") if owner else rest
        spec = f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"
        return f"; to fetch it: git fetch {remote} {visible(repr(spec), multiline=False)}"

    def default(self, repo: Repository) -> BaseRef:
        """The base when none is named: ``fixreview.base``, else the remote's HEAD as
        ``git clone`` records it, else (in a bare repository, where HEAD names the default
        branch and a push cannot move it) HEAD."""
        if self.configured is not None:
            return self.resolve(self.configured, f"git config {BASE_CONFIG}")
        heads = sorted(
            ref for ref in self.symrefs if ref.startswith(REMOTES) and ref.endswith("/HEAD")
        )
        preferred = [ref for ref in heads if ref == f"{REMOTES}origin/HEAD"] or heads
        if len(preferred) == 1:
            return self._commit_of(preferred[0])
        if len(preferred) > 1:
            names = ", ".join(visible(ref, multiline=False) for ref in preferred)
            raise BaseRefError(
                f"no base given and several remote HEADs ({names}): "
                f"pass --base BRANCH (or: git config {BASE_CONFIG} main)"
            )
        if repo.workdir is None:
            code, target = bare_head(repo)
            if code == 0 and target in self.commits:
                return self._commit_of(target)
        if not self.kinds:
            raise BaseRefError(f"no base branch: {NO_BRANCHES}")
        raise BaseRefError(
            "no base branch given: pass --base BRANCH "
            f"(or: git config {BASE_CONFIG} main; a clone's origin/HEAD also names it)"
        )


def _config_subset(listing: bytes) -> bytes | None:
    """The entries of a ``git config --null --list`` output that ``git config --null
    --get-regexp`` of the base and remotes settings prints (None when there is none, as git's
    exit code 1 says)."""
    wanted = re.compile(_CONFIG_KEYS)
    kept = [
        entry
        for entry in listing.split(b"\0")
        if entry and wanted.match(entry.partition(b"\n")[0].decode("utf-8", "surrogateescape"))
    ]
    return b"".join(entry + b"\0" for entry in kept) if kept else None


def bare_head(repo: Repository) -> tuple[int, str]:
    """``git symbolic-ref -q HEAD`` of a bare repository: its exit code and the ref it names
    (from the pinned state, when there is one)."""
    pinned = repo.pinned
    if pinned is not None and pinned.bare_head is not None:
        code, _, out = pinned.bare_head.partition(b" ")
        return int(code), out.decode("utf-8", "surrogateescape").strip()
    proc = repo.try_run("symbolic-ref", "-q", "HEAD")
    return proc.returncode, proc.stdout.decode("utf-8", "surrogateescape").strip()


def read_ref_state(repo: Repository) -> RefState:
    """Every ref and the configuration of REPO, now (two git processes; three in a bare
    repository)."""
    listing = repo.run("for-each-ref", f"--format={LISTING_FORMAT}")
    proc = repo.try_run("config", "--null", "--list")
    config = proc.stdout if proc.returncode == 0 else None
    head = None
    if repo.workdir is None:
        symbolic = repo.try_run("symbolic-ref", "-q", "HEAD")
        head = b"%d " % symbolic.returncode + symbolic.stdout
    return RefState.parse(listing, config, head)
