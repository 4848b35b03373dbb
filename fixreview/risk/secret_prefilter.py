"""Which added lines detect-secrets could report a secret on, found without detect-secrets.

detect-secrets reads a line through every plugin in turn (27 of them), in Python, with filters
called by signature inspection: about a fifth of a millisecond a line, four seconds for 20,000
lines, and importing it costs a tenth of a second more. Yet it can only report a line on which
one of its plugins' regular expressions matches. This module finds those lines in a few
passes of compiled expressions over all the lines at once, and the scan
(:mod:`fixreview.risk.secrets`) hands only them to detect-secrets, which still decides what is
a secret: the findings are the same, line for line.

It cannot miss a line detect-secrets would report, because every expression here is a
*necessary condition* of a plugin's, read from detect-secrets 1.5 (Apache-2.0):

- a regex-based plugin (AWS, GitHub, private keys, Slack, …) reports a line only when one of
  its ``denylist`` expressions matches it; each of those is here as itself, or as a part every
  match of it contains (``AKC[a-zA-Z0-9]{10,}`` of Artifactory's
  ``(?:\\s|=|:|"|^)AKC[a-zA-Z0-9]{10,}(?:\\s|"|$)``, the keyword and the 44 characters of IBM
  Cloud's assignment);
- the keyword plugin's expressions all contain one of its ``DENYLIST`` words (``password``,
  ``api_?key``, …);
- the two entropy plugins report a quoted run of base64 (hex) characters whose Shannon entropy
  exceeds 4.5 (3.0): such a run has more than 2**4.5 (2**3) characters, at least 23 (8 with
  a margin for rounding), which is what the first pass looks for; then, on those lines only,
  the plugin's own expression and entropy are computed here (with that margin).

Expressions the plugins match ignoring case are matched here in a copy of the text folded to
lower case one character for one (:data:`FOLD`: A to Z, Ñ, and the four other characters Python's
``re.IGNORECASE`` takes for an ASCII letter, such as the Kelvin sign for ``k``), so a folded
match is found wherever the plugin's would be.

All lines are joined with ``\\n`` and each expression is searched once over the whole text
(compiled with ``re.MULTILINE``, so ``^`` and ``$`` still mean a line's ends); a match marks
every line it touches. That finds every line on which the expression matches alone: a search
that passes over a line either finds a match in it or one that runs into it. The join changes
nothing else: no expression here has ``\\A``, ``\\Z`` or a negative lookaround that could see
the ``\\n`` (tests/test_secret_prefilter.py checks this and that the expressions are those of
the installed detect-secrets).

The conditions were read from the detect-secrets versions in :data:`DETECT_SECRETS_VERSIONS`;
with any other (or none), :func:`usable` is false and the scan hands every line to
detect-secrets, as before.
"""

from __future__ import annotations

import importlib.util
import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import Final

DETECT_SECRETS_VERSIONS: Final = frozenset({"1.5.0"})
"""The detect-secrets versions whose plugins the conditions below were read from."""

PLUGINS: Final = frozenset(
    {
        "AWSKeyDetector",
        "ArtifactoryDetector",
        "AzureStorageKeyDetector",
        "Base64HighEntropyString",
        "BasicAuthDetector",
        "CloudantDetector",
        "DiscordBotTokenDetector",
        "GitHubTokenDetector",
        "GitLabTokenDetector",
        "HexHighEntropyString",
        "IPPublicDetector",
        "IbmCloudIamDetector",
        "IbmCosHmacDetector",
        "JwtTokenDetector",
        "KeywordDetector",
        "MailchimpDetector",
        "NpmDetector",
        "OpenAIDetector",
        "PrivateKeyDetector",
        "PypiTokenDetector",
        "SendGridDetector",
        "SlackDetector",
        "SoftlayerDetector",
        "SquareOAuthDetector",
        "StripeDetector",
        "TelegramBotTokenDetector",
        "TwilioKeyDetector",
    }
)
"""The plugins of those versions, all of which the scan runs: every one has a condition here."""

KEYWORD_PLUGIN: Final = "KeywordDetector"

FOLD: Final = {
    **{code: code + 32 for code in range(ord("A"), ord("Z") + 1)},
    ord("\N{LATIN CAPITAL LETTER N WITH TILDE}"): ord("\N{LATIN SMALL LETTER N WITH TILDE}"),
    ord("\N{LATIN CAPITAL LETTER I WITH DOT ABOVE}"): ord("i"),
    ord("\N{LATIN SMALL LETTER DOTLESS I}"): ord("i"),
    ord("\N{LATIN SMALL LETTER LONG S}"): ord("s"),
    ord("\N{KELVIN SIGN}"): ord("k"),
}
"""Each character that ``re.IGNORECASE`` matches with an ASCII letter or ``ñ`` (other than
itself), to that letter in lower case; every other character stays."""


