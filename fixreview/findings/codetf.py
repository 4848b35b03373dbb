"""CodeTF import: what a codemod tool (Pixee's codemodder) changed, as findings and rationale.

:func:`parse_codetf` reads every result of a CodeTF document (one per codemod run, including
results that changed nothing); :func:`select_change` picks the one a fix branch implements.

Both shapes of the format are read: v2 (``run`` + ``results``, what codemodder writes today)
and v3 (``run`` + ``fixes``, each with ``findingMetadata``, ``changesets`` and
``fixMetadata``; ``fixMetadata.id`` plays the part of the codemod id).

How a result becomes a finding:

- **the fixed finding**: the first entry of the result's ``fixedFindings`` (not in the v2
  schema, but tolerated), else of its changesets' ``fixedFindings`` and their changes'
  ``fixedFindings``, in file order (v3: ``findingMetadata``). Each has an ``id`` (same meaning
  as a SARIF guid) and a ``rule`` {``id``, ``name``, ``url``}.
- **id**: the fixed finding's ``id``, unless it is a UUID (codemodder makes a random one in
  every run: an id must name the same finding in every run); else its rule id ``@`` the path
  (and ``:line``) where it was fixed; with no fixed finding, the codemod id ``@`` the first
  changed path, e.g. ``pixee:python/add-requests-timeouts@introduction/apis.py`` (the codemod
  id alone when the result changed nothing).
- **rule**: the fixed finding's rule id, else the codemod id. **title**: the first that says
  something (:func:`~fixreview.findings.titles.informative_title`: not the rule id or a
  one-word name such as ``tmp.add-requests-timeouts``) of the fixed finding's title (v3:
  ``findingMetadata.summary``, else ``name``), its rule name and the result's ``summary``;
  else the first of them that is not empty, else the codemod id.
- **severity**: CodeTF carries none, so every finding is ``medium``: neither buried at the
  bottom of the queue nor raised as an alarm the producer never made. A person who knows
  better writes a TOML finding instead.
- **scanner**: ``detectionTool.name`` when the result names the tool that found the problem,
  else ``"<vendor> <tool> <version>"`` of the ``run``.
- **locations**: every changed path, with the lines of its changes (``changes[*].lineNumber``,
  an integer or a string of digits; runs of consecutive lines become one range), on the file as
  it was before the run: a line of a file that earlier results of a combined run changed is
  mapped back through their diffs (:mod:`.codetf_lines`). A path with
  no usable line is kept at line 1, because :class:`~fixreview.models.Location` needs one.
- **asset**: the first changed path. **reason**: the result's ``description``.
  **url**: the fixed finding's rule url, else the first ``references[*].url``.
- **evidence**: each changeset's path and unified diff, cut at :data:`EVIDENCE_LIMIT`
  characters in all, with a marker saying how much was left out.

The suggestion side of a change: ``tool`` is ``"<tool> <version>"`` of the run, ``model`` the
first AI model a changeset (v3: ``fixMetadata.generation``) names, and ``rationale`` the
summary, the description, then one line per distinct change description with its path and
lines, any v3 ``reasoning``, and (v3) how the fix was generated: the strategy, the AI provider,
model and tokens, and whether it is provisional.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from fixreview.documents import JsonObject
from fixreview.documents import as_list as _list
from fixreview.documents import as_object as _obj
from fixreview.documents import as_str as _str
from fixreview.documents import load_json as _load_json
from fixreview.errors import InputError, NotFoundError
from fixreview.findings import finding_from
from fixreview.findings.codetf_lines import DiffLayer, RunLines
from fixreview.findings.titles import informative_title
from fixreview.models import Finding, Location, Severity

EVIDENCE_LIMIT = 4_000
"""The most characters of diff kept as a finding's evidence."""

SUGGESTIONS = 5
"""How many valid selectors an error message offers."""

DEFAULT_SEVERITY: Severity = "medium"

# a line number: at most 9 digits (Python refuses to convert more than 4,300, and no file has
# a billion lines)
_DIGITS = re.compile(r"[0-9]{1,9}")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


