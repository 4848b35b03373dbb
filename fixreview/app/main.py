"""The fixreview App: loads the queue in workers, moves between screens, records decisions.

All git work (loading the queue, computing diffs and risk flags, signing and writing notes)
runs in thread workers; results come back with ``call_from_thread``. A worker's error is shown
as a notification in one place (``on_worker_state_changed``) and never ends the app.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from fixreview.app.plain import say
from fixreview.app.screens.help import HelpScreen
from fixreview.app.screens.queue import QueueScreen, fix_texts
from fixreview.app.themes import notify_theme_errors, setup_themes, theme_variable_defaults
from fixreview.errors import FixreviewError
from fixreview.listsnapshot import config_field
from fixreview.progress import Progress, Throttle
from fixreview.repo.git import Repository
from fixreview.repo.refs import read_ref_state
from fixreview.rowsnapshot import listed_rows, read_rows, rows_key, write_rows
from fixreview.session import ReviewSession, listed_first
from fixreview.user_config import UserConfig

if TYPE_CHECKING:  # the review screen, the dialogs and the models: loaded after the first frame
    from fixreview.app.screens.review import ReviewScreen
    from fixreview.gate import GateResult
    from fixreview.models import Fix
    from fixreview.queue import Queue
    from fixreview.recording import Recorded
    from fixreview.repo.refstate import RefState
    from fixreview.review import ReviewData
    from fixreview.session import Outcome, Standing

# Textual's own keys, said the way the help says them (they work on every screen)
TEXTUAL_KEYS = {
    "app.focus_next": "Focus the next panel",
    "app.focus_previous": "Focus the previous panel",
    "screen.copy_text": "Copy the selected text",
    "command_palette": "Command palette: every action, and the themes",
    "quit": "Quit",
}
# what the help calls each panel a screen can focus (by id)
PANELS = {
    "queue": "table",
    "filter": "filter",
    "finding-scroll": "finding",
    "checklist": "checklist",
    "final": "diff",
    "suggestion-diff": "diff",
    "human-diff": "diff",
    "rationale-scroll": "rationale",
    "commits": "commits",
    "flag-panel": "flag panel",
}


ROWS_DRAWN_WAIT = 1.0  # seconds judging waits at most for the queue's rows to be drawn
JUDGE_BATCH = 5  # fixes judged between two looks at whether the reviewer is waiting
SHOW_EVERY = 0.25  # seconds between two updates of the queue's rows while judging


class FixreviewApp(App[None]):
    """Review the pending AI fixes of one repository.

    The state of the batch — the queue, the reviews, what was decided and skipped — is the
    :class:`~fixreview.session.ReviewSession`; the screens receive it and post messages
    (open a fix, step to another, decide), which the app turns into screen changes.
    """

    TITLE = "fixreview"
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
    ]

    def __init__(
        self,
        repo: Repository,
        base: str | None = None,
        config: UserConfig | None = None,
        loading_watcher: Progress | None = None,
    ) -> None:
        super().__init__()
        self.config = config or UserConfig()
        self.session = ReviewSession(repo, base, self.config.branches)
        self.queue_screen = QueueScreen(self.session)
        # told every step of loading the queue (unthrottled, in the loading worker, after the
        # screen was told): what a test holds the load at a known stage with
        self.loading_watcher = loading_watcher
        # until the queue is read: the fix branches the reviewer's patterns leave out, as the
        # provisional rows listed from the refs count them
        self.listed_hidden = 0

    # -- start ------------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return theme_variable_defaults(self.current_theme)

    def on_mount(self) -> None:
        notify_theme_errors(self, setup_themes(self))
        self.apply_user_config()
        self.push_screen(self.queue_screen)
        self.update_subtitle()
        self.reload_queue()

    def apply_user_config(self) -> None:
        """The reviewer's config.toml (fixreview/user_config.py): its theme over the one chosen
        last, and its key remapping by binding id (checked by the command line before start)."""
        theme = self.config.theme
        if theme is not None:
            if theme in self.available_themes:
                self.theme = theme
            else:
                notify_theme_errors(self, [f"config.toml: theme: no theme named {theme!r}"])
        if self.config.keys:
            self.set_keymap(dict(self.config.keys))

    def update_subtitle(self) -> None:
        session = self.session
        self.sub_title = (
            f"{len(session.decided)} reviewed this run · {session.awaiting()} awaiting review"
        )
        hidden = session.queue.hidden if session.queue is not None else self.listed_hidden
        if hidden:  # a narrowed queue is never taken for the whole one
            self.sub_title += f" · {hidden} more not matching your branches (config.toml)"

    # -- loading, in workers --------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue", name="loading the queue")
    def reload_queue(self) -> None:
        """The rows first (refs, commits, notes: no diff, no signature), then every fix's
        flags, status and approvals, which fill their columns when known. Meanwhile the queue
        screen shows the stage and its count, a few times a second at most, until the end."""
        try:
            self._load_queue(self._loading_progress())
        except BaseException:
            with contextlib.suppress(RuntimeError):  # nothing provisional outlives the load
                self.call_from_thread(self.queue_screen.load_failed)
            raise
        finally:
            with contextlib.suppress(RuntimeError):  # the app has gone: nothing to hide
                self.call_from_thread(self.queue_screen.hide_progress)

    def _loading_progress(self) -> Progress:
        """What loading reports to: the queue screen (throttled), then the loading watcher."""

        def draw(stage: str, done: int, total: int) -> None:
            self.call_from_thread(self.queue_screen.show_progress, stage, done, total)

        shown = Throttle(draw)
        watcher = self.loading_watcher

        def progress(stage: str, done: int, total: int) -> None:
            shown(stage, done, total)
            if watcher is not None:
                watcher(stage, done, total)

        return progress

    def _load_queue(self, progress: Progress) -> None:
        state, key = self._last_rows()
        queue, unknown = self.session.load_rows(progress, state)
        kept = [fix_texts(fix) for fix in listed_first(queue)] if key is not None else []
        drawn = threading.Event()
        self.call_from_thread(self.queue_loaded, queue, unknown, drawn)
        # judging shares Python with the UI thread: the rows are drawn first, so the queue
        # answers keys at once (bounded: a screen that never refreshes delays nothing long)
        drawn.wait(ROWS_DRAWN_WAIT)
        if key is not None:  # the next start's first frame
            write_rows(self.session.repo, key, kept)
        prepare_to_open()
        settle_heap()
        # the session hands over what it finds as it goes (a fix the reviewer opens waits for
        # one small batch at most); the rows fill in a few times a second
        found: dict[str, Standing] = {}
        shown = time.monotonic()

        def show(standing: dict[str, Standing]) -> None:
            nonlocal found, shown
            found.update(standing)
            if time.monotonic() - shown >= SHOW_EVERY:
                self.call_from_thread(self.queue_judged, queue, found)
                found, shown = {}, time.monotonic()

        self.session.judge_all(queue, unknown, show, batch=JUDGE_BATCH, progress=progress)
        if found and self.session.queue is queue:
            self.call_from_thread(self.queue_judged, queue, found)
        settle_heap()

    def _last_rows(self) -> tuple[RefState | None, str | None]:
        """The refs and configuration now and the rows snapshot's key for them (None, None
        when they cannot be read: the queue is then read as usual, and nothing is kept). Drawn
        at once, provisional, before the queue is read from that very state: the rows kept
        under that key, when there are (fixreview/rowsnapshot.py), else the fix branches that
        state lists, as git alone tells them (``listed_rows``)."""
        session = self.session
        try:
            state = read_ref_state(session.repo)
            key = rows_key(session.repo, state, session.base, session.branches, config_field())
        except (FixreviewError, OSError):  # no kept rows: never a reason not to read the queue
            return None, None
        rows, hidden, listed = read_rows(session.repo, key), 0, False
        if rows is None:  # none kept for this state: the fix branches it lists
            found = listed_rows(session.repo, state, session.base, session.branches)
            if found is not None:
                (rows, hidden), listed = found, True
        if rows:
            drawn = threading.Event()
            self.call_from_thread(self.show_provisional, rows, hidden, listed, drawn)
            drawn.wait(ROWS_DRAWN_WAIT)  # drawn before reading the queue takes Python
        return state, key

    def show_provisional(
        self, rows: list[dict[str, str]], hidden: int, listed: bool, drawn: threading.Event
    ) -> None:
        """ROWS drawn until the queue is read (the last run's; LISTED: from the refs alone),
        with HIDDEN, the fix branches the reviewer's patterns leave out, in the title bar."""
        if self.session.queue is None:
            self.listed_hidden = hidden
            self.update_subtitle()
        self.queue_screen.show_provisional(rows, drawn, listed=listed)

    def queue_loaded(
        self, queue: Queue, unknown: set[str], drawn: threading.Event | None = None
    ) -> None:
        """Show QUEUE's rows; DRAWN, when given, is set once they are on screen."""
        for warning in self.session.use_queue(queue, unknown):
            say(self, warning, title="Skipped", severity="warning", timeout=8)
        self.update_subtitle()
        self.queue_screen.refresh_rows()
        if drawn is not None:
            self.call_after_refresh(drawn.set)

    def queue_judged(self, queue: Queue, standing: dict[str, Standing]) -> None:
        self.session.use_standing(queue, standing)
        for warning in self.session.take_warnings():
            say(self, warning, title="Skipped", severity="warning", timeout=8)
        self.update_subtitle()
        self.queue_screen.rows_changed(standing.keys())

    @work(
        thread=True,
        exit_on_error=False,
        group="decided",
        name="checking the decision",
        description="checking the decision",  # not the repr of the fix: it holds its patch
    )
    def rejudge(self, fix: Fix) -> None:
        """After a decision on FIX: its status and approvals again, and nothing else."""
        queue = self.session.queue
        if queue is None:
            return
        standing = self.session.judge(queue, [fix])
        self.call_from_thread(self.queue_judged, queue, standing)

    def on_review_screen_loaded(self, message: ReviewScreen.Loaded) -> None:
        self.queue_screen.update_flags(message.data.fix.branch.name)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            message = (
                error.message
                if isinstance(error, FixreviewError)
                else f"{type(error).__name__}: {error}"
            )
            say(self, message, title=f"Failed: {event.worker.name}", severity="error", timeout=12)

    # -- moving around -----------------------------------------------------------------------

    def on_queue_screen_open(self, message: QueueScreen.Open) -> None:
        from fixreview.app.screens.review import ReviewScreen

        self.push_screen(ReviewScreen(self.session, message.branch))

    async def on_review_screen_step(self, message: ReviewScreen.Step) -> None:
        rows = [fix.branch.name for fix in self.queue_screen.visible_fixes()]  # as filtered
        target = self.session.step(message.branch, message.delta, rows)
        if target is not None:
            await self.show_in_review(target)

    async def show_in_review(self, branch: str) -> None:
        from fixreview.app.screens.review import ReviewScreen

        if isinstance(self.screen, ReviewScreen):
            await self.screen.show_fix(branch)
        else:
            self.push_screen(ReviewScreen(self.session, branch))

    # -- decisions ---------------------------------------------------------------------------

    def on_review_screen_decide(self, message: ReviewScreen.Decide) -> None:
        from fixreview.app.screens.decision import DecisionDialog
        from fixreview.rulebook import checklist_problems

        session = self.session
        fix = session.fix(message.branch)
        data = session.cached_review(fix)
        if data is None:
            say(self, "the fix is still loading; try again in a moment", severity="warning")
            return
        draft = session.draft_for(fix)
        if message.verdict == "approve":
            # what the dialog cannot mend: the checklist is confirmed on the review screen
            unconfirmed = [r for r in checklist_problems(draft.checklist) if r.code == "checklist"]
            if unconfirmed:
                refusal = f"cannot approve: {unconfirmed[0]}"
                say(self, refusal, title="Approve refused", severity="error")
                return

        async def after(recorded: Recorded | None) -> None:
            if recorded is not None:
                await self.decided_on(data, recorded)

        self.push_screen(DecisionDialog(session, data, draft, message.verdict), after)

    async def decided_on(self, data: ReviewData, recorded: Recorded) -> None:
        session = self.session
        session.decided_on(data.fix, recorded.decision.verdict)
        self.update_subtitle()
        self.rejudge(data.fix)
        following = session.next_pending(data.fix.branch.name)
        if following is None:
            self.show_summary(session.outcome())
        else:
            await self.show_in_review(following)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="summary",
        name="the summary",
        description="the summary",
    )
    def show_summary(self, outcome: Outcome) -> None:
        """The summary, once the gate has judged each fix approved this run afresh."""
        gates = self.session.gates(outcome.approved)
        self.call_from_thread(self._summary_ready, outcome, gates)

    def _summary_ready(self, outcome: Outcome, gates: dict[str, GateResult | None]) -> None:
        from fixreview.app.screens.summary import SummaryScreen

        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.push_screen(SummaryScreen(outcome, gates))

    # -- help and the command palette ----------------------------------------------------

    def key_list(self, screen: Screen[Any]) -> list[tuple[str, list[tuple[str, str]]]]:
        """Every key of SCREEN, of each panel it can focus and of the app, in sections, shown
        the way Textual shows keys (``/``, ``]``, ``⏎``, ``pgdn``); keys doing the same thing
        share a line, and a key is listed once, where it first applies."""
        owners: list[tuple[str, list[DOMNode]]] = [
            (type(screen).__name__.removesuffix("Screen"), [screen])
        ]
        for panel in screen.focus_chain:
            name = PANELS.get(panel.id or "", type(panel).__name__)
            owners.append((f"In the {name}, when focused (tab)", [panel]))
        owners.append(("Everywhere", [self, screen]))  # Textual's own: focus, copy, palette, quit
        sections: list[tuple[str, list[tuple[str, str]]]] = []
        on_screen: set[str] = set()
        for title, nodes in owners:
            lines: dict[tuple[str, str], list[str]] = {}
            for node in nodes:
                for key, bindings in node._bindings.key_to_bindings.items():
                    for binding in bindings:
                        what = TEXTUAL_KEYS.get(binding.action, binding.tooltip)
                        what = what or binding.description
                        textual = binding.action in TEXTUAL_KEYS
                        everywhere = node is self or textual
                        if not what or key in on_screen or everywhere != (title == "Everywhere"):
                            continue
                        shown = self.get_key_display(binding)
                        keys = lines.setdefault((binding.action, what), [])
                        if shown not in keys:
                            keys.append(shown)
                        if node is screen:
                            on_screen.add(key)  # a panel's binding of it is not reached
            section = (title, [(" ".join(k), what) for (_, what), k in lines.items()])
            if lines and section not in sections:
                sections.append(section)
        return sections

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.key_list(self.screen)))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        keys: dict[tuple[str, str], list[str]] = {}  # the screen's actions, with their keys
        for binding in Binding.make_bindings(screen.BINDINGS):
            if binding.description:
                what = binding.tooltip or binding.description
                shown = keys.setdefault((binding.action, what), [])
                shown.append(self.get_key_display(binding))
        for (action, description), shown in keys.items():

            def run(action: str = action, target: Screen[Any] = screen) -> None:
                self.call_later(self.run_action, action, target)

            yield SystemCommand(description, "key: " + " ".join(shown), run)


