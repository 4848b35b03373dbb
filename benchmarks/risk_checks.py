"""How long the risk checks take on a generated diff (default 20,000 added lines), next to its
lower bound.

    python benchmarks/risk_checks.py [--lines N] [--files F] [--repeat R] [--content KIND]
                                     [--secrets S] [--json PATH]

The diff is made in memory (no git): F new files (Python, JavaScript, YAML and Go, in turn)
sharing N added lines, so every check reads every line and the secret scan reads all of them.

``--content varied`` (the default) writes code as it is written: assignments, calls, quoted
strings and paths, URLs, hex digests and UUIDs, dictionaries, comments, words such as ``token``
and ``password`` in ordinary code, each line different; ``--secrets S`` (default 5) plants S
real-looking secrets among them (an AWS key, a GitHub token, a private key header, a keyword
assignment, a high-entropy string), so the scan has something to find. ``--content uniform``
is the old generator: one call per line, which detect-secrets' ``is_indirect_reference`` filter
drops before any plugin runs (so it says little about the scan).

Prints, best of R runs after one that imports what the checks import:

- the lower bound: ``parse_diff`` of the text, and one pass over the added lines (what any
  check must do at least once);
- ``assess`` (every check, the secret scan included), as seconds and as a ratio to the bound;
- the secret scan alone (``find_secrets``), and how many lines it handed to detect-secrets;
- the flags raised.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from typing import TypeVar

from fixreview.models import Finding, Fix, FixBranch, Location, Suggestion
from fixreview.policy import Policy
from fixreview.repo.diffs import Diff, parse_diff
from fixreview.risk import assess
from fixreview.risk.checks import added_lines, find_secrets

try:  # the prefilter's count, when this version of fixreview has one
    from fixreview.risk.secrets import candidate_count
except ImportError:  # pragma: no cover
    candidate_count = None  # type: ignore[assignment]

T = TypeVar("T")

PYTHON = [
    "    result_{n} = compute(items[{n}], label='row {n}', retries={r})  # step {n}",
    "def handler_{n}(request, *args, **kwargs):",
    '    """Serve request {n}; see the module docstring for the protocol."""',
    "    session = self.sessions.get(request.cookies.get('sid_{n}'))",
    "    if session is None or session.user_id != {n}:",
    "        raise PermissionDenied('no session for user {n}')",
    "    for item in sorted(self.items, key=lambda i: (i.priority, i.name)):",
    "        total_{n} += item.price * 1.{r} + {n}",
    "    return JsonResponse({{'ok': True, 'count': {n}, 'next': '/api/v2/items/{n}'}})",
    '    query = "SELECT id, name FROM users WHERE team = %s LIMIT {n}"',
    "    cursor.execute(query, (team_{n},))",
    "    token = request.headers.get('Authorization', '').removeprefix('Bearer ')",
    "    password_hash = hashlib.sha256(password.encode() + salt).hexdigest()",
    "    digest = 'e3b0c44298fc1c149afbf4c8996fb924{h}'",
    "    request_id = '{u}'",
    "    logger.info('served %s in %d ms', request.path, {n})",
    "    CACHE_TTL_{n} = {n} * 60",
    "    url = f'https://api.example.com/v{r}/users/{{user_id}}/orders?page={n}'",
    "    # Escaped by the template engine; never mark user text safe ({n}).",
    "    secret_name = settings.SECRET_NAMES[{r}]",
    "    api_key = os.environ['SERVICE_API_KEY_{n}']",
    "",
    "class Model{n}(Base):",
    "    __tablename__ = 'model_{n}'",
    "    name = Column(String({n}), nullable=False, index=True)",
    "    return render(request, 'pages/detail_{n}.html', {{'comment': comment}})",
]
JAVASCRIPT = [
    "export function render{n}(props) {{",
    "  const items = props.items.filter((item) => item.visible && item.rank > {n});",
    "  return <List key=\"list-{n}\" items={{items}} onSelect={{props.onSelect}} />;",
    "  fetch(`/api/items/${{id}}?limit={n}`, {{ headers: {{ Accept: 'application/json' }} }});",
    "  const color = '#{h6}';",
    "  if (token === undefined) throw new Error('missing token {n}');",
    "}}",
    "import {{ useState, useEffect }} from 'react'; // {n}",
    "  setState((s) => ({{ ...s, count: s.count + {r} }}));",
]
YAML = [
    "  service_{n}:",
    "    image: registry.example.com/team/service-{n}:1.{r}.{n}",
    "    command: [\"gunicorn\", \"app:create_app()\", \"--workers\", \"{r}\"]",
    "    environment:",
    "      - DATABASE_URL=postgres://db:5432/app_{n}",
    "      - LOG_LEVEL=info",
    "    ports: [\"{p}:8080\"]",
    "    healthcheck: {{ test: curl -f http://localhost:8080/health, interval: {r}s }}",
    "    # replica {n} of the service",
]
GO = [
    "func (s *Server) Handle{n}(w http.ResponseWriter, r *http.Request) {{",
    "\tctx, cancel := context.WithTimeout(r.Context(), {r}*time.Second)",
    "\tdefer cancel()",
    "\tif err := s.store.Save(ctx, item{n}); err != nil {{",
    "\t\treturn fmt.Errorf(\"save item {n}: %w\", err)",
    "\t}}",
    "\tchecksum := \"sha256:{h}{h}\"",
    "\tlog.Printf(\"handled %s in %v\", r.URL.Path, time.Since(start))",
]
KINDS = [("py", PYTHON), ("js", JAVASCRIPT), ("yaml", YAML), ("go", GO)]
SECRETS = [
    'AWS_ACCESS_KEY_ID = "AKIAZ7V3QF2L8XK4PD9M"',
    'GITHUB_TOKEN = "ghp_Zx8Q2mL5vN1bR7tY4wK9pC3sD6fH0jG2aE5u"',
    "-----BEGIN RSA PRIVATE KEY-----",
    'db_password = "correct-horse-battery-staple-{n}"',
    'SIGNING_KEY = "q8Xz3vLm9Rk2Tp7Wn4Ys1Hb6Jd0Fg5Ce"',
]


def _uniform(path: str, count: int, rng: random.Random) -> list[str]:
    return [
        f"    result_{n} = compute(items[{n}], label='row {n}', retries={n % 5})  # step {n}"
        for n in range(count)
    ]


def _varied(path: str, count: int, rng: random.Random) -> list[str]:
    templates = dict(KINDS)[path.rsplit(".", 1)[1]]
    lines = []
    for n in range(count):
        template = templates[(n * 7 + rng.randrange(3)) % len(templates)]
        lines.append(
            template.format(
                n=n,
                r=rng.randrange(10),
                p=8000 + n % 1000,
                h=f"{rng.getrandbits(128):032x}",
                h6=f"{rng.getrandbits(24):06x}",
                u=f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
                f"a{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}",
            )
        )
    return lines


def generated_diff(lines: int, files: int, content: str = "uniform", secrets: int = 0) -> str:
    """A diff adding LINES lines over FILES new files; CONTENT ``varied`` or ``uniform``;
    SECRETS lines among them replaced by real-looking secrets."""
    rng = random.Random(11)
    make = _varied if content == "varied" else _uniform
    per_file = [lines // files + (1 if i < lines % files else 0) for i in range(files)]
    bodies = []
    for number, count in enumerate(per_file):
        ext = KINDS[number % len(KINDS)][0] if content == "varied" else "py"
        path = f"src/module_{number}.{ext}"
        bodies.append((path, make(path, count, rng)))
    total = sum(per_file)
    for k in range(secrets):
        at = (k + 1) * total // (secrets + 1)
        for _, body in bodies:
            if at < len(body):
                body[at] = SECRETS[k % len(SECRETS)].format(n=k)
                break
            at -= len(body)
    parts = []
    for path, body in bodies:
        text = "".join(f"+{line}\n" for line in body)
        parts.append(
            f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..1111111\n"
            f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(body)} @@\n{text}"
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


def best(action: Callable[[], T], repeat: int) -> tuple[T, float]:
    """ACTION's result and its best time of REPEAT runs."""
    timings = []
    result = action()
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        result = action()
        timings.append(time.perf_counter() - started)
    return result, min(timings)


