"""Final diff, suggestion and human changes: binaries, renames, modes, deletions, rebases."""

from __future__ import annotations

import os

from fixreview.changes import final_diff, human_changes, suggestion_diff
from fixreview.models import Finding
from fixreview.proposals import propose
from fixreview.queue import load_queue
from fixreview.repo.diffs import parse_diff
from fixreview.repo.git import Repository
from tests.gitutil import AI, HUMAN, TestRepo


def test_every_kind_of_file_change_is_parsed(repo: TestRepo) -> None:
    repo.commit(
        "more files",
        {
            "old.txt": "same\ncontent\nhere\n",
            "run.sh": "echo hi\n",
            "logo.bin": b"\x00\x01\x02",
            "gone.txt": "bye\n",
        },
    )
    repo.checkout("-b", "ai-fix/kinds")
    repo.write(
        {
            "logo.bin": b"\x00\x09\x02\x03",
            "gone.txt": None,
            "new.txt": "a\nb\n",
            "app/db.py": "def query(sql):\n    return sql.strip()\n",
        }
    )
    os.chmod(repo.path / "run.sh", 0o755)
    repo.git("mv", "old.txt", "renamed.txt")
    repo.commit("all kinds", who=AI)
    repo.checkout("main")
    r = Repository(repo.path)
    fix = load_queue(r).get("ai-fix/kinds")
    diff = final_diff(r, fix)
    by_path = {f.path: f for f in diff.files}
    assert by_path["logo.bin"].binary and by_path["logo.bin"].status == "modified"
    assert by_path["gone.txt"].status == "deleted" and by_path["gone.txt"].removed == 1
    assert by_path["new.txt"].status == "added" and by_path["new.txt"].added == 2
    assert by_path["run.sh"].status == "mode-changed"
    assert (by_path["run.sh"].old_mode, by_path["run.sh"].new_mode) == ("100644", "100755")
    renamed = by_path["renamed.txt"]
    assert renamed.status == "renamed" and renamed.old_path == "old.txt"
    hunk = by_path["app/db.py"].hunks[0]
    assert [(line.kind, line.old_no, line.new_no) for line in hunk.lines] == [
        (" ", 1, 1),
        ("-", 2, None),
        ("+", None, 2),
    ]
    assert hunk.lines[2].text == "    return sql.strip()"
    assert "GIT binary patch" in diff.raw  # the raw text is the exact --binary diff
    assert fix.stats.files == len(diff.files) == 6


def test_no_newline_at_end_of_file_marker() -> None:
    diff = parse_diff(
        "diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n"
        "\\ No newline at end of file\n+b\n"
    )
    kinds = [line.kind for line in diff.files[0].hunks[0].lines]
    assert kinds == ["-", "\\", "+"]


def test_human_changes_after_a_rebase_reapply_the_frozen_patch(repo: TestRepo) -> None:
    repo.commit("base", {"app/cmd.py": "import os\n\ndef run(x):\n    os.system('convert ' + x)\n"})
    repo.checkout("-b", "ai-fix/cmd")
    repo.commit(
        "Quote the argument",
        {
            "app/cmd.py": (
                "import os\nimport shlex\n\n"
                "def run(x):\n    os.system('convert ' + shlex.quote(x))\n"
            )
        },
        who=AI,
    )
    r = Repository(repo.path)
    propose(r, "ai-fix/cmd", Finding(id="SEC-2", severity="critical"))
    repo.commit(
        "No shell at all",
        {
            "app/cmd.py": (
                "import subprocess\n\ndef run(x):\n    subprocess.run(['convert', x], check=True)\n"
            )
        },
        who=HUMAN,
    )
    repo.checkout("main")
    repo.commit("unrelated", {"README.md": "moved on\n"})
    repo.checkout("ai-fix/cmd")
    repo.git("rebase", "-q", "main")
    repo.checkout("main")
    fix = load_queue(r).get("ai-fix/cmd")
    assert (
        fix.suggestion is not None and repo.git("branch", "--contains", fix.suggestion.commit) == ""
    )
    suggestion = suggestion_diff(r, fix)
    assert suggestion is not None and suggestion.added == 2
    people = human_changes(r, fix)
    assert "re-applied" in people.how
    assert people.diff is not None
    added = [
        ln.text for f in people.diff.files for h in f.hunks for ln in h.lines if ln.kind == "+"
    ]
    assert "    subprocess.run(['convert', x], check=True)" in added
    assert "README.md" not in people.diff.paths()  # the base moving on is not a human change


def test_quoted_non_ascii_paths_are_decoded(repo: TestRepo) -> None:
    repo.checkout("-b", "ai-fix/unicode")
    repo.commit("names", {"docs/café.md": "a\n", "sp ace.txt": "b\n"}, who=AI)
    repo.checkout("main")
    r = Repository(repo.path)
    diff = final_diff(r, load_queue(r).get("ai-fix/unicode"))
    assert sorted(diff.paths()) == ["docs/café.md", "sp ace.txt"]
    assert diff.file("docs/café.md") is not None


def test_an_unchanged_ai_patch_is_the_final_diff_itself_not_a_second_parse(repo: TestRepo) -> None:
    """A fix the AI's patch alone makes: its suggestion view shows the final diff's very parse
    (a long diff is parsed once); once a person changes the fix, the patch is parsed apart."""
    repo.checkout("-b", "ai-fix/cmd")
    repo.commit("Quote it", {"app/db.py": "def query(sql):\n    return quote(sql)\n"}, who=AI)
    r = Repository(repo.path)
    propose(r, "ai-fix/cmd", Finding(id="SEC-2", severity="critical"))
    repo.checkout("main")
    fix = load_queue(r).get("ai-fix/cmd")
    final = final_diff(r, fix)
    assert suggestion_diff(r, fix, final) is final
    assert suggestion_diff(r, fix) == final  # what a parse of its own gives: equal
    repo.checkout("ai-fix/cmd")
    repo.commit("Not quote: bind", {"app/db.py": "def query(sql):\n    return bind(sql)\n"})
    repo.checkout("main")
    fix = load_queue(r).get("ai-fix/cmd")
    final = final_diff(r, fix)
    suggestion = suggestion_diff(r, fix, final)
    assert suggestion is not None and suggestion is not final
    assert suggestion.raw != final.raw
