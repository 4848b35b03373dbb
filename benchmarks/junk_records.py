"""How long `verify` takes on an approved fix buried under attacker-made junk.

Builds a repository with one approved fix whose head also carries 20,000 junk decision records
(a quarter are vetoes embedding the reviewer's real public key with a broken signature, the rest
malformed or unsigned), and whose diff adds one 5 MB line. Prints `verify`'s wall time next to
its floor: `git notes show` of that note plus one `ssh-keygen -Y verify`; then how long a 17 MB
note line above the record cap takes to refuse, next to one pass over its bytes.

    python3 benchmarks/junk_records.py [--records N] [--line-mb M]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def git(
    cwd: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None
) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, input=input, capture_output=True, check=True, env=env
    )
    return proc.stdout.decode()


def timed(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, str, int]:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    return time.perf_counter() - start, proc.stdout, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--line-mb", type=float, default=5.0)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fxr-junk-"))
    home = tmp / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n")
    env = dict(os.environ, HOME=str(home), GIT_CONFIG_NOSYSTEM="1")
    key = tmp / "aisha"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    public = Path(str(key) + ".pub").read_text().strip()
    repo = tmp / "repo"
    repo.mkdir()
    run = {"env": env}
    git(repo, "init", "-q", "-b", "main", **run)
    git(repo, "config", "fixreview.base", "main", **run)
    (repo / ".fixreview").mkdir()
    (repo / ".fixreview" / "allowed_signers").write_text(f"aisha@example.com {public}\n")
    (repo / "app.py").write_text("x = 1\n")
    git(repo, "add", "-A", **run)
    git(repo, "commit", "-q", "-m", "base", **run)
    git(repo, "checkout", "-q", "-b", "ai-fix/junk", **run)
    (repo / "data.txt").write_text("A" * int(args.line_mb * 1024 * 1024) + "\n")
    (repo / "tests").mkdir()
    (repo / "tests" / "test_app.py").write_text("def test():\n    assert True\n")
    git(repo, "add", "-A", **run)
    git(repo, "commit", "-q", "-m", "Fix\n\nFinding-Id: SEC-1", **run)
    git(repo, "checkout", "-q", "main", **run)
    reviewer = dict(
        env,
        GIT_CONFIG_COUNT="4",
        GIT_CONFIG_KEY_0="user.name",
        GIT_CONFIG_VALUE_0="Aisha",
        GIT_CONFIG_KEY_1="user.email",
        GIT_CONFIG_VALUE_1="aisha@example.com",
        GIT_CONFIG_KEY_2="gpg.format",
        GIT_CONFIG_VALUE_2="ssh",
        GIT_CONFIG_KEY_3="user.signingKey",
        GIT_CONFIG_VALUE_3=str(key),
    )
    fx = [sys.executable, "-m", "fixreview"]
    shown = subprocess.run(
        [*fx, "show", "ai-fix/junk", "--json"], cwd=repo, env=env, capture_output=True, check=True
    )
    blocking = json.loads(shown.stdout)["fix"]["blocking_flags"]
    acks = [word for flag in blocking for word in ("--ack", flag)]
    decided = subprocess.run(
        [
            *fx,
            "decide",
            "ai-fix/junk",
            "--approve",
            "--intent",
            "i",
            "--scope",
            "s",
            "--blast-radius",
            "b",
            "--rollback",
            "r",
            *acks,
        ],
        cwd=repo,
        env=reviewer,
        capture_output=True,
        text=True,
        check=False,
    )
    if decided.returncode != 0:
        sys.exit(f"decide failed: {decided.stderr.strip()}")
    head = git(repo, "rev-parse", "ai-fix/junk", **run).strip()
    real = git(repo, "notes", "--ref=refs/notes/fixreview/decisions", "show", head, **run).strip()
    _, payload, signature = real.split(" ")
    sig = base64.urlsafe_b64decode(signature)
    blob = bytearray(base64.b64decode(b"".join(sig.splitlines()[1:-1])))
    blob[-10] ^= 0xFF
    forged = base64.urlsafe_b64encode(
        b"-----BEGIN SSH SIGNATURE-----\n"
        + base64.b64encode(bytes(blob))
        + b"\n-----END SSH SIGNATURE-----\n"
    ).decode()
    text = base64.urlsafe_b64decode(payload).decode()
    lines = [real]
    for i in range(args.records):
        if i % 4 == 0:
            veto = text.replace('verdict = "approve"', 'verdict = "reject"')
            veto = veto.replace('comment = ""', f'comment = "junk {i}"')
            lines.append(f"decision {base64.urlsafe_b64encode(veto.encode()).decode()} {forged}")
        elif i % 4 == 1:
            nested = base64.urlsafe_b64encode(("x = " + "[" * 1000).encode()).decode()
            lines.append(f"decision {nested} eA==")
        else:
            lines.append(f"junk line {i}")
    git(
        repo,
        "notes",
        "--ref=refs/notes/fixreview/decisions",
        "add",
        "-f",
        "-F",
        "-",
        head,
        input=("\n".join(lines) + "\n").encode(),
        env=env,
    )
    verify_s, out, code = timed([*fx, "verify", "ai-fix/junk"], repo, env)
    verdict = out.strip().splitlines()[-1] if out.strip() else "(no output)"
    notes_s, _, _ = timed(
        ["git", "notes", "--ref=refs/notes/fixreview/decisions", "show", head], repo, env
    )
    (tmp / "payload").write_bytes(base64.urlsafe_b64decode(payload))
    (tmp / "payload.sig").write_bytes(sig)
    start = time.perf_counter()
    subprocess.run(
        [
            "ssh-keygen",
            "-Y",
            "verify",
            "-f",
            str(repo / ".fixreview" / "allowed_signers"),
            "-I",
            "aisha@example.com",
            "-n",
            "fixreview-decision",
            "-s",
            str(tmp / "payload.sig"),
        ],
        input=(tmp / "payload").read_bytes(),
        capture_output=True,
        check=False,
    )
    keygen_s = time.perf_counter() - start
    floor = notes_s + keygen_s
    print(f"records on the head     {args.records + 1:>10,}")
    print(f"added line              {args.line_mb:>10.1f} MB")
    print(f"verify                  {verify_s:>10.2f} s   exit {code}: {verdict}")
    print(f"floor (notes + 1 verify){floor:>10.2f} s   ratio {verify_s / floor:.0f}x")
    over_cap()


def over_cap() -> None:
    """A note line above the record cap is refused unread: its cost next to reading its bytes."""
    from fixreview.notes.records import parse_note

    huge = b"proposal " + b"A" * (17 * 1024 * 1024)
    start = time.perf_counter()
    records, bad = parse_note("a" * 40, huge)
    parse_s = time.perf_counter() - start
    start = time.perf_counter()
    huge.count(b"\n")  # the floor: one pass over the bytes
    floor_s = time.perf_counter() - start
    assert not records and "too long" in bad[0].reason
    print(f"17 MB note line refused {parse_s:>10.4f} s   floor (one pass) {floor_s:.4f} s")


if __name__ == "__main__":
    main()
