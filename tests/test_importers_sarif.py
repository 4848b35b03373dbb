"""Tests of the SARIF importer: mapping CodeQL-shaped logs to findings, selection, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fixreview.errors import InputError, NotFoundError
from fixreview.findings.sarif import SarifResult, find_by_id, parse_sarif, select_result

SOURCE = "scan.sarif"
SRCROOT = "file:///home/runner/work/shop/shop/"

SQL_GUID = "6f1c7a10-0b7e-4c1e-9d2a-1f3b5e7a9c01"


def sql_rule(severity: Any = "8.8") -> dict[str, Any]:
    return {
        "id": "py/sql-injection",
        "name": "py/sql-injection",
        "shortDescription": {"text": "SQL query built from user-controlled sources"},
        "fullDescription": {
            "text": "Building a SQL query from user-controlled sources is vulnerable to "
            "insertion of malicious SQL code by the user."
        },
        "defaultConfiguration": {"enabled": True, "level": "error"},
        "helpUri": "https://codeql.github.com/codeql-query-help/python/py-sql-injection/",
        "help": {"text": "# SQL query built from user-controlled sources"},
        "properties": {"tags": ["security", "external/cwe/cwe-089"], "security-severity": severity},
    }


def physical(uri: str, line: int | None = None, **extra: Any) -> dict[str, Any]:
    artifact: dict[str, Any] = {"uri": uri, "uriBaseId": "%SRCROOT%"}
    location: dict[str, Any] = {"artifactLocation": artifact}
    if line is not None:
        location["region"] = {"startLine": line, **extra}
    return {"physicalLocation": location}


def step(uri: str, line: int, message: str) -> dict[str, Any]:
    return {"location": {**physical(uri, line), "message": {"text": message}}}


def codeql_log() -> dict[str, Any]:
    """A log shaped like CodeQL's: rules with severities, results by ruleIndex, flows, guids."""
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "CodeQL",
                        "semanticVersion": "2.19.3",
                        "rules": [
                            sql_rule(),
                            {
                                "id": "py/clear-text-logging-sensitive-data",
                                "name": "py/clear-text-logging-sensitive-data",
                                "shortDescription": {
                                    "text": "Clear-text logging of sensitive information"
                                },
                                "helpUri": "https://codeql.github.com/logging/",
                                "messageStrings": {
                                    "logged": {"text": "This logs {0} as clear text in {1}."}
                                },
                                "properties": {"security-severity": "7.5"},
                            },
                            {
                                "id": "py/unused-import",
                                "name": "py/unused-import",
                                "defaultConfiguration": {"level": "note"},
                            },
                        ],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": SRCROOT}},
                "artifacts": [{"location": {"uri": "shop/models.py", "uriBaseId": "%SRCROOT%"}}],
                "results": [
                    {
                        "ruleId": "py/sql-injection",
                        "ruleIndex": 0,
                        "guid": SQL_GUID,
                        "message": {
                            "text": "This SQL query depends on a [user-provided value](1)."
                        },
                        "locations": [
                            physical(
                                "shop/db.py",
                                42,
                                endLine=43,
                                snippet={"text": "cursor.execute(query)"},
                            )
                        ],
                        "relatedLocations": [{"id": 1, **physical("shop/views.py", 10)}],
                        "codeFlows": [
                            {
                                "threadFlows": [
                                    {
                                        "locations": [
                                            step("shop/views.py", 10, "request"),
                                            step("shop/views.py", 11, "name"),
                                            step("shop/db.py", 42, "query"),
                                        ]
                                    }
                                ]
                            }
                        ],
                    },
                    {
                        "ruleId": "py/clear-text-logging-sensitive-data",
                        "ruleIndex": 1,
                        "message": {"id": "logged", "arguments": ["password", "login()"]},
                        "locations": [
                            {
                                **physical("shop/auth.py", 88),
                                "logicalLocations": [
                                    {"fullyQualifiedName": "shop.auth.login", "name": "login"}
                                ],
                            }
                        ],
                    },
                    {
                        "ruleId": "py/unused-import",
                        "message": {"text": "Import of 'os' is not used."},
                        "locations": [physical("shop/util.py", 1)],
                    },
                    {
                        "ruleId": "py/unused-import",
                        "message": {"text": "Import of 'os' is not used."},
                        "locations": [physical("shop/util.py", 1)],
                    },
                    {
                        "ruleId": "py/unused-import",
                        "kind": "pass",
                        "message": {"text": "checked"},
                        "locations": [physical("shop/ok.py", 1)],
                    },
                ],
            }
        ],
    }


