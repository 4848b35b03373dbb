"""Progress of long operations: what the domain reports, and the command line's stderr line,
read through a real pseudo-terminal (drawn, then cleared) and through a pipe (nothing)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading
import tty
from pathlib import Path

from fixreview.findings.sarif import STAGE_SARIF, parse_sarif
from fixreview.gate import STAGE_DECISIONS, judge_queue
from fixreview.progress import Throttle, progress_text
from fixreview.queue import STAGE_BRANCHES, load_queue
from fixreview.repo.git import Repository
from fixreview.risk import STAGE_RISK, assess_fixes
from fixreview.sync import STAGE_FETCH, STAGE_MERGE, STAGE_PUSH
from tests.cliutil import fixreview
from tests.gitutil import AI, TestRepo, git
from tests.signing_util import Reviewer
from tests.test_decide_verify import APPROVE, decide
from tests.test_suggestion_match import DB_BEFORE, DB_FIXED, WHOLE_LINE, sarif_with_fix

BRANCHES = 30
Report = tuple[str, int, int]


def many_fixes(repo: TestRepo, count: int = BRANCHES) -> list[str]:
    """COUNT fix branches, each one AI commit changing a file of its own."""
    names = []
    for i in range(count):
        name = f"ai-fix/f{i:02d}"
        repo.checkout("-b", name, "main")
        repo.commit(f"Fix {i}\n\nFinding-Id: SEC-{i}", {f"app/m{i}.py": f"n = {i}\n"}, who=AI)
        names.append(name)
    repo.checkout("main")
    return names


# -- the domain --------------------------------------------------------------------------------


def test_loading_reports_each_branch_and_loads_the_same_queue(repo: TestRepo) -> None:
    names = many_fixes(repo)
    plain = load_queue(Repository(repo.path))
    reports: list[Report] = []
    watched = load_queue(Repository(repo.path), progress=lambda *r: reports.append(r))
    assert [f.model_dump() for f in watched.fixes] == [f.model_dump() for f in plain.fixes]
    assert [f.branch.name for f in watched.fixes] == names
    assert reports[0] == (STAGE_BRANCHES, 0, BRANCHES)
    assert reports[-1] == (STAGE_BRANCHES, BRANCHES, BRANCHES)
    counts = [done for _, done, _ in reports]
    assert counts == sorted(counts) and len(set(counts)) == BRANCHES + 1


def test_risk_checks_report_every_fix_cold_and_warm(repo: TestRepo) -> None:
    many_fixes(repo, 12)
    git_repo = Repository(repo.path)
    queue = load_queue(git_repo)
    cold: list[Report] = []
    flags = assess_fixes(
        git_repo, queue.fixes, queue.policy.policy, progress=lambda *r: cold.append(r)
    )
    assert {stage for stage, _, _ in cold} == {STAGE_RISK}
    assert cold[0] == (STAGE_RISK, 0, 12) and cold[-1] == (STAGE_RISK, 12, 12)
    warm: list[Report] = []
    again = assess_fixes(
        git_repo, queue.fixes, queue.policy.policy, progress=lambda *r: warm.append(r)
    )
    assert again == flags
    assert warm == [(STAGE_RISK, 12, 12)]  # every fix from the cache: at once


def test_judging_reports_the_fixes_with_decisions(fixed: TestRepo, aisha: Reviewer) -> None:
    assert decide(fixed, aisha, *APPROVE).returncode == 0
    git_repo = Repository(fixed.path)
    queue = load_queue(git_repo)
    reports: list[Report] = []
    judged = judge_queue(git_repo, queue, progress=lambda *r: reports.append(r))
    assert set(judged) == {"ai-fix/sqli"}
    assert reports == [(STAGE_DECISIONS, 0, 1), (STAGE_DECISIONS, 1, 1)]


def big_sarif(tmp_path: Path, count: int) -> Path:
    """A SARIF log of COUNT results: the first proposes WHOLE_LINE's fix of app/db.py."""
    path = sarif_with_fix(tmp_path, WHOLE_LINE)
    log = json.loads(path.read_text())
    first = log["runs"][0]["results"][0]
    others = [
        {**first, "fixes": [], "locations": [{**first["locations"][0]}], "ruleId": f"rule-{i}"}
        for i in range(1, count)
    ]
    log["runs"][0]["results"].extend(others)
    path.write_text(json.dumps(log))
    return path


def test_reading_a_sarif_log_reports_each_result(tmp_path: Path) -> None:
    data = big_sarif(tmp_path, 50).read_bytes()
    reports: list[Report] = []
    watched = parse_sarif(data, "scan.sarif", lambda *r: reports.append(r))
    assert watched == parse_sarif(data, "scan.sarif")
    assert reports == [(STAGE_SARIF, done, 50) for done in range(51)]


def test_the_throttle_passes_each_new_stage_and_then_a_few_a_second() -> None:
    now = [0.0]
    passed: list[Report] = []
    throttle = Throttle(lambda *r: passed.append(r), interval=0.1, clock=lambda: now[0])
    for done in range(100):  # a thousand reports a second for a tenth of a second
        throttle("a", done, 100)
        now[0] += 0.001
    throttle("b", 0, 5)  # a new stage: at once
    throttle("b", 1, 5)  # too soon
    now[0] += 0.2
    throttle("a", 100, 100)  # a stage seen before: when its time comes
    assert passed == [("a", 0, 100), ("b", 0, 5), ("a", 100, 100)]
    assert progress_text("b", 1, 5) == "b 1/5" and progress_text("b", 0, 1) == "b"


