"""The review screen: the finding and checklist beside the diff views, risk flags above them.

Views, switched by key: the final diff (``d``), the AI's original suggestion with its rationale
(``o``), what people changed between suggestion and final (``h``), and the commits (``c``).
``]``/``[`` move to the next/previous fix without going back to the queue.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Header, Static

from fixreview.app.plain import one_line, plain, say
from fixreview.app.screens.note import NoteDialog
from fixreview.app.widgets.checklist import ChecklistView
from fixreview.app.widgets.diff_view import DiffView
from fixreview.app.widgets.flag_panel import FlagPanel
from fixreview.app.widgets.key_footer import KeyFooter
from fixreview.app.widgets.risk_bar import FlagChip, RiskBar
from fixreview.decisions import CHECKLIST_ITEMS, CHECKLIST_LABELS, Verdict
from fixreview.drafts import Draft
from fixreview.gate import GateResult
from fixreview.models import CheckState, Fix
from fixreview.repo.diffs import Diff
from fixreview.review import ReviewData
from fixreview.risk import Evidence, RiskFlag
from fixreview.rulebook import Reason
from fixreview.session import ReviewSession

PREVIEW_DRAW_WAIT = 0.5  # seconds the worker waits for a long diff's first lines to be drawn
NO_SUGGESTION = "No AI suggestion is linked to this fix: there is nothing to compare."

VIEWS = {
    "final": "Final diff",
    "suggestion": "AI suggestion",
    "human": "Human changes",
    "commits": "Decisions and commits",
}


def view_title(name: str, diff: Diff | None = None) -> Text:
    """The title over view NAME; over a preview of a long diff (DIFF), how much it shows."""
    title = Text(VIEWS[name], style="bold")
    if diff is not None and diff.total_lines is not None:
        shown = diff.raw.count("\n")
        title.append(
            f"  the first {shown:,} of {diff.total_lines:,} lines; reading the rest…", style="dim"
        )
    return title


def finding_text(fix: Fix) -> Text:
    """The finding panel, built from plain text only."""
    text = Text()
    finding = fix.finding
    if finding is None:
        text.append("No linked finding\n", style="bold")
        for problem in fix.problems:
            text.append_text(plain(problem + "\n", style="italic"))
        return text
    text.append_text(one_line(finding.id, style="bold"))
    text.append(f"  {finding.severity.upper()}\n", style="bold")
    text.append_text(plain(finding.title + "\n", style="bold"))
    for label, value in finding.details():
        text.append(f"{label:<10}", style="dim")
        text.append_text(one_line(value))
        text.append("\n")
    if finding.reason:
        text.append("\nreason\n", style="dim")
        text.append_text(plain(finding.reason + "\n"))
    for problem in fix.problems:
        text.append_text(plain("\n" + problem, style="italic"))
    text.append("\nevidence", style="dim")
    return text


def evidence_text(fix: Fix) -> Text:
    """The finding's evidence, code as it is: never soft-wrapped (its panel scrolls sideways)."""
    finding = fix.finding
    if finding is None:
        return Text()
    return plain(finding.evidence or "(none)")


def suggestion_text(fix: Fix) -> Text:
    s = fix.suggestion
    if s is None:
        return Text("No AI suggestion is linked to this branch.")
    text = Text()
    who = " / ".join(x for x in (s.tool, s.model) if x) or "unknown tool"
    text.append_text(one_line(who, style="bold"))
    text.append(f"  commit {s.commit[:12]}  ({fix.source})\n", style="dim")
    text.append_text(plain(s.rationale.strip() or "(no rationale given)"))
    return text


def decisions_text(gate: GateResult | None) -> Text:
    """Every decision recorded on the fix, as the verify gate judges it, comments verbatim."""
    text = Text("Decisions\n", style="bold underline")
    if gate is None or not gate.judged:
        text.append("No decisions recorded on this fix yet.\n\n")
        return text
    for j in sorted(gate.judged, key=lambda j: j.record.decision.time):
        d = j.record.decision
        state = "counts" if j.counted else (j.reason or "valid")
        text.append(f"{d.time.isoformat()}  {d.verdict}  ", style="bold")
        text.append_text(one_line(d.reviewer_label))
        text.append(f"  on {d.head_commit[:12]}\n")
        text.append("  ")
        text.append_text(one_line(state, style="italic"))
        text.append("\n")
        if d.comment:
            text.append_text(plain(f"  {d.comment}\n"))
    for line in gate.tampering:
        text.append("! ", style="bold red")
        text.append_text(one_line(line))
        text.append("\n")
    verdict = "APPROVED" if gate.approved else "not approved: " + "; ".join(gate.problems)
    text.append("gate: ", style="dim")
    text.append_text(one_line(verdict))
    text.append("\n\n")
    return text


