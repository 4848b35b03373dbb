"""A whole-queue snapshot of ``list``'s output, keyed by every input of it.

``list`` reads every fix, its proposal, its risk flags and every decision's signature: each
part is cached on its own (fixreview/resultcache.py), but reading a thousand cache entries back
and validating them costs about a second. A snapshot keeps what ``list`` printed (its standard
output, its standard error, its exit code) under one result-cache entry (kind
:data:`SNAPSHOT_KIND`), so that a ``list`` whose inputs have not changed reads one file.

The key (:func:`snapshot_key`) is made of every input the answer depends on:

* the repository's state as git says it at the start (fixreview/repo/refstate.py): every ref,
  symbolic refs' targets included (branches, remote-tracking branches, the notes refs, tags),
  the whole git configuration, and HEAD in a bare repository. The run then computes its answer
  from these very bytes (``Repository.pin``), not from refs read again later. Commits, trees and
  blobs are named by id, so every ref's id fixes the branches, the base (hence the policy, the
  allowed signers and the findings sources read from it), the proposals and the decisions;
* what changes the objects reachable or their ancestry for the same ids: ``shallow``,
  ``info/grafts``, ``objects/info/alternates`` and the git directories' paths;
* the request: the command's arguments that change the answer and the reviewer's own
  configuration file, byte for byte (it sets the base and the branch patterns);
* the code: every file of the fixreview package, the Python that runs it, the libraries of
  :data:`LIBRARIES` and the programs of :data:`PROGRAMS` (their files' identities), and the
  environment variables of :data:`ENV_PREFIXES` and :data:`ENV_NAMES`;
* the clock: an entry holds the instant it was made and the first instant an answer in it may
  change (a signature's validity window: ``DecisionVerifier.holds_until``); it is not used
  before the one (the clock went back) or from the other on. An answer whose change is not
  known (an OpenPGP signature, an ssh certificate, a timeout) makes no snapshot at all.

Entries are result-cache entries: written atomically, checked on read, ignored when corrupt.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from fixreview.config_location import config_path
from fixreview.repo.git import Repository
from fixreview.repo.refstate import RefState
from fixreview.resultcache import (
    Field,
    ResultCache,
    cache_key,
    file_identity,
    history_files,
    json_body,
    library_identity,
    program_identity,
)

SNAPSHOT_KIND = "list-snapshot"
# BUMP THIS whenever what a snapshot holds or how it is read changes (every file of the package
# is hashed into the key too, as a safety net)
SNAPSHOT_VERSION = "1"
LIBRARIES = (
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "typing_extensions",
    "typing_inspection",
    "tomli",
    "tomli_w",
    "unidiff",
    "detect_secrets",
    "yaml",
    "requests",
    "urllib3",
    "charset_normalizer",
    "idna",
    "certifi",
    "pygments",
    "cryptography",
    "cffi",
    "packaging",
)
"""Every library a ``list`` run may load (tests/test_list_snapshot.py checks it against the
modules a run loads): an upgraded one is a changed input."""
PROGRAMS = ("git", "ssh-keygen", "gpg")
ENV_PREFIXES = ("GIT_", "FIXREVIEW_")
ENV_NAMES = (
    "PATH",
    "HOME",
    "XDG_CONFIG_HOME",
    "GNUPGHOME",
    "TZ",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "PYTHONPATH",
)


@dataclass(frozen=True)
class ListOutput:
    """What ``list`` printed and how it exited."""

    stdout: str
    stderr: str
    code: int


def _package_digest() -> str:
    """SHA-256 of every file of the fixreview package (code, policy defaults, data)."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        relative = str(path.relative_to(package)).encode()
        try:
            data = path.read_bytes()
        except OSError:
            data = b"unreadable"
        digest.update(len(relative).to_bytes(8, "big") + relative)
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


@functools.cache
def _environment() -> str:
    """The code and the environment as one key field, read once per process."""
    variables = sorted(
        (name, value)
        for name, value in os.environ.items()
        if name.startswith(ENV_PREFIXES) or name in ENV_NAMES
    )
    return "\n".join(
        [
            _package_digest(),
            sys.version,
            file_identity(sys.executable),
            *map(library_identity, LIBRARIES),
            *map(program_identity, PROGRAMS),
            json.dumps(variables),
        ]
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b"missing"
    except OSError as exc:
        return f"unreadable: {exc.errno}".encode()


def snapshot_key(repo: Repository, state: RefState, request: tuple[Field, ...]) -> str:
    """The key of ``list``'s answer for REQUEST (its arguments and the reviewer's config, as
    the caller encodes them) in REPO whose refs and configuration are STATE."""
    common = repo.common_dir
    return cache_key(
        SNAPSHOT_KIND,
        SNAPSHOT_VERSION,
        _environment(),
        str(common.resolve()),
        str(repo.git_dir.resolve()),
        history_files(common),
        _read(common / "objects" / "info" / "alternates"),
        *state.key_fields(),
        *request,
    )


def config_field() -> Field:
    """The reviewer's config file as a key field: its bytes, None when there is none, why it
    could not be read otherwise (never a missing file's answer)."""
    try:
        return config_path().read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"unreadable: {exc.errno}"


def _store(repo: Repository) -> ResultCache:
    return ResultCache.under(repo.common_dir, SNAPSHOT_KIND)


def read_snapshot(repo: Repository, key: str, now: float | None = None) -> ListOutput | None:
    """The output kept under KEY if it holds at NOW (default: the clock), else None."""
    body = _store(repo).get(key)
    if body is None:
        return None
    data = json_body(body)
    if not isinstance(data, dict) or set(data) != {
        "created",
        "holds_until",
        "stdout",
        "stderr",
        "code",
    }:
        return None
    created, until = data["created"], data["holds_until"]
    stdout, stderr, code = data["stdout"], data["stderr"], data["code"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (created,)):
        return None
    if until is not None and (not isinstance(until, int | float) or isinstance(until, bool)):
        return None
    if not isinstance(stdout, str) or not isinstance(stderr, str):
        return None
    if not isinstance(code, int) or isinstance(code, bool):
        return None
    moment = time.time() if now is None else now
    if moment < created:  # the clock went back since: a window may have reopened
        return None
    if until is not None and moment >= until:
        return None
    return ListOutput(stdout, stderr, code)


def write_snapshot(
    repo: Repository,
    key: str,
    output: ListOutput,
    created: float,
    holds_until: float,
) -> bool:
    """Keep OUTPUT under KEY, made at CREATED (Unix time, read before the answer was
    computed) and holding until HOLDS_UNTIL (``inf``: no time changes it); whether it was kept
    (not when it holds for no time at all)."""
    if holds_until <= created:
        return False
    body = json.dumps(
        {
            "created": created,
            "holds_until": None if math.isinf(holds_until) else holds_until,
            "stdout": output.stdout,
            "stderr": output.stderr,
            "code": output.code,
        },
        ensure_ascii=False,
    ).encode("utf-8", "surrogatepass")
    return _store(repo).put(key, body)
