"""Each risk flag is declared once (fixreview/flag_registry.py), and everything else reads it:
the checks' table and titles, the policy's ``[risk.levels]``, the gate's sensitive set, the
bundled default policy, and the docs."""

from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import get_args

import pytest
import tomli_w

from fixreview import gate
from fixreview.errors import InputError
from fixreview.flag_registry import (
    DEFAULT_RISK_LEVELS,
    FLAG_IDS,
    FLAGS,
    REGISTRY,
    SENSITIVE_FLAG_IDS,
    FlagId,
    RiskLevel,
    flag_spec,
)
from fixreview.policy import (
    DEFAULT_POLICY,
    ApprovalsPolicy,
    Policy,
    RiskPolicy,
    default_policy_text,
    load_policy,
    parse_policy,
)
from fixreview.queue import fix_at
from fixreview.repo.git import Repository
from fixreview.risk import RiskFlag, flag_json
from fixreview.risk import checks as checks_module
from fixreview.risk.checks import CHECKS
from tests.gitutil import TestRepo

ROOT = Path(__file__).resolve().parent.parent
CHECKS_SOURCE = Path(inspect.getfile(checks_module)).read_text(encoding="utf-8")


# -- the declarations ------------------------------------------------------------------------


def test_every_declared_flag_has_one_declaration_a_title_and_a_default_level() -> None:
    assert [spec.id for spec in FLAGS] == list(FlagId) == list(FLAG_IDS)
    assert set(REGISTRY) == set(FlagId) and len(REGISTRY) == len(FLAGS) == 16
    for spec in FLAGS:
        assert flag_spec(spec.id) is spec is flag_spec(str(spec.id))
        assert spec.title and spec.title == spec.title.strip() and "\n" not in spec.title
        assert spec.level in get_args(RiskLevel)
        assert DEFAULT_RISK_LEVELS[spec.id] == spec.level
        assert all(title and name for name, title in spec.cases.items())
    with pytest.raises(KeyError, match="undeclared risk flag id 'dependncy-change'"):
        flag_spec("dependncy-change")


def test_ids_are_the_stable_strings_everywhere_they_are_written() -> None:
    """Ids are a public format: JSON, decision notes (TOML) and text see the bare id."""
    for flag_id in FlagId:
        text = flag_id.value
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", text)
        assert flag_id == text and str(flag_id) == text and f"{flag_id}" == text
        assert hash(flag_id) == hash(text)
        flag = RiskFlag(flag_id, REGISTRY[flag_id].level, "t", "d", ())
        assert json.dumps(flag_json(flag)).startswith(f'{{"id": "{text}", ')
        written = tomli_w.dumps({"acknowledged_flags": [flag_id]})
        assert written == tomli_w.dumps({"acknowledged_flags": [text]})
        assert tomllib.loads(written) == {"acknowledged_flags": [text]}
    assert [str(f) for f in FLAG_IDS[:3]] == ["sensitive-path", "policy-change", "ci-config-change"]


# -- the checks --------------------------------------------------------------------------------


def test_every_declared_flag_has_exactly_one_check_and_every_check_a_declared_flag() -> None:
    assert list(CHECKS) == list(FLAG_IDS)  # the table covers every id, in declaration order
    assert all(isinstance(flag_id, FlagId) for flag_id in CHECKS)
    functions = list(CHECKS.values())
    assert len(set(functions)) == len(functions), "one check per flag, never shared"
    assert all(callable(check) and check.__name__.startswith("check_") for check in functions)


def _module_functions() -> dict[str, ast.FunctionDef]:
    tree = ast.parse(CHECKS_SOURCE)
    found: dict[str, ast.FunctionDef] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            found.setdefault(node.name, node)
    return found


def _ids_used(node: ast.AST) -> set[str]:
    """The ``ids.X`` members NODE names."""
    return {
        sub.attr
        for sub in ast.walk(node)
        if isinstance(sub, ast.Attribute)
        and isinstance(sub.value, ast.Name)
        and sub.value.id == "ids"
    }


