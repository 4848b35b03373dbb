"""What the ``out-of-scope`` check knows of a source file's structure: its named blocks (the
functions and classes, with their lines and dotted names) and its import statements, and how
to tell a changed line that is an import. Built by :mod:`fixreview.risk.python_scope` (Python's
own parser) and :mod:`fixreview.risk.token_scope` (Pygments tokens, other languages)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fixreview.risk.bounds import MAX_LINE

Span = tuple[int, int]


@dataclass(frozen=True)
class Block:
    """A function or class: its lines (decorators or annotations included) and its dotted
    name."""

    start: int
    end: int
    name: str
    kind: str  # "function" or "class"

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}" + ("()" if self.kind == "function" else "")


@dataclass(frozen=True)
class ImportLines:
    """A language's import lines: STATEMENT matches the start of an import statement's line,
    NAMES a line of names inside a multi-line import (``a,`` in ``from x import (…)`` or
    ``import { … }``, ``"net/http"`` in Go's ``import ( … )``). Both read a stripped line of at
    most :data:`~fixreview.risk.bounds.MAX_LINE` characters and must not backtrack."""

    statement: re.Pattern[str]
    names: re.Pattern[str]

    def is_import_line(self, text: str, *, continuation: bool = False) -> bool:
        """Whether a changed line is an import statement or a blank line; with CONTINUATION
        (the change touches an import statement), also a line of a multi-line import's names.
        A line longer than MAX_LINE is neither (it could hide code after the names)."""
        stripped = text.strip()
        if not stripped:
            return True
        if len(stripped) > MAX_LINE:
            return False
        if self.statement.match(stripped):
            return True
        return continuation and self.names.match(stripped) is not None


@dataclass(frozen=True)
class CodeScopes:
    """A file's blocks and imports, and how its language's import lines look."""

    blocks: tuple[Block, ...]  # outer before inner
    imports: tuple[Span, ...]  # each import statement at any level
    lines: ImportLines

    def innermost(self, line: int) -> Block | None:
        """The innermost function or class that holds LINE, or None (module level)."""
        found = None
        for block in self.blocks:
            if block.start <= line <= block.end and (found is None or block.start >= found.start):
                found = block
        return found

    def widen(self, span: Span) -> Span:
        """SPAN grown to the innermost function (else class) around its first line."""
        block = self.innermost(span[0])
        if block is None:
            return span
        return min(block.start, span[0]), max(block.end, span[1])

    def in_imports(self, span: Span) -> bool:
        """Whether SPAN touches an import statement (an added import sits next to one)."""
        return any(span[0] <= end + 1 and start - 1 <= span[1] for start, end in self.imports)

    def is_import_line(self, text: str, *, continuation: bool = False) -> bool:
        """:meth:`ImportLines.is_import_line` in this file's language."""
        return self.lines.is_import_line(text, continuation=continuation)