@dataclass(frozen=True)
class Condition:
    """An expression every line PLUGIN reports matches (in the folded text when FOLDED)."""

    plugin: str
    pattern: str
    folded: bool = False


_B64 = re.escape("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/\\-_=")
_HEX = re.escape("0123456789abcdefABCDEF")
# the assignment of IBM's and Softlayer's expressions, from its keyword to its value's quote
_ASSIGN = r"""["']?\]? *(?:=|:|:=|=>| +|::) *["']?"""

CONDITIONS: Final[tuple[Condition, ...]] = (
    Condition("ArtifactoryDetector", r"AKC[a-zA-Z0-9]{10,}"),
    Condition("ArtifactoryDetector", r"AP[\dABCDEF][a-zA-Z0-9]{8,}"),
    Condition("AWSKeyDetector", r"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}"),
    Condition(
        "AWSKeyDetector",
        r"""aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?['"][0-9a-z/+]{40}['"]""",
        folded=True,
    ),
    Condition("AzureStorageKeyDetector", r"AccountKey=[a-zA-Z0-9+\/=]{88}"),
    Condition(
        "BasicAuthDetector",
        r"://[^:/\?\#\[\]@!\$\&'\(\)\*\+,;=\s]+:([^:/\?\#\[\]@!\$\&'\(\)\*\+,;=\s]+)@",
    ),
    Condition(
        "CloudantDetector", r"cl(?:ou(?:dant)?)?[_-]?(?:api)?(?:key|pw|pass|token)", folded=True
    ),
    Condition("CloudantDetector", r"\.cloudant\.com", folded=True),
    Condition("DiscordBotTokenDetector", r"\.[a-zA-Z\d_-]{6}\.[a-zA-Z\d_-]{27}"),
    Condition("GitHubTokenDetector", r"(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36}"),
    Condition("GitLabTokenDetector", r"(glpat|gldt|glft|glsoat|glrt)-[A-Za-z0-9_\-]{20,50}(?!\w)"),
    Condition("GitLabTokenDetector", r"GR1348941[A-Za-z0-9_\-]{20,50}(?!\w)"),
    Condition("GitLabTokenDetector", r"glcbt-([0-9a-fA-F]{2}_)?[A-Za-z0-9_\-]{20,50}(?!\w)"),
    Condition("GitLabTokenDetector", r"glimt-[A-Za-z0-9_\-]{25}(?!\w)"),
    Condition("GitLabTokenDetector", r"glptt-[A-Za-z0-9_\-]{40}(?!\w)"),
    Condition("GitLabTokenDetector", r"glagent-[A-Za-z0-9_\-]{50,1024}(?!\w)"),
    Condition("GitLabTokenDetector", r"gloas-[A-Za-z0-9_\-]{64}(?!\w)"),
    Condition(
        "IbmCloudIamDetector",
        rf"(?:key|pwd|password|pass|token){_ASSIGN}[a-z0-9_\-]{{44}}",
        folded=True,
    ),
    # its keyword, secret[-_]?(?:access)?[-_]?key, holds the keyword plugin's "secret"
    Condition("IbmCosHmacDetector", r"secret", folded=True),
    Condition("IPPublicDetector", r"\.[0-9]{1,3}\.[0-9]{1,3}\."),
    Condition("JwtTokenDetector", r"eyJ[A-Za-z0-9-_=]+\.[A-Za-z0-9-_=]+\.?[A-Za-z0-9-_.+/=]*?"),
    Condition("MailchimpDetector", r"-us[0-9]"),
    Condition("NpmDetector", r"\/\/.+\/:_authToken=\s*((npm_.+)|([A-Fa-f0-9-]{36})).*"),
    Condition("OpenAIDetector", r"sk-[A-Za-z0-9-_]*[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}"),
    Condition(
        "PrivateKeyDetector",
        r"BEGIN (?:DSA |EC |OPENSSH |PGP |RSA |SSH2 ENCRYPTED )?PRIVATE KEY",
    ),
    Condition("PrivateKeyDetector", r"PuTTY-User-Key-File-2"),
    Condition(
        "PypiTokenDetector", r"pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9-_]{70,}"
    ),
    Condition("SendGridDetector", r"SG\.[a-zA-Z0-9_-]{22}\.[a-zA-Z0-9_-]{43}"),
    Condition("SlackDetector", r"xox[abposr]-\d+-", folded=True),
    Condition("SlackDetector", r"hooks\.slack\.com/services/t", folded=True),
    Condition(
        "SoftlayerDetector",
        r"sl(?:oftlayer)?[_-]?(?:api)?[_-]?(?:key|pwd|pass|token)",
        folded=True,
    ),
    Condition("SoftlayerDetector", r"softlayer", folded=True),
    Condition("SquareOAuthDetector", r"sq0csp-[0-9A-Za-z\\\-_]{43}"),
    Condition("StripeDetector", r"k_live_[0-9a-zA-Z]{24}"),
    # \d{8,10}:[0-9A-Za-z_-]{35}, from its colon: a literal first is searched much faster
    Condition("TelegramBotTokenDetector", r":(?<=\d{8}:)[0-9A-Za-z_-]{35}"),
    Condition("TwilioKeyDetector", r"AC[a-z0-9]{32}"),
    Condition("TwilioKeyDetector", r"SK[a-z0-9]{32}"),
    # each keyword of the plugin's DENYLIST, alone: one pass each is faster than an alternation
    *(
        Condition(KEYWORD_PLUGIN, word, folded=True)
        for word in (
            "api_?key",
            "auth_?key",
            "service_?key",
            "account_?key",
            "db_?key",
            "database_?key",
            "priv_?key",
            "private_?key",
            "client_?key",
            "db_?pass",
            "database_?pass",
            "key_?pass",
            "password",
            "passwd",
            "pwd",
            "secret",
            "contraseña",
            "contrasena",
        )
    ),
)
"""A necessary condition of every expression of every plugin but the entropy ones."""

