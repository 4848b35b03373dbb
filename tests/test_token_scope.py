"""The block finder of other languages than Python (:mod:`fixreview.risk.token_scope`): named
functions and classes, the imports, braces and ``end`` inside strings and comments, anonymous
functions, and hostile input that stays bounded."""

from __future__ import annotations

from fixreview.risk.code_blocks import CodeScopes
from fixreview.risk.code_scope import code_scopes, understands
from fixreview.risk.token_scope import MAX_BLOCKS, MAX_NAME, MAX_PARTS, MAX_TEXT


def scopes(path: str, *lines: str) -> CodeScopes:
    found = code_scopes(path, "\n".join(lines) + "\n")
    assert found is not None
    return found


def blocks(found: CodeScopes) -> list[tuple[int, int, str]]:
    return [(block.start, block.end, block.label) for block in found.blocks]


def test_javascript_functions_methods_and_assigned_arrows() -> None:
    found = scopes(
        "web/app.js",
        'import db from "./db.js";',  # 1
        'const crypto = require("crypto");',  # 2
        "class Shop extends Base {",  # 3
        "  async pay(order) { if (order) { return '{'; } } // }",  # 4
        "  refund() {",  # 5
        "  }",  # 6
        "}",  # 7
        "const handler = async (req) => {",  # 8
        "};",  # 9
        "function main() {",  # 10
        "  app.get('/', (req, res) => {",  # 11
        "    res.send(`${req.id} }`);",  # 12
        "  });",  # 13
        "}",  # 14
        "let x = compute(y)",  # 15
        "while (x) {",  # 16
        "}",  # 17
    )
    assert blocks(found) == [
        (3, 7, "class Shop"),
        (4, 4, "function Shop.pay()"),
        (5, 6, "function Shop.refund()"),
        (8, 9, "function handler()"),
        (10, 14, "function main()"),
    ]
    # the anonymous callback gives no name: its lines are main's
    inner = found.innermost(12)
    assert inner is not None and inner.label == "function main()"
    assert found.innermost(16) is None and found.widen((12, 12)) == (10, 14)
    assert found.imports == ((1, 1), (2, 2))


def test_typescript_multi_line_import_and_return_types() -> None:
    found = scopes(
        "web/app.ts",
        "import {",  # 1
        "  a,",  # 2
        '} from "y";',  # 3
        "export class Shop {",  # 4
        "  pay(order: Order): Promise<void> {",  # 5
        "  }",  # 6
        "}",  # 7
        "type Row = {",  # 8
        "  id: string }",  # 9
    )
    assert blocks(found) == [(4, 7, "class Shop"), (5, 6, "function Shop.pay()")]
    assert found.imports == ((1, 3),) and found.in_imports((2, 2))
    assert found.is_import_line("  b,", continuation=True)
    assert found.is_import_line('} from "y";', continuation=True)
    assert not found.is_import_line("  b,") and not found.is_import_line(
        "run(b);", continuation=True
    )


def test_java_annotations_nested_classes_and_anonymous_classes() -> None:
    found = scopes(
        "src/Shop.java",
        "import a.b.C;",  # 1
        '@Entity("shops")',  # 2
        "public class Shop {",  # 3
        "  @Override",  # 4
        "  public <T> List<T> pay() throws E {",  # 5
        '    synchronized (lock) { String s = "}"; }',  # 6
        "  }",  # 7
        "  Runnable r = new Runnable() { };",  # 8
        "  static class Inner {",  # 9
        "    void refund() {}",  # 10
        "  }",  # 11
        "}",  # 12
    )
    assert blocks(found) == [
        (2, 12, "class Shop"),
        (4, 7, "function Shop.pay()"),
        (9, 11, "class Shop.Inner"),
        (10, 10, "function Shop.Inner.refund()"),
    ]
    assert found.innermost(8) is not None and found.innermost(8).label == "class Shop"  # type: ignore[union-attr]


