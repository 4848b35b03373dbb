"""How long reading one proposal note takes when its frozen suggestion patch is huge.

Run: python benchmarks/proposal_parse.py [LINES ...]   (default: 2000 20000 100000)
For each size, builds a repository with one fix branch replacing LINES lines, records a proposal
on it with ``fixreview.proposals.propose`` (not measured), then prints the best of five runs of:

* ``read_notes``: the proposals ref read and its lines split into records (base64 decoded);
* ``payload``: the record's stored form turned into a ``Proposal`` (TOML, validation and, from
  schema 2 on, the patch field checked against the payload's hash);
* ``check``: ``queue.check_proposal`` (the frozen patch must look like a diff);
* ``_read_proposals``: the queue's whole proposal reader (all of the above);
* floor: ``git cat-file --batch`` of the note blob, which no reader can beat.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from botgit import git  # noqa: E402 (beside this script)

from fixreview.models import Finding, Proposal  # noqa: E402
from fixreview.notes import records  # noqa: E402
from fixreview.notes.store import PROPOSALS_REF, read_notes  # noqa: E402
from fixreview.proposals import propose  # noqa: E402
from fixreview.queue import _read_proposals, check_proposal  # noqa: E402
from fixreview.repo.git import Repository  # noqa: E402


def build(path: Path, lines: int) -> Repository:
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "fixreview.base", "main")
    (path / "big.py").write_text("".join(f"value_{i} = {i}\n" for i in range(lines)))
    git(path, "add", "-A")
    git(path, "commit", "-qm", "base")
    git(path, "checkout", "-q", "-b", "ai-fix/big", "main")
    fixed = "".join(f'value_{i} = {i} + 1  # "fixed"\n' for i in range(lines))
    (path / "big.py").write_text(fixed)
    git(path, "add", "-A")
    git(path, "commit", "-qm", "Fix\n\nAssisted-by: Bot:model")
    repo = Repository(path)
    propose(repo, "ai-fix/big", Finding(id="SEC-1", severity="high"))
    return repo


def best(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def to_model(raw: records.RawRecord) -> Proposal:
    try:  # schema 2 and later: the stored form's own decoder
        from fixreview.notes.proposal_codec import proposal_from_record
    except ImportError:  # before it: the patch inside the TOML payload
        return records.toml_to_model(raw.payload, Proposal)
    return proposal_from_record(raw)


def measure(lines: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = build(Path(tmp), lines)
        snapshot = read_notes(repo, PROPOSALS_REF)
        (raw,) = [r for items in snapshot.records.values() for r in items]
        proposal = to_model(raw)
        blob = git(Path(tmp), "rev-parse", f"{PROPOSALS_REF}:{proposal.suggestion.commit}")
        floor = best(lambda: git(Path(tmp), "cat-file", "--batch", data=blob.encode()))
        t_notes = best(lambda: read_notes(repo, PROPOSALS_REF))
        t_payload = best(lambda: to_model(raw))
        t_check = best(lambda: check_proposal(proposal))
        t_all = best(lambda: _read_proposals(repo))
        print(
            f"{lines:>7} {len(raw.line) / 1e6:>7.2f}MB {floor * 1e3:>6.0f}ms "
            f"{t_notes * 1e3:>8.0f}ms {t_payload * 1e3:>6.0f}ms {t_check * 1e3:>6.0f}ms "
            f"{t_all * 1e3:>13.0f}ms"
        )


def main(sizes: list[int]) -> None:
    print(
        f"{'lines':>7} {'note':>9} {'floor':>8} {'read_notes':>10} {'payload':>8} "
        f"{'check':>8} {'_read_proposals':>15}"
    )
    for lines in sizes:
        measure(lines)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [2000, 20000, 100000])
