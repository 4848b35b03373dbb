"""Checking decision signatures against the base branch's allowed keys, with bounded work.

One :class:`DecisionVerifier` serves one (allowed signers, allowed OpenPGP keys) pair. For ssh it
refuses, without any process, a signature whose key is not listed for the claimed reviewer, not
for fixreview's namespace, outside its ``valid-after``/``valid-before`` window at the decision's
claimed time or now, or whose cryptography does not check out (:mod:`fixreview.signing.sshsig`);
only what survives goes to ``ssh-keygen -Y verify``, the reference verifier. Junk records that an
attacker pushes by the thousand therefore cost microseconds each.

ssh-keygen is asked once per key and principal, not once per signature: its "good" for one
signature by a key for a principal vouches for their other signatures that the checks in
Python found good (:meth:`DecisionVerifier._vouched_answer` says why that is exactly
ssh-keygen's answer). Not for certificates and security keys, nor when the allowed signers set a
validity window; a refusal vouches for nothing. A queue of 434 decisions by a few reviewers so
runs a few ``ssh-keygen``, not 434 (about 10 ms of process each on the benchmark machine).

Signatures that only an external verifier can judge (OpenPGP; ssh certificates and security-key
types) are checked at most :data:`MAX_EXTERNAL_CHECKS` times per verifier; past that they are
refused with a reason saying so, never counted.

Given the repository's git dir (``cache_dir``), the external verifiers' definitive answers are
also kept on disk (:mod:`fixreview.resultcache`, kind ``signature-checks``), keyed by every
input the tool is given and the tool itself: a second ``verify`` runs no ``ssh-keygen`` or
``gpg`` at all. Only answers that cannot change with the clock are kept: an ssh answer when
the allowed signers file has no ``valid-after``/``valid-before`` and the key is not a
certificate or a security key, and the signature's cryptography checked out in Python first
(the checks in Python, including those that read the clock, still run every time); an OpenPGP
answer with the moment it stops holding (the first expiry of the signature or its keys), or a
refusal that no time changes (a bad signature, a key not among the allowed ones). A timeout, a
missing tool or a refusal for budget is never kept.

:meth:`DecisionVerifier.prefetch` checks many ssh signatures at once (a whole queue's): the
checks in Python, the disk cache and the budget are done first, one signature after the other in
the order given (so the same signatures get the budget as when :meth:`~DecisionVerifier.check`
is called in that order); only the ``ssh-keygen -Y verify`` runs that remain go to a bounded pool
of threads (:func:`fixreview.jobs.jobs_from_env`, at most :data:`MAX_VERIFY_WORKERS`), and
:meth:`~DecisionVerifier.check` then answers them from memory. The threads run nothing but the
tool and the cache's atomic writes: no repository read. OpenPGP signatures are checked one at a
time, in the calling thread: :class:`~fixreview.signing.openpgp.OpenPgpVerifier` writes each
signature to the same file of its one GnuPG home, so two ``gpg --verify`` at once could read
each other's signature.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fixreview.jobs import jobs_from_env, usable_cpus
from fixreview.resultcache import ResultCache, cache_key, json_body, program_identity
from fixreview.signing.allowed_signers import AllowedSigners, parse_allowed_signers
from fixreview.signing.base import SSH_NAMESPACE, SignatureCheck
from fixreview.signing.openpgp import FOREVER, OpenPgpVerifier
from fixreview.signing.ssh import verify_ssh
from fixreview.signing.sshsig import check as sshsig_check
from fixreview.signing.sshsig import parse_armored

MAX_EXTERNAL_CHECKS = 64
MAX_VERIFY_WORKERS = 8
"""The most ``ssh-keygen -Y verify`` processes :meth:`DecisionVerifier.prefetch` runs at once."""
_CACHE_SIZE = 4096
_cache: OrderedDict[tuple[object, ...], SignatureCheck] = OrderedDict()
_cache_lock = threading.Lock()  # guards _cache (an LRU: even a lookup reorders it)
_pgp_verifiers: dict[str, OpenPgpVerifier] = {}
_pgp_lock = threading.Lock()  # guards _pgp_verifiers


def _close_pgp_verifiers() -> None:
    with _pgp_lock:
        for verifier in _pgp_verifiers.values():
            verifier.close()
        _pgp_verifiers.clear()


def verify_workers() -> int:
    """How many signature checks :meth:`DecisionVerifier.prefetch` runs at once: the usable
    CPUs, or ``FIXREVIEW_JOBS`` when set, at most :data:`MAX_VERIFY_WORKERS`."""
    return max(1, min(MAX_VERIFY_WORKERS, jobs_from_env(usable_cpus())))


SignatureRequest = tuple[str, bytes, bytes, str, datetime]
"""What :meth:`DecisionVerifier.check` is asked: format, payload, signature, principal, time."""

Vouch = tuple[str, str]
"""A key (its fingerprint) and a principal that ``ssh-keygen -Y verify`` found a good signature
by, under one verifier's allowed signers: see :meth:`DecisionVerifier._vouched_answer`."""