@dataclass(frozen=True)
class CodetfChange:
    """One codemod result of a CodeTF document, the finding it fixes and why it was made."""

    index: int
    codemod: str
    paths: tuple[str, ...]
    finding: Finding
    tool: str
    rationale: str
    model: str = ""
    fixed_finding_ids: tuple[str, ...] = field(default=())
    diffs: tuple[tuple[str, str], ...] = field(default=())  # (path, unified diff) per changeset
    # each finding the result fixed, with the id the report gives it (FINDING is the first)
    fixed: tuple[tuple[str, Finding], ...] = field(default=())

    def finding_for(self, selector: str | None) -> Finding:
        """The finding a ``--result`` SELECTOR names: one of the findings this result fixed,
        by the report's id or by the finding's own; else the first (:attr:`finding`)."""
        wanted = (selector or "").strip()
        for given, finding in self.fixed:
            if wanted and wanted in (given, finding.id):
                return finding
        return self.finding


# --- reading ---------------------------------------------------------------------------------


def parse_codetf(data: bytes, source: str) -> list[CodetfChange]:
    """Every result of a CodeTF document, in file order.

    Raises :class:`InputError` (``"<source>: <what is wrong>"``) when the data is not JSON or
    not a CodeTF document.
    """
    document = _load_json(data, source)
    if not isinstance(document, dict):
        raise InputError(f"{source}: not a CodeTF document: the top level is not an object")
    run = _obj(document.get("run"))
    vendor = _str(run.get("vendor")).strip()
    tool_name = _str(run.get("tool")).strip()
    version = _str(run.get("version")).strip()
    tool = f"{tool_name} {version}".strip() or vendor
    scanner = " ".join(part for part in (vendor, tool_name, version) if part)
    if isinstance(document.get("results"), list):
        items, name = document["results"], "results"
    elif isinstance(document.get("fixes"), list):
        items, name = document["fixes"], "fixes"
    else:
        raise InputError(f"{source}: not a CodeTF document: no 'results' array")
    changes: list[CodetfChange] = []
    run_lines = RunLines()
    for index, item in enumerate(items):
        where = f"{name}[{index}]"
        if not isinstance(item, dict):
            raise InputError(f"{source}: not a CodeTF document: {where} is not an object")
        raw = _from_v2(item) if name == "results" else _from_v3(item)
        if not raw.codemod:
            noun = "'codemod'" if name == "results" else "'fixMetadata.id'"
            raise InputError(f"{source}: {where} has no {noun}")
        _onto_base(raw, run_lines)
        changes.append(_build(raw, index, tool, scanner, source, where))
    return changes


def _onto_base(raw: _Raw, run_lines: RunLines) -> None:
    """Put RAW's lines on the files as they were before the run (:mod:`codetf_lines`), then
    record its diffs as applied: the lines of the results after it are on the files it left."""
    layers = [(c, DiffLayer.read(c.diff) if c.diff else None) for c in raw.changesets]
    for changeset, own in layers:
        for change in changeset.changes:
            if change.line is None:
                continue
            if raw.right_side and change.side == "right" and own is not None:
                change.line = own.to_old(change.line)  # a v3 "right" line: the new side
            change.line = run_lines.to_base(changeset.path, change.line)
    for fixed in raw.fixed:
        if fixed.path is not None and fixed.line is not None:
            fixed.line = run_lines.to_base(fixed.path, fixed.line)
    for changeset, own in layers:
        if own is not None:
            run_lines.applied(changeset.path, own)


@dataclass
class _Fixed:
    """A finding a changeset says it fixed, and where."""

    id: str
    rule_id: str
    rule_name: str
    rule_url: str
    path: str | None
    line: int | None
    title: str = ""


@dataclass
class _Change:
    line: int | None
    description: str
    side: str = ""  # its diffSide, lower case


@dataclass
class _Changeset:
    path: str
    diff: str
    changes: list[_Change]
    reasoning: str = ""


@dataclass
class _Raw:
    """A v2 result or a v3 fix, read into one shape."""

    codemod: str
    summary: str
    description: str
    urls: list[str]
    changesets: list[_Changeset]
    fixed: list[_Fixed]
    detection_tool: str
    model: str
    failure: str
    generation: str = ""  # how the fix was made (v3 ``fixMetadata.generation``), in words
    right_side: bool = False  # whether a change's "right" diffSide is its diff's new side (v3)


