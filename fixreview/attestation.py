"""``fixreview attest``: an in-toto Statement that a head passed the gate, and by whose review.

The statement (in-toto Statement v1, ``https://in-toto.io/Statement/v1``) has one subject: the
approved head commit, by its ``gitCommit`` and ``gitTree`` digests. Its predicate, of type
:data:`PREDICATE_TYPE` (docs/commands/attest.md describes every field), names what the gate
judged: the finding, the base and merge-base, the SHA-256 of the final diff, each counted
approval (reviewer, key fingerprint, time, checklist), the checks the policy requires and each
check that passed on the head (the counted record that decides it, as
:mod:`fixreview.check_rules` judged it: name, counts, URL, CI key fingerprint, time) and the
policy blob applied. A merge queue's commit (docs/verify.md) is attested as itself, naming the
approved head it merges. The predicate follows in-toto's versioning rules: within ``v1`` fields
are only ever added, and a field's absence means nothing (an earlier version did not write it).

:func:`bundle` wraps a statement in a DSSE envelope signed with the reviewer's ssh key, for the
namespace :data:`DSSE_NAMESPACE` (never a decision's): the signature is ``ssh-keygen -Y sign``'s
over the DSSE pre-authentication encoding, so stock ``ssh-keygen -Y verify`` checks it.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from fixreview import __version__
from fixreview.check_rules import JudgedCheck, judge_checks
from fixreview.errors import FixreviewError
from fixreview.gate import GateResult
from fixreview.policy import POLICY_PATH
from fixreview.repo.git import Repository
from fixreview.signing.ssh import SshSigner

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://fixreview.dev/attestation/review/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
DSSE_NAMESPACE = "fixreview-attestation"


def statement(repo: Repository, result: GateResult) -> dict[str, Any]:
    """The in-toto statement of an approved RESULT (FixreviewError when it is not approved)."""
    if not result.approved:
        raise FixreviewError("not approved: nothing to attest (fixreview verify says why)")
    fix = result.fix
    branch = fix.branch
    subject_commit = result.merged_as or branch.head
    trees = repo.commit_trees([subject_commit, branch.head])
    policy_blob = repo.ref_value(f"{branch.base_commit}:{POLICY_PATH}")
    checks = judge_checks(repo, result.policy, [fix])[branch.head]
    if checks.states != result.checks:  # a record written since the gate read the ref
        raise FixreviewError(
            "the check records changed while attesting: nothing attested (run it again)"
        )
    finding = fix.finding
    predicate: dict[str, Any] = {
        "tool": {"name": "fixreview", "version": __version__},
        "finding": (
            {"id": finding.id, "title": finding.title, "severity": finding.severity}
            if finding is not None
            else {"id": fix.finding_id or "", "title": "", "severity": ""}
        ),
        "branch": branch.name,
        "head": {"commit": branch.head, "tree": trees.get(branch.head, "")},
        "base": {"branch": branch.base, "commit": branch.base_commit},
        "mergeBase": branch.merge_base,
        "diffSha256": result.diff_sha256,
        "requiredApprovals": result.required,
        "approvals": [
            {
                "reviewer": j.record.decision.reviewer,
                "reviewerName": j.record.decision.reviewer_name,
                "signingFormat": j.record.decision.signing_format,
                "key": j.signature.key if j.signature is not None else j.record.decision.key,
                "time": j.record.decision.time.isoformat(),
                "checklist": j.record.decision.checklist.model_dump(mode="json"),
                "acknowledgedFlags": list(j.record.decision.acknowledged_flags),
                "decisionId": j.record.decision.id,
            }
            for j in result.counted
        ],
        "requiredChecks": list(dict.fromkeys(result.policy.policy.checks.required)),
        "checks": [_passed_check(j) for j in checks.passed],
        "policy": {
            "path": POLICY_PATH,
            "blob": policy_blob,  # None: the base has no policy file, the defaults applied
        },
    }
    if result.merged_as is not None:
        predicate["mergeQueue"] = {"mergeCommit": result.merged_as, "into": result.merged_into}
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {
                "name": branch.name or subject_commit,
                "digest": {
                    "gitCommit": subject_commit,
                    "gitTree": trees.get(subject_commit, ""),
                },
            }
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }


def _passed_check(judged: JudgedCheck) -> dict[str, Any]:
    """The counted record that decided a passed check, as the predicate names it."""
    record = judged.stored.record
    return {
        "name": record.name,
        "status": record.status,
        "counts": record.junit.model_dump(mode="json") if record.junit is not None else None,
        "url": record.url,
        "signer": record.signer,
        "signerName": record.signer_name,
        "key": judged.signature.key,
        "time": record.time.isoformat(),
        "recordId": record.id,
    }


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding of PAYLOAD (what the signature covers)."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def bundle(document: dict[str, Any], signer: SshSigner) -> dict[str, Any]:
    """DOCUMENT in a DSSE envelope signed by SIGNER for :data:`DSSE_NAMESPACE`; the signature is
    the armored SSHSIG, base64-encoded, its key id the key's fingerprint."""
    payload = json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")
    signed = signer.sign(pae(PAYLOAD_TYPE, payload), DSSE_NAMESPACE)
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [
            {"keyid": signed.key, "sig": base64.b64encode(signed.signature).decode("ascii")}
        ],
    }
