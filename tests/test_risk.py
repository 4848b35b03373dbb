"""Risk checks on real repositories: every flag raised and not raised, policy overrides, masking."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from fixreview.changes import final_diff
from fixreview.errors import InputError
from fixreview.flag_registry import DEFAULT_RISK_LEVELS
from fixreview.models import Finding, Location
from fixreview.policy import DEFAULT_POLICY, Policy, RiskPolicy, parse_policy
from fixreview.proposals import propose
from fixreview.queue import load_queue
from fixreview.repo.diffs import parse_diff
from fixreview.repo.git import Repository
from fixreview.risk import (
    BLOCKING,
    FLAG_IDS,
    RiskFlag,
    assess,
    assess_fix,
    flag_json,
    known_flag_ids,
    paths,
)
from fixreview.risk.paths import compile_glob, first_match, glob_match, may_match, unquote
from tests.gitutil import AI, TestRepo

RATIONALE = (
    "search() formatted the user's term into the SQL text, so a quote changed the query. "
    "It now passes the term as a bound parameter, which the driver never parses as SQL."
)
DB_LINES = "".join(f"line {n}\n" for n in range(1, 101))
FINDING = Finding(
    id="SEC-1",
    title="SQL injection",
    severity="high",
    locations=[Location(path="app/db.py", start_line=40, end_line=45)],
)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
GITHUB_TOKEN = "ghp_Zx8Q2mL5vN1bR7tY4wK9pC3sD6fH0jG2aE5u"
DEFAULT_CI_PATHS = tuple(DEFAULT_POLICY.risk.ci_paths)  # from fixreview/default_policy.toml


def edit_lines(numbers: dict[int, str], base: str = DB_LINES) -> str:
    lines = base.splitlines(keepends=True)
    for number, text in numbers.items():
        lines[number - 1] = text + "\n"
    return "".join(lines)


def make_fix(
    repo: TestRepo,
    files: dict[str, str | bytes | None],
    *,
    finding: Finding | None = FINDING,
    rationale: str | None = RATIONALE,
    branch: str = "ai-fix/x",
    human: dict[str, str | bytes | None] | None = None,
    message: str = "Fix it",
) -> str:
    """A fix branch off main: one AI commit (proposed with FINDING), maybe a human one."""
    repo.checkout("-b", branch, "main")
    suggestion = repo.commit(message, files, who=AI)
    if human:
        repo.commit("Tidy the AI's change", human)
    repo.checkout("main")
    if finding is not None:
        propose(
            Repository(repo.path),
            branch,
            finding,
            tool="SecFix",
            model="m1",
            rationale=rationale,
            commit=suggestion,
        )
    return suggestion


def assess_branch(
    repo: TestRepo, branch: str = "ai-fix/x", policy: Policy | None = None
) -> dict[str, RiskFlag]:
    r = Repository(repo.path)
    queue = load_queue(r)
    flags = assess_fix(r, queue.get(branch), policy or queue.policy.policy)
    assert len({f.id for f in flags}) == len(flags), "one flag per id"
    return {f.id: f for f in flags}


def with_risk(**risk: object) -> Policy:
    return Policy.model_validate({"risk": risk})


@pytest.fixture
def big(repo: TestRepo) -> TestRepo:
    """The scratch repository with a 100-line app/db.py and a test file on main."""
    repo.commit("db module", {"app/db.py": DB_LINES, "tests/test_db.py": "def test(): pass\n"})
    return repo


# -- the API ---------------------------------------------------------------------------------


def test_flag_ids_are_the_documented_set_with_default_levels() -> None:
    assert known_flag_ids() == FLAG_IDS
    assert set(FLAG_IDS) == set(DEFAULT_RISK_LEVELS)
    assert len(FLAG_IDS) == 16
    assert {i for i, lvl in DEFAULT_RISK_LEVELS.items() if lvl == BLOCKING} == {
        "sensitive-path",
        "policy-change",
        "ci-config-change",
        "secret-added",
        "hidden-unicode",
        "no-linked-finding",
        "suggestion-mismatch",
    }
    assert DEFAULT_RISK_LEVELS["diverges-from-suggestion"] == "info"
    # the gate itself refuses a head whose required checks have not passed: the flag tells
    assert DEFAULT_RISK_LEVELS["checks-not-passed"] == "warn"
    risk = RiskPolicy()
    assert (risk.scope_slack_lines, risk.min_rationale_words) == (10, 12)
    assert (risk.large_diff_lines, risk.large_diff_files) == (400, 20)
    assert risk.levels == {}


def test_clean_fix_has_no_flags_and_json_shape(big: TestRepo) -> None:
    make_fix(
        big,
        {
            "app/db.py": edit_lines({42: "line 42 fixed"}),
            "tests/test_db.py": "def test():\n    assert True\n",
        },
    )
    assert assess_branch(big) == {}
    flag = RiskFlag("large-diff", "warn", "t", "d", ())
    assert flag_json(flag) == {
        "id": "large-diff",
        "level": "warn",
        "title": "t",
        "detail": "d",
        "evidence": [],
    }


def test_flags_are_ordered_block_warn_info_then_id(big: TestRepo) -> None:
    make_fix(
        big,
        {"app/auth.py": "def login(): pass\n", "requirements.txt": "requests==2.31.0\n"},
        human={"app/auth.py": "def login():\n    return None\n"},
    )
    flags = list(assess_branch(big).values())
    order = [(f.level, f.id) for f in flags]
    assert order == [
        ("block", "sensitive-path"),
        ("warn", "dependency-change"),
        ("warn", "no-test-change"),
        ("warn", "out-of-scope"),
        ("info", "diverges-from-suggestion"),
    ]
    data = json.loads(json.dumps([flag_json(f) for f in flags]))
    assert data[0]["evidence"] == [
        {"path": "app/auth.py", "line": None, "excerpt": "matches **/*auth*"}
    ]


# -- sensitive-path --------------------------------------------------------------------------


def test_sensitive_path_lists_every_matching_file(big: TestRepo) -> None:
    make_fix(
        big,
        {
            "src/Auth/LoginController.java": "class LoginController {}\n",
            "app/crypto_utils.py": "KEY_BITS = 256\n",
            "app/db.py": edit_lines({41: "x"}),
            "tests/test_db.py": "def test(): assert 1\n",
        },
    )
    flag = assess_branch(big)["sensitive-path"]
    assert flag.level == "block"
    assert {(e.path, e.excerpt) for e in flag.evidence} == {
        ("src/Auth/LoginController.java", "matches **/auth/**"),
        ("app/crypto_utils.py", "matches **/*crypt*"),
    }
    assert flag.detail.startswith("2 of 4 changed files are security-sensitive")


def test_sensitive_path_sees_the_old_name_of_a_renamed_file(repo: TestRepo) -> None:
    repo.commit("auth", {"app/session_store.py": "".join(f"v{n} = {n}\n" for n in range(30))})
    repo.checkout("-b", "ai-fix/x")
    repo.git("mv", "app/session_store.py", "app/store.py")
    repo.commit("rename", who=AI)
    repo.checkout("main")
    flag = assess_branch(repo)["sensitive-path"]
    assert [(e.path, e.excerpt) for e in flag.evidence] == [
        ("app/store.py", "matches **/*session*, renamed from app/session_store.py")
    ]


def test_no_sensitive_path_for_ordinary_files(big: TestRepo) -> None:
    make_fix(big, {"app/db.py": edit_lines({41: "x"}), "web/static/style.css": "a{}\n"})
    assert "sensitive-path" not in assess_branch(big)


def test_sensitive_path_globs_come_from_the_policy(big: TestRepo) -> None:
    make_fix(big, {"app/db.py": edit_lines({41: "x"}), "app/auth.py": "x = 1\n"})
    flags = assess_branch(big, policy=with_risk(sensitive_paths=["app/db.py"]))
    assert [e.path for e in flags["sensitive-path"].evidence] == ["app/db.py"]


def test_glob_semantics() -> None:
    assert glob_match("**/auth/**", "auth/x.py")
    assert glob_match("**/auth/**", "a/b/AUTH/c/d.py")
    assert not glob_match("**/auth/**", "author/x.py")
    assert glob_match("**/*.pem", "key.pem") and glob_match("**/*.pem", "a/b/KEY.PEM")
    assert glob_match("app/*.py", "app/x.py") and not glob_match("app/*.py", "app/sub/x.py")
    assert glob_match("Jenkinsfile", "jenkinsfile")
    assert not glob_match("Jenkinsfile", "ci/Jenkinsfile")
    assert glob_match(".github/workflows/**", ".github/workflows/deep/ci.yml")
    assert glob_match("**/*.test.[jt]s", "web/a.test.ts") and not glob_match(
        "**/*.test.[jt]s", "web/a.test.py"
    )
    assert glob_match("a/**/b.txt", "a/b.txt") and glob_match("a/**/b.txt", "a/x/y/b.txt")
    assert glob_match("./docs/*.md", "docs/x.md")


def test_a_pattern_is_compiled_only_for_a_path_it_may_match() -> None:
    """The policy's ~200 globs are compiled only for paths holding every plain piece of
    theirs: the others cannot match, and compiling them was most of a verify's risk checks."""
    compile_glob.cache_clear()
    paths._first_match.cache_clear()
    patterns = ("**/auth/**", "**/*.pem", ".github/workflows/**", "**/Jenkinsfile", "**/*.[jt]s")
    assert first_match(patterns, "lib/App/Login.py") is None
    assert compile_glob.cache_info().currsize == 0
    assert first_match(patterns, "web/AUTH/x.TS") == "**/auth/**"
    assert compile_glob.cache_info().currsize == 1
    # beyond ASCII, case-insensitive matching is more than lower-casing: always compiled
    assert glob_match("**/kelvin", "a/\u212aelvin")  # KELVIN SIGN matches k
    assert glob_match("**/\u212aelvin", "a/KELVIN")


@pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning")  # random "[[" classes
def test_the_prefilter_never_refuses_a_match() -> None:
    """may_match is False only where the compiled pattern does not match, over patterns and
    paths made of the glob language's every piece (seeded: the same cases every run)."""
    rng = random.Random(11)
    alphabet = ["a", "B", "/", ".", "*", "**", "?", "[", "]", "!", "-", "x", "\\", "./", "**/"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 7))) for _ in range(600)]
    patterns = [*texts[:300], "dir/**", "**/x", "[!a]b", "a[", "[]]a", "a/**/b.x", "**"]
    candidates = [*texts[300:], "dir", "dir/a/b", "x", "a/x", "cb", "a[", "]a", "a/b.x", "A/B.X"]
    matched = 0
    for pattern in patterns:
        compiled = compile_glob(pattern)
        for path in candidates:
            clean = paths.normalize(path)
            if compiled.fullmatch(clean) is not None:
                matched += 1
                assert may_match(pattern, clean), (pattern, path)
    assert matched > 300  # the cases do match, often


# -- policy-change ---------------------------------------------------------------------------


def test_policy_change_covers_policy_signers_codeowners_and_listed_files(repo: TestRepo) -> None:
    repo.commit(
        "policy",
        {
            ".fixreview.toml": (
                '[approvals]\nallowed_signers = "security/reviewers"\n'
                '[risk]\npolicy_paths = ["governance/**"]\n'
            )
        },
    )
    make_fix(
        repo,
        {
            ".fixreview.toml": "[approvals]\nrequired = 1\n",
            "security/reviewers": "eve@example.com ssh-ed25519 AAAA\n",
            "docs/CODEOWNERS": "* @eve\n",
            "governance/rules.md": "anything goes\n",
            "app/x.py": "x = 1\n",
        },
        finding=None,
    )
    flag = assess_branch(repo)["policy-change"]
    assert flag.level == "block"
    assert {e.path: e.excerpt.split(" (")[0] for e in flag.evidence} == {
        ".fixreview.toml": "the review policy",
        "security/reviewers": "approvals.allowed_signers",
        "docs/CODEOWNERS": "code owners",
        "governance/rules.md": "matches risk.policy_paths governance/**",
    }
    # policy files are always sensitive (two approvals), whatever the globs say
    sensitive = assess_branch(repo)["sensitive-path"]
    assert "security/reviewers" in {e.path for e in sensitive.evidence}


