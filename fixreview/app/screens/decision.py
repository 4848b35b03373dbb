"""The decision dialog: shows exactly what will be signed, asks for what is missing, signs.

``enter`` in the last field signs and records; ``escape`` cancels. Focus starts on the first
field, never on a button that would sign. A signing failure keeps the dialog (and the draft)
and says what to do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Static

from fixreview.app.plain import content, one_line, plain
from fixreview.decisions import CHECKLIST_ITEMS, CHECKLIST_LABELS, Decision, check_decision_input
from fixreview.drafts import Draft
from fixreview.errors import FixreviewError
from fixreview.models import Fix
from fixreview.review import ReviewData

if TYPE_CHECKING:
    from fixreview.app.main import FixreviewApp

TITLES = {"approve": "Approve", "request-changes": "Request changes", "reject": "Reject"}


class DecisionDialog(ModalScreen[Decision | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="decision.cancel")
    ]

    def __init__(
        self, fix: Fix, data: ReviewData, draft: Draft, verdict: str, diff_hash: str
    ) -> None:
        super().__init__()
        self.fix = fix
        self.data = data
        self.draft = draft
        self.verdict = verdict
        self.diff_hash = diff_hash
        self.signing = False

    @property
    def fr(self) -> FixreviewApp:
        from fixreview.app.main import FixreviewApp

        assert isinstance(self.app, FixreviewApp)
        return self.app

    def compose(self) -> ComposeResult:
        with Vertical(id="decision-dialog", classes="dialog"):
            yield Static(
                Text(f"{TITLES[self.verdict]} — this is what will be signed", style="bold")
            )
            with VerticalScroll(id="decision-summary"):
                yield Static(self.summary(), id="decision-payload")
                for flag_id in self.data.blocking:
                    yield Checkbox(
                        f"acknowledge blocking flag {flag_id}",
                        value=flag_id in self.draft.acknowledged,
                        id=f"ack-{flag_id}",
                    )
            if self.verdict == "approve":
                yield Input(
                    value=self.draft.checklist.rollback.note,
                    id="rollback",
                    placeholder="rollback criteria: when do we revert this?",
                )
            yield Input(
                value=self.draft.comment,
                id="comment",
                placeholder="comment"
                + (" (optional)" if self.verdict == "approve" else " (required: why?)"),
            )
            yield Static(Text(""), id="decision-error")
            yield Static(
                Text("enter in the last field: sign and record · escape: cancel", style="dim")
            )

    def summary(self) -> Text:
        fix = self.fix
        text = Text()
        rows = [
            ("verdict", self.verdict),
            ("finding", fix.finding_id or "(none linked)"),
            ("branch", fix.branch.name),
            ("target", fix.branch.base),
            ("head", fix.branch.head),
            ("merge-base", fix.branch.merge_base or "?"),
            ("diff sha256", self.diff_hash),
            (
                "AI",
                " / ".join(x for x in (fix.suggestion.tool, fix.suggestion.model) if x)
                if fix.suggestion
                else "(unknown)",
            ),
        ]
        for label, value in rows:
            text.append(f"{label:<12}", style="dim")
            text.append_text(one_line(value))
            text.append("\n")
        text.append("checklist\n", style="dim")
        for name in CHECKLIST_ITEMS:
            item = self.draft.checklist.item(name)
            text.append(f"  {'[x]' if item.confirmed else '[ ]'} {CHECKLIST_LABELS[name]}\n")
            if item.note:
                text.append_text(plain("      " + item.note + "\n", style="italic"))
        if self.data.flags:
            text.append("risk flags\n", style="dim")
            for flag in self.data.flags:
                text.append(f"  {flag.level:<5} {flag.id}: ")
                text.append_text(one_line(flag.title))
                text.append("\n")
        return text

    def on_mount(self) -> None:
        unticked = [box for box in self.query(Checkbox) if not box.value]
        if unticked:
            unticked[0].focus()
        else:
            self.query(Input).first().focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        if event.input is not inputs[-1]:
            inputs[inputs.index(event.input) + 1].focus()
            return
        self.sign()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.collect()
        self.fr.save_draft(self.draft)

    def collect(self) -> None:
        """Copy the dialog's fields into the draft (so nothing typed is lost)."""
        if self.verdict == "approve":
            rollback = self.query_one("#rollback", Input).value
            self.draft.checklist.rollback.note = rollback
        self.draft.comment = self.query_one("#comment", Input).value
        self.draft.acknowledged = [
            flag_id
            for flag_id in self.data.blocking
            if self.query_one(f"#ack-{flag_id}", Checkbox).value
        ]

    def show_error(self, message: str) -> None:
        self.query_one("#decision-error", Static).update(plain(message, style="bold red"))

    def sign(self) -> None:
        if self.signing:
            return
        self.collect()
        self.fr.save_draft(self.draft)
        try:
            check_decision_input(self.verdict, self.draft.checklist, self.draft.comment)  # type: ignore[arg-type]
        except FixreviewError as exc:
            self.show_error(exc.message)
            return
        if self.verdict == "approve":
            missing = [f for f in self.data.blocking if f not in self.draft.acknowledged]
            if missing:
                self.show_error(f"acknowledge the blocking risk flags first: {', '.join(missing)}")
                return
        self.signing = True
        self.show_error("signing…")
        self.run_signing()

    @work(thread=True, exclusive=True, exit_on_error=False, group="sign")
    def run_signing(self) -> None:
        try:
            decision, key = self.fr.record(self.fix, self.verdict, self.draft)
        except Exception as exc:  # shown in the dialog; the draft stays
            message = (
                exc.message if isinstance(exc, FixreviewError) else f"{type(exc).__name__}: {exc}"
            )
            self.app.call_from_thread(self.failed, message)
            return
        self.app.call_from_thread(self.succeeded, decision, key)

    def failed(self, message: str) -> None:
        self.signing = False
        self.show_error(f"not recorded: {message} (your draft is kept)")
        self.notify(content(message), title="Signing failed", severity="error", timeout=10)  # type: ignore[arg-type]

    def succeeded(self, decision: Decision, key: str) -> None:
        self.notify(
            Content(f"{decision.verdict} recorded and signed with {key}"),  # type: ignore[arg-type]
            title="Decision recorded",
        )
        self.dismiss(decision)

    def action_cancel(self) -> None:
        if not self.signing:
            self.collect()
            self.fr.save_draft(self.draft)
            self.dismiss(None)
