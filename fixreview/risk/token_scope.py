"""The functions, classes and import statements of code in languages other than Python, found
in the file's Pygments tokens, for the ``out-of-scope`` check (:mod:`fixreview.risk.code_scope`).

Only keyword, name, punctuation and operator tokens are read: a brace, ``end`` or ``import``
inside a string or a comment is never taken for code.

- The brace languages (JavaScript, TypeScript, Java, Kotlin, Go, C#, PHP, C, C++, Rust): each
  ``{`` opens a block and its ``}`` closes it. The tokens since the previous ``;``, ``{`` or
  ``}`` (the *header*) say what the block is: a class (``class``, ``struct``, ``interface``,
  ``enum``, ``record``, ``trait``, ``impl``, ``object``, Go's ``type``) and its name; a function
  (``function``, ``func``, ``fn``, ``fun``, or, in the C family, Java, C# and JavaScript, a name
  followed by its parameters: ``void pay(int x) throws E {``) and its name, with Go's receiver
  (``Server.Handle``); a function assigned to a name (``const pay = (x) => {``,
  ``h := func() {``) by that name. Any other block (``if``, a loop, a namespace, an object
  literal, an anonymous function) is transparent: what it holds belongs to the named block
  around it.
- Ruby: ``def``, ``class`` and ``module`` … ``end``, with the other keywords that an ``end``
  closes (``do``, ``begin``, ``case``, and ``if``/``unless``/``while``/``until`` that start a
  statement, not their modifier forms).
- Imports: a line whose first token is code (not a string or comment) and reads as the
  language's import statement (``import``, ``require(…)``, ``using``, ``#include``, ``use``,
  Go's ``import ( … )``), up to where the brackets it opens are closed.

The work is bounded: a text of at most :data:`MAX_TEXT` characters is lexed (a longer one gives
nothing: lines only), one pass over its tokens, each header kept to its last
:data:`MAX_HEADER` tokens, and at most :data:`MAX_BLOCKS` blocks (more: nothing).
"""

from __future__ import annotations

import importlib
import posixpath
import re
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from pygments.token import (  # type: ignore[import-untyped]
    Comment,
    Error,
    Keyword,
    Name,
    Operator,
    Punctuation,
    String,
    Text,
    Whitespace,
)

from fixreview.risk.bounds import MAX_LINE
from fixreview.risk.code_blocks import Block, CodeScopes, ImportLines, Span

MAX_TEXT = 128 * 1024
"""Characters of a file lexed (Pygments reads 100 to 250 KB a second here); a longer file is
measured by lines only."""
MAX_HEADER = 256
"""Tokens of a block's header read to name it (the last ones, nearest its ``{``)."""
MAX_BLOCKS = 5000
"""Named blocks kept for one file; a file with more is measured by lines only."""
MAX_PARTS = 8
"""Parts of one qualified name read (``a.b.c``, ``A::B::f``)."""
MAX_IMPORT_LINES = 200
"""Lines one import statement may span (an unclosed bracket does not make the rest of the file
an import)."""

# -- import lines ------------------------------------------------------------------------------

# one imported name, path or string: a.b.C, a::b::{c, d}, A\B, "net/http", '../x', *
_ITEM = (
    r"(?:[\w$*]+(?:(?:\.|::|\\|/)[\w$*]+)*(?:::\{[^{}]*\})?"
    r"|\"[^\"\n]*\"|'[^'\n]*'|`[^`\n]*`)"
)
# ``a as b``, Go's ``log "path"``
_ENTRY = rf"{_ITEM}(?:\s+as\s+{_ITEM}|\s+\"[^\"\n]*\")?"
# a line of a multi-line import: ``a,``, ``b as c,``, ``"net/http"``, ``} from "x";``, ``)``;
# a comma between any two entries, so a line splits into them in one way only
_NAMES = re.compile(
    rf"^[{{(]?\s*(?:{_ENTRY}(?:\s*,\s*{_ENTRY})*(?:\s*,)?)?"
    rf"(?:\s*[}})](?:\s*from\s+{_ITEM})?)?(?:\s*;)?$"
)