def test_go_receivers_import_blocks_and_assigned_functions() -> None:
    found = scopes(
        "srv/main.go",
        "package main",  # 1
        "",  # 2
        "import (",  # 3
        '\t"fmt"',  # 4
        ")",  # 5
        "type Server struct {",  # 6
        "}",  # 7
        "func (s *Server) Handle(w Writer) (int, error) {",  # 8
        "\tif x { }",  # 9
        "\th := func() {",  # 10
        '\t\tfmt.Println("}" + `}`) // }',  # 11
        "\t}",  # 12
        "}",  # 13
        "func main() {",  # 14
        "}",  # 15
    )
    assert blocks(found) == [
        (6, 7, "class Server"),
        (8, 13, "function Server.Handle()"),
        (10, 12, "function Server.Handle.h()"),
        (14, 15, "function main()"),
    ]
    assert found.imports == ((3, 5),)
    assert found.is_import_line('\t"net/http"', continuation=True)
    assert found.is_import_line('\tlog "github.com/x/log"', continuation=True)
    assert not found.is_import_line("\tx := 1", continuation=True)


def test_csharp_attributes_constructors_and_using_statements() -> None:
    found = scopes(
        "src/Shop.cs",
        "using System.Data;",  # 1
        "namespace Shop {",  # 2
        "  class Payments : Base {",  # 3
        '    [HttpGet("x")]',  # 4
        "    public Payments(int x) : base(x) {",  # 5
        '      using (var y = z) { } lock (q) { var s = @"}"; }',  # 6
        "    }",  # 7
        "    public int Total { get; set; }",  # 8
        "  }",  # 9
        "}",  # 10
    )
    assert blocks(found) == [(3, 9, "class Payments"), (4, 7, "function Payments.Payments()")]
    assert found.imports == ((1, 1),)
    assert found.is_import_line("using static System.Math;")
    assert not found.is_import_line("using var conn = Open();")


def test_php_ruby_c_cpp_kotlin_rust() -> None:
    php = scopes(
        "src/Shop.php",
        "<?php",  # 1
        "use App\\Db;",  # 2
        "class Shop {",  # 3
        '  public function pay($x) { if ($x) { $s = "}{$x}"; } } # }',  # 4
        "}",  # 5
        "$f = function($x) use ($y) {",  # 6
        "};",  # 7
    )
    assert blocks(php) == [
        (3, 5, "class Shop"),
        (4, 4, "function Shop.pay()"),
        (6, 7, "function $f()"),
    ]
    assert php.imports == ((2, 2),)
    ruby = scopes(
        "lib/shop.rb",
        'require "db"',  # 1
        "module Billing",  # 2
        "  class Shop < Base",  # 3
        "    def pay(x)",  # 4
        '      y = "end #{x}" if x # end',  # 5
        "      [1].each do |z|",  # 6
        "      end",  # 7
        "    end",  # 8
        "    def self.total = 1",  # 9
        "    def refund",  # 10
        "      while x do",  # 11
        "      end",  # 12
        "    end",  # 13
        "  end",  # 14
        "end",  # 15
    )
    assert blocks(ruby) == [
        (3, 14, "class Shop"),
        (4, 8, "function Shop.pay()"),
        (10, 13, "function Shop.refund()"),
    ]
    assert ruby.imports == ((1, 1),) and ruby.is_import_line("require_relative 'log'")
    c = scopes(
        "src/pay.c",
        "#include <stdio.h>",  # 1
        "#define OPEN {",  # 2
        "struct order *make(void) {",  # 3
        "  char *b = \"}\"; /* } */ char c = '}';",  # 4
        "  for (;;) { }",  # 5
        "}",  # 6
        "struct order {",  # 7
        "  int id;",  # 8
        "};",  # 9
    )
    assert blocks(c) == [(3, 6, "function make()"), (7, 9, "class order")]
    assert c.imports == ((1, 1),) and c.is_import_line("#include <string.h>")
    cpp = scopes(
        "src/pay.cpp",
        "namespace shop {",  # 1
        "int Payments::pay(int x) const {",  # 2
        "  auto f = [](int y) { return y; };",  # 3
        "}",  # 4
        "}",  # 5
    )
    assert blocks(cpp) == [(2, 4, "function Payments::pay()")]
    kotlin = scopes(
        "src/Shop.kt",
        "import a.b",  # 1
        "class Shop(x: Int) : Base(x) {",  # 2
        '  fun pay(): Int { val s = "${x}}"; return 1 }',  # 3
        "  fun refund() { runBlocking { } }",  # 4
        "}",  # 5
    )
    assert blocks(kotlin) == [
        (2, 5, "class Shop"),
        (3, 3, "function Shop.pay()"),
        (4, 4, "function Shop.refund()"),
    ]
    rust = scopes(
        "src/shop.rs",
        "use a::{b,",  # 1
        "    c};",  # 2
        "impl<T> Display for Shop<T> {",  # 3
        "    fn fmt(&self) -> R { let c = '}'; }",  # 4
        "}",  # 5
    )
    assert blocks(rust) == [(3, 5, "class Shop"), (4, 4, "function Shop.fmt()")]
    assert rust.imports == ((1, 2),)


