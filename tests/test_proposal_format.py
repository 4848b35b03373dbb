"""The stored form of a proposal (docs/format.md): schema 2 carries the frozen patch as the line's
own base64url field, named by the payload's ``patch_sha256`` and ``patch_bytes``; schema-1 records
(the patch inside the TOML) still read; any mix of the two, or a field the payload does not name,
is a reported bad record that never breaks the queue. And ``check_proposal`` accepts exactly the
patches ``parse_diff`` accepts."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fixreview.models import Finding, Proposal, Suggestion
from fixreview.notes.proposal_codec import proposal_from_record
from fixreview.notes.records import (
    MAX_LINE_BYTES,
    TAG_PROPOSAL,
    RawRecord,
    b64decode,
    b64encode,
    encode_line,
    model_to_toml,
    parse_line,
    parse_note,
    toml_to_model,
)
from fixreview.notes.store import PROPOSALS_REF, append_record
from fixreview.proposals import proposal_line, propose
from fixreview.queue import _read_proposals, check_proposal, load_queue
from fixreview.repo.diffs import parse_diff
from fixreview.repo.git import Repository
from tests.gitutil import AI, TestRepo

FAST = settings(max_examples=150, deadline=None, database=None)

PATCH = (
    "diff --git a/app/db.py b/app/db.py\n"
    "index 1111111111111111111111111111111111111111..2222222222222222222222222222222222222222"
    " 100644\n"
    "--- a/app/db.py\n"
    "+++ b/app/db.py\n"
    "@@ -1,2 +1,2 @@\n"
    '-def query(sql):\n+def query(sql, args):  # "quoted" \\ back\tslash é \x1b[31m\r\n'
    "     return sql\n"
)


def _proposal(patch: str = PATCH, schema: int = 2, **suggestion: str) -> Proposal:
    return Proposal.model_validate(
        {
            "schema": schema,
            "id": "p-1",
            "branch": "ai-fix/sqli",
            "recorded": datetime(2026, 10, 1, tzinfo=UTC),
            "finding": Finding(id="SEC-1", severity="high", evidence="a\nb"),
            "suggestion": Suggestion(commit="c" * 40, base="b" * 40, patch=patch, **suggestion),
        }
    )


def _record(line: str) -> RawRecord:
    parsed = parse_line("a" * 40, 1, line.encode())
    assert isinstance(parsed, RawRecord), parsed
    return parsed


def _decode(line: str) -> Proposal:
    return proposal_from_record(_record(line))


def _payload(line: str) -> bytes:
    return b64decode(line.split(" ")[1])


def _with_payload(line: str, payload: bytes) -> str:
    fields = line.split(" ")
    return " ".join([fields[0], b64encode(payload), *fields[2:]])


# -- the stored form --------------------------------------------------------------------------


def test_round_trip_keeps_the_patch_out_of_the_toml() -> None:
    proposal = _proposal()
    line = proposal_line(proposal)
    tag, payload, field = line.split(" ")
    assert tag == "proposal"
    assert b64decode(field) == PATCH.encode()
    text = b64decode(payload).decode()
    assert "schema = 2" in text and "patch =" not in text and "diff --git" not in text
    assert f'patch_sha256 = "{hashlib.sha256(PATCH.encode()).hexdigest()}"' in text
    assert f"patch_bytes = {len(PATCH.encode())}" in text
    assert _decode(line) == proposal
    records, bad = parse_note("a" * 40, f"{line}\n{line}\n".encode())
    assert bad == [] and [proposal_from_record(r) for r in records] == [proposal, proposal]


def test_an_empty_patch_has_no_field_and_round_trips() -> None:
    proposal = _proposal(patch="")
    line = proposal_line(proposal)
    assert len(line.split(" ")) == 2 and b"patch_bytes = 0" in _payload(line)
    assert _decode(line) == proposal


def test_proposal_line_writes_schema_2_whatever_the_model_says() -> None:
    old = _proposal(schema=1)
    assert _decode(proposal_line(old)) == old.model_copy(update={"schema_version": 2})


def test_an_unmatched_suggestion_is_written_as_schema_3_and_read_back() -> None:
    forced = _proposal(schema=3, unmatched="the producer's change to a.py is in no commit")
    line = proposal_line(forced)
    assert b"schema = 3\n" in _payload(line)
    assert b'unmatched = "the producer' in _payload(line)
    assert _decode(line) == forced
    # without the reason, schema 2, and no such key: a schema-2 reader reads it
    assert b"unmatched" not in _payload(GOOD) and b"schema = 2\n" in _payload(GOOD)


def test_a_schema_2_payload_with_an_unmatched_reason_is_refused() -> None:
    """Written by hand (proposals are unsigned): the key belongs to schema 3 only, as a reader of
    schema 2 would refuse it as an unknown key."""
    line = proposal_line(_proposal(schema=3, unmatched="no commit holds it"))
    downgraded = _replace_in_payload(line, b"schema = 3\n", b"schema = 2\n")
    with pytest.raises(ValueError, match=r"suggestion\.unmatched: unknown key in a schema-2"):
        _decode(downgraded)
    assert _decode(line).suggestion.unmatched == "no commit holds it"
    # and schema 3 is only ever an unmatched proposal: without its reason, refused
    bare = _replace_in_payload(proposal_line(_proposal()), b"schema = 2\n", b"schema = 3\n")
    with pytest.raises(ValueError, match=r"suggestion\.unmatched: missing"):
        _decode(bare)


@FAST
@given(st.text(max_size=300))
@example("\u2028\x85\r\n\x00\ud7ff\U0010ffff")
def test_any_patch_text_round_trips(patch: str) -> None:
    proposal = _proposal(patch=patch)
    assert _decode(proposal_line(proposal)).suggestion.patch == patch


def test_an_older_reader_refuses_a_schema_2_record_instead_of_misreading_it() -> None:
    """What this version's predecessor did with a line: a proposal had 2 fields, and its payload
    was Proposal as TOML (schema 1, no patch_sha256)."""
    line = proposal_line(_proposal())
    assert len(line.split(" ")) == 3  # refused as "a proposal record has 2 fields"
    for payload in (_payload(line), _payload(proposal_line(_proposal(patch="")))):
        with pytest.raises(ValueError, match="patch_sha256: unknown key"):
            toml_to_model(payload, Proposal)


# -- schema 1, as the previous version wrote it -------------------------------------------------


def _schema_1_line(proposal: Proposal) -> str:
    """``propose`` before schema 2: ``encode_line(TAG_PROPOSAL, model_to_toml(proposal))``."""
    assert proposal.schema_version == 1
    line = encode_line(TAG_PROPOSAL, model_to_toml(proposal))
    assert len(line.split(" ")) == 2
    assert b"schema = 1\n" in _payload(line) and b'patch = "diff --git' in _payload(line)
    return line


def test_a_schema_1_record_still_reads() -> None:
    old = _proposal(schema=1)
    assert _decode(_schema_1_line(old)) == old
    without_schema = _payload(_schema_1_line(old)).replace(b"schema = 1\n", b"")
    assert _decode(encode_line(TAG_PROPOSAL, without_schema)) == old


def test_a_schema_1_record_written_in_a_repository_still_links_its_fix(
    fixes: tuple[TestRepo, str],
) -> None:
    repo, _ = fixes
    r = Repository(repo.path)
    head = repo.rev("ai-fix/other")
    patch = repo.git("diff", "--binary", "--full-index", "main", head)
    old = _proposal(schema=1, patch=patch).model_copy(update={"branch": "ai-fix/other"})
    old.suggestion.commit = head
    append_record(r, PROPOSALS_REF, head, _schema_1_line(old))
    queue = load_queue(r)
    fix = queue.get("ai-fix/other")
    assert fix.source == "note" and fix.proposal_id == old.id
    assert fix.suggestion is not None and fix.suggestion.patch == patch
    assert queue.warnings == []


# -- refused records ----------------------------------------------------------------------------


def _refused(line: str, reason: str) -> None:
    parsed = parse_line("a" * 40, 1, line.encode())
    if not isinstance(parsed, RawRecord):  # refused by the line format itself
        assert parsed is not None and reason in parsed.reason, parsed
        return
    with pytest.raises(ValueError, match=re.escape(reason)):
        proposal_from_record(parsed)


def _replace_in_payload(line: str, old: bytes, new: bytes) -> str:
    payload = _payload(line)
    assert old in payload
    return _with_payload(line, payload.replace(old, new))


GOOD = proposal_line(_proposal())
OTHER = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
SHA = hashlib.sha256(PATCH.encode()).hexdigest()
SIZE = len(PATCH.encode())


REFUSED = [
    # a patch field that is not the one the payload names
    (GOOD.rsplit(" ", 1)[0] + " " + b64encode(OTHER.encode()), "patch field holds"),
    (
        _replace_in_payload(
            GOOD.rsplit(" ", 1)[0] + " " + b64encode(OTHER.encode()),
            f"patch_bytes = {SIZE}".encode(),
            f"patch_bytes = {len(OTHER)}".encode(),
        ),
        "does not match suggestion.patch_sha256",
    ),
    # the patch in the TOML as well (or only there), under schema 2
    (
        _replace_in_payload(GOOD, b"[suggestion]\n", b'[suggestion]\npatch = "diff"\n'),
        "suggestion.patch: a schema-2 proposal carries its patch",
    ),
    (encode_line(TAG_PROPOSAL, model_to_toml(_proposal())), "suggestion.patch: a schema-2"),
    # no patch field although the payload names one
    (GOOD.rsplit(" ", 1)[0], "the patch field is missing (suggestion.patch_bytes names"),
    # two patch fields, a field that is not base64url
    (GOOD + " " + GOOD.split(" ")[2], "2 or 3 fields, not 4"),
    (GOOD.rsplit(" ", 1)[0] + " !!!not-base64!!!", "not base64url"),
    (GOOD.rsplit(" ", 1)[0] + " QUJ", "not base64url"),
    # a schema-1 record with a patch field
    (_schema_1_line(_proposal(schema=1)) + " " + GOOD.split(" ")[2], "has no patch field"),
    # schema-2 keys that are missing or wrong
    (
        _replace_in_payload(GOOD, f'patch_sha256 = "{SHA}"\n'.encode(), b""),
        "patch_sha256: missing",
    ),
    (_replace_in_payload(GOOD, SHA.encode(), SHA.upper().encode()), "not a SHA-256"),
    (_replace_in_payload(GOOD, SHA.encode(), SHA.encode() + b"\\n"), "not a SHA-256"),
    (_replace_in_payload(GOOD, b"patch_bytes = ", b"patch_bytes = -"), "patch_bytes: missing"),
    (
        _replace_in_payload(GOOD, f"patch_bytes = {SIZE}".encode(), b"patch_bytes = true"),
        "patch_bytes: missing or not a size",
    ),
    (_replace_in_payload(GOOD, b"patch_bytes = ", b"x_bytes = "), "patch_bytes: missing"),
    # a schema this version does not read, or that is not a number
    (
        _replace_in_payload(GOOD, b"schema = 2", b"schema = 4"),
        "reads proposal schemas 1, 2 or 3 only",
    ),
    (_replace_in_payload(GOOD, b"schema = 2", b"schema = 2.0"), "schema 2.0"),
    (_replace_in_payload(GOOD, b"schema = 2", b"schema = true"), "schema True"),
    # a key schema 2 has and schema 1 does not, on a schema-1 record
    (_replace_in_payload(GOOD, b"schema = 2", b"schema = 1"), "has no patch field"),
]


@pytest.mark.parametrize(
    ("line", "reason"), REFUSED, ids=[f"{n}-{r}" for n, (_, r) in enumerate(REFUSED)]
)
def test_a_record_mixing_the_forms_or_not_matching_its_payload_is_refused(
    line: str, reason: str
) -> None:
    _refused(line, reason)


def test_a_patch_field_that_is_not_utf8_is_refused_even_when_its_hash_matches() -> None:
    raw = b"diff --git a/x b/x\n\xff\xfe\n"
    line = _replace_in_payload(
        proposal_line(_proposal(patch="x" * len(raw))),
        hashlib.sha256(b"x" * len(raw)).hexdigest().encode(),
        hashlib.sha256(raw).hexdigest().encode(),
    )
    _refused(line.rsplit(" ", 1)[0] + " " + b64encode(raw), "not UTF-8")


def test_an_oversized_proposal_line_is_never_decoded() -> None:
    line = GOOD.rsplit(" ", 1)[0] + " " + "A" * MAX_LINE_BYTES
    parsed = parse_line("a" * 40, 1, line.encode())
    assert parsed is not None and not isinstance(parsed, RawRecord)
    assert "too long" in parsed.reason and len(parsed.text) < 100


def test_a_generic_reader_refuses_a_patch_field_it_was_not_told_about(repo: TestRepo) -> None:
    from fixreview.notes.store import read_typed

    r = Repository(repo.path)
    append_record(r, PROPOSALS_REF, repo.rev("HEAD"), GOOD)
    typed = read_typed(r, PROPOSALS_REF, TAG_PROPOSAL, Proposal)
    assert typed.by_target == {} and "has no patch field" in typed.warnings[0]
    typed = read_typed(r, PROPOSALS_REF, TAG_PROPOSAL, Proposal, decode=proposal_from_record)
    assert [p for items in typed.by_target.values() for _, p in items] == [_proposal()]


# -- in a repository: propose, the queue, bad records beside good ones --------------------------


@pytest.fixture
def fixes(repo: TestRepo) -> tuple[TestRepo, str]:
    """Two fix branches, ai-fix/sqli proposed (its proposal id returned) and ai-fix/other not."""
    r = Repository(repo.path)
    for name, path in (("ai-fix/sqli", "app/db.py"), ("ai-fix/other", "app/other.py")):
        repo.checkout("-b", name, "main")
        repo.commit(f"Fix {name}\n\nAssisted-by: Bot:model", {path: f"# {name}\n"}, who=AI)
    repo.checkout("main")
    proposal = propose(r, "ai-fix/sqli", Finding(id="SEC-1", severity="high"))
    return repo, proposal.id


def test_propose_writes_schema_2_and_the_queue_reads_it(fixes: tuple[TestRepo, str]) -> None:
    repo, proposal_id = fixes
    head = repo.rev("ai-fix/sqli")
    [line] = repo.git("notes", f"--ref={PROPOSALS_REF}", "show", head).splitlines()
    tag, payload, field = line.split(" ")
    assert tag == "proposal" and b"schema = 2\n" in b64decode(payload)
    patch = b64decode(field).decode()
    assert patch == repo.git("diff", "--binary", "--full-index", "main", head)
    queue = load_queue(Repository(repo.path))
    fix = queue.get("ai-fix/sqli")
    assert fix.source == "note" and fix.proposal_id == proposal_id
    assert fix.suggestion is not None and fix.suggestion.patch == patch
    assert queue.warnings == []


def test_a_mismatching_patch_field_is_a_warning_and_the_rest_of_the_queue_loads(
    fixes: tuple[TestRepo, str],
) -> None:
    repo, proposal_id = fixes
    r = Repository(repo.path)
    head = repo.rev("ai-fix/sqli")
    [good] = repo.git("notes", f"--ref={PROPOSALS_REF}", "show", head).splitlines()
    newer = _decode(good).model_copy(
        update={"id": "forged", "recorded": datetime(2099, 1, 1, tzinfo=UTC)}
    )
    forged = proposal_line(newer).rsplit(" ", 1)[0] + " " + b64encode(OTHER.encode())
    append_record(r, PROPOSALS_REF, head, forged)
    other_head = repo.rev("ai-fix/other")
    append_record(r, PROPOSALS_REF, other_head, forged.rsplit(" ", 1)[0])  # no field at all
    append_record(r, PROPOSALS_REF, other_head, "proposal " + "A" * (MAX_LINE_BYTES + 1))
    queue = load_queue(r)
    sqli = queue.get("ai-fix/sqli")
    assert sqli.source == "note" and sqli.proposal_id == proposal_id  # the good one, still
    assert queue.get("ai-fix/other").source == "none"
    text = "\n".join(queue.warnings)
    assert "patch field holds" in text and "the patch field is missing" in text
    assert "too long" in text and len(queue.warnings) == 3
    assert all("skipped" in w or "too long" in w for w in queue.warnings)


def test_a_100000_line_patch_reads(repo: TestRepo) -> None:
    """No timing here (benchmarks/proposal_parse.py measures it): the record is decoded without
    a TOML string of 100,000 lines, and its patch comes back whole."""
    lines = 100_000
    body = "".join(f"-value_{i} = {i}\n" for i in range(lines))
    body += "".join(f'+value_{i} = {i} + 1  # "fixed" \\\n' for i in range(lines))
    header = "diff --git a/big.py b/big.py\n--- a/big.py\n+++ b/big.py\n"
    patch = f"{header}@@ -1,{lines} +1,{lines} @@\n{body}"
    proposal = _proposal(patch=patch)
    line = proposal_line(proposal)
    assert len(_payload(line)) < 1000
    r = Repository(repo.path)
    append_record(r, PROPOSALS_REF, repo.rev("HEAD"), line)
    proposals, warnings = _read_proposals(r)
    assert warnings == []
    [read] = [p for items in proposals.values() for p in items]
    assert read == proposal and read.suggestion.patch.count("\n") == 2 * lines + 4


# -- check_proposal accepts what parse_diff accepts ---------------------------------------------

_HUNK_HEADER = re.compile(r"^@@ -\d+(,\d+)? \+\d+(,\d+)? @@")


def _full_parse_refuses(patch: str) -> bool:
    """The check as it was: a full ``parse_diff``, at least one file, well-formed hunk headers."""
    if not patch.strip():
        return False
    try:
        diff = parse_diff(patch)
    except Exception:
        return True
    if not diff.files:
        return True
    return any(line.startswith("@@") and not _HUNK_HEADER.match(line) for line in patch.split("\n"))


def _check_refuses(patch: str) -> bool:
    try:
        check_proposal(_proposal(patch=patch))
    except ValueError as exc:
        assert str(exc).startswith("suggestion.patch is not a diff")
        return True
    return False


def _git_diffs(repo: TestRepo) -> list[str]:
    """Real git diffs: binary, rename, mode change, deletion, no newline at the end, CRLF,
    quoted paths, an empty context line."""
    base = repo.rev("HEAD")
    repo.commit(
        "many",
        {
            "bin.dat": bytes(range(256)) * 4,
            "no_eol.txt": "a\nb",
            "crlf.txt": "x\r\ny\r\n",
            "café/ü.md": "é\n\n\nend\n",
            "README.md": None,
            "app/moved.py": "def query(sql):\n    return sql\n",
            "app/db.py": None,
        },
    )
    (repo.path / "run.sh").write_text("echo\n")
    (repo.path / "run.sh").chmod(0o755)
    mid = repo.commit("exec", {"no_eol.txt": "a\nc", "café/ü.md": "é\n\nchanged\nend\n"})
    diffs = [
        repo.git("diff", "--binary", "--full-index", "-M", a, b)
        for a, b in ((base, mid), (mid, base), (base, repo.rev("HEAD~1")))
    ]
    assert all(diffs) and "GIT binary patch" in diffs[0] and "rename from" in diffs[0]
    return diffs


def test_check_proposal_agrees_with_a_full_parse_on_real_and_broken_diffs(repo: TestRepo) -> None:
    real = _git_diffs(repo)
    broken = [
        "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,5 +1,5 @@\n+only one line\n",
        "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -a,b +c,d @@\n garbage\n",
        "@@ -1 +1 @@\n-a\n+b\n",
        "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n+c\n",
        "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,0 +1,0 @@\n-a\n",
        "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\nXb\n",
        "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n\n+b\n",
        "\\ No newline at end of file\n",
        "+++ b/x\n@@ -1 +1 @@\n-a\n+b\n",
        "just text\n",
        "diff --git a/x b/x\nnew file mode 100644\n",
        "@@@ -1 +1 @@\n",
    ]
    for patch in real + broken:
        assert _check_refuses(patch) == _full_parse_refuses(patch), patch
    assert not any(_check_refuses(patch) for patch in real)
    assert sum(_check_refuses(patch) for patch in broken) >= 8


_PIECES = [
    "diff --git a/x b/x\n",
    "diff --git a/y b/y\n",
    "--- a/x\n",
    "+++ b/x\n",
    "--- /dev/null\n",
    "+++ /dev/null\n",
    "new file mode 100644\n",
    "deleted file mode 100644\n",
    "old mode 100644\n",
    "new mode 100755\n",
    "index 0000000..1111111 100644\n",
    "@@ -1 +1 @@\n",
    "@@ -1,2 +1 @@ def f():\n",
    "@@ -0,0 +1,2 @@\n",
    "@@ -1 +1 @@",
    "@@ -x +1 @@\n",
    "@@ broken\n",
    "-a\n",
    "+b\n",
    " c\n",
    "\n",
    "\r\n",
    "\\ No newline at end of file\n",
    "Binary files a/x and b/x differ\n",
    "GIT binary patch\n",
    "literal 0\n",
    "rename from x\n",
    "rename to y\n",
    "junk\n",
]


@FAST
@given(st.lists(st.sampled_from(_PIECES), max_size=14))
def test_check_proposal_agrees_with_a_full_parse_on_any_mix_of_diff_lines(
    pieces: list[str],
) -> None:
    patch = "".join(pieces)
    assert _check_refuses(patch) == _full_parse_refuses(patch), patch


_LINE_STARTING_LIKE_A_HUNK_BUT_NOT_ONE = re.compile(
    r"^@@(?! -\d+(,\d+)? \+\d+(,\d+)? @@)", re.MULTILINE
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                ["@@ -1,2 +1,3 @@", "@@ -1 +1 @@ def f():", "@@", "@@ -x +1 @@", "@@ -1,2 +3", "@"]
            ),
            st.text(alphabet="@ -+,0123456789\r\t\u0661x", max_size=20),
        ),
        max_size=8,
    ),
    st.sampled_from(["\n", "\r\n", "\r", ""]),
)
@example(["@@ -1 +1 @@", " a", "@@ nope"], "\n")
@example(["x", "@@"], "\r")
def test_a_bad_hunk_header_is_found_where_the_expression_finds_it(
    lines: list[str], newline: str
) -> None:
    """The patch check finds the first line starting with "@@" that is not a hunk header's
    start exactly where the multi-line expression it replaces does (digits of any script, as
    ``\\d`` takes them; a carriage return is no line break)."""
    from fixreview.queue import bad_hunk_header

    patch = newline.join(lines)
    expected = _LINE_STARTING_LIKE_A_HUNK_BUT_NOT_ONE.search(patch)
    assert bad_hunk_header(patch) == (expected.start() if expected else None)
