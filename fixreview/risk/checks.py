"""The risk checks: one function per flag id, and :func:`assess`, which runs them all.

Every check reads the diffs and the policy only (no git), and returns at most one flag, whose
evidence lists every place it found. Text taken from the diff (a line, a rationale) is made
visible (:func:`fixreview.safetext.visible`), cut short, and has any secret found in the
diff masked, whichever check shows it.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import replace as dc_replace
from functools import cached_property, lru_cache
from types import MappingProxyType

from fixreview.flag_registry import REGISTRY, FlagId
from fixreview.flag_registry import FlagId as ids  # the declared ids: ids.SECRET_ADDED
from fixreview.models import Commit, Fix
from fixreview.policy import POLICY_PATH, Policy, RiskPolicy
from fixreview.repo.diffs import Diff, FileDiff, Hunk
from fixreview.repo.diffs import git_unquote as unquote
from fixreview.risk.bounds import MAX_SCAN_LINE, MAX_SCAN_TOTAL, cut
from fixreview.risk.code_blocks import CodeScopes
from fixreview.risk.code_scope import code_scopes
from fixreview.risk.deps import DependencyChange, ManifestError, file_changes, show_spec
from fixreview.risk.flags import Evidence, RiskFlag, sort_key
from fixreview.risk.paths import (
    documentation_only,
    file_paths,
    is_doc_path,
    match_file,
    normalize,
)
from fixreview.risk.rationale import rationale_words
from fixreview.risk.secrets import Redactor, SecretHit, Unscanned, scan
from fixreview.risk.tree import NO_TREE_FACTS, TreeFacts
from fixreview.safetext import HIDDEN_CLASS, hidden_positions, visible

EXCERPT_CHARS = 120
LIST_IN_DETAIL = 5
CODEOWNERS_PATHS = ("CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS")
ARROW = "\u2192"
MINUS = "\u2212"


@dataclass(frozen=True)
class Context:
    """What every check reads: the fix, its three diffs, the policy, and secrets to mask."""

    fix: Fix
    final: Diff
    suggestion: Diff | None
    human: Diff | None
    policy: Policy
    secrets: tuple[SecretHit, ...] = ()
    unscanned: tuple[Unscanned, ...] = ()
    tree: TreeFacts = NO_TREE_FACTS

    @property
    def risk(self) -> RiskPolicy:
        return self.policy.risk

    @cached_property
    def tokens(self) -> tuple[str, ...]:
        return tuple(hit.token for hit in self.secrets if hit.token)

    @cached_property
    def redact(self) -> Redactor:
        """Masks every secret found in the diff (:func:`fixreview.risk.secrets.redact`)."""
        return Redactor(self.tokens)

    def excerpt(self, text: str, focus: int = 0) -> str:
        """TEXT shown safely: secrets masked, hidden characters visible, at most ~120 chars."""
        text = self.redact(text)
        if len(text) > EXCERPT_CHARS:
            start = max(0, min(focus - EXCERPT_CHARS // 3, len(text) - EXCERPT_CHARS))
            text = ("\u2026" if start else "") + text[start : start + EXCERPT_CHARS] + "\u2026"
        shown = visible(text, multiline=False).strip()
        if len(shown) > 2 * EXCERPT_CHARS:  # stand-ins (<U+E0100>) made it much longer
            shown = shown[: 2 * EXCERPT_CHARS] + "\u2026"
        return shown

    def flag(
        self, flag_id: FlagId, detail: str, evidence: Iterable[Evidence], case: str | None = None
    ) -> RiskFlag:
        """The flag FLAG_ID at its level under the policy, with its declared title (that of
        CASE when given: fixreview.flag_registry declares every title)."""
        title = REGISTRY[flag_id].title_for(case)
        return RiskFlag(flag_id, self.risk.level(flag_id), title, detail, tuple(evidence))


Check = Callable[[Context], RiskFlag | None]


# -- helpers ---------------------------------------------------------------------------------


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def listing(items: Sequence[str], limit: int = LIST_IN_DETAIL) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def size(item: FileDiff) -> str:
    return f"+{item.added} {MINUS}{item.removed}"


def changed_lines(diff: Diff) -> int:
    return diff.added + diff.removed


def _same_path(a: str, b: str) -> bool:
    return _path_key(a) == _path_key(b)


@lru_cache(maxsize=16_384)
def _path_key(path: str) -> str:
    """What two paths are compared by: normalized, case folded as the checks fold it."""
    return normalize(path).lower()


def _shown_path(path: str) -> str:
    return visible(unquote(path), multiline=False)


def policy_file(ctx: Context, item: FileDiff) -> tuple[str, str] | None:
    """(path, why) when the file is part of the review rules (see policy-change)."""
    named: list[tuple[str, str]] = [(POLICY_PATH, "the review policy")]
    for key, value in ctx.policy.approvals:
        if key.startswith("allowed_") and isinstance(value, str) and value:
            named.append((value, f"approvals.{key}"))
    if ctx.policy.checks.signers:
        named.append((ctx.policy.checks.signers, "checks.signers"))
    named += [(path, "code owners") for path in CODEOWNERS_PATHS]
    for path in file_paths(item):
        for literal, why in named:
            if _same_path(path, literal):
                return path, why
    found = match_file(ctx.risk.policy_paths, item)
    if found:
        return found[0], f"matches risk.policy_paths {found[1]}"
    return None


def ci_file(ctx: Context, item: FileDiff) -> tuple[str, str] | None:
    """(path, why) when the file is CI/CD: it matches risk.ci_paths, or a CI file reaches it."""
    found = match_file(ctx.risk.ci_paths, item)
    if found:
        return found[0], f"CI/CD definition, matches {found[1]}"
    for path in file_paths(item):
        why = ctx.tree.ci_reason(path)
        if why:
            return path, f"CI/CD definition: {why}"
    return None


def is_test(ctx: Context, item: FileDiff) -> bool:
    return match_file(ctx.risk.test_paths, item) is not None


def added_lines(item: FileDiff) -> list[tuple[int, str]]:
    return [
        (line.new_no, line.text)
        for hunk in item.hunks
        for line in hunk.lines
        if line.kind == "+" and line.new_no is not None
    ]


def first_added_line(item: FileDiff) -> int | None:
    """The new line number of the file's first added line, if it has one."""
    return next(
        (
            line.new_no
            for hunk in item.hunks
            for line in hunk.lines
            if line.kind == "+" and line.new_no is not None
        ),
        None,
    )


