"""The docs/commands pages are executable: each page's "## Help" block is the command's real
``--help``, and each page's "## Examples" are console transcripts that run, in order, in a copy
of the demo's sample repository, with their output and exit code checked.

The transcript convention (docs/commands/README.md): a ``console`` block of ``$ fixreview …``
lines (a line ending in ``\\`` goes on, on the next line), each followed by what the command
prints (standard output, then standard error) and, when it is not 0, its exit code as a last
line ``[exit N]``. In the expected output a line holding only ``...`` matches any number of
lines, ``...`` inside a line matches any text on that line; trailing spaces and blank lines at
the end of an output are ignored.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cliutil import fixreview
from tests.gitutil import git

ROOT = Path(__file__).resolve().parents[1]
PAGES_DIR = ROOT / "docs" / "commands"
PAGES = sorted(p.name for p in PAGES_DIR.glob("*.md") if p.name != "README.md")
# the files the examples name, put in the repository's work tree (untracked) before they run
EXAMPLE_FILES = ROOT / "tests" / "fixtures" / "command_docs"
WIDTH = {"COLUMNS": "100"}  # help pages wrapped as the docs show them, whatever the terminal

EXIT_LINE = re.compile(r"\[exit (\d+)\]")
FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass(frozen=True)
class Example:
    """One ``$ fixreview …`` line of a transcript and what it must print and exit with."""

    line: int  # where the command starts on its page (1-based)
    command: str  # as written after the prompt, continuation lines joined
    expected: tuple[str, ...]
    exit_code: int


def section(text: str, title: str) -> list[tuple[int, str]]:
    """The numbered lines of the page's ``## TITLE`` section (empty when there is none)."""
    lines = list(enumerate(text.splitlines(), start=1))
    start = next((i for i, (_, line) in enumerate(lines) if line == f"## {title}"), None)
    if start is None:
        return []
    body: list[tuple[int, str]] = []
    for number, line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        body.append((number, line))
    return body


def fenced_blocks(lines: list[tuple[int, str]]) -> list[tuple[str, int, list[str]]]:
    """Each fenced code block of LINES: its language, the line it opens on, its lines."""
    blocks: list[tuple[str, int, list[str]]] = []
    current: tuple[str, int, list[str]] | None = None
    for number, line in lines:
        fence = FENCE.match(line)
        if current is None and fence:
            current = (fence.group(1), number, [])
        elif current is not None and line.startswith("```"):
            blocks.append(current)
            current = None
        elif current is not None:
            current[2].append(line)
    assert current is None, f"a code block opened on line {current[1]} is never closed"
    return blocks


def parse_transcript(opens_on: int, lines: list[str]) -> list[Example]:
    """The examples of one ``console`` block whose fence is on line OPENS_ON."""
    examples: list[Example] = []
    index = 0
    assert lines and lines[0].startswith("$ "), (
        f"line {opens_on + 1}: a transcript starts with a '$ fixreview …' line"
    )
    while index < len(lines):
        start = index
        command = lines[index][2:]
        while command.endswith("\\"):
            index += 1
            command = command[:-1].rstrip() + " " + lines[index].strip()
        index += 1
        output: list[str] = []
        while index < len(lines) and not lines[index].startswith("$ "):
            output.append(lines[index])
            index += 1
        exit_code = 0
        while output and not output[-1].strip():  # blank lines between commands
            output.pop()
        if output and (last := EXIT_LINE.fullmatch(output[-1].strip())):
            exit_code = int(last.group(1))
            output.pop()
        while output and not output[-1].strip():
            output.pop()
        examples.append(Example(opens_on + 1 + start, command, tuple(output), exit_code))
    return examples


def page_examples(page: str) -> list[Example]:
    """Every example of PAGE's "## Examples", in order; a page without one fails."""
    blocks = fenced_blocks(section((PAGES_DIR / page).read_text(), "Examples"))
    others = [f"line {number}: ```{lang}" for lang, number, _ in blocks if lang != "console"]
    assert not others, f"{page}: examples must be console transcripts that run: {others}"
    examples = [ex for _, number, lines in blocks for ex in parse_transcript(number, lines)]
    assert examples, f"{page}: no transcript in its '## Examples' (```console blocks of $ lines)"
    return examples


def matches(expected: tuple[str, ...], actual: list[str]) -> bool:
    """Whether ACTUAL is what EXPECTED shows, with its ``...`` wildcards."""
    pattern = ""
    for line in expected:
        if line.strip() == "...":
            pattern += r"(?:[^\n]*\n)*"
        else:
            pattern += "[^\n]*".join(map(re.escape, line.rstrip().split("..."))) + r"\n"
    while actual and not actual[-1].strip():
        actual = actual[:-1]
    text = "".join(line.rstrip() + "\n" for line in actual)
    return re.fullmatch(pattern, text) is not None


