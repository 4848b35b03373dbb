"""The base branch's ``allowed_signers`` file, read as ``ssh-keygen`` reads it.

Each line is ``PRINCIPALS [OPTIONS] KEYTYPE BASE64-KEY [COMMENT]`` (ssh-keygen(1), "ALLOWED
SIGNERS"): principals are comma-separated patterns (``*`` and ``?`` wildcards, ``!`` negation,
optionally in double quotes), options are ``cert-authority``, ``namespaces="…"``,
``valid-after="…"`` and ``valid-before="…"`` in any case (a line with any other option is skipped,
as ssh-keygen skips it). The gate uses this to know, before running any
verifier, which keys may sign for a principal, when, and every identity a key stands for: one key
listed under several principals (or under a wildcard) is one person, with all of those identities.

``ssh-keygen -Y verify`` stays the judge of every key and principal that counts (it is asked once
per key and principal: :mod:`fixreview.signing.verifier`); this reader only lets the gate refuse,
without a process, what the verifier would refuse too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

_KEY_TYPE = re.compile(
    r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9-]+@openssh\.com"
    r"|[a-z0-9-]+-cert-v01@openssh\.com)$"
)
MAX_LINES = 10_000  # a larger file is refused rather than read slowly
# the options ssh-keygen knows (any case); a line with another one is skipped there, and here
_FLAG_OPTIONS = frozenset({"cert-authority"})
_VALUE_OPTIONS = frozenset({"namespaces", "valid-after", "valid-before"})


@dataclass(frozen=True)
class AllowedSigner:
    """One line of the file: who (patterns) may sign with which key, where and when."""

    principals: tuple[str, ...]
    key_type: str
    key_blob: bytes
    fingerprint: str  # SHA256:… as ssh-keygen -l prints it
    namespaces: tuple[str, ...] | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None
    cert_authority: bool = False

    def allows(self, principal: str) -> bool:
        """Whether PRINCIPAL matches this line's principal patterns (as ssh-keygen matches)."""
        return match_pattern_list(principal, self.principals, fold_case=False)

    def allows_namespace(self, namespace: str) -> bool:
        return self.namespaces is None or match_pattern_list(
            namespace, self.namespaces, fold_case=False
        )

    def valid_at(self, when: datetime) -> str | None:
        """None when the key is valid at WHEN; else why not, in words."""
        if self.valid_after is not None and when < self.valid_after:
            return f"only valid after {self.valid_after:%Y-%m-%d %H:%M:%S} UTC"
        if self.valid_before is not None and when >= self.valid_before:
            return f"only valid before {self.valid_before:%Y-%m-%d %H:%M:%S} UTC"
        return None


@dataclass(frozen=True)
class AllowedSigners:
    """The parsed file: every usable line, and the lines that could not be read."""

    entries: tuple[AllowedSigner, ...]
    bad_lines: tuple[int, ...] = ()

    def for_key(self, fingerprint: str) -> list[AllowedSigner]:
        return [e for e in self.entries if e.fingerprint == fingerprint]

    def identities_of_key(self, fingerprint: str) -> list[str]:
        """Every principal pattern the key is listed under: all of them are the key holder."""
        return [p for e in self.for_key(fingerprint) for p in e.principals if p[:1] != "!"]


def key_fingerprint(blob: bytes) -> str:
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def parse_allowed_signers(data: bytes) -> AllowedSigners:
    """Parse the file; unreadable lines are listed by number and never allow anything."""
    entries: list[AllowedSigner] = []
    bad: list[int] = []
    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if number > MAX_LINES:
            bad.append(number)
            break
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        entry = _parse_line(line)
        if entry is None:
            bad.append(number)
        else:
            entries.append(entry)
    return AllowedSigners(tuple(entries), tuple(bad))


def _parse_line(line: str) -> AllowedSigner | None:
    principals, rest = _take_field(line)
    if not principals or not rest:
        return None
    options: dict[str, str] = {}
    flags: set[str] = set()
    word, after = _take_field(rest)
    if not _KEY_TYPE.match(word):
        for option in _split_options(word):
            name, eq, value = option.partition("=")
            if (name.lower() not in _VALUE_OPTIONS) if eq else (name.lower() not in _FLAG_OPTIONS):
                return None  # ssh-keygen: "bad options: unknown key option"
            if eq:
                options[name.lower()] = value.strip('"')
            else:
                flags.add(name.lower())
        word, after = _take_field(after)
        if not _KEY_TYPE.match(word):
            return None
    key_b64, _ = _take_field(after)
    try:
        blob = base64.b64decode(key_b64, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not blob:
        return None
    try:
        valid_after = _timestamp(options.get("valid-after"))
        valid_before = _timestamp(options.get("valid-before"))
    except ValueError:
        return None
    namespaces = options.get("namespaces")
    return AllowedSigner(
        principals=tuple(p for p in principals.split(",") if p),
        key_type=word,
        key_blob=blob,
        fingerprint=key_fingerprint(blob),
        namespaces=tuple(namespaces.split(",")) if namespaces is not None else None,
        valid_after=valid_after,
        valid_before=valid_before,
        cert_authority="cert-authority" in flags,
    )


def _take_field(text: str) -> tuple[str, str]:
    """The next whitespace-separated field (double quotes group), and what follows it."""
    text = text.lstrip()
    if text.startswith('"'):
        end = text.find('"', 1)
        if end < 0:
            return "", ""
        return text[1:end], text[end + 1 :].lstrip()
    quoted = False
    for i, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char in " \t" and not quoted:
            return text[:i], text[i:].lstrip()
    return text, ""


def _split_options(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p]


def _timestamp(value: str | None) -> datetime | None:
    """ssh-keygen's YYYYMMDD[HHMM[SS]][Z]; without Z it is local time, as ssh-keygen reads it."""
    if value is None:
        return None
    utc = value.endswith(("Z", "z"))
    digits = value[:-1] if utc else value
    formats = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}
    if not digits.isdigit() or len(digits) not in formats:
        raise ValueError(value)
    parsed = datetime.strptime(digits, formats[len(digits)])
    return parsed.replace(tzinfo=UTC) if utc else parsed.astimezone().astimezone(UTC)


def _match_pattern(value: str, pattern: str) -> bool:
    body = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(body, value, re.DOTALL) is not None


def match_pattern_list(value: str, patterns: Iterable[str], *, fold_case: bool) -> bool:
    """OpenSSH's match_pattern_list: a negated match (``!pat``) wins, else any positive match."""
    if fold_case:
        value = value.lower()
    matched = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        if fold_case:
            body = body.lower()
        if _match_pattern(value, body):
            if negated:
                return False
            matched = True
    return matched
