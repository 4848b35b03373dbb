"""Signatures checked several at a time (DecisionVerifier.prefetch, used by gate.judge_queue):
each gets exactly the answer DecisionVerifier.check alone gives it, with as many ssh-keygen runs
as one at a time, the ssh-keygen runs really overlap, the budget on external checks stays a hard
bound under threads, the gate judges a queue the same whatever FIXREVIEW_JOBS says, and
gate.start_judging checks them on a thread while its caller goes on. Real
ssh-keygen keys, certificates and runs, counted through a wrapper on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fixreview.gate import GateResult, judge_queue, start_judging, status_of
from fixreview.jobs import jobs_from_env
from fixreview.models import Status
from fixreview.queue import load_queue
from fixreview.repo.git import Repository
from fixreview.signing.base import SSH_NAMESPACE, SignatureCheck
from fixreview.signing.verifier import (
    MAX_EXTERNAL_CHECKS,
    MAX_VERIFY_WORKERS,
    DecisionVerifier,
    SignatureRequest,
    verify_workers,
)
from tests.signing_util import Reviewer
from tests.test_signature_cache import (  # noqa: F401 (counted)
    counted,
    new_process,
    runs,
    sign,
    ssh_verifier,
)

CLAIMED = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
VERIFY = "ssh-keygen -Y verify"


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    """Each test starts, and leaves, with nothing remembered in this process."""
    new_process()
    yield
    new_process()


verifier = ssh_verifier  # a verifier of the base's allowed signers ALLOWED


def wrap_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> str:
    """Put an ``ssh-keygen`` first on PATH that runs the shell BODY for ``-Y verify`` (the real
    one, in ``$REAL``, for anything else); the real one's path."""
    real = shutil.which("ssh-keygen")
    assert real is not None
    wrappers = tmp_path / "wrappers"
    wrappers.mkdir()
    script = wrappers / "ssh-keygen"
    script.write_text(
        f'#!/bin/sh\nREAL="{real}"\n[ "$1 $2" = "-Y verify" ] || exec "$REAL" "$@"\n{body}'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrappers}{os.pathsep}{os.environ['PATH']}")
    return real


def one_by_one(
    allowed: bytes, git_dir: Path | None, batch: list[SignatureRequest]
) -> list[SignatureCheck]:
    """What check alone answers, in order, on a fresh verifier in a fresh process."""
    new_process()
    alone = verifier(allowed, git_dir)
    return [alone.check(*request) for request in batch]


def payload(n: int) -> bytes:
    return f'schema = 1\nverdict = "approve"\ncomment = "decision {n}"\n'.encode()


@pytest.mark.parametrize("jobs", ["1", "4"])
@pytest.mark.parametrize("window", [False, True], ids=["plain", "validity-window"])
def test_prefetched_answers_are_those_of_check_alone(
    people: dict[str, Reviewer],
    tmp_path: Path,
    counted: Path,  # noqa: F811 (a fixture)
    monkeypatch: pytest.MonkeyPatch,
    jobs: str,
    window: bool,
) -> None:
    """Valid signatures and every kind of refusal, prefetched then checked: the answers and the
    number of ssh-keygen runs are those of check alone, and check runs nothing after prefetch.
    With a validity window nothing is kept on disk (the answer depends on the clock)."""
    monkeypatch.setenv("FIXREVIEW_JOBS", jobs)
    aisha, tomas, mallory = people["aisha"], people["tomas"], people["mallory"]
    lines = [aisha.allowed_line()]
    if window:  # tomas's key expired a day ago
        expired = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y%m%d%H%M%SZ")
        lines.append(f'{tomas.email} valid-before="{expired}" {tomas.public}')
    allowed = "".join(line + "\n" for line in lines).encode()
    valid = [(payload(n), sign(aisha, payload(n))) for n in range(5)]
    batch: list[SignatureRequest] = [("ssh", p, s, aisha.email, CLAIMED) for p, s in valid]
    batch += [
        ("ssh", payload(0) + b"x", valid[0][1], aisha.email, CLAIMED),  # tampered payload
        ("ssh", payload(9), sign(mallory, payload(9)), aisha.email, CLAIMED),  # wrong key
        ("ssh", payload(1), valid[1][1], mallory.email, CLAIMED),  # unlisted principal
        ("ssh", payload(8), sign(tomas, payload(8)), tomas.email, CLAIMED),  # expired / unlisted
        ("ssh", payload(2), b"-----BEGIN SSH SIGNATURE-----\nAAAA\n", aisha.email, CLAIMED),
        ("openpgp", payload(3), b"junk", aisha.email, CLAIMED),  # no allowed OpenPGP keys
        ("ssh", *valid[2], aisha.email, CLAIMED),  # the same signature twice
    ]
    before = runs(counted, VERIFY)
    batched = verifier(allowed, tmp_path / "git-batched")
    batched.prefetch(batch)
    prefetch_runs = runs(counted, VERIFY) - before
    answers = [batched.check(*request) for request in batch]
    assert runs(counted, VERIFY) - before == prefetch_runs  # check answered from memory
    before = runs(counted, VERIFY)
    expected = one_by_one(allowed, tmp_path / "git-alone", batch)
    assert answers == expected
    # ssh-keygen's "good" for one of aisha's signatures vouches for her four others, unless
    # the allowed signers set a validity window: then each of the five is asked of it
    assert runs(counted, VERIFY) - before == prefetch_runs == (5 if window else 1)
    assert [a.valid for a in answers] == [True] * 5 + [False] * 6 + [True]
    if window:
        assert "only valid before" in answers[8].reason
        assert not (tmp_path / "git-batched" / "fixreview").exists()
    else:
        assert "is not in the base's allowed signers" in answers[8].reason


