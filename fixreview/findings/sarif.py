"""SARIF 2.1.0 import: the results of a scanner's log, each as a :class:`~fixreview.models.Finding`.

:func:`parse_sarif` reads every result of every run; :func:`select_result` picks the one a
``propose --sarif F --result SELECTOR`` names; :func:`find_by_id` resolves a ``Finding-Id:``
commit trailer against a findings source.

How a result becomes a finding:

- **rule**: ``result.ruleId``, else ``result.rule.id``, else the id of the rule descriptor found
  by index. The descriptor is ``result.ruleIndex`` (or ``result.rule.index``) into the rules of
  the tool component ``result.rule.toolComponent`` names (``run.tool.extensions[i]``, by index,
  name or guid), the driver otherwise; failing that, the first descriptor with that id in the
  component, the driver, then every extension; failing that, the longest ``/``-separated prefix
  of a hierarchical id (``a/b`` → ``a``).
- **id**: stable across runs: the result's ``correlationGuid`` (SARIF's id of "the same result"
  in every run), else ``RULEID@PATH:LINE`` (its *key*: ``RULEID@PATH`` when the result has no
  line, ``RULEID`` when it has no path). Never its ``guid``, which names one result of one run
  (it still selects the result: ``--result``, trailers).
- **severity**: ``properties["security-severity"]`` of the result, else of the rule (a string or
  a number; GitHub's bands: >= 9.0 critical, >= 7.0 high, >= 4.0 medium, > 0 low, 0 info);
  when absent, negative or unparsable, the SARIF level: the result's ``level``, else (for
  ``kind`` "fail" or no kind) the rule's ``defaultConfiguration.level``, else ``warning``, as
  SARIF specifies; a result of another kind with no level is ``none``. Levels map error → high,
  warning → medium, note → low, none → info.
- **title**: the first that says something (:func:`~fixreview.findings.titles.informative_title`:
  not semgrep's ``Semgrep Finding: …``, bandit's ``blacklist``, the rule id or one word) of the
  rule's ``shortDescription.text``, its ``name`` and the message's first line; else the first
  of them that is not empty, else the rule id. **reason**: ``fullDescription.text``, else
  ``help.text``. **url**: ``helpUri``. **scanner**: the driver's name and its
  ``semanticVersion`` (else ``version``), e.g. "CodeQL 2.19.3".
- **locations**: each ``result.locations[*].physicalLocation`` that names a file (its
  ``artifactLocation.uri``, or the uri of ``run.artifacts[artifactLocation.index]``). Paths are
  percent-decoded, lose a ``file://`` scheme and leading ``./``; an absolute path loses the
  directory of its ``uriBaseId`` in ``run.originalUriBaseIds`` (or, failing that, of any base the
  run declares) so that it becomes repository-relative. Lines come from ``region.startLine`` and
  ``endLine`` (which defaults to ``startLine``). A location with no line (a whole-file result)
  still counts, at line 1, because :class:`~fixreview.models.Location` needs a line; the
  result's own ``line`` (and key) then stays ``None``.
- **asset**: the first location's first logical location (``fullyQualifiedName``, else
  ``name``), else its path.
- **evidence**: the message (``{0}`` placeholders filled from ``message.arguments``, ``{{``/``}}``
  decoded, a message given by ``id`` looked up in the rule's ``messageStrings`` then the driver's
  ``globalMessageStrings``, and ``[text](N)`` links rendered as "text (path:line)" of related
  location ``N``), then each location with its ``region.snippet`` and ``contextRegion.snippet``,
  then every thread flow of every code flow as numbered steps ``N. path:line — message``, then
  any suppressions. It is cut at :data:`EVIDENCE_LIMIT` characters, with a marker.

Results whose ``kind`` is "pass", "notApplicable" or "informational" report no problem and are
skipped; the others keep their position in the run as ``index``, so indexes always match the
file. Suppressed results are kept, since a fix may well target a dismissed alert, and their
suppressions (kind, status, justification) are spelled out in the evidence.

A log that is not JSON, or not shaped like a SARIF log, is an :class:`InputError` naming the
source; any optional field that is missing or of the wrong type is simply ignored.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from fixreview.documents import JsonObject
from fixreview.documents import as_list as _list
from fixreview.documents import as_object as _obj
from fixreview.documents import as_str as _str
from fixreview.documents import load_json as _load_json
from fixreview.errors import InputError, NotFoundError
from fixreview.findings import finding_from
from fixreview.findings.titles import informative_title
from fixreview.models import Finding, Location, Severity

if TYPE_CHECKING:
    from fixreview.progress import Progress

EVIDENCE_LIMIT = 20_000
"""The most characters of evidence kept from one result."""

SUGGESTIONS = 5
"""How many valid selectors an error message offers."""

STAGE_SARIF = "reading SARIF results"
"""What :func:`parse_sarif` tells its progress callback (fixreview/progress.py)."""

SKIPPED_KINDS = frozenset({"pass", "notApplicable", "informational"})

LEVEL_SEVERITY: dict[str, Severity] = {
    "error": "high",
    "warning": "medium",
    "note": "low",
    "none": "info",
}

_INDEX = re.compile(r"(\d+)(?::(\d+))?")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(\d+)\}")
_LINK = re.compile(r"(?<!\\)\[((?:[^\]\\]|\\.)*)\]\((\d+)\)")
_DRIVE = re.compile(r"/[A-Za-z]:/")


@dataclass(frozen=True)
class SarifResult:
    """One result of a SARIF log, where it sits in the log, and the finding it maps to."""

    index: int
    run_index: int
    guid: str | None
    rule_id: str
    path: str | None
    line: int | None
    finding: Finding
    fixes: tuple[FileEdit, ...] = ()  # the first fix the result proposes, by file

    @property
    def key(self) -> str:
        """``RULEID@PATH:LINE``: how a result without a guid is named."""
        return result_key(self.rule_id, self.path, self.line)


@dataclass(frozen=True)
class Replacement:
    """One replacement of a SARIF fix: a region of the file as it was, and what replaces it.
    Lines and columns are 1-based; END_COLUMN None: to the end of END_LINE (its newline
    kept); CHAR_OFFSET, when given, places the region by characters instead."""

    start_line: int | None
    start_column: int
    end_line: int | None
    end_column: int | None
    char_offset: int | None
    char_length: int
    inserted: str


@dataclass(frozen=True)
class FileEdit:
    """What a SARIF fix does to one file."""

    path: str
    replacements: tuple[Replacement, ...]


def result_key(rule_id: str, path: str | None, line: int | None) -> str:
    """``RULEID@PATH:LINE``, shortened to ``RULEID@PATH`` or ``RULEID`` when parts are missing."""
    rule = rule_id or "result"
    if path is None:
        return rule
    if line is None:
        return f"{rule}@{path}"
    return f"{rule}@{path}:{line}"


# --- reading ---------------------------------------------------------------------------------


def parse_sarif(
    data: bytes, source: str, progress: Progress | None = None
) -> list[SarifResult]:
    """All results of all runs. ``source`` names the file in error messages; PROGRESS, when
    given, is told how many of the log's results are read (:data:`STAGE_SARIF`).

    Raises :class:`InputError` (``"<source>: <what is wrong>"``) when the data is not JSON or not
    a SARIF log.
    """
    log = _load_json(data, source)
    if not isinstance(log, dict):
        raise InputError(f"{source}: not a SARIF log: the top level is {_kind(log)}, not an object")
    version = log.get("version")
    if version is not None and not (isinstance(version, str) and version.startswith("2.")):
        raise InputError(f"{source}: unsupported SARIF version {version!r}; expected 2.1.0")
    runs = log.get("runs")
    if not isinstance(runs, list):
        raise InputError(f"{source}: not a SARIF log: no 'runs' array")
    total = sum(
        len(run["results"])
        for run in runs
        if isinstance(run, dict) and isinstance(run.get("results"), list)
    )
    results: list[SarifResult] = []
    read = 0
    for run_index, run in enumerate(runs):
        if not isinstance(run, dict):
            raise InputError(f"{source}: not a SARIF log: runs[{run_index}] is not an object")
        results.extend(_Run(run, run_index, source).results(progress, read, total))
        if isinstance(run.get("results"), list):
            read += len(run["results"])
    if progress is not None:
        progress(STAGE_SARIF, total, total)
    return results


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def _int(value: Any) -> int | None:
    """A JSON integer (never a boolean), or None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _line(value: Any) -> int | None:
    number = _int(value)
    return number if number is not None and number >= 1 else None


