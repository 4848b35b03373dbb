"""Shared fixtures: an isolated git configuration, scratch repositories, the built demo."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gitutil import AI, TestRepo
from tests.signing_util import Reviewer, allow, make_reviewer

ROOT = Path(__file__).resolve().parents[1]

# every test fails if it reads a file outside the repository and its temporary directories
pytest_plugins = ["tests.readguard"]


@pytest.fixture(autouse=True)
def isolated_git(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Every test runs with its own HOME and git config: nothing of the machine's leaks in."""
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test Runner\n\temail = runner@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    for name in (
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_NOTES_REF",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_DATE",
    ):
        monkeypatch.delenv(name, raising=False)
    yield home


@pytest.fixture
def repo(tmp_path: Path) -> TestRepo:
    """A repository with one commit on main."""
    r = TestRepo(tmp_path / "repo")
    r.commit(
        "Initial commit", {"app/db.py": "def query(sql):\n    return sql\n", "README.md": "demo\n"}
    )
    return r


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample repositories, built once per test session (copy before changing them)."""
    import os

    from fixreview.demo.builder import build_demo

    home = tmp_path_factory.mktemp("demo-home")
    old = {k: os.environ.get(k) for k in ("HOME", "GIT_CONFIG_NOSYSTEM")}
    os.environ["HOME"] = str(home)
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    try:
        built = build_demo(tmp_path_factory.mktemp("demo") / "repos")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return built.repositories[0]


@pytest.fixture
def demo_repo(demo_template: Path, tmp_path: Path) -> Path:
    """A private copy of the sample payments-portal repository."""
    dest = tmp_path / "payments-portal"
    shutil.copytree(demo_template, dest, symlinks=True)
    return dest


@pytest.fixture
def aisha(tmp_path: Path) -> Reviewer:
    """A reviewer with a real ssh key made by ssh-keygen."""
    return make_reviewer(tmp_path / "keys", "Aisha Okafor", "aisha@example.com")


@pytest.fixture
def people(tmp_path: Path) -> dict[str, Reviewer]:
    """Three reviewers with real ssh keys: aisha and tomas (whom tests allow), and mallory."""
    keys = tmp_path / "keys"
    return {
        "aisha": make_reviewer(keys, "Aisha Okafor", "aisha@example.com"),
        "tomas": make_reviewer(keys, "Tomás Herrera", "tomas@example.com"),
        "mallory": make_reviewer(keys, "Mallory", "mallory@example.com"),
    }


@pytest.fixture
def fixed(repo: TestRepo, aisha: Reviewer) -> TestRepo:
    """main allows aisha; ai-fix/sqli is one AI commit on top."""
    allow(repo, aisha)
    repo.checkout("-b", "ai-fix/sqli")
    repo.commit(
        "Parameterize\n\nFinding-Id: SEC-1",
        {"app/db.py": "def query(sql, args):\n    return sql, args\n"},
        who=AI,
    )
    repo.checkout("main")
    return repo