def prepare_to_open() -> None:
    """What opening the first fix would otherwise do on the Enter path, done ahead once the
    queue's rows are drawn (in the loading worker, before judging): the review screen's
    modules imported (about 0.1 s)."""
    import fixreview.app.screens.review  # noqa: F401 (imported for the first Enter)


def settle_heap() -> None:
    """Leave everything in memory now — the queue read, its rows, the modules — out of the
    cycle collector's full passes (:func:`gc.freeze`), once the queue is drawn and once it is
    judged. A full pass walks every tracked object: with 1,000 fixes read, about 190,000 of
    them and 0.13-0.15 s, which fell in the middle of opening a fix whenever that fix's diff
    tipped the collector's count (measured on the benchmark: two Enters in three). What is
    frozen is still freed when nothing refers to it; only garbage cycles among it (none the
    queue's models make) wait for the process's end."""
    gc.freeze()


def binding_ids() -> set[str]:
    """The id of every binding of the app and its screens (what ``[keys]`` may remap)."""
    from fixreview.app.screens.decision import DecisionDialog
    from fixreview.app.screens.review import ReviewScreen
    from fixreview.app.screens.summary import SummaryScreen

    owners: list[type[DOMNode]] = [
        FixreviewApp,
        QueueScreen,
        ReviewScreen,
        DecisionDialog,
        HelpScreen,
        SummaryScreen,
    ]
    found: set[str] = set()
    for owner in owners:
        for binding in getattr(owner, "BINDINGS", []):
            if isinstance(binding, Binding) and binding.id:
                found.add(binding.id)
    return found
