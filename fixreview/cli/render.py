"""Text output for people: the ``list`` table and the ``show`` report.

Every untrusted string goes through :func:`fixreview.safetext.visible` first, so no branch
name, title or commit message can send control sequences to the terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fixreview.flag_registry import BLOCKING
from fixreview.safetext import visible, visible_line

if TYPE_CHECKING:  # only named in annotations: `verify` loads no audit, review or diff code
    from fixreview.audit import AuditTrail
    from fixreview.check_rules import ChecksJudgement
    from fixreview.gate import GateResult
    from fixreview.models import CheckState, Finding, Fix
    from fixreview.queue import Queue
    from fixreview.repo.diffs import Diff
    from fixreview.review import ReviewData
    from fixreview.risk import RiskFlag

STATUS_MARK = {
    "added": "A",
    "deleted": "D",
    "modified": "M",
    "renamed": "R",
    "copied": "C",
    "mode-changed": "T",
}


def one_line(text: str | None, width: int | None = None) -> str:
    return visible_line(text or "", width)


def list_table(fixes: list[Fix], flags: dict[str, list[RiskFlag]] | None = None) -> str:
    flags = flags or {}
    columns = [
        ("SEVERITY", 8),
        ("FINDING", 16),
        ("TITLE", 34),
        ("BRANCH", 40),
        ("TOOL", 22),
        ("FILES", 5),
        ("+/-", 11),
        ("FLAGS", 7),
        ("CHECKS", 7),
        ("STATUS", 17),
    ]
    rows = [[name for name, _ in columns]]
    for fix in fixes:
        finding = fix.finding
        rows.append(
            [
                finding.severity if finding else "-",
                finding.id if finding else ("?" if fix.source == "trailers" else "-"),
                finding.title
                if finding
                else "(no linked finding)"
                if fix.source == "none"
                else "(finding not found)",
                fix.branch.name
                if fix.branch.ref.startswith("refs/heads/")
                else fix.branch.ref.removeprefix("refs/remotes/"),
                fix.suggestion.tool if fix.suggestion else "",
                str(fix.stats.files),
                f"+{fix.stats.added}/-{fix.stats.removed}",
                flag_count(flags.get(fix.branch.name)),
                check_count(fix.checks),
                str(fix.branch.status),
            ]
        )
    lines = []
    for row in rows:
        cells = [
            one_line(cell, width).ljust(width)
            for cell, (_, width) in zip(row, columns, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def flag_count(flags: list[RiskFlag] | None) -> str:
    """``3`` flags, or ``2!/5`` when two of five are blocking."""
    if flags is None:
        return "?"
    blocking = sum(1 for f in flags if f.level == BLOCKING)
    return f"{blocking}!/{len(flags)}" if blocking else str(len(flags))


def check_count(checks: list[CheckState]) -> str:
    """``-`` (no check), ``2/2`` (passed of all), ``1!/2`` when a required one has not."""
    if not checks:
        return "-"
    passed = sum(1 for c in checks if c.state == "passed")
    short = any(c.required and c.state != "passed" for c in checks)
    return f"{passed}{'!' if short else ''}/{len(checks)}"


def check_lines(checks: list[CheckState], indent: str = "  ") -> list[str]:
    """Each check at the head: its state, whether required, the record's summary and link."""
    out = []
    for check in checks:
        required = " (required)" if check.required else ""
        out.append(f"{indent}{check.state:<7} {one_line(check.name)}{required}")
        out.append(f"{indent}        {one_line(check.detail)}")
        if check.url:
            out.append(f"{indent}        {one_line(check.url)}")
    return out


def risk_lines(flags: list[RiskFlag]) -> list[str]:
    if not flags:
        return ["Risk flags  none"]
    out = [f"Risk flags  {len(flags)} ({sum(1 for f in flags if f.level == BLOCKING)} blocking)"]
    for flag in flags:
        out.append(f"  {flag.level:<5} {flag.id}: {one_line(flag.title)}")
        out.append(f"        {one_line(flag.detail)}")
        for evidence in flag.evidence[:5]:
            where = evidence.path or ""
            if evidence.line:
                where += f":{evidence.line}"
            out.append(f"        {one_line(where)}  {one_line(evidence.excerpt, 80)}".rstrip())
        if len(flag.evidence) > 5:
            out.append(f"        … and {len(flag.evidence) - 5} more")
    return out


