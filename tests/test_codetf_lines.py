"""A combined CodeTF run's line numbers, put back on the files as the scanner saw them
(fixreview/findings/codetf_lines.py): each result's lines are on the file the results before it
left, and a finding's lines must be the merge-base's."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from fixreview.findings.codetf import parse_codetf
from fixreview.findings.codetf_lines import MAX_LAYERS, DiffLayer, RunLines
from tests.cliutil import fixreview, one_error_line
from tests.gitutil import AI, TestRepo
from tests.test_importers_codetf import PYGOAT, document, load


def unified(before: str, after: str) -> str:
    """The diff a codemod writes (codemodder: difflib, ``---``/``+++`` with no names)."""
    return "".join(
        difflib.unified_diff(before.splitlines(True), after.splitlines(True), "", "", n=3)
    )


def result(codemod: str, path: str, before: str, after: str, *lines: int) -> dict[str, Any]:
    return {
        "codemod": codemod,
        "summary": f"{codemod} summary",
        "description": "d",
        "changeset": [
            {
                "path": path,
                "diff": unified(before, after),
                "changes": [
                    {"lineNumber": str(n), "diffSide": "right", "description": "c"} for n in lines
                ],
            }
        ],
    }


BASE = "".join(f"line {n}\n" for n in range(1, 41))


def test_one_diff_maps_its_new_side_onto_its_old_side() -> None:
    after = BASE.replace("line 3\n", "new a\nnew b\nline 3\n")  # 2 lines inserted before 3
    after = after.replace("line 20\n", "")  # line 20 removed
    after = after.replace("line 30\n", "LINE 30\nand more\n")  # line 30 replaced by 2
    layer = DiffLayer.read(unified(BASE, after))
    new = after.splitlines()
    expect = {
        "line 1": 1,
        "new a": 3,  # inserted: the line it was inserted before
        "new b": 3,
        "line 3": 3,
        "line 19": 19,
        "line 21": 21,  # after a removal, within the hunk and after it
        "line 27": 27,  # between two hunks
        "LINE 30": 30,  # a replacement: the line it replaced
        "and more": 30,
        "line 31": 31,
        "line 40": 40,  # after the last hunk
    }
    assert {text: layer.to_old(new.index(text) + 1) for text in expect} == expect


def test_a_diff_that_does_not_parse_moves_nothing() -> None:
    for garbage in ("", "not a diff", "--- \n+++ \n@@ -1,2 +1,900 @@\n+x\n", "@@ -x @@"):
        layer = DiffLayer.read(garbage)
        assert [layer.to_old(n) for n in (1, 5, 1000)] == [1, 5, 1000]


def test_a_combined_run_gives_each_result_the_base_lines() -> None:
    """The second codemod fixes line 30 of the base, which the first codemod's three new
    import lines moved to 33 by the time the second ran: the finding is at 30."""
    first = BASE.replace("line 1\n", "import a\nimport b\nimport c\nline 1\n")
    second = first.replace("line 30\n", "line 30 fixed\n")
    assert second.splitlines().index("line 30 fixed") + 1 == 33
    report = document(
        result("pixee:python/imports", "app.py", BASE, first, 1),
        result("pixee:python/fix", "app.py", first, second, 33),
        result("pixee:python/elsewhere", "other.py", BASE, BASE.replace("line 9", "x"), 9),
    )
    changes = parse_codetf(report, "run.json")
    assert [str(loc) for c in changes for loc in c.finding.locations] == [
        "app.py:1",
        "app.py:30",
        "other.py:9",  # another file: nothing earlier changed it
    ]


def test_a_fixed_findings_line_and_the_id_made_from_it_are_the_base_lines_too() -> None:
    first = BASE.replace("line 1\n", "import a\nimport b\nline 1\n")
    second = first.replace("line 30\n", "line 30 fixed\n")
    later = result("pixee:python/fix", "app.py", first, second, 32)
    uuid = "6f1c2a1e-0b1d-4c1e-9a37-6c1b6f0e2d11"  # random in every run: the id is made
    later["changeset"][0]["changes"][0]["fixedFindings"] = [
        {"id": uuid, "rule": {"id": "python.flask.xss", "name": "XSS"}}
    ]
    report = document(result("pixee:python/imports", "app.py", BASE, first, 1), later)
    finding = parse_codetf(report, "run.json")[1].finding
    assert finding.id == "python.flask.xss@app.py:30"
    assert [str(loc) for loc in finding.locations] == ["app.py:30"]


def test_the_real_pygoat_run_puts_a_later_codemods_lines_on_the_base() -> None:
    """pygoat's result 14 added `from security import safe_command` and a blank line after line
    41 of introduction/views.py before result 19 ran: its line 487 (`otpN=randint(100,999)`, the
    line its own diff removes) is the base's 486."""
    changes = load(PYGOAT)
    assert changes[19].codemod == "pixee:python/secure-random"
    own = json.loads(PYGOAT.read_bytes())["results"][19]["changeset"]
    [views] = [c for c in own if c["path"] == "introduction/views.py"]
    assert [c["lineNumber"] for c in views["changes"]] == ["487", "671"]
    assert "@@ -484,7 +484,7 @@" in views["diff"]  # 487 is the line it removes: the old side
    locations = [str(loc) for loc in changes[19].finding.locations]
    assert locations == ["introduction/views.py:486", "introduction/views.py:670"]