def _called(node: ast.AST, functions: dict[str, ast.FunctionDef]) -> set[str]:
    """The module's functions NODE calls or passes on (helpers such as _unscanned_flag)."""
    return {sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name) and sub.id in functions}


def test_each_check_raises_only_its_own_flag() -> None:
    """Statically: the flag ids a check can reach (through the helpers it calls) are its own."""
    functions = _module_functions()
    reached_by_checks: set[str] = set()
    for flag_id, check in CHECKS.items():
        seen: set[str] = set()
        todo = [check.__name__]
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(_called(functions[name], functions) - seen)
        used = set().union(*(_ids_used(functions[name]) for name in seen))
        assert used == {flag_id.name}, f"{check.__name__} names {sorted(used)}"
        reached_by_checks |= seen
    # no flag id is named anywhere else in the module but the table and Context.flag's types
    for name, node in functions.items():
        if name not in reached_by_checks:
            assert not _ids_used(node), f"{name} names a flag id but no check reaches it"


def _flag_calls() -> list[ast.Call]:
    return [
        node
        for node in ast.walk(ast.parse(CHECKS_SOURCE))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "flag"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "ctx"
    ]


def test_titles_come_from_the_registry_and_every_case_is_declared_and_used() -> None:
    calls = _flag_calls()
    assert len(calls) >= len(FLAG_IDS)
    used: dict[str, set[str]] = {flag_id.name: set() for flag_id in FlagId}
    for call in calls:
        first = call.args[0]
        assert isinstance(first, ast.Attribute) and first.attr in used
        # the id, the detail and the evidence: no title is written at a call
        assert len(call.args) == 3, ast.unparse(call)
        for keyword in call.keywords:
            assert keyword.arg == "case"
            used[first.attr] |= {
                c.value
                for c in ast.walk(keyword.value)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            }
    for flag_id in FlagId:
        assert used[flag_id.name] == set(REGISTRY[flag_id].cases), flag_id
    # and the titles are not written in the checks' source either
    for spec in FLAGS:
        for title in (spec.title, *spec.cases.values()):
            assert json.dumps(title) not in CHECKS_SOURCE, title
    with pytest.raises(KeyError, match="no title declared for the case 'nope'"):
        REGISTRY[FlagId.THIN_RATIONALE].title_for("nope")


# -- the policy --------------------------------------------------------------------------------


def test_risk_levels_accept_exactly_the_registry_ids() -> None:
    every = "".join(f'"{flag_id}" = "info"\n' for flag_id in FlagId)
    policy = parse_policy(f"[risk.levels]\n{every}".encode(), ".fixreview.toml")
    assert set(policy.risk.levels) == set(FlagId)
    assert all(policy.risk.level(flag_id) == "info" for flag_id in FlagId)
    assert all(Policy().risk.level(flag_id) == REGISTRY[flag_id].level for flag_id in FlagId)
    for wrong in ("Sensitive-Path", "sensitive_path", "SENSITIVE_PATH", "secret", ""):
        with pytest.raises(InputError) as exc:
            parse_policy(f'[risk.levels]\n"{wrong}" = "warn"\n'.encode(), ".fixreview.toml")
        assert f"unknown risk flag id '{wrong}' (known: {', '.join(FLAG_IDS)})" in str(exc.value)


# -- the gate ----------------------------------------------------------------------------------


def test_the_gate_sensitive_set_is_the_registrys() -> None:
    assert {FlagId.SENSITIVE_PATH, FlagId.POLICY_CHANGE} == SENSITIVE_FLAG_IDS
    assert {spec.id for spec in FLAGS if spec.sensitive} == SENSITIVE_FLAG_IDS
    for spec in FLAGS:
        assert RiskFlag(spec.id, spec.level, spec.title, "d", ()).sensitive is spec.sensitive
        as_text = RiskFlag(str(spec.id), spec.level, "t", "d", ())  # as tests build them
        assert as_text.sensitive is spec.sensitive
    assert not hasattr(gate, "SENSITIVE_FLAGS"), "the gate keeps no list of its own"


