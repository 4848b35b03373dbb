"""``fixreview`` entry point: parses the command line, calls the domain, prints, exits.

Exit codes: 0 success, 1 a negative answer (not found), 2 usage or environment error. Every
error is one line on stderr; a traceback is shown only with ``FIXREVIEW_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import os
import sys
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from fixreview import __version__
from fixreview.errors import EXIT_USAGE, FixreviewError, InputError

if TYPE_CHECKING:
    from fixreview.listsnapshot import ListOutput
    from fixreview.progress import Progress
    from fixreview.user_config import UserConfig

PROG = "fixreview"


class UsageError(FixreviewError):
    """The command line itself is wrong."""


class _Parser(argparse.ArgumentParser):
    intermixed = False  # positionals may follow options (record-check NAME --passed REV)
    _parsing = False

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see: {self.prog} --help)")

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if not self.intermixed or self._parsing:
            return super().parse_known_args(args, namespace)
        self._parsing = True  # the intermixed parse calls this again: then the plain one
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._parsing = False


EXIT_CODES = "exit codes: 0 success, 1 a negative answer (not found), 2 usage or environment error"

TOP_DESCRIPTION = """\
Review AI-proposed security fixes; record signed decisions as git notes.

With no COMMAND, fixreview opens the review app (a terminal is needed) on the
repository: the queue of fixes awaiting review, each fix's finding, diff and risk
flags, and the decision dialog. Every COMMAND below works without the app."""

TOP_EPILOG = f"""\
examples:
  fixreview                         open the review app here
  fixreview demo                    build the sample repositories and open the app on them
  fixreview list                    the fixes awaiting review, most severe first
  fixreview verify ai-fix/sqli      the CI gate: exit 0 only when approved
  fixreview COMMAND --help          a command's options and examples (docs/commands/)

