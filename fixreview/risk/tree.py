"""What the risk checks read from the repository besides the diffs, gathered before they run.

A CI definition can run files that no CI path pattern names: a workflow's local action
(``uses: ./ci/deploy``), a GitLab include (``include: local: ci/build.yml``), an Azure Pipelines
template (``template: pipelines/build.yml``), the scripts beside an ``action.yml``. So
:func:`tree_facts` reads the CI entry points of the fix's head, its merge-base and its base
branch's tip, follows those references (a few levels deep, a bounded number of them) and
returns every file or directory they reach, with why; it also reads ``.gitmodules`` on both
sides of the final diff, for the submodule evidence of ``dependency-change``, and every
dependency manifest or lockfile the final diff changes, whole, at the merge-base and at the
head (:class:`ManifestSides`), for ``dependency-change`` to parse; and, for ``out-of-scope``,
the code files the finding names and the fix changes (in a language
:func:`~fixreview.risk.code_scope.understands`), at the merge-base: at most
:data:`MAX_CODE_FILES` of them, none larger than :data:`~fixreview.risk.bounds.MAX_FILE_BYTES`.

The manifests' sizes are asked first (one ``cat-file --batch-check``); those within
:data:`~fixreview.risk.bounds.MAX_MANIFEST_BYTES` each and
:data:`~fixreview.risk.bounds.MAX_MANIFEST_TOTAL` together are read with the CI files' first
round, the others are named as not read (an attacker can push a 500 MB lockfile).

Everything is read with :meth:`~fixreview.repo.git.Repository.read_objects` (one
``cat-file --batch`` per round). YAML is read line by line, not parsed (no YAML parser is a
dependency, and a YAML parser's aliases are an attack surface of their own): only the values
of ``uses:``, ``include:``/``local:`` and ``template:`` keys, each line cut to
:data:`~fixreview.risk.bounds.MAX_LINE` characters and each file to
:data:`~fixreview.risk.bounds.MAX_FILE_BYTES` bytes.
"""

from __future__ import annotations

import posixpath
import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from fixreview.models import Fix
from fixreview.repo.diffs import Diff, FileDiff
from fixreview.repo.git import Repository
from fixreview.risk.bounds import MAX_FILE_BYTES, MAX_MANIFEST_BYTES, MAX_MANIFEST_TOTAL, cut
from fixreview.risk.code_scope import understands
from fixreview.risk.deps import parser_for
from fixreview.risk.paths import file_paths, first_match, glob_match, match_file, normalize

MAX_ROUNDS = 5
"""How many times references are followed (a workflow, its action, that action's action…)."""
MAX_REFERENCES = 400
"""The most CI references kept; more are ignored."""
MAX_ANCESTOR_SPECS = 4000
"""The most ``action.yml`` look-ups beside changed files."""

ACTION_FILES = ("action.yml", "action.yaml")
WORKFLOWS = ".github/workflows"
ROOT_ENTRIES = (".gitlab-ci.yml", "azure-pipelines.yml", "azure-pipelines.yaml")

_USES = re.compile(r"""(?:^|[\s{,\-])uses\s*:\s*["']?(\./[^\s"'#,}]*)""")
_TEMPLATE = re.compile(r"""(?:^|[\s{,\-])template\s*:\s*["']?([^\s"'#,}]+)""")
_INCLUDE = re.compile(r"^(\s*)include\s*:\s*(.*)$")
_KEY = re.compile(r"""^([A-Za-z_]+)\s*:\s*(.*)$""")
_QUOTED_OR_WORD = re.compile(r"""["']([^"']*)["']|([^\s,\[\]{}"']+)""")
_LOCAL_IN_FLOW = re.compile(r"""local\s*:\s*["']?([^\s"',}]+)""")


@dataclass(frozen=True)
class CiReference:
    """A file or directory that CI runs, reached from a CI definition; WHY says how."""

    path: str
    directory: bool
    why: str

    def covers(self, path: str) -> bool:
        clean = normalize(path)
        if self.directory:
            lower, mine = clean.lower(), self.path.lower()
            return lower == mine or lower.startswith(mine + "/")
        if any(char in self.path for char in "*?["):
            return glob_match(self.path, clean)
        return clean.lower() == self.path.lower()


