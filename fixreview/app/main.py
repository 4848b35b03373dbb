"""The fixreview App: loads the queue in workers, moves between screens, records decisions.

All git work (loading the queue, computing diffs and risk flags, signing and writing notes)
runs in thread workers; results come back with ``call_from_thread``. A worker's error is shown
as a notification in one place (``on_worker_state_changed``) and never ends the app.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from fixreview.app.plain import content
from fixreview.app.screens.decision import DecisionDialog
from fixreview.app.screens.help import HelpScreen
from fixreview.app.screens.queue import QueueScreen, sort_key
from fixreview.app.screens.review import ReviewScreen
from fixreview.app.screens.summary import SummaryScreen
from fixreview.app.themes import notify_theme_errors, setup_themes, theme_variable_defaults
from fixreview.decisions import Decision, diff_sha256, prepare_decision, record_decision
from fixreview.drafts import Draft, discard_draft, load_draft, save_draft
from fixreview.errors import FixreviewError
from fixreview.gate import fill_statuses
from fixreview.models import AWAITING_REVIEW, Fix
from fixreview.queue import Queue, load_queue
from fixreview.repo.git import Repository
from fixreview.review import ReviewData, load_review
from fixreview.signing import signer_from_git
from fixreview.signing.config import reviewer_identity

OUTCOME_KEY = {"approve": "approved", "request-changes": "changes", "reject": "rejected"}


class FixreviewApp(App[None]):
    """Review the pending AI fixes of one repository."""

    TITLE = "fixreview"
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
    ]

    def __init__(self, repo: Repository, base: str | None = None) -> None:
        super().__init__()
        self.repo = repo
        self.base = base
        self.queue: Queue | None = None
        self.flag_counts: dict[str, tuple[int, int]] = {}
        self.reviews: dict[tuple[str, str], ReviewData] = {}
        self.hashes: dict[tuple[str, str], str] = {}
        self.outcome: dict[str, list[str]] = {
            "approved": [],
            "changes": [],
            "rejected": [],
            "skipped": [],
        }
        self.decided: set[str] = set()

    # -- start ------------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return theme_variable_defaults(self.current_theme)

    def on_mount(self) -> None:
        notify_theme_errors(self, setup_themes(self))
        self.push_screen(QueueScreen())
        self.update_subtitle()
        self.reload_queue()

    def say(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
    ) -> None:
        """A notification whose text is shown literally (Textual parses a plain str as markup)."""
        shown = content(message)  # Textual types the message as str; Content renders literally
        self.notify(shown, title=title, severity=severity, timeout=timeout)  # type: ignore[arg-type]

    def update_subtitle(self) -> None:
        awaiting = 0
        if self.queue is not None:
            awaiting = sum(1 for f in self.queue.fixes if f.branch.status in AWAITING_REVIEW)
        self.sub_title = f"{len(self.decided)} reviewed this run · {awaiting} awaiting review"

    # -- loading, in workers --------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue", name="loading the queue")
    def reload_queue(self) -> None:
        queue = load_queue(self.repo, self.base)
        fill_statuses(self.repo, queue)
        self.call_from_thread(self.queue_loaded, queue)
        for fix in queue.fixes:
            data = self.review_data(fix, queue)
            self.call_from_thread(self.flags_loaded, fix.branch.name, data)

    def review_data(self, fix: Fix, queue: Queue | None = None) -> ReviewData:
        """The diffs and flags of FIX (cached by branch and head). Runs in a worker thread."""
        key = (fix.branch.name, fix.branch.head)
        if key not in self.reviews:
            policy = queue or self.queue
            assert policy is not None
            data = load_review(self.repo, fix, policy.policy)
            self.hashes[key] = diff_sha256(self.repo, fix.branch.merge_base, fix.branch.head)
            self.reviews[key] = data
        return self.reviews[key]

    def queue_loaded(self, queue: Queue) -> None:
        self.queue = queue
        for warning in queue.warnings:
            self.say(warning, title="Skipped", severity="warning", timeout=8)
        queue.warnings.clear()
        self.update_subtitle()
        for screen in self.screen_stack:
            if isinstance(screen, QueueScreen):
                screen.refresh_rows()

    def flags_loaded(self, branch: str, data: ReviewData) -> None:
        blocking = sum(1 for f in data.flags if f.level == "block")
        self.flag_counts[branch] = (blocking, len(data.flags))
        for screen in self.screen_stack:
            if isinstance(screen, QueueScreen):
                screen.update_flags(branch)

    @work(thread=True, exclusive=True, exit_on_error=False, group="review", name="loading the fix")
    def load_review(self, fix: Fix) -> None:
        data = self.review_data(fix)
        self.call_from_thread(self._review_loaded, data)

    def _review_loaded(self, data: ReviewData) -> None:
        self.flags_loaded(data.fix.branch.name, data)
        for screen in reversed(self.screen_stack):
            if isinstance(screen, ReviewScreen):
                self.run_worker(screen.show_review(data), exit_on_error=False)
                break

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            message = (
                error.message
                if isinstance(error, FixreviewError)
                else f"{type(error).__name__}: {error}"
            )
            self.say(message, title=f"Failed: {event.worker.name}", severity="error", timeout=12)

    # -- fixes and drafts -----------------------------------------------------------------

    def fix(self, branch: str) -> Fix:
        assert self.queue is not None
        return self.queue.get(branch)

    def ordered(self) -> list[Fix]:
        """Fixes in the queue screen's order (all of them, decided ones too)."""
        if self.queue is None:
            return []
        mode = next(
            (s.sort_mode for s in self.screen_stack if isinstance(s, QueueScreen)), "severity"
        )
        return sorted(self.queue.fixes, key=lambda f: sort_key(mode, f))

    def draft_for(self, fix: Fix) -> Draft:
        draft = load_draft(self.repo, fix.branch.name)
        return draft if draft is not None else Draft(branch=fix.branch.name, head=fix.branch.head)

    def save_draft(self, draft: Draft) -> None:
        try:
            save_draft(self.repo, draft)
        except OSError as exc:
            self.say(f"could not save the draft: {exc}", severity="error")

    # -- moving around -----------------------------------------------------------------------

    def open_review(self, branch: str) -> None:
        self.push_screen(ReviewScreen(branch))

    async def step_review(self, branch: str, delta: int) -> None:
        order = [f.branch.name for f in self.ordered()]
        if branch not in order or len(order) < 2:
            return
        if branch not in self.decided and branch not in self.outcome["skipped"]:
            self.outcome["skipped"].append(branch)
        target = order[(order.index(branch) + delta) % len(order)]
        await self.show_in_review(target)

    async def show_in_review(self, branch: str) -> None:
        if isinstance(self.screen, ReviewScreen):
            await self.screen.show_fix(branch)
        else:
            self.push_screen(ReviewScreen(branch))

    def next_pending(self, after: str) -> str | None:
        order = [f for f in self.ordered()]
        names = [f.branch.name for f in order]
        start = names.index(after) + 1 if after in names else 0
        for fix in order[start:] + order[:start]:
            name = fix.branch.name
            if name != after and name not in self.decided and fix.branch.status in AWAITING_REVIEW:
                return name
        return None

    # -- decisions ---------------------------------------------------------------------------

    def start_decision(self, branch: str, verdict: str) -> None:
        fix = self.fix(branch)
        key = (branch, fix.branch.head)
        data = self.reviews.get(key)
        if data is None or key not in self.hashes:
            self.say("the fix is still loading; try again in a moment", severity="warning")
            return
        draft = self.draft_for(fix)
        if verdict == "approve":
            open_items = draft.checklist.open_items()
            if open_items:
                names = ", ".join(n.replace("_", " ") for n in open_items)
                self.say(
                    f"cannot approve: checklist not confirmed: {names}",
                    title="Approve refused",
                    severity="error",
                )
                return

        async def after(decision: Decision | None) -> None:
            await self.decided_on(branch, decision)

        self.push_screen(DecisionDialog(fix, data, draft, verdict, self.hashes[key]), after)

    def record(self, fix: Fix, verdict: str, draft: Draft) -> tuple[Decision, str]:
        """Sign and write the decision (runs in the dialog's worker thread)."""
        signer = signer_from_git(self.repo)
        decision = prepare_decision(
            self.repo,
            fix,
            verdict,  # type: ignore[arg-type]
            draft.checklist,
            reviewer=reviewer_identity(self.repo),
            signer=signer,
            comment=draft.comment,
            acknowledged=draft.acknowledged,
        )
        signed = record_decision(self.repo, decision, signer)
        discard_draft(self.repo, fix.branch.name)
        return decision, signed.key

    async def decided_on(self, branch: str, decision: Decision | None) -> None:
        if decision is None:
            return
        self.decided.add(branch)
        # its decisions changed: the cached review (which holds the gate's judgement) is stale
        self.reviews.pop((branch, decision.head_commit), None)
        if branch in self.outcome["skipped"]:
            self.outcome["skipped"].remove(branch)
        self.outcome[OUTCOME_KEY[decision.verdict]].append(branch)
        self.update_subtitle()
        self.reload_queue()
        following = self.next_pending(branch)
        if following is None:
            while len(self.screen_stack) > 2:
                self.pop_screen()
            self.push_screen(SummaryScreen(self.outcome))
        else:
            await self.show_in_review(following)

    # -- help and the command palette ----------------------------------------------------

    def key_list(self, screen: Screen[Any]) -> list[tuple[str, str]]:
        seen: list[tuple[str, str]] = []
        for bindings in (screen.BINDINGS, self.BINDINGS):
            for binding in bindings:
                if isinstance(binding, Binding) and binding.description:
                    seen.append(
                        (
                            binding.key.replace("question_mark", "?")
                            .replace("right_square_bracket", "]")
                            .replace("left_square_bracket", "["),
                            binding.description,
                        )
                    )
        return seen

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(
            HelpScreen(
                type(self.screen).__name__.removesuffix("Screen"), self.key_list(self.screen)
            )
        )

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in screen.BINDINGS:
            if isinstance(binding, Binding) and binding.description and binding.show:
                action = binding.action

                def run(action: str = action, target: Screen[Any] = screen) -> None:
                    self.call_later(self.run_action, action, target)

                yield SystemCommand(binding.description, f"key: {binding.key}", run)
