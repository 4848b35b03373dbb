"""The domain is a library a CI script imports: no Textual anywhere in it, and no import cycle.

The rules themselves are import-linter contracts in pyproject.toml (run by .ci/run as
``lint-imports``); these tests show that the contracts, as configured, catch what they claim to,
and that the commands other than the app never load Textual when they run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tomli_w

from tests.gitutil import TestRepo

ROOT = Path(__file__).resolve().parents[1]

# -- the import contracts can fail ---------------------------------------------------------------

# a miniature fixreview shaped like the real one: the app imports Textual and Rich, the CLI
# imports the app inside the function that opens it, the domain imports neither
MINIATURE = {
    "fixreview/__init__.py": '__version__ = "0"\n',
    "fixreview/models.py": "",
    "fixreview/queue.py": "from fixreview import models\n",
    "fixreview/gate.py": "from fixreview import models, queue\n",
    "fixreview/risk/__init__.py": "",
    "fixreview/risk/checks.py": "from fixreview.queue import models\n",
    "fixreview/cli/__init__.py": "",
    "fixreview/cli/main.py": (
        "from fixreview import __version__, gate\n\n\n"
        "def _run_app():\n    from fixreview.app.main import FixreviewApp\n"
    ),
    "fixreview/app/__init__.py": "",
    "fixreview/app/main.py": (
        "import textual.app\nfrom rich.text import Text\n"
        "from fixreview import gate\nfrom fixreview.app.screens import queue\n"
    ),
    "fixreview/app/screens/__init__.py": "",
    "fixreview/app/screens/queue.py": (
        "from textual.screen import Screen\nfrom fixreview import queue\n"
    ),
}

DOMAIN_RULE = "Only the app imports Textual, Rich or the app"
NO_CYCLES = "No import cycle between modules"
NO_PACKAGE_CYCLES = "No import cycle between the subpackages of a package"
CONTRACTS = (DOMAIN_RULE, NO_CYCLES, NO_PACKAGE_CYCLES)


def lint_miniature(tmp_path: Path, changes: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """lint-imports, with exactly the contracts in pyproject.toml, on the miniature plus changes."""
    for name, text in {**MINIATURE, **changes}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (tmp_path / "pyproject.toml").write_text(tomli_w.dumps({"tool": {"importlinter": config}}))
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-cache",
            "--no-logo",
        ],
        cwd=tmp_path,
        # the miniature fixreview, not the real one; the repository for tests.import_contracts
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def broken_contracts(proc: subprocess.CompletedProcess[str]) -> set[str]:
    for name in CONTRACTS:
        assert f"{name} KEPT" in proc.stdout or f"{name} BROKEN" in proc.stdout, proc.stdout
    return {name for name in CONTRACTS if f"{name} BROKEN" in proc.stdout}


def test_the_contracts_hold_on_the_miniature(tmp_path: Path) -> None:
    proc = lint_miniature(tmp_path, {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert broken_contracts(proc) == set()
    assert "Analyzed 14 files" in proc.stdout  # the miniature's, not the real package


@pytest.mark.parametrize(
    ("changes", "broken", "named"),
    [
        pytest.param(
            {"fixreview/newdomain.py": "from textual.widgets import Static\n"},
            {DOMAIN_RULE},
            "fixreview.newdomain -> textual",
            id="a new domain module imports Textual",
        ),
        pytest.param(
            {"fixreview/risk/checks.py": "from rich.console import Console\n"},
            {DOMAIN_RULE},
            "fixreview.risk.checks -> rich",
            id="a domain module imports Rich",
        ),
        pytest.param(
            {"fixreview/gate.py": "def show():\n    import textual\n"},
            {DOMAIN_RULE},
            "fixreview.gate -> textual",
            id="a domain function imports Textual lazily",
        ),
        pytest.param(
            {"fixreview/risk/checks.py": "from fixreview.app.screens import queue\n"},
            {DOMAIN_RULE},
            "fixreview.risk.checks -> fixreview.app.screens.queue",
            id="a domain module imports the app",
        ),
        pytest.param(
            {"fixreview/cli/render.py": "from fixreview.app import main\n"},
            {DOMAIN_RULE},
            "fixreview.cli.render -> fixreview.app.main",
            id="another CLI module imports the app",
        ),
        pytest.param(
            {"fixreview/models.py": "from fixreview import gate\n"},
            {NO_CYCLES, NO_PACKAGE_CYCLES},
            "Import cycle: fixreview.gate -> fixreview.models -> fixreview.gate",
            id="a cycle between domain modules",
        ),
        pytest.param(
            {"fixreview/app/screens/queue.py": "from fixreview.app.main import Text\n"},
            {NO_CYCLES, NO_PACKAGE_CYCLES},
            "No cycles are allowed in fixreview.app.\n",
            id="a cycle between the app and its screens",
        ),
        pytest.param(
            {
                "fixreview/risk/__init__.py": "from fixreview.risk.checks import run\n",
                "fixreview/risk/checks.py": "from fixreview.risk import FLAGS\n",
            },
            {NO_CYCLES},  # acyclic_siblings does not see a package's __init__
            "Import cycle: fixreview.risk -> fixreview.risk.checks -> fixreview.risk",
            id="a cycle through a package's __init__",
        ),
    ],
)
def test_the_contracts_catch(
    tmp_path: Path, changes: dict[str, str], broken: set[str], named: str
) -> None:
    proc = lint_miniature(tmp_path, changes)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert broken_contracts(proc) == broken
    assert named in proc.stdout.split("Broken contracts")[1], proc.stdout


def test_commands_other_than_the_app_do_not_import_textual(repo: TestRepo) -> None:
    repo.checkout("-b", "ai-fix/x")
    repo.commit("fix", {"x.txt": "x\n"})
    repo.checkout("main")
    code = (
        "import sys\n"
        "from fixreview.cli.main import main\n"
        "for argv in (['list'], ['show', 'ai-fix/x'], ['list', '--json'], ['log'],\n"
        "             ['verify', 'ai-fix/x']):\n"
        f"    assert main(['--repo', {str(repo.path)!r}, *argv]) in (0, 2)\n"
        "print('textual' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stdout.strip().endswith("False"), proc.stderr


# What the app needs only once it judges (a worker, after the queue's rows are drawn) or once a
# fix is opened: loading them before the first frame would only delay it.
NOT_FOR_THE_FIRST_FRAME = (
    "cryptography",
    "detect_secrets",
    "packaging",
    "junitparser",
    "defusedxml",
)


def _loaded_with_the_app() -> set[str]:
    """The modules a fresh interpreter has loaded once it has imported the app."""
    code = "import sys\nimport fixreview.app.main\nprint(' '.join(sorted(sys.modules)))\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(proc.stdout.split())
    assert "fixreview.app.main" in loaded
    return loaded


def test_the_app_loads_no_signature_or_scanner_code_to_draw_its_queue() -> None:
    loaded = _loaded_with_the_app()
    early = {m for m in loaded for name in NOT_FOR_THE_FIRST_FRAME if m.split(".")[0] == name}
    assert early == set()


# what the app imports once its first frame is drawn (the kept rows, fixreview/rowsnapshot.py),
# in the worker that reads the queue, or when a fix is opened
AFTER_THE_FIRST_FRAME = (
    "fixreview.models",
    "fixreview.queue",
    "fixreview.gate",
    "fixreview.risk",
    "fixreview.review",
    "fixreview.decisions",
    "fixreview.recording",
    "fixreview.app.screens.review",
    "fixreview.app.screens.decision",
    "unidiff",
)


def test_the_app_loads_no_models_or_queue_code_before_its_first_frame() -> None:
    loaded = _loaded_with_the_app()
    assert "fixreview.rowsnapshot" in loaded
    early = {
        m for m in loaded for name in AFTER_THE_FIRST_FRAME if m == name or m.startswith(name + ".")
    }
    assert early == set()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    root = ROOT
    readme = (root / "README.md").read_text()
    command = readme.split("run the whole test suite")[1].split("```sh\n")[1].split("\n```")[0]
    assert command.strip() in (root / ".ci" / "run").read_text()


# What `verify` never needs once the fix's risk flags are in the result cache (as they are after
# any earlier run on the same inputs): the app, the JSON writers for text output, the audit and
# review code, the risk checks and what they import (detect-secrets, the dependency parsers), the
# findings importers, and GitPython.
NOT_FOR_VERIFY = (
    "textual",
    "rich",
    "detect_secrets",
    "git",
    "fixreview.app",
    "fixreview.cli.jsonout",
    "fixreview.audit",
    "fixreview.review",
    "fixreview.risk.checks",
    "fixreview.risk.secrets",
    "fixreview.risk.deps",
    "fixreview.findings.sarif",
    "fixreview.findings.codetf",
    "junitparser",  # a JUnit report is read by record-check only
    "defusedxml",
    # an ed25519 signature's key is made from its bytes: cryptography's ssh serialization
    # (and with it the ciphers, RSA and ECDSA modules, about 20 ms) is for other key types
    "cryptography.hazmat.primitives.serialization",
    "cryptography.hazmat.primitives.ciphers",
    # no check is required and the repository has no checks ref: no check record is read
    "fixreview.check_records",
    "fixreview.junit",
    "xml",
    # pydantic's plugin loader imports it; fixreview.pydantic_plugins stands in for that loader
    "importlib.metadata",
)

LOADED = (
    "import sys\n"
    "from fixreview.cli.main import main\n"
    "code = main(sys.argv[1:])\n"
    "print(code, ' '.join(sorted(sys.modules)))\n"
)


def _loaded_by(*argv: str) -> tuple[int, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", LOADED, *argv], capture_output=True, text=True, check=False
    )
    code, _, modules = proc.stdout.strip().splitlines()[-1].partition(" ")
    return int(code), set(modules.split())


def test_verify_loads_only_what_it_needs(demo_repo: Path) -> None:
    approved = "ai-fix/sqli-invoice-search"
    cold_code, cold = _loaded_by("--repo", str(demo_repo), "verify", approved)
    assert cold_code == 0
    assert "fixreview.risk.checks" in cold  # the first run assessed the fix: the check can fail
    # ... and, as the fix changes no dependency file, never loaded the PEP 440 parsers
    assert not {m for m in cold if m == "packaging" or m.startswith("packaging.")}
    # ... and, as it is in Python alone, never the token reader of other languages
    assert not {m for m in cold if m == "fixreview.risk.token_scope" or m.startswith("pygments")}
    code, warm = _loaded_by("--repo", str(demo_repo), "verify", approved)
    assert code == 0
    loaded = {m for m in warm for name in NOT_FOR_VERIFY if m == name or m.startswith(name + ".")}
    assert loaded == set()
    json_code, as_json = _loaded_by("--repo", str(demo_repo), "verify", "--json", approved)
    assert json_code == 0 and "fixreview.cli.jsonout" in as_json and "textual" not in as_json


PLUGINS = (
    "import sys\n"
    "from fixreview.cli.main import main\n"
    "code = main(sys.argv[1:])\n"
    "import pydantic.plugin._loader as loader\n"
    "print(code, loader._plugins is None)\n"
)


def test_commands_look_for_no_pydantic_plugin(demo_repo: Path) -> None:
    """No command reads every installed distribution's metadata for pydantic plugins (5-10 ms
    here; a plugin has no business in the validation of untrusted records anyway)."""
    argv = ["--repo", str(demo_repo), "verify", "ai-fix/sqli-invoice-search"]
    proc = subprocess.run(
        [sys.executable, "-c", PLUGINS, *argv], capture_output=True, text=True, check=False
    )
    assert proc.stdout.strip().splitlines()[-1] == "0 True"  # never looked for


REAL_LOADER = (
    "import importlib.util, os, sys\n"
    "import pydantic.plugin\n"
    "from fixreview.cli.main import plugins_off\n"
    "plugins_off()\n"
    "import pydantic.plugin._loader as standing_in\n"
    "path = os.path.join(os.path.dirname(pydantic.plugin.__file__), '_loader.py')\n"
    "spec = importlib.util.spec_from_file_location('pydantic.plugin.real_loader', path)\n"
    "real = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(real)\n"
    "print(standing_in.__name__, list(standing_in.get_plugins()), list(real.get_plugins()))\n"
    "print(real._plugins, standing_in._plugins)\n"
)


def test_the_plugin_loader_stand_in_answers_as_the_real_one_with_plugins_off() -> None:
    """With plugins off, pydantic's own loader answers "no plugin" without looking: so does
    fixreview's stand-in, which the command line installs in its place (the real one imports
    ``importlib.metadata``, 4% of a cold verify); and it never replaces a loader already
    loaded."""
    proc = subprocess.run(
        [sys.executable, "-c", REAL_LOADER], capture_output=True, text=True, check=True
    )
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == "fixreview.pydantic_plugins [] []"
    assert lines[1] == "None None"  # the real loader never looked either
    kept = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, pydantic.plugin._loader as real\n"
            "from fixreview.cli.main import plugins_off\n"
            "plugins_off()\n"
            "print(sys.modules['pydantic.plugin._loader'] is real, real.__name__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert kept.stdout.split() == ["True", "pydantic.plugin._loader"]


SCAN = (
    "import sys\n"
    "from fixreview.risk.secrets import NetworkCheckError, scan\n"
    "line = \"token = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'\"\n"
    "hits, _ = scan([('app/x.py', [(1, line)])])\n"
    "import detect_secrets.plugins.base as base\n"
    "try:\n"
    "    base.requests.get('https://example.invalid')\n"
    "    network = 'reached'\n"
    "except NetworkCheckError:\n"
    "    network = 'refused'\n"
    "loaded = ' '.join(sorted(sys.modules))\n"
    "import requests\n"
    "print(sorted({h.kind for h in hits}), network, requests.get.__module__)\n"
    "print(loaded)\n"
)


def test_the_secret_scan_imports_no_http_client() -> None:
    """detect-secrets imports requests (urllib3, charset_normalizer, idna: about 200 ms) only
    to verify secrets over the network, which fixreview never asks: it is scanned with a
    stand-in that refuses any such call, and the real package stays importable after."""
    proc = subprocess.run([sys.executable, "-c", SCAN], capture_output=True, text=True, check=True)
    summary, loaded = proc.stdout.strip().splitlines()[-2:]
    # the real package after the scan (the stand-in's names are fixreview's)
    assert summary == "['Base64 High Entropy String', 'GitHub Token'] refused requests.api"
    modules = set(loaded.split())
    assert "detect_secrets.core.scan" in modules
    assert not modules & {"requests", "urllib3", "charset_normalizer", "idna"}