ENTROPY_RUN: Final = rf"""['"](?:[{_HEX}]{{8,}}|[{_B64}]{{23,}})['"]"""
"""A quoted run long enough for an entropy plugin to report it (see :func:`_high_entropy`)."""

# (plugin, its own expression's character set, its limit): the entropy plugins
_ENTROPY_PLUGINS: Final = (
    ("Base64HighEntropyString", _B64, 4.5),
    ("HexHighEntropyString", _HEX, 3.0),
)


@cache
def _entropy_expressions() -> tuple[tuple[str, re.Pattern[str], float], ...]:
    """The entropy plugins' own expressions, as detect-secrets builds them."""
    return tuple(
        (plugin, re.compile(rf"""([\'"])([{charset}]+)(\1)"""), limit)
        for plugin, charset, limit in _ENTROPY_PLUGINS
    )


_MARGIN: Final = 1e-6  # entropy rounding: a run this close to the limit counts as over it


def usable(version: str | None) -> bool:
    """Whether the conditions hold for detect-secrets VERSION (None: not installed)."""
    return version in DETECT_SECRETS_VERSIONS


@cache
def installed_version() -> str | None:
    """The installed detect-secrets' version, read from its ``__version__.py`` without
    importing it (None when it is not installed or says no version)."""
    try:
        spec = importlib.util.find_spec("detect_secrets")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        try:
            text = (Path(folder) / "__version__.py").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        found = re.search(r"""^VERSION\s*=\s*['"]([^'"]+)['"]""", text, re.MULTILINE)
        if found:
            return found.group(1)
    return None


_META: Final = frozenset(".^$*+?{}[]\\|()")


def literal_prefix(pattern: str) -> str:
    """Characters every match of PATTERN (compiled without ``re.IGNORECASE`` or
    ``re.VERBOSE``) starts with, read without compiling it: its leading characters up to the
    first one that means more than itself (an escaped punctuation character is itself), less
    the last when a quantifier may follow it; nothing when an alternation outside any group
    makes the start optional. Shorter than what the expression proves at worst (any other
    escape ends it), never longer (tests/test_secret_prefilter.py checks each condition
    against ``re``'s own parse)."""
    if _alternation_outside_groups(pattern):
        return ""
    run: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern) and not pattern[index + 1].isalnum():
            run.append(pattern[index + 1])  # an escaped punctuation character is itself
            index += 2
            continue
        if char in _META:
            if char in "*+?{" and run:
                run.pop()
            break
        run.append(char)
        index += 1
    return "".join(run)


def _alternation_outside_groups(pattern: str) -> bool:
    """Whether PATTERN has a ``|`` outside every group (escapes and classes skipped)."""
    depth, index, size = 0, 0, len(pattern)
    while index < size:
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":  # a class: up to its closing bracket (a first "]" is in it)
            index += 1
            if index < size and pattern[index] == "^":
                index += 1
            if index < size and pattern[index] == "]":
                index += 1
            while index < size and pattern[index] != "]":
                index += 2 if pattern[index] == "\\" else 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth <= 0:
            return True
        index += 1
    return False