@dataclass(frozen=True)
class ManifestSides:
    """A dependency file of the final diff, read whole: its text at the merge-base (OLD) and at
    the head (NEW), None on a side where it does not exist. UNREAD says why it was not read
    (too large), and then both texts are None."""

    path: str
    old: str | None = None
    new: str | None = None
    unread: str | None = None


@dataclass(frozen=True)
class TreeFacts:
    """What the checks read from the trees: CI references, ``.gitmodules`` on both sides, and
    the dependency files of the final diff on both sides."""

    ci_references: tuple[CiReference, ...] = ()
    gitmodules_old: str | None = None
    gitmodules_new: str | None = None
    manifests: tuple[ManifestSides, ...] = ()
    # the code files the finding names and the fix changes, at the merge-base: (path, text)
    code_bases: tuple[tuple[str, str], ...] = ()

    def code_base(self, path: str) -> str | None:
        """PATH's text at the merge-base, when it is a code file the finding names."""
        return next((text for known, text in self.code_bases if known == path), None)

    def ci_reason(self, path: str) -> str | None:
        """Why PATH is CI by reference, or None."""
        return next((ref.why for ref in self.ci_references if ref.covers(path)), None)

    def manifest(self, path: str) -> ManifestSides | None:
        """The dependency file at PATH (its new name) as read from the trees, or None."""
        return next((sides for sides in self.manifests if sides.path == path), None)


NO_TREE_FACTS = TreeFacts()


# -- line-based readers ----------------------------------------------------------------------


def _lines(text: str) -> Iterable[str]:
    for line in text.splitlines():
        yield cut(line)


def _strip_comment(value: str) -> str:
    at = value.find(" #")
    return (value[:at] if at >= 0 else value).strip()


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _local(value: str) -> str | None:
    """VALUE as a repository path, or None for a URL, a variable or nothing."""
    value = _unquote(value)
    if not value or "://" in value or "$" in value or value.startswith(("{", "[")):
        return None
    path = posixpath.normpath(value.lstrip("/"))
    if path in (".", "") or path.startswith("../"):
        return None
    return path


def local_actions(text: str) -> list[str]:
    """The ``uses: ./path`` values of a workflow or action, as repository paths."""
    found = []
    for line in _lines(text):
        if "uses" not in line:
            continue
        for match in _USES.finditer(line):
            path = _local(match.group(1))
            if path:
                found.append(path)
    return found


def _flow_values(value: str) -> list[str]:
    """The local paths of an inline include value: a string, ``[a, b]`` or ``{local: a}``."""
    if value.startswith("{"):
        return [m.group(1) for m in _LOCAL_IN_FLOW.finditer(value)]
    if value.startswith("["):
        out: list[str] = []
        for item in re.split(r",(?![^{]*\})", value.strip("[]")):
            item = item.strip()
            if item.startswith("{"):
                out.extend(m.group(1) for m in _LOCAL_IN_FLOW.finditer(item))
            elif item:
                out.append(_unquote(item))
        return out
    return [_unquote(value)]


def gitlab_includes(text: str) -> list[str]:
    """The local files a GitLab CI file includes (``local:`` entries and plain strings)."""
    found: list[str] = []
    block: int | None = None  # indent of the include: key while inside its block
    item_indent: int | None = None
    for line in _lines(text):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        if block is not None and (
            indent < block or (indent == block and not stripped.startswith("-"))
        ):
            block = item_indent = None
        if block is None:
            match = _INCLUDE.match(line)
            if match:
                value = _strip_comment(match.group(2))
                if value:
                    found.extend(_flow_values(value))
                else:
                    block, item_indent = len(match.group(1)), None
            continue
        is_item = stripped.startswith("-")
        body = _strip_comment(stripped[1:] if is_item else stripped)
        if is_item and item_indent is None:
            item_indent = indent
        key = _KEY.match(body)
        if key:
            if key.group(1) == "local":
                found.append(key.group(2))
        elif is_item and indent == item_indent and body:
            found.extend(_flow_values(body))
    return [path for path in map(_local, found) if path]