def _lines(statement: str) -> ImportLines:
    return ImportLines(re.compile(statement), _NAMES)


_JS_IMPORTS = _lines(
    r"import\b|export\s+(?:type\s+)?(?:\*|\{[^}]*\})\s*(?:as\s+\w+\s+)?from\b"
    r"|(?:(?:const|let|var)\s+(?:[\w$]+|\{[^}]*\})\s*=\s*)?require\s*\("
)
_JVM_IMPORTS = _lines(r"import\s")
_GO_IMPORTS = _lines(r"import\b")
_CSHARP_IMPORTS = _lines(r"(?:global\s+)?using\s+(?:static\s+)?[\w.]+\s*(?:=\s*[\w.<>, ]+)?;")
_PHP_IMPORTS = _lines(r"use\s|(?:require|include)(?:_once)?\b")
_RUBY_IMPORTS = _lines(r"(?:require|require_relative|autoload)\b")
_C_IMPORTS = _lines(r"#\s*(?:include|import)\b|import\s|using\s+(?:namespace\s+)?[\w:]+\s*;")
_RUST_IMPORTS = _lines(r"(?:pub(?:\([^)]*\))?\s+)?use\s|extern\s+crate\s|mod\s+\w+\s*;")

# -- languages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Language:
    """How a language's blocks and imports are found: its lexer, its import lines, whether its
    blocks are Ruby's ``… end``, whether a function always has its keyword (then ``name(…) {``
    is a call with a trailing block, not a function), and its class keywords."""

    name: str
    lexer: str  # its Pygments lexer class, "module:Class": imported when a file needs it
    imports: ImportLines
    ruby: bool = False
    keyword_functions: bool = False
    class_words: frozenset[str] = frozenset(
        {"class", "struct", "interface", "enum", "record", "trait", "impl", "object", "union"}
    )