{EXIT_CODES}"""

# per command: the one-line help in the command list, the description and the examples
COMMANDS: dict[str, tuple[str, str, str]] = {
    "list": (
        "pending fixes (or all, with their status)",
        "List the fix branches awaiting review (pending or stale), most severe first, with\n"
        "their finding, AI tool, size, risk flags and status. --all lists every fix branch.",
        "  fixreview list\n  fixreview list --all\n  fixreview list --branch 'snyk-*'\n"
        "  fixreview list --json --base origin/main",
    ),
    "show": (
        "finding, suggestion, diff stats and commits of a fix",
        "Show one fix: its finding, the AI's suggestion and rationale, its risk flags, the\n"
        "final change, what people changed after the AI, and its commits.",
        "  fixreview show ai-fix/sqli\n"
        "  fixreview show alert-autofix-12 --json\n"
        "  fixreview show origin/ai-fix/sqli --base origin/main",
    ),
    "propose": (
        "attach a finding and the AI's suggestion to a fix branch",
        "Link a fix branch to the finding it answers and the AI's suggestion, as a proposal\n"
        "note on the suggestion commit. The finding comes from a TOML file, a SARIF log\n"
        "(pick the result with --result) or a CodeTF (codemodder) report.",
        "  fixreview propose ai-fix/sqli --finding finding.toml\n"
        "  fixreview propose alert-autofix-12 --sarif codeql.sarif \\\n"
        "      --result 'py/sql-injection@app/db.py:41'\n"
        "  fixreview propose pixeebot/drip --codetf codemodder.json --result 0",
    ),
    "init": (
        "set a repository up for fixreview",
        "Set this repository up for reviewing AI fixes: write .fixreview.toml with the default\n"
        "policy commented, allow your ssh signing key for your e-mail in the allowed signers\n"
        "file, make git fetch bring the remote's notes, and make rebases carry proposals.\n"
        "Idempotent; it says what it did and what to commit on the base branch.",
        "  fixreview init\n  fixreview init --remote upstream",
    ),
    "attest": (
        "an in-toto statement that a head passed the gate",
        "Print an in-toto Statement v1 for an approved head: the head commit and tree as its\n"
        "subject, and a fixreview predicate naming the finding, the diff hash, each counted\n"
        "approval, the required checks and each check that passed on the head (its counted\n"
        "CI record), and the policy blob applied. Exit 1 when REV does not pass verify.\n"
        "--bundle signs it with your ssh key in a DSSE envelope.",
        "  fixreview attest ai-fix/sqli\n"
        "  fixreview attest --base origin/main --bundle \"$GITHUB_SHA\" > review.dsse.json",
    ),
    "decide": (
        "record a signed decision without the app",
        "Record a signed decision on a fix's head commit, as the app's decision dialog does:\n"
        "approve (every checklist item confirmed with a note, rollback criteria written,\n"
        "blocking risk flags acknowledged), request changes or reject (with a comment).\n"
        "It is signed with your git signing setup (ssh or OpenPGP).",
        "  fixreview decide ai-fix/sqli --approve --intent 'parameterizes both inputs' \\\n"
        "      --scope 'one function' --blast-radius 'invoice search only' \\\n"
        "      --rollback 'revert if search results change'\n"
        "  fixreview decide ai-fix/xss --reject --comment 'over-scoped: resubmit app.js alone'\n"
        "  fixreview decide ai-fix/ci --request-changes --comment 'pin actions by hash'",
    ),
    "record-check": (
        "record a CI check's result on a head, signed (for CI)",
        "Record the result of an automated check (a test run) on REV's commit (default HEAD),\n"
        "signed with the git signing setup (an ssh key: CI's, from a secret), in the notes\n"
        "ref refs/notes/fixreview/checks: the check's name, its status, the head commit and\n"
        "tree, the time, the signer, the run's URL and, from a JUnit XML report, its counts.\n"
        "It counts only when the key is in the base policy's [checks] signers file. A report\n"
        "with failures or errors is never recorded as --passed. Share it with: fixreview sync.",
        "  fixreview record-check tests --passed --junit junit.xml --url \"$RUN_URL\"\n"
        "  fixreview record-check tests --failed --junit junit.xml \"$PR_HEAD_SHA\"\n"
        "  fixreview record-check lint --passed",
    ),
    "verify": (
        "the CI gate: exit 0 only when REV is approved",
        "Check that REV (default HEAD), the head of a fix, carries the approvals the base\n"
        "branch's policy asks for, and print every decision and why it counts or not\n"
        "(docs/verify.md). REV must be a fix: a commit that is already in the base branch\n"
        "(its tip or an ancestor) is refused as a usage error (exit 2).",
        "  fixreview verify\n"
        "  fixreview verify ai-fix/sqli\n"
        '  fixreview verify --base origin/main --github "$PR_HEAD_SHA"\n'
        "  fixreview verify ai-fix/sqli --json",
    ),
    "log": (
        "the audit trail of a branch or a finding",
        "The audit trail, from the notes alone: per fix, what changed (the AI's suggestion\n"
        "and people's changes after it), why (the finding and the AI's rationale), who\n"
        "decided what (every signed decision, judged by the gate), which CI checks ran on\n"
        "it (every check record, and whether it counts) and which finding it answers. A\n"
        "FINDING-ID is looked up in the fixes and in the policy's findings sources; with no\n"
        "argument, every fix branch.",
        "  fixreview log\n  fixreview log ai-fix/sqli\n  fixreview log SEC-101 --json",
    ),
    "sync": (
        "fetch, merge and push the notes refs, losing nothing",
        "Share the proposals, decisions and checks notes with REMOTE (default origin): fetch\n"
        "them, merge with git's cat_sort_uniq strategy, restore any record a rewrite dropped,\n"
        "and push without force.",
        "  fixreview sync\n  fixreview sync upstream",
    ),
    "demo": (
        "build the sample repositories and open the app on them",
        "Build the sample repositories (fix branches by several AI tools, proposals, signed\n"
        "decisions, a reviewer key) and open the review app on the first one.",
        "  fixreview demo\n  fixreview demo --path /tmp/fr --no-open",
    ),
}


# where a command's exit codes say more than EXIT_CODES
COMMAND_EXIT_CODES = {
    "verify": "exit codes: 0 approved, 1 not approved (or REV shares no history with the base),\n"
    "2 usage or environment error (REV not a commit or not a fix, notes missing, bad base)",
    "log": "exit codes: 0 the trail was printed (a finding no branch answers: an empty trail),\n"
    "1 no fix branch and no finding by that name, 2 usage or environment error",
}


def _command(commands: Any, name: str) -> argparse.ArgumentParser:
    """The subparser NAME, with its help line, description, examples and exit codes."""
    summary, description, examples = COMMANDS[name]
    exits = COMMAND_EXIT_CODES.get(name, EXIT_CODES)
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=f"examples:\n{examples}\n\n{exits}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    default: Any = "." if top else argparse.SUPPRESS
    parser.add_argument(
        "--repo",
        metavar="PATH",
        default=default,
        help="the repository (default: the current directory)",
    )
    parser.add_argument(
        "--base",
        metavar="BRANCH",
        default=None if top else argparse.SUPPRESS,
        help="the base branch the fixes target (default: the policy's, main)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description=TOP_DESCRIPTION,
        epilog=TOP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _common(parser, top=True)
    commands = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        parser_class=_Parser,
        title="commands (none: open the review app)",
    )

    p = _command(commands, "list")
    _common(p, top=False)
    p.add_argument("--all", action="store_true", help="include decided fixes")
    p.add_argument(
        "--branch",
        metavar="PATTERN",
        action="append",
        help="only fix branches matching PATTERN (* matches / too; repeatable; default: "
        "branches in your config.toml, else all)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")

    p = _command(commands, "show")
    _common(p, top=False)
    p.add_argument("branch", metavar="BRANCH", help="the fix branch (or REMOTE/BRANCH)")
    p.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")

    p = _command(commands, "propose")
    _common(p, top=False)
    p.add_argument("branch", metavar="BRANCH", help="the fix branch")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--finding", metavar="FILE.toml", help="a finding as TOML")
    source.add_argument(
        "--sarif", metavar="FILE.sarif", help="a SARIF log; pick the result with --result"
    )
    source.add_argument("--codetf", metavar="FILE.json", help="a CodeTF (codemodder) report")
    p.add_argument(
        "--result",
        metavar="SEL",
        help="SARIF: the result's index, guid or RULEID@PATH:LINE; CodeTF: index or codemod id",
    )
    p.add_argument("--tool", help="the AI tool (default: the Assisted-by trailer)")
    p.add_argument("--model", help="the AI model (default: the Assisted-by trailer)")
    p.add_argument("--rationale", help="the AI's rationale (default: the commit message body)")
    p.add_argument(
        "--commit", metavar="REV", help="the AI's suggestion commit (default: the branch head)"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="record a finding the branch's Finding-Id trailers contradict (it is flagged), "
        "or a CodeTF change found in no commit of the branch (at its head)",
    )

    p = _command(commands, "init")
    _common(p, top=False)
    p.add_argument(
        "--remote", default="origin", metavar="NAME", help="the remote to fetch notes from"
    )

    p = _command(commands, "attest")
    _common(p, top=False)
    p.add_argument("rev", metavar="REV", help="the approved head (a branch or a commit)")
    p.add_argument(
        "--bundle", action="store_true", help="a DSSE envelope signed with your ssh key"
    )

    p = _command(commands, "decide")
    _common(p, top=False)
    p.add_argument("branch")
    verdict = p.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--approve", dest="verdict", action="store_const", const="approve")
    verdict.add_argument(
        "--request-changes", dest="verdict", action="store_const", const="request-changes"
    )
    verdict.add_argument("--reject", dest="verdict", action="store_const", const="reject")
    p.add_argument(
        "--intent", metavar="NOTE", help="confirm: the change does what the finding needs"
    )
    p.add_argument("--scope", metavar="NOTE", help="confirm: every changed file is accounted for")
    p.add_argument(
        "--blast-radius", metavar="NOTE", help="confirm: what this can break is understood"
    )
    p.add_argument(
        "--rollback", metavar="CRITERIA", help="confirm, with the criteria for reverting"
    )
    p.add_argument("--comment", default="", help="why (required to request changes or reject)")
    p.add_argument(
        "--ack",
        metavar="FLAG-ID",
        nargs="+",
        action="extend",
        default=[],
        help="acknowledge blocking risk flags by id",
    )
    p.add_argument(
        "--record-anyway",
        action="store_true",
        help="record a decision the gate will not count (your key is not allowed on the base, "
        "you committed to the fix…); without it such a decision is refused",
    )

    p = _command(commands, "record-check")
    assert isinstance(p, _Parser)
    p.intermixed = True  # NAME --passed REV: REV after the option
    p.add_argument("--repo", metavar="PATH", default=argparse.SUPPRESS, help="the repository")
    p.add_argument("name", metavar="NAME", help="the check's name (e.g. tests)")
    status = p.add_mutually_exclusive_group(required=True)
    status.add_argument(
        "--passed", dest="status", action="store_const", const="passed", help="the check passed"
    )
    status.add_argument(
        "--failed", dest="status", action="store_const", const="failed", help="the check failed"
    )
    p.add_argument(
        "rev", nargs="?", default="HEAD", metavar="REV", help="the commit tested (default: HEAD)"
    )
    p.add_argument("--junit", metavar="FILE", help="the run's JUnit XML report: its counts")
    p.add_argument("--url", metavar="URL", default="", help="where the run can be seen")

    p = _command(commands, "verify")
    _common(p, top=False)
    p.add_argument(
        "rev", nargs="?", default="HEAD", metavar="REV", help="the fix's head (default: HEAD)"
    )
    style = p.add_mutually_exclusive_group()
    style.add_argument("--json", action="store_true", help="machine-readable output")
    style.add_argument("--github", action="store_true", help="GitHub Actions annotations")

    p = _command(commands, "log")
    _common(p, top=False)
    p.add_argument(
        "target",
        nargs="?",
        metavar="BRANCH|FINDING-ID",
        help="a fix branch, or a finding's id (default: every fix branch)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = _command(commands, "sync")
    _common(p, top=False)
    p.add_argument("remote", nargs="?", default="origin", metavar="REMOTE", help="default: origin")

    p = _command(commands, "demo")
    p.add_argument(
        "--path", metavar="DIR", help="where to build them (default: a new temporary directory)"
    )
    p.add_argument("--no-open", action="store_true", help="build only; print where they are")
    return parser


PLUGINS_OFF = ("PYDANTIC_DISABLE_PLUGINS", "__all__")
"""Set in the environment before any model validates: pydantic then loads no third-party
plugin (an entry point of any installed distribution, found by reading every distribution's
metadata, about 5-15 ms of every command) into fixreview's validation of untrusted records."""
PLUGIN_LOADER = "pydantic.plugin._loader"