@dataclass(frozen=True)
class _SshRun:
    """An ``ssh-keygen -Y verify`` still to run for one signature, all else checked."""

    payload: bytes
    signature: bytes
    principal: str
    disk_key: str | None  # where its answer is kept on disk (None: not to be kept)
    vouch: Vouch | None  # what ssh-keygen's "good" vouches for (None: this signature alone)


atexit.register(_close_pgp_verifiers)

# BUMP THIS whenever what is asked of ssh-keygen or gpg, or how their answer is read, changes:
# signature checks kept on disk by older code are then never used.
SIGNATURE_CHECKS_VERSION = "1"
CACHE_KIND = "signature-checks"
# allowed signers options that make ssh-keygen's answer depend on the clock
_CLOCK_OPTIONS = re.compile(rb"valid-(after|before)", re.IGNORECASE)
_CLOCK_MARGIN = 86400.0  # seconds: how far ssh-keygen's local reading of a bound may be from ours
# OpenPGP refusals that no passing of time undoes (the keyring is part of the key)
_TIMELESS_PGP_REFUSALS = (
    "bad OpenPGP signature: the signature does not match the payload",
    "bad OpenPGP signature: the signing key is not among the allowed keys",
)


_tool = program_identity  # the signing programs' identity in the signature checks' keys


def check_body(check: SignatureCheck, checked: datetime, until: datetime | None) -> bytes:
    """A signature check as a cache entry's body: the answer, when it was given, and until
    when it holds (None: forever)."""
    return json.dumps(
        {
            "valid": check.valid,
            "key": check.key,
            "reason": check.reason,
            "identities": list(check.identities),
            "checked": checked.timestamp(),
            "until": None if until is None or until == FOREVER else until.timestamp(),
        },
        sort_keys=True,
    ).encode("ascii")


def check_from_body(body: bytes, now: datetime) -> SignatureCheck | None:
    """The check stored in BODY if it still holds at NOW; None for anything else."""
    data = json_body(body)
    if not isinstance(data, dict) or set(data) != {
        "valid",
        "key",
        "reason",
        "identities",
        "checked",
        "until",
    }:
        return None
    valid, key, reason, identities = data["valid"], data["key"], data["reason"], data["identities"]
    checked, until = data["checked"], data["until"]
    if not isinstance(valid, bool) or not isinstance(key, str) or not isinstance(reason, str):
        return None
    if not isinstance(identities, list) or not all(isinstance(i, str) for i in identities):
        return None
    moment = now.timestamp()
    if not isinstance(checked, int | float) or isinstance(checked, bool) or checked > moment:
        return None  # the clock went back since: ask again
    if until is not None and (
        not isinstance(until, int | float) or isinstance(until, bool) or moment >= until
    ):
        return None
    return SignatureCheck(valid, key, reason, tuple(identities))


@dataclass(frozen=True)
class KeyStanding:
    """What the base's allowed keys say of one signing key for one principal."""

    problem: str | None  # why it may not sign for the principal (None: it may)
    identities: frozenset[str] = frozenset()  # every identity the key stands for