def _lexer_class(path: str) -> Any:
    """The lexer class PATH (``module:Class``) names, its module imported now: a process that
    reads no such file (``verify`` on a Python fix, a risk worker on a Python queue) does not
    import the eleven lexers' modules (about 2 MB and 20 ms here)."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


_JS = Language("JavaScript", "pygments.lexers.javascript:JavascriptLexer", _JS_IMPORTS)
_TS = Language("TypeScript", "pygments.lexers.javascript:TypeScriptLexer", _JS_IMPORTS)
_C = Language("C", "pygments.lexers.c_cpp:CLexer", _C_IMPORTS)
_CPP = Language("C++", "pygments.lexers.c_cpp:CppLexer", _C_IMPORTS)
LANGUAGES: dict[str, Language] = {
    **dict.fromkeys((".js", ".mjs", ".cjs"), _JS),
    ".jsx": Language("JavaScript", "pygments.lexers.jsx:JsxLexer", _JS_IMPORTS),
    **dict.fromkeys((".ts", ".mts", ".cts"), _TS),
    ".tsx": Language("TypeScript", "pygments.lexers.jsx:TsxLexer", _JS_IMPORTS),
    ".java": Language("Java", "pygments.lexers.jvm:JavaLexer", _JVM_IMPORTS),
    **dict.fromkeys(
        (".kt", ".kts"),
        Language("Kotlin", "pygments.lexers.jvm:KotlinLexer", _JVM_IMPORTS, keyword_functions=True),
    ),
    ".go": Language(
        "Go",
        "pygments.lexers.go:GoLexer",
        _GO_IMPORTS,
        keyword_functions=True,
        class_words=frozenset({"type", "struct", "interface"}),
    ),
    ".cs": Language("C#", "pygments.lexers.dotnet:CSharpLexer", _CSHARP_IMPORTS),
    ".php": Language("PHP", "pygments.lexers.php:PhpLexer", _PHP_IMPORTS, keyword_functions=True),
    **dict.fromkeys(
        (".rb", ".rake"),
        Language("Ruby", "pygments.lexers.ruby:RubyLexer", _RUBY_IMPORTS, ruby=True),
    ),
    ".c": _C,
    **dict.fromkeys((".h", ".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx"), _CPP),
    ".rs": Language(
        "Rust", "pygments.lexers.rust:RustLexer", _RUST_IMPORTS, keyword_functions=True
    ),
}
"""The languages understood, by file name extension (lower case)."""


def language_for(path: str) -> Language | None:
    """The language of the file at PATH, by its extension; None for any other file."""
    return LANGUAGES.get(posixpath.splitext(path)[1].lower())


# -- tokens ------------------------------------------------------------------------------------


class Tok(NamedTuple):
    """A code token (never a string, comment or space): its type, text and line (from 1)."""

    kind: Any  # a Pygments token type
    value: str
    line: int


_SPLIT = re.compile(r"[{}()\[\];]|[^{}()\[\];]+")
_SKIPPED = (String, Comment, Text, Whitespace)


def _skipped(kind: Any) -> bool:
    """Whether a token of type KIND is not code: a string (any part of one), a comment (a
    preprocessor line too: its text is not the code's structure), a space."""
    return any(kind in parent for parent in _SKIPPED)


def _tokens(language: Language, text: str) -> tuple[list[Tok], set[int]]:
    """The code tokens of TEXT (each bracket and ``;`` a token of its own: a lexer may join
    ``()``; ``::`` one token: a lexer may split it), and the lines whose first token is code
    (an import may start only there)."""
    lexer = _lexer_class(language.lexer)(stripnl=False, ensurenl=True)
    found: list[Tok] = []
    code_lines: set[int] = set()
    line, seen = 1, 0  # seen: the last line whose first token was looked at
    joint = -1  # where the ``:`` just kept ended
    for index, kind, value in lexer.get_tokens_unprocessed(text):
        if not value:
            continue
        if value == ":" and index == joint:
            found[-1] = found[-1]._replace(value="::")
            joint = -1
            continue
        joint = -1
        if value.strip() and seen < line:
            seen = line
            if not _skipped(kind) or kind in Comment.Preproc:
                code_lines.add(line)
        if _skipped(kind):
            line += value.count("\n")
            continue
        if kind in Punctuation or kind in Operator or kind in Error:
            for piece in _SPLIT.findall(value):
                if piece.strip():
                    found.append(Tok(kind, piece.strip(), line))
                line += piece.count("\n")
            joint = index + 1 if value == ":" else -1
            continue
        if value.strip():
            found.append(Tok(kind, value.strip(), line))
        line += value.count("\n")
    return found, code_lines


# -- imports -----------------------------------------------------------------------------------


def _imports(language: Language, text: str, tokens: Sequence[Tok], code: set[int]) -> list[Span]:
    """The import statements: from a code line that reads as one to the line where the
    brackets it opened are closed again (at most :data:`MAX_IMPORT_LINES` lines; an import
    still open then is its first line only). Each line is looked at once."""
    statement = language.imports.statement
    lines = text.split("\n")
    starts = [
        number
        for number, raw in enumerate(lines, start=1)
        if number in code and len(raw) <= MAX_LINE and statement.match(raw.strip())
    ]
    delta: dict[int, int] = {}  # brackets opened less those closed, by line
    for tok in tokens:
        if tok.value in ("(", "[", "{"):
            delta[tok.line] = delta.get(tok.line, 0) + 1
        elif tok.value in (")", "]", "}"):
            delta[tok.line] = delta.get(tok.line, 0) - 1
    spans: list[Span] = []
    scanned = 0  # the last line already read as part of an import
    for first in starts:
        if first <= scanned:  # inside the one before (which was never closed)
            spans.append((first, first))
            continue
        depth, last = 0, first
        while True:
            depth += delta.get(last, 0)
            if depth <= 0:
                spans.append((first, last))
                break
            if last - first >= MAX_IMPORT_LINES or last >= len(lines):
                spans.append((first, first))
                break
            last += 1
        scanned = last
    return spans


# -- brace blocks ------------------------------------------------------------------------------

_FUNCTION_WORDS = frozenset({"function", "func", "fn", "fun"})
_TRANSPARENT_WORDS = frozenset({"namespace", "module"})
_ARROWS = frozenset({"=>", "->"})
_ASSIGN = frozenset({"=", ":=", ":"})
# between a signature's ``)`` and its ``{``: ``throws E``, ``const``, ``: Promise<T>``, ``-> R``
_SIGNATURE_TAIL = frozenset({"<", ">", ",", ".", "*", "&", "&&", "[", "]", "?", "::", "->"})
_LEAD_PUNCT = frozenset({"<", ">", ",", ".", "*", "&", "::", "@", "?", ":"})


_OPENERS = ("(", "[")
_CLOSERS = (")", "]")


class _Frame(NamedTuple):
    kind: str | None  # "function", "class", or None (a block that gives no name)
    name: str
    start: int


def _depths(header: Sequence[Tok]) -> list[int]:
    """Each token's bracket depth within HEADER (its own bracket counted outside)."""
    depths: list[int] = []
    depth = 0
    for tok in header:
        if tok.value in _CLOSERS:
            depth -= 1
        depths.append(depth)
        if tok.value in _OPENERS:
            depth += 1
    return depths


def _unclosed_tail(header: list[Tok]) -> list[Tok]:
    """HEADER after its last unclosed ``(`` or ``[``: ``foo(function() {`` → ``function()``."""
    depth = 0
    for index in range(len(header) - 1, -1, -1):
        value = header[index].value
        if value in _CLOSERS:
            depth += 1
        elif value in _OPENERS:
            if depth == 0:
                return header[index + 1 :]
            depth -= 1
    return header


# what a name shown in evidence may hold (a token is untrusted text): word characters and the
# joints of qualified names, or Ruby's ``valid?``/``save!``/``name=``
_SHOWN_NAME = re.compile(r"[\w$.:\\]{1,80}[?!=]?")


def _is_name(tok: Tok) -> bool:
    return (
        tok.kind in Name
        and tok.kind not in Name.Decorator
        and _SHOWN_NAME.fullmatch(tok.value) is not None
    )


def _skip_generics(header: Sequence[Tok], index: int) -> int:
    """INDEX past a ``<…>`` group that starts there (``impl<T>``, ``fun <T>``)."""
    if index >= len(header) or header[index].value != "<":
        return index
    depth = 0
    for at in range(index, len(header)):
        depth += header[at].value.count("<") - header[at].value.count(">")
        if depth <= 0:
            return at + 1
    return len(header)


def _dotted(header: Sequence[Tok], index: int) -> str | None:
    """The name at INDEX with any ``.`` or ``::`` parts after it (``String.trim``), at most
    :data:`MAX_PARTS` of them."""
    if index >= len(header) or not _is_name(header[index]):
        return None
    parts = [header[index].value]
    at = index + 1
    while (
        len(parts) < MAX_PARTS
        and at + 1 < len(header)
        and header[at].value in (".", "::")
        and _is_name(header[at + 1])
    ):
        parts.append(header[at + 1].value)
        at += 2
    return ".".join(parts)


def _annotation(tok: Tok) -> bool:
    """``@Override``, ``@Route`` (before its arguments), C#'s ``[HttpGet("x")]``."""
    return tok.kind in Name.Decorator or (tok.kind in Name.Attribute and tok.value[:1] == "[")


def _lead(header: Sequence[Tok], index: int) -> int:
    """Where the declaration whose key token is at INDEX starts: back over its modifiers,
    annotations and attributes (``@Route("/x")``, ``[HttpGet]``) and return type. A line
    above is crossed only for an annotation or attribute (a statement may end at a line's end)."""
    at = index
    while at > 0:
        before = header[at - 1]
        above = before.line < header[at].line
        if before.value in _CLOSERS:
            depth, opener = 0, at - 1
            while opener >= 0:
                depth += (header[opener].value in _CLOSERS) - (header[opener].value in _OPENERS)
                if depth == 0:
                    break
                opener -= 1
            if opener < 0:
                break
            annotated = opener > 0 and _annotation(header[opener - 1])
            if above and not (annotated or header[opener].value == "["):
                break
            at = opener - 1 if annotated else opener
            continue
        if above and not _annotation(before):
            break
        if before.kind in Keyword or before.kind in Name or before.value in _LEAD_PUNCT:
            at -= 1
            continue
        break
    return at


def _assigned_name(header: Sequence[Tok], index: int) -> tuple[str, int] | None:
    """The name a function starting at INDEX is assigned to (``const pay = async (…) =>``,
    ``h := func``, ``pay: function``), and where it is; None when it is not assigned."""
    at = index
    while at > 0 and header[at - 1].kind in Keyword:  # async
        at -= 1
    if at >= 2 and header[at - 1].value in _ASSIGN and _is_name(header[at - 2]):
        return header[at - 2].value, at - 2
    return None


def _classify(language: Language, header: Sequence[Tok]) -> _Frame | None:
    """What the block whose ``{`` follows HEADER is: a named function or class, or None."""
    if not header:
        return None
    depths = _depths(header)
    top = [i for i, depth in enumerate(depths) if depth == 0]
    # template <class T>: no class named T
    template = next((i for i in top if header[i].value == "template"), None)
    parameters = -1 if template is None else _skip_generics(header, template + 1)
    for i in top:
        tok = header[i]
        if tok.kind not in Keyword or i < parameters or (i and header[i - 1].value in (".", "::")):
            continue
        if tok.value in _TRANSPARENT_WORDS:
            return None
        if tok.value in language.class_words:
            frame = _class_frame(header, depths, i)
            if frame is not None or tok.value not in ("struct", "union", "enum"):
                return frame
        if tok.value in _FUNCTION_WORDS:
            return _function_frame(header, depths, i)
    if header[-1].value in _ARROWS:
        for i in top:
            if header[i].value == "=" and i > 0 and _is_name(header[i - 1]):
                return _Frame("function", header[i - 1].value, header[_lead(header, i - 1)].line)
        return None
    if not language.keyword_functions:
        return _signature_frame(header, depths)
    return None


def _class_frame(header: Sequence[Tok], depths: Sequence[int], index: int) -> _Frame | None:
    """The class whose keyword is at INDEX, by the name after it; None when it has none."""
    at = index + 1
    while at < len(header) and header[at].kind in Keyword and header[at].value != "for":
        at += 1  # enum class, static, data
    at = _skip_generics(header, at)
    if header[index].value == "impl":  # impl Trait for Type: the type
        after = [i for i in range(at, len(header)) if header[i].value == "for" and not depths[i]]
        if after:
            at = after[0] + 1
    name = _dotted(header, at)
    if name is None:
        return None
    rest = range(at, len(header))
    if header[index].value in ("struct", "union", "enum") and any(
        header[i].value == "(" and not depths[i] for i in rest
    ):
        return None  # C's struct s *make(void) {: a function, read as one next
    return _Frame("class", name, header[_lead(header, index)].line)


def _function_frame(header: Sequence[Tok], depths: Sequence[int], index: int) -> _Frame | None:
    """The function whose keyword is at INDEX, by its name or the name it is assigned to."""
    at = _skip_generics(header, index + 1)
    receiver = ""
    if at < len(header) and header[at].value == "(":  # Go's receiver: func (s *Server) Name(
        names = []
        while at + 1 < len(header) and depths[at + 1] > 0:
            at += 1
            if _is_name(header[at]):
                names.append(header[at].value)
        at += 2  # past the ")"
        receiver = f"{names[-1]}." if names else ""
    name = _dotted(header, at) if at < len(header) and not depths[at] else None
    if name is not None:
        return _Frame("function", receiver + name, header[_lead(header, index)].line)
    assigned = _assigned_name(header, index)
    if assigned is not None:
        return _Frame("function", assigned[0], header[_lead(header, assigned[1])].line)
    return None


def _signature_frame(header: Sequence[Tok], depths: Sequence[int]) -> _Frame | None:
    """``name(…) {`` with only a return type, ``throws``, ``const`` and the like between: a
    function (a method) named NAME; cut at a ``:`` after the ``)`` (a constructor's initializers
    or a return type)."""
    end = len(header)
    closed = False
    for i, tok in enumerate(header):
        if depths[i]:
            continue
        if tok.value == ")":
            closed = True
        elif tok.value == ":" and closed:
            end = i
            break
    opens = [i for i in range(end) if header[i].value == "(" and not depths[i]]
    if not opens:
        return None
    start = opens[-1]
    close = next((i for i in range(start + 1, end) if not depths[i]), None)
    if close is None or header[close].value != ")" or start == 0:
        return None
    name = header[start - 1]
    if not _is_name(name) or (start >= 2 and header[start - 2].value == "new"):
        return None
    for tok in header[close + 1 : end]:
        if not (tok.kind in Keyword or _is_name(tok) or tok.value in _SIGNATURE_TAIL):
            return None
    first, qualified = start - 1, name.value
    parts = 1
    while (
        parts < MAX_PARTS
        and first >= 2
        and header[first - 1].value == "::"
        and _is_name(header[first - 2])
    ):
        parts += 1
        first -= 2  # Payments::charge, when the lexer gives its parts
        qualified = f"{header[first].value}::{qualified}"
    return _Frame("function", qualified, header[_lead(header, first)].line)


MAX_NAME = 200
"""Characters of a block's qualified name; a deeper one keeps its last parts."""


def _qualified(names: Sequence[str], frame: _Frame) -> str:
    """FRAME's name within the named block around it (NAMES: those of the blocks open)."""
    parent = names[-1] if names else ""
    if frame.kind is None:
        return parent
    if not parent:
        return frame.name
    if len(parent) + len(frame.name) > MAX_NAME:
        return f"\u2026.{frame.name}"
    return f"{parent}.{frame.name}"


def _brace_blocks(language: Language, tokens: Sequence[Tok]) -> Iterator[Block]:
    """The named blocks of a brace language, each as its ``}`` closes it."""
    stack: list[_Frame] = []
    names: list[str] = []  # the qualified name of each frame of STACK
    header: deque[Tok] = deque(maxlen=MAX_HEADER)
    parens = 0
    for tok in tokens:
        value = tok.value
        if value == "{":
            frame = _classify(language, _unclosed_tail(list(header)))
            if frame is None:
                frame = _Frame(None, "", tok.line)
            names.append(_qualified(names, frame))
            stack.append(frame)
            header.clear()
            parens = 0
        elif value == "}":
            if (closed := _close(stack, names, tok.line)) is not None:
                yield closed
            header.clear()
            parens = 0
        elif value == ";" and parens <= 0:
            header.clear()
        else:
            parens += (value in _OPENERS) - (value in _CLOSERS)
            header.append(tok)


def _close(stack: list[_Frame], names: list[str], line: int) -> Block | None:
    """Close the innermost open frame at LINE: its block when it is a named one."""
    if not stack:
        return None
    frame, name = stack.pop(), names.pop()
    return Block(frame.start, line, name, frame.kind) if frame.kind is not None else None


# -- Ruby blocks -------------------------------------------------------------------------------

_RUBY_OPENERS = frozenset({"begin", "case", "for", "if", "unless", "while", "until"})
_RUBY_LOOPS = frozenset({"for", "while", "until"})
# after these an ``if`` (``unless``, ``while``…) starts an expression, not a modifier
_RUBY_VALUE_BEFORE = frozenset(
    {"=", "||=", "&&=", "+=", "-=", "(", "[", ",", "{", "||", "&&", "?", ":", "<<", "return"}
)


def _ruby_blocks(tokens: Sequence[Tok]) -> Iterator[Block]:
    """The named blocks of Ruby, each as its ``end`` closes it."""
    stack: list[_Frame] = []
    names: list[str] = []
    loop_line = 0  # a while/until/for opened on this line: its ``do`` opens nothing more
    for index, tok in enumerate(tokens):
        if tok.kind not in Keyword:
            continue
        before = tokens[index - 1].value if index else ""
        first = not index or tokens[index - 1].line < tok.line
        if before in (".", "::", "def"):
            continue  # a method named like a keyword
        frame: _Frame | None = None
        value = tok.value
        if value == "end":
            if (closed := _close(stack, names, tok.line)) is not None:
                yield closed
            continue
        if value == "def":
            frame = _ruby_def(tokens, index)
            if frame is None:
                continue  # def x = … (no end)
        elif value == "class":
            constant = _ruby_constant(tokens, index + 1)
            frame = _Frame("class" if constant else None, constant or "", tok.line)
        elif value == "module":
            frame = _Frame(None, "", tok.line)
        elif value == "do":
            if loop_line == tok.line:
                continue
            frame = _Frame(None, "", tok.line)
        elif value in _RUBY_OPENERS:
            if not (first or value in ("begin", "case") or before in _RUBY_VALUE_BEFORE):
                continue  # x = 1 if y
            if value in _RUBY_LOOPS:
                loop_line = tok.line
            frame = _Frame(None, "", tok.line)
        if frame is not None:
            names.append(_qualified(names, frame))
            stack.append(frame)


def _ruby_constant(tokens: Sequence[Tok], index: int) -> str | None:
    """The class name at INDEX (``Foo::Bar``), or None (``class << self``)."""
    if index >= len(tokens) or not _is_name(tokens[index]) or tokens[index].value == "self":
        return None
    return _dotted(tokens[index : index + 2 * 8], 0)


def _ruby_def(tokens: Sequence[Tok], index: int) -> _Frame | None:
    """The method ``def`` at INDEX opens (``def self.pay`` is ``pay``); None for an endless
    ``def pay(x) = x``."""
    line = tokens[index].line
    at = index + 1
    if at + 1 < len(tokens) and tokens[at].value == "self" and tokens[at + 1].value == ".":
        at += 2
    if at >= len(tokens) or _SHOWN_NAME.fullmatch(tokens[at].value) is None:
        return _Frame(None, "", line)
    name = tokens[at].value
    depth = 0
    for tok in tokens[at + 1 : at + 1 + MAX_HEADER]:
        if tok.line != line or tok.value == "def":  # (each token is read for one def only)
            break
        depth += (tok.value in _OPENERS) - (tok.value in _CLOSERS)
        if depth == 0 and tok.value == "=":
            return None
        if depth == 0 and tok.value == ";":
            break
    return _Frame("function", name, line)


# -- the scopes --------------------------------------------------------------------------------


def token_scopes(path: str, text: str) -> CodeScopes | None:
    """The blocks and imports of TEXT, the file at PATH, read from its Pygments tokens; None
    when PATH's language is not understood, TEXT is longer than :data:`MAX_TEXT` characters
    or has more than :data:`MAX_BLOCKS` named blocks."""
    language = language_for(path)
    if language is None or len(text) > MAX_TEXT:
        return None
    return _scopes(language, text)


@lru_cache(maxsize=128)
def _scopes(language: Language, text: str) -> CodeScopes | None:
    """Remembered by text: the fixes of a queue ask about the same base files again and again."""
    text = text.replace("\ufeff", " ", 1)  # Pygments would drop a BOM
    tokens, code_lines = _tokens(language, text)
    blocks: list[Block] = []
    found = _ruby_blocks(tokens) if language.ruby else _brace_blocks(language, tokens)
    for block in found:
        blocks.append(block)
        if len(blocks) > MAX_BLOCKS:
            return None
    blocks.sort(key=lambda block: (block.start, -block.end))
    imports = _imports(language, text, tokens, code_lines)
    return CodeScopes(tuple(blocks), tuple(sorted(imports)), language.imports)
