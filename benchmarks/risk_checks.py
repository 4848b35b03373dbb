"""How long the risk checks take on a generated diff (default 20,000 changed lines).

    python benchmarks/risk_checks.py [--lines N] [--files F] [--repeat R]

The diff is made in memory (no git): F new Python files sharing N added lines, so every check
reads every line, and detect-secrets scans all of them. Prints the parse and assess times and
the flags raised.
"""

from __future__ import annotations

import argparse
import time

from fixreview.models import Finding, Fix, FixBranch, Location, Suggestion
from fixreview.policy import Policy
from fixreview.repo.diffs import parse_diff
from fixreview.risk import assess


def generated_diff(lines: int, files: int) -> str:
    per_file = [lines // files + (1 if i < lines % files else 0) for i in range(files)]
    parts = []
    for number, count in enumerate(per_file):
        path = f"src/module_{number}.py"
        body = "".join(
            f"+    result_{n} = compute(items[{n}], label='row {n}', retries={n % 5})  # step {n}\n"
            for n in range(count)
        )
        parts.append(
            f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..1111111\n"
            f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{count} @@\n{body}"
        )
    return "".join(parts)


def sample_fix() -> Fix:
    zero, one = "0" * 40, "1" * 40
    return Fix(
        branch=FixBranch(
            name="ai-fix/benchmark",
            ref="refs/heads/ai-fix/benchmark",
            base="main",
            base_commit=zero,
            merge_base=zero,
            head=one,
        ),
        source="note",
        finding=Finding(
            id="BENCH-1",
            severity="high",
            locations=[Location(path="src/module_0.py", start_line=1, end_line=10)],
        ),
        suggestion=Suggestion(
            rationale="A generated change, long enough to count as a rationale for the checks.",
            commit=one,
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    text = generated_diff(args.lines, args.files)
    started = time.perf_counter()
    diff = parse_diff(text)
    parsed = time.perf_counter() - started
    fix, policy = sample_fix(), Policy()
    timings = []
    flags = []
    for _ in range(max(1, args.repeat)):
        started = time.perf_counter()
        flags = assess(fix, diff, diff, None, policy)
        timings.append(time.perf_counter() - started)
    print(f"{args.lines}-line diff in {len(diff.files)} files")
    print(f"parse_diff: {parsed:.3f}s")
    print(
        f"assess: first {timings[0]:.3f}s (imports detect-secrets), "
        f"best {min(timings):.3f}s of {len(timings)}"
    )
    print("flags: " + ", ".join(f"{f.id} ({f.level})" for f in flags))


if __name__ == "__main__":
    main()