def _text_of(message: Any) -> str:
    """The plain text of a message or multiformat message string object."""
    message = _obj(message)
    return _str(message.get("text")) or _str(message.get("markdown"))


@dataclass(frozen=True)
class _Place:
    """A physical location, resolved: a repository-relative path and a range of lines."""

    path: str | None
    start: int | None
    end: int | None
    snippet: str
    context: str
    context_start: int | None
    context_end: int | None

    @property
    def label(self) -> str:
        if self.path is None:
            return "(no file)"
        if self.start is None:
            return self.path
        if self.end is None or self.end == self.start:
            return f"{self.path}:{self.start}"
        return f"{self.path}:{self.start}-{self.end}"


_NO_PLACE = _Place(None, None, None, "", "", None, None)


class _Run:
    """One run of a log: what its results refer to (rules, artifacts, uri bases)."""

    def __init__(self, run: JsonObject, index: int, source: str) -> None:
        self.run = run
        self.index = index
        self.source = source
        tool = _obj(run.get("tool"))
        self.driver = _obj(tool.get("driver"))
        self.extensions = [_obj(item) for item in _list(tool.get("extensions"))]
        self.artifacts = _list(run.get("artifacts"))
        self.logical = _list(run.get("logicalLocations"))
        self.bases = _obj(run.get("originalUriBaseIds"))
        name = _str(self.driver.get("name")).strip()
        version = (
            _str(self.driver.get("semanticVersion")).strip()
            or _str(self.driver.get("version")).strip()
        )
        self.scanner = f"{name} {version}".strip()

    def results(
        self, progress: Progress | None = None, before: int = 0, total: int = 0
    ) -> list[SarifResult]:
        """The run's results; PROGRESS, when given, is told each one read (BEFORE of the log's
        TOTAL were read in earlier runs)."""
        raw = self.run.get("results")
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise InputError(
                f"{self.source}: not a SARIF log: runs[{self.index}].results is not an array"
            )
        out: list[SarifResult] = []
        for position, result in enumerate(raw):
            if progress is not None:
                progress(STAGE_SARIF, before + position, total)
            if not isinstance(result, dict):
                raise InputError(
                    f"{self.source}: not a SARIF log: "
                    f"runs[{self.index}].results[{position}] is not an object"
                )
            if _str(result.get("kind")) in SKIPPED_KINDS:
                continue
            out.append(self.result(result, position))
        return out

    # -- rules --

    def component(self, reference: JsonObject) -> JsonObject | None:
        """The tool component a ``toolComponentReference`` names, or None when it names none."""
        index = _int(reference.get("index"))
        if index is not None and index >= 0:
            return self.extensions[index] if index < len(self.extensions) else None
        name = _str(reference.get("name"))
        guid = _str(reference.get("guid")).lower()
        for component in (self.driver, *self.extensions):
            if name and _str(component.get("name")) == name:
                return component
            if guid and _str(component.get("guid")).lower() == guid:
                return component
        return None

    def rule(self, result: JsonObject, rule_id: str) -> JsonObject:
        reference = _obj(result.get("rule"))
        component: JsonObject | None = self.driver
        if isinstance(reference.get("toolComponent"), dict):
            component = self.component(reference["toolComponent"])
        index = _int(result.get("ruleIndex"))
        if index is None or index < 0:
            index = _int(reference.get("index"))
        if component is not None and index is not None and index >= 0:
            rules = _list(component.get("rules"))
            if index < len(rules) and isinstance(rules[index], dict):
                return _obj(rules[index])
        if not rule_id:
            return {}
        searched = [c for c in (component, self.driver, *self.extensions) if c is not None]
        for wanted in _hierarchy(rule_id):
            for candidate in searched:
                for rule in _list(candidate.get("rules")):
                    if isinstance(rule, dict) and _str(rule.get("id")) == wanted:
                        return rule
        return {}

    # -- locations --

    def place(self, location: Any) -> _Place:
        physical = _obj(_obj(location).get("physicalLocation"))
        if not physical:
            return _NO_PLACE
        path = self.path_of(_obj(physical.get("artifactLocation")))
        region = _obj(physical.get("region"))
        context = _obj(physical.get("contextRegion"))
        start = _line(region.get("startLine"))
        end = _line(region.get("endLine")) if start is not None else None
        if start is not None and (end is None or end < start):
            end = start
        context_start = _line(context.get("startLine"))
        context_end = _line(context.get("endLine")) or context_start
        return _Place(
            path=path,
            start=start,
            end=end,
            snippet=_str(_obj(region.get("snippet")).get("text")),
            context=_str(_obj(context.get("snippet")).get("text")),
            context_start=context_start,
            context_end=context_end,
        )

    def path_of(self, artifact_location: JsonObject) -> str | None:
        uri = _str(artifact_location.get("uri"))
        base_id = _str(artifact_location.get("uriBaseId"))
        index = _int(artifact_location.get("index"))
        if not uri and index is not None and 0 <= index < len(self.artifacts):
            artifact = _obj(_obj(self.artifacts[index]).get("location"))
            uri = _str(artifact.get("uri"))
            base_id = base_id or _str(artifact.get("uriBaseId"))
        if not uri.strip():
            return None
        path = self.normalise(uri.strip(), base_id)
        return path or None

    def normalise(self, uri: str, base_id: str) -> str:
        path = _decode_uri(uri)
        if path.startswith("/"):
            named = [base_id] if base_id else []
            for name in (*named, *self.bases):
                base = self.base_path(name, set())
                if base and path.startswith(base):
                    path = path[len(base) :]
                    break
        while path.startswith("./"):
            path = path[2:]
        return path

    def base_path(self, name: str, seen: set[str]) -> str | None:
        """The absolute directory (ending in ``/``) a ``uriBaseId`` stands for, when known."""
        if name in seen:
            return None
        seen.add(name)
        entry = _obj(self.bases.get(name))
        uri = _str(entry.get("uri")).strip()
        if not uri:
            return None
        path = _decode_uri(uri)
        if not path.startswith("/"):
            parent = _str(entry.get("uriBaseId"))
            parent_path = self.base_path(parent, seen) if parent else None
            if parent_path is None:
                return None
            path = parent_path + path.removeprefix("./")
        return path if path.endswith("/") else path + "/"

    def asset(self, location: Any, place: _Place) -> str:
        for logical in _list(_obj(location).get("logicalLocations")):
            logical = _obj(logical)
            index = _int(logical.get("index"))
            if index is not None and 0 <= index < len(self.logical):
                logical = {**_obj(self.logical[index]), **logical}
            name = _str(logical.get("fullyQualifiedName")) or _str(logical.get("name"))
            if name.strip():
                return name.strip()
        return place.path or ""

    # -- results --

    def result(self, result: JsonObject, position: int) -> SarifResult:
        reference = _obj(result.get("rule"))
        rule_id = _str(result.get("ruleId")).strip() or _str(reference.get("id")).strip()
        rule = self.rule(result, rule_id)
        rule_id = rule_id or _str(rule.get("id")).strip()

        located = [(location, self.place(location)) for location in _list(result.get("locations"))]
        places = [place for _, place in located if place.path is not None]
        first = places[0] if places else None
        path = first.path if first else None
        line = first.start if first else None

        guid = (
            _str(result.get("guid")).strip() or _str(result.get("correlationGuid")).strip() or None
        )
        related = self.related(result)
        message = _substitute_links(self.message(_obj(result.get("message")), rule), related)
        title = informative_title(
            [
                _text_of(rule.get("shortDescription")).strip(),
                _str(rule.get("name")).strip(),
                _first_line(message),
            ],
            rule_id,
        )
        asset = ""
        for location, place in located:
            if place.path is not None:
                asset = self.asset(location, place)
                break

        fields: JsonObject = {
            # a result's guid is new in every run; its correlationGuid is what runs share
            "id": _str(result.get("correlationGuid")).strip() or result_key(rule_id, path, line),
            "title": title,
            "severity": _severity(result, rule),
            "rule": rule_id,
            "scanner": self.scanner,
            "asset": asset,
            "locations": [
                Location(path=p.path or "", start_line=p.start or 1, end_line=p.end) for p in places
            ],
            "evidence": self.evidence(result, message, places, rule, related),
            "reason": (
                _text_of(rule.get("fullDescription")).strip() or _text_of(rule.get("help")).strip()
            ),
            "url": _str(rule.get("helpUri")).strip(),
        }
        where = f"runs[{self.index}].results[{position}]"
        finding = finding_from(fields, self.source, where)
        return SarifResult(
            index=position,
            run_index=self.index,
            guid=guid,
            rule_id=rule_id,
            path=path,
            line=line,
            finding=finding,
            fixes=self.fixes(result),
        )

    def fixes(self, result: JsonObject) -> tuple[FileEdit, ...]:
        """The result's first fix (the others are alternatives to it), by file."""
        offered = _list(result.get("fixes"))
        if not offered:
            return ()
        edits: list[FileEdit] = []
        for change in _list(_obj(offered[0]).get("artifactChanges")):
            change = _obj(change)
            path = self.path_of(_obj(change.get("artifactLocation")))
            replacements = tuple(
                r for r in map(_replacement, _list(change.get("replacements"))) if r is not None
            )
            if path is not None and replacements:
                edits.append(FileEdit(path, replacements))
        return tuple(edits)

    def message(self, message: JsonObject, rule: JsonObject) -> str:
        text = _str(message.get("text"))
        if not text:
            message_id = _str(message.get("id"))
            if message_id:
                for table in (rule.get("messageStrings"), self.driver.get("globalMessageStrings")):
                    text = _text_of(_obj(table).get(message_id))
                    if text:
                        break
        if not text:
            text = _str(message.get("markdown"))
        arguments = [
            item if isinstance(item, str) else json.dumps(item)
            for item in _list(message.get("arguments"))
        ]
        return _substitute(text, arguments)

    def related(self, result: JsonObject) -> dict[int, str]:
        """Related locations by id, as ``path:line`` labels, for ``[text](id)`` links."""
        labels: dict[int, str] = {}
        for location in _list(result.get("relatedLocations")):
            number = _int(_obj(location).get("id"))
            if number is not None:
                place = self.place(location)
                if place.path is not None:
                    labels[number] = place.label
        return labels

    def evidence(
        self,
        result: JsonObject,
        message: str,
        places: list[_Place],
        rule: JsonObject,
        related: dict[int, str],
    ) -> str:
        parts: list[str] = [message.strip() or "(no message)"]
        for place in places:
            block = [f"Location: {place.label}"]
            if place.snippet.strip():
                block.append(_indent(place.snippet, "    "))
            if place.context.strip() and place.context.strip() != place.snippet.strip():
                span = ""
                if place.context_start is not None:
                    span = f" (lines {place.context_start}-{place.context_end})"
                block.append(f"  context{span}:")
                block.append(_indent(place.context, "    "))
            parts.append("\n".join(block))
        parts.extend(self.flows(result, rule, related))
        for suppression in _list(result.get("suppressions")):
            suppression = _obj(suppression)
            kind = _str(suppression.get("kind")) or "unknown kind"
            status = _str(suppression.get("status")) or "no status"
            justification = _str(suppression.get("justification")).strip()
            line = f"Suppressed ({kind}, {status})"
            parts.append(f"{line}: {justification}" if justification else line)
        return _truncate("\n\n".join(parts), EVIDENCE_LIMIT)

    def flows(self, result: JsonObject, rule: JsonObject, related: dict[int, str]) -> list[str]:
        blocks: list[str] = []
        code_flows = [_obj(flow) for flow in _list(result.get("codeFlows"))]
        for flow_number, code_flow in enumerate(code_flows, start=1):
            thread_flows = [_obj(flow) for flow in _list(code_flow.get("threadFlows"))]
            flow_message = self.message(_obj(code_flow.get("message")), rule).strip()
            for thread_number, thread_flow in enumerate(thread_flows, start=1):
                if len(thread_flows) > 1:
                    name = f"Flow {flow_number}.{thread_number}"
                else:
                    name = f"Flow {flow_number}" if len(code_flows) > 1 else "Flow"
                header = f"{name}: {flow_message}" if flow_message else f"{name}:"
                lines = [header]
                steps = _list(thread_flow.get("locations"))
                for step_number, step in enumerate(steps, start=1):
                    location = _obj(_obj(step).get("location"))
                    place = self.place(location)
                    label = place.label if place.path is not None else "(no location)"
                    text = _substitute_links(
                        self.message(_obj(location.get("message")), rule), related
                    ).strip()
                    text = " ".join(text.split())
                    step_line = f"  {step_number}. {label}"
                    lines.append(f"{step_line} — {text}" if text else step_line)
                blocks.append("\n".join(lines))
        return blocks


