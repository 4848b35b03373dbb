"""Tests of the CodeTF importer against real codemodder output and synthetic documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fixreview.errors import InputError, NotFoundError
from fixreview.findings.codetf import EVIDENCE_LIMIT, CodetfChange, parse_codetf, select_change

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "codetf"  # see its README.md
PYGOAT = FIXTURES / "pygoat.codetf.json"
WEBGOAT = FIXTURES / "webgoat.codetf.json"

A6 = "introduction/playground/A6"


def load(path: Path) -> list[CodetfChange]:
    return parse_codetf(path.read_bytes(), path.name)


@pytest.fixture(scope="module")
def pygoat() -> list[CodetfChange]:
    return load(PYGOAT)


@pytest.fixture(scope="module")
def webgoat() -> list[CodetfChange]:
    return load(WEBGOAT)


def document(*results: dict[str, Any]) -> bytes:
    run = {
        "vendor": "pixee",
        "tool": "codemodder-python",
        "version": "0.99.0",
        "commandLine": "codemodder .",
        "elapsed": "10",
        "directory": "/src",
    }
    return json.dumps({"run": run, "results": list(results)}).encode()


def result(codemod: str, *paths: str, **extra: Any) -> dict[str, Any]:
    return {
        "codemod": codemod,
        "summary": f"Summary of {codemod}",
        "description": f"Description of {codemod}",
        "references": [{"url": f"https://example.com/{codemod}"}],
        "changeset": [
            {
                "path": path,
                "diff": f"--- {path}\n+++ {path}\n@@ -1 +1 @@\n-old\n+new\n",
                "changes": [{"lineNumber": 1, "diffSide": "right", "description": "changed"}],
            }
            for path in paths
        ],
        **extra,
    }


# --- the real fixtures -----------------------------------------------------------------------


def test_fixtures_parse_one_change_per_result(
    pygoat: list[CodetfChange], webgoat: list[CodetfChange]
) -> None:
    for path, changes in ((PYGOAT, pygoat), (WEBGOAT, webgoat)):
        raw = json.loads(path.read_bytes())
        assert len(changes) == len(raw["results"])
        assert [c.codemod for c in changes] == [r["codemod"] for r in raw["results"]]
        assert [c.index for c in changes] == list(range(len(changes)))
    assert len(pygoat) == 52
    assert len(webgoat) == 9


def test_pygoat_requests_timeouts(pygoat: list[CodetfChange]) -> None:
    change = pygoat[0]
    assert change.codemod == "pixee:python/add-requests-timeouts"
    assert change.paths == (
        "introduction/apis.py",
        f"{A6}/soln.py",
        f"{A6}/utility.py",
        "introduction/views.py",
    )
    assert change.tool == "codemodder-python 0.81.1.dev13+g03f0a72"
    finding = change.finding
    assert finding.id == "pixee:python/add-requests-timeouts@introduction/apis.py"
    assert finding.rule == "pixee:python/add-requests-timeouts"
    assert finding.title == "Add timeout to `requests` calls"
    assert finding.severity == "medium"
    assert finding.scanner == "pixee codemodder-python 0.81.1.dev13+g03f0a72"
    assert finding.asset == "introduction/apis.py"
    assert finding.url == "https://docs.python-requests.org/en/master/user/quickstart/#timeouts"
    # lineNumber is a string in this file; consecutive lines 76..79 become one range
    assert [str(loc) for loc in finding.locations] == [
        "introduction/apis.py:76-79",
        f"{A6}/soln.py:8",
        f"{A6}/utility.py:8",
        "introduction/views.py:954",
    ]
    assert finding.reason.startswith("Many developers will be surprised to learn that `requests`")
    assert finding.evidence.startswith("introduction/apis.py\n--- \n+++ \n@@ -73,10 +73,10 @@")
    assert '+        requests.request("GET", url, timeout=60)' in finding.evidence
    assert change.rationale.startswith(
        "Add timeout to `requests` calls\n\nMany developers will be surprised"
    )
    assert change.rationale.endswith(
        "Changes:\n"
        "- introduction/apis.py:76-79: Add timeout to `requests` call\n"
        f"- {A6}/soln.py:8: Add timeout to `requests` call\n"
        f"- {A6}/utility.py:8: Add timeout to `requests` call\n"
        "- introduction/views.py:954: Add timeout to `requests` call"
    )
    assert change.fixed_finding_ids == ()


def test_pygoat_result_that_changed_nothing(pygoat: list[CodetfChange]) -> None:
    change = pygoat[3]
    assert change.codemod == "pixee:python/enable-jinja2-autoescape"
    assert change.paths == ()
    assert change.finding.id == "pixee:python/enable-jinja2-autoescape"
    assert change.finding.locations == []
    assert change.finding.evidence == ""


def test_webgoat_sql_parameterizer(webgoat: list[CodetfChange]) -> None:
    change = webgoat[5]
    lessons = "src/main/java/org/owasp/webgoat/lessons/sqlinjection"
    assert change.codemod == "pixee:java/sql-parameterizer"
    assert change.paths == (
        f"{lessons}/advanced/SqlInjectionChallenge.java",
        f"{lessons}/introduction/SqlInjectionLesson8.java",
    )
    assert change.tool == "codemodder 1.0.0"
    assert change.finding.scanner == "io.codemodder codemodder 1.0.0"
    assert change.finding.title == "Refactored to use parameterized SQL APIs"
    assert [str(loc) for loc in change.finding.locations] == [
        f"{lessons}/advanced/SqlInjectionChallenge.java:69",
        f"{lessons}/introduction/SqlInjectionLesson8.java:158",
    ]
    assert change.finding.url == (
        "https://cheatsheetseries.owasp.org/cheatsheets/SQL_Injection_Prevention_Cheat_Sheet.html"
    )
    assert (
        f"- {lessons}/advanced/SqlInjectionChallenge.java:69: "
        "Parameterized SQL usage to prevent any bugs or vulnerabilities"
    ) in change.rationale


def test_long_evidence_is_truncated_with_marker(webgoat: list[CodetfChange]) -> None:
    change = webgoat[7]  # switch-literal-first: 22 files
    assert len(change.paths) == 22
    evidence = change.finding.evidence
    assert len(evidence) < EVIDENCE_LIMIT + 100
    body, marker = evidence.rsplit("\n", 1)
    assert marker.startswith("… (truncated: ") and marker.endswith(" more characters of diff)")
    assert len(body) <= EVIDENCE_LIMIT


# --- selection -------------------------------------------------------------------------------


def test_select_by_index_and_codemod(pygoat: list[CodetfChange]) -> None:
    assert select_change(pygoat, "23", set(), "pygoat").codemod == "pixee:python/url-sandbox"
    chosen = select_change(pygoat, "pixee:python/secure-random", set(), "pygoat")
    assert chosen.index == 19


def test_select_by_changed_paths(pygoat: list[CodetfChange]) -> None:
    assert select_change(pygoat, None, {"introduction/apis.py"}, "pygoat").index == 0
    assert select_change(pygoat, None, {"requirements.txt"}, "pygoat").index == 14
    # 0 and 23 both touch these three files; 23 touches nothing else, so it fits best
    exact = {f"{A6}/soln.py", f"{A6}/utility.py", "introduction/views.py"}
    assert select_change(pygoat, None, exact, "pygoat").index == 23
    # adding apis.py makes the overlap of 0 the largest
    assert select_change(pygoat, None, exact | {"introduction/apis.py"}, "pygoat").index == 0


def test_select_tie_is_input_error(pygoat: list[CodetfChange]) -> None:
    with pytest.raises(InputError) as caught:
        select_change(pygoat, None, {"pygoat/settings.py"}, "pygoat")
    assert not isinstance(caught.value, NotFoundError)
    assert caught.value.message == (
        "pygoat: 2 results match the branch's changed files equally well; select one by index: "
        "1 (pixee:python/django-debug-flag-on), 2 (pixee:python/django-session-cookie-secure-off)"
    )


def test_select_no_overlap_is_not_found(pygoat: list[CodetfChange]) -> None:
    with pytest.raises(NotFoundError) as caught:
        select_change(pygoat, None, {"README.md"}, "pygoat")
    message = caught.value.message
    assert message.startswith("pygoat: no result changes any file the branch changed; select one")
    assert "pixee:python/add-requests-timeouts" in message
    assert message.endswith("(and 47 more)")


def test_select_unknown_selector_and_index(webgoat: list[CodetfChange]) -> None:
    with pytest.raises(NotFoundError, match=r"^webgoat: no result matches pixee:java/nope; try"):
        select_change(webgoat, "pixee:java/nope", set(), "webgoat")
    with pytest.raises(NotFoundError, match=r"the file has 9 results \(indexes 0-8\)"):
        select_change(webgoat, "9", set(), "webgoat")


def test_codemod_with_several_results_asks_for_an_index() -> None:
    changes = parse_codetf(
        document(
            result("pixee:python/secure-random", "a.py"),
            result("pixee:python/harden-pyyaml", "b.py"),
            result("pixee:python/secure-random", "c.py"),
        ),
        "run.json",
    )
    with pytest.raises(InputError) as caught:
        select_change(changes, "pixee:python/secure-random", set(), "run.json")
    assert caught.value.message == (
        "run.json: codemod pixee:python/secure-random has 2 results; select one by index: "
        "0 (pixee:python/secure-random), 2 (pixee:python/secure-random)"
    )
    assert select_change(changes, "2", set(), "run.json").paths == ("c.py",)
    assert select_change(changes, None, {"c.py"}, "run.json").index == 2


def test_single_result_without_changed_paths() -> None:
    changes = parse_codetf(document(result("x:y/z", "a.py")), "one.json")
    assert select_change(changes, None, set(), "one.json") is changes[0]
    with pytest.raises(NotFoundError, match="the file has no results"):
        select_change([], None, {"a.py"}, "none.json")


# --- fixed findings --------------------------------------------------------------------------


def test_fixed_findings_give_the_finding_id_and_rule() -> None:
    fixed = result("sonar:python/sql-injection", "app/db.py", detectionTool={"name": "SonarQube"})
    fixed["changeset"][0]["changes"] = [
        {
            "lineNumber": "12",
            "diffSide": "left",
            "description": "Parameterized the query",
            "fixedFindings": [
                {
                    "id": "AY-sonar-123",
                    "rule": {
                        "id": "pythonsecurity:S3649",
                        "name": "Database queries should not be vulnerable to injection",
                        "url": "https://rules.sonarsource.com/python/RSPEC-3649",
                    },
                }
            ],
        },
        {
            "lineNumber": 20,
            "diffSide": "left",
            "fixedFindings": [{"id": "AY-sonar-456", "rule": {"id": "S3649", "name": "x"}}],
        },
    ]
    changes = parse_codetf(document(result("a:b/c", "x.py"), fixed), "sonar.json")
    change = changes[1]
    finding = change.finding
    assert finding.id == "AY-sonar-123"
    assert finding.rule == "pythonsecurity:S3649"
    assert finding.title == "Database queries should not be vulnerable to injection"
    assert finding.url == "https://rules.sonarsource.com/python/RSPEC-3649"
    assert finding.scanner == "SonarQube"
    assert [str(loc) for loc in finding.locations] == ["app/db.py:12", "app/db.py:20"]
    assert change.fixed_finding_ids == ("AY-sonar-123", "AY-sonar-456")
    assert select_change(changes, "AY-sonar-456", set(), "sonar.json") is change
    assert select_change(changes, "AY-sonar-123", set(), "sonar.json") is change


def test_fixed_finding_without_id_uses_rule_at_place() -> None:
    fixed = result("pixee:python/x", "m.py")
    fixed["changeset"][0]["fixedFindings"] = [{"rule": {"id": "py/xss", "name": "XSS"}}]
    change = parse_codetf(document(fixed), "f.json")[0]
    assert change.finding.id == "py/xss@m.py"
    assert change.finding.rule == "py/xss"
    assert change.fixed_finding_ids == ()


def test_a_random_finding_id_gives_way_to_rule_at_place_and_titles_say_something() -> None:
    """codemodder gives each fixed finding a new uuid4 every run, and names it by an internal
    rule name: the id is the rule at the place (the same in every run), the title the result's
    summary."""

    def run_once(uuid: str) -> CodetfChange:
        fixed = result("pixee:python/add-requests-timeouts", "app/api.py")
        fixed["summary"] = "Add timeouts to requests calls"
        fixed["changeset"][0]["changes"] = [
            {
                "lineNumber": 7,
                "fixedFindings": [
                    {
                        "id": uuid,
                        "rule": {
                            "id": "add-requests-timeouts",
                            "name": "tmp.add-requests-timeouts",
                        },
                    }
                ],
            }
        ]
        return parse_codetf(document(fixed), "f.json")[0]

    first = run_once("3f2b8c1e-9d4a-4b6f-8e2d-1a7c5b9e0f34")
    second = run_once("c0ffee00-1234-4abc-8def-0123456789ab")
    assert first.finding.id == second.finding.id == "add-requests-timeouts@app/api.py:7"
    assert first.finding.title == "Add timeouts to requests calls"
    assert first.fixed_finding_ids == ("3f2b8c1e-9d4a-4b6f-8e2d-1a7c5b9e0f34",)  # still selects


def test_v3_fixes_are_read() -> None:
    data = json.dumps(
        {
            "run": {"vendor": "pixee", "tool": "pixeebot", "version": "3.0", "elapsed": 5},
            "fixes": [
                {
                    "findingMetadata": {
                        "id": "alert-77",
                        "summary": "Reflected XSS",
                        "rule": {"id": "js/reflected-xss", "name": "Reflected XSS", "url": "u"},
                    },
                    "fixMetadata": {
                        "id": "pixee:js/escape-html",
                        "summary": "Escape output",
                        "description": "Escapes user input before rendering.",
                        "generation": {
                            "strategy": "ai",
                            "ai": {"provider": "openai", "model": "gpt-4o", "tokens": 1204},
                            "provisional": True,
                        },
                    },
                    "changesets": [
                        {
                            "path": "./routes/search.ts",
                            "diff": "--- a\n+++ b\n",
                            "changes": [
                                {"lineNumber": 7, "description": "escaped", "diffSide": "right"}
                            ],
                            "reasoning": "The query parameter reaches res.send.",
                        }
                    ],
                }
            ],
        }
    ).encode()
    change = parse_codetf(data, "v3.json")[0]
    assert change.codemod == "pixee:js/escape-html"
    assert change.paths == ("routes/search.ts",)
    assert change.model == "gpt-4o"
    assert change.tool == "pixeebot 3.0"
    assert change.finding.id == "alert-77"
    assert change.finding.rule == "js/reflected-xss"
    assert change.finding.title == "Reflected XSS"
    assert change.rationale == (
        "Escape output\n\nEscapes user input before rendering.\n\n"
        "Changes:\n- routes/search.ts:7: escaped\n\n"
        "Reasoning for routes/search.ts:\nThe query parameter reaches res.send.\n\n"
        "Generated by: AI (openai, gpt-4o, 1,204 tokens), provisional: not a final fix"
    )


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"run": {}, "results": [', "bad.json: not valid JSON: "),
        (b"\xff", "bad.json: not UTF-8 text"),
        (b"[1, 2]", "bad.json: not a CodeTF document: the top level is not an object"),
        (b'{"run": {}}', "bad.json: not a CodeTF document: no 'results' array"),
        (b'{"results": [7]}', "bad.json: not a CodeTF document: results[0] is not an object"),
        (b'{"results": [{"summary": "s"}]}', "bad.json: results[0] has no 'codemod'"),
    ],
)
def test_malformed_input_is_input_error(data: bytes, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_codetf(data, "bad.json")
    assert caught.value.message.startswith(message)
    assert "\n" not in caught.value.message


def test_junk_in_optional_fields_does_not_raise() -> None:
    data = json.dumps(
        {
            "run": [],
            "results": [
                {
                    "codemod": "a:b/c",
                    "summary": 3,
                    "references": "x",
                    "changeset": [
                        None,
                        {"path": ""},
                        {"path": "k.py", "diff": 5, "changes": [{"lineNumber": "x"}, 4, {}]},
                    ],
                }
            ],
        }
    ).encode()
    change = parse_codetf(data, "junk.json")[0]
    assert change.paths == ("k.py",)
    assert change.tool == ""
    assert change.finding.title == "a:b/c"
    assert [str(loc) for loc in change.finding.locations] == ["k.py:1"]