# -- the command line ---------------------------------------------------------------------------


def on_a_terminal(
    where: TestRepo, *argv: str, term: str = "xterm-256color"
) -> tuple[int, str, bytes]:
    """``fixreview --repo WHERE ARGV…`` with stderr on a pseudo-terminal (raw: the bytes as
    written): its exit, its stdout (a pipe) and every byte it wrote on the terminal."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    env = {**os.environ, "TERM": term}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fixreview", "--repo", str(where.path), *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    written = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: every end of the terminal is closed, the command is done
            break
        if not chunk:
            break
        written += chunk
    os.close(master)
    code = proc.wait()
    reader.join()
    return code, out[0].decode(), written


def screen_lines(written: bytes) -> list[str]:
    """The lines a terminal shows after WRITTEN: a carriage return goes back to the start of
    the line, and later characters overwrite earlier ones."""
    lines: list[list[str]] = [[]]
    column = 0
    for char in written.decode():
        line = lines[-1]
        if char == "\n":
            lines.append([])
            column = 0
        elif char == "\r":
            column = 0
        else:
            if column < len(line):
                line[column] = char
            else:
                line.append(char)
            column += 1
    return ["".join(line).rstrip() for line in lines]


def assert_drawn_then_cleared(written: bytes, *stages: str) -> None:
    text = written.decode()
    for stage in stages:
        assert f"\rfixreview: {stage}" in text, text
    assert "\x1b" not in text  # no escape sequence: a carriage return and spaces
    assert "\n" not in text  # the progress never leaves its line
    assert text.endswith("\r") and screen_lines(written) == [""]  # cleared at the end


def test_list_draws_progress_on_a_terminal_and_nothing_on_a_pipe(repo: TestRepo) -> None:
    many_fixes(repo)
    code, out, written = on_a_terminal(repo, "list")
    assert code == 0
    assert_drawn_then_cleared(written, STAGE_BRANCHES, STAGE_RISK)
    piped = fixreview(repo, "list")
    assert piped.returncode == 0
    assert piped.stderr == ""  # no progress, and nothing else to say
    assert piped.stdout == out
    assert "ai-fix/f29" in out
    # a dumb terminal gets no progress at all
    code, dumb_out, dumb = on_a_terminal(repo, "list", term="dumb")
    assert (code, dumb_out, dumb) == (0, out, b"")


def test_log_draws_progress_on_a_terminal(repo: TestRepo) -> None:
    many_fixes(repo, 8)
    code, out, written = on_a_terminal(repo, "log")
    assert code == 0
    assert_drawn_then_cleared(written, STAGE_BRANCHES)
    piped = fixreview(repo, "log")
    assert piped.stderr == "" and piped.stdout == out


def test_an_error_after_progress_is_one_clean_line(repo: TestRepo, tmp_path: Path) -> None:
    many_fixes(repo, 1)
    scan = big_sarif(tmp_path, 300)
    code, out, written = on_a_terminal(
        repo, "propose", "ai-fix/f00", "--sarif", str(scan), "--result", "999"
    )
    assert code != 0 and out == ""
    assert f"\rfixreview: {STAGE_SARIF}" in written.decode()
    lines = screen_lines(written)
    assert lines[0].startswith("fixreview: error: ") and lines[1:] == [""], lines


def test_sync_draws_its_steps_on_a_terminal(repo: TestRepo, tmp_path: Path) -> None:
    many_fixes(repo, 3)
    (tmp_path / "f.toml").write_text('id = "SEC-0"\ntitle = "t"\nseverity = "high"\n')
    assert (
        fixreview(repo, "propose", "ai-fix/f00", "--finding", str(tmp_path / "f.toml")).returncode
        == 0
    )
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repo.git("remote", "add", "origin", str(remote))
    code, out, written = on_a_terminal(repo, "sync")
    assert code == 0 and "pushed to origin" in out
    assert_drawn_then_cleared(written, STAGE_FETCH, STAGE_MERGE, STAGE_PUSH)
    piped = fixreview(repo, "sync")
    assert piped.returncode == 0 and piped.stderr == ""
    # the second sync finds the remote up to date: its report differs, its stderr is clean
    assert "up to date" in piped.stdout


def test_propose_over_a_large_sarif_draws_progress_on_a_terminal(
    repo: TestRepo, tmp_path: Path
) -> None:
    repo.commit("db", {"app/db.py": DB_BEFORE})
    repo.checkout("-b", "ai-fix/db")
    ai = repo.commit("Parameterize (autofix)", {"app/db.py": DB_FIXED}, who=AI)
    for i in range(4):
        repo.commit(f"Note {i}", {f"docs/n{i}.md": "reviewed\n"})
    repo.checkout("main")
    scan = big_sarif(tmp_path, 400)
    argv = ("propose", "ai-fix/db", "--sarif", str(scan), "--result", "0")
    code, out, written = on_a_terminal(repo, *argv)
    assert code == 0 and out.strip().endswith(f"at {ai[:12]}")
    assert_drawn_then_cleared(written, STAGE_SARIF, "searching the branch's commits")
    piped = fixreview(repo, *argv)
    assert piped.returncode == 0 and piped.stderr == ""
    assert piped.stdout == out
