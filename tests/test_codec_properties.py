"""Property-based tests (hypothesis) of the record codec, of signatures over payload bytes, and
of the policy parser: whatever the input, records round-trip, a changed byte never verifies,
and untrusted documents fail only with the errors the callers handle."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fixreview.decisions import VERDICTS, Checklist, ChecklistItem, Decision
from fixreview.errors import InputError
from fixreview.models import SEVERITIES, Finding, Location, Proposal, Suggestion
from fixreview.notes.records import (
    KNOWN_TAGS,
    SIGNED_TAGS,
    BadLine,
    RawRecord,
    encode_line,
    model_to_toml,
    parse_line,
    parse_note,
    toml_to_model,
)
from fixreview.policy import Policy, parse_policy
from fixreview.signing.ssh import SshSigner, verify_ssh

# the autouse isolated_git fixture is function-scoped; these properties never touch git config
FAST = settings(
    max_examples=60,
    deadline=None,
    database=None,  # nothing written into the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- strategies -------------------------------------------------------------------------------

# any text a str can hold and UTF-8 can carry (no lone surrogates), controls and bidi included
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
non_empty = texts.filter(lambda s: bool(s.strip()))
oids = st.text("0123456789abcdef", min_size=40, max_size=40)
sha256s = st.text("0123456789abcdef", min_size=64, max_size=64)
offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets
)
line_numbers = st.integers(1, 2**62)


@st.composite
def locations(draw: st.DrawFn) -> Location:
    start = draw(line_numbers)
    end = draw(st.none() | st.integers(start, 2**62))
    return Location(path=draw(non_empty), start_line=start, end_line=end)


checklist_items = st.builds(
    ChecklistItem, status=st.sampled_from(["confirmed", "open"]), note=texts
)
decisions = st.builds(
    Decision,
    id=texts,
    verdict=st.sampled_from(VERDICTS),
    finding=texts,
    branch=texts,
    target=texts,
    target_commit=oids,
    base_commit=oids,
    base_tree=oids,
    head_commit=oids,
    head_tree=oids,
    diff_sha256=sha256s,
    suggestion_commit=st.none() | oids,
    ai_tool=texts,
    ai_model=texts,
    reviewer=st.text(st.characters(exclude_categories=("Cs",)), min_size=3, max_size=40),
    reviewer_name=texts,
    signing_format=st.sampled_from(["ssh", "openpgp"]),
    key=texts,
    time=aware,
    checklist=st.builds(
        Checklist,
        intent=checklist_items,
        scope=checklist_items,
        blast_radius=checklist_items,
        rollback=checklist_items,
    ),
    acknowledged_flags=st.lists(texts, max_size=3),
    comment=texts,
)
proposals = st.builds(
    Proposal,
    id=non_empty,
    branch=non_empty,
    recorded=aware,
    recorded_by=texts,
    finding=st.builds(
        Finding,
        id=non_empty,
        title=texts,
        severity=st.sampled_from(SEVERITIES),
        rule=texts,
        scanner=texts,
        asset=texts,
        locations=st.lists(locations(), max_size=3),
        evidence=texts,
        reason=texts,
        url=texts,
    ),
    suggestion=st.builds(
        Suggestion,
        tool=texts,
        model=texts,
        rationale=texts,
        commit=oids,
        base=st.none() | oids,
        patch=texts,
        created=st.none() | aware,
    ),
)

# -- the codec --------------------------------------------------------------------------------


@FAST
@given(decisions)
def test_decision_toml_round_trip(decision: Decision) -> None:
    assert toml_to_model(model_to_toml(decision), Decision) == decision


@FAST
@given(proposals)
def test_proposal_toml_round_trip(proposal: Proposal) -> None:
    assert toml_to_model(model_to_toml(proposal), Proposal) == proposal


@FAST
@given(
    st.lists(
        st.tuples(
            st.sampled_from(KNOWN_TAGS),
            st.binary(min_size=1, max_size=300),
            st.binary(min_size=1, max_size=300),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_line_round_trip_keeps_exact_bytes(items: list[tuple[str, bytes, bytes]]) -> None:
    lines = [
        encode_line(tag, payload, signature if tag in SIGNED_TAGS else None)
        for tag, payload, signature in items
    ]
    assert all("\n" not in line and line == line.strip() for line in lines)
    records, bad = parse_note("a" * 40, "\n".join(lines).encode())
    assert bad == []
    assert [(r.tag, r.payload, r.signature) for r in records] == [
        (tag, payload, signature if tag in SIGNED_TAGS else None)
        for tag, payload, signature in items
    ]


def test_an_empty_payload_or_signature_is_refused_not_written_unreadable() -> None:
    for tag, payload, signature in (
        ("proposal", b"", None),
        ("decision", b"", b"sig"),
        ("decision", b"x = 1\n", b""),
    ):
        with pytest.raises(ValueError):
            encode_line(tag, payload, signature)


@FAST
@given(st.binary(max_size=2000))
@example(b"decision " + b"[" * 5000)
@example(b"\xff\xfe\x00decision a b\r\n\x85proposal \xe2\x80\xae")
def test_any_bytes_parse_into_records_and_reported_lines(content: bytes) -> None:
    records, bad = parse_note("b" * 40, content)
    assert all(isinstance(r, RawRecord) for r in records)
    assert all(isinstance(b, BadLine) and b.describe() for b in bad)
    assert len(records) + len(bad) <= content.count(b"\n") + 1


@FAST
@given(st.binary(max_size=1000) | st.text(max_size=400).map(lambda s: s.encode("utf-8", "replace")))
@example(b"a = " + b"[" * 100_000 + b"]" * 100_000)
@example(b"a = {" * 50_000)
@example(b"time = 1979-05-27T07:32:00\n")
@example(b"schema = 1\nverdict = [[[[1]]]]\n")
def test_any_payload_is_a_model_or_a_value_error(payload: bytes) -> None:
    for model in (Decision, Proposal):
        try:
            toml_to_model(payload, model)
        except ValueError as exc:
            assert str(exc)


@FAST
@given(st.binary(max_size=600))
def test_parse_line_never_raises(raw: bytes) -> None:
    parsed = parse_line("c" * 40, 1, raw)
    assert parsed is None or isinstance(parsed, RawRecord | BadLine)


# -- signatures: any change to the signed bytes fails verification ----------------------------

SIGNED_DECISION = Decision(
    id="0b9d3c52-0000-4000-8000-000000000000",
    verdict="approve",
    finding="SEC-101",
    branch="ai-fix/sqli",
    target="main",
    target_commit="1" * 40,
    base_commit="2" * 40,
    base_tree="3" * 40,
    head_commit="4" * 40,
    head_tree="5" * 40,
    diff_sha256="6" * 64,
    reviewer="aisha@example.com",
    reviewer_name="Aisha Okafor",
    signing_format="ssh",
    key="SHA256:x",
    time=datetime(2026, 10, 6, 14, 30, tzinfo=UTC),
    checklist=Checklist(rollback=ChecklistItem(status="confirmed", note="revert if broken")),
    comment="Clean fix.",
)


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes, bytes]:
    """(payload, signature, allowed signers): one real ssh signature, made once."""
    directory = tmp_path_factory.mktemp("codec-key")
    key = directory / "aisha"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "aisha", "-f", str(key)],
        check=True,
    )
    payload = model_to_toml(SIGNED_DECISION)
    signature = SshSigner("ssh-keygen", str(key)).sign(payload).signature
    public = Path(str(key) + ".pub").read_text().strip()
    allowed = f"aisha@example.com {public}\n".encode()
    assert verify_ssh(payload, signature, "aisha@example.com", allowed).valid
    return payload, signature, allowed


@st.composite
def mutations(draw: st.DrawFn, payload: bytes) -> bytes:
    """PAYLOAD with one change: a byte replaced, inserted or deleted, or the end cut or grown."""
    kind = draw(st.sampled_from(["replace", "insert", "delete", "truncate", "append"]))
    at = draw(st.integers(0, len(payload) - 1))
    if kind == "replace":
        flip = draw(st.integers(1, 255))
        return payload[:at] + bytes([payload[at] ^ flip]) + payload[at + 1 :]
    if kind == "insert":
        return payload[:at] + draw(st.binary(min_size=1, max_size=4)) + payload[at:]
    if kind == "delete":
        return payload[:at] + payload[at + 1 :]
    if kind == "truncate":
        return payload[:at]
    return payload + draw(st.binary(min_size=1, max_size=4))


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_changed_payload_byte_fails_verification(
    signed: tuple[bytes, bytes, bytes], data: st.DataObject
) -> None:
    payload, signature, allowed = signed
    changed = data.draw(mutations(payload))
    assert changed != payload
    assert not verify_ssh(changed, signature, "aisha@example.com", allowed).valid


# -- the policy parser: only InputError, whatever the document --------------------------------

POLICY_KEYS = [
    "base",
    "fix_branches",
    "findings",
    "approvals",
    "risk",
    "required",
    "sensitive",
    "allowed_signers",
    "allow_rebased",
    "ai_identities",
    "sensitive_paths",
    "levels",
    "sensitive-path",
    "scope_slack_lines",
    "large_diff_lines",
]
toml_keys = st.sampled_from(POLICY_KEYS) | st.text(max_size=12)
toml_scalars = (
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=True)
    | texts
    | st.sampled_from(["block", "warn", "info", "main", "ai-fix/*", "[", "**", "\x00"])
    | aware
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(toml_keys, inner, max_size=4),
    max_leaves=12,
)
toml_documents = st.dictionaries(toml_keys, toml_values, max_size=6)


def _parses_or_input_error(data: bytes) -> None:
    try:
        policy = parse_policy(data, ".fixreview.toml")
    except InputError as exc:
        assert str(exc).startswith(".fixreview.toml")
    else:
        assert isinstance(policy, Policy)


@FAST
@given(toml_documents)
def test_policy_documents_parse_or_raise_input_error(document: dict[str, object]) -> None:
    _parses_or_input_error(tomli_w.dumps(document).encode("utf-8"))


@FAST
@given(st.binary(max_size=500) | st.text(max_size=300).map(lambda s: s.encode("utf-8")))
@example(b"a = " + b"[" * 100_000 + b"]" * 100_000)
@example(b"[approvals]\nrequired = 1e999\n")
@example(b"[risk.levels]\n'sensitive-path' = 'off'\n")
@example(b"\xef\xbb\xbfbase = 'main'\n")
def test_policy_bytes_parse_or_raise_input_error(data: bytes) -> None:
    _parses_or_input_error(data)
