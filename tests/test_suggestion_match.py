"""The AI's suggestion found by its content: `propose --codetf` matches the codemod's own diff
(Pixee's codemodder output for pygoat, tests/fixtures/codetf) against the branch's commits, so
a person's commit after the bot's shows as a human change; a report whose change is in no commit,
or whose files are not the branch's, is refused in one line. Real git, the command line."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from fixreview.findings.sarif import Replacement
from fixreview.repo.git import Repository
from fixreview.suggestion_match import Mismatch, edited, locate, producer_changes
from tests.cliutil import fixreview
from tests.gitutil import AI, HUMAN, TestRepo

PYGOAT = Path(__file__).parent / "fixtures" / "codetf" / "pygoat.codetf.json"
DEBUG_OFF = 1  # results[1]: pixee:python/django-debug-flag-on, one hunk of pygoat/settings.py


def sides(diff: str) -> tuple[str, str]:
    """The file before and after a one-file unified DIFF, filler lines where it has none."""
    old: list[str] = []
    new: list[str] = []
    in_hunk = False
    for line in diff.splitlines():
        if line.startswith("@@"):
            start = int(line.split()[1].lstrip("-").split(",")[0])
            while len(old) < start - 1:
                filler = f"# line {len(old) + 1}"
                old.append(filler)
                new.append(filler)
            in_hunk = True
        elif in_hunk and line[:1] in (" ", "-", "+"):
            if line[0] != "+":
                old.append(line[1:])
            if line[0] != "-":
                new.append(line[1:])
    return "".join(f"{x}\n" for x in old), "".join(f"{x}\n" for x in new)


@pytest.fixture
def settings_diff() -> str:
    result = json.loads(PYGOAT.read_text())["results"][DEBUG_OFF]
    [changeset] = result["changeset"]
    assert changeset["path"] == "pygoat/settings.py"
    return str(changeset["diff"])


def branch(
    repo: TestRepo,
    before: str,
    *commits: tuple[str, dict[str, str | bytes | None], tuple[str, str]],
) -> list[str]:
    """main with pygoat/settings.py as BEFORE; ai-fix/debug with COMMITS on top."""
    repo.commit("pygoat settings", {"pygoat/settings.py": before})
    repo.checkout("-b", "ai-fix/debug")
    made = [repo.commit(message, files, who=who) for message, files, who in commits]
    repo.checkout("main")
    return made


def propose(repo: TestRepo, *more: str) -> tuple[int, str, str]:
    proc = fixreview(
        repo, "propose", "ai-fix/debug", "--codetf", str(PYGOAT), "--result", str(DEBUG_OFF), *more
    )
    return proc.returncode, proc.stdout, proc.stderr


def shown(repo: TestRepo) -> dict[str, object]:
    proc = fixreview(repo, "show", "ai-fix/debug", "--json")
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def test_the_codemods_commit_is_the_suggestion_and_a_later_human_commit_a_human_change(
    repo: TestRepo, settings_diff: str
) -> None:
    before, after = sides(settings_diff)
    touched = after.replace("# line 1\n", "# reviewed by a person\n")
    ai, _ = branch(
        repo,
        before,
        ("Disable DEBUG (codemod)", {"pygoat/settings.py": after}, AI),
        ("Note the review", {"pygoat/settings.py": touched}, HUMAN),
    )
    code, out, err = propose(repo)
    assert code == 0, err
    assert out.strip().endswith(f"at {ai[:12]}")
    doc = shown(repo)
    assert doc["suggestion"]["commit"] == ai  # type: ignore[index]
    human = doc["human_changes"]["diff"]  # type: ignore[index]
    assert (human["added"], human["removed"]) == (1, 1), human
    assert "diverges-from-suggestion" in {f["id"] for f in doc["risk_flags"]}  # type: ignore[union-attr]


def test_a_change_in_no_commit_is_refused_unless_named_or_forced(
    repo: TestRepo, settings_diff: str
) -> None:
    before, after = sides(settings_diff)
    other = after.replace("DEBUG = False", "DEBUG = os.environ.get('DEBUG') == '1'")
    (head,) = branch(repo, before, ("Make DEBUG configurable", {"pygoat/settings.py": other}, AI))
    code, _, err = propose(repo)
    assert code == 2
    assert err.strip().splitlines() == [
        "fixreview: error: ai-fix/debug: the producer's change to pygoat/settings.py is in no "
        "commit of the branch (1 searched); name the AI's commit with --commit, or --force to "
        "record the proposal at the head"
    ]
    assert repo.git("notes", "--ref=fixreview/proposals", "list").strip() == ""
    code, out, err = propose(repo, "--force")
    assert code == 0, err
    assert out.strip().endswith(f"at {head[:12]}")
    # forced, the proposal says why (schema 3), and the fix carries the blocking flag
    note = repo.git("notes", "--ref=fixreview/proposals", "show", head)
    payload = base64.urlsafe_b64decode(note.split(" ")[1]).decode()
    assert "schema = 3" in payload and "unmatched = " in payload
    [flag] = [f for f in shown(repo)["risk_flags"] if f["id"] == "suggestion-mismatch"]  # type: ignore[union-attr]
    assert flag["level"] == "block"
    assert flag["title"] == "The producer's change is in no commit of the branch (forced)"
    assert "to pygoat/settings.py is in no commit of the branch" in flag["detail"]
    # the AI's commit named by a person: a schema-2 proposal, and no flag
    code, out, err = propose(repo, "--commit", head)
    assert code == 0, err
    assert "suggestion-mismatch" not in {f["id"] for f in shown(repo)["risk_flags"]}  # type: ignore[union-attr]


def test_a_report_about_other_files_is_refused(repo: TestRepo, settings_diff: str) -> None:
    before, _ = sides(settings_diff)
    branch(repo, before, ("Unrelated", {"app/views.py": "x = 1\n"}, AI))
    code, _, err = propose(repo)
    assert code == 2
    assert (
        "the producer changed pygoat/settings.py, which the branch does not change "
        "(it changes app/views.py)" in err
    )


def test_producer_diffs_are_read_from_their_hunks_only() -> None:
    diff = "--- \n+++ \n@@ -1,3 +1,3 @@\n keep\n-old  \n+++new\n+--also\n"
    [change] = producer_changes([("./app/x.py", diff), ("empty.py", "--- \n+++ \n")])
    assert change.path == "app/x.py"
    assert change.removed == ("old",) and change.added == ("++new", "--also")


# -- a SARIF result's fixes ------------------------------------------------------------------

DB_BEFORE = "import db\n\n\ndef find(a):\n    return db.run(f'select {a}')\n"
DB_FIXED = "import db\n\n\ndef find(a):\n    return db.run('select %s', (a,))\n"


def sarif_with_fix(tmp_path: Path, replacement: dict[str, object]) -> Path:
    """A one-result SARIF log whose result proposes REPLACEMENT in app/db.py."""
    result = {
        "ruleId": "py/sql-injection",
        "level": "error",
        "message": {"text": "This query depends on a user-provided value."},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": "app/db.py"},
                    "region": {"startLine": 5},
                }
            }
        ],
        "fixes": [
            {
                "description": {"text": "Use a parameter"},
                "artifactChanges": [
                    {"artifactLocation": {"uri": "app/db.py"}, "replacements": [replacement]}
                ],
            }
        ],
    }
    log = {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "Scanner"}}, "results": [result]}],
    }
    path = tmp_path / "scan.sarif"
    path.write_text(json.dumps(log))
    return path


WHOLE_LINE = {
    "deletedRegion": {"startLine": 5},
    "insertedContent": {"text": "    return db.run('select %s', (a,))"},
}


def test_a_sarif_fix_finds_its_commit_too(repo: TestRepo, tmp_path: Path) -> None:
    repo.commit("db", {"app/db.py": DB_BEFORE})
    repo.checkout("-b", "ai-fix/db")
    ai = repo.commit("Parameterize (autofix)", {"app/db.py": DB_FIXED}, who=AI)
    repo.commit("Note", {"app/db.py": "# reviewed\n" + DB_FIXED}, who=HUMAN)
    repo.checkout("main")
    scan = sarif_with_fix(tmp_path, WHOLE_LINE)
    proc = fixreview(repo, "propose", "ai-fix/db", "--sarif", str(scan), "--result", "0")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(f"at {ai[:12]}")
    # a fix the branch does not make: refused, as for CodeTF
    other = sarif_with_fix(
        tmp_path,
        {"deletedRegion": {"startLine": 5}, "insertedContent": {"text": "    return None"}},
    )
    proc = fixreview(repo, "propose", "ai-fix/db", "--sarif", str(other), "--result", "0")
    assert proc.returncode == 2 and "is in no commit of the branch" in proc.stderr


def test_replacements_by_column_by_offset_and_overlapping() -> None:
    base = "one\ntwo\nthree\n"

    def replace(**fields: object) -> Replacement:
        values: dict[str, object] = {
            "start_line": None,
            "start_column": 1,
            "end_line": None,
            "end_column": None,
            "char_offset": None,
            "char_length": 0,
            "inserted": "",
        }
        values.update(fields)
        return Replacement(**values)  # type: ignore[arg-type]

    assert edited(base, [replace(start_line=2, end_line=2, inserted="TWO")]) == "one\nTWO\nthree\n"
    by_column = replace(start_line=3, start_column=2, end_line=3, end_column=4, inserted="HR")
    assert edited(base, [by_column]) == "one\ntwo\ntHRee\n"
    assert edited(base, [replace(char_offset=4, char_length=3, inserted="2")]) == "one\n2\nthree\n"
    insertion = replace(start_line=1, start_column=1, end_line=1, end_column=1, inserted="zero\n")
    assert edited(base, [insertion]) == "zero\none\ntwo\nthree\n"
    overlapping = [replace(char_offset=0, char_length=5), replace(char_offset=2, char_length=1)]
    assert edited(base, overlapping) is None
    assert edited(base, [replace(start_line=9, end_line=9)]) is None


def test_the_search_keeps_no_diff_and_reads_report_paths_literally(repo: TestRepo) -> None:
    """Each commit's diff of the producer's files is read once and not kept (a hostile branch of
    many large commits cannot fill memory); a path from the report is a path, never pathspec
    magic."""
    repo.commit("db", {"app/db.py": DB_BEFORE})
    base = repo.rev("HEAD")
    repo.checkout("-b", "ai-fix/db")
    commits = [repo.commit(f"step {n}", {"app/db.py": DB_BEFORE + f"# {n}\n"}) for n in range(3)]
    repo.checkout("main")
    r = Repository(repo.path)
    wanted = producer_changes([("app/db.py", "@@ -1 +1 @@\n-nothing\n+never\n")])
    found = locate(r, base, commits[-1], wanted)
    assert isinstance(found, Mismatch) and "(3 searched)" in found.reason
    assert not any(r.has_diff(base, oid) for oid in commits)
    magic = producer_changes([(":(exclude)nothing", "@@ -1 +1 @@\n-a\n+b\n")])
    found = locate(r, base, commits[-1], magic)
    assert isinstance(found, Mismatch)
    assert found.reason.startswith("the producer changed :(exclude)nothing, which the branch")