def _block(text: str, indent: str = "    | ") -> list[str]:
    if not text.strip():
        return [f"{indent}(none)"]
    return [f"{indent}{line}" for line in visible(text).splitlines()]


def labelled(label: str, text: str) -> list[str]:
    """LABEL then TEXT made visible with its own line breaks kept, each further line indented
    under the first; every other control or hidden character is still shown as a stand-in."""
    lines = visible(text.strip("\n")).split("\n") if text.strip() else ["(none)"]
    pad = " " * len(label)
    out = [f"{label}{lines[0]}".rstrip()]
    out.extend(f"{pad}{line}".rstrip() if line.strip() else "" for line in lines[1:])
    return out


def _diff_lines(diff: Diff | None) -> list[str]:
    if diff is None:
        return ["  (unavailable)"]
    if not diff.files:
        return ["  (no changes)"]
    lines = []
    for f in diff.files:
        size = "binary" if f.binary else f"+{f.added} -{f.removed}"
        mode = (
            f"  mode {f.old_mode} → {f.new_mode}"
            if f.old_mode and f.new_mode and f.old_mode != f.new_mode
            else ""
        )
        lines.append(f"  {STATUS_MARK[f.status]} {one_line(f.display_path)}  {size}{mode}")
    return lines


def _size(diff: Diff | None) -> str:
    if diff is None:
        return "unavailable"
    files = "1 file" if len(diff.files) == 1 else f"{len(diff.files)} files"
    return f"{files}, +{diff.added} -{diff.removed}"


def show_report(queue: Queue, data: ReviewData) -> str:
    fix, final, suggestion, human = data.fix, data.final, data.suggestion, data.human
    b = fix.branch
    out = [
        f"{one_line(b.name)} → {one_line(b.base)}   [{b.status}]",
        f"  head {b.head[:12]}   merge-base {(b.merge_base or 'none')[:12]}   "
        f"base {one_line(b.base)} at {b.base_commit[:12]}",
        "",
    ]
    finding = fix.finding
    if finding is None:
        out.append("Finding  (none linked)")
    else:
        out.append(
            f"Finding  {one_line(finding.id)}  {finding.severity}  {one_line(finding.title)}"
        )
        details = finding.details() + ([("reason", finding.reason)] if finding.reason else [])
        for label, value in details:  # a reason may run over several lines
            out.extend(labelled(f"  {label:<10}", value))
        out.append("  evidence")
        out.extend(_block(finding.evidence))
    out.extend(f"  ! {one_line(problem)}" for problem in fix.problems)
    out.append("")
    s = fix.suggestion
    if s is None:
        out.append("Suggestion  (none linked)")
    else:
        who = " / ".join(one_line(x) for x in (s.tool, s.model) if x) or "unknown tool"
        when = s.created.date().isoformat() if s.created else "?"
        out.append(f"Suggestion  {who}   commit {s.commit[:12]}  ({when})   from {fix.source}")
        out.append("  rationale")
        out.extend(_block(s.rationale))
        out.append(f"  diff  {_size(suggestion)}")
    out.append("")
    out.extend(risk_lines(data.flags))
    out.append("")
    out.append(f"Checks  {len(fix.checks) or 'none'}")
    out.extend(check_lines(fix.checks))
    out.append("")
    out.append(f"Final change  {_size(final)}")
    out.extend(_diff_lines(final))
    out.append("")
    out.append(f"Human changes after the suggestion  ({one_line(human.how)})")
    if human.diff is not None:
        out.extend(_diff_lines(human.diff))
    out.append("")
    out.append(f"Commits ({len(fix.commits)}, newest first)")
    for c in fix.commits:
        out.append(
            f"  {c.oid[:12]}  {c.committed.date().isoformat()}  "
            f"{one_line(str(c.author))}  {one_line(c.subject, 60)}"
        )
        if c.committer != c.author:
            out.append(f"      committed by {one_line(str(c.committer))}")
        out.extend(f"      {one_line(k)}: {one_line(v)}" for k, v in c.trailers)
    if queue.warnings:
        out.append("")
        out.extend(f"warning: {one_line(w)}" for w in shown_warnings(queue.warnings))
    return "\n".join(out)


