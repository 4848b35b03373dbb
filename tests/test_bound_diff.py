"""The bound diff is the same bytes everywhere: whatever the checkout, its attributes, or the
user's and the repository's git configuration."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixreview.decisions import diff_sha256
from fixreview.queue import load_queue
from fixreview.repo.git import Repository
from tests.gitutil import AI, TestRepo, git

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
HIDDEN = "\u202e"
FIXREVIEW = [sys.executable, "-m", "fixreview"]

# What a hostile (or merely unusual) configuration sets: every knob that changes diff bytes.
HOSTILE_CONFIG = """\
[diff]
\tnoprefix = true
\tmnemonicPrefix = true
\trenames = false
\talgorithm = patience
\tcontext = 9
\tinterHunkContext = 7
\tsubmodule = log
\tignoreSubmodules = all
\torderFile = {order}
\texternal = {external}
\trelative = true
\tsuppressBlankEmpty = true
\tsrcPrefix = SRC/
\tdstPrefix = DST/
[diff "leak"]
\ttextconv = {textconv}
\tbinary = true
[diff "evil"]
\ttextconv = {textconv}
\tcommand = {external}
[color]
\tui = always
\tdiff = always
[core]
\tattributesFile = {attributes}
\tquotePath = false
\tbigFileThreshold = 10
[log]
\tshowSignature = true
"""


def _fix_repo(tmp_path: Path) -> tuple[TestRepo, str, str]:
    """main, and ai-fix/attr: a fix that marks *.py -diff and routes *.txt through a diff
    driver, while adding a secret and hidden Unicode, renaming a file and adding a gitlink."""
    repo = TestRepo(tmp_path / "repo")
    base = repo.commit(
        "Initial",
        {
            "app/db.py": "def query(sql):\n    return sql\n",
            "app/old_name.py": "".join(f"line {i}\n" for i in range(40)),
            "notes.txt": "one\ntwo\n",
            "z_first.md": "z\n",
            "README.md": "demo\n",
        },
    )
    repo.checkout("-b", "ai-fix/attr")
    (repo.path / "app" / "old_name.py").rename(repo.path / "app" / "new_name.py")
    repo.write(
        {
            ".gitattributes": "*.py -diff\n*.txt diff=leak\n*.md diff=evil\n",
            "app/db.py": (
                "def query(sql, args):\n"
                f'    key = "{AWS_KEY}"\n'
                f"    return sql, args  # {HIDDEN} admin\n"
            ),
            "notes.txt": "one\ntwo\nthree\n",
            "z_first.md": "z\nzz\n",
        }
    )
    git(repo.path, "add", "-A")
    # a submodule entry (gitlink), so submodule settings have something to act on
    git(repo.path, "update-index", "--add", "--cacheinfo", f"160000,{base},vendor/lib")
    git(
        repo.path,
        "-c",
        f"user.name={AI[0]}",
        "-c",
        f"user.email={AI[1]}",
        "commit",
        "-q",
        "-m",
        "Fix\n\nFinding-Id: SEC-1",
    )
    head = repo.rev("HEAD")
    repo.checkout("main")
    return repo, base, head


def _hostile(home: Path, tmp_path: Path) -> str:
    """Write the hostile configuration; returns it (for .git/config as well)."""
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    textconv = tools / "textconv"
    textconv.write_text("#!/bin/sh\necho REDACTED\n")
    textconv.chmod(0o755)
    external = tools / "external"
    external.write_text("#!/bin/sh\necho nothing to see\n")
    external.chmod(0o755)
    order = tools / "order"
    order.write_text("z_first.md\n*.txt\n")
    attributes = tools / "attributes"
    attributes.write_text("* diff=evil\n* -text\n")
    text = HOSTILE_CONFIG.format(
        order=order, external=external, textconv=textconv, attributes=attributes
    )
    (home / ".gitconfig").write_text((home / ".gitconfig").read_text() + text)
    return text


def _reference_hash(repo: TestRepo, base: str, head: str) -> str:
    """The hash as docs/format.md defines it, in a fresh bare clone with no config at all."""
    return hashlib.sha256(reference_diff(repo, base, head)).hexdigest()


def reference_diff(repo: TestRepo, base: str, head: str) -> bytes:
    """``git diff --binary --full-index`` in a fresh bare clone, with no configuration,
    no attributes and no work tree."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": "/nonexistent",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_ATTR_NOSYSTEM": "1",
    }
    clean = repo.path.parent / "reference.git"
    if not clean.exists():
        subprocess.run(
            ["git", "clone", "-q", "--bare", str(repo.path), str(clean)], check=True, env=env
        )
    return subprocess.run(
        ["git", "--git-dir", str(clean), "diff", "--binary", "--full-index", base, head, "--"],
        capture_output=True,
        check=True,
        env=env,
        cwd=clean,
    ).stdout


