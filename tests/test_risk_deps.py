"""dependency-change on real repositories: manifests and lockfiles read as whole files.

Each manifest or lockfile of the final diff is read whole at the merge-base and at the head and
parsed (tomllib, json, ``packaging``), so what a hunk does not show (the table a line is in) is
known, and versions compare as PEP 440 says.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from fixreview.changes import final_diff
from fixreview.queue import load_queue
from fixreview.repo.git import Repository
from fixreview.risk import RiskFlag
from fixreview.risk import tree as tree_module
from tests.gitutil import TestRepo
from tests.test_risk import assess_branch, make_fix

ARROW = "\u2192"


def dependency_flag(
    repo: TestRepo, base: dict[str, str | bytes | None], head: dict[str, str | bytes | None]
) -> RiskFlag:
    repo.commit("deps", base)
    make_fix(repo, head, finding=None)
    flags = assess_branch(repo)
    assert "dependency-change" in flags, sorted(flags)
    return flags["dependency-change"]


def evidence(flag: RiskFlag) -> list[tuple[str | None, int | None, str]]:
    return [(e.path, e.line, e.excerpt) for e in flag.evidence]


def pyproject(dependencies: list[str], *, extra: str = "") -> str:
    """A pyproject.toml whose dependency list is long enough that a hunk at its end shows
    neither the ``[project]`` header nor the ``dependencies = [`` line."""
    listed = "".join(f'    "{d}",\n' for d in dependencies)
    return (
        '[project]\nname = "app"\nversion = "1.0"\nrequires-python = ">=3.11"\n'
        f"dependencies = [\n{listed}]\n{extra}"
    )


BASE_DEPS = [
    "attrs>=23",
    "click>=8.1",
    "flask>=3.0",
    "jinja2>=3.1",
    "markupsafe>=2.1",
    "pydantic>=2.6",
    "sqlalchemy>=2.0",
    "werkzeug>=3.0",
]


# -- (a) the table is known although the hunk does not show it ------------------------------------


def test_package_added_to_project_dependencies_without_the_header_in_the_hunk(
    repo: TestRepo,
) -> None:
    flag = dependency_flag(
        repo,
        {"pyproject.toml": pyproject(BASE_DEPS)},
        {"pyproject.toml": pyproject([*BASE_DEPS, "itsdangerous", "bleach>=6"])},
    )
    assert evidence(flag) == [
        ("pyproject.toml", 15, "bleach >=6 added"),
        ("pyproject.toml", 14, "itsdangerous added"),
    ]
    assert "2 added: bleach >=6, itsdangerous." in flag.detail


def test_requirement_like_string_outside_a_dependency_table_is_not_a_package(
    repo: TestRepo,
) -> None:
    def tool(*extra: str) -> str:
        items = "".join(f'    "{item}",\n' for item in [*(f"item{n}" for n in range(8)), *extra])
        return pyproject(BASE_DEPS, extra=f"\n[tool.spelling]\nwords = [\n{items}]\n")

    flag = dependency_flag(repo, {"pyproject.toml": tool()}, {"pyproject.toml": tool("foo>=1.0")})
    assert evidence(flag) == [("pyproject.toml", None, "manifest modified (+1 \u22120)")]
    assert "No package line was recognised" in flag.detail


# -- (b) a looser specifier is a change of the same package --------------------------------------


def test_dropped_lower_bound_is_loosened_not_removed(repo: TestRepo) -> None:
    flag = dependency_flag(
        repo,
        {"pyproject.toml": pyproject([*BASE_DEPS, "pkg>=1.7"])},
        {"pyproject.toml": pyproject([*BASE_DEPS, "pkg"])},
    )
    assert evidence(flag) == [("pyproject.toml", 14, f"pkg >=1.7 {ARROW} (any) (loosened)")]
    assert f"1 loosened: pkg >=1.7 {ARROW} (any)." in flag.detail
    assert "removed" not in flag.detail and "added" not in flag.detail


def test_pin_opened_to_a_range_is_loosened(repo: TestRepo) -> None:
    flag = dependency_flag(
        repo,
        {"requirements.txt": "requests==2.31.0\nidna==3.7\nurllib3>=2,<3\n"},
        {"requirements.txt": "requests>=2.31.0\nidna==3.7\nurllib3>=2\n"},
    )
    assert evidence(flag) == [
        ("requirements.txt", 1, f"requests 2.31.0 {ARROW} >=2.31.0 (loosened)"),
        ("requirements.txt", 3, f"urllib3 >=2,<3 {ARROW} >=2 (loosened)"),
    ]


def test_narrower_specifier_is_not_loosened(repo: TestRepo) -> None:
    flag = dependency_flag(
        repo,
        {"requirements.txt": "requests>=2.0\njinja2\n"},
        {"requirements.txt": "requests>=2.32.3\njinja2>=3.1.4\n"},
    )
    assert evidence(flag) == [
        ("requirements.txt", 2, f"jinja2 (any) {ARROW} >=3.1.4"),
        ("requirements.txt", 1, f"requests >=2.0 {ARROW} >=2.32.3"),
    ]
    assert "1 bumped: requests" in flag.detail and "loosened" not in flag.detail


# -- (c) PEP 440 versions ------------------------------------------------------------------------


def test_release_after_its_release_candidate_is_a_bump(repo: TestRepo) -> None:
    lock = '[[package]]\nname = "{n}"\nversion = "{v}"\nsource = {{ registry = "x" }}\n\n'
    flag = dependency_flag(
        repo,
        {
            "uv.lock": "version = 1\n\n" + lock.format(n="django", v="4.2.0rc1"),
            "requirements.txt": "Django==4.2.0rc1\n",
        },
        {
            "uv.lock": "version = 1\n\n" + lock.format(n="django", v="4.2.0"),
            "requirements.txt": "Django==4.2.0\n",
        },
    )
    assert evidence(flag) == [
        ("requirements.txt", 1, f"Django 4.2.0rc1 {ARROW} 4.2.0"),
        ("uv.lock", 5, f"django 4.2.0rc1 {ARROW} 4.2.0"),
    ]
    assert f"1 bumped: Django 4.2.0rc1 {ARROW} 4.2.0." in flag.detail


def test_release_candidate_after_the_release_is_a_downgrade(repo: TestRepo) -> None:
    flag = dependency_flag(
        repo, {"requirements.txt": "django==4.2.1\n"}, {"requirements.txt": "django==4.2.1rc1\n"}
    )
    assert evidence(flag) == [
        ("requirements.txt", 1, f"django 4.2.1 {ARROW} 4.2.1rc1 (downgrade)")
    ]


# -- other formats read whole ----------------------------------------------------------------------


def test_package_lock_and_package_json_are_read_as_json(repo: TestRepo) -> None:
    def lock(version: str) -> str:
        return (
            '{\n  "name": "web",\n  "lockfileVersion": 3,\n  "packages": {\n'
            '    "": {\n      "name": "web",\n      "dependencies": {"lodash": "^4.17.0"}\n    },\n'
            '    "node_modules/lodash": {\n'
            f'      "version": "{version}",\n'
            '      "resolved": "https://registry.npmjs.org/lodash/-/lodash.tgz",\n'
            '      "license": "MIT"\n    }\n  }\n}\n'
        )

    manifest = '{\n  "name": "web",\n  "dependencies": {\n    "lodash": "%s"\n  }\n}\n'
    flag = dependency_flag(
        repo,
        {"package-lock.json": lock("4.17.20"), "package.json": manifest % "4.17.20"},
        {"package-lock.json": lock("4.17.21"), "package.json": manifest % "^4.17.20"},
    )
    assert evidence(flag) == [
        ("package-lock.json", 10, f"lodash 4.17.20 {ARROW} 4.17.21"),
        ("package.json", 4, f"lodash 4.17.20 {ARROW} ^4.17.20 (loosened)"),
    ]


def test_cargo_lock_with_two_versions_of_a_crate(repo: TestRepo) -> None:
    entry = '[[package]]\nname = "{n}"\nversion = "{v}"\n\n'
    base = entry.format(n="syn", v="1.0.109") + entry.format(n="syn", v="2.0.60")
    head = entry.format(n="syn", v="1.0.109") + entry.format(n="syn", v="2.0.77")
    flag = dependency_flag(repo, {"Cargo.lock": base}, {"Cargo.lock": head})
    assert evidence(flag) == [("Cargo.lock", 7, f"syn 2.0.60 {ARROW} 2.0.77")]


def test_go_mod_exclude_block_is_not_a_requirement(repo: TestRepo) -> None:
    go = "module example.com/app\n\ngo 1.22\n\nrequire (\n\tgolang.org/x/net {v}\n)\n\n"
    flag = dependency_flag(
        repo,
        {"go.mod": go.format(v="v0.23.0")},
        {"go.mod": go.format(v="v0.23.0") + "exclude (\n\tgolang.org/x/net v0.17.0\n)\n"},
    )
    assert evidence(flag) == [("go.mod", None, "manifest modified (+3 \u22120)")]


# -- hostile files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "good", "bad", "why"),
    [
        ("pyproject.toml", pyproject(["attrs"]), pyproject(["attrs"]) + "[oops\n", "TOML"),
        ("package.json", '{"dependencies": {"a": "1"}}\n', '{"dependencies": {"a": \n', "JSON"),
        ("Cargo.lock", '[[package]]\nname = "a"\n', "[[package]]\nname = \n", "TOML"),
        ("package-lock.json", "{}\n", "[" * 100_000 + "]" * 100_000, "JSON"),
        ("pyproject.toml", "[project]\n", "x = " + "[" * 100_000 + "]" * 100_000 + "\n", "TOML"),
    ],
    ids=["toml", "json", "lock", "deep-json", "deep-toml"],
)
def test_malformed_manifest_is_named_not_a_crash(
    repo: TestRepo, path: str, good: str, bad: str, why: str
) -> None:
    flag = dependency_flag(repo, {path: good}, {path: bad})
    [(shown, line, text)] = evidence(flag)
    assert (shown, line) == (path, None)
    kind = "lockfile" if ".lock" in path else "manifest"
    assert text.startswith(f"{kind} modified ("), text
    assert f"); not read as {why} at the head: " in text, text


@pytest.mark.parametrize(
    ("path", "good", "bad"),
    [
        ("package.json", "[1, 2]\n", '{"dependencies": [1, {"x": null}], "devDependencies": 3}\n'),
        ("pyproject.toml", "[project]\n", "[project]\ndependencies = 5\n[tool.poetry]\nx = 1\n"),
        ("Cargo.lock", "version = 3\n", "version = 3\npackage = [1, 2]\n"),
        ("package-lock.json", "{}\n", '{"packages": {"node_modules/a": 7}}\n'),
    ],
    ids=["package.json", "pyproject", "cargo-lock", "package-lock"],
)
def test_manifest_of_an_unexpected_shape_is_named(
    repo: TestRepo, path: str, good: str, bad: str
) -> None:
    flag = dependency_flag(repo, {path: good}, {path: bad})
    [(shown, line, text)] = evidence(flag)
    assert (shown, line) == (path, None)
    assert re.fullmatch(r"(manifest|lockfile) modified \(\+\d+ \u2212\d+\)", text), text


def test_malformed_side_is_said(repo: TestRepo) -> None:
    flag = dependency_flag(
        repo,
        {"pyproject.toml": pyproject(["attrs"])},
        {"pyproject.toml": pyproject(["attrs", "evil"]) + "[oops\n"},
    )
    [(path, line, text)] = evidence(flag)
    assert (path, line) == ("pyproject.toml", None)
    assert text.startswith("manifest modified (+2 \u22120); not read as TOML at the head: ")


def test_oversized_lockfile_is_named_not_read(
    repo: TestRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tree_module, "MAX_MANIFEST_BYTES", 1000)
    entry = '[[package]]\nname = "pkg{n}"\nversion = "1.0.{v}"\n\n'
    small = entry.format(n=0, v=0)
    large = "".join(entry.format(n=n, v=1) for n in range(100))
    flag = dependency_flag(
        repo,
        {"poetry.lock": small, "requirements.txt": "a==1.0\n"},
        {"poetry.lock": large, "requirements.txt": "a==1.1\n"},
    )
    assert evidence(flag)[1] == ("requirements.txt", 1, f"a 1.0 {ARROW} 1.1")
    path, line, text = evidence(flag)[0]
    assert (path, line) == ("poetry.lock", None)
    assert text.startswith("lockfile modified (+"), text
    assert text.endswith(
        f"); not parsed: {len(large)} bytes at the head, more than the 1000 read"
    ), text


def test_dependency_files_are_read_in_one_pass(
    repo: TestRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = {f"svc{n}/requirements.txt": "a==1.0\n" for n in range(40)}
    repo.commit("deps", base)
    make_fix(repo, {path: "a==1.1\n" for path in base}, finding=None)
    r = Repository(repo.path)
    fix = load_queue(r).get("ai-fix/x")
    final = final_diff(r, fix)
    calls: list[tuple[str, ...]] = []
    original = Repository.run

    def counting(self: Repository, *args: str, **kwargs: Any) -> bytes:
        calls.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Repository, "run", counting)
    facts = tree_module.tree_facts(r, fix, final)
    assert len(calls) <= 2, calls  # sizes first, then every blob with the CI files
    for path in base:
        sides = facts.manifest(path)
        assert sides is not None and (sides.old, sides.new, sides.unread) == (
            "a==1.0\n",
            "a==1.1\n",
            None,
        )
    monkeypatch.undo()
    flag = assess_branch(repo)["dependency-change"]
    assert len(flag.evidence) == 40
    assert all(e.excerpt == f"a 1.0 {ARROW} 1.1" and e.line == 1 for e in flag.evidence)
