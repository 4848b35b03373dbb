"""The tests need nothing outside the repository, and the guard that says so can fail."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests import readguard
from tests.readguard import GUARD, ROOT, outside

# paths outside every allowed root wherever the checkout lives (even in the temporary directory)
PROBES = ["/", "/etc/hostname", "/nonexistent-fixreview-probe/data.json"]


@pytest.mark.parametrize("path", PROBES)
def test_a_path_outside_is_rejected(path: str) -> None:
    assert outside(path, GUARD.roots) == os.path.realpath(path)
    assert outside(path.encode(), GUARD.roots) == os.path.realpath(path)
    assert outside(Path(path), GUARD.roots) == os.path.realpath(path)


def test_the_folder_beside_the_checkout_is_rejected() -> None:
    beside = ROOT.parent / "shared" / "fixtures" / "codetf" / "pygoat.codetf.json"
    in_temp = str(ROOT.parent).startswith(os.path.realpath(tempfile.gettempdir()))
    if in_temp:  # a clone in /tmp: its neighbours are temporary files, which tests may read
        pytest.skip("the checkout itself is in the temporary directory")
    assert outside(beside, GUARD.roots) == str(beside)
    assert outside(ROOT.parent, GUARD.roots) == str(ROOT.parent)


def test_the_repository_its_temporary_files_and_python_are_allowed(tmp_path: Path) -> None:
    roots = GUARD.roots  # the live allowlist, with any --basetemp
    for path in (
        ROOT,
        ROOT / "tests" / "fixtures" / "codetf" / "pygoat.codetf.json",
        tmp_path / "anything",
        Path(pytest.__file__),
        Path(os.__file__),
        "/dev/null",
        3,  # a file descriptor: checked when it was opened
        None,
    ):
        assert outside(path, roots) is None, path


def test_a_sibling_whose_name_extends_the_repository_is_rejected() -> None:
    # /work/main-old is not inside /work/main
    sibling = Path(str(ROOT) + "-old") / "data.json"
    assert outside(sibling, [str(ROOT) + os.sep]) == str(sibling)


def test_a_symlink_inside_that_points_outside_is_rejected(tmp_path: Path) -> None:
    link = tmp_path / "escape"
    link.symlink_to("/etc")
    assert outside(link / "hostname", GUARD.roots) == os.path.realpath("/etc/hostname")


def test_the_guard_records_only_while_armed_and_only_watched_events() -> None:
    guard = readguard.Guard(GUARD.roots)
    guard.hook("open", ("/etc/hostname", "r", 0))
    assert guard.take() == []  # not armed: between tests
    guard.armed = True
    guard.hook("open", ("/etc/hostname", "r", 0))
    guard.hook("os.scandir", ("/",))
    guard.hook("os.listdir", (None,))  # the current directory, by descriptor or None
    guard.hook("os.chdir", ("/etc",))  # not a read
    guard.hook("open", (str(ROOT / "README.md"), "r", 0))
    guard.hook("open", (b"\xff\xfe", "r", 0))  # undecodable names never raise from the hook
    assert guard.take() == [os.path.realpath("/etc/hostname"), "/"]
    assert guard.take() == []


PROBE_CONFTEST = 'pytest_plugins = ["tests.readguard"]\n'

PROBE_TESTS = """
import os

import pytest

OUTSIDE = "/nonexistent-fixreview-probe/data.json"


@pytest.fixture
def reads_outside_in_setup():
    try:
        open(OUTSIDE).close()
    except OSError:
        pass


def test_reads_the_repository():
    with open({readme!r}) as handle:
        assert handle.read()


def test_reads_outside():
    try:
        with open(OUTSIDE) as handle:  # even an attempt is a read outside
            handle.read()
    except OSError:
        pass


def test_lists_outside():
    assert os.listdir("/")


def test_fixture_reads_outside(reads_outside_in_setup):
    pass
"""

PROBE_COLLECTION = """
try:
    open("/nonexistent-fixreview-probe/at-import.json")