# -- sensitive-path ------------------------------------------------------------------------------


SYMLINK_MODE = "120000"
GITLINK_MODE = "160000"


def file_modes(item: FileDiff) -> tuple[str | None, str | None]:
    """The old and new mode of a file, from git's header (``index a..b MODE`` included)."""
    old, new = item.old_mode, item.new_mode
    for line in item.header.splitlines():
        if line.startswith("index ") and len(line.split()) == 3:
            mode = line.split()[2]
            old, new = old or mode, new or mode
    return old, new


def _new_side_text(item: FileDiff) -> str | None:
    lines = [line.text for hunk in item.hunks for line in hunk.lines if line.kind == "+"]
    return lines[0] if lines else None


def symlink_target(item: FileDiff) -> str | None:
    """Where an added or changed symbolic link points (its blob is the target), or None."""
    if item.status == "deleted" or file_modes(item)[1] != SYMLINK_MODE:
        return None
    return _new_side_text(item)


def _sensitive_target(ctx: Context, item: FileDiff, target: str) -> str | None:
    """Why the symlink ITEM pointing at TARGET is sensitive, or None."""
    shown = visible(target, multiline=False)
    if target.startswith("/") or target.startswith("~"):
        return f"symlink to {shown}, outside the repository"
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(item.path), target))
    if resolved == ".." or resolved.startswith("../"):
        return f"symlink to {shown}, outside the repository"
    if resolved == ".":
        return f"symlink to {shown}, the repository's root"
    probe = FileDiff(resolved, resolved, resolved, "modified", False, None, None, 0, 0, (), "")
    for candidate in (resolved, f"{resolved}/x"):
        probe = dc_replace(probe, path=candidate, old_path=candidate, new_path=candidate)
        found = match_file(ctx.risk.sensitive_paths, probe)
        reason = f"matches {found[1]}" if found else None
        if found is None:
            other = policy_file(ctx, probe) or ci_file(ctx, probe)
            reason = other[1] if other else None
        if reason:
            return f"symlink to {resolved}, which {_which(reason)}"
    lower = resolved.lower() + "/"
    for pattern in ctx.risk.sensitive_paths:
        if normalize(pattern).lower().startswith(lower):
            return f"symlink to {resolved}, which holds {pattern}"
    return None


def _which(reason: str) -> str:
    return reason if reason.startswith("matches") else f"is {reason}"


def check_sensitive_path(ctx: Context) -> RiskFlag | None:
    evidence: list[Evidence] = []
    for item in ctx.final.files:
        found = match_file(ctx.risk.sensitive_paths, item)
        reason = f"matches {found[1]}" if found else None
        where = found[0] if found else None
        if found is None:
            other = policy_file(ctx, item) or ci_file(ctx, item)
            if other:
                where, reason = other
        target = symlink_target(item)
        if target is not None:
            pointing = _sensitive_target(ctx, item, target)
            if reason is not None:
                reason += f"; symlink to {target}"
            elif pointing is not None:
                where, reason = item.path, pointing
        if where is None or reason is None:
            continue
        moved = f", renamed from {item.old_path}" if where != item.path else ""
        evidence.append(Evidence(item.path, None, _shown_path(f"{reason}{moved}")))
    if not evidence:
        return None
    paths = [_shown_path(e.path or "") for e in evidence]
    return ctx.flag(
        ids.SENSITIVE_PATH,
        f"{len(evidence)} of {plural(len(ctx.final.files), 'changed file')} "
        f"{'is' if len(evidence) == 1 else 'are'} security-sensitive (authentication, "
        f"authorization, secrets, crypto, policy or CI): {listing(paths)}.",
        evidence,
    )


# -- policy-change -------------------------------------------------------------------------------


def _matching_files(
    ctx: Context,
    matcher: Callable[[Context, FileDiff], tuple[str, str] | None],
    excerpt: Callable[[FileDiff, str], str],
) -> tuple[list[Evidence], list[str]]:
    """Evidence for every changed file MATCHER recognises (EXCERPT says why), and their paths."""
    evidence = [
        Evidence(item.path, None, _shown_path(excerpt(item, found[1])))
        for item in ctx.final.files
        if (found := matcher(ctx, item))
    ]
    return evidence, [_shown_path(e.path or "") for e in evidence]


def check_policy_change(ctx: Context) -> RiskFlag | None:
    evidence, paths = _matching_files(
        ctx, policy_file, lambda item, why: f"{why} ({item.status}, {size(item)})"
    )
    if not evidence:
        return None
    return ctx.flag(
        ids.POLICY_CHANGE,
        f"Changes {listing(paths)}: the policy, allowed signers or code owners that decide how "
        "fixes are reviewed. The branch's own copy never applies to itself, but merging it "
        "changes the rules for every later fix.",
        evidence,
    )