def templates(text: str, source: str) -> list[str]:
    """The local ``template:`` files an Azure Pipelines file uses, relative to SOURCE."""
    found = []
    for line in _lines(text):
        if "template" not in line:
            continue
        for match in _TEMPLATE.finditer(line):
            value, _, repository = match.group(1).partition("@")
            if repository and repository != "self":
                continue  # a template of another repository
            if value.startswith("/"):
                path = _local(value)
            else:
                path = _local(posixpath.join(posixpath.dirname(source), value))
            if path:
                found.append(path)
    return found


def tree_entries(data: bytes, oid_bytes: int) -> list[tuple[str, str]]:
    """(mode, name) of each entry of a raw tree object (as ``cat-file --batch`` prints it)."""
    entries = []
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        nul = data.find(b"\0", space + 1)
        if space < 0 or nul < 0:
            break
        mode = data[pos:space].decode("ascii", "replace")
        name = data[space + 1 : nul].decode("utf-8", "surrogateescape")
        entries.append((mode, name))
        pos = nul + 1 + oid_bytes
    return entries


# -- reading the trees -------------------------------------------------------------------------


def _escape_glob(path: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in path)


def _ancestors(path: str) -> list[str]:
    parts = normalize(path).split("/")[:-1]
    return ["/".join(parts[:n]) for n in range(len(parts), 0, -1)]


def _plain(path: str) -> bool:
    """Whether PATH names an entry of a tree as it is, from its root: no empty, ``.`` or
    ``..`` part, which ``REV:PATH`` could read otherwise (``./`` is relative to a directory)."""
    return bool(path) and all(part not in ("", ".", "..") for part in path.split("/"))


@dataclass(frozen=True)
class Unchanged:
    """What the fix's head shares with its merge-base: every path whose entry differs between
    the two (:meth:`~fixreview.repo.git.Repository.changed_paths`, git's own comparison of the
    trees, renames as both names) is CHANGED; any other path reads the same at both commits.

    A path is the same at HEAD as at MERGE_BASE unless it changed, holds a changed path (a
    directory), or lies under one (a file or submodule that became a directory). So the checks
    of a queue read what a fix leaves alone once, at the merge-base most fixes share (the
    reader remembers it), instead of at every fix's head. Each question costs a few set and
    binary-search look-ups, whatever the number of changed paths."""

    head: str
    merge_base: str
    changed: frozenset[str]
    ordered: tuple[str, ...]  # CHANGED sorted: the paths under a directory are side by side

    @classmethod
    def of(cls, repo: Repository, fix: Fix) -> Unchanged | None:
        """FIX's, when its changed paths are known (prefetched for a queue), else None."""
        base = fix.branch.merge_base
        changed = repo.changed_paths(base, fix.branch.head) if base else None
        if base is None or changed is None:
            return None
        return cls(fix.branch.head, base, changed, tuple(sorted(changed)))

    def same(self, path: str) -> bool:
        """Whether PATH reads the same at the head as at the merge-base."""
        if not _plain(path) or path in self.changed:
            return False
        inside = path + "/"  # a changed path under PATH sorts right after this
        at = bisect_left(self.ordered, inside)
        if at < len(self.ordered) and self.ordered[at].startswith(inside):
            return False
        slash = path.find("/")
        while slash >= 0:  # a changed path above PATH
            if path[:slash] in self.changed:
                return False
            slash = path.find("/", slash + 1)
        return True

    def asked(self, spec: str) -> str:
        """SPEC (``ID:PATH``) as it is read: at the merge-base when ID is the head and PATH
        reads the same there."""
        oid, colon, path = spec.partition(":")
        if colon and oid == self.head and self.same(path):
            return f"{self.merge_base}:{path}"
        return spec