def test_default_allowed_signers_file_is_a_policy_file(repo: TestRepo) -> None:
    make_fix(repo, {".fixreview/allowed_signers": "eve ssh-ed25519 AAAA\n"}, finding=None)
    flag = assess_branch(repo)["policy-change"]
    assert [e.path for e in flag.evidence] == [".fixreview/allowed_signers"]


def test_no_policy_change_for_a_file_that_only_sounds_like_one(big: TestRepo) -> None:
    make_fix(big, {"docs/policy-notes.md": "notes\n", "app/db.py": edit_lines({41: "x"})})
    flags = assess_branch(big)
    assert "policy-change" not in flags
    assert [e.path for e in flags["sensitive-path"].evidence] == ["docs/policy-notes.md"]


# -- out-of-scope ----------------------------------------------------------------------------


def test_out_of_scope_counts_files_and_far_hunks(big: TestRepo) -> None:
    make_fix(
        big,
        {
            "app/db.py": edit_lines({42: "fixed 42", 90: "far 90"}),
            "app/util.py": "a = 1\nb = 2\n",
            "tests/test_db.py": "def test():\n    assert 2\n",
        },
    )
    flag = assess_branch(big)["out-of-scope"]
    assert flag.level == "warn"
    assert [(e.path, e.line) for e in flag.evidence] == [("app/db.py", 90), ("app/util.py", 1)]
    assert "1 of 3 changed files is not named" in flag.detail
    assert "1 hunk in named files is more than 10 lines from them" in flag.detail
    # db.py: 2 fixes (+2 -2), util.py +2, test +2 -1: 9 changed lines; 2 + 2 outside
    assert "4 of 9 changed lines are outside" in flag.detail
    assert "app/db.py:40-45" in flag.detail
    assert "lines from the finding's lines 40\u201345" in flag.evidence[0].excerpt


