"""The functions, classes and import statements of Python code, read with Python's own parser
(:mod:`ast`), for the ``out-of-scope`` check (:mod:`fixreview.risk.code_scope`). A file that
does not parse gives nothing (the check then measures lines only).
"""

from __future__ import annotations

import ast
import re
import warnings
from functools import lru_cache

from fixreview.risk.code_blocks import Block, CodeScopes, ImportLines, Span

_IMPORT_LINE = re.compile(r"(?:import|from)\s")
# a line of names inside ``from x import (…)``: ``a,``, ``b as c,``, ``)``; a comma between
# any two names, so no line can be split into names in more than one way (no backtracking)
_NAME = r"[A-Za-z_][\w.]*(?:\s+as\s+\w+)?"
_NAMES_LINE = re.compile(rf"^\(?\s*{_NAME}(?:\s*,\s*{_NAME})*(?:\s*,)?(?:\s*\))?$|^\)$")
PYTHON_IMPORT_LINES = ImportLines(_IMPORT_LINE, _NAMES_LINE)
is_import_line = PYTHON_IMPORT_LINES.is_import_line


@lru_cache(maxsize=128)
def python_scopes(text: str) -> CodeScopes | None:
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
    return CodeScopes(tuple(blocks), tuple(sorted(imports)), PYTHON_IMPORT_LINES)


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
