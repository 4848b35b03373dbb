"""How fast the diff view is on a generated diff (default 20,000 diff lines over 50 Python files).

    python benchmarks/diff_view.py [--lines N] [--files F] [--width W] [--height H] [--pages P]

The diff is made in memory (no git): F modified Python files, each a run of 20-line hunks
(context, removed and added lines of varied Python). Prints, in order:

- parsing the diff text (``parse_diff``, for scale: the widget is handed a parsed diff);
- building the row index (``DiffRenderer``: what ``DiffView.set_diff`` does synchronously);
- a headless ``App.run_test()``, run first so Pygments is cold as on a real launch: ``set_diff``
  until the last row of the first frame is drawn, and until the first highlighted frame (after
  the thread worker that looks up lexers);
- looking up each file's Pygments lexer again (modules now imported);
- rendering the first screenful with the pure renderer, without and with highlighting;
- paging through P screens with the pure renderer (each new screen lexes its new hunks; the
  worst screen is usually a garbage-collector pause);
- tracemalloc: peak and retained memory for the row index plus the first screen.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import time
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

from textual.app import App, ComposeResult
from textual.strip import Strip

from fixreview.app.widgets import diff_render
from fixreview.app.widgets.diff_render import DiffRenderer, pygments_palette
from fixreview.app.widgets.diff_view import DiffView
from fixreview.repo.diffs import Diff, parse_diff

T = TypeVar("T")

CONTEXT = [
    "    def handle(self, request, *args, **kwargs):",
    '        """Serve one request; see the module docstring for the protocol."""',
    "        session = self.sessions.get(request.cookies.get('sid'))",
    "        if session is None:",
    "            raise PermissionDenied('no session')  # logged by the middleware",
    "        for item in sorted(self.items, key=lambda i: (i.priority, i.name)):",
    "            total += item.price * 1.2",
    "        return JsonResponse({'ok': True, 'count': len(self.items)})",
]
REMOVED = [
    "        query = \"SELECT * FROM users WHERE name = '%s'\" % name",
    "        cursor.execute(query)",
    "        data = pickle.loads(request.body)",
    "        os.system('convert ' + filename)",
    "        token = hashlib.md5(password.encode()).hexdigest()",
    "        return render(request, template, {'html': mark_safe(comment)})",
]
ADDED = [
    '        query = "SELECT * FROM users WHERE name = %s"',
    "        cursor.execute(query, (name,))",
    "        data = json.loads(request.body.decode('utf-8'))",
    "        subprocess.run(['convert', filename], check=True, timeout=30)",
    "        token = hashlib.sha256(password.encode() + salt).hexdigest()",
    "        return render(request, template, {'comment': comment})",
    "        # Escaped by the template engine; never mark user text safe.",
    "        audit.log('served', user=session.user_id, items=len(self.items))",
]


def generated_diff(lines: int, files: int) -> str:
    """About LINES diff lines over FILES modified Python files, in hunks of 20 lines."""
    per_file = max(20, lines // files)
    hunks = per_file // 20
    parts: list[str] = []
    for number in range(files):
        path = f"src/app/service_{number}.py"
        parts.append(f"diff --git a/{path} b/{path}\nindex 1111111..2222222 100644\n")
        parts.append(f"--- a/{path}\n+++ b/{path}\n")
        for h in range(hunks):
            start = 10 + h * 60
            parts.append(
                f"@@ -{start},12 +{start + 2 * h},14 @@ class Service{number}(BaseService):\n"
            )
            parts.extend(f" {CONTEXT[(h + n) % len(CONTEXT)]}\n" for n in range(3))
            parts.extend(f"-{REMOVED[(h + n) % len(REMOVED)]}\n" for n in range(6))
            parts.extend(f"+{ADDED[(h + n) % len(ADDED)]}\n" for n in range(8))
            parts.extend(f" {CONTEXT[(h + n + 3) % len(CONTEXT)]}\n" for n in range(3))
    return "".join(parts)


def clear_lexer_cache() -> None:
    """Forget the lexers found per file name (imported modules and plugins stay loaded)."""
    with diff_render._LEXER_LOCK:
        diff_render._LEXER_CACHE.clear()


def timed(action: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def render_screen(renderer: DiffRenderer, top: int, height: int, width: int) -> None:
    palette = pygments_palette()
    for row in range(top, min(top + height, renderer.row_count)):
        renderer.render_row(row, width, palette)


class CountingDiffView(DiffView):
    """Records when the last row of a frame was drawn, and of the first highlighted frame."""

    last_row_drawn: float = 0.0
    highlighted_drawn: float = 0.0

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        if y == self.scrollable_content_region.height - 1:
            self.last_row_drawn = time.perf_counter()
            if self.lexers_ready and not self.highlighted_drawn:
                self.highlighted_drawn = self.last_row_drawn
        return strip


class BenchApp(App[None]):
    def compose(self) -> ComposeResult:
        yield CountingDiffView()


async def headless(diff: Diff, width: int, height: int) -> tuple[float, float, int]:
    """Seconds from set_diff to the first frame and to the highlighted frame; chunks lexed."""
    app = BenchApp()
    async with app.run_test(size=(width, height)) as pilot:
        await pilot.pause()
        view = app.query_one(CountingDiffView)
        view.highlighted_drawn = 0.0
        start = time.perf_counter()
        view.set_diff(diff)
        while view.last_row_drawn < start:
            await asyncio.sleep(0.001)
        first = view.last_row_drawn - start
        while not view.highlighted_drawn:
            await asyncio.sleep(0.001)
        highlighted = view.highlighted_drawn - start
        return first, highlighted, view.highlighted_hunk_count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--width", type=int, default=160)
    parser.add_argument("--height", type=int, default=50)
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    width, height = args.width, args.height

    text = generated_diff(args.lines, args.files)
    diff, parse_time = timed(lambda: parse_diff(text))
    line_count = sum(len(h.lines) for f in diff.files for h in f.hunks)
    hunk_count = sum(len(f.hunks) for f in diff.files)
    print(f"diff: {line_count:,} lines, {hunk_count:,} hunks, {len(diff.files)} files")
    print(f"parse_diff                         {ms(parse_time)}")

    # The app first, while Pygments has loaded no lexer or plugin yet (as on a real launch).
    first, highlighted, lexed = asyncio.run(headless(diff, width, height))
    print(f"app: set_diff to first frame       {ms(first)}   (cold: no lexer loaded yet)")
    print(f"app: set_diff to highlighted frame {ms(highlighted)}   ({lexed} hunks lexed)")

    clear_lexer_cache()
    renderer, index_time = timed(lambda: DiffRenderer(diff))
    print(f"row index ({renderer.row_count:,} rows)            {ms(index_time)}")
    _, lexer_time = timed(renderer.resolve_lexers)
    print(f"lexer lookup (thread worker)       {ms(lexer_time)}   (lexer modules already imported)")

    plain = DiffRenderer(diff)
    _, plain_time = timed(lambda: render_screen(plain, 0, height, width))
    print(f"first screen, no highlighting      {ms(plain_time)}   ({height} rows x {width})")
    _, first_time = timed(lambda: render_screen(renderer, 0, height, width))
    print(
        f"first screen, highlighted          {ms(first_time)}"
        f"   ({renderer.highlighted_chunks} of {hunk_count} hunks lexed)"
    )

    page_times = []
    for page in range(1, args.pages + 1):
        top = page * height
        if top >= renderer.row_count:
            break
        _, page_time = timed(functools.partial(render_screen, renderer, top, height, width))
        page_times.append(page_time)
    if page_times:
        average = sum(page_times) / len(page_times)
        print(
            f"paging, per new screen             {ms(average)} average, "
            f"{max(page_times) * 1000:.1f} ms worst ({len(page_times)} screens)"
        )

    tracemalloc.start()
    fresh = DiffRenderer(diff)
    fresh.resolve_lexers()
    render_screen(fresh, 0, height, width)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"memory, row index + first screen   {current / 1e6:8.2f} MB retained, "
        f"{peak / 1e6:.2f} MB peak (tracemalloc)"
    )
    tracemalloc.start()
    parsed = parse_diff(text)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del parsed
    print(
        f"memory, parse_diff (for scale)     {current / 1e6:8.2f} MB retained, "
        f"{peak / 1e6:.2f} MB peak"
    )


if __name__ == "__main__":
    main()