def test_a_line_is_undone_through_the_newest_layers_only() -> None:
    """Bounded whatever the report holds: MAX_LAYERS diffs of one file at most."""
    run = RunLines()
    text = BASE
    for n in range(MAX_LAYERS + 36):  # each inserts one line at the top
        grown = f"insert {n}\n" + text
        run.applied("app.py", DiffLayer.read(unified(text, grown)))
        text = grown
    line = text.splitlines().index("line 1") + 1
    assert line == MAX_LAYERS + 37
    assert run.to_base("app.py", line) == 37  # the 36 oldest insertions are not undone
    assert run.to_base("other.py", line) == line


def test_a_line_number_of_thousands_of_digits_is_no_line(tmp_path: Path) -> None:
    """Python refuses to make an int of more than 4,300 digits: a string of them was a crash,
    a JSON number of them one too (`propose` said "internal error")."""
    text = result("pixee:python/x", "app.py", BASE, BASE.replace("line 2", "x"), 2)
    text["changeset"][0]["changes"][0]["lineNumber"] = "9" * 5_000
    [change] = parse_codetf(document(text), "run.json")
    assert [str(loc) for loc in change.finding.locations] == ["app.py:1"]  # no usable line

    repo = TestRepo(tmp_path / "repo")
    repo.commit("base", {"app.py": BASE})
    repo.checkout("-b", "ai-fix/x")
    repo.commit("fix", {"app.py": BASE.replace("line 2", "x")}, who=AI)
    report = tmp_path / "run.json"
    number = document(result("pixee:python/x", "app.py", BASE, BASE, 2)).decode()
    report.write_text(number.replace('"lineNumber": "2"', '"lineNumber": ' + "9" * 5_000))
    proc = fixreview(repo, "propose", "ai-fix/x", "--codetf", str(report))
    assert one_error_line(proc) == (
        f"fixreview: error: {report}: not valid JSON: Exceeds the limit (4300 digits) for integer "
        "string conversion: value has 5000 digits"
    )


def test_a_v3_right_side_line_is_on_its_diffs_new_side() -> None:
    """The v3 schema, and its example (codemodder-specs' juice-shop report: an import added at
    13, the query on old line 36 replaced at new line 37), number a "right" line on the new
    side: it is put back on the old side first. A v2 report's lines are the old side's."""
    after = BASE.replace("line 13\n", "import q\nline 13\n").replace("line 36\n", "fixed 36\n")
    assert after.splitlines().index("fixed 36") + 1 == 37
    v3 = {
        "run": {"vendor": "pixee", "tool": "codemodder-python", "version": "0.1.0", "elapsed": 1},
        "fixes": [
            {
                "findingMetadata": {"id": "AY_oou", "rule": {"id": "S3649", "name": "SQLi"}},
                "fixMetadata": {"id": "sonar:sqli", "summary": "s", "description": "d"},
                "changesets": [
                    {
                        "path": "routes/login.ts",
                        "diff": unified(BASE, after),
                        "changes": [
                            {"lineNumber": 13, "description": "import", "diffSide": "right"},
                            {"lineNumber": 37, "description": "query", "diffSide": "RIGHT"},
                            {"lineNumber": 36, "description": "was", "diffSide": "left"},
                        ],
                    }
                ],
            }
        ],
    }
    [change] = parse_codetf(json.dumps(v3).encode(), "v3.json")
    assert [str(loc) for loc in change.finding.locations] == [
        "routes/login.ts:13",
        "routes/login.ts:36",
    ]
    v2 = document(result("pixee:python/x", "app.py", BASE, after, 37))
    assert [str(loc) for loc in parse_codetf(v2, "v2.json")[0].finding.locations] == ["app.py:37"]
