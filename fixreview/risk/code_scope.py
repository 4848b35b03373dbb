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

Span = tuple[int, int]
# a line of names inside ``from x import (…)``: ``a,``, ``b as c,``, ``)``
_NAMES_LINE = re.compile(r"^(\(?\s*[A-Za-z_][\w.]*(\s+as\s+\w+)?\s*,?\s*)+\)?$|^\)$")


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


def python_scopes(text: str) -> PythonScopes | None:
    """The blocks and imports of the Python source TEXT; None when it does not parse."""
    try:
        with warnings.catch_warnings():  # a SyntaxWarning in the reviewed code is not ours
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    blocks: list[Block] = []
    imports: list[Span] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                name = f"{prefix}{child.name}"
                kind = "class" if isinstance(child, ast.ClassDef) else "function"
                blocks.append(Block(start, child.end_lineno or child.lineno, name, kind))
                visit(child, f"{name}.")
            elif isinstance(child, ast.Import | ast.ImportFrom):
                imports.append((child.lineno, child.end_lineno or child.lineno))
            else:
                visit(child, prefix)

    visit(tree, "")
    return PythonScopes(tuple(blocks), tuple(imports))


def is_import_line(text: str, *, continuation: bool = False) -> bool:
    """Whether a changed line is an import statement or a blank line; with CONTINUATION (the
    change touches an import statement), also a line of a parenthesized import's names."""
    stripped = text.strip()
    if not stripped or stripped.startswith(("import ", "from ")):
        return True
    return continuation and _NAMES_LINE.match(stripped) is not None
