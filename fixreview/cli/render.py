"""Text output for people: the ``list`` table and the ``show`` report.

Every untrusted string goes through :func:`fixreview.safetext.visible` first, so no branch
name, title or commit message can send control sequences to the terminal.
"""

from __future__ import annotations

from fixreview.changes import HumanChanges
from fixreview.models import Fix
from fixreview.queue import Queue
from fixreview.repo.diffs import Diff
from fixreview.safetext import visible

STATUS_MARK = {
    "added": "A",
    "deleted": "D",
    "modified": "M",
    "renamed": "R",
    "copied": "C",
    "mode-changed": "T",
}


def one_line(text: str | None, width: int | None = None) -> str:
    value = visible(text or "", multiline=False)
    if width is not None and len(value) > width:
        value = value[: width - 1] + "…"
    return value


def list_table(fixes: list[Fix]) -> str:
    columns = [
        ("SEVERITY", 8),
        ("FINDING", 16),
        ("TITLE", 34),
        ("BRANCH", 40),
        ("TOOL", 22),
        ("FILES", 5),
        ("+/-", 11),
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


def _block(text: str, indent: str = "    | ") -> list[str]:
    if not text.strip():
        return [f"{indent}(none)"]
    return [f"{indent}{line}" for line in visible(text).splitlines()]


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


def show_report(
    queue: Queue, fix: Fix, final: Diff, suggestion: Diff | None, human: HumanChanges
) -> str:
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
        for label, value in (
            ("rule", finding.rule),
            ("scanner", finding.scanner),
            ("asset", finding.asset),
            ("locations", ", ".join(str(loc) for loc in finding.locations)),
            ("url", finding.url),
            ("reason", finding.reason),
        ):
            if value:
                out.append(f"  {label:<10}{one_line(value)}")
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
        out.extend(f"warning: {one_line(w)}" for w in queue.warnings)
    return "\n".join(out)