def test_the_same_hash_in_every_checkout_clone_and_configuration(
    tmp_path: Path, isolated_git: Path
) -> None:
    repo, base, head = _fix_repo(tmp_path)
    hashes: dict[str, str] = {}
    hashes["base checkout"] = diff_sha256(Repository(repo.path), base, head)
    repo.checkout("ai-fix/attr")  # the fix's .gitattributes is now in the work tree and index
    hashes["head checkout"] = diff_sha256(Repository(repo.path), base, head)
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(bare))
    hashes["bare clone"] = diff_sha256(Repository(bare), base, head)
    shared = tmp_path / "shared"
    git(tmp_path, "clone", "-q", "--shared", "--no-checkout", str(bare), str(shared))
    hashes["clone borrowing objects (alternates)"] = diff_sha256(Repository(shared), base, head)

    text = _hostile(isolated_git, tmp_path)
    info = repo.path / ".git" / "info"
    info.mkdir(exist_ok=True)
    (info / "attributes").write_text("* diff=evil\n*.py binary\n")
    with (repo.path / ".git" / "config").open("a") as config:
        config.write(text)
    hashes["hostile config, head checkout"] = diff_sha256(Repository(repo.path), base, head)
    env_knobs = {
        "GIT_EXTERNAL_DIFF": str(tmp_path / "tools" / "external"),
        "GIT_DIFF_OPTS": "--unified=12",
        "GIT_CONFIG_PARAMETERS": "'diff.noprefix'='true'",
    }
    old = {k: os.environ.get(k) for k in env_knobs}
    os.environ.update(env_knobs)
    try:
        hashes["hostile environment"] = diff_sha256(Repository(repo.path), base, head)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert set(hashes.values()) == {_reference_hash(repo, base, head)}, hashes


def test_the_bound_diff_is_text_git_would_show_without_attributes(tmp_path: Path) -> None:
    repo, base, head = _fix_repo(tmp_path)
    repo.checkout("ai-fix/attr")
    raw = Repository(repo.path).diff(base, head)
    assert raw == reference_diff(repo, base, head)
    text = raw.decode()
    assert f'+    key = "{AWS_KEY}"' in text
    assert "rename from app/old_name.py" in text
    assert "+Subproject commit" in text
    assert "GIT binary patch" not in text


def test_replace_refs_do_not_change_what_is_bound(tmp_path: Path) -> None:
    repo, base, head = _fix_repo(tmp_path)
    before = diff_sha256(Repository(repo.path), base, head)
    # an attacker pushes refs/replace/HEAD -> a harmless commit
    harmless = git(repo.path, "commit-tree", f"{base}^{{tree}}", "-p", base, "-m", "noop").strip()
    git(repo.path, "replace", head, harmless)
    assert (
        git(repo.path, "rev-parse", f"{head}^{{tree}}").strip()
        != git(
            repo.path, "rev-parse", f"{head}^{{tree}}", env={"GIT_NO_REPLACE_OBJECTS": "1"}
        ).strip()
    )
    assert diff_sha256(Repository(repo.path), base, head) == before
    fix = load_queue(Repository(repo.path)).get("ai-fix/attr")
    assert fix.stats.files == 6