def test_unknown_languages_are_measured_by_lines() -> None:
    assert not understands("notes.txt") and not understands("Makefile")
    assert understands("a/B.JAVA") and understands("x.py") and understands("y.tsx")
    assert code_scopes("notes.txt", "function f() {\n}\n") is None


def test_hostile_input_stays_bounded() -> None:
    # unbalanced braces: no block, nothing closed
    deep = code_scopes("deep.js", "{" * 100_000)
    assert deep is not None and deep.blocks == ()
    # deeply nested named functions: the names are cut, not grown without end
    nested = code_scopes("deep.js", "function a() {\n" * 3000 + "}\n" * 3000)
    assert nested is not None and len(nested.blocks) == 3000
    assert max(len(block.name) for block in nested.blocks) <= MAX_NAME + 2
    inner = nested.innermost(3000)
    assert inner is not None and inner.label.startswith("function \u2026.") and inner.end == 3001
    ruby = code_scopes("deep.rb", "def a\n" * 3000 + "end\n" * 3000)
    assert ruby is not None and len(ruby.blocks) == 3000
    # too many blocks, or too long a text: lines only
    assert code_scopes("many.java", "void m(){}" * (MAX_BLOCKS + 1)) is None
    assert code_scopes("big.c", "int x;\n" * (MAX_TEXT // 7 + 1)) is None
    # an import never closed is its own line, and so is each one after it
    go = code_scopes("imports.go", "import (\n" * 1000)
    assert go is not None and go.imports[:2] == ((1, 1), (2, 2)) and len(go.imports) == 1000
    # a long qualified name keeps its first parts
    dotted = code_scopes("dotted.java", "class " + ".".join(["a"] * 100) + " {\n}\n")
    assert dotted is not None and [b.name for b in dotted.blocks] == [".".join(["a"] * MAX_PARTS)]
    # a long header is read by its last tokens only
    wide = code_scopes("wide.c", "int f(" + "a," * 50_000 + "b) {}\n")
    assert wide is not None and wide.blocks == ()


def test_code_scope_names_exactly_the_extensions_token_scope_reads() -> None:
    """code_scope tells a file token_scope reads by its own list of extensions, so that a fix
    in Python alone never imports token_scope: the two lists are the same."""
    from fixreview.risk.code_scope import TOKEN_EXTENSIONS
    from fixreview.risk.token_scope import LANGUAGES

    assert set(LANGUAGES) == TOKEN_EXTENSIONS
    assert understands("web/App.TSX") and understands("lib/x.c++") and not understands("a.txt")
