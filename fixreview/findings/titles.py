"""A finding's title as a reviewer would write it, from what a producer offers.

Real producers fill their title fields with text that says nothing: semgrep sets every rule's
short description to ``Semgrep Finding: <rule id>``, bandit names many rules ``blacklist``,
codemods name themselves (``tmp.add-requests-timeouts``). :func:`informative_title` takes the
candidates in the importer's order of preference and returns the first that says something: not
a producer's generic label, not the rule's own id (or its last part), and more than one word.
When none does, the first non-empty candidate is kept (a one-word rule name beats nothing).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# labels producers give to many different rules, compared case-insensitively
_GENERIC = re.compile(r"^(semgrep finding\b.*|blacklist|blocklist|denylist|finding|issue|alert)$")
_SEPARATORS = re.compile(r"[\s_./:-]+")


def informative_title(candidates: Sequence[str], rule_id: str = "") -> str:
    """The first of CANDIDATES that says something (see the module docstring); else the first
    non-empty one; else RULE_ID."""
    texts = [" ".join(text.split()) for text in candidates]
    for text in texts:
        if text and not _generic(text, rule_id):
            return text
    return next((text for text in texts if text), rule_id)


def _generic(text: str, rule_id: str) -> bool:
    lowered = text.lower()
    if _GENERIC.match(lowered) or len(text.split()) < 2:
        return True
    if not rule_id:
        return False
    words = _SEPARATORS.sub(" ", lowered).strip()
    rule = rule_id.lower()
    last = _SEPARATORS.split(rule)[-1]
    return words in (_SEPARATORS.sub(" ", rule).strip(), last) or lowered == rule
