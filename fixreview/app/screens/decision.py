"""The decision dialog: shows exactly what will be signed, asks for what is missing, signs.

``enter`` in the last field signs and records; ``escape`` cancels. Focus starts on the first
field, never on a button that would sign. While the reviewer types, a line says what the
rule-book says of the decision: whether it can be recorded, and whether it will count under the
gate, with every reason. A refusal or a signing failure keeps the dialog (and the draft) and
says what to do.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Static

from fixreview.app.plain import one_line, plain, say
from fixreview.app.widgets.flag_panel import ack_text
from fixreview.decisions import CHECKLIST_ITEMS, CHECKLIST_LABELS, Verdict
from fixreview.drafts import Draft
from fixreview.errors import FixreviewError
from fixreview.recording import Recorded
from fixreview.review import ReviewData
from fixreview.rulebook import Ruling, not_counting_line, refusal_line
from fixreview.session import ReviewSession, Signing

TITLES = {"approve": "Approve", "request-changes": "Request changes", "reject": "Reject"}


class DecisionDialog(ModalScreen[Recorded | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="decision.cancel")
    ]

    def __init__(
        self, session: ReviewSession, data: ReviewData, draft: Draft, verdict: Verdict
    ) -> None:
        super().__init__()
        self.session = session
        self.fix = data.fix
        self.data = data
        self.draft = draft
        self.verdict: Verdict = verdict
        self.signing = False
        self.signer: Signing | None = None  # who signs and the key's standing, once known
        self.signer_problem = ""  # why the signer could not be learned

    def compose(self) -> ComposeResult:
        # What the rule-book says, and why signing failed, stay at the top; the rest scrolls
        # (the field with the focus is scrolled into view), so a short terminal loses nothing.
        with Vertical(id="decision-dialog", classes="dialog"):
            yield Static(
                Text(f"{TITLES[self.verdict]} — this is what will be signed", style="bold")
            )
            yield Static(Text("will it count? checking your signing key…"), id="decision-counts")
            yield Static(Text(""), id="decision-error")
            with VerticalScroll(id="decision-body"):
                yield Static(self.summary(), id="decision-payload")
                if self.data.blocking:  # each with its evidence right under it
                    raised = {str(flag.id): flag for flag in self.data.flags}
                    with Vertical(id="decision-acks"):
                        for flag_id in self.data.blocking:
                            yield Checkbox(
                                f"acknowledge blocking flag {flag_id}",
                                value=flag_id in self.draft.acknowledged,
                                id=f"ack-{flag_id}",
                            )
                            yield Static(
                                ack_text(raised[flag_id]),
                                id=f"ack-evidence-{flag_id}",
                                classes="ack-evidence",
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
                yield Checkbox(
                    "record it anyway, knowing the gate will not count it", id="record-anyway"
                )
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
            ("diff sha256", self.data.diff_sha256),
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
        # the text the verdict needs has the focus: typing never lands on a checkbox, and
        # enter in a text field never toggles one (acknowledgements are a tab away)
        self.query_one("#rollback" if self.verdict == "approve" else "#comment", Input).focus()
        self.query_one("#record-anyway", Checkbox).display = False
        self.learn_signer()

    # -- what the rule-book says, as the reviewer types --------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="signer")
    def learn_signer(self) -> None:
        try:
            signer = self.session.signer()
        except FixreviewError as exc:
            self.app.call_from_thread(self.signer_failed, exc.message)
            return
        self.app.call_from_thread(self.signer_known, signer)

    def signer_known(self, signer: Signing) -> None:
        self.signer = signer
        self.show_ruling()

    def signer_failed(self, message: str) -> None:
        self.signer_problem = message
        self.show_ruling()

    def ruling(self) -> Ruling | None:
        """The rule-book's answer for the fields as they are (None until the key is known)."""
        if self.signer is None:
            return None
        return self.session.ruling(self.fix, self.verdict, self.draft, self.signer)

    def show_ruling(self) -> None:
        line = self.query_one("#decision-counts", Static)
        ruling = self.ruling()
        anyway = self.query_one("#record-anyway", Checkbox)
        anyway.display = ruling is not None and ruling.recordable and not ruling.counts
        if ruling is None:
            if self.signer_problem:
                line.update(plain(f"your signing key: {self.signer_problem}", style="bold red"))
            return
        if not ruling.recordable:
            reasons = "; ".join(map(str, ruling.refusals))
            line.update(plain(f"to record it: {reasons}", style="yellow"))
        elif not ruling.counts:
            line.update(plain(not_counting_line(self.verdict, ruling), style="bold red"))
        else:
            line.update(Text(f"this {self.verdict} will count under the gate", style="green"))

    @property
    def record_anyway(self) -> bool:
        """The reviewer confirmed recording a decision the gate will not count."""
        return self.query_one("#record-anyway", Checkbox).value

    def on_input_changed(self, event: Input.Changed) -> None:
        self.collect()
        self.show_ruling()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        if event.input is not inputs[-1]:
            inputs[inputs.index(event.input) + 1].focus()
            return
        self.sign()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        if event.checkbox.id == "record-anyway":
            return
        self.collect()
        self.save_draft()
        self.show_ruling()

    def save_draft(self) -> None:
        try:
            self.session.save_draft(self.draft)
        except OSError as exc:
            say(self, f"could not save the draft: {exc}", severity="error")

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
        self.save_draft()
        ruling = self.ruling()  # None while the key is looked up: recording asks the rule-book
        if ruling is not None and not ruling.recordable:
            self.show_error(refusal_line(self.verdict, ruling))
            return
        if ruling is not None and not ruling.counts and not self.record_anyway:
            self.show_error("it will not count: tick 'record it anyway' to record it all the same")
            return
        self.signing = True
        self.show_error("signing…")
        self.run_signing(self.record_anyway)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sign")
    def run_signing(self, record_anyway: bool) -> None:
        try:
            recorded = self.session.record(
                self.fix, self.verdict, self.draft, record_anyway=record_anyway
            )
        except Exception as exc:  # shown in the dialog; the draft stays
            message = (
                exc.message if isinstance(exc, FixreviewError) else f"{type(exc).__name__}: {exc}"
            )
            self.app.call_from_thread(self.failed, message)
            return
        self.app.call_from_thread(self.succeeded, recorded)

    def failed(self, message: str) -> None:
        self.signing = False
        self.show_error(f"not recorded: {message} (your draft is kept)")
        say(self, message, title="Signing failed", severity="error", timeout=10)

    def succeeded(self, recorded: Recorded) -> None:
        decision = recorded.decision
        say(self, f"{decision.verdict} recorded and signed with {recorded.key}", title="Recorded")
        if not recorded.ruling.counts:
            warning = not_counting_line(decision.verdict, recorded.ruling)
            say(self, warning, title="It will not count", severity="warning", timeout=12)
        self.dismiss(recorded)

    def action_cancel(self) -> None:
        if not self.signing:
            self.collect()
            self.save_draft()
            self.dismiss(None)
