"""Where a finding's lines live in Python code: the function or class around them, and the
import statements, read with Python's own parser (:mod:`ast`).

The ``out-of-scope`` check asks this of a named Python file at the merge-base (the side a
scanner's lines are on): a change inside the function or class that holds the finding's lines,
or to the imports a fix needs, is in scope however many lines away it is; elsewhere, the check's
evidence names the function a far change falls in. A file that does not parse gives nothing
(the check then measures lines only, as for every other language).
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache

from fixreview.risk.bounds import MAX_LINE

Span = tuple[int, int]
# a line of names inside ``from x import (…)``: ``a,``, ``b as c,``, ``)``; a comma between
# any two names, so no line can be split into names in more than one way (no backtracking)
_NAME = r"[A-Za-z_][\w.]*(?:\s+as\s+\w+)?"
_NAMES_LINE = re.compile(rf"^\(?\s*{_NAME}(?:\s*,\s*{_NAME})*(?:\s*,)?(?:\s*\))?$|^\)$")


@dataclass(frozen=True)
class Block:
    """A function or class: its lines (decorators included) and its dotted name."""

    start: int
    end: int
    name: str
    kind: str  # "function" or "class"

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}" + ("()" if self.kind == "function" else "")


@dataclass(frozen=True)
class PythonScopes:
    blocks: tuple[Block, ...]  # outer before inner
    imports: tuple[Span, ...]  # each import statement at any level

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


@lru_cache(maxsize=128)
def python_scopes(text: str) -> PythonScopes | None:
    """The blocks and imports of the Python source TEXT; None when it does not parse.
    Remembered by text: the fixes of a queue ask about the same base files again and again."""
    try:
        with warnings.catch_warnings():  # a SyntaxWarning in the reviewed code is not ours
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    blocks: list[Block] = []
    imports: list[Span] = []
    # statements only (expressions hold no def, class or import): (statements, name prefix)
    pending: list[tuple[list[ast.stmt], str]] = [(tree.body, "")]
    while pending:
        body, prefix = pending.pop()
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                name = f"{prefix}{node.name}"
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                blocks.append(Block(start, node.end_lineno or node.lineno, name, kind))
                pending.append((node.body, f"{name}."))
            elif isinstance(node, ast.Import | ast.ImportFrom):
                imports.append((node.lineno, node.end_lineno or node.lineno))
            else:
                pending.extend((inner, prefix) for inner in _bodies(node))
    blocks.sort(key=lambda block: (block.start, -block.end))
    return PythonScopes(tuple(blocks), tuple(sorted(imports)))


def _bodies(node: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists inside a compound statement (if, for, while, with, try, match)."""
    found: list[list[ast.stmt]] = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(node, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            found.append(value)
    for part in (*getattr(node, "handlers", ()), *getattr(node, "cases", ())):
        body = getattr(part, "body", None)
        if isinstance(body, list):
            found.append(body)
    return found


def is_import_line(text: str, *, continuation: bool = False) -> bool:
    """Whether a changed line is an import statement or a blank line; with CONTINUATION (the
    change touches an import statement), also a line of a parenthesized import's names."""
    stripped = text.strip()
    if not stripped or stripped.startswith(("import ", "from ")):
        return True
    fits = len(stripped) <= MAX_LINE  # a longer line is not read as names (nor hides code)
    return continuation and fits and _NAMES_LINE.match(stripped) is not None