def _replacement(value: Any) -> Replacement | None:
    replacement = _obj(value)
    region = _obj(replacement.get("deletedRegion"))
    start_line, char_offset = _int(region.get("startLine")), _int(region.get("charOffset"))
    if start_line is None and char_offset is None:
        return None
    return Replacement(
        start_line=start_line,
        start_column=_int(region.get("startColumn")) or 1,
        end_line=_int(region.get("endLine")) or start_line,
        end_column=_int(region.get("endColumn")),
        char_offset=char_offset,
        char_length=_int(region.get("charLength")) or 0,
        inserted=_str(_obj(replacement.get("insertedContent")).get("text")),
    )


def _hierarchy(rule_id: str) -> Iterable[str]:
    """The id itself, then its ``/``-separated prefixes, longest first."""
    parts = rule_id.split("/")
    for end in range(len(parts), 0, -1):
        yield "/".join(parts[:end])


def _decode_uri(uri: str) -> str:
    """A uri as a plain path: scheme ``file:`` dropped, percent-escapes decoded."""
    if uri[:5].lower() == "file:":
        parts = urlsplit(uri)
        path = unquote(parts.path)
        if parts.netloc and parts.netloc.lower() != "localhost":
            path = f"//{parts.netloc}{path}"
        if _DRIVE.match(path):
            path = path[1:]
        return path
    return unquote(uri)