# how each CI check state reads on screen (mark, style); a required check not passed is red
CHECK_MARK = {"passed": ("✓", "green"), "failed": ("✗", "bold red"), "stale": ("~", "yellow")}


def _check_mark(check: CheckState) -> tuple[str, str]:
    mark, style = CHECK_MARK.get(check.state, ("?", "dim"))
    if check.required and check.state != "passed":
        style = "bold red"
    return mark, style


def checks_line(checks: list[CheckState]) -> Text:
    """The CI checks of this head in one line, beside the risk flags: each check's mark, name
    and state (``required`` when the gate asks for it and it has not passed)."""
    text = Text("CI checks: ", style="dim")
    if not checks:
        text.append("none recorded on this head", style="dim")
        return text
    for index, check in enumerate(checks):
        if index:
            text.append("  ")
        mark, style = _check_mark(check)
        text.append(f"{mark} ", style=style)
        text.append_text(one_line(check.name, style="bold"))
        text.append(f" {check.state}", style=style)
        if check.required and check.state != "passed":
            text.append(" (required)", style=style)
    return text


def checks_text(checks: list[CheckState]) -> Text:
    """Every CI check of this head, as the gate judges their records: state, name, the
    deciding record's summary (counts, head, signer, time) and its run's link."""
    text = Text("CI checks\n", style="bold underline")
    if not checks:
        text.append("No check recorded on this head, and none required.\n\n")
        return text
    for check in checks:
        mark, style = _check_mark(check)
        text.append(f"{mark} {check.state:<7} ", style=style)
        text.append_text(one_line(check.name, style="bold"))
        text.append(" (required)\n" if check.required else "\n")
        text.append("  ")
        text.append_text(one_line(check.detail, style="italic"))
        text.append("\n")
        if check.url:
            text.append("  ")
            text.append_text(one_line(check.url))
            text.append("\n")
    text.append("\n")
    return text


def commits_text(fix: Fix) -> Text:
    text = Text()
    for c in fix.commits:
        text.append(f"{c.oid[:12]}  {c.committed.isoformat()}\n", style="bold")
        text.append("author     ", style="dim")
        text.append_text(one_line(str(c.author)))
        text.append("\n")
        if c.committer != c.author:
            text.append("committer  ", style="dim")
            text.append_text(one_line(str(c.committer)))
            text.append("\n")
        text.append_text(plain(c.subject + "\n", style="bold"))
        if c.body:
            text.append_text(plain(c.body + "\n"))
        for key, value in c.trailers:
            text.append_text(one_line(f"{key}: {value}", style="italic"))
            text.append("\n")
        text.append("\n")
    return text or Text("No commits beyond the base.")


def standing_text(data: ReviewData, obstacles: tuple[Reason, ...]) -> Text:
    """How many approvals the fix has and needs, and why this reviewer's would not count."""
    have, needed = data.approvals
    text = Text(f"approvals: {have} of {needed}", style="bold")
    if obstacles:
        text.append("   your approval would not count: ", style="bold red")
        text.append_text(one_line("; ".join(map(str, obstacles)), style="red"))
    return text


# footer groups: their keys side by side under one word (help and the palette name each key)
DECIDE = Binding.Group("decide", compact=True)
FIX = Binding.Group("fix", compact=True)
VIEW = Binding.Group("view", compact=True)
FILE = Binding.Group("file", compact=True)