def _from_v2(result: JsonObject) -> _Raw:
    changesets = _changesets(result.get("changeset"))
    first_path = changesets[0].path if changesets else None
    fixed = [
        found
        for entry in _list(result.get("fixedFindings"))
        if (found := _fixed(entry, first_path, None)) is not None
    ]
    model = ""
    for raw_set in _dicts(result.get("changeset")):
        path = _normalise_path(_str(raw_set.get("path")))
        if not path:
            continue
        model = model or _str(_obj(raw_set.get("ai")).get("model")).strip()
        for entry in _list(raw_set.get("fixedFindings")):
            if (found := _fixed(entry, path, None)) is not None:
                fixed.append(found)
        for raw_change in _dicts(raw_set.get("changes")):
            line = _line(raw_change.get("lineNumber"))
            for entry in _list(raw_change.get("fixedFindings")):
                if (found := _fixed(entry, path, line)) is not None:
                    fixed.append(found)
    failure = _obj(result.get("failure"))
    return _Raw(
        codemod=_str(result.get("codemod")).strip(),
        summary=_str(result.get("summary")).strip(),
        description=_str(result.get("description")).strip(),
        urls=_urls(result.get("references")),
        changesets=changesets,
        fixed=fixed,
        detection_tool=_str(_obj(result.get("detectionTool")).get("name")).strip(),
        model=model,
        failure=_str(failure.get("reason")).strip(),
    )


def _from_v3(fix: JsonObject) -> _Raw:
    meta = _obj(fix.get("fixMetadata"))
    changesets = _changesets(fix.get("changesets"))
    first_path = changesets[0].path if changesets else None
    finding_meta = _obj(fix.get("findingMetadata"))
    fixed: list[_Fixed] = []
    found = _fixed(finding_meta, first_path, None)
    if found is not None:
        found.title = (
            _str(finding_meta.get("summary")).strip() or _str(finding_meta.get("name")).strip()
        )
        fixed.append(found)
    generation = _obj(meta.get("generation"))
    return _Raw(
        codemod=_str(meta.get("id")).strip(),
        summary=_str(meta.get("summary")).strip(),
        description=_str(meta.get("description")).strip(),
        urls=_urls(meta.get("references")),
        changesets=changesets,
        fixed=fixed,
        detection_tool="",
        model=_str(_obj(generation.get("ai")).get("model")).strip(),
        failure="",
        generation=_generation(generation),
        right_side=True,
    )


def _generation(generation: JsonObject) -> str:
    """A v3 fix's ``generation`` in words: "AI (openai, gpt-4o, 1,204 tokens), provisional"."""
    strategy = _str(generation.get("strategy")).strip()
    ai = _obj(generation.get("ai"))
    tokens = ai.get("tokens")
    parts = [_str(ai.get("provider")).strip(), _str(ai.get("model")).strip()]
    if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens >= 0:
        parts.append(f"{tokens:,} tokens")
    detail = ", ".join(part for part in parts if part)
    words = {"ai": "AI", "hybrid": "hybrid (AI and rules)", "deterministic": "deterministic rules"}
    text = words.get(strategy.lower(), strategy)
    if detail:
        text = f"{text} ({detail})" if text else detail
    if generation.get("provisional") is True:
        text = f"{text}, provisional: not a final fix" if text else "provisional: not a final fix"
    return text


def _changesets(value: Any) -> list[_Changeset]:
    changesets: list[_Changeset] = []
    for entry in _dicts(value):
        path = _normalise_path(_str(entry.get("path")))
        if not path:
            continue
        changes = [
            _Change(
                line=_line(change.get("lineNumber")),
                description=_str(change.get("description")).strip(),
                side=_str(change.get("diffSide")).strip().lower(),
            )
            for change in _dicts(entry.get("changes"))
        ]
        changesets.append(
            _Changeset(
                path=path,
                diff=_str(entry.get("diff")),
                changes=changes,
                reasoning=_str(entry.get("reasoning")).strip(),
            )
        )
    return changesets


def _fixed(entry: Any, path: str | None, line: int | None) -> _Fixed | None:
    entry = _obj(entry)
    rule = _obj(entry.get("rule"))
    finding_id = _str(entry.get("id")).strip()
    rule_id = _str(rule.get("id")).strip()
    if not finding_id and not rule_id:
        return None
    return _Fixed(
        id=finding_id,
        rule_id=rule_id,
        rule_name=_str(rule.get("name")).strip(),
        rule_url=_str(rule.get("url")).strip(),
        path=path,
        line=line,
    )


