"""Every gate rule pinned by a record an attacker or a modified client would produce: signed
directly with a real key (tests/gate_util.py), bypassing `decide`'s own checks, then judged by
`fixreview verify`. Each test fails when the rule it names is removed from the gate."""

from __future__ import annotations

import base64
import json
import re
import struct
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fixreview.cli.jsonout import gate_document
from fixreview.cli.render import gate_report
from fixreview.decisions import ChecklistItem
from fixreview.gate import evaluate
from fixreview.notes.records import b64encode
from fixreview.notes.store import DECISIONS_REF
from fixreview.policy import load_policy
from fixreview.queue import load_queue
from fixreview.repo.git import Repository
from fixreview.signing.base import SSH_NAMESPACE
from tests.cliutil import fixreview
from tests.gate_util import craft, full_checklist
from tests.gitutil import AI, TestRepo
from tests.signing_util import Reviewer, make_reviewer


@pytest.fixture
def people(tmp_path: Path) -> dict[str, Reviewer]:
    keys = tmp_path / "keys"
    return {
        "aisha": make_reviewer(keys, "Aisha Okafor", "aisha@example.com"),
        "tomas": make_reviewer(keys, "Tomás Herrera", "tomas@example.com"),
        "lee": make_reviewer(keys, "Lee Chen", "lee@example.com"),
        "aisha2": make_reviewer(keys / "second", "Aisha Okafor", "aisha@example.com"),
    }


def _setup(
    repo: TestRepo,
    signers: str,
    policy: str = "",
    fix_files: dict[str, str | bytes | None] | None = None,
    who: tuple[str, str] = AI,
) -> TestRepo:
    files: dict[str, str | bytes | None] = {".fixreview/allowed_signers": signers}
    if policy:
        files[".fixreview.toml"] = policy
    repo.commit("policy and reviewers", files)
    repo.checkout("-b", "ai-fix/sqli")
    repo.commit(
        "Parameterize\n\nUse bound parameters so user input stays data.\n\nFinding-Id: SEC-1",
        fix_files
        or {
            "app/db.py": "def query(sql, args):\n    return sql, args\n",
            "tests/test_db.py": "def test_query():\n    assert True\n",
        },
        who=who,
    )
    repo.checkout("main")
    return repo


# the fixes' Finding-Id: SEC-1 resolves in no findings source: no-linked-finding blocks too
SENSITIVE_ACKS = ["sensitive-path", "no-linked-finding"]


def _lines(*reviewers: Reviewer) -> str:
    return "".join(r.allowed_line() + "\n" for r in reviewers)


def _verify(repo: TestRepo, rev: str = "ai-fix/sqli") -> tuple[int, dict[str, object], str]:
    """The gate's verdict on REV, as `verify` computes it (in-process: the exit codes of the
    command itself are pinned in test_decide_verify.py): (exit code, --json document, text)."""
    result = evaluate(Repository(repo.path), rev)
    doc = json.loads(json.dumps(gate_document(result)))
    return (0 if result.approved else 1), doc, gate_report(result)


def _reasons(doc: dict[str, object]) -> list[str]:
    decisions = doc["decisions"]
    assert isinstance(decisions, list)
    return [str(d["reason"]) for d in decisions if not d["counted"]]


# -- rule 3: the whole checklist ---------------------------------------------------------------