def plugins_off() -> None:
    """Turn pydantic's plugins off (:data:`PLUGINS_OFF`) and, unless pydantic's plugin loader
    is loaded already, stand :mod:`fixreview.pydantic_plugins` in for it: it answers "no
    plugin", as the real one does with plugins off, without importing ``importlib.metadata``."""
    os.environ[PLUGINS_OFF[0]] = PLUGINS_OFF[1]
    if PLUGIN_LOADER not in sys.modules:
        from fixreview import pydantic_plugins

        sys.modules[PLUGIN_LOADER] = pydantic_plugins


ONE_SHOT = frozenset({"verify"})
"""Commands that, run as the program, run without the cycle collector and end the process
themselves (:func:`main`)."""

ENDS_ITSELF = ONE_SHOT | {"list"}
"""Commands that, run as the program, end the process themselves once their output is written
(:func:`_end_now`). ``list`` keeps the cycle collector (its risk workers are forked from it and
allocate freely) but not the teardown: 0.05-0.15 s after a cold ``list`` of 1,000 fixes had
printed its answer."""


def main(argv: Sequence[str] | None = None) -> int:
    """The command line. Run as the program (ARGV None: ``fixreview`` or ``python -m
    fixreview``), a :data:`ONE_SHOT` command runs with the cycle collector off (what it
    allocates is freed by reference counting, or at its end) and ends the process itself once
    its output is written (:func:`_end_now`): together about 6% of a cold ``verify``'s
    instructions; a command of :data:`ENDS_ITSELF` ends itself so too. Called with ARGV
    (tests, tools), it only returns the exit code."""
    args: list[argparse.Namespace] = []
    code = _main(argv, args)
    if argv is None and args and args[0].command in ENDS_ITSELF:
        _end_now(code)
    return code