def _build(raw: _Raw, index: int, tool: str, scanner: str, source: str, where: str) -> CodetfChange:
    paths = tuple(dict.fromkeys(changeset.path for changeset in raw.changesets))
    fixed: list[tuple[str, Finding]] = []
    made_ids: set[str] = set()  # a report may list thousands: each is looked up once
    for entry in raw.fixed:  # one finding per fixed finding, in file order, each once
        made = _finding(raw, entry, paths, scanner, source, where)
        if made.id not in made_ids:
            made_ids.add(made.id)
            fixed.append((entry.id, made))
    first = fixed[0][1] if fixed else _finding(raw, None, paths, scanner, source, where)
    return CodetfChange(
        index=index,
        codemod=raw.codemod,
        paths=paths,
        finding=first,
        tool=tool,
        rationale=_rationale(raw),
        model=raw.model,
        fixed_finding_ids=tuple(dict.fromkeys(f.id for f in raw.fixed if f.id)),
        diffs=tuple((c.path, c.diff) for c in raw.changesets if c.diff),
        fixed=tuple(fixed),
    )


def _finding(
    raw: _Raw,
    entry: _Fixed | None,
    paths: tuple[str, ...],
    scanner: str,
    source: str,
    where: str,
) -> Finding:
    """The finding of RAW that ENTRY, one of its fixed findings, names (None: it names none)."""
    if entry is not None:
        rule = entry.rule_id or raw.codemod
        stable = entry.id if entry.id and not _UUID.match(entry.id) else ""
        finding_id = stable or _at(rule, entry.path, entry.line)
        title = informative_title([entry.title, entry.rule_name, raw.summary], rule)
        url = entry.rule_url or (raw.urls[0] if raw.urls else "")
    else:
        finding_id = _at(raw.codemod, paths[0] if paths else None, None)
        rule = raw.codemod
        title = informative_title([raw.summary], rule)
        url = raw.urls[0] if raw.urls else ""
    fields: JsonObject = {
        "id": finding_id,
        "title": title or raw.codemod,
        "severity": DEFAULT_SEVERITY,
        "rule": rule,
        "scanner": raw.detection_tool or scanner,
        "asset": paths[0] if paths else "",
        "locations": _locations(raw.changesets),
        "evidence": _evidence(raw.changesets),
        "reason": raw.description,
        "url": url,
    }
    return finding_from(fields, source, where)


def _at(name: str, path: str | None, line: int | None) -> str:
    if path is None:
        return name
    return f"{name}@{path}" if line is None else f"{name}@{path}:{line}"


def _lines_by_path(changesets: list[_Changeset]) -> dict[str, list[int]]:
    lines: dict[str, list[int]] = {}
    for changeset in changesets:
        found = lines.setdefault(changeset.path, [])
        found.extend(change.line for change in changeset.changes if change.line is not None)
    return lines


def _ranges(lines: list[int]) -> list[tuple[int, int]]:
    """Sorted distinct lines as inclusive ranges of consecutive numbers."""
    ranges: list[tuple[int, int]] = []
    for line in sorted(set(lines)):
        if ranges and line == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], line)
        else:
            ranges.append((line, line))
    return ranges


def _span(ranges: list[tuple[int, int]]) -> str:
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def _locations(changesets: list[_Changeset]) -> list[Location]:
    locations: list[Location] = []
    for path, lines in _lines_by_path(changesets).items():
        ranges = _ranges(lines) or [(1, 1)]
        locations.extend(Location(path=path, start_line=a, end_line=b) for a, b in ranges)
    return locations


def _evidence(changesets: list[_Changeset]) -> str:
    text = "\n\n".join(
        f"{changeset.path}\n{changeset.diff.rstrip()}".rstrip() for changeset in changesets
    )
    if len(text) <= EVIDENCE_LIMIT:
        return text
    cut = text.rfind("\n", 0, EVIDENCE_LIMIT)
    cut = cut if cut > EVIDENCE_LIMIT // 2 else EVIDENCE_LIMIT
    return f"{text[:cut]}\n… (truncated: {len(text) - cut} more characters of diff)"


def _rationale(raw: _Raw) -> str:
    parts = [part for part in (raw.summary, raw.description) if part]
    described: dict[tuple[str, str], list[int]] = {}
    for changeset in raw.changesets:
        for change in changeset.changes:
            if change.description:
                lines = described.setdefault((changeset.path, change.description), [])
                if change.line is not None:
                    lines.append(change.line)
    if described:
        rows = ["Changes:"]
        for (path, description), lines in described.items():
            where = f"{path}:{_span(_ranges(lines))}" if lines else path
            rows.append(f"- {where}: {description}")
        parts.append("\n".join(rows))
    for changeset in raw.changesets:
        if changeset.reasoning:
            parts.append(f"Reasoning for {changeset.path}:\n{changeset.reasoning}")
    if raw.generation:
        parts.append(f"Generated by: {raw.generation}")
    if raw.failure:
        parts.append(f"Failed: {raw.failure}")
    return "\n\n".join(parts)