MAX_INVALID_SHOWN = 20  # invalid records and warnings listed one by one in verify's text


def shown_warnings(warnings: list[str]) -> list[str]:
    """The first warnings, then one line counting the rest: junk by the thousand (an attacker's
    notes) stays one screen of text; --json lists every one."""
    if len(warnings) <= MAX_INVALID_SHOWN:
        return list(warnings)
    more = len(warnings) - MAX_INVALID_SHOWN
    return [*warnings[:MAX_INVALID_SHOWN], f"… and {more} more warnings (--json lists them all)"]


def gate_report(result: GateResult) -> str:
    """``verify``'s text: what was checked, every decision and why it counts or not."""
    fix = result.fix
    b = fix.branch
    need = f"needs {result.required} approval{'s' if result.required != 1 else ''}"
    if result.sensitive:
        need += " (sensitive paths or policy files touched)"
    out = [
        f"fixreview verify: {one_line(b.name)} at {b.head[:12]} "
        f"(base {one_line(b.base)}, merge-base {(b.merge_base or '?')[:12]})",
        f"  diff sha256 {result.diff_sha256}",
        f"  {need}",
    ]
    if result.merged_as is not None and result.merged_into is not None:
        out.append(
            f"  verified as merge commit {result.merged_as[:12]}: the clean merge of this "
            f"approved head into {result.merged_into[:12]} (a merge queue's commit)"
        )
    if result.blocking_flags:
        out.append(f"  blocking risk flags: {', '.join(result.blocking_flags)}")
    for check in result.checks:
        required = "required check" if check.required else "check"
        out.append(f"  {required} {one_line(check.name)}: {check.state} — {one_line(check.detail)}")
    if not result.judged:
        out.append("  no decisions on this fix")
    invalid = [j for j in result.judged if j.signature is not None and not j.signature.valid]
    hidden = {id(j) for j in invalid[MAX_INVALID_SHOWN:]}
    for j in result.judged:
        if id(j) in hidden:
            continue
        d = j.record.decision
        mark = "counted" if j.counted else ("valid" if j.reason is None else "not counted")
        detail = f"key {j.signature.key}" if j.signature else ""
        if j.reason:
            detail = j.reason
        out.append(
            f"  {mark}: {d.verdict} by {one_line(d.reviewer_label)} at {d.time.isoformat()} "
            f"— {one_line(detail)}"
        )
    if hidden:
        out.append(
            f"  … and {len(hidden)} more records whose signature is not valid "
            "(junk? all are listed by --json)"
        )
    out.extend(f"  warning: {one_line(w)}" for w in shown_warnings(result.warnings))
    if result.approved:
        out.append(f"APPROVED: {len(result.counted)} of {result.required} approvals")
    else:
        for problem in result.problems:  # a veto's comment keeps its line breaks
            out.extend(labelled("NOT APPROVED: ", problem))
    return "\n".join(out)


def _annotation(text: str) -> str:
    value = visible(text, multiline=False)
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def gate_github(result: GateResult) -> str:
    """GitHub Actions workflow commands: one annotation per decision, check and problem."""
    lines = []
    for j in result.judged:
        d = j.record.decision
        text = f"{d.verdict} by {d.reviewer_label}"
        if j.counted:
            lines.append(f"::notice title=fixreview approval::{_annotation(text + ' counts')}")
        elif j.reason:
            message = _annotation(f"{text}: {j.reason}")
            lines.append(f"::warning title=fixreview decision not counted::{message}")
    for check in result.checks:
        kind = "required check" if check.required else "check"
        message = _annotation(f"{kind} {check.name}: {check.state} — {check.detail}")
        level = "notice" if check.state == "passed" else "warning"
        lines.append(f"::{level} title=fixreview check::{message}")
    for warning in result.warnings:
        lines.append(f"::warning title=fixreview::{_annotation(warning)}")
    if result.approved:
        message = _annotation(f"approved: {len(result.counted)} of {result.required} approvals")
        lines.append(f"::notice title=fixreview::{message}")
    else:
        lines.extend(
            f"::error title=fixreview: not approved::{_annotation(p)}" for p in result.problems
        )
    return "\n".join(lines)