def encode(log: Any) -> bytes:
    return json.dumps(log).encode("utf-8")


def parse(log: Any) -> list[SarifResult]:
    return parse_sarif(encode(log), SOURCE)


def one_result_log(result: dict[str, Any], rules: list[dict[str, Any]] | None = None) -> Any:
    return {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "Scanner", "version": "1.0", "rules": rules or []}},
                "results": [result],
            }
        ],
    }


def severity_with(score: Any) -> str:
    result = {
        "ruleId": "py/sql-injection",
        "ruleIndex": 0,
        "message": {"text": "m"},
        "locations": [physical("a.py", 1)],
    }
    return parse(one_result_log(result, [sql_rule(score)]))[0].finding.severity


# --- mapping ---------------------------------------------------------------------------------


def test_codeql_result_maps_to_finding() -> None:
    results = parse(codeql_log())
    first = results[0]
    assert (first.index, first.run_index, first.guid) == (0, 0, SQL_GUID)
    assert (first.rule_id, first.path, first.line) == ("py/sql-injection", "shop/db.py", 42)
    finding = first.finding
    # the guid names this run's result only (it still selects it): the id is the same every run
    assert finding.id == "py/sql-injection@shop/db.py:42" == first.key
    assert finding.title == "SQL query built from user-controlled sources"
    assert finding.severity == "high"
    assert finding.rule == "py/sql-injection"
    assert finding.scanner == "CodeQL 2.19.3"
    assert finding.asset == "shop/db.py"
    assert [str(location) for location in finding.locations] == ["shop/db.py:42-43"]
    assert finding.reason.startswith("Building a SQL query from user-controlled sources")
    assert finding.url == "https://codeql.github.com/codeql-query-help/python/py-sql-injection/"


def test_pass_results_are_skipped_and_indexes_follow_the_file() -> None:
    results = parse(codeql_log())
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert all(r.path != "shop/ok.py" for r in results)


def test_id_without_guid_is_rule_at_path_line() -> None:
    second = parse(codeql_log())[1]
    assert second.guid is None
    assert second.finding.id == "py/clear-text-logging-sensitive-data@shop/auth.py:88"
    assert second.key == second.finding.id


def test_correlation_guid_used_when_no_guid() -> None:
    result = {
        "ruleId": "r",
        "correlationGuid": "AAAA-1",
        "message": {"text": "m"},
        "locations": [physical("a.py", 3)],
    }
    only = parse(one_result_log(result))[0]
    assert only.guid == "AAAA-1"
    assert only.finding.id == "AAAA-1"


def test_evidence_has_message_snippet_and_flow_steps_in_order() -> None:
    evidence = parse(codeql_log())[0].finding.evidence
    assert evidence.splitlines()[0] == (
        "This SQL query depends on a user-provided value (shop/views.py:10)."
    )
    assert "Location: shop/db.py:42-43\n    cursor.execute(query)" in evidence
    steps = [
        "  1. shop/views.py:10 — request",
        "  2. shop/views.py:11 — name",
        "  3. shop/db.py:42 — query",
    ]
    assert "Flow:\n" + "\n".join(steps) in evidence
    positions = [evidence.index(line) for line in steps]
    assert positions == sorted(positions)


def test_message_from_message_strings_with_placeholders() -> None:
    second = parse(codeql_log())[1]
    assert second.finding.evidence.splitlines()[0] == "This logs password as clear text in login()."
    assert second.finding.asset == "shop.auth.login"
    assert second.finding.severity == "high"


def test_placeholders_and_escaped_braces_in_text() -> None:
    result = {
        "ruleId": "r",
        "message": {"text": "Call {0} with {{x}} then {1}; {5} stays", "arguments": ["f()", "g"]},
        "locations": [physical("a.py", 1)],
    }
    evidence = parse(one_result_log(result)).pop().finding.evidence
    assert evidence.splitlines()[0] == "Call f() with {x} then g; {5} stays"


def test_context_snippet_is_shown() -> None:
    location = physical("a.py", 5, snippet={"text": "eval(x)"})
    location["physicalLocation"]["contextRegion"] = {
        "startLine": 4,
        "endLine": 6,
        "snippet": {"text": "x = input()\neval(x)\nprint(x)\n"},
    }
    result = {"ruleId": "r", "message": {"text": "m"}, "locations": [location]}
    evidence = parse(one_result_log(result))[0].finding.evidence
    assert "    eval(x)\n  context (lines 4-6):\n    x = input()\n    eval(x)\n    print(x)" in (
        evidence
    )


