"""Making untrusted text safe to show: control characters and invisible code points made visible.

Diffs, commit messages, evidence, branch names and notes come from people and tools we do not
trust. Before any of it reaches a terminal, C0/C1 control characters (ESC above all) become
their visible Unicode "control pictures" or ``<U+XXXX>``, and bidirectional controls,
zero-width characters and tag characters become ``<U+XXXX>`` markers, so that what a reviewer
reads is what the bytes say (CVE-2021-42574, "Trojan Source").
"""

from __future__ import annotations

import re

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad")
# Characters that look like nothing (or like a line break) and have been used to hide code:
# line and paragraph separators, the combining grapheme joiner, Hangul fillers, braille blank.
INVISIBLE = frozenset("\u2028\u2029\u034f\u115f\u1160\u3164\uffa0\u2800")
HIDDEN = BIDI_CONTROLS | ZERO_WIDTH | INVISIBLE


def is_tag_character(char: str) -> bool:
    return 0xE0000 <= ord(char) <= 0xE007F


def is_hidden(char: str) -> bool:
    """Bidirectional control, zero-width or otherwise invisible character, or tag character."""
    return char in HIDDEN or is_tag_character(char)


_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f" + "".join(sorted(HIDDEN)) + "\U000e0000-\U000e007f\ud800-\udfff]"
)


def _picture(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ … ␟, ␛ for ESC
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def visible(text: str, *, multiline: bool = True) -> str:
    """TEXT with every control and hidden character replaced by a visible stand-in.

    Newlines survive when MULTILINE (otherwise they become ␊); tabs always survive.
    """
    out = _UNSAFE.sub(lambda m: _picture(m.group()), text)
    if not multiline:
        out = out.replace("\n", "\u240a")
    return out


def visible_line(text: str, width: int | None = None) -> str:
    """TEXT made visible on one line, cut to WIDTH characters with an ellipsis."""
    value = visible(text, multiline=False)
    if width is not None and len(value) > width:
        value = value[: width - 1] + "…"
    return value


def hidden_characters(text: str) -> list[tuple[int, str]]:
    """Positions and code points of bidirectional, zero-width and tag characters in TEXT."""
    return [(i, f"U+{ord(c):04X}") for i, c in enumerate(text) if is_hidden(c)]
