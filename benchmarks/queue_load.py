"""How long the queue takes to load, and how many git processes it costs, for many fix branches.

Run: python benchmarks/queue_load.py [BRANCHES ...]   (default: 40 200)
Prints, per size: the time to build the repository (not measured), load_queue wall time, the
number of git processes it ran, peak Python memory, and `fixreview list --json` wall time.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from botgit import git  # noqa: E402 (beside this script)

from fixreview.models import Finding  # noqa: E402
from fixreview.proposals import propose  # noqa: E402
from fixreview.queue import load_queue  # noqa: E402
from fixreview.repo.git import Repository  # noqa: E402


def build(path: Path, branches: int) -> None:
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "fixreview.base", "main")
    (path / "app.py").write_text("".join(f"def f{i}():\n    return {i}\n" for i in range(500)))
    git(path, "add", "-A")
    git(path, "commit", "-qm", "base")
    repo = Repository(path)
    for i in range(branches):
        git(path, "checkout", "-q", "-b", f"ai-fix/b{i:04d}", "main")
        lines = (path / "app.py").read_text().splitlines(keepends=True)
        lines[i % 1000] = f"    return {i} + 1  # fixed\n"
        (path / "app.py").write_text("".join(lines))
        (path / f"test_{i}.py").write_text("def test():\n    assert True\n")
        git(path, "add", "-A")
        git(path, "commit", "-qm", f"Fix {i}\n\nFinding-Id: SEC-{i}\nAssisted-by: Bot:model")
        if i % 2:
            propose(
                repo,
                f"ai-fix/b{i:04d}",
                Finding(id=f"SEC-{i}", severity="high"),
                env={"GIT_COMMITTER_NAME": "bot", "GIT_COMMITTER_EMAIL": "b@example.com"},
            )
    git(path, "checkout", "-q", "main")


def measure(branches: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)
        build(path, branches)
        repo = Repository(path)
        calls = 0
        original = Repository._run

        def counting(self: Repository, args, input, env):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            return original(self, args, input, env)

        Repository._run = counting  # type: ignore[method-assign]
        tracemalloc.start()
        start = time.perf_counter()
        queue = load_queue(repo)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        Repository._run = original  # type: ignore[method-assign]
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "fixreview", "--repo", str(path), "list", "--json"],
            check=True,
            capture_output=True,
        )
        listed = time.perf_counter() - start
        print(
            f"{branches:5d} branches: load_queue {elapsed * 1000:7.1f} ms, {calls} git processes, "
            f"peak {peak / 1e6:5.1f} MB; `fixreview list --json` {listed:5.2f} s "
            f"({len(queue.fixes)} fixes)"
        )


if __name__ == "__main__":
    for size in [int(a) for a in sys.argv[1:]] or [40, 200]:
        measure(size)
