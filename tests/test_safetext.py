"""Untrusted text made visible: controls, bidirectional and invisible characters."""

from __future__ import annotations

import pytest

from fixreview.safetext import hidden_characters, visible


def test_escape_sequences_become_visible_pictures() -> None:
    assert visible("a\x1b[31mb\x07\x00") == "a␛[31mb␇␀"
    assert visible("x\x9by") == "x<U+009B>y"  # C1 CSI
    assert visible("line\nnext\ttab") == "line\nnext\ttab"
    assert visible("line\nnext", multiline=False) == "line␊next"
    assert visible("a\rb") == "a␍b"


@pytest.mark.parametrize(
    "char",
    [
        "\u202e",
        "\u2066",
        "\u200b",
        "\u200d",
        "\ufeff",
        "\U000e0041",
        "\u2028",
        "\u3164",
        "\u115f",
        "\u034f",
    ],
)
def test_hidden_characters_are_marked(char: str) -> None:
    shown = visible(f"a{char}b")
    assert char not in shown and f"<U+{ord(char):04X}>" in shown
    assert hidden_characters(f"a{char}b") == [(1, f"U+{ord(char):04X}")]


def test_ordinary_unicode_is_left_alone() -> None:
    assert visible("café ✓ 日本 — ü") == "café ✓ 日本 — ü"