def test_changes_near_the_finding_and_tests_are_in_scope(big: TestRepo) -> None:
    make_fix(
        big,
        {
            "app/db.py": edit_lines({31: "just inside the slack", 55: "also inside"}),
            "tests/test_db.py": "def test():\n    assert 3\n",
            "tests/test_other.py": "def test(): pass\n",
        },
    )
    assert "out-of-scope" not in assess_branch(big)


def test_scope_slack_comes_from_the_policy(big: TestRepo) -> None:
    make_fix(big, {"app/db.py": edit_lines({42: "fix", 90: "far"})})
    assert "out-of-scope" in assess_branch(big)
    assert "out-of-scope" not in assess_branch(big, policy=with_risk(scope_slack_lines=50))


def test_no_out_of_scope_without_a_finding_but_other_checks_run(big: TestRepo) -> None:
    make_fix(big, {"app/other.py": "x = 1\n"}, finding=None)
    flags = assess_branch(big)
    assert "out-of-scope" not in flags
    assert flags["thin-rationale"].title == "No AI rationale"
    assert "no-test-change" in flags


# -- dependency-change -----------------------------------------------------------------------


def test_dependency_change_names_added_removed_bumped_and_major(repo: TestRepo) -> None:
    repo.commit(
        "deps",
        {
            "requirements.txt": "PyYAML==5.3\nrequests==2.19.1\ngunicorn==20.0.4\nsix==1.16.0\n",
            "web/package.json": (
                '{\n  "name": "web",\n  "version": "1.0.0",\n  "dependencies": {\n'
                '    "lodash": "^4.17.20",\n    "react": "^17.0.2"\n  }\n}\n'
            ),
            "go.mod": "module example.com/app\n\ngo 1.22\n\nrequire (\n"
            "\tgithub.com/pkg/errors v0.9.1\n\tgolang.org/x/net v0.17.0\n)\n",
            "Cargo.toml": '[package]\nname = "app"\nversion = "0.1.0"\n\n[dependencies]\n'
            'serde = "1.0"\nrand = { version = "0.7", features = ["small_rng"] }\n',
        },
    )
    make_fix(
        repo,
        {
            "requirements.txt": "PyYAML==5.4\nrequests==2.32.3\ngunicorn==23.0.0\nurllib3>=2.2\n",
            "web/package.json": (
                '{\n  "name": "web",\n  "version": "1.0.0",\n  "dependencies": {\n'
                '    "lodash": "^4.17.21",\n    "react": "^18.3.1",\n    "dompurify": "^3.1.6"\n'
                "  }\n}\n"
            ),
            "go.mod": "module example.com/app\n\ngo 1.22\n\nrequire (\n"
            "\tgithub.com/pkg/errors v0.9.1\n\tgolang.org/x/net v0.23.0\n)\n",
            "Cargo.toml": '[package]\nname = "app"\nversion = "0.1.0"\n\n[dependencies]\n'
            'serde = "1.0"\nrand = { version = "0.8", features = ["small_rng"] }\n',
        },
        finding=None,
    )
    flag = assess_branch(repo)["dependency-change"]
    assert flag.level == "warn"
    excerpts = {(e.path, e.excerpt) for e in flag.evidence}
    assert excerpts >= {
        ("requirements.txt", "PyYAML 5.3 \u2192 5.4"),
        ("requirements.txt", "requests 2.19.1 \u2192 2.32.3"),
        ("requirements.txt", "gunicorn 20.0.4 \u2192 23.0.0 (MAJOR version jump 20 \u2192 23)"),
        ("requirements.txt", "urllib3 >=2.2 added"),
        ("requirements.txt", "six 1.16.0 removed"),
        ("web/package.json", "lodash ^4.17.20 \u2192 ^4.17.21"),
        ("web/package.json", "react ^17.0.2 \u2192 ^18.3.1 (MAJOR version jump 17 \u2192 18)"),
        ("web/package.json", "dompurify ^3.1.6 added"),
        (
            "go.mod",
            "golang.org/x/net v0.17.0 \u2192 v0.23.0 (MAJOR version jump 0.17.x \u2192 0.23.x)",
        ),
        ("Cargo.toml", "rand 0.7 \u2192 0.8 (MAJOR version jump 0.7.x \u2192 0.8.x)"),
    }
    assert not any("serde" in e.excerpt or "version" in e.excerpt.split()[0] for e in flag.evidence)
    assert flag.detail.startswith("4 dependency files changed")
    assert "MAJOR version changes: " in flag.detail
    assert "gunicorn 20.0.4 \u2192 23.0.0 (20 \u2192 23)" in flag.detail
    assert "urllib3 >=2.2" in flag.detail and "six 1.16.0" in flag.detail
    requirement = next(e for e in flag.evidence if e.excerpt.startswith("gunicorn"))
    assert requirement.line == 3