def _dicts(value: Any) -> list[JsonObject]:
    return [item for item in _list(value) if isinstance(item, dict)]


def _line(value: Any) -> int | None:
    """A line number: a positive JSON integer or a string of digits (codemodder writes both)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 1 else None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
        return number if number >= 1 else None
    return None


def _urls(value: Any) -> list[str]:
    return [url for entry in _dicts(value) if (url := _str(entry.get("url")).strip())]


def _normalise_path(path: str) -> str:
    path = path.strip()
    while path.startswith("./"):
        path = path[2:]
    return path


# --- choosing --------------------------------------------------------------------------------


def select_change(
    changes: list[CodetfChange], selector: str | None, changed_paths: set[str], source: str
) -> CodetfChange:
    """The result a fix branch implements.

    ``selector`` is the result's index, its codemod id, or the id of a finding it fixed. With
    no selector, the result whose changed paths overlap ``changed_paths`` (the fix branch's
    changed files) the most; a tie goes to the one with fewer paths the branch did not change,
    and a remaining tie is an error. Raises :class:`NotFoundError` when nothing matches and
    :class:`InputError` when the choice is ambiguous, each with one line saying what to do.
    """
    wanted = (selector or "").strip()
    if not wanted:
        return _by_overlap(changes, changed_paths, source)
    if _DIGITS.fullmatch(wanted):
        number = int(wanted)
        if number < len(changes):
            return changes[number]
        raise NotFoundError(
            f"{source}: no result matches {wanted}: the file has {len(changes)} results "
            f"(indexes 0-{len(changes) - 1}); try one of: {_suggestions(changes, changed_paths)}"
            if changes
            else f"{source}: no result matches {wanted}: the file has no results"
        )
    by_codemod = [change for change in changes if change.codemod == wanted]
    if len(by_codemod) == 1:
        return by_codemod[0]
    if by_codemod:
        raise InputError(
            f"{source}: codemod {wanted} has {len(by_codemod)} results; select one by index: "
            + ", ".join(_label(change) for change in by_codemod[:SUGGESTIONS])
        )
    by_finding = [
        change
        for change in changes
        if wanted in change.fixed_finding_ids or change.finding.id == wanted
    ]
    if len(by_finding) == 1:
        return by_finding[0]
    if by_finding:
        raise InputError(
            f"{source}: {len(by_finding)} results fix finding {wanted}; select one by index: "
            + ", ".join(_label(change) for change in by_finding[:SUGGESTIONS])
        )
    raise NotFoundError(
        f"{source}: no result matches {wanted}; try one of: {_suggestions(changes, changed_paths)}"
        if changes
        else f"{source}: no result matches {wanted}: the file has no results"
    )


def _by_overlap(changes: list[CodetfChange], changed_paths: set[str], source: str) -> CodetfChange:
    if not changes:
        raise NotFoundError(f"{source}: the file has no results")
    if len(changes) == 1 and not changed_paths:
        return changes[0]
    branch = {_normalise_path(path) for path in changed_paths}
    scored = [
        ((len(set(change.paths) & branch), -len(set(change.paths) - branch)), change)
        for change in changes
    ]
    best = max(score for score, _ in scored)
    if best[0] == 0:
        raise NotFoundError(
            f"{source}: no result changes any file the branch changed; "
            f"select one, e.g. {_suggestions(changes, changed_paths)}"
        )
    top = [change for score, change in scored if score == best]
    if len(top) == 1:
        return top[0]
    raise InputError(
        f"{source}: {len(top)} results match the branch's changed files equally well; "
        "select one by index: " + ", ".join(_label(change) for change in top[:SUGGESTIONS])
    )


def _label(change: CodetfChange) -> str:
    return f"{change.index} ({change.codemod})"


def _suggestions(changes: list[CodetfChange], near: Collection[str] = ()) -> str:
    """Up to :data:`SUGGESTIONS` selectors: results on NEAR (the fix branch's changed files)
    first, then results that changed something."""
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.codemod] = counts.get(change.codemod, 0) + 1
    ordered = sorted(changes, key=lambda c: (not set(c.paths) & set(near), not c.paths))
    chosen = [
        change.codemod if counts[change.codemod] == 1 else _label(change)
        for change in ordered[:SUGGESTIONS]
    ]
    more = len(changes) - len(chosen)
    return ", ".join(chosen) + (f" (and {more} more)" if more > 0 else "")
