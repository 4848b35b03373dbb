"""The JSON that ``list``, ``show``, ``verify`` and ``log`` print with ``--json``: stable
shapes, documented in docs/json.md. Fields are only ever added, never renamed or removed,
within a ``schema``.

Branch names, commit messages, evidence and notes are untrusted. :func:`dumps` writes them as
UTF-8 but escapes, as ``\\uXXXX``, every character a terminal could act on or that a reader
cannot see: C0 and C1 controls (U+009B is a one-byte CSI), DEL, bidirectional controls,
zero-width and other default-ignorable code points, line and paragraph separators, and lone
surrogates. A JSON parser reads back exactly the original strings.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from fixreview.flag_registry import BLOCKING
from fixreview.risk.flags import flag_json
from fixreview.safetext import HIDDEN_CLASS

if TYPE_CHECKING:  # only named in annotations: `list --json` loads no audit or review code
    from fixreview.audit import AuditTrail
    from fixreview.check_rules import JudgedCheck
    from fixreview.gate import GateResult, Judged
    from fixreview.models import CheckState, Commit, Fix
    from fixreview.queue import Queue
    from fixreview.repo.diffs import Diff
    from fixreview.review import ReviewData
    from fixreview.risk import RiskFlag

JSON_SCHEMA = 1

# What json.dumps(ensure_ascii=False) leaves raw and a terminal must not see raw: DEL and the
# C1 controls, every default-ignorable code point (bidi controls, zero-width characters,
# variation selectors, tag characters...) and the other invisible characters safetext knows,
# interlinear annotation controls, and lone surrogates.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\ud800-\udfff\ufff9-\ufffb" + HIDDEN_CLASS + "]")


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:  # JSON spells astral code points as a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def dumps(document: Any) -> str:
    """DOCUMENT as indented JSON, safe to print to a terminal (see the module docstring)."""
    return _JSON_UNSAFE.sub(_json_escape, json.dumps(document, indent=2, ensure_ascii=False))


def fix_row(fix: Fix, flags: list[RiskFlag] | None = None) -> dict[str, Any]:
    """One fix as a ``list --json`` row (with the risk flag counts when FLAGS are given)."""
    finding = fix.finding
    suggestion = fix.suggestion
    return {
        "branch": fix.branch.name,
        "ref": fix.branch.ref,
        "head": fix.branch.head,
        "merge_base": fix.branch.merge_base,
        "status": str(fix.branch.status),
        "source": fix.source,
        "finding_id": finding.id if finding else None,
        "severity": finding.severity if finding else None,
        "title": finding.title if finding else None,
        "tool": suggestion.tool if suggestion else None,
        "model": suggestion.model if suggestion else None,
        "files": fix.stats.files,
        "added": fix.stats.added,
        "removed": fix.stats.removed,
        "problems": list(fix.problems),
        **risk_figures(flags),
        "checks": [check_json(check) for check in fix.checks],
    }


def check_json(check: CheckState) -> dict[str, Any]:
    """One CI check at a fix's head, as the gate judged its records (docs/json.md)."""
    return check.model_dump(mode="json")


def risk_figures(flags: list[RiskFlag] | None) -> dict[str, Any]:
    """``risk_flags`` (how many) and ``blocking_flags`` (their ids): the figures every fix row
    carries, in ``list --json``, ``show --json`` and ``log --json`` alike (null: not assessed)."""
    if flags is None:
        return {"risk_flags": None, "blocking_flags": None}
    return {
        "risk_flags": len(flags),
        "blocking_flags": [f.id for f in flags if f.level == BLOCKING],
    }


def queue_document(
    queue: Queue, fixes: list[Fix], flags: dict[str, list[RiskFlag]] | None = None
) -> dict[str, Any]:
    flags = flags or {}
    return {
        "schema": JSON_SCHEMA,
        "base": queue.policy.base,
        "base_commit": queue.policy.base_commit,
        "fixes": [fix_row(fix, flags.get(fix.branch.name)) for fix in fixes],
        "warnings": list(queue.warnings),
    }


def diff_summary(diff: Diff | None) -> dict[str, Any] | None:
    if diff is None:
        return None
    return {
        "files": len(diff.files),
        "added": diff.added,
        "removed": diff.removed,
        "changes": [
            {
                "path": f.path,
                "old_path": f.old_path,
                "status": f.status,
                "binary": f.binary,
                "old_mode": f.old_mode,
                "new_mode": f.new_mode,
                "added": f.added,
                "removed": f.removed,
            }
            for f in diff.files
        ],
    }


def commit_json(commit: Commit) -> dict[str, Any]:
    return {
        "oid": commit.oid,
        "parents": commit.parents,
        "author": {"name": commit.author.name, "email": commit.author.email},
        "authored": commit.authored.isoformat(),
        "committer": {"name": commit.committer.name, "email": commit.committer.email},
        "committed": commit.committed.isoformat(),
        "subject": commit.subject,
        "body": commit.body,
        "trailers": [[key, value] for key, value in commit.trailers],
    }