# -- out-of-scope --------------------------------------------------------------------------------


def _spans(hunk: Hunk) -> tuple[tuple[int, int], tuple[int, int]]:
    """The old-side and new-side line spans of the hunk's changed lines.

    A pure insertion has an old-side span at the line it follows, a pure deletion a new-side
    span at the line it follows; context lines never widen a span.
    """
    old = [line.old_no for line in hunk.lines if line.kind == "-" and line.old_no]
    new = [line.new_no for line in hunk.lines if line.kind == "+" and line.new_no]
    old_anchor, new_anchor = hunk.old_start, hunk.new_start
    for line in hunk.lines:
        if line.kind in "+-":
            break
        if line.kind == " ":
            old_anchor = line.old_no or old_anchor
            new_anchor = line.new_no or new_anchor
    old_span = (min(old), max(old)) if old else (old_anchor, old_anchor)
    new_span = (min(new), max(new)) if new else (new_anchor, new_anchor)
    return old_span, new_span


def _distance(span: tuple[int, int], target: tuple[int, int]) -> int:
    return max(target[0] - span[1], span[0] - target[1], 0)


def _code_scopes(ctx: Context, item: FileDiff) -> CodeScopes | None:
    """The structure of ITEM at the merge-base, when it is a file the finding names in a
    language :mod:`fixreview.risk.code_scope` reads."""
    path = item.old_path or item.path
    text = ctx.tree.code_base(path)
    return code_scopes(path, text) if text is not None else None


def _imports_only(code: CodeScopes, hunk: Hunk, old_span: tuple[int, int]) -> bool:
    """Whether HUNK changes imports only: every changed line an import statement (or, where
    the hunk touches the file's imports, a line of a multi-line import's names)."""
    changed = [line.text for line in hunk.lines if line.kind in "+-"]
    touches = code.in_imports(old_span)
    return bool(changed) and all(code.is_import_line(t, continuation=touches) for t in changed)


def check_out_of_scope(ctx: Context) -> RiskFlag | None:
    finding = ctx.fix.finding
    if finding is None or not finding.locations:
        return None
    slack = ctx.risk.scope_slack_lines
    ranges: dict[str, list[tuple[int, int]]] = {}
    labels: dict[str, str] = {}
    for loc in finding.locations:
        key = normalize(loc.path).lower()
        ranges.setdefault(key, []).append((loc.start_line, loc.end_line or loc.start_line))
        labels.setdefault(key, str(loc))
    total_lines = changed_lines(ctx.final)
    outside_lines = 0
    unnamed: list[FileDiff] = []
    far_hunks = 0
    evidence: list[Evidence] = []
    for item in ctx.final.files:
        if is_test(ctx, item):
            continue
        keys = [normalize(p).lower() for p in file_paths(item)]
        targets = [r for key in keys for r in ranges.get(key, [])]
        if not targets:
            unnamed.append(item)
            outside_lines += item.added + item.removed
            first = first_added_line(item)
            why = f"not named in the finding ({item.status}, {size(item)})"
            evidence.append(Evidence(item.path, first, why))
            continue
        code = _code_scopes(ctx, item)
        if code is not None:  # the finding's function or class is in scope as a whole
            targets = [code.widen(t) for t in targets]
        for hunk in item.hunks:
            old_span, new_span = _spans(hunk)
            gap = min(min(_distance(old_span, t), _distance(new_span, t)) for t in targets)
            if gap <= slack or (code is not None and _imports_only(code, hunk, old_span)):
                continue
            far_hunks += 1
            plus = sum(1 for line in hunk.lines if line.kind == "+")
            minus = sum(1 for line in hunk.lines if line.kind == "-")
            outside_lines += plus + minus
            nearest = min(
                targets, key=lambda t: min(_distance(new_span, t), _distance(old_span, t))
            )
            start, end = new_span if plus else old_span
            where = f"line {start}" if start == end else f"lines {start}\u2013{end}"
            if code is not None:
                block = code.innermost(old_span[0])
                where += f" in {block.label}" if block is not None else " at module level"
            evidence.append(
                Evidence(
                    item.path,
                    start,
                    f"{where} (+{plus} {MINUS}{minus}) is {gap} lines from the finding's "
                    f"lines {nearest[0]}\u2013{nearest[1]}",
                )
            )
    if not evidence:
        return None
    parts = []
    if unnamed:
        parts.append(
            f"{len(unnamed)} of {plural(len(ctx.final.files), 'changed file')} "
            f"{'is' if len(unnamed) == 1 else 'are'} not named in the finding's locations "
            f"({listing([_shown_path(f.path) for f in unnamed])})"
        )
    if far_hunks:
        parts.append(
            f"{plural(far_hunks, 'hunk')} in named files {'is' if far_hunks == 1 else 'are'} "
            f"more than {slack} lines from them"
        )
    detail = (
        "; ".join(parts)
        + f". {outside_lines} of {plural(total_lines, 'changed line')} "
        + f"{'is' if outside_lines == 1 else 'are'} outside the finding's scope "
        + f"({', '.join(labels.values())}; test files count as in scope)."
    )
    return ctx.flag(ids.OUT_OF_SCOPE, detail, evidence)


# -- dependency-change ---------------------------------------------------------------------------


_SECTION = re.compile(r"""^\s*\[\s*submodule\s+"([^"]*)"\s*\]""")
_SETTING = re.compile(r"^\s*(path|url)\s*=\s*((?:.*\S)?)\s*$")


