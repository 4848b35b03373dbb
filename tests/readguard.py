"""The tests read nothing outside the repository: a guard on Python's audit events.

An audit hook (PEP 578) sees every file this process opens and every directory it lists. While a
test runs (its setup, call and teardown) the guard records each such path outside the allowed
roots, and the test fails naming it; a module that touches one while being collected fails to
collect. Subprocesses (git, ssh-keygen, gpg) are beyond an audit hook:
tests/test_reads_stay_inside.py checks statically that no test names a path outside the
repository.

The allowed roots, and why each is needed:

- the repository itself (its tests, fixtures, docs, sample repositories and themes);
- the system temporary directory, which holds pytest's basetemp (every ``tmp_path``; a
  ``--basetemp`` elsewhere is allowed too) and the scratch directories fixreview makes with
  ``tempfile`` (ssh and gpg homes, clean-room checkouts);
- the Python installation and its site-packages (``sys.prefix``, ``sys.base_prefix``, the site
  directories): imports, and data files of installed packages such as Textual's and Pygments';
- ``/dev`` (``/dev/null`` for subprocesses, the terminal) and ``/proc``, ``/sys`` (the kernel's
  views of this process, e.g. the open descriptors subprocess closes).

Nothing else: not the home directory (each test gets its own HOME under the temporary directory),
not ``/etc``, not the folder that holds the checkout.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

# the audit events that name a path read (or written): open() and io.open_code() (imports) raise
# "open"; os.listdir, os.scandir (and so os.walk, glob, shutil.copytree) raise their own
WATCHED = frozenset({"open", "os.listdir", "os.scandir"})

SYSTEM_ROOTS = ("/dev", "/proc", "/sys")


def _installation_roots() -> list[str]:
    roots = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    roots += [path for path in sysconfig.get_paths().values() if path]
    roots += site.getsitepackages()
    roots.append(site.getusersitepackages())
    return roots


def allowed_roots() -> tuple[str, ...]:
    """The directories the tests may read under (real paths, each ending in a separator)."""
    roots = [str(ROOT), tempfile.gettempdir(), *_installation_roots(), *SYSTEM_ROOTS]
    seen: dict[str, None] = {}
    for root in roots:
        for form in (os.path.abspath(root), os.path.realpath(root)):
            seen[form.rstrip(os.sep) + os.sep] = None
    return tuple(seen)


def outside(path: Any, roots: Iterable[str]) -> str | None:
    """The real path of ``path`` if it lies outside every root, else None.

    ``path`` is what an audit event carries: str, bytes, a path-like object, or a file
    descriptor (None: already open, so checked when it was opened). Symbolic links are followed,
    so a link in a temporary directory that points outside is caught.
    """
    if path is None or isinstance(path, int):
        return None
    real = os.path.realpath(os.fsdecode(path))
    probe = real.rstrip(os.sep) + os.sep
    if probe.startswith(tuple(roots)):
        return None
    return real


class Guard:
    """Records the paths touched outside the allowed roots while armed."""

    def __init__(self, roots: Iterable[str]) -> None:
        self.roots = tuple(roots)
        self.armed = False
        self.found: list[str] = []
        self._lock = threading.Lock()

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        # runs on every audit event in the process: the event name is tested first, and nothing
        # here may raise (an exception would abort the audited operation)
        if event not in WATCHED or not self.armed:
            return
        try:
            found = outside(args[0] if args else None, self.roots)
        except Exception:  # a path that cannot even be decoded: not ours to judge
            return
        if found is not None:
            with self._lock:
                if found not in self.found:
                    self.found.append(found)

    def take(self) -> list[str]:
        with self._lock:
            found, self.found = self.found, []
        return found


GUARD = Guard(allowed_roots())
_installed = False


def message(found: list[str]) -> str:
    shown = "\n  ".join(found[:10])
    more = f"\n  ... and {len(found) - 10} more" if len(found) > 10 else ""
    return (
        f"read outside the repository and the test's temporary directories:\n  {shown}{more}\n"
        "(test data belongs under tests/; see tests/readguard.py for what is allowed)"
    )


def pytest_configure(config: pytest.Config) -> None:
    global _installed
    if not _installed:  # an audit hook cannot be removed: one per process
        sys.addaudithook(GUARD.hook)
        _installed = True
    # pytest's basetemp may sit outside the system temporary directory (--basetemp DIR)
    basetemp = config.getoption("basetemp", None)
    if basetemp:
        base = os.fspath(basetemp)
        extra = {os.path.abspath(base) + os.sep, os.path.realpath(base) + os.sep}
        GUARD.roots += tuple(sorted(extra))


def _guarded() -> Generator[None, None, None]:
    GUARD.take()
    GUARD.armed = True
    try:
        yield
    finally:
        GUARD.armed = False
    found = GUARD.take()
    if found:
        pytest.fail(message(found), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    yield from _guarded()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    yield from _guarded()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    yield from _guarded()


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    GUARD.take()
    GUARD.armed = isinstance(collector, pytest.Module)
    try:
        report = yield
    finally:
        GUARD.armed = False
    found = GUARD.take()
    if found and report.outcome != "failed":
        report.outcome = "failed"
        report.longrepr = message(found)
    return report
