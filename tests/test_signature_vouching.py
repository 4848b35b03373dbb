"""ssh-keygen asked once per key and principal (fixreview/signing/verifier.py): its "good" for
one signature by a key for a principal stands for their other signatures, each of which is
still checked in-process (armor, format, namespace, hash, cryptography, the allowed signers
listing). Whatever ssh-keygen would refuse in another signature is refused; a refusal vouches
for nothing; validity windows, certificates and security keys are never vouched for. Real keys
and real ssh-keygen runs, counted through a wrapper on PATH."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from fixreview.signing.base import SignatureCheck
from fixreview.signing.ssh import verify_ssh
from fixreview.signing.verifier import DecisionVerifier, SignatureRequest
from tests.signing_util import Reviewer
from tests.test_allowed_signers import _sign
from tests.test_signature_cache import counted, new_process, runs, sign, ssh_verifier  # noqa: F401
from tests.test_signature_prefetch import (  # noqa: F401 (_forget: autouse, as there)
    CLAIMED,
    VERIFY,
    _forget,
    certified,
    wrap_verify,
)


def payload(n: int) -> bytes:
    return f'schema = 1\nverdict = "approve"\ncomment = "vouched {n}"\n'.encode()


def answers(
    checks: DecisionVerifier, batch: list[SignatureRequest], prefetch: bool
) -> list[SignatureCheck]:
    if prefetch:
        checks.prefetch(batch)
    return [checks.check(*request) for request in batch]


@pytest.mark.parametrize(("jobs", "prefetch"), [("1", False), ("1", True), ("4", True)])
def test_one_ssh_keygen_run_per_key_and_principal(
    people: dict[str, Reviewer],
    counted: Path,  # noqa: F811 (a fixture)
    monkeypatch: pytest.MonkeyPatch,
    jobs: str,
    prefetch: bool,
) -> None:
    """Six signatures by aisha, three by tomas, and two by aisha's key for tomas (listed for
    him too): three ssh-keygen runs, one per key and principal, and all eleven count — one at
    a time or prefetched, on one thread or four."""
    monkeypatch.setenv("FIXREVIEW_JOBS", jobs)
    aisha, tomas = people["aisha"], people["tomas"]
    allowed = f"{aisha.allowed_line()}\n{tomas.allowed_line()}\n{tomas.email} {aisha.public}\n"
    batch: list[SignatureRequest] = [
        *(("ssh", payload(n), sign(aisha, payload(n)), aisha.email, CLAIMED) for n in range(6)),
        *(("ssh", payload(n), sign(tomas, payload(n)), tomas.email, CLAIMED) for n in range(3)),
        *(("ssh", payload(n), sign(aisha, payload(n)), tomas.email, CLAIMED) for n in (7, 8)),
    ]
    before = runs(counted, VERIFY)
    got = answers(ssh_verifier(allowed.encode(), None), batch, prefetch)
    assert [a.valid for a in got] == [True] * 11
    assert runs(counted, VERIFY) - before == 3
    assert {a.key for a in got[:6]} == {got[0].key} != {got[6].key}


def _reframed(signature: bytes) -> dict[str, bytes]:
    """Aisha's real signature, framed in ways ssh-keygen refuses (the SSHSIG blob's bytes)."""
    lines = signature.splitlines()
    blob = base64.b64decode(b"".join(lines[1:-1]))

    def armor(data: bytes) -> bytes:
        return b"\n".join([lines[0], base64.b64encode(data), lines[-1]]) + b"\n"

    return {
        "trailing data": armor(blob + b"\0"),
        "armor not at the start": b"\n" + signature,
        "CRLF armor": signature.replace(b"\n", b"\r\n"),
        "body after END": b"\n".join([lines[0], *lines[1:-2], lines[-1], lines[-2]]) + b"\n",
    }


@pytest.mark.parametrize("prefetch", [False, True])
def test_a_vouched_key_still_refuses_what_ssh_keygen_would(
    people: dict[str, Reviewer],
    counted: Path,  # noqa: F811 (a fixture)
    prefetch: bool,
) -> None:
    """Once ssh-keygen said "good" to aisha's key for aisha: her signature over other bytes,
    her signature for a principal her key is not listed for, mallory's key claiming to be her,
    another namespace, and her real signature reframed as ssh-keygen would refuse it — each
    refused, with no further run, and ssh-keygen itself refuses every one of them."""
    aisha, mallory = people["aisha"], people["mallory"]
    allowed = f"{aisha.allowed_line()}\n".encode()
    good = sign(aisha, payload(0))
    attempts: dict[str, SignatureRequest] = {
        "another payload": ("ssh", payload(1), good, aisha.email, CLAIMED),
        "an unlisted principal": ("ssh", payload(0), good, mallory.email, CLAIMED),
        "mallory's key": ("ssh", payload(2), sign(mallory, payload(2)), aisha.email, CLAIMED),
        "another namespace": (
            "ssh",
            payload(3),
            _sign(aisha.key, payload(3), "git"),
            aisha.email,
            CLAIMED,
        ),
        **{
            label: ("ssh", payload(0), framed, aisha.email, CLAIMED)
            for label, framed in _reframed(good).items()
        },
    }
    checks = ssh_verifier(allowed, None)
    before = runs(counted, VERIFY)
    assert checks.check("ssh", payload(0), good, aisha.email, CLAIMED).valid
    assert runs(counted, VERIFY) - before == 1
    got = answers(checks, list(attempts.values()), prefetch)
    refused = {label for label, answer in zip(attempts, got, strict=True) if not answer.valid}
    assert refused == set(attempts)
    assert runs(counted, VERIFY) - before == 1  # all refused in-process
    for label, (_, data, signature, principal, _) in attempts.items():
        assert not verify_ssh(data, signature, principal, allowed).valid, label


@pytest.mark.parametrize("jobs", ["1", "4"])
def test_a_refusal_vouches_for_nothing(
    people: dict[str, Reviewer],
    tmp_path: Path,
    counted: Path,  # noqa: F811 (a fixture)
    monkeypatch: pytest.MonkeyPatch,
    jobs: str,
) -> None:
    """ssh-keygen refuses aisha's first signature for a reason this reader cannot see (here:
    its first run is shown an empty allowed signers file): her other signatures are not
    refused with it — each is asked of ssh-keygen until one is found good, which then vouches
    for the rest; prefetched, the answers are those of one at a time."""
    monkeypatch.setenv("FIXREVIEW_JOBS", jobs)
    aisha = people["aisha"]
    first = tmp_path / "first-run"
    (tmp_path / "refusing").mkdir()
    wrap_verify(
        tmp_path / "refusing",
        monkeypatch,
        f"""if [ ! -e "{first}" ]; then
  touch "{first}"
  exec "$REAL" "$1" "$2" "$3" /dev/null "$5" "$6" "$7" "$8" "$9" "${{10}}"