@dataclass
class _Reader:
    repo: Repository
    revisions: list[tuple[str, str]]  # (object id, "at the head" / "at the base")
    unchanged: Unchanged | None = None
    refs: dict[tuple[str, bool], CiReference] = field(default_factory=dict)
    queued: set[str] = field(default_factory=set)

    def add(self, path: str, directory: bool, why: str, *, glob: bool = False) -> bool:
        """Register a reference (PATH a glob when GLOB); False when there are too many."""
        key = (path.lower(), directory)
        if key in self.refs:
            return True
        if len(self.refs) >= MAX_REFERENCES:
            return False
        shown = path if directory or glob else _escape_glob(path)
        self.refs[key] = CiReference(shown, directory, why)
        return True

    def queue(self, pending: list[tuple[str, str, str]], spec: str, path: str, side: str) -> None:
        """Read SPEC (PATH at one revision) in the next round, unless it was read already."""
        if spec not in self.queued:
            self.queued.add(spec)
            pending.append((spec, path, side))

    def read(self, specs: Iterable[str]) -> dict[str, bytes | None]:
        """The objects SPECS name (None when missing); a name cat-file cannot take is missing.
        A path the fix leaves alone is read at the merge-base (:class:`Unchanged`)."""
        wanted = list(specs)
        same = self.unchanged
        asked = {
            spec: spec if same is None else same.asked(spec)
            for spec in wanted
            if "\n" not in spec and "\r" not in spec
        }
        found = self.repo.read_objects(asked.values())
        return {spec: found.get(asked[spec]) if spec in asked else None for spec in wanted}


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    return data[:MAX_FILE_BYTES].decode("utf-8", "replace")