def test_dependency_change_reads_lockfiles_and_pyproject(repo: TestRepo) -> None:
    lock = '[[package]]\nname = "{n}"\nversion = "{v}"\ndescription = "x"\n\n'
    repo.commit(
        "deps",
        {
            "poetry.lock": lock.format(n="Django", v="3.2.25") + lock.format(n="idna", v="3.6"),
            "pyproject.toml": '[project]\nname = "app"\nversion = "1.0"\n'
            'requires-python = ">=3.11"\n'
            'dependencies = [\n    "django>=3.2,<4",\n    "idna",\n]\n'
            'classifiers = [\n    "Programming Language :: Python :: 3",\n]\n',
            "Gemfile.lock": "GEM\n  specs:\n    rack (2.2.8)\n    rails (7.0.8)\n",
        },
    )
    make_fix(
        repo,
        {
            "poetry.lock": lock.format(n="Django", v="4.2.16") + lock.format(n="idna", v="3.7"),
            "pyproject.toml": '[project]\nname = "app"\nversion = "1.1"\n'
            'requires-python = ">=3.12"\n'
            'dependencies = [\n    "django>=4.2,<5",\n    "idna",\n    "bleach>=6",\n]\n'
            'classifiers = [\n    "Programming Language :: Python :: 3",\n'
            '    "Framework :: Django :: 4.2",\n]\n',
            "Gemfile.lock": "GEM\n  specs:\n    rack (2.2.9)\n    rails (7.0.8)\n",
        },
        finding=None,
    )
    flag = assess_branch(repo)["dependency-change"]
    excerpts = {(e.path, e.excerpt) for e in flag.evidence}
    assert excerpts == {
        ("poetry.lock", "Django 3.2.25 \u2192 4.2.16 (MAJOR version jump 3 \u2192 4)"),
        ("poetry.lock", "idna 3.6 \u2192 3.7"),
        ("pyproject.toml", "django >=3.2,<4 \u2192 >=4.2,<5 (MAJOR version jump 3 \u2192 4)"),
        ("pyproject.toml", "bleach >=6 added"),
        ("Gemfile.lock", "rack 2.2.8 \u2192 2.2.9"),
    }
    # one mention of django in the summary, from the manifest, although the lock also has it
    assert flag.detail.count("django") + flag.detail.count("Django") == 1


def test_unparsed_manifest_is_still_named(repo: TestRepo) -> None:
    make_fix(repo, {"pnpm-lock.yaml": "lockfileVersion: '9.0'\n"}, finding=None)
    flag = assess_branch(repo)["dependency-change"]
    assert [(e.path, e.excerpt) for e in flag.evidence] == [
        ("pnpm-lock.yaml", "manifest added (+1 \u22120)")
    ]


def test_no_dependency_change_for_other_files(big: TestRepo) -> None:
    make_fix(big, {"docs/requirements.md": "We need Python.\n", "app/db.py": edit_lines({41: "y"})})
    assert "dependency-change" not in assess_branch(big)


# -- ci-config-change ------------------------------------------------------------------------


def test_ci_config_change(repo: TestRepo) -> None:
    make_fix(
        repo,
        {
            ".github/workflows/release.yml": "on: push\n",
            ".gitlab-ci.yml": "test:\n  script: make\n",
            ".github/ISSUE_TEMPLATE/bug.md": "Describe the bug\n",
        },
        finding=None,
    )
    flag = assess_branch(repo)["ci-config-change"]
    assert flag.level == "block"
    assert [e.path for e in flag.evidence] == [".github/workflows/release.yml", ".gitlab-ci.yml"]
    assert "matches .github/workflows/**" in flag.evidence[0].excerpt


def test_no_ci_config_change_for_ordinary_files(repo: TestRepo) -> None:
    make_fix(repo, {".github/ISSUE_TEMPLATE/bug.md": "Describe it\n"}, finding=None)
    assert "ci-config-change" not in assess_branch(repo)