def test_title_falls_back_to_rule_name_then_message() -> None:
    result = {"ruleId": "r1", "ruleIndex": 0, "message": {"text": "First line\nsecond"}}
    named = parse(one_result_log(result, [{"id": "r1", "name": "Rule name in words"}]))[0]
    assert named.finding.title == "Rule name in words"
    one_word = parse(one_result_log(result, [{"id": "r1", "name": "RuleName"}]))[0]
    assert one_word.finding.title == "First line"  # a one-word name says less than the message
    quiet = {"ruleId": "r1", "ruleIndex": 0, "message": {"text": ""}}
    assert parse(one_result_log(quiet, [{"id": "r1", "name": "RuleName"}]))[0].finding.title == (
        "RuleName"  # nothing says more
    )
    bare = parse(one_result_log(result, [{"id": "r1"}]))[0]
    assert bare.finding.title == "First line"
    assert bare.finding.reason == ""
    assert bare.finding.url == ""


def test_generic_titles_of_real_scanners_give_way_to_the_message() -> None:
    """semgrep OSS sets every rule's short description to "Semgrep Finding: <rule id>" and names
    the rule by its id; bandit names many rules "blacklist": the message says what was found."""
    rule_id = (
        "python.django.security.injection.sql.sql-injection-using-raw"
        ".sql-injection-db-cursor-execute"
    )
    semgrep_rule = {
        "id": rule_id,
        "name": rule_id,
        "shortDescription": {"text": f"Semgrep Finding: {rule_id}"},
        "fullDescription": {"text": "User-controlled data from a request is passed to execute()."},
    }
    message = (
        "User-controlled data from a request is passed to 'execute()'. "
        "This could lead to a SQL injection."
    )
    result = {"ruleId": rule_id, "ruleIndex": 0, "level": "error", "message": {"text": message}}
    semgrep = parse(one_result_log(result, [semgrep_rule]))[0].finding
    assert semgrep.title == message and semgrep.severity == "high"
    bandit_rule = {"id": "B301", "name": "blacklist"}
    pickle = (
        "Pickle and modules that wrap it can be unsafe when used to deserialize untrusted data."
    )
    result = {"ruleId": "B301", "ruleIndex": 0, "level": "warning", "message": {"text": pickle}}
    assert parse(one_result_log(result, [bandit_rule]))[0].finding.title == pickle


def test_reason_falls_back_to_help_text() -> None:
    result = {"ruleId": "r1", "message": {"text": "m"}}
    rule = {"id": "r1", "help": {"text": "Use parameters."}}
    assert parse(one_result_log(result, [rule]))[0].finding.reason == "Use parameters."


# --- severity --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        ("10.0", "critical"),
        ("9.0", "critical"),
        ("8.9", "high"),
        ("7.0", "high"),
        ("6.9", "medium"),
        ("4.0", "medium"),
        ("3.9", "low"),
        ("0.1", "low"),
        ("0", "info"),
        ("0.0", "info"),
        (9, "critical"),
        (6.5, "medium"),
        (0, "info"),
    ],
)
def test_security_severity_bands(score: Any, expected: str) -> None:
    assert severity_with(score) == expected


@pytest.mark.parametrize("score", ["high", "", None, True, "-1", "nan", ["9"]])
def test_unparsable_security_severity_falls_back_to_level(score: Any) -> None:
    # sql_rule's defaultConfiguration.level is "error" → high
    assert severity_with(score) == "high"


def test_result_security_severity_wins_over_rule() -> None:
    result = {
        "ruleId": "py/sql-injection",
        "ruleIndex": 0,
        "message": {"text": "m"},
        "properties": {"security-severity": "9.8"},
    }
    assert parse(one_result_log(result, [sql_rule("5.0")]))[0].finding.severity == "critical"


@pytest.mark.parametrize(
    ("result_level", "rule_level", "expected"),
    [
        ("error", None, "high"),
        ("warning", "error", "medium"),
        ("note", "error", "low"),
        ("none", "error", "info"),
        (None, "error", "high"),
        (None, "note", "low"),
        (None, "none", "info"),
        (None, None, "medium"),
    ],
)
def test_level_fallbacks(result_level: str | None, rule_level: str | None, expected: str) -> None:
    result: dict[str, Any] = {"ruleId": "r", "message": {"text": "m"}}
    if result_level is not None:
        result["level"] = result_level
    rule: dict[str, Any] = {"id": "r"}
    if rule_level is not None:
        rule["defaultConfiguration"] = {"level": rule_level}
    assert parse(one_result_log(result, [rule]))[0].finding.severity == expected


