"""The reviewer's config.toml ($XDG_CONFIG_HOME/fixreview): read strictly (one line naming the key
that cannot be used, exit 2), its base used when --base is not given (and named as the config's
when it names no branch), its theme and its key remapping by binding id applied in the app —
pressing the remapped key does what the binding does — and its branch patterns narrowing the
queue of list and the app (never silently: how many more there are is said)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fixreview.app.main import FixreviewApp, binding_ids
from fixreview.app.screens.help import HelpScreen
from fixreview.repo.git import Repository
from fixreview.user_config import UserConfig, config_path, load_user_config
from tests.cliutil import fixreview
from tests.gitutil import TestRepo


def write_config(text: str) -> Path:
    path = config_path()  # under the test's own XDG_CONFIG_HOME (conftest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('colour = "red"\n', "colour: unknown key"),
        ('[keys]\n"review.approve" = 3\n', "keys.review.approve: Input should be a valid string"),
        ("theme = [\n", "invalid TOML: "),
        ("x = " + "[" * 2000 + "]" * 2000 + "\n", "invalid TOML: "),
    ],
)
def test_a_config_that_cannot_be_used_is_one_line_naming_the_key(
    repo: TestRepo, text: str, problem: str
) -> None:
    path = write_config(text)
    proc = fixreview(repo, "list", env=dict(os.environ))
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"fixreview: error: {path}: {problem}"), line


def test_the_configured_base_is_used_and_named_when_it_is_wrong(repo: TestRepo) -> None:
    write_config('base = "trunk"\n')
    proc = fixreview(repo, "list", env=dict(os.environ))
    assert proc.returncode == 2
    assert f"(from base in {config_path()})" in proc.stderr
    repo.git("branch", "trunk")
    assert fixreview(repo, "list", env=dict(os.environ)).returncode == 0
    # --base wins over the config
    write_config('base = "nosuch"\n')
    assert fixreview(repo, "list", "--base", "main", env=dict(os.environ)).returncode == 0


def test_unknown_binding_ids_are_refused_before_the_app_starts(repo: TestRepo) -> None:
    write_config('[keys]\n"review.aprove" = "ctrl+a"\n')
    proc = fixreview(repo, env=dict(os.environ))
    assert proc.returncode == 2
    assert "keys.review.aprove: no binding has that id" in proc.stderr
    assert {"app.help", "review.approve", "app.quit"} <= binding_ids()
    listed = (Path(__file__).resolve().parents[1] / "docs" / "app.md").read_text()
    assert all(f"| `{name}` |" in listed for name in binding_ids())  # every id documented


async def test_the_app_takes_the_theme_and_the_remapped_keys(demo_repo: Path) -> None:
    write_config('theme = "textual-light"\n[keys]\n"app.help" = "f2"\n')
    app = FixreviewApp(Repository(demo_repo), None, load_user_config())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.theme == "textual-light"
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
    assert load_user_config() == UserConfig(theme="textual-light", keys={"app.help": "f2"})


def test_branch_patterns_narrow_list_and_say_how_many_are_not_shown(demo_repo: Path) -> None:
    path = write_config('branches = ["snyk-*", "alert-autofix-*"]\n')
    proc = fixreview(demo_repo, "list", "--all", "--json", env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    shown = [fix["branch"] for fix in json.loads(proc.stdout)["fixes"]]
    assert sorted(shown) == ["alert-autofix-12", "snyk-fix-gunicorn-23-0-0", "snyk-fix-pyyaml-5-4"]
    assert proc.stderr.strip().splitlines() == [
        "fixreview: note: 13 more fix branches match none of snyk-*, alert-autofix-* "
        f"(branches in {path}): not shown"
    ]
    # --branch wins over the config; a pattern * matches / too, as the policy's do
    proc = fixreview(
        demo_repo, "list", "--all", "--json", "--branch", "copilot*", env=dict(os.environ)
    )
    assert [fix["branch"] for fix in json.loads(proc.stdout)["fixes"]] == ["copilot/tidy-logging"]
    assert "15 more fix branches match none of copilot* (--branch): not shown" in proc.stderr
    # patterns narrow what is shown, never what is a fix branch: main is not one
    proc = fixreview(demo_repo, "list", "--all", "--json", "--branch", "*", env=dict(os.environ))
    assert len(json.loads(proc.stdout)["fixes"]) == 16 and proc.stderr == ""


def test_a_branch_pattern_that_is_not_a_string_is_named(repo: TestRepo) -> None:
    path = write_config('branches = "ai-fix/*"\n')
    proc = fixreview(repo, "list", env=dict(os.environ))
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"fixreview: error: {path}: branches: "), proc.stderr


async def test_the_app_shows_the_configured_branches_and_says_how_many_more(
    demo_repo: Path,
) -> None:
    write_config('branches = ["snyk-*"]\n')
    app = FixreviewApp(Repository(demo_repo), None, load_user_config())
    async with app.run_test(size=(160, 40)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.session.queue is not None:
                break
        await pilot.pause()
        queue = app.session.queue
        assert queue is not None
        assert sorted(f.branch.name for f in queue.fixes) == [
            "snyk-fix-gunicorn-23-0-0",
            "snyk-fix-pyyaml-5-4",
        ]
        assert "14 more not matching your branches (config.toml)" in app.sub_title
        assert "ai-fix/sqli-invoice-search" not in str(app.screen.query_one("DataTable").rows)