fi
exec "$REAL" "$@"
""",
    )
    allowed = f"{aisha.allowed_line()}\n".encode()
    batch: list[SignatureRequest] = [
        ("ssh", payload(n), sign(aisha, payload(n)), aisha.email, CLAIMED) for n in range(4)
    ]
    before = runs(counted, VERIFY)
    one_at_a_time = ssh_verifier(allowed, None)
    alone = [one_at_a_time.check(*request) for request in batch]
    assert [a.valid for a in alone] == [False, True, True, True]
    assert runs(counted, VERIFY) - before == 2  # the refused one, then one good that vouches
    new_process()
    first.unlink()
    before = runs(counted, VERIFY)
    prefetched = answers(ssh_verifier(allowed, None), batch, prefetch=True)
    assert prefetched == alone
    # the three waiting on the refused run then ran on their own (one at a time: only the
    # first of them, whose "good" vouched for the two others)
    assert runs(counted, VERIFY) - before == (2 if jobs == "1" else 4)


@pytest.mark.parametrize("window", [False, True], ids=["certificates", "validity-window"])
def test_windows_and_certificates_are_never_vouched_for(
    people: dict[str, Reviewer],
    tmp_path: Path,
    counted: Path,  # noqa: F811 (a fixture)
    window: bool,
) -> None:
    """Answers that depend on the clock, or on a certificate only ssh-keygen reads: each
    signature is its own ssh-keygen run."""
    aisha = people["aisha"]
    if window:
        allowed = f'{aisha.email} valid-after="20200101" {aisha.public}\n'.encode()
        signed = [(payload(n), sign(aisha, payload(n))) for n in range(3)]
    else:
        allowed, signed = certified(tmp_path, aisha.email, 3)
    checks = ssh_verifier(allowed, None)
    before = runs(counted, VERIFY)
    assert all(checks.check("ssh", p, s, aisha.email, CLAIMED).valid for p, s in signed)
    assert runs(counted, VERIFY) - before == 3


def test_a_kept_good_answer_vouches_in_a_later_process(
    people: dict[str, Reviewer],
    tmp_path: Path,
    counted: Path,  # noqa: F811 (a fixture)
) -> None:
    """The answer kept on disk for one of aisha's signatures vouches, in a later process, for
    her signatures that were never checked: no ssh-keygen at all."""
    aisha = people["aisha"]
    allowed = f"{aisha.allowed_line()}\n".encode()
    git_dir = tmp_path / "git"
    signed = [(payload(n), sign(aisha, payload(n))) for n in range(4)]
    assert ssh_verifier(allowed, git_dir).check("ssh", *signed[0], aisha.email, CLAIMED).valid
    new_process()
    before = runs(counted, VERIFY)
    later = ssh_verifier(allowed, git_dir)
    assert all(later.check("ssh", p, s, aisha.email, CLAIMED).valid for p, s in signed)
    assert runs(counted, VERIFY) == before