def test_ci_paths_come_from_the_policy(repo: TestRepo) -> None:
    make_fix(repo, {"deploy/pipeline.yaml": "steps: []\n"}, finding=None)
    assert "ci-config-change" not in assess_branch(repo)
    flags = assess_branch(repo, policy=with_risk(ci_paths=["deploy/**"]))
    assert [e.path for e in flags["ci-config-change"].evidence] == ["deploy/pipeline.yaml"]


# -- secret-added ----------------------------------------------------------------------------


def test_secret_added_is_found_and_never_shown_whole(big: TestRepo) -> None:
    make_fix(
        big,
        {
            "app/settings.py": (
                "import os\n"
                f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'
                f'GITHUB_TOKEN = "{GITHUB_TOKEN}"  # pragma: allowlist secret\n'
            ),
            # the same token again, on a line that another check quotes
            "app/db.py": edit_lines({42: f"TOKEN = '{GITHUB_TOKEN}'  # \u202e"}),
        },
    )
    flags = assess_branch(big)
    flag = flags["secret-added"]
    assert flag.level == "block"
    assert [(e.path, e.line) for e in flag.evidence] == [
        ("app/db.py", 42),
        ("app/settings.py", 2),
        ("app/settings.py", 3),
    ]
    assert "AKIA\u2026" in flag.evidence[1].excerpt
    assert "AWS Access Key" in flag.evidence[1].excerpt
    assert "ghp_\u2026" in flag.evidence[2].excerpt  # an allowlist pragma does not hide it
    assert "hidden-unicode" in flags
    text = json.dumps([flag_json(f) for f in flags.values()], ensure_ascii=False)
    for secret in (AWS_KEY, GITHUB_TOKEN, GITHUB_TOKEN[:12]):
        assert secret not in text


def test_removed_secret_and_ordinary_code_are_not_flagged(repo: TestRepo) -> None:
    repo.commit("config", {"app/config.py": f'KEY = "{AWS_KEY}"\nDEBUG = False\n'})
    make_fix(
        repo,
        {"app/config.py": 'import os\nKEY = os.environ["KEY"]\nDEBUG = False\n'},
        finding=None,
    )
    assert "secret-added" not in assess_branch(repo)


