"""Making untrusted text safe to show: control characters and invisible code points made visible.

Diffs, commit messages, evidence, branch names and notes come from people and tools we do not
trust. Before any of it reaches a terminal, C0/C1 control characters (ESC above all) become
their visible Unicode "control pictures" or ``<U+XXXX>``, and every code point that displays
as nothing becomes a ``<U+XXXX>`` marker, so that what a reviewer reads is what the bytes say
(CVE-2021-42574, "Trojan Source"; payloads hidden in variation selectors).

*Hidden* means: every Default_Ignorable_Code_Point of Unicode (bidirectional controls,
zero-width characters, variation selectors, tag characters, fillers, reserved ranges; see
:data:`DEFAULT_IGNORABLE`), plus a few characters that are not default-ignorable but show as
blank or as a line break (:data:`INVISIBLE`). One exception keeps ordinary emoji readable: a
single text or emoji presentation selector (U+FE0E, U+FE0F) right after a symbol (``⚠️``,
``❤️``, a keycap digit) is part of that character's standard appearance and is left alone.
A run of selectors, or a selector after a letter, is hidden. The app's diff view, the command
line and the risk checks all use this one definition.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Final

# Default_Ignorable_Code_Point, from DerivedCoreProperties.txt of Unicode 14.0.0 (the version
# of Python 3.11's unicodedata, which does not expose this property). Inclusive ranges.
DEFAULT_IGNORABLE: Final[tuple[tuple[int, int], ...]] = (
    (0x00AD, 0x00AD),  # SOFT HYPHEN
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x061C, 0x061C),  # ARABIC LETTER MARK
    (0x115F, 0x1160),  # HANGUL CHOSEONG FILLER..HANGUL JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ..KHMER VOWEL INHERENT AA
    (0x180B, 0x180D),  # MONGOLIAN FREE VARIATION SELECTOR ONE..THREE
    (0x180E, 0x180E),  # MONGOLIAN VOWEL SEPARATOR
    (0x180F, 0x180F),  # MONGOLIAN FREE VARIATION SELECTOR FOUR
    (0x200B, 0x200F),  # ZERO WIDTH SPACE..RIGHT-TO-LEFT MARK
    (0x202A, 0x202E),  # LEFT-TO-RIGHT EMBEDDING..RIGHT-TO-LEFT OVERRIDE
    (0x2060, 0x2064),  # WORD JOINER..INVISIBLE PLUS
    (0x2065, 0x2065),  # <reserved-2065>
    (0x2066, 0x206F),  # LEFT-TO-RIGHT ISOLATE..NOMINAL DIGIT SHAPES
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFE00, 0xFE0F),  # VARIATION SELECTOR-1..VARIATION SELECTOR-16
    (0xFEFF, 0xFEFF),  # ZERO WIDTH NO-BREAK SPACE
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xFFF0, 0xFFF8),  # <reserved-FFF0>..<reserved-FFF8>
    (0x1BCA0, 0x1BCA3),  # SHORTHAND FORMAT LETTER OVERLAP..SHORTHAND FORMAT UP STEP
    (0x1D173, 0x1D17A),  # MUSICAL SYMBOL BEGIN BEAM..MUSICAL SYMBOL END PHRASE
    (0xE0000, 0xE0000),  # <reserved-E0000>
    (0xE0001, 0xE0001),  # LANGUAGE TAG
    (0xE0002, 0xE001F),  # <reserved-E0002>..<reserved-E001F>
    (0xE0020, 0xE007F),  # TAG SPACE..CANCEL TAG
    (0xE0080, 0xE00FF),  # <reserved-E0080>..<reserved-E00FF>
    (0xE0100, 0xE01EF),  # VARIATION SELECTOR-17..VARIATION SELECTOR-256
    (0xE01F0, 0xE0FFF),  # <reserved-E01F0>..<reserved-E0FFF>
)

# Not default-ignorable, but they look like nothing (or like a line break) and have been used
# to hide code: line and paragraph separators, braille pattern blank.
INVISIBLE = frozenset("\u2028\u2029\u2800")
PRESENTATION_SELECTORS = frozenset("\ufe0e\ufe0f")


def _class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(
        re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"
        for lo, hi in ranges
    )


# a regex character class body matching every hidden character (is_hidden, without exceptions)
HIDDEN_CLASS = _class(DEFAULT_IGNORABLE) + "".join(sorted(INVISIBLE))
_HIDDEN_RE = re.compile(f"[{HIDDEN_CLASS}]")
# every character visible() replaces, and the presentation selectors it may keep
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + HIDDEN_CLASS + "\ud800-\udfff]")
_UNSAFE_ONE_LINE = re.compile(_UNSAFE.pattern[:-1] + "\n]")


def is_hidden(char: str) -> bool:
    """Whether CHAR, on its own, displays as nothing: default-ignorable or :data:`INVISIBLE`."""
    return char in INVISIBLE or _HIDDEN_RE.match(char) is not None


def _presentation_base(char: str) -> bool:
    """Whether a lone U+FE0E/U+FE0F after CHAR selects its text or emoji appearance."""
    if char in "#*0123456789":
        return True  # keycap sequences: 1️⃣
    if char.isascii() or not char:
        return False
    return unicodedata.category(char) in ("So", "Sm", "Po", "Pd")


def hidden_positions(text: str, limit: int | None = None) -> list[int]:
    """Indexes of the hidden characters of TEXT, presentation selectors of a symbol left out;
    the first LIMIT of them when LIMIT is given."""
    if text.isascii():
        return []
    found: list[int] = []
    for match in _HIDDEN_RE.finditer(text):
        if limit is not None and len(found) >= limit:
            break
        i = match.start()
        char = text[i]
        if (
            char in PRESENTATION_SELECTORS
            and i > 0
            and _presentation_base(text[i - 1])
            and (i + 1 >= len(text) or not is_hidden(text[i + 1]))
        ):
            continue
        found.append(i)
    return found


def _picture(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ … ␟, ␛ for ESC
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def pieces(text: str, *, multiline: bool = True) -> Iterator[tuple[str, bool]]:
    """TEXT as (piece, is_stand_in) pairs: runs of text as is, and visible stand-ins.

    Every control character and every hidden character (:func:`hidden_positions`) becomes a
    stand-in; newlines survive when MULTILINE (otherwise they become ␊); tabs always survive.
    """
    pattern = _UNSAFE if multiline else _UNSAFE_ONE_LINE
    if text.isascii() and pattern.search(text) is None:
        if text:
            yield text, False
        return
    keep = _kept_selectors(text)
    start = 0
    for match in pattern.finditer(text):
        i = match.start()
        if i in keep:
            continue
        if i > start:
            yield text[start:i], False
        yield _picture(text[i]), True
        start = i + 1
    if start < len(text):
        yield text[start:], False


def _kept_selectors(text: str) -> frozenset[int]:
    """Positions of presentation selectors that are part of a symbol's appearance."""
    if "\ufe0e" not in text and "\ufe0f" not in text:
        return frozenset()
    hidden = set(hidden_positions(text))
    return frozenset(
        i for i, char in enumerate(text) if char in PRESENTATION_SELECTORS and i not in hidden
    )


def visible(text: str, *, multiline: bool = True) -> str:
    """TEXT with every control and hidden character replaced by a visible stand-in.

    Newlines survive when MULTILINE (otherwise they become ␊); tabs always survive.
    """
    if text.isascii() and (_UNSAFE if multiline else _UNSAFE_ONE_LINE).search(text) is None:
        return text
    return "".join(piece for piece, _ in pieces(text, multiline=multiline))


def visible_line(text: str, width: int | None = None) -> str:
    """TEXT made visible on one line, cut to WIDTH characters with an ellipsis."""
    value = visible(text, multiline=False)
    if width is not None and len(value) > width:
        value = value[: width - 1] + "…"
    return value


def hidden_characters(text: str) -> list[tuple[int, str]]:
    """Positions and code points of the hidden characters in TEXT (see the module docstring)."""
    return [(i, f"U+{ord(text[i]):04X}") for i in hidden_positions(text)]