def tree_facts(
    repo: Repository,
    fix: Fix,
    final: Diff,
    ci_paths: Sequence[str] = (),
    dependency_paths: Sequence[str] | None = None,
) -> TreeFacts:
    """Read what the checks need from the fix's trees (see the module docstring).

    The head, the merge-base and the base branch's tip are read; a reference counts wherever
    it is found (a fix can drop a reference that CI still follows on the base branch). CI_PATHS
    (the policy's ``risk.ci_paths``) name the changed files that are CI definitions already;
    their own references are followed too. The changed dependency files whose kind
    :mod:`fixreview.risk.deps` parses are read whole on both sides; DEPENDENCY_PATHS (the
    policy's ``risk.dependency_paths``), when given, narrows them to the files it matches.
    """
    branch = fix.branch
    revisions: list[tuple[str, str]] = [(branch.head, "at the head")]
    for oid in (branch.merge_base, branch.base_commit):
        if oid and all(oid != known for known, _ in revisions):
            revisions.append((oid, "at the base"))
    reader = _Reader(repo, revisions, Unchanged.of(repo, fix))
    changed = [path for item in final.files for path in file_paths(item)]

    first: list[str] = []
    for oid, _ in revisions:
        first.append(f"{oid}:{WORKFLOWS}")
        first.extend(f"{oid}:{name}" for name in ROOT_ENTRIES)
        first.extend(f"{oid}:{path}" for path in changed if first_match(ci_paths, path))
    siblings: list[tuple[str, str, str]] = []  # (spec, directory, side)
    for oid, side in revisions:
        for directory in dict.fromkeys(d for path in changed for d in _ancestors(path)):
            for name in ACTION_FILES:
                if len(siblings) < MAX_ANCESTOR_SPECS:
                    siblings.append((f"{oid}:{directory}/{name}", directory, side))
    specs = {oid: side for oid, side in revisions}
    manifests = _manifest_plan(repo, fix, final, dependency_paths)
    blobs = [oid for plan in manifests for oid in (plan.old, plan.new) if oid]
    named_code = _named_code(fix, final)
    code_specs = [f"{fix.branch.merge_base}:{path}" for path in named_code]
    data = reader.read(
        [
            *first,
            *(spec for spec, _, _ in siblings),
            *_gitmodules_specs(fix),
            *blobs,
            *code_specs,
        ]
    )

    # (spec, the file's path, side) still to read and follow
    pending: list[tuple[str, str, str]] = []
    for spec in first:
        oid, _, path = spec.partition(":")
        content = data.get(spec)
        if content is None:
            continue
        if path == WORKFLOWS:
            for mode, name in tree_entries(content, len(oid) // 2):
                if not mode.startswith("4") and name.lower().endswith((".yml", ".yaml")):
                    full = f"{WORKFLOWS}/{name}"
                    reader.queue(pending, f"{oid}:{full}", full, specs[oid])
            continue
        _follow(reader, oid, path, specs[oid], _text(content) or "", pending)
    for _ in range(MAX_ROUNDS):
        if not pending:
            break
        batch, pending = pending, []
        contents = reader.read(spec for spec, _, _ in batch)
        for spec, path, side in batch:
            text = _text(contents.get(spec))
            if text is not None:
                _follow(reader, spec.partition(":")[0], path, side, text, pending)

    for spec, directory, side in siblings:
        content = data.get(spec)
        if content is not None:
            name = spec.partition(":")[2]
            reader.add(directory, True, f"beside the action definition {name} {side}")
    old, new = _gitmodules(fix, data)
    sides = tuple(plan.sides(data) for plan in manifests)
    bases = tuple(
        (path, text)
        for path, spec in zip(named_code, code_specs, strict=True)
        if (content := data.get(spec)) is not None
        and len(content) <= MAX_FILE_BYTES
        and (text := _text(content)) is not None
    )
    return TreeFacts(tuple(reader.refs.values()), old, new, sides, bases)


MAX_CODE_FILES = 20
"""The most named code files read for the out-of-scope check's code structure."""


def _named_code(fix: Fix, final: Diff) -> list[str]:
    """The code files (by their name at the merge-base) in a language the out-of-scope check
    reads (:func:`~fixreview.risk.code_scope.understands`) that the finding names and the fix
    changes, at most :data:`MAX_CODE_FILES`; none without a merge-base or a finding."""
    if fix.branch.merge_base is None or fix.finding is None:
        return []
    named = {normalize(loc.path).lower() for loc in fix.finding.locations}
    found: list[str] = []
    for item in final.files:
        old = item.old_path or item.path
        if understands(old) and normalize(old).lower() in named and old not in found:
            found.append(old)
    return found[:MAX_CODE_FILES]


def _follow(
    reader: _Reader,
    oid: str,
    source: str,
    side: str,
    text: str,
    pending: list[tuple[str, str, str]],
) -> None:
    """Register what the CI file SOURCE (read at OID) references; queue what to read next."""
    actions, includes, used = _references(text, source)
    for path in actions:
        if path.lower().endswith((".yml", ".yaml")):  # a reusable workflow
            if reader.add(path, False, f"reusable workflow ./{path} used by {source} {side}"):
                reader.queue(pending, f"{oid}:{path}", path, side)
            continue
        if reader.add(path, True, f"local action ./{path} used by {source} {side}"):
            for name in ACTION_FILES:
                reader.queue(pending, f"{oid}:{path}/{name}", f"{path}/{name}", side)
    for path in includes:
        added = reader.add(path, False, f"included by {source} {side}", glob=True)
        if added and not any(char in path for char in "*?["):
            reader.queue(pending, f"{oid}:{path}", path, side)
    for path in used:
        if reader.add(path, False, f"template of {source} {side}"):
            reader.queue(pending, f"{oid}:{path}", path, side)


@lru_cache(maxsize=128)
def _references(text: str, source: str) -> tuple[tuple[str, ...], ...]:
    """What the CI file SOURCE whose text is TEXT references: its local actions, its GitLab
    includes, its templates (remembered: every fix reads the base's same CI files)."""
    return tuple(local_actions(text)), tuple(gitlab_includes(text)), tuple(templates(text, source))


def _gitmodules_specs(fix: Fix) -> list[str]:
    specs = [f"{fix.branch.head}:.gitmodules"]
    if fix.branch.merge_base:
        specs.append(f"{fix.branch.merge_base}:.gitmodules")
    return specs


def _gitmodules(fix: Fix, data: dict[str, bytes | None]) -> tuple[str | None, str | None]:
    new = _text(data.get(f"{fix.branch.head}:.gitmodules"))
    old = None
    if fix.branch.merge_base:
        old = _text(data.get(f"{fix.branch.merge_base}:.gitmodules"))
    return old, new


# -- dependency files --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Manifest:
    """A dependency file to read: the blob ids of its two sides, or why it is not read."""

    path: str
    old: str | None
    new: str | None
    unread: str | None = None

    def sides(self, data: dict[str, bytes | None]) -> ManifestSides:
        if self.unread is not None:
            return ManifestSides(self.path, unread=self.unread)
        return ManifestSides(self.path, _blob_text(data, self.old), _blob_text(data, self.new))


def _blob_text(data: dict[str, bytes | None], oid: str | None) -> str | None:
    content = data.get(oid) if oid else None
    return None if content is None else content.decode("utf-8", "replace")


def _is_manifest(item: FileDiff, dependency_paths: Sequence[str] | None) -> bool:
    if item.binary or not any(parser_for(path) for path in file_paths(item)):
        return False
    return dependency_paths is None or match_file(dependency_paths, item) is not None


def _sizes(repo: Repository, specs: Sequence[str]) -> dict[str, tuple[str, int]]:
    """(blob id, size) of each spec naming a blob, from one ``cat-file --batch-check``."""
    readable = list(dict.fromkeys(s for s in specs if "\n" not in s and "\r" not in s))
    if not readable:
        return {}
    stdin = "".join(f"{spec}\n" for spec in readable).encode("utf-8", "surrogateescape")
    lines = repo.run("cat-file", "--batch-check", input=stdin).split(b"\n")
    found: dict[str, tuple[str, int]] = {}
    for spec, line in zip(readable, lines, strict=False):  # a short answer: the rest missing
        parts = line.split(b" ")
        if len(parts) == 3 and parts[1] == b"blob" and parts[2].isdigit():
            found[spec] = (parts[0].decode("ascii", "replace"), int(parts[2]))
    return found


def _manifest_plan(
    repo: Repository, fix: Fix, final: Diff, dependency_paths: Sequence[str] | None
) -> list[_Manifest]:
    """Which blobs of the changed dependency files to read, within the bounds."""
    items = [item for item in final.files if _is_manifest(item, dependency_paths)]
    if not items:
        return []
    head, base = fix.branch.head, fix.branch.merge_base
    wanted: list[tuple[FileDiff, str | None, str | None]] = []
    for item in items:
        old = f"{base}:{item.old_path or item.path}" if base and item.status != "added" else None
        new = f"{head}:{item.path}" if item.status != "deleted" else None
        wanted.append((item, old, new))
    sizes = _sizes(repo, [spec for _, old, new in wanted for spec in (old, new) if spec])
    plan: list[_Manifest] = []
    total = 0
    for item, old_spec, new_spec in wanted:
        before = sizes.get(old_spec) if old_spec else None
        after = sizes.get(new_spec) if new_spec else None
        unread = None
        for found, side in ((after, "head"), (before, "base")):
            if found is not None and found[1] > MAX_MANIFEST_BYTES:
                unread = (
                    f"not parsed: {found[1]} bytes at the {side}, "
                    f"more than the {MAX_MANIFEST_BYTES} read"
                )
                break
        size = sum(found[1] for found in (before, after) if found is not None)
        if unread is None and total + size > MAX_MANIFEST_TOTAL:
            unread = (
                f"not parsed: past the {MAX_MANIFEST_TOTAL} bytes of dependency files "
                "read for one fix"
            )
        if unread is not None:
            plan.append(_Manifest(item.path, None, None, unread))
            continue
        total += size
        plan.append(
            _Manifest(item.path, before[0] if before else None, after[0] if after else None)
        )
    return plan