def parse_gitmodules(lines: Iterable[str]) -> dict[str, dict[str, str]]:
    """Submodules by path (or name when no path is given): their ``path`` and ``url``."""
    found: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in lines:
        line = cut(raw)
        section = _SECTION.match(line)
        if section:
            current = found.setdefault(section.group(1), {})
            continue
        setting = _SETTING.match(line)
        if setting and current is not None:
            current.setdefault(setting.group(1), setting.group(2))
    return {values.get("path", name): values for name, values in found.items()}


def _gitmodules_sides(
    ctx: Context, item: FileDiff | None
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """.gitmodules before and after: read from the trees, or else from the diff's lines."""
    tree = ctx.tree
    if tree.gitmodules_old is not None or tree.gitmodules_new is not None:
        return (
            parse_gitmodules((tree.gitmodules_old or "").splitlines()),
            parse_gitmodules((tree.gitmodules_new or "").splitlines()),
        )
    if item is None:
        return {}, {}
    lines = [line for hunk in item.hunks for line in hunk.lines]
    return (
        parse_gitmodules(line.text for line in lines if line.kind in " -"),
        parse_gitmodules(line.text for line in lines if line.kind in " +"),
    )


def _subproject(item: FileDiff, kind: str) -> str | None:
    """The submodule's old (KIND ``-``) or new (``+``) commit: from the ``Subproject commit``
    line, or else from the ``index OLD..NEW`` header (``--submodule=log`` prints no hunk)."""
    for hunk in item.hunks:
        for line in hunk.lines:
            if line.kind == kind and line.text.startswith("Subproject commit "):
                return cut(line.text.removeprefix("Subproject commit ").strip(), 64)
    for header in item.header.splitlines():
        if header.startswith("index ") and ".." in header:
            old, _, new = header.split()[1].partition("..")
            oid = old if kind == "-" else new
            return None if not oid.strip("0") else oid
    return None


def _line_of(item: FileDiff | None, text: str) -> int | None:
    if item is None:
        return None
    return next(
        (
            line.new_no
            for hunk in item.hunks
            for line in hunk.lines
            if line.kind == "+" and text in line.text
        ),
        None,
    )


def submodule_evidence(ctx: Context) -> tuple[list[Evidence], list[str]]:
    """Evidence for every submodule added, removed, moved to another commit or another URL,
    and the names of those submodules."""
    modules = next((f for f in ctx.final.files if _same_path(f.path, ".gitmodules")), None)
    old, new = _gitmodules_sides(ctx, modules)
    evidence: list[Evidence] = []
    names: list[str] = []
    for item in ctx.final.files:
        if GITLINK_MODE not in file_modes(item):
            continue
        before, after = _subproject(item, "-"), _subproject(item, "+")
        url = new.get(item.path, {}).get("url")
        if before and after:
            what = f"commit {before[:12]} {ARROW} {after[:12]}"
        elif after:
            what = f"added at {after[:12]}" + (f" from {url}" if url else "")
        elif before:
            what = f"removed (was {before[:12]})"
        else:
            what = f"{item.status} ({size(item)})"
        evidence.append(Evidence(item.path, None, ctx.excerpt(f"submodule {item.path}: {what}")))
        names.append(_shown_path(item.path))
    for path in sorted(old.keys() | new.keys()):
        was, now = old.get(path, {}).get("url"), new.get(path, {}).get("url")
        if was == now:
            continue
        if was and now:
            what = f"url {was} {ARROW} {now}"
        elif now:
            what = f"url {now} added"
        else:
            what = f"url {was} removed"
        line = _line_of(modules, now) if now else None
        text = f"submodule {path}: {what}"
        evidence.append(Evidence(".gitmodules", line, ctx.excerpt(text, text.find(ARROW))))
        if _shown_path(path) not in names:
            names.append(_shown_path(path))
    return evidence, names


def check_dependency_change(ctx: Context) -> RiskFlag | None:
    evidence: list[Evidence] = []
    files: list[str] = []
    changes: list[DependencyChange] = []
    submodules, modules = submodule_evidence(ctx)
    if submodules:
        evidence.extend(submodules)
        files.extend(name for name in modules)
    for item in ctx.final.files:
        if match_file(ctx.risk.dependency_paths, item) is None:
            continue
        files.append(_shown_path(item.path))
        if _same_path(item.path, ".gitmodules") and any(
            e.path == ".gitmodules" for e in submodules
        ):
            continue  # its URL changes are in the evidence already
        parsed, note = _parsed_changes(ctx, item)
        if not parsed:
            what = (
                "lockfile"
                if ".lock" in item.path.lower() or item.path.endswith(("go.sum", ".lockfile"))
                else "manifest"
            )
            shown = f"{what} {item.status} ({size(item)})"
            if note:
                shown += f"; {ctx.excerpt(note)}"
            evidence.append(Evidence(item.path, None, shown))
            continue
        changes.extend(parsed)
        evidence.extend(Evidence(c.path, c.line, ctx.excerpt(c.describe())) for c in parsed)
    if not files:
        return None
    # one description per package, manifests before lockfiles
    first: dict[tuple[str, str], DependencyChange] = {}
    for change in sorted(changes, key=lambda c: _is_lockfile(c.path)):
        key = (change.ecosystem, change.key)
        if key not in first or (change.major and not first[key].major):
            first[key] = change
    unique = list(first.values())
    sentences = [f"{plural(len(files), 'dependency file')} changed ({listing(files)})."]
    majors = [c for c in unique if c.major]
    if majors:
        sentences.append(
            f"MAJOR version {'change' if len(majors) == 1 else 'changes'}: "
            + "; ".join(ctx.excerpt(f"{_short(c)} ({c.jump()})") for c in majors[:LIST_IN_DETAIL])
            + (f" and {len(majors) - LIST_IN_DETAIL} more" if len(majors) > LIST_IN_DETAIL else "")
            + "."
        )
    for kind, word in (
        ("bumped", "bumped"),
        ("downgraded", "downgraded"),
        ("loosened", "loosened"),
        ("changed", "changed"),
        ("added", "added"),
        ("removed", "removed"),
    ):
        group = [c for c in unique if c.kind == kind and not c.major]
        if group:
            names = [ctx.excerpt(_short(c)) for c in group]
            sentences.append(f"{len(group)} {word}: {listing(names)}.")
    if modules:
        sentences.append(
            f"Submodules changed: {listing(modules)} (another commit or another URL is other "
            "code, fetched from wherever the URL points)."
        )
    if not unique and not modules:
        sentences.append("No package line was recognised; read the file changes.")
    return ctx.flag(ids.DEPENDENCY_CHANGE, " ".join(sentences), evidence)


def _parsed_changes(
    ctx: Context, item: FileDiff
) -> tuple[list[DependencyChange] | None, str | None]:
    """The package changes of one dependency file, parsed whole from both sides as read from
    the trees; or None, and why it was not parsed when that is worth saying."""
    sides = ctx.tree.manifest(item.path)
    if sides is None:
        return None, None  # not read (no tree facts, or a kind that is only named)
    if sides.unread is not None:
        return None, sides.unread
    try:
        return file_changes(item, sides.old, sides.new), None
    except ManifestError as error:
        return None, str(error)


def _is_lockfile(path: str) -> bool:
    lower = path.lower()
    return lower.endswith((".lock", "go.sum", ".lockfile", "-lock.json", "-lock.yaml")) or (
        lower.endswith("npm-shrinkwrap.json")
    )


def _short(change: DependencyChange) -> str:
    if change.kind in ("added", "removed"):
        spec = show_spec(change.new if change.kind == "added" else change.old)
        return f"{change.name} {spec}".strip()
    old, new = show_spec(change.old) or "(any)", show_spec(change.new) or "(any)"
    return f"{change.name} {old} {ARROW} {new}"


# -- ci-config-change ----------------------------------------------------------------------------


def check_ci_config_change(ctx: Context) -> RiskFlag | None:
    evidence, paths = _matching_files(
        ctx, ci_file, lambda item, why: f"{item.status} ({size(item)}); {why}"
    )
    if not evidence:
        return None
    return ctx.flag(
        ids.CI_CONFIG_CHANGE,
        f"Changes {listing(paths)}. CI runs with the repository's tokens and secrets and can "
        "publish builds: a change there acts beyond this fix, before anyone merges it.",
        evidence,
    )


# -- secret-added --------------------------------------------------------------------------------


def find_secrets(final: Diff) -> tuple[tuple[SecretHit, ...], tuple[Unscanned, ...]]:
    """Potential secrets on the added lines, and the lines too long to scan whole."""
    files = [(item.path, added_lines(item)) for item in final.files if not item.binary]
    files = [(path, lines) for path, lines in files if lines]
    if not files:
        return (), ()
    hits, unscanned = scan(files)
    return tuple(hits), tuple(unscanned)


def check_secret_added(ctx: Context) -> RiskFlag | None:
    if not ctx.secrets and not ctx.unscanned:
        return None
    if not ctx.secrets:
        return _unscanned_flag(ctx)
    by_line: dict[tuple[str, int], list[SecretHit]] = {}
    for hit in ctx.secrets:
        by_line.setdefault((hit.path, hit.line), []).append(hit)
    evidence = []
    kinds: list[str] = []
    for (path, line), hits in sorted(by_line.items()):
        names = sorted({h.kind for h in hits})
        kinds.extend(k for k in names if k not in kinds)
        shown = f"[{', '.join(names)}] {hits[0].excerpt}"
        evidence.append(Evidence(path, line, ctx.excerpt(shown, shown.find("\u2026"))))
    paths = sorted({_shown_path(p) for p, _ in by_line})
    return ctx.flag(
        ids.SECRET_ADDED,
        f"detect-secrets found {plural(len(by_line), 'added line')} with a potential secret in "
        f"{listing(paths)} ({', '.join(kinds)}). A secret pushed to a branch is exposed: "
        "remove it, rotate it, and read it from the environment or a vault instead."
        + _unscanned_sentence(ctx),
        evidence + _unscanned_evidence(ctx),
    )


def _unscanned_evidence(ctx: Context) -> list[Evidence]:
    return [
        Evidence(
            item.path,
            item.line,
            f"not scanned whole: {item.length:,} characters, the first {item.scanned:,} read",
        )
        for item in ctx.unscanned
    ]


def _unscanned_sentence(ctx: Context) -> str:
    if not ctx.unscanned:
        return ""
    return (
        f" {plural(len(ctx.unscanned), 'added line')} too long to scan whole "
        f"(the scan reads at most {MAX_SCAN_LINE:,} distinct characters of a line, "
        f"{MAX_SCAN_TOTAL:,} of a diff) could hide more."
    )


def _unscanned_flag(ctx: Context) -> RiskFlag:
    paths = sorted({_shown_path(item.path) for item in ctx.unscanned})
    return ctx.flag(
        ids.SECRET_ADDED,
        f"No secret was found, but {plural(len(ctx.unscanned), 'added line')} in "
        f"{listing(paths)} {'is' if len(ctx.unscanned) == 1 else 'are'} too long to scan whole "
        f"(at most {MAX_SCAN_LINE:,} distinct characters of a line, {MAX_SCAN_TOTAL:,} of a "
        "diff): what was not read could hold a secret, and no reviewer can read it either.",
        _unscanned_evidence(ctx),
        case="unscanned",
    )


# -- hidden-unicode ------------------------------------------------------------------------------


def _code_point(char: str) -> str:
    return f"U+{ord(char):04X}"


def _char_name(char: str) -> str:
    code = ord(char)
    if 0xE0000 <= code <= 0xE007F:
        return unicodedata.name(char, "TAG CHARACTER")
    return unicodedata.name(char, "UNASSIGNED (default-ignorable)")


MAX_HIDDEN_PER_LINE = 10_000
"""Hidden characters of one line that are looked at (a line holding more says "at least")."""
CODES_SHOWN = 8


_HIDDEN = re.compile(f"[{HIDDEN_CLASS}]")


def _may_hide(lines: Sequence[tuple[int, str]]) -> bool:
    """Whether any of LINES holds a hidden character, looked for in all of them at once (each
    line's :func:`fixreview.safetext.hidden_positions` finds only such characters)."""
    text = "\n".join([text for _, text in lines])
    return not text.isascii() and _HIDDEN.search(text) is not None


def _hidden_in(text: str, *, first_line: bool) -> list[int]:
    return [
        i
        for i in hidden_positions(text, MAX_HIDDEN_PER_LINE + 1)
        if not (first_line and i == 0 and text[i] == "\ufeff")
    ]


def _codes(text: str, positions: Sequence[int]) -> str:
    codes = list(dict.fromkeys(_code_point(text[i]) for i in positions))
    more = len(codes) - CODES_SHOWN
    return ", ".join(codes[:CODES_SHOWN]) + (f" and {more} more" if more > 0 else "")


def check_hidden_unicode(ctx: Context) -> RiskFlag | None:
    evidence: list[Evidence] = []
    seen: Counter[str] = Counter()
    lines = 0
    files: set[str] = set()
    capped = False
    for item in ctx.final.files:
        for path in map(unquote, file_paths(item)):
            positions = _hidden_in(path, first_line=False)
            if positions:
                codes = ", ".join(sorted({_code_point(path[i]) for i in positions}))
                seen.update(path[i] for i in positions)
                files.add(item.path)
                evidence.append(
                    Evidence(item.path, None, f"{codes} in the file name: {_shown_path(path)}")
                )
        added = added_lines(item)
        if not _may_hide(added):
            continue
        for number, text in added:
            # a byte order mark that starts a file is an encoding mark, not hidden text
            positions = _hidden_in(text, first_line=number == 1)
            if not positions:
                continue
            if len(positions) > MAX_HIDDEN_PER_LINE:
                positions, capped = positions[:MAX_HIDDEN_PER_LINE], True
            lines += 1
            files.add(item.path)
            seen.update(text[i] for i in positions)
            evidence.append(
                Evidence(
                    item.path,
                    number,
                    f"{_codes(text, positions)}: {ctx.excerpt(text, positions[0])}",
                )
            )
    if not evidence:
        return None
    names = [f"{_code_point(c)} {_char_name(c)}" for c, _ in seen.most_common()]
    where = plural(lines, "added line") if lines else "file names"
    return ctx.flag(
        ids.HIDDEN_UNICODE,
        f"{'at least ' if capped else ''}"
        f"{plural(sum(seen.values()), 'invisible character')} on {where} in "
        f"{plural(len(files), 'file')}: {listing(names)}. Such characters can make code read "
        "differently from how it runs (Trojan Source, CVE-2021-42574).",
        evidence,
    )


# -- binary-file ---------------------------------------------------------------------------------


def check_binary_file(ctx: Context) -> RiskFlag | None:
    evidence = []
    for item in ctx.final.files:
        if not item.binary or item.status == "deleted":
            continue
        moved = f" from {item.old_path}" if item.status in ("renamed", "copied") else ""
        evidence.append(Evidence(item.path, None, _shown_path(f"binary file {item.status}{moved}")))
    if not evidence:
        return None
    paths = [_shown_path(e.path or "") for e in evidence]
    return ctx.flag(
        ids.BINARY_FILE,
        f"{plural(len(evidence), 'binary file')} added or changed ({listing(paths)}): "
        "their content cannot be reviewed in the diff.",
        evidence,
    )


# -- no-test-change ------------------------------------------------------------------------------


def check_no_test_change(ctx: Context) -> RiskFlag | None:
    files = ctx.final.files
    if not files or documentation_only(files):
        return None
    if any(is_test(ctx, item) for item in files):
        return None
    code = [item for item in files if not all(is_doc_path(p) for p in file_paths(item))]
    evidence = [Evidence(item.path, None, f"{item.status} ({size(item)})") for item in code]
    return ctx.flag(
        ids.NO_TEST_CHANGE,
        f"None of the changed files ({len(files)}) is a test (risk.test_paths): nothing "
        "shows that the fix works or that the finding cannot come back.",
        evidence,
    )


# -- checks-not-passed ---------------------------------------------------------------------------


def check_checks_not_passed(ctx: Context) -> RiskFlag | None:
    """Each required CI check that is missing, failing, or recorded only for an earlier head,
    as the gate judged the check records (fixreview.check_rules, in ``fix.checks``)."""
    short = [c for c in ctx.fix.checks if c.required and c.state != "passed"]
    if not short:
        return None
    evidence = [
        Evidence(None, None, ctx.excerpt(f"{c.name}: {c.state}: {c.detail}")) for c in short
    ]
    names = listing([visible(f"{c.name} ({c.state})", multiline=False) for c in short])
    return ctx.flag(
        ids.CHECKS_NOT_PASSED,
        f"The policy's [checks] required: {names} has no passing run recorded by CI on this "
        "exact head; the gate will not pass until it does.",
        evidence,
    )


# -- no-linked-finding ---------------------------------------------------------------------------


def _finding_id_claims(fix: Fix) -> list[tuple[Commit, str]]:
    """Every ``Finding-Id:`` trailer of FIX's commits, with its commit (newest commit first)."""
    return [(c, value) for c in fix.commits for value in c.trailer_values("Finding-Id")]


def _claim_evidence(ctx: Context, claims: list[tuple[Commit, str]]) -> list[Evidence]:
    """Each claim as evidence: the trailer and the commit it is on."""
    return [
        Evidence(
            None, None, ctx.excerpt(f"Finding-Id: {value} on {commit.oid[:12]} {commit.subject}")
        )
        for commit, value in claims
    ]


def check_no_linked_finding(ctx: Context) -> RiskFlag | None:
    """Raised whenever the fix has no finding: none was claimed (no proposal note, no
    ``Finding-Id:`` trailer), or a trailer names one that no findings source holds. Either
    way there is nothing to judge the fix's scope or purpose against."""
    fix = ctx.fix
    if fix.finding is not None:
        return None
    claims = _finding_id_claims(fix)
    if not claims:
        return ctx.flag(
            ids.NO_LINKED_FINDING,
            "No finding is linked to this branch: there is no proposal note and none of its "
            f"{plural(len(fix.commits), 'commit')} has a Finding-Id trailer, so nothing says "
            "what it fixes or how far the change should reach.",
            (
                Evidence(
                    None,
                    None,
                    f"{plural(len(fix.commits), 'commit')} read, no proposal note, "
                    "no Finding-Id trailer",
                ),
            ),
        )
    claimed = claims[-1][1]  # the oldest claim, the one the queue looks up
    sources = ", ".join(ctx.policy.findings) or "none named in the policy"
    return ctx.flag(
        ids.NO_LINKED_FINDING,
        f"A Finding-Id trailer names {ctx.excerpt(claimed)}, but no findings source holds it "
        f"(policy findings: {ctx.excerpt(sources)}): the finding's scope, severity and "
        "locations are unknown, so nothing shows what the fix should change.",
        _claim_evidence(ctx, claims),
        case="not-found",
    )


# -- suggestion-mismatch -------------------------------------------------------------------------


def check_suggestion_mismatch(ctx: Context) -> RiskFlag | None:
    """Raised when the proposal note does not match the branch: its commits' ``Finding-Id:``
    trailers name other findings than the one it links, or ``propose --force`` recorded it
    although the producer's own change is in no commit of the branch (``suggestion.unmatched``).
    Proposals are unsigned — anyone who may push notes can relabel a fix — and ``propose``
    refuses both unless forced."""
    fix = ctx.fix
    if fix.source != "note" or fix.finding is None:
        return None
    claims = _finding_id_claims(fix)
    if claims and all(value != fix.finding.id for _, value in claims):
        named = ", ".join(dict.fromkeys(ctx.excerpt(value) for _, value in claims))
        return ctx.flag(
            ids.SUGGESTION_MISMATCH,
            f"The proposal links finding {ctx.excerpt(fix.finding.id)}, but the branch's "
            f"commits claim {named} in their Finding-Id trailers: the fix may be answering "
            "another finding than the one shown, or the proposal was recorded for the wrong "
            "branch.",
            _claim_evidence(ctx, claims),
            case="finding",
        )
    unmatched = fix.suggestion.unmatched if fix.suggestion is not None else None
    if unmatched is None:
        return None
    return ctx.flag(
        ids.SUGGESTION_MISMATCH,
        "The producer's own change is in no commit of the branch, and the proposal was forced "
        f"at the head ({ctx.excerpt(unmatched)}): the suggestion shown is the branch as it "
        "stands, not what the AI proposed, so the human changes cannot be told apart.",
        (),
        case="content",
    )


# -- thin-rationale ------------------------------------------------------------------------------


def check_thin_rationale(ctx: Context) -> RiskFlag | None:
    suggestion = ctx.fix.suggestion
    minimum = ctx.risk.min_rationale_words
    if suggestion is None:
        return ctx.flag(
            ids.THIN_RATIONALE,
            "No AI suggestion is linked to this branch (no proposal note and no Assisted-by "
            "trailer), so nothing explains why the change fixes anything.",
            (),
            case="none",
        )
    words = rationale_words(suggestion.rationale)
    if words >= minimum:
        return None
    shown = ctx.excerpt(suggestion.rationale.strip()) or "(empty)"
    return ctx.flag(
        ids.THIN_RATIONALE,
        f"The AI's rationale has {plural(words, 'word')}; the policy asks for at least "
        f"{minimum} (risk.min_rationale_words) to say what was wrong and why the change "
        "fixes it.",
        (Evidence(None, None, shown),),
        case=None if words else "empty",
    )


# -- diverges-from-suggestion --------------------------------------------------------------------


def _line_bag(diff: Diff) -> Counter[tuple[str, str, str]]:
    return Counter(
        (item.path, line.kind, line.text)
        for item in diff.files
        for hunk in item.hunks
        for line in hunk.lines
        if line.kind in "+-"
    )


def check_diverges(ctx: Context) -> RiskFlag | None:
    total = changed_lines(ctx.final)
    if ctx.human is not None:
        if not ctx.human.files:
            return None
        human = ctx.human
        changed = changed_lines(human)
        share = f"{round(100 * changed / total)}%" if total else "all"
        evidence = [
            Evidence(item.path, None, f"{item.status} ({size(item)})") for item in human.files
        ]
        return ctx.flag(
            ids.DIVERGES_FROM_SUGGESTION,
            "The final diff differs from what the AI proposed: "
            f"{plural(len(human.files), 'file')}, "
            f"+{human.added} {MINUS}{human.removed} lines changed after the suggestion, "
            f"against {plural(total, 'changed line')} in the final diff ({share}).",
            evidence,
        )
    if ctx.suggestion is None:
        return None
    # the suggestion could not be replayed (rebased, patch no longer applies): compare lines
    final, proposed = _line_bag(ctx.final), _line_bag(ctx.suggestion)
    differing = (final - proposed) + (proposed - final)
    if not differing:
        return None
    paths = sorted({path for path, _, _ in differing})
    count = sum(differing.values())
    return ctx.flag(
        ids.DIVERGES_FROM_SUGGESTION,
        f"The suggestion's patch could not be replayed on this branch; comparing lines, "
        f"{plural(count, 'changed line')} of the final diff and the suggestion differ "
        f"(in {listing([_shown_path(p) for p in paths])}; the final diff has {total}).",
        [Evidence(path, None, "lines differ from the suggestion") for path in paths],
        case="not-replayed",
    )


# -- large-diff ----------------------------------------------------------------------------------


def check_large_diff(ctx: Context) -> RiskFlag | None:
    lines, files = changed_lines(ctx.final), len(ctx.final.files)
    max_lines, max_files = ctx.risk.large_diff_lines, ctx.risk.large_diff_files
    if lines <= max_lines and files <= max_files:
        return None
    over = []
    if lines > max_lines:
        over.append(f"{lines} changed lines (risk.large_diff_lines: {max_lines})")
    if files > max_files:
        over.append(f"{files} files (risk.large_diff_files: {max_files})")
    biggest = sorted(ctx.final.files, key=lambda f: (-(f.added + f.removed), f.path))
    return ctx.flag(
        ids.LARGE_DIFF,
        f"The final diff has {' and '.join(over)}: too much to review line by line with "
        "confidence; consider asking for a smaller fix.",
        [Evidence(item.path, None, size(item)) for item in biggest],
    )


# -- merge-commit --------------------------------------------------------------------------------


def check_merge_commit(ctx: Context) -> RiskFlag | None:
    merges = [commit for commit in ctx.fix.commits if len(commit.parents) > 1]
    if not merges:
        return None
    evidence = [
        Evidence(
            None,
            None,
            ctx.excerpt(
                f"{commit.oid[:12]} merges {len(commit.parents)} parents "
                f"({', '.join(p[:12] for p in commit.parents)}): {commit.subject}"
            ),
        )
        for commit in merges
    ]
    shown = listing([commit.oid[:12] for commit in merges])
    return ctx.flag(
        ids.MERGE_COMMIT,
        f"{plural(len(merges), 'commit')} of the fix ({shown}) "
        f"{'is a merge' if len(merges) == 1 else 'are merges'}: a merge can carry changes no "
        "commit of the fix shows on its own (a conflict resolution, an evil merge), and brings "
        "in another branch's history. The final diff is what counts; review it whole.",
        evidence,
    )


# The one binding of each declared flag to the check that raises it, and the only flag that
# check raises (tests/test_flag_registry.py proves both, for every id of the registry).
CHECKS: Mapping[FlagId, Check] = MappingProxyType(
    {
        ids.SENSITIVE_PATH: check_sensitive_path,
        ids.POLICY_CHANGE: check_policy_change,
        ids.CI_CONFIG_CHANGE: check_ci_config_change,
        ids.SECRET_ADDED: check_secret_added,
        ids.HIDDEN_UNICODE: check_hidden_unicode,
        ids.NO_LINKED_FINDING: check_no_linked_finding,
        ids.SUGGESTION_MISMATCH: check_suggestion_mismatch,
        ids.OUT_OF_SCOPE: check_out_of_scope,
        ids.DEPENDENCY_CHANGE: check_dependency_change,
        ids.BINARY_FILE: check_binary_file,
        ids.NO_TEST_CHANGE: check_no_test_change,
        ids.CHECKS_NOT_PASSED: check_checks_not_passed,
        ids.THIN_RATIONALE: check_thin_rationale,
        ids.LARGE_DIFF: check_large_diff,
        ids.MERGE_COMMIT: check_merge_commit,
        ids.DIVERGES_FROM_SUGGESTION: check_diverges,
    }
)


def _redacted(flag: RiskFlag, redact: Redactor) -> RiskFlag:
    if not redact.ordered:
        return flag
    return dc_replace(
        flag,
        title=redact(flag.title),
        detail=redact(flag.detail),
        evidence=tuple(Evidence(e.path, e.line, redact(e.excerpt)) for e in flag.evidence),
    )


def assess(
    fix: Fix,
    final: Diff,
    suggestion: Diff | None,
    human: Diff | None,
    policy: Policy,
    tree: TreeFacts | None = None,
) -> list[RiskFlag]:
    """Run every risk check on a fix's diffs: at most one flag per id, most severe first.

    Pure: no git. FINAL is ``merge-base..head``; SUGGESTION the AI's patch (None when none is
    linked); HUMAN what people changed after it (None when unknown); TREE what was read from
    the repository's trees beforehand (:func:`fixreview.risk.tree.tree_facts`: CI files
    reached by reference, the submodule table), none when None. Flags are ordered block,
    warn, info, then by id.
    """
    secrets, unscanned = find_secrets(final)
    ctx = Context(fix, final, suggestion, human, policy, secrets, unscanned, tree or NO_TREE_FACTS)
    flags = [flag for check in CHECKS.values() if (flag := check(ctx)) is not None]
    return sorted((_redacted(flag, ctx.redact) for flag in flags), key=sort_key)
