"""Where a finding's lines live in code: the function or class around them, and the import
statements, for the ``out-of-scope`` check.

The check asks this of a file the finding names, read at the merge-base (the side a scanner's
lines are on): a change inside the function or class that holds the finding's lines, or to the
imports a fix needs, is in scope however many lines away it is; elsewhere, the check's evidence
names the function a far change falls in. Python is read with its own parser
(:mod:`fixreview.risk.python_scope`); JavaScript, TypeScript, Java, Kotlin, Go, C#, PHP, Ruby,
C, C++ and Rust from their Pygments tokens (:mod:`fixreview.risk.token_scope`). Any other file,
or one that does not parse, gives nothing: the check then measures lines only.
"""

from __future__ import annotations

import posixpath

from fixreview.risk.code_blocks import CodeScopes
from fixreview.risk.python_scope import python_scopes

TOKEN_EXTENSIONS = frozenset(
    {
        *(".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx"),
        *(".java", ".kt", ".kts", ".go", ".cs", ".php", ".rb"),
        *(".c", ".h", ".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".rs", ".rake"),
    }
)
"""The extensions :mod:`fixreview.risk.token_scope` reads (its ``LANGUAGES``' keys, which a
test compares): named here, so that a fix in Python alone never imports it (its expressions
and Pygments' tokens are 2% of a cold ``verify``)."""


def is_python(path: str) -> bool:
    return path.lower().endswith(".py")


def understands(path: str) -> bool:
    """Whether :func:`code_scopes` reads the language of the file at PATH (by its name)."""
    return is_python(path) or posixpath.splitext(path)[1].lower() in TOKEN_EXTENSIONS


def code_scopes(path: str, text: str) -> CodeScopes | None:
    """The functions, classes and imports of TEXT, the file at PATH; None when its language is
    not understood or it cannot be read (too long, or Python that does not parse)."""
    if is_python(path):
        return python_scopes(text)
    if not understands(path):
        return None
    from fixreview.risk.token_scope import token_scopes

    return token_scopes(path, text)