def test_the_gate_asks_for_sensitive_approvals_exactly_for_the_sensitive_flags(
    repo: TestRepo,
) -> None:
    repo.checkout("-b", "ai-fix/x")
    repo.commit("Fix it", {"app/db.py": "def query(sql, args):\n    return sql, args\n"})
    repo.checkout("main")
    r = Repository(repo.path)
    loaded = load_policy(r)
    fix, _ = fix_at(r, loaded, r.resolve("ai-fix/x") or "")
    for spec in FLAGS:
        flag = RiskFlag(spec.id, spec.level, spec.title, "d", ())
        result = gate.judge_fix(r, loaded, fix, {}, [], flags=[flag])
        assert result.sensitive is spec.sensitive, spec.id
        assert result.required == (2 if spec.sensitive else 1), spec.id


# -- the bundled default policy ----------------------------------------------------------------


def test_the_bundled_default_policy_parses_and_is_the_defaults_used() -> None:
    parsed = parse_policy(default_policy_text(), "fixreview/default_policy.toml")
    assert parsed == DEFAULT_POLICY == Policy()
    assert parsed.approvals == ApprovalsPolicy() and parsed.risk == RiskPolicy()
    # it sets every key, so that no default is ever taken from anywhere else
    raw = tomllib.loads(default_policy_text().decode("utf-8"))
    assert set(raw) == set(Policy.model_fields)
    assert set(raw["approvals"]) == set(ApprovalsPolicy.model_fields)
    assert set(raw["risk"]) == set(RiskPolicy.model_fields)
    assert raw["risk"]["levels"] == {}, "default levels are declared with the flags"
    # a repository's file that sets one key keeps every other at the bundled default
    one = parse_policy(b"[risk]\nlarge_diff_lines = 5\n", ".fixreview.toml")
    assert one.risk.large_diff_lines == 5
    assert one.risk.model_copy(update={"large_diff_lines": 400}) == DEFAULT_POLICY.risk
    assert one.approvals == DEFAULT_POLICY.approvals and one.base == DEFAULT_POLICY.base
    # an absent approvals.sensitive is still the larger of its default and required
    assert parse_policy(b"[approvals]\nrequired = 3\n", "x").approvals.sensitive == 3
    assert parse_policy(b"[approvals]\nrequired = 1\n", "x").approvals.sensitive == 2


def test_defaults_are_copies_never_shared() -> None:
    first, second = Policy(), Policy()
    first.risk.ci_paths.append("mine/**")
    first.approvals.ai_identities.clear()
    first.risk.levels[FlagId.LARGE_DIFF] = "block"
    assert second == Policy() == DEFAULT_POLICY
    assert "mine/**" not in DEFAULT_POLICY.risk.ci_paths


def test_docs_policy_shows_the_bundled_file_verbatim() -> None:
    docs = (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    text = default_policy_text().decode("utf-8")
    assert f"```toml\n{text}```\n" in docs


def test_docs_risk_lists_every_flag_with_its_default_level_in_order() -> None:
    docs = (ROOT / "docs" / "risk.md").read_text(encoding="utf-8")
    section = docs.split("## Flags", 1)[1].split("###", 1)[0]
    rows = re.findall(r"^\| `([a-z-]+)` \| (block|warn|info) \|", section, re.MULTILINE)
    assert rows == [(str(spec.id), spec.level) for spec in FLAGS]
    numbers = re.findall(r"^\| `risk\.(\w+)` \| (\d+) \|", docs, re.MULTILINE)
    assert len(numbers) == 4
    assert all(getattr(DEFAULT_POLICY.risk, key) == int(value) for key, value in numbers)


# -- the imports stay one-way ------------------------------------------------------------------


def test_the_registry_is_a_leaf_and_the_policy_never_loads_the_risk_package() -> None:
    code = (
        "import sys\n"
        "import fixreview.flag_registry\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('fixreview.'))\n"
        "assert loaded == ['fixreview.flag_registry'], loaded\n"
        "import fixreview.policy\n"
        "risk = sorted(m for m in sys.modules if m.startswith('fixreview.risk'))\n"
        "assert not risk, risk\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
