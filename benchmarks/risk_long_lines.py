"""How long the risk checks take on lines built to be slow: one huge line, repeated keywords.

    python benchmarks/risk_long_lines.py [--repeat R]

Each case is one added line in a generated diff (no git), assessed with every check. The
cases: a 5 MB line of code-like filler with a GitHub token in its middle; 5 MB of random
printable text; 1.25 million variation selectors (5 MB of UTF-8); 50 KB of
``password_secret_key`` repeated (one run of word characters, which makes detect-secrets'
keyword detector backtrack quadratically: minutes, unbounded); 50 KB of such runs separated by
spaces; 50 KB of ``secret_key = password=`` repeated. Prints the best
time of R runs per case (after one warm-up that imports detect-secrets), next to the time to
parse the case's diff (a lower bound: every check reads the parsed diff), and the flags raised.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from risk_checks import sample_fix

from fixreview.policy import Policy
from fixreview.repo.diffs import parse_diff
from fixreview.risk import assess

TOKEN = "ghp_Zx8Q2mL5vN1bR7tY4wK9pC3sD6fH0jG2aE5u"


def cases() -> dict[str, str]:
    rng = random.Random(1)
    printable = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _=(){}.,;'\"+-*/"
    half = "1, " * (5_000_000 // 6)
    return {
        "5 MB line, token in the middle": f'x = [{half}"{TOKEN}", {half}]',
        "5 MB random line": "".join(rng.choice(printable) for _ in range(5_000_000)),
        "1.2 M variation selectors (5 MB)": "x = 1  # "
        + "".join(chr(0xE0100 + n % 240) for n in range(1_250_000)),
        "50 KB password_secret_key run": "password_secret_key" * (50_000 // 19),
        "50 KB keyword runs and spaces": ("password_secret_key" * 8 + " ") * (50_000 // 153),
        "50 KB secret_key = password=": "secret_key = password=" * (50_000 // 22),
    }


def diff_of(line: str) -> str:
    path = "src/data.py"
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..1111111\n"
        f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,1 @@\n+{line}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    fix, policy = sample_fix(), Policy()
    assess(fix, parse_diff(diff_of("x = 1")), None, None, policy)  # imports detect-secrets
    for name, line in cases().items():
        text = diff_of(line)
        parsing = []
        for _ in range(max(1, args.repeat)):
            started = time.perf_counter()
            diff = parse_diff(text)
            parsing.append(time.perf_counter() - started)
        timings = []
        flags = []
        for _ in range(max(1, args.repeat)):
            started = time.perf_counter()
            flags = assess(fix, diff, diff, None, policy)
            timings.append(time.perf_counter() - started)
        shown = ", ".join(f.id for f in flags)
        bound = min(parsing)
        print(
            f"{name}: assess best {min(timings):.3f}s of {len(timings)} "
            f"(parse_diff {bound:.3f}s, {min(timings) / bound:.1f}x); flags: {shown}"
        )


if __name__ == "__main__":
    main()
