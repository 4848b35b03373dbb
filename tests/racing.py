"""Racing real processes: N fixreview commands started at the same instant, as forked workers.

``race`` runs one fresh interpreter (a driver) that imports fixreview once, forks one worker
process per job, and releases them all together: each worker waits on a pipe that reads
end-of-file only once every worker exists and the driver has closed its end. Each worker then
runs ``fixreview.cli.main.main(argv)`` (what ``python -m fixreview ARGV…`` runs) with its own
environment, so the workers are separate OS processes racing on the same repository through
real git, real ssh-keygen and real gpg, without paying an interpreter start-up and the imports
forty times over (that was most of the time of the old tests).

The driver, not the pytest process, forks: pytest may hold threads and an audit hook, and a fork
copies only the calling thread. ``unreachable_commits`` tells whether the writers really
contended (see its docstring).
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# How many writers race. Released together, 8 writers already make some of them lose the
# compare-and-swap on the notes ref (7 to 22 lost attempts in all in trial runs; the tests assert
# at least one). The lost attempts grow about with the square of the writers: 40 writers lose
# some 380, each a handful of git processes, about half the time of the old 40-writer tests (the
# other half was 40 interpreter start-ups).
RACERS = 8


@dataclass
class Outcome:
    """What one worker's command did, and when it ran (``time.monotonic``, one clock for all)."""

    code: int
    stdout: str
    stderr: str
    started: float
    ended: float


@dataclass
class Job:
    argv: list[str]
    env: Mapping[str, str]


def race(jobs: Sequence[Job], timeout: float = 120) -> list[Outcome]:
    """Run every job's ``fixreview ARGV…`` in its own forked process, all released at once."""
    spec = json.dumps([{"argv": list(job.argv), "env": dict(job.env)} for job in jobs])
    driver = subprocess.Popen(
        [sys.executable, "-m", "tests.racing"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a timeout kills the driver and every worker together
    )
    try:
        out, err = driver.communicate(spec, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(driver.pid, signal.SIGKILL)
        driver.communicate()
        raise
    assert driver.returncode == 0, err
    return [Outcome(**row) for row in json.loads(out)]


def overlapped(outcomes: Sequence[Outcome]) -> bool:
    """Whether every worker was running at one same instant (all started before any ended)."""
    return max(o.started for o in outcomes) < min(o.ended for o in outcomes)


def unreachable_commits(repo: Path) -> int:
    """How many commits in REPO's object database no ref (nor reflog) reaches.

    The notes writer builds each append attempt as a notes commit, then moves the notes ref to
    it with a compare-and-swap; an attempt that lost the race is left behind, unreachable, and
    the append is made again on the new tip. So after a race of appends that each landed once,
    a count above zero proves that some writer was refused by the compare-and-swap and retried:
    the writers really contended. (Nothing else in a test repository leaves commits unreachable.)
    """
    proc = subprocess.run(
        ["git", "fsck", "--unreachable", "--no-reflogs", "--no-progress"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return sum(1 for line in proc.stdout.splitlines() if line.startswith("unreachable commit "))


# the driver (python -m tests.racing): a JSON list of jobs on stdin, a JSON list of outcomes out

_NOT_PRELOADED = {"fixreview.__main__", "fixreview.app", "fixreview.demo"}


def _preload(package: str = "fixreview") -> None:
    """Import every fixreview module a command may import (not the app, the demo or __main__,
    which would run the command line), so that forked workers have nothing left to import."""
    module = importlib.import_module(package)
    for info in pkgutil.iter_modules(module.__path__, package + "."):
        if info.name in _NOT_PRELOADED:
            continue
        try:
            if info.ispkg:
                _preload(info.name)
            else:
                importlib.import_module(info.name)
        except Exception:  # a worker that needs a broken module fails on its own, and says why
            continue


def _worker(index: int, argv: list[str], env: dict[str, str], gate: int, scratch: Path) -> None:
    """In a forked child: wait for the start, run the command, record the outcome, exit."""
    os.environ.clear()
    os.environ.update(env)
    nothing = os.open(os.devnull, os.O_RDONLY)  # the driver's stdin held the jobs, not input
    os.dup2(nothing, 0)
    os.close(nothing)
    for fd, name in ((1, "out"), (2, "err")):
        target = os.open(scratch / f"{index}.{name}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    os.read(gate, 1)  # end-of-file: every worker exists and the driver has let go
    started = time.monotonic()
    code = 70
    try:
        from fixreview.cli.main import main

        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code if isinstance(exc.code, int) else 2
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        (scratch / f"{index}.time").write_text(f"{started} {time.monotonic()}")
        os._exit(code)


def _drive() -> None:
    jobs = json.load(sys.stdin)
    _preload()
    with tempfile.TemporaryDirectory(prefix="fixreview-race-") as tmp:
        scratch = Path(tmp)
        gate, release = os.pipe()
        pids = []
        for index, job in enumerate(jobs):
            pid = os.fork()
            if pid == 0:
                os.close(release)
                _worker(index, job["argv"], job["env"], gate, scratch)
            pids.append(pid)
        os.close(gate)
        os.close(release)  # the last write end: every worker's read returns now
        codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
        outcomes = []
        for index, code in enumerate(codes):
            timing = scratch / f"{index}.time"  # missing if the worker was killed
            started, ended = timing.read_text().split() if timing.exists() else ("0", "0")
            outcomes.append(
                {
                    "code": code,
                    "stdout": (scratch / f"{index}.out").read_text(errors="replace"),
                    "stderr": (scratch / f"{index}.err").read_text(errors="replace"),
                    "started": float(started),
                    "ended": float(ended),
                }
            )
    json.dump(outcomes, sys.stdout)


if __name__ == "__main__":
    _drive()
