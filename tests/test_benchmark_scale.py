"""The benchmark's builder (benchmarks/scale.py) makes a repository that fixreview reads as built:
every fix listed, every proposal loaded without a warning, the statuses its decisions give, a
fix with two approvals that passes verify. Nothing is timed here."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from fixreview.changes import decode
from fixreview.queue import load_queue
from fixreview.repo.git import Repository
from tests.cliutil import fixreview

ROOT = Path(__file__).resolve().parents[1]
FIXES = 10
BIG = (40, 300)


def load_scale() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "benchmarks" / "scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_scale"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    scale = load_scale()
    dest = scale.build(tmp_path_factory.mktemp("bench"), FIXES, BIG)
    return dest, json.loads((dest / "manifest.json").read_text())


def test_fixreview_lists_every_fix_with_the_status_it_was_built_with(
    built: tuple[Path, dict[str, object]],
) -> None:
    dest, manifest = built
    listed = fixreview(dest / "repo", "list", "--json", "--all")
    assert listed.returncode == 0, listed.stderr
    fixes = json.loads(listed.stdout)["fixes"]
    branches = manifest["branches"]
    assert isinstance(branches, list)
    assert len(fixes) == FIXES + len(BIG) == len(branches)
    expected = {b["branch"]: b["expected_status"] for b in branches}
    assert {f["branch"]: f["status"] for f in fixes} == expected
    assert set(Counter(expected.values())) == {"approved", "pending", "stale", "changes-requested"}
    big = {f["branch"]: f for f in fixes if f["branch"].startswith("ai-fix/big-")}
    assert sorted(f["added"] for f in big.values()) == sorted(BIG)


def test_proposals_load_without_warnings_and_freeze_the_real_patch(
    built: tuple[Path, dict[str, object]],
) -> None:
    dest, _ = built
    repo = Repository(dest / "repo")
    queue = load_queue(repo)
    assert queue.warnings == []
    assert {fix.source for fix in queue.fixes} == {"note"}
    tools = Counter(fix.suggestion.tool.split(" ")[0] for fix in queue.fixes if fix.suggestion)
    assert set(tools) == {"SecFix", "codemodder-python"}  # from SARIF and from CodeTF
    for fix in queue.fixes[:4]:
        suggestion = fix.suggestion
        assert suggestion is not None and suggestion.base is not None
        assert suggestion.patch == decode(repo.diff(suggestion.base, suggestion.commit))


def test_a_fix_with_two_approvals_passes_verify(built: tuple[Path, dict[str, object]]) -> None:
    dest, manifest = built
    two = manifest["two_approvals"]
    assert isinstance(two, list) and two
    result = fixreview(dest / "repo", "verify", "--json", two[0])
    assert result.returncode == 0, result.stdout + result.stderr
    verdict = json.loads(result.stdout)
    counted = [d for d in verdict["decisions"] if d["counted"]]
    assert len({d["reviewer"] for d in counted}) == 2


def test_a_dropped_cache_is_moved_aside_then_forgotten(tmp_path: Path) -> None:
    """drop_cache leaves a cold .git/fixreview (drafts kept) without deleting anything until
    forget_dropped: deleting thousands of cache files right before a cold run is measured
    by ext4 in the next run's file creations."""
    scale = load_scale()
    state = tmp_path / "repo" / ".git" / "fixreview"
    for name in ("cache/risk-flags/ab", "drafts/one"):
        (state / name).mkdir(parents=True)
    (state / "cache" / "risk-flags" / "ab" / "entry").write_text("x")
    scale.drop_cache(tmp_path / "repo")
    assert sorted(p.name for p in state.iterdir()) == ["drafts"]
    (trash,) = [p for p in tmp_path.iterdir() if p.name != "repo"]
    assert [p.name.split("-", 1)[1] for p in trash.iterdir()] == ["cache"]
    scale.forget_dropped()
    assert not trash.exists() and (state / "drafts" / "one").is_dir()