def to_scan(diff: Diff) -> int | None:
    """How many distinct added lines (windows) the secret scan hands to detect-secrets."""
    if candidate_count is None:
        return None
    return candidate_count([(item.path, added_lines(item)) for item in diff.files])


def iterate_once(diff: Diff) -> int:
    """One pass over the added lines: the least any check over them costs."""
    return sum(len(text) for item in diff.files for _, text in added_lines(item))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--content", choices=("varied", "uniform"), default="varied")
    parser.add_argument("--secrets", type=int, default=5)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    text = generated_diff(args.lines, args.files, args.content, args.secrets)
    fix, policy = sample_fix(), Policy()
    started = time.perf_counter()
    diff = parse_diff(text)
    first_parse = time.perf_counter() - started
    started = time.perf_counter()
    assess(fix, diff, diff, None, policy)
    first = time.perf_counter() - started
    _, parsed = best(lambda: parse_diff(text), args.repeat)
    _, once = best(lambda: iterate_once(diff), args.repeat)
    flags, assessed = best(lambda: assess(fix, diff, diff, None, policy), args.repeat)
    found, scanned = best(lambda: find_secrets(diff), args.repeat)
    bound = parsed + once
    figures = {
        "lines": args.lines,
        "files": len(diff.files),
        "content": args.content,
        "planted_secrets": args.secrets,
        "parse_diff_s": parsed,
        "iterate_added_lines_s": once,
        "lower_bound_s": bound,
        "assess_first_s": first,
        "assess_best_s": assessed,
        "assess_to_bound": assessed / bound,
        "secret_scan_best_s": scanned,
        "lines_to_detect_secrets": to_scan(diff),
        "secret_lines_found": len({(hit.path, hit.line) for hit in found[0]}),
        "flags": [f"{flag.id} ({flag.level})" for flag in flags],
    }
    print(f"{args.lines}-line diff ({args.content}) in {len(diff.files)} files, "
          f"{args.secrets} planted secrets; best of {args.repeat}")
    print(f"  lower bound: parse_diff {parsed:.3f}s + one pass over added lines {once:.3f}s "
          f"= {bound:.3f}s (first parse {first_parse:.3f}s)")
    print(f"  assess:      {assessed:.3f}s = {assessed / bound:.1f}x the bound "
          f"(first run {first:.3f}s, imports included)")
    print(f"  secret scan: {scanned:.3f}s; {figures['lines_to_detect_secrets']} of "
          f"{args.lines} lines handed to detect-secrets, "
          f"{figures['secret_lines_found']} lines with a potential secret")
    print("  flags: " + ", ".join(figures["flags"]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(figures, out, indent=2)
            out.write("\n")


if __name__ == "__main__":
    main()