def _substitute(text: str, arguments: list[str]) -> str:
    """Fill ``{N}`` placeholders from ``arguments`` and decode ``{{`` and ``}}``."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        number = int(match.group(1))
        return arguments[number] if number < len(arguments) else token

    return _PLACEHOLDER.sub(replace, text)


def _substitute_links(text: str, related: dict[int, str]) -> str:
    """Render ``[text](N)`` links to related locations as ``text (path:line)``."""

    def replace(match: re.Match[str]) -> str:
        label = re.sub(r"\\(.)", r"\1", match.group(1))
        where = related.get(int(match.group(2)))
        return f"{label} ({where})" if where else label

    return _LINK.sub(replace, text)


def _security_severity(value: Any) -> Severity | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        score = float(value)
    elif isinstance(value, str):
        try:
            score = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    if not math.isfinite(score) or score < 0:
        return None
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0:
        return "low"
    return "info"


def _severity(result: JsonObject, rule: JsonObject) -> Severity:
    for holder in (result, rule):
        found = _security_severity(_obj(holder.get("properties")).get("security-severity"))
        if found is not None:
            return found
    level = _str(result.get("level")).lower()
    if level in LEVEL_SEVERITY:
        return LEVEL_SEVERITY[level]
    kind = _str(result.get("kind")) or "fail"
    if kind != "fail":
        return LEVEL_SEVERITY["none"]
    level = _str(_obj(rule.get("defaultConfiguration")).get("level")).lower()
    return LEVEL_SEVERITY.get(level, LEVEL_SEVERITY["warning"])


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.rstrip("\n").splitlines())


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n… (truncated: {len(text) - limit} more characters)"


# --- choosing --------------------------------------------------------------------------------


def select_result(
    results: list[SarifResult],
    selector: str | None,
    source: str,
    changed_paths: Collection[str] = (),
) -> SarifResult:
    """The result a selector names (the hints of an error list first the results on
    CHANGED_PATHS, the fix branch's changed files).

    ``selector`` is the result's index in its run (a decimal string; ``RUN:INDEX`` for another
    run than the first), its guid, or ``RULEID@PATH:LINE``. ``None`` is allowed only when the log
    holds exactly one result. Raises :class:`NotFoundError` when nothing matches (listing valid
    selectors) and :class:`InputError` when several results match (saying how to pick one).
    """
    wanted = (selector or "").strip()
    if not wanted:
        if len(results) == 1:
            return results[0]
        if not results:
            raise NotFoundError(f"{source}: the log has no results")
        raise InputError(
            f"{source}: the log has {len(results)} results; choose one, "
            f"e.g. {_suggestions(results, changed_paths)}"
        )
    numeric = _INDEX.fullmatch(wanted)
    if numeric is not None:
        if numeric.group(2) is None:
            run_index, index = 0, int(numeric.group(1))
        else:
            run_index, index = int(numeric.group(1)), int(numeric.group(2))
        for result in results:
            if result.run_index == run_index and result.index == index:
                return result
        raise _not_found(results, wanted, source, changed_paths)
    lowered = wanted.lower()
    for candidates in (
        [r for r in results if r.guid is not None and r.guid.lower() == lowered],
        [r for r in results if r.key == _normalise_key(wanted)],
    ):
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            raise InputError(
                f"{source}: {len(candidates)} results match {wanted}; choose one by index "
                f"or guid: {', '.join(_label(r, results) for r in candidates[:SUGGESTIONS])}"
            )
    raise _not_found(results, wanted, source, changed_paths)


def find_by_id(results: list[SarifResult], finding_id: str) -> SarifResult | None:
    """The result a ``Finding-Id:`` trailer names: by finding id, guid, or ``RULEID@PATH:LINE``.

    Indexes are not accepted: they change from one scan to the next. When several results share
    a key (the same rule at the same place), the first is returned.
    """
    wanted = finding_id.strip()
    if not wanted:
        return None
    lowered = wanted.lower()
    key = _normalise_key(wanted)
    for result in results:
        if result.finding.id == wanted:
            return result
    for result in results:
        if result.guid is not None and result.guid.lower() == lowered:
            return result
    for result in results:
        if result.key == key:
            return result
    return None


def _normalise_key(text: str) -> str:
    """A ``RULEID@PATH:LINE`` given by a person, with its path written as the log's would be."""
    rule, at, rest = text.partition("@")
    if not at:
        return text
    while rest.startswith("./"):
        rest = rest[2:]
    return f"{rule}@{rest}"