@pytest.mark.parametrize(
    ("kind", "expected"), [("open", "info"), ("review", "info"), ("fail", "high")]
)
def test_kind_other_than_fail_without_level_is_none(kind: str, expected: str) -> None:
    result = {"ruleId": "r", "kind": kind, "message": {"text": "m"}}
    rule = {"id": "r", "defaultConfiguration": {"level": "error"}}
    assert parse(one_result_log(result, [rule]))[0].finding.severity == expected


def test_missing_level_and_rule_is_medium() -> None:
    result = {"ruleId": "no-such-rule", "message": {"text": "m"}}
    assert parse(one_result_log(result))[0].finding.severity == "medium"


# --- rules -----------------------------------------------------------------------------------


def test_rule_found_by_index_even_when_ids_repeat() -> None:
    rules = [{"id": "dup", "name": "First"}, {"id": "dup", "name": "Second"}]
    result = {"ruleId": "dup", "ruleIndex": 1, "message": {"text": "m"}}
    assert parse(one_result_log(result, rules))[0].finding.title == "Second"


def test_rule_found_by_id_without_index() -> None:
    rules = [{"id": "a", "name": "A"}, {"id": "js/xss", "name": "XSS"}]
    result = {"ruleId": "js/xss", "message": {"text": "m"}}
    assert parse(one_result_log(result, rules))[0].finding.title == "XSS"


def test_rule_by_reference_object_and_index_only() -> None:
    rules = [{"id": "a", "name": "A"}, {"id": "b/c", "name": "BC"}]
    by_ref = parse(one_result_log({"rule": {"id": "b/c"}, "message": {"text": "m"}}, rules))[0]
    assert (by_ref.rule_id, by_ref.finding.title) == ("b/c", "BC")
    by_index = parse(one_result_log({"ruleIndex": 1, "message": {"text": "m"}}, rules))[0]
    assert (by_index.rule_id, by_index.finding.rule) == ("b/c", "b/c")


def test_hierarchical_rule_id_falls_back_to_parent_rule() -> None:
    rules = [{"id": "CA2101", "name": "Specify marshaling"}]
    result = {"ruleId": "CA2101/sub", "message": {"text": "m"}}
    only = parse(one_result_log(result, rules))[0]
    assert only.rule_id == "CA2101/sub"
    assert only.finding.title == "Specify marshaling"


def test_rule_in_extension_component() -> None:
    log = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {"name": "CodeQL", "version": "2.0", "rules": []},
                    "extensions": [
                        {"name": "codeql/python-queries", "rules": [{"id": "x", "name": "Nope"}]},
                        {"name": "codeql/js-queries", "rules": [{"id": "js/y", "name": "Found"}]},
                    ],
                },
                "results": [
                    {
                        "ruleId": "js/y",
                        "rule": {"id": "js/y", "index": 0, "toolComponent": {"index": 1}},
                        "message": {"text": "m"},
                    },
                    {"ruleId": "js/y", "message": {"text": "m"}},
                ],
            }
        ],
    }
    results = parse(log)
    assert [r.finding.title for r in results] == ["Found", "Found"]
    assert results[0].finding.scanner == "CodeQL 2.0"


# --- paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("file:///home/runner/work/shop/shop/src/app.py", "src/app.py"),
        ("./src/app.py", "src/app.py"),
        ("src/my%20app%2Bv2.py", "src/my app+v2.py"),
        ("file:///home/runner/work/shop/shop/src/my%20app.py", "src/my app.py"),
        ("file:///elsewhere/lib.py", "/elsewhere/lib.py"),
        ("/home/runner/work/shop/shop/./x.py", "x.py"),
    ],
)
def test_path_normalisation(uri: str, expected: str) -> None:
    result = {"ruleId": "r", "message": {"text": "m"}, "locations": [physical(uri, 7)]}
    log = one_result_log(result)
    log["runs"][0]["originalUriBaseIds"] = {"%SRCROOT%": {"uri": SRCROOT}}
    only = parse(log)[0]
    assert only.path == expected
    assert only.finding.locations[0].path == expected