def test_prefetch_runs_ssh_keygen_several_at_a_time(
    people: dict[str, Reviewer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrapper around the real ssh-keygen waits (at most 5 s) for a second verification to
    be running beside it, and says whether one came: with two jobs, they do (two reviewers:
    one's good signature would vouch for her other one, which then runs nothing)."""
    aisha, tomas = people["aisha"], people["tomas"]
    signed = [
        (payload(n), sign(who, payload(n)), who.email) for n, who in enumerate([aisha, tomas])
    ]
    running, log = tmp_path / "running", tmp_path / "together.log"
    running.mkdir()
    real = wrap_verify(
        tmp_path,
        monkeypatch,
        f"""touch "{running}/$$"
i=0
while [ "$(ls "{running}" | wc -l)" -lt 2 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
[ "$(ls "{running}" | wc -l)" -ge 2 ] && echo together >> "{log}"
"$REAL" "$@"
code=$?
rm -f "{running}/$$"
exit $code
""",
    )
    assert Path(real).name == "ssh-keygen"
    monkeypatch.setenv("FIXREVIEW_JOBS", "2")
    checks = verifier(f"{aisha.allowed_line()}\n{tomas.allowed_line()}\n".encode(), None)
    batch: list[SignatureRequest] = [("ssh", p, s, who, CLAIMED) for p, s, who in signed]
    checks.prefetch(batch)
    assert all(checks.check(*request).valid for request in batch)
    assert log.exists() and "together" in log.read_text()


def certified(
    tmp_path: Path, principal: str, count: int
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """An allowed signers file trusting a new CA for PRINCIPAL, and COUNT payloads signed
    with a certificate of that CA: signatures only ssh-keygen can judge."""
    keys = tmp_path / "cert-keys"
    keys.mkdir()
    ca, user = keys / "ca", keys / "user"
    for key in (ca, user):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-s", str(ca), "-I", "user", "-n", principal, f"{user}.pub"],
        check=True,
    )
    signed = []
    for n in range(count):
        proc = subprocess.run(
            ["ssh-keygen", "-Y", "sign", "-n", SSH_NAMESPACE, "-f", f"{user}-cert.pub"],
            input=payload(n),
            capture_output=True,
            check=True,
        )
        signed.append((payload(n), proc.stdout))
    ca_public = Path(f"{ca}.pub").read_text().strip()
    return f"{principal} cert-authority {ca_public}\n".encode(), signed


def test_the_external_budget_is_a_hard_bound_under_threads(
    people: dict[str, Reviewer],
    tmp_path: Path,
    counted: Path,  # noqa: F811 (a fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """More certificate signatures than the budget, between ordinary ones, checked by four
    threads: exactly the budget of them go to ssh-keygen, the first ones in the order given
    (as one by one), and the rest are refused as not checked, never remembered."""
    monkeypatch.setenv("FIXREVIEW_JOBS", "4")
    aisha = people["aisha"]
    cert_allowed, certs = certified(tmp_path, aisha.email, MAX_EXTERNAL_CHECKS + 6)
    allowed = f"{aisha.allowed_line()}\n".encode() + cert_allowed
    plain = [(payload(1000 + n), sign(aisha, payload(1000 + n))) for n in range(3)]
    # ordinary, 29 certificates, ordinary, the 41 other certificates, ordinary
    order = [plain[0], *certs[:29], plain[1], *certs[29:], plain[2]]
    batch: list[SignatureRequest] = [("ssh", p, s, aisha.email, CLAIMED) for p, s in order]
    before = runs(counted, VERIFY)
    batched = verifier(allowed, None)
    batched.prefetch(batch)
    assert batched.external_checks == MAX_EXTERNAL_CHECKS
    # the ordinary three: one ssh-keygen run, whose "good" vouches for the two others
    assert runs(counted, VERIFY) - before == MAX_EXTERNAL_CHECKS + 1
    answers = [batched.check(*request) for request in batch]
    assert batched.external_checks == MAX_EXTERNAL_CHECKS  # a refusal for budget runs nothing
    assert runs(counted, VERIFY) - before == MAX_EXTERNAL_CHECKS + 1
    refused = [i for i, a in enumerate(answers) if "not checked: too many" in a.reason]
    assert refused == list(range(len(batch) - 7, len(batch) - 1))  # the last six certificates
    assert sum(a.valid for a in answers) == MAX_EXTERNAL_CHECKS + len(plain)
    assert answers == one_by_one(allowed, None, batch)


Judgement = tuple[Status, list[str], list[tuple[str, SignatureCheck | None, str | None, bool]]]


def judgement(repo: Path) -> dict[str, Judgement]:
    """Every fix's status, problems, and each judged record's signature answer and reason."""
    new_process()
    r = Repository(repo)
    return shaped(judge_queue(r, load_queue(r)))


def shaped(judged: dict[str, GateResult]) -> dict[str, Judgement]:
    return {
        branch: (
            status_of(result),
            result.problems,
            [(j.record.target, j.signature, j.reason, j.counted) for j in result.judged],
        )
        for branch, result in judged.items()
    }


def test_the_gate_judges_a_queue_the_same_at_any_number_of_jobs(
    demo_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIXREVIEW_NO_CACHE", "1")  # every signature checked, none from disk
    monkeypatch.setenv("FIXREVIEW_JOBS", "1")
    one = judgement(demo_repo)
    monkeypatch.setenv("FIXREVIEW_JOBS", "4")
    four = judgement(demo_repo)
    assert four == one
    checked = [sig for _, _, records in one.values() for _, sig, _, _ in records]
    assert any(sig is not None and sig.valid for sig in checked)  # the demo has signed decisions
    assert len({status for status, _, _ in one.values()}) > 1  # fixes that stand differently


@pytest.mark.parametrize(
    ("setting", "expected"),
    [(None, 3), ("5", 5), ("1", 1), ("0", 3), ("-2", 3), ("two", 3), ("", 3), (" 2 ", 2)],
)
def test_fixreview_jobs_is_read_and_a_bad_value_ignored(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, expected: int
) -> None:
    if setting is None:
        monkeypatch.delenv("FIXREVIEW_JOBS", raising=False)
    else:
        monkeypatch.setenv("FIXREVIEW_JOBS", setting)
    assert jobs_from_env(3) == expected


def test_signature_workers_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIXREVIEW_JOBS", "100")
    assert verify_workers() == MAX_VERIFY_WORKERS
    monkeypatch.setenv("FIXREVIEW_JOBS", "1")
    assert verify_workers() == 1


def test_judging_checks_signatures_on_a_thread_while_the_caller_goes_on(
    demo_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``start_judging(background=True)`` (what ``list`` does before computing the flags)
    returns while the ssh-keygen runs are still to come: a wrapper around the real ssh-keygen
    holds every verification until a file appears, which the test creates only once
    start_judging has returned, and logs each one that waited in vain (5 s). ``finish`` then
    judges exactly as judge_queue does."""
    monkeypatch.setenv("FIXREVIEW_NO_CACHE", "1")  # every signature checked, none from disk
    expected = judgement(demo_repo)
    go, started, log = tmp_path / "go", tmp_path / "started", tmp_path / "late.log"
    started.mkdir()
    wrap_verify(
        tmp_path,
        monkeypatch,
        f"""touch "{started}/$$"
i=0
while [ ! -e "{go}" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
[ -e "{go}" ] || echo late >> "{log}"
exec "$REAL" "$@"
""",
    )
    new_process()
    repo = Repository(demo_repo)
    queue = load_queue(repo)
    judging = start_judging(repo, queue, background=True)
    go.touch()  # the caller's turn came before any verification was let through
    judged = judging.finish()
    assert any(started.iterdir())  # ssh-keygen did verify signatures, on the thread
    assert not log.exists()  # and none waited for start_judging to return
    assert shaped(judged) == expected


def test_an_error_on_the_judging_thread_reaches_the_caller(
    demo_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the background checks raise is raised by ``wait``/``finish``, never lost."""

    def broken(self: DecisionVerifier, requests: object) -> None:
        raise OSError("the checks broke")

    monkeypatch.setattr(DecisionVerifier, "prefetch", broken)
    repo = Repository(demo_repo)
    judging = start_judging(repo, load_queue(repo), background=True)
    with pytest.raises(OSError, match="the checks broke"):
        judging.finish()