def _end_now(code: int) -> None:
    """End the process with CODE once its output is flushed and its exit handlers have run
    (the clean room's removal, gpg's agents), skipping only the interpreter's teardown: every
    module cleared and every object freed one by one, about 58 million instructions (4%) of a
    cold ``verify``, for memory the system takes back at once. Output that cannot be flushed
    (a closed pipe) is left to the usual exit, which reports it."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        return
    atexit._run_exitfuncs()
    os._exit(code)


def _main(argv: Sequence[str] | None, parsed: list[argparse.Namespace]) -> int:
    """:func:`main`'s work; the parsed arguments are appended to PARSED."""
    plugins_off()
    try:
        args = build_parser().parse_args(argv)
        parsed.append(args)
        if argv is None and args.command in ONE_SHOT:
            # the cycle collector's passes over the objects the imports make: about 2% of a
            # verify's instructions (31 million of 1,450 on the benchmark's fix)
            gc.disable()
        return _dispatch(args)
    except FixreviewError as exc:
        from fixreview.safetext import visible  # messages can quote untrusted input

        print(f"{PROG}: error: {visible(exc.message, multiline=False)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: still one line, with a way to see more
        if os.environ.get("FIXREVIEW_DEBUG"):
            raise
        print(
            f"{PROG}: internal error: {type(exc).__name__}: {exc} "
            "(run with FIXREVIEW_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return EXIT_USAGE


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "demo":
        return _demo(args)
    from fixreview.repo.git import Repository

    if args.command == "list":
        repo = Repository(args.repo)
        snapshot = _list_snapshot(repo, args)
        if snapshot.output is not None:  # nothing changed since a list made it
            return _emit_output(snapshot.output)
        if args.branch is None:  # the whole queue: a copy parses the proposals meanwhile
            from fixreview.readahead import read_proposals_ahead

            read_proposals_ahead(repo)
    # verify's repository, refs and ledger are read on a thread while the models are imported
    ahead = _VerifyStart(args.repo, args.rev) if args.command == "verify" else None
    from fixreview.user_config import load_user_config  # the models: not for a snapshot

    config = load_user_config()  # one line naming the key when it cannot be used
    if ahead is not None:
        repo = ahead.repository()
    elif args.command != "list":
        repo = Repository(args.repo)
    if getattr(args, "base", None) is None and config.base is not None:
        from fixreview.repo.refs import BranchRefs
        from fixreview.user_config import config_path

        # --base wins over the reviewer's config; a configured base that names no branch
        # is an error that says where it was configured
        BranchRefs(repo).resolve(config.base, f"base in {config_path()}")
        args.base = config.base
    if args.command is None:
        return _run_app(repo, args.base, config)
    if args.command == "list":
        if args.branch is None and config.branches:
            from fixreview.user_config import config_path

            args.branch, args.branch_origin = list(config.branches), f"branches in {config_path()}"
        return _list(repo, args, snapshot)
    if args.command == "show":
        return _show(repo, args)
    if args.command == "propose":
        return _propose(repo, args)
    if args.command == "decide":
        return _decide(repo, args)
    if args.command == "init":
        return _init(repo, args)
    if args.command == "attest":
        return _attest(repo, args)
    if args.command == "record-check":
        return _record_check(repo, args)
    if args.command == "verify":
        return _verify(repo, args, ahead)
    if args.command == "log":
        return _log(repo, args)
    if args.command == "sync":
        return _sync(repo, args)
    raise UsageError(f"unknown command {args.command!r}")


def _emit_json(document: Any) -> None:
    from fixreview.cli.jsonout import dumps  # control and invisible characters escaped

    print(dumps(document))


def _warn(warnings: list[str]) -> None:
    from fixreview.cli.render import shown_warnings
    from fixreview.safetext import visible

    for warning in shown_warnings(warnings):
        print(f"{PROG}: warning: {visible(warning, multiline=False)}", file=sys.stderr)


def _progress() -> AbstractContextManager[Progress | None]:
    """Progress on stderr while the command works, when stderr is a terminal (else None)."""
    from fixreview.cli.progress import stderr_progress

    return stderr_progress(sys.stderr, f"{PROG}: ")


@dataclass
class _Snapshot:
    """A list's snapshot: its key, when it was looked up, and what it held (None: nothing)."""

    key: str
    created: float
    output: ListOutput | None


def _list_snapshot(repo: Any, args: argparse.Namespace) -> _Snapshot:
    """The snapshot of this list's answer (fixreview/listsnapshot.py); the repository is
    pinned to the refs and configuration its key was made of, so that an answer computed next
    is the answer for exactly that key."""
    import time

    from fixreview.listsnapshot import config_field, read_snapshot, snapshot_key
    from fixreview.repo.refs import read_ref_state

    created = time.time()
    state = read_ref_state(repo)
    repo.pin(state)
    config = config_field()
    request = (
        "list",
        args.base,
        "\0".join(args.branch) if args.branch is not None else None,
        int(args.all),
        int(args.json),
        config,
    )
    key = snapshot_key(repo, state, request)
    return _Snapshot(key, created, read_snapshot(repo, key))


def _emit_output(output: ListOutput) -> int:
    """Print OUTPUT as the command that made it printed it: standard error first."""
    if output.stderr:
        sys.stderr.write(output.stderr)
        sys.stderr.flush()
    sys.stdout.write(output.stdout)
    sys.stdout.flush()
    return output.code


def _list(repo: Any, args: argparse.Namespace, snapshot: _Snapshot) -> int:
    from fixreview.listsnapshot import write_snapshot

    output, holds_until = _list_output(repo, args)
    write_snapshot(repo, snapshot.key, output, snapshot.created, holds_until)
    return _emit_output(output)


def _list_output(repo: Any, args: argparse.Namespace) -> tuple[ListOutput, float]:
    """What list prints, and until when its signature answers hold (Unix time)."""
    from fixreview.cli.jsonout import dumps, queue_document
    from fixreview.cli.render import list_table, shown_warnings
    from fixreview.decisions import warm_decisions
    from fixreview.gate import QueueJudging, set_statuses, start_judging
    from fixreview.jobs import forked_beside, stop_ahead
    from fixreview.listsnapshot import ListOutput
    from fixreview.queue import load_queue
    from fixreview.risk import assess_fixes
    from fixreview.safetext import visible
    from fixreview.session import listed_first

    with (
        _progress() as progress,
        # a forked copy reads the decisions into the cache while the queue is read here
        forked_beside(warm_decisions, repo.root, repo.git_dir) as warming,
    ):
        queue = load_queue(repo, args.base, progress, args.branch or ())
        # the signatures are checked on a thread while every fix's flags are computed, once:
        # statuses need them for the fixes with decisions, too. The thread starts once the
        # risk workers are started: they are forked from a process without threads
        judging: list[QueueJudging] = []

        def judge() -> None:
            warming.wait()
            judging.append(start_judging(repo, queue, background=True, progress=progress))

        try:
            flags = assess_fixes(
                repo, queue.fixes, queue.policy.policy, progress=progress, started=judge
            )
        finally:
            for started in judging:
                started.wait(progress)
        set_statuses(queue, judging[0].finish(flags, progress))
    stop_ahead()  # a copy started ahead that the read did not meet (other notes were read)
    fixes = listed_first(queue, everything=args.all)
    err: list[str] = []
    if queue.hidden:
        from fixreview.queue import hidden_note

        origin = getattr(args, "branch_origin", "--branch")
        note = hidden_note(queue.hidden, args.branch, origin)
        err.append(f"{PROG}: note: {visible(note, multiline=False)}\n")
    if args.json:
        out = dumps(queue_document(queue, fixes, flags)) + "\n"
    else:
        for warning in shown_warnings(queue.warnings):
            err.append(f"{PROG}: warning: {visible(warning, multiline=False)}\n")
        if not fixes:
            out = ("no fixes awaiting review" if not args.all else "no fix branches") + "\n"
        else:
            out = list_table(fixes, flags) + "\n"
    return ListOutput(out, "".join(err), 0), min(judging[0].holds_until, queue.holds_until)


def _show(repo: Any, args: argparse.Namespace) -> int:
    from fixreview.gate import status_of
    from fixreview.queue import load_one
    from fixreview.review import load_review

    queue = load_one(repo, args.branch, args.base)  # that fix alone: nothing else is judged
    fix = queue.fixes[0]
    data = load_review(repo, fix, queue.policy, alone=True)
    if data.gate is not None:
        fix.branch.status = status_of(data.gate)
    if args.json:
        from fixreview.cli.jsonout import show_document

        _emit_json(show_document(queue, data))
    else:
        from fixreview.cli.render import show_report

        print(show_report(queue, data))
    return 0


def _read_input(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None


def _propose(repo: Any, args: argparse.Namespace) -> int:
    from fixreview.proposals import propose

    with _progress() as progress:
        finding, source, diffs, edits = _finding_from_args(repo, args, progress)
        proposal = propose(
            repo,
            args.branch,
            finding,
            tool=args.tool if args.tool is not None else source.get("tool"),
            model=args.model if args.model is not None else source.get("model"),
            rationale=args.rationale if args.rationale is not None else source.get("rationale"),
            commit=args.commit,
            base=args.base,
            force=args.force,
            producer_diffs=diffs,
            producer_edits=edits,
            progress=progress,
        )
    from fixreview.safetext import visible

    print(
        f"proposed {visible(proposal.finding.id, multiline=False)} "
        f"({proposal.finding.severity}) on {visible(proposal.branch, multiline=False)} "
        f"at {proposal.suggestion.commit[:12]}"
    )
    return 0


def _finding_from_args(
    repo: Any, args: argparse.Namespace, progress: Progress | None = None
) -> tuple[Any, dict[str, str], tuple[tuple[str, str], ...], tuple[Any, ...]]:
    """The finding named on the command line; the tool, model and rationale the source itself
    gives; the producer's diff by file (CodeTF); the producer's fix as edits (SARIF). PROGRESS:
    told how far a SARIF log is read."""
    if args.finding:
        if args.result:
            raise UsageError("--result goes with --sarif or --codetf, not --finding")
        from fixreview.findings.toml_file import parse_one_finding

        return parse_one_finding(_read_input(args.finding), args.finding), {}, (), ()
    if args.sarif:
        from fixreview.findings.sarif import parse_sarif, select_result

        results = parse_sarif(_read_input(args.sarif), args.sarif, progress)
        chosen = select_result(results, args.result, args.sarif, _changed_paths(repo, args))
        return chosen.finding, {}, (), chosen.fixes
    from fixreview.findings.codetf import parse_codetf, select_change

    changes = parse_codetf(_read_input(args.codetf), args.codetf)
    change = select_change(changes, args.result, _changed_paths(repo, args), args.codetf)
    finding = change.finding_for(args.result)
    if change.fixed:  # a scanner's finding: its severity and evidence are in the policy's sources
        from fixreview.findings.sources import load_findings_index
        from fixreview.policy import load_policy

        index = load_findings_index(repo, load_policy(repo, args.base))
        names = [given for given, made in change.fixed if made.id == finding.id]
        finding = index.resolve(finding, *names)
    given = {"tool": change.tool, "model": change.model, "rationale": change.rationale}
    return finding, {key: value for key, value in given.items() if value}, change.diffs, ()


def _changed_paths(repo: Any, args: argparse.Namespace) -> set[str]:
    """The files the fix branch changes (to pick a result, and to list nearby ones first in a
    hint); none when the branch cannot be read (propose then says why)."""
    from fixreview.changes import final_diff
    from fixreview.queue import load_one

    try:
        fix = load_one(repo, args.branch, args.base).fixes[0]
        return set(final_diff(repo, fix).paths())
    except FixreviewError:
        return set()


def _decide(repo: Any, args: argparse.Namespace) -> int:
    from fixreview.decisions import Checklist, ChecklistItem
    from fixreview.drafts import Draft
    from fixreview.queue import load_one
    from fixreview.recording import WouldNotCount, record
    from fixreview.risk import assess_fix
    from fixreview.rulebook import not_counting_line
    from fixreview.safetext import visible
    from fixreview.signing import signer_from_git
    from fixreview.signing.config import reviewer_identity

    items = {
        "intent": args.intent,
        "scope": args.scope,
        "blast_radius": args.blast_radius,
        "rollback": args.rollback,
    }
    checklist = Checklist(
        **{
            name: ChecklistItem(status="confirmed", note=note)
            if note is not None
            else ChecklistItem()
            for name, note in items.items()
        }
    )
    queue = load_one(repo, args.branch, args.base)
    fix = queue.fixes[0]
    draft = Draft(
        branch=fix.branch.name,
        head=fix.branch.head,
        checklist=checklist,
        comment=args.comment,
        acknowledged=list(args.ack),
    )
    try:
        recorded = record(
            repo,
            queue.policy,
            fix,
            assess_fix(repo, fix, queue.policy.policy),
            args.verdict,
            draft,
            reviewer=reviewer_identity(repo),
            signer=signer_from_git(repo),
            record_anyway=args.record_anyway,
        )
    except WouldNotCount as refused:
        raise WouldNotCount(
            f"{refused.message} (nothing recorded; --record-anyway records it all the same)",
            refused.ruling,
        ) from None
    decision = recorded.decision
    if not recorded.ruling.counts:
        warning = not_counting_line(decision.verdict, recorded.ruling)
        print(f"{PROG}: warning: {visible(warning, multiline=False)}", file=sys.stderr)
    print(
        f"recorded {decision.verdict} of {visible(fix.branch.name, multiline=False)} "
        f"at {decision.head_commit[:12]} by {visible(decision.reviewer_label, multiline=False)}, "
        f"signed with {recorded.key}"
    )
    return 0


def _record_check(repo: Any, args: argparse.Namespace) -> int:
    from fixreview.check_records import prepare_check, record_check
    from fixreview.safetext import visible
    from fixreview.signing import signer_from_git
    from fixreview.signing.config import reviewer_identity

    head = repo.resolve(args.rev)
    if head is None:
        raise UsageError(f"{args.rev!r} is not a commit in this repository")
    junit = None
    if args.junit:
        from fixreview.junit import read_junit

        junit = read_junit(_read_input(args.junit), args.junit)
    signer = signer_from_git(repo)
    check = prepare_check(
        repo,
        head,
        args.name,
        args.status,
        signer_identity=reviewer_identity(repo),
        signer=signer,
        junit=junit,
        url=args.url,
    )
    key = record_check(repo, check, signer)
    print(
        f"recorded {visible(check.summary(), multiline=False)} at {head[:12]} "
        f"by {visible(check.signer_label, multiline=False)}, signed with {key}"
    )
    return 0


# the result cache's kind for bound diffs' hashes (fixreview.decisions.DIFF_HASH_CACHE_KIND): no
# entry of it at all is a cache that computes the fix's diff (a CI clone)
_DIFF_HASH_KIND = "diff-sha256"


class _VerifyStart:
    """What ``verify`` reads first, on a thread started before the models are imported (its
    git processes run meanwhile): the repository found at PATH, and one look at every ref and
    at the configuration, pinned on it (two git processes instead of five: the whole judgement
    reads its branches, base and notes tips from that one moment); then, while the imports
    still run, the commit REV names (:meth:`head`), the listings of the proposals and
    decisions notes tips (``Repository.listing``) and, when the cache holds no bound diff's
    hash (a CI clone: the fix's diff will be computed), the clean room the diff runs in.
    :meth:`repository` hands the repository over, or raises what finding it raised, then
    starts reading the decisions ledger of that moment
    (:func:`fixreview.notes.store.prefetch_ledger`).

    What is read ahead is what the judgement would read itself, from the same pinned refs and
    immutable objects: a read that failed ahead is simply made again where it is needed. The
    thread imports nothing: a module imported by two threads at once is the one thing
    Python's imports do not make safe in general (circular imports), so what it runs is
    imported before it starts."""

    def __init__(self, path: str, rev: str) -> None:
        from fixreview.repo.git import Repository, clean_room, object_format_of
        from fixreview.repo.refs import DECISIONS_REF, PROPOSALS_REF, read_ref_state

        self._repo: Any = None
        self._error: BaseException | None = None
        self._head: tuple[str | None] | None = None  # (what REV names,) once resolved ahead

        def start() -> None:
            try:
                repo = Repository(path)
                state = read_ref_state(repo)
                repo.pin(state)
                self._repo = repo
            except BaseException as error:  # raised by repository(), in the caller's thread
                self._error = error
                return
            with contextlib.suppress(Exception):  # made again where needed
                head = repo.resolve(rev)
                self._head = (head,)
                for ref in (PROPOSALS_REF, DECISIONS_REF):
                    tip = state.values.get(ref)
                    if tip is not None:
                        repo.listing(tip)
                if head is not None and not (repo.state_dir / "cache" / _DIFF_HASH_KIND).is_dir():
                    clean_room(object_format_of(head))

        self._thread = threading.Thread(target=start, name="fixreview-verify-start", daemon=True)
        self._thread.start()

    def repository(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        repo = self._repo
        from fixreview.notes.store import DECISIONS_REF, prefetch_ledger

        ledger = repo.ref_value(DECISIONS_REF)
        if ledger is not None:  # its git processes run while the gate's code is imported
            prefetch_ledger(repo, DECISIONS_REF, ledger)
        return repo

    def head(self) -> tuple[str | None] | None:
        """``(commit,)``: what REV named when read ahead (None inside: no commit), or None
        when it was not read (the caller resolves REV itself). Only after :meth:`repository`."""
        return self._head


def _verify(repo: Any, args: argparse.Namespace, ahead: _VerifyStart | None = None) -> int:
    from fixreview.errors import EXIT_NEGATIVE
    from fixreview.gate import evaluate

    head = ahead.head() if ahead is not None else None
    result = evaluate(repo, args.rev, args.base, resolved=head)
    if args.json:
        from fixreview.cli.jsonout import gate_document

        _emit_json(gate_document(result))
    else:
        from fixreview.cli.render import gate_github, gate_report

        print(gate_github(result) if args.github else gate_report(result))
    return 0 if result.approved else EXIT_NEGATIVE


def _log(repo: Any, args: argparse.Namespace) -> int:
    from fixreview.audit import audit_trail
    from fixreview.cli.jsonout import audit_document
    from fixreview.cli.render import audit_report

    with _progress() as progress:
        trail = audit_trail(repo, args.target, args.base, progress)
    if args.json:
        _emit_json(audit_document(trail))
    else:
        print(audit_report(trail))
    return 0


def _attest(repo: Any, args: argparse.Namespace) -> int:
    from fixreview.attestation import bundle, statement
    from fixreview.errors import EXIT_NEGATIVE
    from fixreview.gate import evaluate

    result = evaluate(repo, args.rev, args.base)
    if not result.approved:
        print(
            f"{PROG}: {args.rev} does not pass verify: nothing to attest "
            "(fixreview verify says why)",
            file=sys.stderr,
        )
        return EXIT_NEGATIVE
    document = statement(repo, result)
    if args.bundle:
        from fixreview.signing import signer_from_git
        from fixreview.signing.ssh import SshSigner

        signer = signer_from_git(repo)
        if not isinstance(signer, SshSigner):
            raise UsageError("--bundle signs with an ssh key: git config gpg.format ssh")
        document = bundle(document, signer)
    _emit_json(document)
    return 0


def _init(repo: Any, args: argparse.Namespace) -> int:
    from fixreview.init_repo import init_repository
    from fixreview.safetext import visible

    report = init_repository(repo, args.remote, args.base)
    for prefix, lines in (
        ("done", report.done),
        ("already", report.already),
        ("to do", report.advice),
    ):
        for line in lines:
            print(f"{prefix}: {visible(line, multiline=False)}")
    if report.to_commit:
        files = " ".join(report.to_commit)
        print(f"commit on the base branch (through review): git add {files} && git commit")
    elif not report.done and not report.advice:
        print("nothing to do: this repository is set up")
    return 0


def _sync(repo: Any, args: argparse.Namespace) -> int:
    from fixreview.sync import sync_notes

    with _progress() as progress:
        report = sync_notes(repo, args.remote, progress)
    for line in report:
        print(line)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from fixreview.demo.builder import build_demo

    built = build_demo(Path(args.path) if args.path else None)
    print(f"sample repositories built in {built.root}")
    for repo_path in built.repositories:
        print(f"  {repo_path}")
    first = built.repositories[0]
    print(f"try: {PROG} --repo {first} list")
    if args.no_open:
        return 0
    from fixreview.repo.git import Repository
    from fixreview.user_config import load_user_config

    return _run_app(Repository(first), None, load_user_config())


def _run_app(repo: Any, base: str | None, config: UserConfig) -> int:
    """Open the review app (the only command that imports Textual)."""
    from fixreview.app.main import FixreviewApp, binding_ids
    from fixreview.fixbranches import fix_patterns
    from fixreview.user_config import config_path

    # a base that cannot be resolved, or a policy on it that is not TOML or whose fix branch
    # patterns the policy model refuses: one line and exit 2, no app. Without importing the
    # models (the app's first frame comes first; its worker reads and checks the whole policy)
    if fix_patterns(repo, base) is None:
        from fixreview.policy import load_policy

        load_policy(repo, base)  # says what it refuses
    if config.keys:  # every screen imported to list their bindings: only when remapping
        unknown = sorted(set(config.keys) - binding_ids())
        if unknown:
            raise InputError(
                f"{config_path()}: keys.{unknown[0]}: no binding has that id "
                "(docs/app.md lists them)"
            )
    if not sys.stdout.isatty() or not sys.stdin.isatty():
        raise UsageError("the review app needs a terminal; for scripts use: fixreview list --json")
    FixreviewApp(repo, base, config).run()
    return 0
