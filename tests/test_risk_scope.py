"""`out-of-scope` that understands Python: a fix that adds the import it needs, or changes
another line of the function that holds the finding, stays in scope however far the lines are;
a change in another function is out of scope, and the evidence names that function. Real git,
the command line."""

from __future__ import annotations

import json
from pathlib import Path

from fixreview.risk.python_scope import is_import_line, python_scopes
from tests.cliutil import fixreview
from tests.gitutil import AI, TestRepo

FILLER = [f"    step_{n} = {n}" for n in range(30)]
BEFORE = "\n".join(
    [
        "import os",  # 1
        "import json",  # 2
        "",  # 3
        "",  # 4
        "def refund(order):",  # 5
        *FILLER[:12],  # 6-17
        '    rows = db.execute(f"select * from refunds where id = {order.id}")',  # 18
        *FILLER[12:],  # 19-36
        "    return rows",  # 37
        "",
        "",
        "def charge(order):",  # 40
        *[f"    total_{n} = {n}" for n in range(20)],  # 41-60
        "    return total_19",  # 61
        "",
    ]
)
FINDING = """id = "SEC-7"
title = "SQL injection in refund lookup"
severity = "high"

[[locations]]
path = "app/payments.py"
start_line = 18
end_line = 18
"""


def scope_flag(repo: TestRepo, tmp_path: Path, after: str) -> dict[str, object] | None:
    repo.commit(
        "payments", {"app/payments.py": BEFORE, "tests/test_payments.py": "def test(): pass\n"}
    )
    repo.checkout("-b", "ai-fix/refund")
    repo.commit("Parameterize the refund lookup", {"app/payments.py": after}, who=AI)
    repo.checkout("main")
    (tmp_path / "f.toml").write_text(FINDING)
    proposed = fixreview(repo, "propose", "ai-fix/refund", "--finding", str(tmp_path / "f.toml"))
    assert proposed.returncode == 0, proposed.stderr
    shown = fixreview(repo, "show", "ai-fix/refund", "--json")
    assert shown.returncode == 0, shown.stderr
    flags = {f["id"]: f for f in json.loads(shown.stdout)["risk_flags"]}
    return flags.get("out-of-scope")


def test_an_added_import_and_the_rest_of_the_function_are_in_scope(
    repo: TestRepo, tmp_path: Path
) -> None:
    after = BEFORE.replace("import json\n", "import json\nimport logging\n")
    after = after.replace(
        'db.execute(f"select * from refunds where id = {order.id}")',
        'db.execute("select * from refunds where id = %s", (order.id,))',
    )
    after = after.replace(
        "    return rows", "    logging.info('refund rows read')\n    return rows"
    )
    assert scope_flag(repo, tmp_path, after) is None


def test_a_change_in_another_function_is_out_of_scope_and_named(
    repo: TestRepo, tmp_path: Path
) -> None:
    after = BEFORE.replace(
        'db.execute(f"select * from refunds where id = {order.id}")',
        'db.execute("select * from refunds where id = %s", (order.id,))',
    ).replace("    total_10 = 10", "    total_10 = 11")
    flag = scope_flag(repo, tmp_path, after)
    assert flag is not None
    [evidence] = flag["evidence"]  # type: ignore[misc]
    assert evidence["path"] == "app/payments.py"
    assert "in function charge()" in evidence["excerpt"]


def test_scopes_read_with_pythons_parser() -> None:
    source = "\n".join(
        [
            "from app import (",  # 1
            "    a,",  # 2
            ")",  # 3
            "class Shop:",  # 4
            "    @staticmethod",  # 5
            "    def pay(x):",  # 6
            "        return x",  # 7
            "def free():",  # 8
            "    pass",  # 9
        ]
    )
    scopes = python_scopes(source)
    assert scopes is not None
    pay = scopes.innermost(7)
    assert pay is not None and (pay.label, pay.start, pay.end) == ("function Shop.pay()", 5, 7)
    assert scopes.widen((7, 7)) == (5, 7)
    assert scopes.innermost(4) is not None and scopes.innermost(4).label == "class Shop"  # type: ignore[union-attr]
    assert scopes.innermost(10) is None and scopes.in_imports((2, 2))
    assert is_import_line("    b as c,", continuation=True)
    assert not is_import_line("    b as c,") and not is_import_line("x = 1", continuation=True)
    assert python_scopes("def broken(:\n") is None


def test_a_long_changed_line_next_to_imports_is_read_in_one_pass() -> None:
    # the names-line pattern once split a run of letters into names every possible way: 30
    # letters took minutes. Now a comma separates any two names; a line past MAX_LINE is not
    # read as names at all (nor can it hide code after them).
    for hostile in ("a" * 5000 + "!", "a" + " " * 20000 + "!", "a as" + " " * 20000 + "b!"):
        assert not is_import_line(hostile, continuation=True)
    assert is_import_line("    b as c, d,", continuation=True)
    assert not is_import_line("    b c", continuation=True)
    assert not is_import_line("a, " * 2000 + "run()", continuation=True)
