"""`out-of-scope` that understands code in languages other than Python (read from their
Pygments tokens): for each language, a fix that adds an import at the top and changes another
line of the vulnerable function, across a brace or ``end`` inside a string and a comment, stays
in scope; a change in another function is out of scope, and the evidence names that function.
Real git, the command line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cliutil import fixreview
from tests.gitutil import AI, TestRepo


@dataclass(frozen=True)
class Lang:
    path: str
    imports: tuple[str, ...]  # the file's first lines
    added_import: str  # put after them by the fix
    prefix: tuple[str, ...]  # around the functions (a class, a namespace)
    suffix: tuple[str, ...]
    refund: str  # the line opening the vulnerable function
    charge: str  # the line opening another function
    close: str
    statement: str  # a filler statement: {n} is its number
    finding: str  # the vulnerable line, and its fix
    fixed: str
    tricky: tuple[str, ...]  # a closing brace or end inside a string and a comment
    label: str  # how the evidence names the other function


LANGS = {
    "javascript": Lang(
        "web/payments.js",
        ('import db from "./db.js";', 'const crypto = require("crypto");'),
        'import { log } from "./log.js";',
        (),
        (),
        "function refund(order) {",
        "const charge = async (order) => {",
        "}",
        "  const step{n} = {n};",
        '  const rows = db.query("select * from refunds where id = " + order.id);',
        '  const rows = db.query("select * from refunds where id = ?", [order.id]);',
        ('  const brace = "}"; // } is not the end', "  const t = `${order.id} }`;"),
        "function charge()",
    ),
    "typescript": Lang(
        "web/payments.ts",
        ('import { db } from "./db";',),
        'import type { Log } from "./log";',
        ("export class Payments {",),
        ("}",),
        "  refund(order: Order): Row[] {",
        "  async charge(order: Order): Promise<void> {",
        "  }",
        "    const step{n}: number = {n};",
        '    const rows = db.query("select * from refunds where id = " + order.id);',
        '    const rows = db.query("select * from refunds where id = ?", [order.id]);',
        ("    const brace = '}'; /* } */",),
        "function Payments.charge()",
    ),
    "java": Lang(
        "src/main/java/shop/Payments.java",
        ("package shop;", "import java.sql.Connection;"),
        "import java.sql.PreparedStatement;",
        ("public class Payments {",),
        ("}",),
        "  public List<Row> refund(Order order) throws SQLException {",
        "  @Transactional\n  public void charge(Order order) {",
        "  }",
        "    int step{n} = {n};",
        '    ResultSet rows = db.execute("select * from refunds where id = " + order.id);',
        '    ResultSet rows = db.prepare("select * from refunds where id = ?", order.id);',
        ('    String brace = "}"; // }', "    char c = '}';"),
        "function Payments.charge()",
    ),
    "kotlin": Lang(
        "src/main/kotlin/Payments.kt",
        ("import java.sql.Connection",),
        "import java.sql.PreparedStatement",
        ("class Payments(private val db: Db) {",),
        ("}",),
        "  fun refund(order: Order): List<Row> {",
        "  fun charge(order: Order) {",
        "  }",
        "    val step{n} = {n}",
        '    val rows = db.execute("select * from refunds where id = ${order.id}")',
        '    val rows = db.prepare("select * from refunds where id = ?", order.id)',
        ('    val brace = "${order.id}}" // }',),
        "function Payments.charge()",
    ),
    "go": Lang(
        "payments/refund.go",
        ("package payments", "", "import (", '\t"database/sql"', ")"),
        '\t"log"',
        (),
        (),
        "func (s *Store) Refund(order Order) ([]Row, error) {",
        "func Charge(order Order) error {",
        "}",
        "\tstep{n} := {n}",
        '\trows, err := s.db.Query("select * from refunds where id = " + order.ID)',
        '\trows, err := s.db.Query("select * from refunds where id = ?", order.ID)',
        ('\tbrace := "}" + `}` // }',),
        "function Charge()",
    ),
    "csharp": Lang(
        "src/Payments.cs",
        ("using System.Data;",),
        "using System.Data.Common;",
        ("namespace Shop {", "public class Payments {"),
        ("}", "}"),
        "  public IList<Row> Refund(Order order) {",
        '  [HttpPost("charge")]\n  public void Charge(Order order) {',
        "  }",
        "    int step{n} = {n};",
        '    var rows = db.Query("select * from refunds where id = " + order.Id);',
        '    var rows = db.Query("select * from refunds where id = @id", order.Id);',
        ('    var brace = @"}"; // }', "    char c = '}';"),
        "function Payments.Charge()",
    ),
    "php": Lang(
        "src/Payments.php",
        ("<?php", "use App\\Db;"),
        "use App\\Log;",
        ("class Payments {",),
        ("}",),
        "  public function refund($order) {",
        "  public function charge($order) {",
        "  }",
        "    $step{n} = {n};",
        '    $rows = $this->db->query("select * from refunds where id = " . $order->id);',
        '    $rows = $this->db->prepare("select * from refunds where id = ?", [$order->id]);',
        ('    $brace = "}{$order->id}"; # }',),
        "function Payments.charge()",
    ),
    "ruby": Lang(
        "lib/payments.rb",
        ('require "db"',),
        'require "logger"',
        ("class Payments",),
        ("end",),
        "  def refund(order)",
        "  def charge(order)",
        "  end",
        "    step{n} = {n}",
        '    rows = db.execute("select * from refunds where id = #{order.id}")',
        '    rows = db.execute("select * from refunds where id = ?", order.id)',
        ('    brace = "end" # end', "    step0 = 1 if step1", "    [1].each do |n|", "    end"),
        "function Payments.charge()",
    ),
    "c": Lang(
        "src/payments.c",
        ("#include <stdio.h>",),
        "#include <string.h>",
        (),
        (),
        "int refund(struct order *order) {",
        "static void charge(struct order *order) {",
        "}",
        "  int step{n} = {n};",
        '  sprintf(query, "select * from refunds where id = %s", order->id);',
        '  snprintf(query, sizeof query, "select * from refunds where id = %d", order->n);',
        ('  const char *brace = "}"; /* } */', "  char c = '}';"),
        "function charge()",
    ),
    "cpp": Lang(
        "src/payments.cpp",
        ("#include <vector>",),
        "#include <string>",
        ("namespace shop {",),
        ("}",),
        "std::vector<Row> Payments::refund(const Order& order) {",
        "void Payments::charge(const Order& order) {",
        "}",
        "  int step{n} = {n};",
        '  auto rows = db.query("select * from refunds where id = " + order.id);',
        '  auto rows = db.query("select * from refunds where id = ?", order.id);',
        ('  std::string brace = "}"; // }', "  auto f = [](int x) { return x; };"),
        "function Payments::charge()",
    ),
    "rust": Lang(
        "src/payments.rs",
        ("use std::io;",),
        "use std::fmt;",
        ("impl Store {",),
        ("}",),
        "    pub fn refund(&self, order: &Order) -> Vec<Row> {",
        "    pub fn charge(&self, order: &Order) {",
        "    }",
        "        let step{n} = {n};",
        '        let rows = self.db.query(&format!("select * from refunds where id={}", o.id));',
        '        let rows = self.db.query("select * from refunds where id = $1", &[&order.id]);',
        ('        let brace = "}"; // }', "        let c = '}';"),
        "function Store.charge()",
    ),
}


def source(
    lang: Lang,
    *,
    import_added: bool = False,
    fixed: bool = False,
    far: bool = False,
    other: bool = False,
) -> tuple[str, int]:
    """The file, and the line of the finding in it (as the base numbers it)."""
    step = lang.statement.format
    lines = [*lang.imports, *([lang.added_import] if import_added else []), "", *lang.prefix]
    lines += [lang.refund, *(step(n=n) for n in range(1, 13))]
    finding = len(lines) + 1 - (1 if import_added else 0)
    lines += [lang.fixed if fixed else lang.finding, *lang.tricky]
    lines += [step(n=n) for n in range(13, 31)]
    if far:  # the function's last lines, far from the finding
        lines[-2] = step(n=99)
    lines += [lang.close, "", lang.charge, *(step(n=n) for n in range(40, 60))]
    if other:
        lines[-10] = step(n=98)
    lines += [lang.close, *lang.suffix, ""]
    return "\n".join(lines), finding


def scope_flag(
    repo: TestRepo, tmp_path: Path, lang: Lang, branch: str, after: str, line: int
) -> dict[str, object] | None:
    repo.checkout("-b", branch)
    repo.commit("Parameterize the refund lookup", {lang.path: after}, who=AI)
    repo.checkout("main")
    finding = tmp_path / f"{branch.replace('/', '-')}.toml"
    finding.write_text(
        'id = "SEC-7"\ntitle = "SQL injection in refund lookup"\nseverity = "high"\n\n'
        f'[[locations]]\npath = "{lang.path}"\nstart_line = {line}\nend_line = {line}\n'
    )
    proposed = fixreview(repo, "propose", branch, "--finding", str(finding))
    assert proposed.returncode == 0, proposed.stderr
    shown = fixreview(repo, "show", branch, "--json")
    assert shown.returncode == 0, shown.stderr
    flags = {f["id"]: f for f in json.loads(shown.stdout)["risk_flags"]}
    return flags.get("out-of-scope")


@pytest.mark.parametrize("name", sorted(LANGS))
def test_the_function_and_imports_are_in_scope_another_function_is_not(
    repo: TestRepo, tmp_path: Path, name: str
) -> None:
    lang = LANGS[name]
    base, line = source(lang)
    repo.commit("payments", {lang.path: base})
    inside, _ = source(lang, import_added=True, fixed=True, far=True)
    # the import and the function's last lines are farther than the slack from the finding
    assert scope_flag(repo, tmp_path, lang, "ai-fix/inside", inside, line) is None
    outside, _ = source(lang, fixed=True, other=True)
    flag = scope_flag(repo, tmp_path, lang, "ai-fix/outside", outside, line)
    assert flag is not None
    [evidence] = flag["evidence"]  # type: ignore[misc]
    assert evidence["path"] == lang.path
    assert f"in {lang.label}" in evidence["excerpt"], evidence["excerpt"]