@cache
def _conditions(plugins: frozenset[str]) -> tuple[tuple[str, str, str, bool], ...]:
    """The conditions of PLUGINS: (plugin, expression, :func:`literal_prefix` of it, whether
    in the folded text)."""
    return tuple(
        (condition.plugin, condition.pattern, literal_prefix(condition.pattern), condition.folded)
        for condition in CONDITIONS
        if condition.plugin in plugins
    )


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.MULTILINE)


@cache
def _entropy_run() -> re.Pattern[str]:
    return re.compile(ENTROPY_RUN, re.MULTILINE)


def _entropy(run: str) -> float:
    size = len(run)
    return -sum(count / size * math.log2(count / size) for count in Counter(run).values())


def high_entropy(line: str, plugins: Collection[str] = PLUGINS) -> set[str]:
    """The entropy plugins among PLUGINS whose own expression finds in LINE a run they could
    report: one whose entropy is over the plugin's limit, or within a rounding margin of it."""
    found: set[str] = set()
    for plugin, expression, limit in _entropy_expressions():
        if plugin not in plugins:
            continue
        for _, run, _ in expression.findall(line):
            # entropy is at most log2 of the count of distinct characters (a run of few
            # distinct characters is ruled out without counting them: most quoted words)
            if math.log2(len(set(run))) > limit - _MARGIN and _entropy(run) > limit - _MARGIN:
                found.add(plugin)
                break
    return found


def indirect_reference(line: str) -> bool:
    r"""What detect-secrets' ``is_indirect_reference`` filter says of LINE (true: the line is
    skipped before any plugin reads it), computed without its quadratic search.

    The filter searches ``([^\v=!:]*)\s*(:=?|[!=]{1,3})\s*([\w.-]+[\[\(][^\v]*[\]\)])`` in
    lines of at most 1,000 characters. Its first two groups may be empty, so it matches
    exactly where :data:`INDIRECT_REFERENCE`, the expression from the operator on, matches.
    """
    return len(line) <= 1000 and _indirect_reference().search(line) is not None


INDIRECT_REFERENCE: Final = r"(?::=?|[!=]{1,3})\s*[\w.-]+[\[\(][^\v]*[\]\)]"


@cache
def _indirect_reference() -> re.Pattern[str]:
    return re.compile(INDIRECT_REFERENCE)


def candidates(lines: Sequence[str], plugins: frozenset[str] = PLUGINS) -> dict[int, set[str]]:
    """Which of LINES, as detect-secrets reads them (one line each, no line break in them;
    detect-secrets strips their trailing white space, and so does this), one of PLUGINS could
    report, and which plugins: by index in LINES.

    A line left out is certain: none of PLUGINS can report it, because none of their
    conditions matches it, or because detect-secrets skips it before any plugin reads it
    (:func:`indirect_reference`). A plugin named is for detect-secrets to run.
    """
    found: dict[int, set[str]] = {}
    if not lines or not plugins:
        return found
    stripped = [line.rstrip() for line in lines]
    text = "\n".join(stripped)
    starts = [0, *accumulate(len(line) + 1 for line in stripped)]
    starts.pop()

    def touched(pattern: re.Pattern[str], haystack: str) -> set[int]:
        """The lines a match of PATTERN in HAYSTACK touches."""
        lines: set[int] = set()
        for match in pattern.finditer(haystack):
            first = bisect_right(starts, match.start()) - 1
            last = bisect_right(starts, max(match.start(), match.end() - 1)) - 1
            lines.update(range(first, last + 1))
        return lines

    conditions = _conditions(plugins)
    lowered = text.translate(FOLD) if any(folded for *_, folded in conditions) else text
    for plugin, pattern, prefix, folded in conditions:
        haystack = lowered if folded else text
        # no match can start without its literal prefix: most expressions are never compiled
        # for a small diff (compiling the 55 of them is 5% of a cold verify)
        if prefix and prefix not in haystack:
            continue
        for index in touched(_compiled(pattern), haystack):
            found.setdefault(index, set()).add(plugin)
    if any(plugin in plugins for plugin, _, _ in _ENTROPY_PLUGINS):
        for index in touched(_entropy_run(), text):
            high = high_entropy(stripped[index], plugins)
            if high:
                found.setdefault(index, set()).update(high)
    return {
        index: names for index, names in found.items() if not indirect_reference(stripped[index])
    }