def test_an_approval_with_an_open_checklist_item_never_counts(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    _setup(repo, _lines(people["aisha"]))
    checklist = full_checklist()
    checklist.scope = ChecklistItem(status="open")
    craft(repo, people["aisha"], checklist=checklist.model_dump())
    code, _, out = _verify(repo)
    assert code == 1 and "checklist not confirmed: scope" in out
    no_rollback = full_checklist(rollback="  ")
    craft(repo, people["aisha"], checklist=no_rollback.model_dump())
    code, _doc, out = _verify(repo)
    assert code == 1 and "no rollback criteria written" in out
    craft(repo, people["aisha"])  # the same reviewer, complete: now it counts
    assert _verify(repo)[0] == 0


# -- rule 6: blocking risk flags ---------------------------------------------------------------


def test_an_approval_that_does_not_acknowledge_a_blocking_flag_never_counts(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    _setup(
        repo,
        _lines(people["aisha"], people["tomas"]),
        fix_files={
            "app/db.py": "def query(sql, args):\n    return sql, args\n",
            "tests/test_db.py": "def test_query():\n    assert True\n",
            ".github/workflows/ci.yml": "on: push\njobs: {}\n",
        },
    )
    craft(repo, people["aisha"], acknowledged_flags=[])
    code, doc, out = _verify(repo)
    assert "ci-config-change" in doc["blocking_flags"]  # type: ignore[operator]
    assert code == 1 and "blocking risk flags not acknowledged: ci-config-change" in out
    blocking = list(doc["blocking_flags"])  # type: ignore[call-overload]
    craft(repo, people["aisha"], acknowledged_flags=blocking)
    craft(repo, people["tomas"], acknowledged_flags=blocking)
    code, doc, out = _verify(repo)
    assert code == 0, out


# -- rule 1: the count, one person one vote ------------------------------------------------------


def test_one_reviewer_with_two_keys_counts_once(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    _setup(repo, _lines(people["aisha"], people["aisha2"]), "[approvals]\nrequired = 2\n")
    craft(repo, people["aisha"])
    craft(repo, people["aisha2"])
    code, doc, out = _verify(repo)
    assert code == 1 and "1 of 2 required approvals" in out
    decisions = doc["decisions"]
    assert [d["counted"] for d in decisions] == [False, True]  # type: ignore[attr-defined]
    assert "superseded by a later decision of the same reviewer" in _reasons(doc)[0]


def test_one_key_under_two_principals_is_one_vote_and_all_its_identities(
    repo: TestRepo, people: dict[str, Reviewer], tmp_path: Path
) -> None:
    aisha = people["aisha"]
    alias = Reviewer("A. Okafor", "a.okafor@example.com", aisha.key)
    signers = f"aisha@example.com,a.okafor@example.com {aisha.public}\n" + _lines(people["tomas"])
    _setup(repo, signers, "[approvals]\nrequired = 2\n")
    craft(repo, aisha)
    craft(repo, alias)
    code, _, out = _verify(repo)
    assert code == 1 and "1 of 2 required approvals" in out
    # the key holder authors a commit of the fix under one identity, approves under the other
    repo.checkout("ai-fix/sqli")
    repo.commit(
        "tweak",
        {"app/db.py": "def query(sql, args=()):\n    return sql, args\n"},
        who=(alias.name, alias.email),
    )
    repo.checkout("main")
    craft(repo, aisha)
    craft(repo, people["tomas"])
    code, _doc, out = _verify(repo)
    assert code == 1 and "authored or committed a commit of this fix" in out


def test_a_wildcard_principal_is_one_vote_and_covers_every_author_it_matches(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    team = people["lee"]
    signers = f"*@example.com {team.public}\n"
    _setup(repo, signers, "[approvals]\nrequired = 2\n")
    craft(repo, Reviewer("Ann", "ann@example.com", team.key))
    craft(repo, Reviewer("Bob", "bob@example.com", team.key))
    code, _, out = _verify(repo)
    assert code == 1 and "1 of 2 required approvals" in out
    repo.commit("one approval is enough", {".fixreview.toml": "[approvals]\nrequired = 1\n"})
    repo.checkout("ai-fix/sqli")
    repo.git("rebase", "-q", "main")
    repo.commit("human touch", {"app/db.py": "x = 2\n"}, who=("Zed", "zed@example.com"))
    repo.checkout("main")
    craft(repo, Reviewer("Ann", "ann@example.com", team.key))
    code, _doc, out = _verify(repo)
    assert code == 1 and "authored or committed a commit of this fix" in out


# -- rule 1: a sensitive path can only raise the count -------------------------------------------


def test_a_sensitive_path_never_lowers_the_approvals_needed(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    reviewers = [people["aisha"], people["tomas"], people["lee"]]
    _setup(
        repo,
        _lines(*reviewers),
        "[approvals]\nrequired = 3\n",
        fix_files={"app/auth.py": "# one comment line\n"},
    )
    for who in reviewers[:2]:
        craft(repo, who, acknowledged_flags=SENSITIVE_ACKS)
    code, doc, out = _verify(repo)
    assert doc["required"] == 3 and doc["sensitive"] is True
    assert code == 1 and "2 of 3 required approvals" in out
    craft(repo, reviewers[2], acknowledged_flags=SENSITIVE_ACKS)
    assert _verify(repo)[0] == 0


def test_a_sensitive_path_raises_the_count_to_sensitive(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    _setup(
        repo,
        _lines(people["aisha"], people["tomas"]),
        fix_files={"app/auth.py": "# one comment line\n"},
    )
    craft(repo, people["aisha"], acknowledged_flags=SENSITIVE_ACKS)
    code, doc, out = _verify(repo)
    assert code == 1 and doc["required"] == 2 and "1 of 2 required approvals" in out


def test_a_policy_with_sensitive_below_required_is_refused(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    _setup(repo, _lines(people["aisha"]), "[approvals]\nrequired = 3\nsensitive = 2\n")
    proc = fixreview(repo, "verify", "ai-fix/sqli")
    assert proc.returncode == 2
    assert "approvals.sensitive (2) is below approvals.required (3)" in proc.stderr


# -- rule 4: identities --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "author",
    [
        ("Someone Else", "AISHA@Example.COM"),  # the same e-mail, other case
        ("aisha okafor", "aokafor@elsewhere.example"),  # the same name, other e-mail
    ],
)
def test_an_author_cannot_approve_under_another_case_or_address(
    repo: TestRepo, people: dict[str, Reviewer], author: tuple[str, str]
) -> None:
    _setup(repo, _lines(people["aisha"]), who=author)
    craft(repo, people["aisha"])
    code, _doc, out = _verify(repo)
    assert code == 1 and "authored or committed a commit of this fix" in out


def test_an_ai_identity_by_name_alone_cannot_approve(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    bot = Reviewer("renovate[bot]", "ops@example.com", people["lee"].key)
    _setup(repo, _lines(Reviewer("x", "ops@example.com", people["lee"].key)))
    craft(repo, bot)
    code, _doc, out = _verify(repo)
    assert code == 1 and "is an AI identity" in out


# -- rule 5: vetoes ----------------------------------------------------------------------------


def test_a_veto_wins_an_exact_tie_with_an_approval_of_the_same_reviewer(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    _setup(repo, _lines(people["aisha"]))
    when = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    craft(repo, people["aisha"], verdict="reject", time=when)
    craft(repo, people["aisha"], time=when)
    code, _doc, out = _verify(repo)
    assert code == 1 and "reject by Aisha Okafor" in out
    craft(repo, people["aisha"], time=when + timedelta(seconds=1))  # a later approval lifts it
    assert _verify(repo)[0] == 0


def test_a_veto_keeps_blocking_an_empty_commit_on_top(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    _setup(repo, _lines(people["aisha"], people["tomas"]))
    craft(repo, people["aisha"], verdict="reject")
    repo.checkout("ai-fix/sqli")
    repo.commit("retry", who=AI)  # an empty commit: the same tree, the same final diff
    repo.checkout("main")
    craft(repo, people["tomas"])
    code, _doc, out = _verify(repo)
    assert code == 1 and "reject by Aisha Okafor" in out
    listed = json.loads(fixreview(repo, "list", "--all", "--json").stdout)
    assert listed["fixes"][0]["status"] == "rejected"
    # a real change to the diff is a new fix to judge: the old veto does not bind it
    repo.checkout("ai-fix/sqli")
    repo.commit("really fixed", {"app/db.py": "def query(sql, args):\n    return args\n"}, who=AI)
    repo.checkout("main")
    craft(repo, people["tomas"])
    assert _verify(repo)[0] == 0
    # only that reviewer's own later decision clears it on the same diff
    repo.checkout("ai-fix/sqli")
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.commit("and again", who=AI)
    repo.checkout("main")
    craft(repo, people["tomas"])
    assert _verify(repo)[0] == 1
    craft(repo, people["aisha"])
    assert _verify(repo)[0] == 0


# -- keys that are not live ---------------------------------------------------------------------


def test_ssh_key_outside_its_valid_window_never_counts(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    aisha = people["aisha"]
    signers = (
        f'aisha@example.com valid-after="20260101Z",valid-before="20260601Z" {aisha.public}\n'
        f'tomas@example.com valid-before="20200101Z" {people["tomas"].public}\n'
    )
    _setup(repo, signers)
    # claimed before the key's window opened (ssh-keygen alone would check only "now")
    craft(repo, aisha, time=datetime(2025, 6, 1, tzinfo=UTC))
    craft(repo, people["tomas"], time=datetime(2019, 6, 1, tzinfo=UTC))
    code, doc, _ = _verify(repo)
    assert code == 1
    reasons = " ".join(_reasons(doc))
    assert "only valid after 2026-01-01" in reasons and "not at the decision's time" in reasons
    assert "only valid before 2020-01-01" in reasons
    # claimed inside the window, but the window has closed by now
    craft(repo, aisha, time=datetime(2026, 3, 1, tzinfo=UTC))
    code, doc, _out = _verify(repo)
    assert code == 1 and "not valid now" in " ".join(_reasons(doc))


def test_a_key_not_listed_for_the_reviewer_is_explained_in_words(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    _setup(repo, _lines(people["aisha"]))
    craft(repo, people["tomas"])
    code, _doc, out = _verify(repo)
    assert code == 1
    assert "is not in the base's allowed signers for tomas@example.com" in out


# -- bounded work -------------------------------------------------------------------------------


def test_twenty_thousand_junk_records_leave_the_verdict_right(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    """Records naming an allowed key with garbage signatures, unsigned nonsense, nested TOML:
    none counts, none vetoes, and none is sent to ssh-keygen (benchmarks/junk_records.py times
    it)."""
    aisha = people["aisha"]
    _setup(repo, _lines(aisha))
    real = craft(repo, aisha)
    head = repo.rev("ai-fix/sqli")
    _tag, payload, signature = real.split(" ")
    from fixreview.notes.records import b64decode

    sig = b64decode(signature)
    body = b"".join(sig.splitlines()[1:-1])
    import base64

    blob = bytearray(base64.b64decode(body))
    blob[-10] ^= 0xFF  # the same key, a broken signature
    forged_sig = (
        b"-----BEGIN SSH SIGNATURE-----\n"
        + base64.b64encode(bytes(blob))
        + b"\n-----END SSH SIGNATURE-----\n"
    )
    text = b64decode(payload).decode()
    junk = []
    for i in range(20_000):
        if i % 4 == 0:
            veto = text.replace('verdict = "approve"', 'verdict = "reject"').replace(
                'comment = ""', f'comment = "junk {i}"'
            )
            junk.append(f"decision {b64encode(veto.encode())} {b64encode(forged_sig)}")
        elif i % 4 == 1:
            junk.append(f"decision {b64encode(('x = ' + '[' * 50).encode())} {b64encode(b'x')}")
        elif i % 4 == 2:
            junk.append(f"decision {b64encode(text.encode())} {b64encode(forged_sig[:-40])}")
        else:
            junk.append(f"garbage line {i}")
    note = "\n".join([real, *junk]) + "\n"
    subprocess.run(
        ["git", "notes", f"--ref={DECISIONS_REF}", "add", "-f", "-F", "-", head],
        cwd=repo.path,
        input=note.encode(),
        check=True,
        capture_output=True,
    )
    code, _doc, out = _verify(repo)
    assert code == 0, out[-2000:]
    assert "APPROVED: 1 of 1 approvals" in out
    assert "bad signature" in out


# -- OpenPGP decisions through the gate ----------------------------------------------------------


@pytest.fixture
def gnupg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = Path(f"/tmp/fxr-gate-{tmp_path.name[-12:]}")
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    yield home
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True)
    subprocess.run(["rm", "-rf", str(home)], check=False)


def _gpg(*args: str, input: bytes | None = None) -> bytes:
    return subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--pinentry-mode", "loopback", *args],
        input=input,
        capture_output=True,
        check=True,
    ).stdout


def _pgp_key(uid: str, *, fake_time: str | None = None, expire: str = "never") -> str:
    extra = ["--faked-system-time", fake_time] if fake_time else []
    _gpg(*extra, "--quick-gen-key", uid, "ed25519", "sign", expire)
    listing = _gpg("--with-colons", "--list-keys", uid).decode()
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


class _PgpSigner:
    """Signs like fixreview's OpenPgpSigner, optionally at a faked time (for expired keys)."""

    format = "openpgp"

    def __init__(self, fpr: str, fake_time: str | None = None) -> None:
        self.fpr = fpr
        self.fake_time = fake_time

    def fingerprint(self) -> str:
        return self.fpr

    def sign(self, payload: bytes) -> object:
        from fixreview.signing.base import Signed

        extra = ["--faked-system-time", self.fake_time] if self.fake_time else []
        return Signed(_gpg(*extra, "-bsau", self.fpr, input=payload), self.fpr)


def test_openpgp_decisions_count_only_from_live_allowed_keys(repo: TestRepo, gnupg: Path) -> None:
    from fixreview.models import Person
    from tests.gate_util import draft, sign_and_append

    good = _pgp_key("Olu Reviewer <olu@example.com>")
    old = _pgp_key("Old Key <old@example.com>", fake_time="20200101T000000", expire="1d")
    revoked = _pgp_key("Rev Oked <rev@example.com>")
    stranger = _pgp_key("Eve Two <eve2@example.com>")
    repo.checkout("-b", "ai-fix/sqli")
    repo.commit("Parameterize\n\nFinding-Id: SEC-1", {"app/db.py": "x = 1\n"}, who=AI)
    repo.checkout("main")

    def record(who: tuple[str, str], signer: _PgpSigner, **changes: object) -> None:
        person = Person(name=who[0], email=who[1])
        decision = draft(
            repo,
            "ai-fix/sqli",
            person,
            signer,
            signing_format="openpgp",
            **changes,  # type: ignore[arg-type]
        )
        sign_and_append(repo, decision, signer)  # type: ignore[arg-type]

    # signed while the key was valid, expired since
    record(
        ("Old Key", "old@example.com"),
        _PgpSigner(old, "20200101T120000"),
        time=datetime(2020, 1, 1, 12, tzinfo=UTC),
    )
    # signed, then the key was revoked
    record(("Rev Oked", "rev@example.com"), _PgpSigner(revoked))
    # a good key, claimed at a time before the key existed
    record(
        ("Olu Reviewer", "olu@example.com"), _PgpSigner(good), time=datetime(2020, 1, 1, tzinfo=UTC)
    )
    # a key that is not among the allowed keys, claiming an allowed reviewer
    record(("Olu Reviewer", "olu@example.com"), _PgpSigner(stranger))
    revocation = (gnupg / "openpgp-revocs.d" / f"{revoked}.rev").read_text()
    _gpg("--import", input=revocation.replace(":-----BEGIN", "-----BEGIN").encode())
    allowed = _gpg("--armor", "--export", good, old, revoked).decode()
    repo.commit("allowed keys", {".fixreview/allowed_keys.asc": allowed})
    code, doc, out = _verify(repo)
    assert code == 1, out
    reasons = _reasons(doc)
    assert len(reasons) == 4, reasons
    joined = " ".join(reasons)
    assert "the signing key has expired" in joined
    assert "the signing key has been revoked" in joined
    assert "not yet valid at the decision's time" in joined
    assert "not among the allowed keys" in joined
    # a good key, now, counts: the OpenPGP path really verifies
    record(("Olu Reviewer", "olu@example.com"), _PgpSigner(good))
    code, doc, out = _verify(repo)
    assert code == 0, out


# -- what merging does -------------------------------------------------------------------------


def test_a_head_with_several_merge_bases_is_refused_even_when_approved(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    from tests.test_merge_bases import _criss_cross

    repo.commit("reviewers", {".fixreview/allowed_signers": _lines(people["aisha"])})
    _, _, head = _criss_cross(repo)
    acks = ["merge-commit", "no-linked-finding"]
    craft(repo, people["aisha"], rev="ai-fix/docs", acknowledged_flags=acks)
    code, doc, _ = _verify(repo, "ai-fix/docs")
    assert code == 1
    assert any("2 merge-bases with main" in p for p in doc["problems"])  # type: ignore[attr-defined]
    # the approval itself is validly signed and bound: only the history keeps it from counting
    [decision] = doc["decisions"]  # type: ignore[misc]
    assert decision["signature_valid"] and not decision["counted"]
    assert "2 merge-bases with main" in decision["reason"]
    assert doc["head"] == head


# -- the ledger, as verify, log and the app report it -------------------------------------------


def test_a_dropped_veto_is_reported_as_tampering_everywhere(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    from fixreview.app.screens.review import decisions_text
    from fixreview.review import load_review

    _setup(repo, _lines(people["aisha"], people["tomas"]))
    approval = craft(repo, people["aisha"])
    craft(repo, people["tomas"], verdict="reject")
    head = repo.rev("ai-fix/sqli")
    # rewrite the note keeping only the approval: a descendant notes commit, no force push
    repo.git("notes", f"--ref={DECISIONS_REF}", "add", "-f", "-m", approval, head)
    dropped_by = repo.rev(DECISIONS_REF)
    code, doc, out = _verify(repo)
    assert code == 1 and "reject by Tomás Herrera" in out
    assert f"tampering: notes commit {dropped_by[:12]} removed a reject by Tomás Herrera" in out
    assert doc["tampering"] and dropped_by[:12] in str(doc["tampering"])
    log = fixreview(repo, "log", "ai-fix/sqli")
    assert f"tampering: notes commit {dropped_by[:12]}" in log.stdout, log.stdout + log.stderr
    r = Repository(repo.path)
    fix = load_queue(r).get("ai-fix/sqli")
    shown = decisions_text(load_review(r, fix, load_policy(r)).gate).plain
    assert f"tampering: notes commit {dropped_by[:12]}" in shown


# -- statuses, as list and the app show them -----------------------------------------------------


def _status(repo: TestRepo) -> str:
    from fixreview.gate import status_of

    r = Repository(repo.path)
    result = evaluate(r, "ai-fix/sqli")
    return str(status_of(result))


def test_statuses_follow_the_gate(repo: TestRepo, people: dict[str, Reviewer]) -> None:
    _setup(repo, _lines(people["aisha"], people["tomas"]), "[approvals]\nrequired = 2\n")
    craft(repo, people["aisha"])
    assert _status(repo) == "pending"  # bound, valid, but 1 of 2: not stale, not approved
    craft(repo, people["tomas"])
    assert _status(repo) == "approved"
    repo.checkout("ai-fix/sqli")
    repo.commit("more", {"app/db.py": "def query(sql, args):\n    return args\n"}, who=AI)
    repo.checkout("main")
    assert _status(repo) == "stale"  # approvals exist, of an earlier commit
    craft(repo, people["tomas"], verdict="request-changes")
    assert _status(repo) == "changes-requested"


def test_one_approval_missing_an_acknowledgement_does_not_hide_the_next(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    _setup(
        repo,
        _lines(people["aisha"], people["tomas"]),
        "[approvals]\nrequired = 1\nsensitive = 1\n",
        fix_files={"app/auth.py": "# one comment line\n"},
    )
    craft(repo, people["tomas"], acknowledged_flags=[])
    craft(repo, people["aisha"], acknowledged_flags=SENSITIVE_ACKS)
    code, doc, out = _verify(repo)
    assert code == 0, out
    assert [d["counted"] for d in doc["decisions"]] == [False, True]  # type: ignore[attr-defined]


def test_validly_signed_records_that_do_not_bind_leave_a_fix_pending(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    """Signed by an allowed key but copied onto another commit, or naming another tree,
    merge-base or diff: none counts, none makes the fix look approved-then-changed (stale)."""
    _setup(repo, _lines(people["aisha"]))
    copied = craft(repo, people["aisha"])
    repo.checkout("ai-fix/sqli")
    head = repo.commit("a commit on top", {"app/db.py": "x = 3\n"}, who=AI)
    repo.checkout("main")
    repo.git("update-ref", "-d", DECISIONS_REF)  # a history without the original
    repo.git("notes", f"--ref={DECISIONS_REF}", "add", "-m", copied, head)
    code, doc, out = _verify(repo)
    assert code == 1 and "copied from another commit" in out
    assert _status(repo) == "pending"
    for wrong in ({"head_tree": "0" * 40}, {"base_commit": "0" * 40}, {"diff_sha256": "f" * 64}):
        craft(repo, people["aisha"], **wrong)
    code, doc, out = _verify(repo)
    assert code == 1
    reasons = " ".join(_reasons(doc))
    for why in ("head tree does not match", "decided against merge-base", "diff hash does not"):
        assert why in reasons
    assert _status(repo) == "pending"


def test_a_rejected_fix_rebased_with_the_same_diff_is_still_rejected_in_the_list(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    _setup(repo, _lines(people["aisha"], people["tomas"]))
    craft(repo, people["aisha"], verdict="reject")
    repo.commit("main moves on", {"docs/other.md": "unrelated\n"})
    repo.checkout("ai-fix/sqli")
    repo.git("rebase", "-q", "main")
    repo.checkout("main")
    craft(repo, people["tomas"])
    code, _doc, out = _verify(repo)
    assert code == 1 and "reject by Aisha Okafor" in out
    listed = json.loads(fixreview(repo, "list", "--all", "--json").stdout)
    assert listed["fixes"][0]["status"] == "rejected"


def test_one_approval_with_an_open_checklist_does_not_hide_the_next(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    _setup(repo, _lines(people["aisha"], people["tomas"]))
    checklist = full_checklist()
    checklist.intent = ChecklistItem(status="open")
    craft(repo, people["tomas"], checklist=checklist.model_dump())
    craft(repo, people["aisha"])
    code, doc, out = _verify(repo)
    assert code == 0, out
    assert [d["counted"] for d in doc["decisions"]] == [False, True]  # type: ignore[attr-defined]


def test_a_mixed_case_principal_still_matches_its_authors_address(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    """The allowed signers list "Aisha.Okafor@Example.com" (ssh-keygen matches it exactly); the
    same person authored a commit as aisha.okafor@example.com: the comparison folds case."""
    mixed = Reviewer("A. O.", "Aisha.Okafor@Example.com", people["aisha"].key)
    _setup(repo, _lines(mixed), who=("Someone", "aisha.okafor@example.com"))
    craft(repo, mixed)
    code, _doc, out = _verify(repo)
    assert code == 1 and "authored or committed a commit of this fix" in out


def test_an_approval_by_a_key_not_allowed_leaves_a_fix_pending(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    _setup(repo, _lines(people["aisha"]))
    craft(repo, people["tomas"])
    assert _status(repo) == "pending"
    code, doc, _ = _verify(repo)
    assert code == 1 and doc["decisions"][0]["signature_valid"] is False  # type: ignore[index]


# -- signatures that cannot be checked never count ----------------------------------------------


def _forged(real: str, signature: bytes, **fields: str) -> str:
    """REAL's payload with FIELDS changed, next to SIGNATURE: a record anyone can write."""
    from fixreview.notes.records import b64decode

    text = b64decode(real.split(" ")[1]).decode()
    for key, value in fields.items():
        text = re.sub(rf'(?m)^{key} = ".*"$', f'{key} = "{value}"', text)
    return f"decision {b64encode(text.encode())} {b64encode(signature)}"


def _append(repo: TestRepo, lines: list[str]) -> None:
    from fixreview.notes.store import append_record

    r = Repository(repo.path)
    for line in lines:
        append_record(r, DECISIONS_REF, repo.rev("ai-fix/sqli"), line)


def test_no_allowed_signers_file_means_no_ssh_decision_counts(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    repo.checkout("-b", "ai-fix/sqli")
    repo.commit("Fix\n\nFinding-Id: SEC-1", {"app/db.py": "x = 1\n"}, who=AI)
    repo.checkout("main")
    craft(repo, people["aisha"])
    code, doc, _ = _verify(repo)
    assert code == 1 and "no allowed signers file .fixreview/allowed_signers" in _reasons(doc)[0]


def test_a_garbage_signature_neither_counts_nor_vetoes(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    _setup(repo, _lines(people["aisha"], people["tomas"]))
    real = craft(repo, people["aisha"])
    garbage = b"-----BEGIN SSH SIGNATURE-----\nbm90IGEgc2lnbmF0dXJl\n-----END SSH SIGNATURE-----\n"
    # a well-framed SSHSIG whose key field is no key (not even its type's length): it once
    # raised out of the verifier and stopped the whole judgement
    def wire(*fields: bytes) -> bytes:
        return b"".join(struct.pack(">I", len(field)) + field for field in fields)

    signed = wire(b"ssh-ed25519", b"x" * 64)
    keyless = wire(b"\0", SSH_NAMESPACE.encode(), b"", b"sha512", signed)
    armored = b"-----BEGIN SSH SIGNATURE-----\n%s\n-----END SSH SIGNATURE-----\n" % (
        base64.b64encode(b"SSHSIG\0\0\0\x01" + keyless)
    )
    _append(
        repo,
        [
            _forged(real, garbage, verdict="reject", reviewer="tomas@example.com"),
            _forged(real, b"junk", reviewer="tomas@example.com"),
            _forged(real, armored, verdict="reject", reviewer="tomas@example.com"),
        ],
    )
    code, doc, out = _verify(repo)
    assert code == 0, out
    assert sorted(_reasons(doc)) == ["signature: not an SSH signature"] * 3


def test_openpgp_records_without_an_allowed_keys_file_never_count(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    _setup(repo, _lines(people["aisha"]))
    real = craft(repo, people["aisha"])
    armored = b"-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n"
    _append(repo, [_forged(real, armored, verdict="reject", signing_format="openpgp")])
    code, doc, out = _verify(repo)
    assert code == 0, out
    assert "no allowed OpenPGP keys file .fixreview/allowed_keys.asc" in _reasons(doc)[0]


def test_signatures_only_an_external_verifier_can_judge_are_bounded(
    repo: TestRepo, people: dict[str, Reviewer], gnupg: Path
) -> None:
    """OpenPGP junk naming a reviewer: at most MAX_EXTERNAL_CHECKS go to gpg; the rest are
    refused as not checked, and none of them counts or vetoes."""
    from fixreview.signing.verifier import MAX_EXTERNAL_CHECKS

    fpr = _pgp_key("Tomás Herrera <tomas@example.com>")
    allowed = _gpg("--armor", "--export", fpr).decode()
    _setup(repo, _lines(people["aisha"]))
    repo.commit("keys", {".fixreview/allowed_keys.asc": allowed})
    real = craft(repo, people["aisha"])
    junk = [
        _forged(
            real,
            b"-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n",
            verdict="reject",
            signing_format="openpgp",
            reviewer="tomas@example.com",
            comment=f"junk {i}",
        )
        for i in range(MAX_EXTERNAL_CHECKS + 6)
    ]
    _append(repo, junk)
    code, doc, out = _verify(repo)
    assert code == 0, out
    reasons = _reasons(doc)
    assert len(reasons) == MAX_EXTERNAL_CHECKS + 6
    assert sum("not checked: too many" in r for r in reasons) == 6


def test_a_fix_with_unrelated_history_is_listed_beside_decided_fixes(
    repo: TestRepo, people: dict[str, Reviewer]
) -> None:
    _setup(repo, _lines(people["aisha"]))
    craft(repo, people["aisha"])
    repo.git("checkout", "-q", "--orphan", "ai-fix/orphan")
    repo.commit("unrelated", {"other.txt": "x\n"}, who=AI)
    repo.checkout("main")
    listed = fixreview(repo, "list", "--all", "--json")
    assert listed.returncode == 0, listed.stderr
    statuses = {row["branch"]: row["status"] for row in json.loads(listed.stdout)["fixes"]}
    assert statuses == {"ai-fix/orphan": "pending", "ai-fix/sqli": "approved"}


@pytest.mark.parametrize("escaped", [False, True], ids=["plain", "hash-written-with-escapes"])
def test_verify_reads_a_veto_naming_the_diff_however_its_hash_is_written(
    repo: TestRepo, people: dict[str, Reviewer], escaped: bool
) -> None:
    """verify parses only the records that can bear on the fix (fixreview.decisions.bearing_on):
    a veto left on the commit before a rebase names the fix only by its diff hash, and TOML can
    spell that hash with escapes (\\u0061 for a): it must still be read, and still block."""
    from fixreview.decisions import Decision
    from fixreview.models import Person
    from fixreview.notes.records import TAG_DECISION, encode_line, model_to_toml
    from fixreview.notes.store import append_record
    from tests.gate_util import draft, ssh_signer

    _setup(repo, _lines(people["aisha"], people["tomas"]))
    aisha = people["aisha"]
    signer = ssh_signer(aisha)
    veto: Decision = draft(repo, "ai-fix/sqli", Person(name=aisha.name, email=aisha.email), signer,
                           "reject")
    payload = model_to_toml(veto)
    digest = veto.diff_sha256
    if escaped:
        spelled = "".join(f"\\u{ord(c):04x}" if c.isalpha() else c for c in digest)
        payload = payload.replace(f'"{digest}"'.encode(), f'"{spelled}"'.encode())
        assert digest.encode() not in payload
    line = encode_line(TAG_DECISION, payload, signer.sign(payload).signature)
    append_record(Repository(repo.path), DECISIONS_REF, veto.head_commit, line)
    repo.commit("main moves on", {"docs/other.md": "unrelated\n"})
    repo.checkout("ai-fix/sqli")
    repo.git("rebase", "-q", "main")  # the veto's commit is no longer the fix's
    repo.checkout("main")
    craft(repo, people["tomas"])
    code, _doc, out = _verify(repo)
    assert code == 1 and "reject by Aisha Okafor" in out, out