except OSError:
    pass


def test_never_runs():
    pass
"""


def test_the_guard_fails_each_test_that_reads_outside() -> None:
    """A pytest session with the guard, on tests that read outside: each one is failed."""
    # in the system temporary directory, which the inner session allows whatever --basetemp is
    with tempfile.TemporaryDirectory(prefix="readguard-probe-") as probe:
        out = run_probe_session(Path(probe))
    assert "PASSED test_probe.py::test_reads_the_repository" in out
    assert re.search(r"FAILED test_probe\.py::test_reads_outside - .*read outside", out), out
    assert re.search(r"FAILED test_probe\.py::test_lists_outside - .*read outside", out), out
    assert re.search(r"ERROR test_probe\.py::test_fixture_reads_outside - .*read outside", out)
    assert "ERROR test_probe_import.py" in out
    assert "test_never_runs" not in out.split("short test summary info")[1]
    assert out.count("/nonexistent-fixreview-probe/data.json") >= 2
    assert "/nonexistent-fixreview-probe/at-import.json" in out
    assert re.search(r"2 failed, 1 passed, 2 errors", out), out


def run_probe_session(where: Path) -> str:
    (where / "conftest.py").write_text(PROBE_CONFTEST)
    (where / "test_probe.py").write_text(PROBE_TESTS.format(readme=str(ROOT / "README.md")))
    (where / "test_probe_import.py").write_text(PROBE_COLLECTION)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-rA",
            "-p",
            "no:cacheprovider",
            "--color=no",
            "--continue-on-collection-errors",
            ".",
        ],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    return proc.stdout


# -- the tests' own sources name no path outside the repository (subprocesses such as git are
# beyond the audit hook, so this is checked statically) ----------------------------------------

OUTSIDE_PATTERNS = {
    "climbs above the repository": re.compile(
        r"parents\[\s*(?:[2-9]|\d\d+)\s*\]"  # tests/x.py: parents[1] is the repository
        r"|parents\[\s*1\s*\]\s*\.parent\b"
        r"|\.parent\.parent\.parent\b"
        r"|\bROOT\.parent\b"
    ),
    "names the shared folder beside the checkout": re.compile(
        r"shared['\"]?\s*/\s*['\"]?fixtures|\.\./shared"
    ),
    "names this machine's work folder": re.compile(r"(?<![\w.~-])/work/"),
}


def test_no_test_source_names_a_path_outside_the_repository() -> None:
    here = Path(__file__).resolve()
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path == here:  # this file spells the patterns out
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for why, pattern in OUTSIDE_PATTERNS.items():
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {why}: {line.strip()}")
    assert found == []


@pytest.mark.parametrize(
    "line",
    [
        'FIXTURES = ROOT.parent / "shared" / "fixtures" / "codetf"',
        'fixture = Path(__file__).resolve().parents[1].parent / "shared"',
        "data = Path(__file__).parents[2] / 'data'",
        "up = Path(__file__).parent.parent.parent",
        'PATH = "/work/shared/fixtures/codetf/pygoat.codetf.json"',
        'open("../shared/fixtures/x.json")',
    ],
)
def test_the_static_check_catches_paths_outside(line: str) -> None:
    assert any(pattern.search(line) for pattern in OUTSIDE_PATTERNS.values())


@pytest.mark.parametrize(
    "line",
    [
        "ROOT = Path(__file__).resolve().parents[1]",
        'docs = (Path(__file__).resolve().parents[1] / "docs" / "format.md").read_text()',
        'FIXTURES = Path(__file__).resolve().parent / "fixtures" / "codetf"',
        'SRCROOT = "file:///home/runner/work/shop/shop/"',
        'add_symlink(repo, "assets/up", "../../outside/file")',
        'shared = tmp_path / "shared"',
    ],
)
def test_the_static_check_leaves_paths_inside_alone(line: str) -> None:
    assert not any(pattern.search(line) for pattern in OUTSIDE_PATTERNS.values())