def help_block(page: str) -> str:
    """The text of PAGE's "## Help" block."""
    blocks = fenced_blocks(section((PAGES_DIR / page).read_text(), "Help"))
    assert len(blocks) == 1, f"{page}: one code block under '## Help'"
    return "\n".join(blocks[0][2]) + "\n"


def documented_commands() -> list[str]:
    """The commands ``fixreview --help`` lists."""
    page = fixreview(ROOT, "--help").stdout
    listing = page.split("\n  COMMAND\n", 1)[1].split("\n\n", 1)[0]
    # a name longer than the help column (record-check) has its help on the next line, deeper
    return [line.split()[0] for line in listing.splitlines() if not line.startswith(" " * 5)]


@pytest.fixture
def prepared(demo_repo: Path, tmp_path: Path) -> Path:
    """The demo's payments-portal, with an ``origin`` it was pushed to and the example files."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(demo_repo), str(origin))
    git(demo_repo, "remote", "add", "origin", str(origin))
    git(demo_repo, "push", "-q", "origin", "refs/notes/*:refs/notes/*")
    git(demo_repo, "fetch", "-q", "origin")
    for source in sorted(EXAMPLE_FILES.iterdir()):
        if source.name != "README.md":
            shutil.copy(source, demo_repo / source.name)
    return demo_repo


def run_example(
    repo: Path, example: Example, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """The example's command as a person would type it in REPO (no shell, no terminal)."""
    argv = shlex.split(example.command)
    assert argv[:1] == ["fixreview"], f"only fixreview commands run here: {example.command}"
    return fixreview(repo, *argv[1:], env=env, cwd=repo)


# -- tests ---------------------------------------------------------------------------------------


def test_every_command_has_a_page_and_every_page_a_command() -> None:
    commands = documented_commands()
    assert len(commands) >= 10, commands
    assert sorted(f"{c}.md" for c in commands) == PAGES
    index = (PAGES_DIR / "README.md").read_text()
    for command in commands:
        assert f"]({command}.md)" in index, f"docs/commands/README.md does not link {command}.md"


@pytest.mark.parametrize("page", PAGES)
def test_the_help_block_is_the_command_help(page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", WIDTH["COLUMNS"])
    proc = fixreview(ROOT, page.removesuffix(".md"), "--help")
    assert proc.returncode == 0, proc.stderr
    assert help_block(page) == proc.stdout, f"docs/commands/{page}: '## Help' is not --help"


@pytest.mark.parametrize("page", PAGES)
def test_the_examples_run_as_shown(page: str, prepared: Path) -> None:
    env = {**os.environ, **WIDTH}
    env.pop("FIXREVIEW_DEBUG", None)
    for example in page_examples(page):
        proc = run_example(prepared, example, env)
        actual = [*proc.stdout.splitlines(), *proc.stderr.splitlines()]
        if proc.returncode != example.exit_code or not matches(example.expected, actual):
            shown = "\n".join(actual)
            pytest.fail(
                f"docs/commands/{page}:{example.line}: $ {example.command}\n"
                f"--- expected (exit {example.exit_code}):\n"
                + "\n".join(example.expected)
                + f"\n--- actual (exit {proc.returncode}):\n{shown}",
                pytrace=False,
            )


# -- the transcript reader itself ----------------------------------------------------------------


def test_wildcards_match_lines_and_text_and_nothing_else() -> None:
    assert matches(("a", "...", "d"), ["a", "b", "c", "d"])
    assert matches(("a", "...", "d"), ["a", "d"])
    assert matches(("at ... now",), ["at 12:00 now  "])
    assert not matches(("at ... now",), ["at 12:00", "now"])  # `...` in a line stays on it
    assert not matches(("a", "d"), ["a", "b", "d"])
    assert not matches(("a",), ["a", "b"])
    assert not matches(("a (b)",), ["a b"])  # the rest is literal text, not a pattern


def test_a_transcript_gives_each_command_its_output_and_exit_code() -> None:
    block = ["$ fixreview a \\", "    'b c'", "one", "two", "[exit 1]", "$ fixreview d", ""]
    first, second = parse_transcript(10, block)
    assert (first.line, first.command, first.expected, first.exit_code) == (
        11,
        "fixreview a 'b c'",
        ("one", "two"),
        1,
    )
    assert (second.line, second.command, second.expected, second.exit_code) == (
        16,
        "fixreview d",
        (),
        0,
    )