def _finding_line(finding: Finding) -> str:
    where = ", ".join(str(loc) for loc in finding.locations)
    return (
        f"{one_line(finding.id)} ({finding.severity}) "
        f"{one_line(finding.title)}{' — ' + one_line(where) if where else ''}"
    )


def audit_report(trail: AuditTrail) -> str:
    """``log``: per fix, what changed, why, who decided, and which finding it answers."""
    from fixreview.rulebook import now_linked  # loaded already with the gate that judged

    out: list[str] = []
    if trail.finding is not None and not trail.entries:
        out.append(f"finding    {_finding_line(trail.finding)}")
        out.append("fixes      none: no fix branch answers this finding")
        return "\n".join(out)
    if not trail.entries:
        return "no fix branches"
    for entry in trail.entries:
        fix = entry.fix
        b = fix.branch
        out.append(f"{one_line(b.name)} → {one_line(b.base)}   head {b.head[:12]}")
        finding = fix.finding
        if finding is not None:
            out.append(f"  finding    {_finding_line(finding)}")
        else:
            out.append("  finding    (none linked)")
        s = fix.suggestion
        if s is not None:
            who = " / ".join(one_line(x) for x in (s.tool, s.model) if x) or "unknown tool"
            out.append(f"  suggested  by {who} at {s.commit[:12]} ({fix.source})")
            out.extend(labelled("  rationale  ", s.rationale))
        out.append(
            f"  changed    {_size(entry.final)}; the AI's suggestion: {_size(entry.suggestion)}; "
            f"people after the AI: {_size(entry.human.diff)}"
        )
        blocking = [f.id for f in entry.flags if f.level == BLOCKING]
        count = len(entry.flags)
        out.append(
            f"  risk       {count} flag{'s' if count != 1 else ''}"
            + (f" ({len(blocking)} blocking: {', '.join(blocking)})" if blocking else "")
        )
        out.extend(logged_checks(entry.checks))
        gate = entry.gate
        if gate is None or not gate.judged:
            out.append("  decisions  none")
        else:
            out.append("  decisions")
            current = fix.finding_id or ""
            for j in sorted(gate.judged, key=lambda j: j.record.decision.time):
                d = j.record.decision
                state = "counts" if j.counted else (j.reason or "valid")
                signed_for = ""
                if d.finding != current:  # shown under the finding it signed
                    was = one_line(d.finding or "(none)")
                    signed_for = f" for finding {was} (the fix is {one_line(now_linked(current))})"
                out.append(
                    f"    {d.time.isoformat()}  {d.verdict} by {one_line(d.reviewer_label)} "
                    f"on {d.head_commit[:12]}{signed_for}: {one_line(state)}"
                )
                if d.comment:
                    out.extend(labelled("      comment: ", d.comment))
        out.extend(f"  ! {one_line(line)}" for line in entry.checks.tampering)
        if gate is not None:
            out.extend(f"  ! {one_line(line)}" for line in gate.tampering)
            if gate.approved:
                out.append("  gate       APPROVED")
            else:
                out.append("  gate       not approved")
                for problem in gate.problems:  # a veto's comment keeps its line breaks
                    out.extend(labelled("    - ", problem))
        out.append("")
    return "\n".join(out).rstrip()


def logged_checks(judgement: ChecksJudgement) -> list[str]:
    """``log``'s checks: where each stands at the head, then every check record on the fix's
    commits in time order, with what it counts for (fixreview.check_rules's judgement)."""
    if not judgement.states and not judgement.judged:
        return ["  checks     none"]
    states = "; ".join(
        f"{one_line(s.name)} {s.state}{' (required)' if s.required else ''}"
        for s in judgement.states
    )
    out = [f"  checks     {states}"]
    for j in sorted(judgement.judged, key=lambda j: j.stored.record.time):
        record = j.stored.record
        out.append(
            f"    {record.time.isoformat()}  {one_line(record.summary())} "
            f"on {record.head_commit[:12]} by {one_line(record.signer_label)}: "
            f"{one_line(j.standing)}"
        )
        if record.url:
            out.append(f"      url: {one_line(record.url)}")
    return out