class ReviewScreen(Screen[None]):
    """One fix under review."""

    # below 100 columns the finding stacks above the diff (app.tcss: ReviewScreen.-narrow)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012 (as Textual types it)

    BINDINGS: ClassVar[list[BindingType]] = [
        # the footer shows these first, in this order, and fits at 80 columns: the decisions,
        # moving between fixes, the views, the files, then flags and notes (docs/app.md)
        Binding("A", "decide('approve')", "Approve", id="review.approve", group=DECIDE),
        Binding(
            "C",
            "decide('request-changes')",
            "Request changes",
            id="review.request-changes",
            group=DECIDE,
        ),
        Binding("X", "decide('reject')", "Reject", id="review.reject", group=DECIDE),
        Binding("right_square_bracket", "next_fix", "Next fix", id="review.next-fix", group=FIX),
        Binding(
            "left_square_bracket", "previous_fix", "Prev fix", id="review.previous-fix", group=FIX
        ),
        Binding("d", "view('final')", "Final", id="review.view-final", group=VIEW),
        Binding("o", "view('suggestion')", "Suggestion", id="review.view-suggestion", group=VIEW),
        Binding("h", "view('human')", "Human changes", id="review.view-human", group=VIEW),
        Binding("c", "view('commits')", "Commits", id="review.view-commits", group=VIEW),
        Binding("n", "next_file", "Next file", id="review.next-file", group=FILE),
        Binding("p", "previous_file", "Prev file", id="review.previous-file", group=FILE),
        Binding("f", "next_flag", "Next flag", id="review.next-flag"),
        Binding("1", "toggle_item(0)", "Intent", id="review.toggle-intent", show=False),
        Binding("2", "toggle_item(1)", "Scope", id="review.toggle-scope", show=False),
        Binding("3", "toggle_item(2)", "Blast radius", id="review.toggle-blast-radius", show=False),
        Binding("4", "toggle_item(3)", "Rollback", id="review.toggle-rollback", show=False),
        Binding(
            "e",
            "edit_note",
            "Note",
            tooltip="Edit the note of the selected checklist item",
            id="review.edit-note",
        ),
        Binding("escape", "back", "Queue", id="review.back"),
    ]

    @dataclass
    class Loaded(Message):
        """The review of a fix is loaded (its risk flags are known), with the reasons this
        reviewer's approval of it would not count whatever they confirm (OBSTACLES)."""

        data: ReviewData
        obstacles: tuple[Reason, ...] = ()

    @dataclass
    class FinalDiff(Message):
        """The final diff of BRANCH is parsed: shown before anything else is known."""

        branch: str
        diff: Diff
        shown: threading.Event | None = None
        """Set once the diff is drawn (or will not be): the worker waits for it."""

    @dataclass
    class Decide(Message):
        """The reviewer asked to decide BRANCH: open the decision dialog."""

        branch: str
        verdict: Verdict

    @dataclass
    class Step(Message):
        """The reviewer asked for the fix DELTA places away in the queue's order."""

        branch: str
        delta: int

    def __init__(self, session: ReviewSession, branch: str) -> None:
        super().__init__()
        self.session = session
        self.branch = branch
        self.data: ReviewData | None = None
        self.draft: Draft | None = None
        self.view_name = "final"

    @property
    def fix(self) -> Fix:
        return self.session.fix(self.branch)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="review-title")
        yield Static(id="review-standing")
        yield Static(id="review-checks")
        yield RiskBar(id="risk-bar")
        yield FlagPanel(id="flag-panel")
        with Horizontal(id="review-body"):
            with Vertical(id="review-side"):
                with VerticalScroll(id="finding-scroll"):
                    yield Static(id="finding")
                    yield Static(id="evidence")  # code, never wrapped: the panel scrolls sideways
                yield ChecklistView(id="checklist")
            with Vertical(id="review-main"):
                yield Static(id="view-title")
                with ContentSwitcher(initial="final", id="views"):
                    yield DiffView(id="final")
                    with Vertical(id="suggestion"):
                        with VerticalScroll(id="rationale-scroll"):
                            yield Static(id="rationale")
                        yield DiffView(id="suggestion-diff")
                    with Vertical(id="human"):
                        yield Static(id="human-how")
                        yield DiffView(id="human-diff")
                    with VerticalScroll(id="commits"):
                        yield Static(id="decision-log")
                        yield Static(id="check-log")
                        yield Static(id="commit-log")
        yield KeyFooter(compact=True)

    async def on_mount(self) -> None:
        await self.show_fix(self.branch)

    async def show_fix(self, branch: str) -> None:
        """Fill every panel for BRANCH; diffs and flags arrive from a worker."""
        self.branch = branch
        fix = self.fix
        self.session.opening(branch)
        self.draft = self.session.draft_for(fix)
        title = Text()
        title.append_text(one_line(fix.branch.name, style="bold"))
        title.append(f"  → {fix.branch.base}   head {fix.branch.head[:12]}   [{fix.branch.status}]")
        self.query_one("#review-title", Static).update(title)
        self.query_one("#finding", Static).update(finding_text(fix))
        self.query_one("#evidence", Static).update(evidence_text(fix))
        self.query_one("#rationale", Static).update(suggestion_text(fix))
        self.query_one("#commit-log", Static).update(commits_text(fix))
        self.query_one("#decision-log", Static).update(Text("Decisions: loading…\n"))
        for where, text in (("#review-checks", checks_line), ("#check-log", checks_text)):
            shown = self.query_one(where, Static)
            shown.update(text(fix.checks))
            shown.display = bool(fix.checks)  # a repository without CI checks: no line
        self.query_one(ChecklistView).set_checklist(self.draft.checklist)
        self.data = None
        await self.query_one(RiskBar).set_flags(None)
        self.query_one(FlagPanel).set_flags(None)
        for view in self.query(DiffView):
            view.set_diff(None, empty_message="loading…")
        # the diff read ahead while the cursor rested on the fix is in the first frame
        at_hand = self.session.final_at_hand(fix)
        drawn = threading.Event()
        if at_hand is not None:
            self._show_final(at_hand)
            self.call_after_refresh(drawn.set)
        self.query_one("#human-how", Static).update(Text(""))
        self.query_one("#review-standing", Static).update(Text("approvals: …", style="dim"))
        for panel in self.query(VerticalScroll):
            panel.scroll_home(animate=False)  # each fix opens at its top
        self.action_view(self.view_name)
        self.load_review(fix, at_hand, drawn)

    # described, not the default repr of its arguments: a fix's repr holds its whole patch
    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="review",
        name="loading the fix",
        description="loading the fix",
    )
    def load_review(
        self, fix: Fix, at_hand: Diff | None = None, drawn: threading.Event | None = None
    ) -> None:
        """The final diff first (what the reviewer reads; AT_HAND: what of it is shown
        already, DRAWN set once it is on screen), then the other views, the risk checks and
        the gate's judgement."""
        with self.session.foreground():  # the queue's background judging waits meanwhile
            if at_hand is not None and drawn is not None:
                # Python runs one thread at a time: the screen is drawn before any parse
                drawn.wait(PREVIEW_DRAW_WAIT)
            if self.session.cached_review(fix) is None and (at_hand is None or at_hand.partial):
                preview = self.session.final_preview(fix) if at_hand is None else None
                if preview is not None:  # a long diff: its first lines while the rest is read
                    shown = threading.Event()
                    self.post_message(self.FinalDiff(fix.branch.name, preview, shown))
                    # Python runs one thread at a time: let the UI draw them before the parse
                    shown.wait(PREVIEW_DRAW_WAIT)
                self.post_message(self.FinalDiff(fix.branch.name, self.session.final(fix)))
            data = self.session.review(fix)
            obstacles = self.session.obstacles(fix)
        self.post_message(self.Loaded(data, obstacles))  # then to the app: flags known

    def on_review_screen_final_diff(self, message: FinalDiff) -> None:
        shown = self.query_one("#final", DiffView).diff
        if message.branch == self.branch and self.data is None and shown is not message.diff:
            self._show_final(message.diff)
        if message.shown is not None:
            self.call_after_refresh(message.shown.set)

    def _show_final(self, diff: Diff) -> None:
        """Show DIFF in the final view; where it completes a preview, from where the reviewer
        has scrolled to (the preview's rows are the whole diff's first rows)."""
        final = self.query_one("#final", DiffView)
        shown = final.diff
        final.set_diff(diff, keep_position=shown is not None and shown.partial)
        if self.view_name == "final":
            self.query_one("#view-title", Static).update(view_title("final", diff))

    async def on_review_screen_loaded(self, message: Loaded) -> None:
        await self.show_review(message.data)
        if message.data.fix.branch.name == self.branch:
            standing = standing_text(message.data, message.obstacles)
            self.query_one("#review-standing", Static).update(standing)

    async def show_review(self, data: ReviewData) -> None:
        """Fill the panels that need the diffs and flags (when the fix is still shown)."""
        if data.fix.branch.name != self.branch:
            return
        self.data = data
        await self.query_one(RiskBar).set_flags(data.flags)
        self.query_one(FlagPanel).set_flags(data.flags)
        if self.query_one("#final", DiffView).diff is not data.final:
            self._show_final(data.final)  # (shown already: the reviewer may be reading it)
        nothing = NO_SUGGESTION if data.fix.suggestion is None else None
        self.query_one("#suggestion-diff", DiffView).set_diff(
            data.suggestion,
            empty_message=nothing or "The AI's suggested patch could not be found.",
        )
        if data.human.diff is not None:
            unchanged = "People did not change the AI's patch."
        else:  # the how line below says why the human changes are unknown
            unchanged = nothing or "What people changed after the AI cannot be worked out."
        human = self.query_one("#human-diff", DiffView)
        human.set_diff(data.human.diff, empty_message=unchanged)
        self.query_one("#human-how", Static).update(plain(data.human.how, style="italic"))
        self.query_one("#decision-log", Static).update(decisions_text(data.gate))

    # -- views ------------------------------------------------------------------------------

    def action_view(self, name: str) -> None:
        self.view_name = name
        self.query_one("#views", ContentSwitcher).current = name
        shown = self.query_one("#final", DiffView).diff if name == "final" else None
        self.query_one("#view-title", Static).update(view_title(name, shown))
        diff = self.current_diff()
        if diff is not None:
            diff.focus()

    def current_diff(self) -> DiffView | None:
        return {
            "final": self.query_one("#final", DiffView),
            "suggestion": self.query_one("#suggestion-diff", DiffView),
            "human": self.query_one("#human-diff", DiffView),
        }.get(self.view_name)

    def action_next_file(self) -> None:
        diff = self.current_diff()
        if diff is not None:
            diff.next_file()

    def action_previous_file(self) -> None:
        diff = self.current_diff()
        if diff is not None:
            diff.previous_file()

    def action_next_flag(self) -> None:
        """Open the flag panel (each flag's detail and evidence) on the next flag."""
        self.query_one(FlagPanel).open_next()

    def on_flag_chip_selected(self, event: FlagChip.Selected) -> None:
        self.query_one(FlagPanel).open_at(event.flag)

    def on_flag_panel_jump(self, event: FlagPanel.Jump) -> None:
        self.jump_to(event.flag, event.evidence)

    def on_flag_panel_closed(self, event: FlagPanel.Closed) -> None:
        diff = self.current_diff()
        if diff is not None:
            diff.focus()

    def jump_to(self, flag: RiskFlag, place: Evidence | None = None) -> None:
        """Show PLACE (else the flag's first evidence with a path) in the final diff; the
        panel stays open above it, the flag still highlighted."""
        place = place or next((e for e in flag.evidence if e.path), None)
        if place is None or place.path is None:
            return
        self.action_view("final")
        self.query_one("#final", DiffView).scroll_to_location(place.path, place.line)

    # -- checklist --------------------------------------------------------------------------

    def action_toggle_item(self, index: int) -> None:
        self.query_one(ChecklistView).toggle(index)
        self.save_draft()

    def action_edit_note(self) -> None:
        checklist = self.query_one(ChecklistView)
        index = checklist.selected
        name = CHECKLIST_ITEMS[index]

        def done(note: str | None) -> None:
            if note is not None:
                checklist.set_note(index, note)
                self.save_draft()

        self.app.push_screen(NoteDialog(CHECKLIST_LABELS[name], checklist.item(index).note), done)

    def save_draft(self) -> None:
        if self.draft is not None:
            self.draft.checklist = self.query_one(ChecklistView).checklist
            try:
                self.session.save_draft(self.draft)
            except OSError as exc:
                say(self, f"could not save the draft: {exc}", severity="error")

    # -- decisions and the batch ----------------------------------------------------------

    def action_decide(self, verdict: Verdict) -> None:
        self.save_draft()
        self.post_message(self.Decide(self.branch, verdict))

    def action_next_fix(self) -> None:
        self.save_draft()
        self.post_message(self.Step(self.branch, +1))

    def action_previous_fix(self) -> None:
        self.save_draft()
        self.post_message(self.Step(self.branch, -1))

    def action_back(self) -> None:
        self.save_draft()
        self.app.pop_screen()