def show_document(queue: Queue, data: ReviewData) -> dict[str, Any]:
    fix, final, suggestion, human = data.fix, data.final, data.suggestion, data.human
    suggestion_json = None
    if fix.suggestion is not None:
        suggestion_json = fix.suggestion.model_dump(mode="json", exclude={"patch"})
        suggestion_json["diff"] = diff_summary(suggestion)
    return {
        "schema": JSON_SCHEMA,
        "fix": fix_row(fix, data.flags),
        "base": queue.policy.base,
        "base_commit": queue.policy.base_commit,
        "proposal_id": fix.proposal_id,
        "finding": fix.finding.model_dump(mode="json") if fix.finding else None,
        "suggestion": suggestion_json,
        "final": diff_summary(final),
        "human_changes": {"how": human.how, "diff": diff_summary(human.diff)},
        "commits": [commit_json(c) for c in fix.commits],
        "risk_flags": [flag_json(flag) for flag in data.flags],
        "checks": [check_json(check) for check in fix.checks],
        "warnings": list(queue.warnings),
    }


def gate_document(result: GateResult) -> dict[str, Any]:
    """``verify --json``: the verdict, what it was computed over, and every decision judged."""
    b = result.fix.branch
    return {
        "schema": JSON_SCHEMA,
        "approved": result.approved,
        "branch": b.name,
        "head": b.head,
        "base": b.base,
        "base_commit": b.base_commit,
        "merge_base": b.merge_base,
        "diff_sha256": result.diff_sha256,
        "required": result.required,
        "sensitive": result.sensitive,
        "blocking_flags": result.blocking_flags,
        "checks": [check_json(check) for check in result.checks],
        "decisions": [judged_json(j) for j in result.judged],
        "problems": result.problems,
        "warnings": result.warnings,
        "tampering": result.tampering,
        # when REV was a merge queue's commit verified as the approved head it merges
        "merge_commit": result.merged_as,
        "merged_into": result.merged_into,
    }


def judged_json(judged: Judged) -> dict[str, Any]:
    """One decision as ``verify --json`` lists it: who, what, when, and the gate's judgement."""
    d = judged.record.decision
    return {
        "id": d.id,
        "verdict": d.verdict,
        "finding": d.finding,
        "reviewer": d.reviewer,
        "reviewer_name": d.reviewer_name,
        "time": d.time.isoformat(),
        "head": d.head_commit,
        "key": judged.signature.key if judged.signature else d.key,
        "signature_valid": bool(judged.signature and judged.signature.valid),
        "counted": judged.counted,
        "reason": judged.reason,
    }


def logged_decision(judged: Judged) -> dict[str, Any]:
    """One decision as ``log --json`` lists it: ``verify --json``'s fields, where its note is
    attached, and the whole signed payload (every field, as signed: docs/format.md)."""
    record = judged.record
    return {
        **judged_json(judged),
        "attached_to": record.target,
        "removed_in": record.removed_in,
        "signed": record.decision.model_dump(mode="json", by_alias=True),
    }


def logged_check(judged: JudgedCheck) -> dict[str, Any]:
    """One check record as ``log --json`` lists it: the run, where it is attached, the whole
    signed payload, and what the rules made of it (fixreview.check_rules)."""
    stored = judged.stored
    record = stored.record
    later = judged.overridden_by
    return {
        "id": record.id,
        "name": record.name,
        "status": record.status,
        "junit": record.junit.model_dump(mode="json") if record.junit is not None else None,
        "head": record.head_commit,
        "signer": record.signer,
        "signer_name": record.signer_name,
        "time": record.time.isoformat(),
        "url": record.url,
        "key": judged.signature.key,
        "signature_valid": judged.signature.valid,
        "counted": judged.counted,
        "reason": judged.reason,
        "stale": judged.stale,
        "decides": judged.decides,
        "overridden_by": later.stored.record.id if later is not None else None,
        "attached_to": stored.target,
        "removed_in": stored.removed_in,
        "signed": record.model_dump(mode="json", by_alias=True),
    }


def audit_document(trail: AuditTrail) -> dict[str, Any]:
    """``log --json``: per fix, the row, finding, suggestion, diff sizes, judged decisions and
    judged check records."""
    entries = []
    for entry in trail.entries:
        fix = entry.fix
        gate = entry.gate
        entries.append(
            {
                "fix": fix_row(fix, entry.flags),
                "finding": fix.finding.model_dump(mode="json") if fix.finding else None,
                "suggestion": (
                    fix.suggestion.model_dump(mode="json", exclude={"patch"})
                    if fix.suggestion
                    else None
                ),
                "final": diff_summary(entry.final),
                "suggestion_diff": diff_summary(entry.suggestion),
                "human_changes": {"how": entry.human.how, "diff": diff_summary(entry.human.diff)},
                "risk_flags": [flag_json(flag) for flag in entry.flags],
                "decisions": [logged_decision(j) for j in gate.judged] if gate else [],
                "check_records": [
                    logged_check(j)
                    for j in sorted(entry.checks.judged, key=lambda j: j.stored.record.time)
                ],
                "approved": gate.approved if gate else False,
                "problems": list(gate.problems) if gate else [],
                "tampering": (list(gate.tampering) if gate else []) + entry.checks.tampering,
            }
        )
    return {
        "schema": JSON_SCHEMA,
        "target": trail.target,
        "finding": trail.finding.model_dump(mode="json") if trail.finding else None,
        "entries": entries,
        "warnings": list(trail.queue.warnings),
    }
