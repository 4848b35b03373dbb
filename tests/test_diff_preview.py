"""The beginning of a long diff, shown while the whole is parsed (``diff_preview``): at every
cut, it is exactly a prefix of the whole diff's files and lines, and it says how long the whole
is."""

from __future__ import annotations

from fixreview.repo.diffs import Diff, DiffLine, diff_preview, parse_diff
from tests.gitutil import TestRepo


def _lines(diff: Diff) -> list[tuple[str, list[DiffLine]]]:
    return [(f.path, [line for h in f.hunks for line in h.lines]) for f in diff.files]


def _varied_diff(repo: TestRepo) -> str:
    """A real git diff with several files and hunks: edits, a one-line hunk (git leaves its
    counts out), an added file, a deleted one, a binary one, a mode change, and a file whose
    last line has no newline."""
    long = "".join(f"line {i}\n" for i in range(60))
    repo.commit(
        "base",
        {
            "a.py": long,
            "b.txt": "one\n",
            "gone.txt": "bye\nnow\n",
            "blob.bin": b"\x00\x01",
            "tail.txt": "x\ny",
            "run.sh": "echo\n",
        },
    )
    repo.write(
        {
            "a.py": long.replace("line 3\n", "LINE 3\n").replace("line 40\n", "l40\nnew\n"),
            "b.txt": "two\n",
            "gone.txt": None,
            "blob.bin": b"\x00\x02\x03",
            "added.md": "# title\n\ntext\n",
            "tail.txt": "x\nz",
        }
    )
    (repo.path / "run.sh").chmod(0o755)
    repo.commit("change")
    return repo.git("diff", "--binary", "--full-index", "HEAD~1", "HEAD")


def test_every_cut_is_a_prefix_of_the_whole(repo: TestRepo) -> None:
    text = _varied_diff(repo)
    whole = parse_diff(text)
    total = text.count("\n")
    full = _lines(whole)
    previews = 0
    for cut in range(1, total + 3):
        preview = diff_preview(text, cut)
        if cut >= total:
            assert preview is None  # short enough to parse whole
            continue
        if preview is None:
            continue
        previews += 1
        assert preview.partial and preview.total_lines == total
        shown = _lines(preview)
        assert shown, cut
        assert len(shown) <= len(full)
        for (path, lines), (whole_path, whole_lines) in zip(shown[:-1], full, strict=False):
            assert (path, lines) == (whole_path, whole_lines), cut
        path, lines = shown[-1]
        whole_path, whole_lines = full[len(shown) - 1]
        assert path == whole_path and lines == whole_lines[: len(lines)], cut
        assert preview.raw.count("\n") <= cut
    assert previews > total // 2  # most cuts do give a preview


def test_a_cut_before_the_first_hunk_gives_no_preview(repo: TestRepo) -> None:
    text = _varied_diff(repo)
    first_hunk = next(i for i, line in enumerate(text.split("\n")) if line.startswith("@@ "))
    for cut in range(1, first_hunk + 1):
        assert diff_preview(text, cut) is None


def test_a_huge_single_hunk_is_cut_with_its_counts_rewritten(repo: TestRepo) -> None:
    repo.commit("base", {"gen.py": "".join(f"old {i}\n" for i in range(5000))})
    repo.write({"gen.py": "".join(f"new {i}\n" for i in range(5000))})
    repo.commit("regenerate")
    text = repo.git("diff", "HEAD~1", "HEAD")
    whole = parse_diff(text)
    assert len(whole.files[0].hunks) == 1
    preview = diff_preview(text, 300)
    assert preview is not None and preview.total_lines == text.count("\n")
    (hunk,) = preview.files[0].hunks
    removed = sum(1 for line in hunk.lines if line.kind == "-")
    assert (hunk.old_length, hunk.new_length) == (removed, len(hunk.lines) - removed)
    assert list(hunk.lines) == list(whole.files[0].hunks[0].lines[: len(hunk.lines)])
    assert not whole.partial