def _several_runs(results: list[SarifResult]) -> bool:
    return any(result.run_index != 0 for result in results)


def _index_selector(result: SarifResult, results: list[SarifResult]) -> str:
    if _several_runs(results):
        return f"{result.run_index}:{result.index}"
    return str(result.index)


def _label(result: SarifResult, results: list[SarifResult]) -> str:
    """An index selector with what it points at, e.g. ``3 (guid 1f2e…)``."""
    what = f"guid {result.guid}" if result.guid else result.key
    return f"{_index_selector(result, results)} ({what})"


def _suggestions(results: list[SarifResult], near: Collection[str] = ()) -> str:
    """Up to :data:`SUGGESTIONS` valid selectors: a unique key, else the guid, else the index;
    the results on NEAR (the fix branch's changed files) first."""
    keys: dict[str, int] = {}
    for result in results:
        keys[result.key] = keys.get(result.key, 0) + 1
    ordered = sorted(results, key=lambda r: r.path not in near)  # stable: file order kept
    chosen: list[str] = []
    for result in ordered[:SUGGESTIONS]:
        if keys[result.key] == 1:
            chosen.append(result.key)
        elif result.guid:
            chosen.append(result.guid)
        else:
            chosen.append(_index_selector(result, results))
    more = len(results) - len(chosen)
    return ", ".join(chosen) + (f" (and {more} more)" if more > 0 else "")


def _not_found(
    results: list[SarifResult], selector: str, source: str, near: Collection[str] = ()
) -> NotFoundError:
    if not results:
        return NotFoundError(f"{source}: no result matches {selector}; the log has no results")
    return NotFoundError(
        f"{source}: no result matches {selector}; try one of: {_suggestions(results, near)}"
    )