def test_secret_scan_is_lazy() -> None:
    code = (
        "import sys\n"
        "import fixreview.risk\n"
        "from fixreview.models import Fix\n"
        "print('detect_secrets' in sys.modules, 'textual' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# -- hidden-unicode --------------------------------------------------------------------------


def test_hidden_unicode_names_code_points_and_shows_them(repo: TestRepo) -> None:
    make_fix(
        repo,
        {
            "app/access.py": (
                "def is_admin(user):\n"
                '    role = "user\u202e \u2066// check admin\u2069 \u2066"  # ok\n'
                "    return role == 'admin\u200b'\n"
                "TAG = 'a\U000e0041\U000e0042'\n"
            ),
            "docs/caf\u00e9.md": "Na\u00efve r\u00e9sum\u00e9 \u2014 \u65e5\u672c \U0001f600\n",
            "data.csv": "\ufeffid,name\n1,a\n",
        },
        finding=None,
    )
    flag = assess_branch(repo)["hidden-unicode"]
    assert flag.level == "block"
    assert [(e.path, e.line) for e in flag.evidence] == [
        ("app/access.py", 2),
        ("app/access.py", 3),
        ("app/access.py", 4),
    ]
    first = flag.evidence[0].excerpt
    assert first.startswith("U+202E, U+2066, U+2069: ")
    assert "<U+202E>" in first and "\u202e" not in first
    assert flag.evidence[2].excerpt.startswith("U+E0041, U+E0042: ")
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in flag.detail
    assert "U+200B ZERO WIDTH SPACE" in flag.detail
    assert flag.detail.startswith("7 invisible characters on 3 added lines in 1 file")


def test_no_hidden_unicode_for_ordinary_text_or_removed_lines(repo: TestRepo) -> None:
    repo.commit("old", {"app/x.py": "a = 'x\u202e'\nb = 2\n"})
    make_fix(
        repo,
        {"app/x.py": "a = 'x'\nb = '\u00e9t\u00e9 \u65e5\u672c'\n", "y.txt": "\ufeffstart\n"},
        finding=None,
    )
    assert "hidden-unicode" not in assess_branch(repo)


# -- binary-file -----------------------------------------------------------------------------


def test_binary_file_added(repo: TestRepo) -> None:
    make_fix(repo, {"web/logo.png": PNG, "web/a.txt": "a\n"}, finding=None)
    flag = assess_branch(repo)["binary-file"]
    assert flag.level == "warn"
    assert [(e.path, e.excerpt) for e in flag.evidence] == [("web/logo.png", "binary file added")]


def test_deleted_binary_is_not_flagged(repo: TestRepo) -> None:
    repo.commit("logo", {"web/logo.png": PNG})
    make_fix(repo, {"web/logo.png": None, "web/a.txt": "a\n"}, finding=None)
    assert "binary-file" not in assess_branch(repo)


# -- no-test-change --------------------------------------------------------------------------


def test_no_test_change_when_only_code_changes(big: TestRepo) -> None:
    make_fix(big, {"app/db.py": edit_lines({41: "x"})})
    flag = assess_branch(big)["no-test-change"]
    assert flag.level == "warn"
    assert [e.path for e in flag.evidence] == ["app/db.py"]


@pytest.mark.parametrize(
    "test_file",
    [
        "tests/test_db.py",
        "pkg/db_test.go",
        "web/src/__tests__/db.js",
        "web/src/db.spec.ts",
        "src/test/java/DbTest.java",
        "spec/db_spec.rb",
    ],
)
def test_any_test_file_counts(big: TestRepo, test_file: str) -> None:
    make_fix(big, {"app/db.py": edit_lines({41: "x"}), test_file: "test\n"})
    assert "no-test-change" not in assess_branch(big)


def test_documentation_only_needs_no_test(repo: TestRepo) -> None:
    make_fix(repo, {"docs/guide.md": "How to\n", "README.md": "demo!\n"}, finding=None)
    assert "no-test-change" not in assess_branch(repo)


def test_test_paths_come_from_the_policy(big: TestRepo) -> None:
    make_fix(big, {"app/db.py": edit_lines({41: "x"}), "checks/db_check.py": "ok\n"})
    assert "no-test-change" in assess_branch(big)
    assert "no-test-change" not in assess_branch(big, policy=with_risk(test_paths=["checks/**"]))


# -- thin-rationale --------------------------------------------------------------------------


def test_thin_rationale(big: TestRepo) -> None:
    files = {"app/db.py": edit_lines({41: "x"}), "tests/test_db.py": "t\n"}
    make_fix(big, files, rationale="Fixed the bug.\n\nFinding-Id: SEC-1\nAssisted-by: Bot:m1")
    flag = assess_branch(big)["thin-rationale"]
    assert flag.level == "warn"
    assert "has 3 words" in flag.detail and "at least 12" in flag.detail
    assert flag.evidence[0].excerpt.startswith("Fixed the bug.")
    assert "thin-rationale" not in assess_branch(big, policy=with_risk(min_rationale_words=3))


def test_long_rationale_is_enough(big: TestRepo) -> None:
    make_fix(big, {"app/db.py": edit_lines({41: "x"}), "tests/test_db.py": "t\n"})
    assert "thin-rationale" not in assess_branch(big)


def test_missing_suggestion_is_thin(repo: TestRepo) -> None:
    make_fix(repo, {"a.txt": "a\n"}, finding=None)
    flag = assess_branch(repo)["thin-rationale"]
    assert flag.title == "No AI rationale" and flag.evidence == ()


# -- diverges-from-suggestion ----------------------------------------------------------------


def test_diverges_from_suggestion(big: TestRepo) -> None:
    make_fix(
        big,
        {"app/db.py": edit_lines({41: "ai 41"}), "tests/test_db.py": "t\n"},
        human={"app/db.py": edit_lines({41: "human 41", 43: "human 43"})},
    )
    flag = assess_branch(big)["diverges-from-suggestion"]
    assert flag.level == "info"
    assert [(e.path, e.excerpt) for e in flag.evidence] == [("app/db.py", "modified (+2 \u22122)")]
    # final: db.py +2 -2, test +1 -1 = 6 changed lines; people changed 4 of them
    assert "1 file, +2 \u22122 lines changed after the suggestion" in flag.detail
    assert "against 6 changed lines in the final diff (67%)" in flag.detail


def test_unchanged_suggestion_does_not_diverge(big: TestRepo) -> None:
    make_fix(big, {"app/db.py": edit_lines({41: "ai"}), "tests/test_db.py": "t\n"})
    assert "diverges-from-suggestion" not in assess_branch(big)


def test_divergence_when_the_suggestion_cannot_be_replayed(big: TestRepo) -> None:
    make_fix(big, {"app/db.py": edit_lines({41: "ai"}), "tests/test_db.py": "t\n"})
    r = Repository(big.path)
    fix = load_queue(r).get("ai-fix/x")
    final = final_diff(r, fix)
    other = parse_diff(r.diff("main", "main"))  # empty: what "people" did is unknown
    same = assess(fix, final, final, None, Policy())
    assert "diverges-from-suggestion" not in {f.id for f in same}
    differs = assess(fix, final, other, None, Policy())
    flag = next(f for f in differs if f.id == "diverges-from-suggestion")
    assert "4 changed lines of the final diff and the suggestion differ" in flag.detail


# -- large-diff ------------------------------------------------------------------------------


def test_large_diff_by_lines(repo: TestRepo) -> None:
    make_fix(repo, {"data/big.txt": "".join(f"{n}\n" for n in range(401))}, finding=None)
    flag = assess_branch(repo)["large-diff"]
    assert flag.level == "warn"
    assert "401 changed lines (risk.large_diff_lines: 400)" in flag.detail
    assert "large-diff" not in assess_branch(repo, policy=with_risk(large_diff_lines=401))


def test_large_diff_by_files(repo: TestRepo) -> None:
    make_fix(repo, {f"src/m{n}.py": f"x = {n}\n" for n in range(21)}, finding=None)
    flag = assess_branch(repo)["large-diff"]
    assert "21 files (risk.large_diff_files: 20)" in flag.detail
    assert len(flag.evidence) == 21


def test_diff_at_the_thresholds_is_not_large(repo: TestRepo) -> None:
    files: dict[str, str | bytes | None] = {f"src/m{n}.py": f"x = {n}\n" for n in range(19)}
    files["data/big.txt"] = "".join(f"{n}\n" for n in range(381))
    make_fix(repo, files, finding=None)
    assert "large-diff" not in assess_branch(repo)


def test_assess_handles_a_20000_line_diff(repo: TestRepo) -> None:
    body = "".join(f"value_{n} = compute({n}, 'label {n}')  # step {n}\n" for n in range(20_000))
    make_fix(repo, {"app/generated.py": body, "tests/test_generated.py": "t\n"})
    flags = assess_branch(repo)
    assert set(flags) == {"large-diff", "out-of-scope"}
    assert "20001 changed lines" in flags["large-diff"].detail


# -- policy ----------------------------------------------------------------------------------


def test_levels_are_overridden_per_id(repo: TestRepo) -> None:
    repo.commit(
        "policy",
        {
            ".fixreview.toml": (
                '[risk.levels]\n"dependency-change" = "block"\n"secret-added" = "info"\n'
            )
        },
    )
    make_fix(repo, {"requirements.txt": "requests==2.31.0\n", "tests/test_x.py": "t\n"})
    flags = list(assess_branch(repo).values())
    assert flags[0].id == "dependency-change" and flags[0].level == "block"


def test_unknown_flag_id_or_level_is_refused() -> None:
    with pytest.raises(InputError) as exc:
        parse_policy(b'[risk.levels]\n"dependncy-change" = "block"\n', ".fixreview.toml")
    message = str(exc.value)
    assert "risk.levels" in message and "'dependncy-change'" in message
    assert "known: sensitive-path" in message
    with pytest.raises(InputError, match=r"risk\.levels\.large-diff"):
        parse_policy(b'[risk.levels]\n"large-diff" = "critical"\n', ".fixreview.toml")
    with pytest.raises(InputError, match=r"risk\.large_diff_line: unknown key"):
        parse_policy(b"[risk]\nlarge_diff_line = 10\n", ".fixreview.toml")
    with pytest.raises(InputError, match=r"risk\.scope_slack_lines"):
        parse_policy(b"[risk]\nscope_slack_lines = -1\n", ".fixreview.toml")
    policy = parse_policy(b'[risk.levels]\n"large-diff" = "block"\n', ".fixreview.toml")
    assert policy.risk.level("large-diff") == "block"
    assert policy.risk.level("binary-file") == "warn"


def test_paths_git_quotes_are_matched_by_their_real_names(repo: TestRepo) -> None:
    make_fix(
        repo,
        {".github/workflows/d\u00e9ploy.yml": "on: push\n", "docs/gu\u200bide.md": "Read me\n"},
        finding=None,
    )
    flags = assess_branch(repo)
    assert [unquote(e.path or "") for e in flags["ci-config-change"].evidence] == [
        ".github/workflows/d\u00e9ploy.yml"
    ]
    hidden = flags["hidden-unicode"]
    assert [e.excerpt for e in hidden.evidence] == [
        "U+200B in the file name: docs/gu<U+200B>ide.md"
    ]