def test_queue_sizes_ignore_attributes_and_config(tmp_path: Path, isolated_git: Path) -> None:
    repo, _, _ = _fix_repo(tmp_path)
    plain = load_queue(Repository(repo.path)).get("ai-fix/attr").stats
    repo.checkout("ai-fix/attr")
    _hostile(isolated_git, tmp_path)
    hostile = load_queue(Repository(repo.path)).get("ai-fix/attr").stats
    assert plain == hostile
    # *.py -diff does not hide the python lines from the count
    assert (plain.files, plain.added, plain.removed) == (6, 9, 2)


@pytest.mark.parametrize("where", ["base", "head"])
def test_risk_checks_read_text_hidden_behind_minus_diff(tmp_path: Path, where: str) -> None:
    repo, _, _ = _fix_repo(tmp_path)
    if where == "head":
        repo.checkout("ai-fix/attr")
    proc = subprocess.run(
        [*FIXREVIEW, "--repo", str(repo.path), "show", "ai-fix/attr", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    ids = {flag["id"] for flag in json.loads(proc.stdout)["risk_flags"]}
    assert {"secret-added", "hidden-unicode"} <= ids, ids
    assert "binary-file" not in ids


def test_docs_recipe_reproduces_the_hash_under_hostile_config(
    tmp_path: Path, isolated_git: Path
) -> None:
    repo, base, head = _fix_repo(tmp_path)
    repo.checkout("ai-fix/attr")
    text = _hostile(isolated_git, tmp_path)
    with (repo.path / ".git" / "config").open("a") as config:
        config.write(text)
    docs = (Path(__file__).resolve().parents[1] / "docs" / "format.md").read_text()
    recipe = docs.split("## Verifying a decision with stock tools only")[1]
    recipe = recipe.split("```sh\n")[1].split("```")[0]
    clean_part = recipe[recipe.index("room=$(mktemp -d)") : recipe.index('rm -rf "$room"')]
    script = f'base={base}\nhead={head}\n{clean_part}\nrm -rf "$room"\necho "$hash"\n'
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GIT_EXTERNAL_DIFF": "false", "GIT_DIFF_OPTS": "-u9"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == diff_sha256(Repository(repo.path), base, head)


def test_sha256_repositories_and_linked_worktrees(tmp_path: Path) -> None:
    path = tmp_path / "sha256"
    path.mkdir()
    git(path, "init", "-q", "--object-format=sha256", "-b", "main")
    repo = TestRepo(path)
    base = repo.commit("Initial", {"app.py": "x = 1\n"})
    repo.checkout("-b", "ai-fix/s")
    head = repo.commit(
        "Fix\n\nFinding-Id: SEC-1", {"app.py": "x = 2\n", ".gitattributes": "* -diff\n"}
    )
    assert len(head) == 64
    expected = hashlib.sha256(reference_diff(repo, base, head)).hexdigest()
    assert diff_sha256(Repository(path), base, head) == expected
    assert b"+x = 2" in Repository(path).diff(base, head)
    worktree = tmp_path / "linked"
    git(path, "worktree", "add", "-q", "--detach", str(worktree), "ai-fix/s")
    assert diff_sha256(Repository(worktree), base, head) == expected
    stats = load_queue(Repository(worktree)).get("ai-fix/s").stats
    assert (stats.files, stats.added, stats.removed) == (2, 2, 1)


def test_a_repository_path_with_the_list_separator(tmp_path: Path) -> None:
    repo, base, head = _fix_repo(tmp_path / 'odd:"dir"')
    assert diff_sha256(Repository(repo.path), base, head) == _reference_hash(repo, base, head)
