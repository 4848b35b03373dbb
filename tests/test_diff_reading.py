"""The fast reading of a diff's lines (fixreview.repo.diffs._hunk_lines, behind parse_diff)
gives exactly what unidiff's full parse gives (diffs._parse_in_full, the oracle), for git's own
diffs and for any text built from the pieces of a diff, odd ones included; where it cannot tell,
the full parse decides."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st
from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchSet

from fixreview.changes import final_diff
from fixreview.errors import InputError
from fixreview.queue import load_queue
from fixreview.repo import diffs
from fixreview.repo.git import Repository
from tests.gitutil import AI, TestRepo


def both(text: str) -> tuple[object, object]:
    """What the fast reading and the full parse make of TEXT (a Diff, or the error's text)."""

    def read(parse: object) -> object:
        try:
            return parse(text)  # type: ignore[operator]
        except InputError as error:
            return f"InputError: {error}"

    return read(diffs._parse.__wrapped__), read(diffs._parse_in_full)  # type: ignore[attr-defined]


def fast(text: str) -> bool:
    """Whether TEXT's lines are read by the fast reading (not handed to the full parse)."""
    try:
        patch = PatchSet(text, metadata_only=True)
    except UnidiffParseError:
        return False
    return diffs._hunk_lines(text, [h for item in patch for h in item]) is not None


def test_git_diffs_of_every_kind_are_read_fast_and_the_same(repo: TestRepo) -> None:
    repo.commit(
        "files",
        {
            "old.txt": "same\ncontent\nhere\n",
            "run.sh": "echo hi\n",
            "logo.bin": b"\x00\x01\x02",
            "gone.txt": "bye\n",
            "tail.txt": "no newline",
            "crlf.txt": "a\r\nb\r\n",
        },
    )
    repo.checkout("-b", "ai-fix/kinds")
    repo.write(
        {
            "logo.bin": b"\x00\x09\x02\x03",
            "gone.txt": None,
            "new.txt": "a\n\nb\n",
            "tail.txt": "still no newline",
            "crlf.txt": "a\r\nc\r\n",
            "app/db.py": "def query(sql):\n    return sql.strip()\n",
            "caf\u00e9.md": "@@ -1 +1 @@ not a header\n\\ not a marker\n",
        }
    )
    os.chmod(repo.path / "run.sh", 0o755)
    repo.git("mv", "old.txt", "renamed.txt")
    repo.commit("all kinds", who=AI)
    r = Repository(repo.path)
    text = final_diff(r, load_queue(r).get("ai-fix/kinds")).raw
    assert "GIT binary patch" in text and "\\ No newline at end of file" in text
    assert fast(text)
    quick, full = both(text)
    assert quick == full


def test_a_no_newline_marker_after_a_hunk_belongs_to_it() -> None:
    text = (
        "diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
        "\\ No newline at end of file\n"
    )
    assert fast(text)
    quick, full = both(text)
    assert quick == full
    assert isinstance(quick, diffs.Diff)
    assert [line.kind for line in quick.files[0].hunks[0].lines] == ["-", "+", "\\"]


def test_shapes_the_fast_reading_leaves_to_the_full_parse() -> None:
    """A bare newline right after a hunk (unidiff adds it to the hunk), a hunk that asks for
    no line, an ``@`` line that is no hunk header: the full parse decides, and the answers
    are the same."""
    head = "diff --git a/x b/x\n--- a/x\n+++ b/x\n"
    for text in (
        head + "@@ -1 +1 @@\n-a\n+b\n\n",
        head + "@@ -0,0 +0,0 @@\n+b\n",
        head + "@@@ -1 +1 @@\n-a\n+b\n",
        head + "@@ -1 +1 @@\n-a\n+b\n+++ b/x\n\n",
    ):
        assert not fast(text), text
        quick, full = both(text)
        assert quick == full, text


# the pieces of a diff, odd ones among them, that the texts below are made of
HEADERS = st.sampled_from(
    [
        "diff --git a/x b/x\n",
        "diff --git a/y b/z\n",
        "index 1234567..89abcde 100644\n",
        "new file mode 100644\n",
        "deleted file mode 100644\n",
        "old mode 100644\nnew mode 100755\n",
        "similarity index 90%\nrename from y\nrename to z\n",
        "--- a/x\n",
        "+++ b/x\n",
        "--- /dev/null\n",
        "+++ /dev/null\n",
        "Binary files a/x and b/x differ\n",
        "GIT binary patch\nliteral 5\nMcmZQzU|?Wi00RI30RR91\n\n",
        "\\ No newline at end of file\n",
        "\\ something else\n",
        "\n",
        "@@@ -1,2 -1,2 +1,2 @@@\n",
        "junk\n",
    ]
)
TEXTS = st.text(st.sampled_from(["a", " ", "\r", "@", "\\", "+", "-", "\u00e9", "\t"]), max_size=6)


@st.composite
def hunks(draw: st.DrawFn) -> str:
    old_start, new_start = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    body = draw(
        st.lists(
            st.tuples(st.sampled_from(["+", "-", " "] * 4 + ["\\", "", "\r", "@", "x"]), TEXTS),
            max_size=8,
        )
    )
    off = st.sampled_from([0] * 8 + [-1, 1])  # a count that is wrong, now and then
    old = sum(kind in ("-", " ", "", "\r") for kind, _ in body) + draw(off)
    new = sum(kind in ("+", " ", "", "\r") for kind, _ in body) + draw(off)
    counts = draw(
        st.sampled_from(
            [f"-{old_start},{max(old, 0)} +{new_start},{max(new, 0)}", f"-{old_start} +{new_start}"]
        )
    )
    section = draw(st.sampled_from(["", " def f():", "  two spaces", "\ttab"]))
    lines = "".join(f"{kind}{text}\n" for kind, text in body)
    return f"@@ {counts} @@{section}\n{lines}"


EXTRAS = st.sampled_from(
    [
        "index 1234567..89abcde 100644\n",
        "new file mode 100644\n",
        "old mode 100644\nnew mode 100755\n",
        "similarity index 90%\nrename from y\nrename to x\n",
    ]
)
ODD = st.sampled_from(
    [
        "\\ No newline at end of file\n",
        "\\ No newline at end of file, and more\n",
        "\\ something else\n",
        "\n",
        "+++ b/x\n",
        "--- a/x\n",
        "@@@ -1,2 -1,2 +1,2 @@@\n",
        "@ at the start\n",
        "junk\n",
        "GIT binary patch\nliteral 5\nMcmZQzU|?Wi00RI30RR91\n\n",
    ]
)


@st.composite
def files(draw: st.DrawFn) -> str:
    """One file of a diff as git writes one, hunks and odd lines in any order after it."""
    extras = "".join(draw(st.lists(EXTRAS, max_size=2)))
    body = "".join(draw(st.lists(st.one_of(hunks(), hunks(), hunks(), ODD), max_size=5)))
    return f"diff --git a/x b/x\n{extras}--- a/x\n+++ b/x\n{body}"


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(
        st.lists(files(), min_size=1, max_size=4),
        st.lists(st.one_of(HEADERS, hunks()), min_size=1, max_size=12),
    ),
    st.booleans(),
)
def test_any_text_is_read_as_the_full_parse_reads_it(pieces: list[str], cut: bool) -> None:
    text = "".join(pieces)
    if cut:
        text = text.removesuffix("\n")  # a last line without its newline
    quick, full = both(text)
    assert quick == full


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["+", "-", " "]),
            st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=12),
        ),
        min_size=1,
        max_size=30,
    ),
    st.booleans(),
)
def test_well_formed_hunks_are_read_fast(body: list[tuple[str, str]], marker: bool) -> None:
    """A hunk as git writes it, whatever its lines hold ("\\r", "@@", control characters):
    read fast, and the same."""
    old = sum(kind != "+" for kind, _ in body)
    new = sum(kind != "-" for kind, _ in body)
    text = (
        "diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n"
        f"@@ -1,{old} +1,{new} @@\n" + "".join(f"{kind}{line}\n" for kind, line in body)
    )
    if marker:
        text += "\\ No newline at end of file\n"
    if old == 0 and new == 0:
        return
    assert fast(text)
    quick, full = both(text)
    assert quick == full