def test_artifact_index_resolves_missing_uri() -> None:
    result = {
        "ruleId": "r",
        "message": {"text": "m"},
        "locations": [
            {"physicalLocation": {"artifactLocation": {"index": 0}, "region": {"startLine": 9}}}
        ],
    }
    log = one_result_log(result)
    log["runs"][0]["artifacts"] = [{"location": {"uri": "./pkg/mod.py"}}]
    only = parse(log)[0]
    assert (only.path, only.line, only.key) == ("pkg/mod.py", 9, "r@pkg/mod.py:9")


def test_location_without_region_keeps_path_at_line_one() -> None:
    result = {"ruleId": "r", "message": {"text": "m"}, "locations": [physical("a.py")]}
    only = parse(one_result_log(result))[0]
    assert (only.path, only.line, only.key) == ("a.py", None, "r@a.py")
    assert [str(loc) for loc in only.finding.locations] == ["a.py:1"]


def test_every_location_is_kept() -> None:
    result = {
        "ruleId": "r",
        "message": {"text": "m"},
        "locations": [physical("a.py", 3), {"message": {"text": "nowhere"}}, physical("b.py", 9)],
    }
    only = parse(one_result_log(result))[0]
    assert [str(loc) for loc in only.finding.locations] == ["a.py:3", "b.py:9"]


def test_result_without_locations_or_rule() -> None:
    only = parse(one_result_log({"message": {"text": "Something odd"}}))[0]
    assert (only.rule_id, only.path, only.line) == ("", None, None)
    assert only.finding.id == "result"
    assert only.finding.locations == []
    assert only.finding.title == "Something odd"


# --- selection -------------------------------------------------------------------------------


def test_select_by_index_guid_and_key() -> None:
    results = parse(codeql_log())
    assert select_result(results, "1", SOURCE) is results[1]
    assert select_result(results, "0:1", SOURCE) is results[1]
    assert select_result(results, SQL_GUID.upper(), SOURCE) is results[0]
    key = "py/clear-text-logging-sensitive-data@shop/auth.py:88"
    assert select_result(results, key, SOURCE) is results[1]
    assert select_result(results, "py/sql-injection@./shop/db.py:42", SOURCE) is results[0]


def test_select_ambiguous_key_is_input_error_naming_indexes() -> None:
    results = parse(codeql_log())
    with pytest.raises(InputError) as caught:
        select_result(results, "py/unused-import@shop/util.py:1", SOURCE)
    assert not isinstance(caught.value, NotFoundError)
    message = caught.value.message
    assert message.startswith(f"{SOURCE}: 2 results match py/unused-import@shop/util.py:1")
    assert "by index or guid" in message
    assert "2 (py/unused-import@shop/util.py:1)" in message
    assert "3 (py/unused-import@shop/util.py:1)" in message


def test_select_not_found_lists_valid_selectors() -> None:
    results = parse(codeql_log())
    with pytest.raises(NotFoundError) as caught:
        select_result(results, "py/xss@shop/db.py:42", SOURCE)
    assert caught.value.message == (
        f"{SOURCE}: no result matches py/xss@shop/db.py:42; try one of: "
        "py/sql-injection@shop/db.py:42, py/clear-text-logging-sensitive-data@shop/auth.py:88, "
        "2, 3"
    )
    assert caught.value.exit_code == 1


def test_select_index_out_of_range_and_skipped_index() -> None:
    results = parse(codeql_log())
    with pytest.raises(NotFoundError, match="no result matches 4;"):
        select_result(results, "4", SOURCE)  # the "pass" result
    with pytest.raises(NotFoundError, match="no result matches 1:0;"):
        select_result(results, "1:0", SOURCE)


def test_select_lists_at_most_five() -> None:
    result = {"ruleId": "r", "message": {"text": "m"}}
    log = one_result_log(result)
    log["runs"][0]["results"] = [
        {**result, "locations": [physical(f"f{n}.py", n + 1)]} for n in range(8)
    ]
    with pytest.raises(NotFoundError) as caught:
        select_result(parse(log), "nope", SOURCE)
    assert caught.value.message.endswith(
        "try one of: r@f0.py:1, r@f1.py:2, r@f2.py:3, r@f3.py:4, r@f4.py:5 (and 3 more)"
    )


def test_select_without_selector() -> None:
    single = parse(one_result_log({"ruleId": "r", "message": {"text": "m"}}))
    assert select_result(single, None, SOURCE) is single[0]
    with pytest.raises(InputError, match=r"^scan\.sarif: the log has 4 results; choose one"):
        select_result(parse(codeql_log()), None, SOURCE)
    with pytest.raises(NotFoundError, match="no results"):
        select_result([], None, SOURCE)