class DecisionVerifier:
    """Signature checks for one base's allowed keys; WHERE names them in reasons."""

    def __init__(
        self,
        allowed_ssh: bytes | None,
        allowed_pgp: bytes | None,
        *,
        ssh_file: str,
        pgp_file: str,
        base: str,
        cache_dir: Path | None = None,
        namespace: str = SSH_NAMESPACE,
    ) -> None:
        """CACHE_DIR: the repository's common git dir, where answers are kept across
        processes (None: only in this process). NAMESPACE: the ssh signature namespace the
        records were signed for (decisions by default; CI's check records have their own)."""
        self.namespace = namespace
        self.allowed_ssh = allowed_ssh
        self.allowed_pgp = allowed_pgp
        self.ssh_file = ssh_file
        self.pgp_file = pgp_file
        self.base = base
        self.signers: AllowedSigners | None = (
            parse_allowed_signers(allowed_ssh) if allowed_ssh is not None else None
        )
        self._digest = hashlib.sha256(
            b"ssh\0"
            + (allowed_ssh or b"")
            + b"\0pgp\0"
            + (allowed_pgp or b"")
            + b"\0namespace\0"
            + namespace.encode()
        ).hexdigest()
        self.external_checks = 0
        self._budget_lock = threading.Lock()  # guards external_checks
        # answers of prefetch (or the error its run raised), until check asks for them; an
        # answer is then kept in _cache like any other
        self._prefetched: dict[tuple[object, ...], SignatureCheck | Exception] = {}
        self._prefetched_lock = threading.Lock()
        self.store = ResultCache.under(cache_dir, CACHE_KIND)
        self._allowed_ssh_digest = hashlib.sha256(allowed_ssh or b"").hexdigest()
        self._allowed_pgp_digest = hashlib.sha256(allowed_pgp or b"").hexdigest()
        # ssh-keygen's good answers, by what they vouch for (guarded by _prefetched_lock)
        self._vouched: dict[Vouch, SignatureCheck] = {}
        self.holds_until = math.inf
        """Until when (Unix time) every answer :meth:`check` gave holds whatever the clock
        says: ``inf`` while none may change with time, 0 once one may change at an instant not
        known here (see :meth:`_clock_bound`). What a snapshot of those answers may be trusted
        for (fixreview/listsnapshot.py)."""
        self._clock_lock = threading.Lock()  # guards holds_until

    # -- the one entry point ------------------------------------------------------------------

    def check(
        self,
        signing_format: str,
        payload: bytes,
        signature: bytes,
        principal: str,
        claimed: datetime,
    ) -> SignatureCheck:
        """Whether SIGNATURE over PAYLOAD is a valid signature by a key the base allows for
        PRINCIPAL, at the CLAIMED time and now. Cached by its exact inputs."""
        try:
            result = self._check(signing_format, payload, signature, principal, claimed)
        except BaseException:  # a timeout, no tool: nothing to keep
            self._bound_clock(0.0)
            raise
        self._bound_clock(self._clock_bound(signing_format, signature, result))
        return result

    def _check(
        self,
        signing_format: str,
        payload: bytes,
        signature: bytes,
        principal: str,
        claimed: datetime,
    ) -> SignatureCheck:
        key = self._memory_key(signing_format, payload, signature, principal, claimed)
        cached = self._remembered(key)
        if cached is not None:
            return cached
        if signing_format == "ssh":
            result = self._check_ssh(payload, signature, principal, claimed)
        else:
            result = self._check_openpgp(payload, signature, principal, claimed)
        _remember(key, result)
        return result

    def _bound_clock(self, until: float) -> None:
        with self._clock_lock:
            self.holds_until = min(self.holds_until, until)

    def _clock_bound(self, signing_format: str, signature: bytes, result: SignatureCheck) -> float:
        """Until when (Unix time) RESULT, the answer for SIGNATURE, holds whatever the clock
        says: ``inf`` when no passing of time changes it, 0 when the instant is not known here.

        Computed from the inputs alone, so the same wherever the answer came from (ssh-keygen,
        the disk cache, memory). A refusal for budget: 0. OpenPGP: ``inf`` for a refusal no time
        undoes, else 0 (key and signature expiries are gpg's to read). ssh: 0 for a certificate
        or a security key (their validity is ssh-keygen's to read); else the allowed signers'
        next validity bound (:meth:`_ssh_clock_bound`)."""
        if not _keepable(result):
            return 0.0
        if signing_format != "ssh":
            return math.inf if result.reason in _TIMELESS_PGP_REFUSALS else 0.0
        sig = parse_armored(signature)
        if sig is None:
            return math.inf
        if sig.key_type.endswith("-cert-v01@openssh.com") or sig.key_type.startswith("sk-"):
            return 0.0
        return self._ssh_clock_bound()

    def _ssh_clock_bound(self) -> float:
        """Until when the allowed signers' ``valid-after``/``valid-before`` windows keep every
        ssh answer as it is: ``inf`` without any; else a day before the next bound still to
        come (ssh-keygen reads a time without a zone as local time, at most a day away from
        UTC), 0 when that is already past or a line could not be read (it may hold a window)."""
        if self.allowed_ssh is None or not _CLOCK_OPTIONS.search(self.allowed_ssh):
            return math.inf
        if self.signers is None or self.signers.bad_lines:
            return 0.0
        now = time.time()
        bounds = [
            moment.timestamp()
            for entry in self.signers.entries
            for moment in (entry.valid_after, entry.valid_before)
            if moment is not None
        ]
        coming = [bound - _CLOCK_MARGIN for bound in bounds if bound + _CLOCK_MARGIN > now]
        until = min(coming, default=math.inf)
        return until if until > now else 0.0

    def prefetch(self, requests: Iterable[SignatureRequest]) -> None:
        """Check the signatures of REQUESTS (each what :meth:`check` is given) so that
        :meth:`check` then answers them from memory, the ``ssh-keygen -Y verify`` runs several
        at a time; each gets exactly the answer :meth:`check` alone would give it.

        Everything but the ssh-keygen runs is done here, one request after the other in the
        order given, so the budget for external checks goes to the same signatures as when
        :meth:`check` is called in that order; the runs go to :func:`verify_workers` threads as
        they are found. OpenPGP requests are checked here, one at a time (their GnuPG home is
        shared: see the module's docstring), while the ssh runs go on."""
        workers = verify_workers()
        pool = ThreadPoolExecutor(workers, "fixreview-verify") if workers > 1 else None
        pending: dict[tuple[object, ...], tuple[_SshRun, Future[SignatureCheck]]] = {}
        # runs that the answer of a run already pending may vouch for, until it is known
        following: dict[tuple[object, ...], _SshRun] = {}
        leading: dict[Vouch, Future[SignatureCheck]] = {}
        try:
            for signing_format, payload, signature, principal, claimed in requests:
                key = self._memory_key(signing_format, payload, signature, principal, claimed)
                if key in pending or key in following or self._peek(key):
                    continue
                if signing_format != "ssh":
                    self._settle(
                        key,
                        functools.partial(
                            self._check_openpgp, payload, signature, principal, claimed
                        ),
                    )
                    continue
                step = self._ssh_before_run(payload, signature, principal, claimed)
                if isinstance(step, SignatureCheck):
                    self._keep_prefetched(key, step)
                elif pool is None:
                    self._settle(key, functools.partial(self._ssh_run_answer, step))
                elif step.vouch is not None and step.vouch in leading:
                    following[key] = step
                else:
                    future = pool.submit(self._ssh_run_answer, step)
                    pending[key] = (step, future)
                    if step.vouch is not None:
                        leading[step.vouch] = future
            for key, step in following.items():
                assert step.vouch is not None and pool is not None
                leading[step.vouch].exception()  # its answer is in, whatever it is
                vouched = self._vouched_answer(step.vouch)
                if vouched is not None:
                    self._keep_prefetched(key, vouched)
                else:  # not vouched for: a run of its own
                    pending[key] = (step, pool.submit(self._ssh_run_answer, step))
        finally:
            if pool is not None:
                pool.shutdown(wait=True)  # no thread outlives the call
        for key, (_, future) in pending.items():
            self._settle(key, future.result)

    def _settle(self, key: tuple[object, ...], answer: Callable[[], SignatureCheck]) -> None:
        """Keep what ANSWER gives for :meth:`check`: the answer, or the error it raised (a
        timeout, no tool), which :meth:`check` raises where it would have raised it."""
        try:
            result = answer()
        except Exception as error:
            with self._prefetched_lock:
                self._prefetched[key] = error
            return
        self._keep_prefetched(key, result)

    def _memory_key(
        self,
        signing_format: str,
        payload: bytes,
        signature: bytes,
        principal: str,
        claimed: datetime,
    ) -> tuple[object, ...]:
        return (self._digest, signing_format, payload, signature, principal, claimed.isoformat())

    def _remembered(self, key: tuple[object, ...]) -> SignatureCheck | None:
        """The answer prefetched or given before for KEY (None: none in memory)."""
        with self._prefetched_lock:
            prefetched = self._prefetched.pop(key, None)
        if isinstance(prefetched, Exception):
            raise prefetched
        if prefetched is not None:
            _remember(key, prefetched)
            return prefetched
        with _cache_lock:
            cached = _cache.get(key)
            if cached is not None:
                _cache.move_to_end(key)
            return cached

    def _peek(self, key: tuple[object, ...]) -> bool:
        """Whether an answer for KEY is in memory (without reordering the LRU)."""
        with self._prefetched_lock:
            if key in self._prefetched:
                return True
        with _cache_lock:
            return key in _cache

    def _keep_prefetched(self, key: tuple[object, ...], result: SignatureCheck) -> None:
        if _keepable(result):
            with self._prefetched_lock:
                self._prefetched[key] = result

    def standing(self, signing_format: str, key: str, principal: str) -> KeyStanding:
        """Whether the key KEY (a fingerprint) may sign decisions for PRINCIPAL now, and every
        identity it stands for: asked before anything is signed, by the rules :meth:`check`
        applies to the key of a signature."""
        now = datetime.now(UTC)
        if signing_format == "ssh":
            if self.signers is None:
                return KeyStanding(f"no allowed signers file {self.ssh_file} on {self.base}")
            problem = self._ssh_listing_refusal(key, principal, now)
            return KeyStanding(problem, frozenset(self.signers.identities_of_key(key)))
        if self.allowed_pgp is None:
            return KeyStanding(f"no allowed OpenPGP keys file {self.pgp_file} on {self.base}")
        pgp = self._pgp()
        return KeyStanding(pgp.key_problem(key, principal), frozenset(pgp.emails_of(key)))

    def identities(self, check: SignatureCheck) -> set[str]:
        """Every identity (principal pattern or e-mail) the key that made CHECK stands for."""
        found = set(check.identities)
        if self.signers is not None:
            found.update(self.signers.identities_of_key(check.key))
        return found

    # -- ssh ------------------------------------------------------------------------------------

    def _check_ssh(
        self, payload: bytes, signature: bytes, principal: str, claimed: datetime
    ) -> SignatureCheck:
        step = self._ssh_before_run(payload, signature, principal, claimed)
        if isinstance(step, SignatureCheck):
            return step
        return self._ssh_run_answer(step)

    def _ssh_before_run(
        self, payload: bytes, signature: bytes, principal: str, claimed: datetime
    ) -> SignatureCheck | _SshRun:
        """Everything of an ssh check before ``ssh-keygen -Y verify``: the answer when that
        settles it (a refusal here, an answer kept on disk, a refusal for budget), else the
        run to make (its budget spent).

        Only a signature whose cryptography was checked here first (no certificate, no
        security key) is looked up or kept on disk, and only when the allowed signers set no
        validity window: the answer then depends on nothing but the key's inputs, and even a
        forged entry could never make a bad signature count."""
        if self.signers is None or self.allowed_ssh is None:
            return SignatureCheck(
                False, "unknown", f"no allowed signers file {self.ssh_file} on {self.base}"
            )
        sig = parse_armored(signature)
        if sig is None:
            return SignatureCheck(False, "unknown", "not an SSH signature")
        fingerprint = sig.fingerprint
        external = sig.key_type.endswith("-cert-v01@openssh.com") or sig.key_type.startswith("sk-")
        if not external:
            refusal = self._ssh_listing_refusal(fingerprint, principal, claimed)
            if refusal is not None:
                return SignatureCheck(False, fingerprint, refusal)
            verdict, why = sshsig_check(payload, signature, self.namespace)
            if verdict == "bad":
                return SignatureCheck(False, fingerprint, f"bad signature: {why}")
            external = verdict == "unchecked"
        vouch: Vouch | None = None
        if not external and not _CLOCK_OPTIONS.search(self.allowed_ssh):
            vouch = (fingerprint, principal)
        vouched = self._vouched_answer(vouch)
        if vouched is not None:
            return vouched
        disk_key = None
        if vouch is not None and self.store.enabled:
            disk_key = cache_key(
                CACHE_KIND,
                SIGNATURE_CHECKS_VERSION,
                "ssh",
                _tool("ssh-keygen"),
                self.namespace,
                principal,
                self._allowed_ssh_digest,
                payload,
                signature,
            )
            kept = self._kept(disk_key)
            if kept is not None:
                return self._vouching(vouch, self._ssh_answer(kept, principal))
        if external and not self._spend_external():
            return self._over_budget(fingerprint)
        return _SshRun(payload, signature, principal, disk_key, vouch)

    def _run_ssh(self, run: _SshRun) -> SignatureCheck:
        """``ssh-keygen -Y verify``'s answer, kept on disk where RUN says (safe in a thread:
        a private temporary directory, one process, an atomic cache write; a timeout or no
        tool raises SigningError)."""
        assert self.allowed_ssh is not None
        result = verify_ssh(
            run.payload, run.signature, run.principal, self.allowed_ssh, namespace=self.namespace
        )
        if run.disk_key is not None:  # ssh-keygen ran and answered
            self.store.put(run.disk_key, check_body(result, datetime.now(UTC), None))
        return self._vouching(run.vouch, result)

    def _vouching(self, vouch: Vouch | None, result: SignatureCheck) -> SignatureCheck:
        """RESULT, ssh-keygen's answer for a signature of VOUCH's key and principal; a good
        one is kept to vouch for their other signatures (:meth:`_vouched_answer`)."""
        if vouch is not None and result.valid:
            with self._prefetched_lock:
                self._vouched.setdefault(vouch, result)
        return result

    def _vouched_answer(self, vouch: Vouch | None) -> SignatureCheck | None:
        """ssh-keygen's good answer for a signature by VOUCH's key for VOUCH's principal, as the
        answer for another of their signatures; None when there is none (ssh-keygen is asked).

        A signature has a VOUCH only when everything ssh-keygen decides of a signature beyond
        its key and principal was checked here exactly as ssh-keygen checks it: the key is
        neither a certificate nor a security key, the allowed signers set no validity window
        (the listing's answer cannot change with the clock), and
        :mod:`~fixreview.signing.sshsig` found the armor, the format, the namespace, the hash
        and the cryptography good — where it never accepts what ssh-keygen refuses. What the
        key and the principal decide (the allowed signers listing, the key's type and size) is
        the same for every signature of theirs, and ssh-keygen answered it once. A refusal
        vouches for nothing."""
        if vouch is None:
            return None
        with self._prefetched_lock:
            return self._vouched.get(vouch)

    def _ssh_run_answer(self, run: _SshRun) -> SignatureCheck:
        """RUN made (in any thread), its answer in fixreview's words."""
        return self._ssh_answer(self._run_ssh(run), run.principal)

    def _ssh_answer(self, result: SignatureCheck, principal: str) -> SignatureCheck:
        """ssh-keygen's answer in fixreview's words."""
        if not result.valid and "not allowed for" in result.reason:
            return SignatureCheck(False, result.key, self._not_listed(result.key, principal))
        return result

    def _kept(self, key: str) -> SignatureCheck | None:
        body = self.store.get(key)
        return None if body is None else check_from_body(body, datetime.now(UTC))

    def _ssh_listing_refusal(
        self, fingerprint: str, principal: str, claimed: datetime
    ) -> str | None:
        assert self.signers is not None
        entries = [e for e in self.signers.for_key(fingerprint) if not e.cert_authority]
        listed = [e for e in entries if e.allows(principal)]
        if not listed:
            return self._not_listed(fingerprint, principal)
        scoped = [e for e in listed if e.allows_namespace(self.namespace)]
        if not scoped:
            return f"key {fingerprint} is not allowed to sign {self.namespace} records"
        now = datetime.now(UTC)
        last = ""
        for entry in scoped:
            problem = entry.valid_at(claimed)
            if problem is None:
                problem = entry.valid_at(now)
                if problem is None:
                    return None
                return f"key {fingerprint} is {problem} in {self.ssh_file}: not valid now"
            last = f"key {fingerprint} is {problem} in {self.ssh_file}: not at the decision's time"
        return last

    def _not_listed(self, fingerprint: str, principal: str) -> str:
        return (
            f"key {fingerprint} is not in the base's allowed signers for {principal} "
            f"({self.ssh_file} on {self.base})"
        )

    # -- OpenPGP --------------------------------------------------------------------------------

    def _check_openpgp(
        self, payload: bytes, signature: bytes, principal: str, claimed: datetime
    ) -> SignatureCheck:
        if self.allowed_pgp is None:
            return SignatureCheck(
                False, "unknown", f"no allowed OpenPGP keys file {self.pgp_file} on {self.base}"
            )
        key = None
        if self.store.enabled:
            key = cache_key(
                CACHE_KIND,
                SIGNATURE_CHECKS_VERSION,
                "openpgp",
                _tool("gpg"),
                principal,
                claimed.isoformat(),
                self._allowed_pgp_digest,
                payload,
                signature,
            )
            kept = self._kept(key)
            if kept is not None:
                return kept
        if not self._spend_external():
            return self._over_budget("unknown")
        now = datetime.now(UTC)
        verifier = self._pgp()
        result, until = verifier.verify_until(payload, signature, principal, claimed)
        if result.valid:
            emails = tuple(sorted(verifier.emails_of(result.key)))
            result = SignatureCheck(True, result.key, result.reason, emails)
        if key is not None and (
            (result.valid and until is not None) or result.reason in _TIMELESS_PGP_REFUSALS
        ):
            self.store.put(key, check_body(result, now, until if result.valid else None))
        return result

    def _pgp(self) -> OpenPgpVerifier:
        """The allowed OpenPGP keys imported once per process (one private GnuPG home)."""
        assert self.allowed_pgp is not None
        with _pgp_lock:
            verifier = _pgp_verifiers.get(self._digest)
            if verifier is None:
                verifier = _pgp_verifiers[self._digest] = OpenPgpVerifier(self.allowed_pgp)
            return verifier

    # -- the budget for external verifiers -----------------------------------------------------

    def _spend_external(self) -> bool:
        """Count one external check; False (nothing counted) past the budget. A hard bound
        under threads: counted under a lock."""
        with self._budget_lock:
            if self.external_checks >= MAX_EXTERNAL_CHECKS:
                return False
            self.external_checks += 1
            return True

    def _over_budget(self, key: str) -> SignatureCheck:
        return SignatureCheck(
            False,
            key,
            f"not checked: too many signatures that only an external verifier can judge "
            f"(more than {MAX_EXTERNAL_CHECKS}); junk records? see docs/threat-model.md",
        )


def _keepable(result: SignatureCheck) -> bool:
    """Whether RESULT is an answer to keep in memory (a refusal for budget is not)."""
    return "too many" not in result.reason


def _remember(key: tuple[object, ...], result: SignatureCheck) -> None:
    if not _keepable(result):
        return
    with _cache_lock:
        _cache[key] = result
        _cache.move_to_end(key)
        if len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