def test_select_in_second_run() -> None:
    log = codeql_log()
    second_run = json.loads(json.dumps(log["runs"][0]))
    second_run["results"] = [{"ruleId": "py/sql-injection", "message": {"text": "again"}}]
    log["runs"].append(second_run)
    results = parse(log)
    assert select_result(results, "1:0", SOURCE).finding.evidence == "again"
    assert select_result(results, "0", SOURCE) is results[0]


# --- find_by_id ------------------------------------------------------------------------------


def test_find_by_id() -> None:
    results = parse(codeql_log())
    assert find_by_id(results, SQL_GUID) is results[0]
    assert find_by_id(results, SQL_GUID.upper()) is results[0]
    assert find_by_id(results, "py/sql-injection@shop/db.py:42") is results[0]
    key = "py/clear-text-logging-sensitive-data@shop/auth.py:88"
    assert find_by_id(results, key) is results[1]
    assert find_by_id(results, "py/unused-import@shop/util.py:1") is results[2]
    assert find_by_id(results, "1") is None
    assert find_by_id(results, "py/sql-injection@shop/db.py:41") is None
    assert find_by_id(results, "") is None


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "scan.sarif: not valid JSON: "),
        (b"\xff\xfe", "scan.sarif: not UTF-8 text"),
        (b"[]", "scan.sarif: not a SARIF log: the top level is an array, not an object"),
        (b'{"version": "2.1.0"}', "scan.sarif: not a SARIF log: no 'runs' array"),
        (b'{"runs": {}}', "scan.sarif: not a SARIF log: no 'runs' array"),
        (b'{"runs": [3]}', "scan.sarif: not a SARIF log: runs[0] is not an object"),
        (b'{"runs": [{"results": 5}]}', "scan.sarif: not a SARIF log: runs[0].results is not"),
        (b'{"runs": [{"results": [null]}]}', "runs[0].results[0] is not an object"),
        (b'{"version": "1.0.0", "runs": []}', "scan.sarif: unsupported SARIF version '1.0.0'"),
    ],
)
def test_invalid_input_is_one_line_input_error(data: bytes, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_sarif(data, SOURCE)
    assert message in caught.value.message
    assert caught.value.message.startswith(SOURCE)
    assert "\n" not in caught.value.message
    assert caught.value.exit_code == 2


def test_junk_in_optional_fields_does_not_raise() -> None:
    log = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": 5, "rules": "nope"}, "extensions": [1]},
                "originalUriBaseIds": [],
                "artifacts": {},
                "results": [
                    {
                        "ruleId": 7,
                        "ruleIndex": "0",
                        "rule": {"toolComponent": {"index": 9}},
                        "level": 3,
                        "message": "text",
                        "locations": [
                            None,
                            {"physicalLocation": {"artifactLocation": {"uri": 1}}},
                            {"physicalLocation": {"artifactLocation": {"index": 5}}},
                            physical("a.py", 0),
                        ],
                        "codeFlows": [{"threadFlows": [{"locations": [None, {"location": 3}]}]}],
                        "suppressions": [{"kind": "inSource"}],
                        "properties": None,
                    }
                ],
            },
            {},
        ],
    }
    only = parse(log)[0]
    assert only.finding.severity == "medium"
    assert only.path == "a.py"
    assert only.line is None
    assert "Flow:\n  1. (no location)\n  2. (no location)" in only.finding.evidence
    assert "Suppressed (inSource, no status)" in only.finding.evidence


def test_run_without_results_gives_none() -> None:
    assert parse({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}}]}) == []


def test_selector_hints_list_the_results_on_the_branchs_files_first() -> None:
    """A wrong --result lists valid selectors: those of the results on the files the fix
    branch changed come first, not the first five of the log."""
    results = [
        {"ruleId": f"r{n}", "message": {"text": "m"}, "locations": [physical(f"other{n}.py", 1)]}
        for n in range(7)
    ]
    results.append(
        {"ruleId": "r9", "message": {"text": "m"}, "locations": [physical("app/db.py", 3)]}
    )
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "S"}}, "results": results}]}
    parsed = parse(log)
    with pytest.raises(NotFoundError) as raised:
        select_result(parsed, "nope", SOURCE, {"app/db.py"})
    hint = str(raised.value.message).split("try one of: ")[1]
    assert hint.startswith("r9@app/db.py:3, r0@other0.py:1")
    with pytest.raises(NotFoundError) as raised:
        select_result(parsed, "nope", SOURCE)
    assert str(raised.value.message).split("try one of: ")[1].startswith("r0@other0.py:1")
