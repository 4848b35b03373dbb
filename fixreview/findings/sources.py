"""The findings sources a policy names (SARIF and TOML files read at the base branch).

A branch that carries only a ``Finding-Id:`` trailer gets its finding from here. A source that
is missing or malformed becomes a warning, never a crash: the branch still shows, marked as
having a finding id that could not be resolved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fixreview.errors import InputError
from fixreview.findings.sarif import SarifResult, find_by_id, parse_sarif
from fixreview.findings.toml_file import parse_findings_toml
from fixreview.models import Finding
from fixreview.policy import LoadedPolicy
from fixreview.repo.git import Repository


@dataclass
class FindingsIndex:
    """Findings by id from TOML sources, and SARIF results to match ids against."""

    sources: list[str]
    by_id: dict[str, Finding] = field(default_factory=dict)
    sarif: list[SarifResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def get(self, finding_id: str) -> Finding | None:
        if finding_id in self.by_id:
            return self.by_id[finding_id]
        result = find_by_id(self.sarif, finding_id)
        return result.finding if result is not None else None

    def resolve(self, finding: Finding, *names: str) -> Finding:
        """FINDING as a producer that fixed it reports it (a codemod, which knows no severity),
        with the severity, evidence and scanner of the finding a source holds under its id or
        one of NAMES (the ids the producer gave it); FINDING as it is when none does."""
        for name in (finding.id, *names):
            held = self.get(name) if name else None
            if held is not None:
                return finding.model_copy(
                    update={
                        "severity": held.severity,
                        "evidence": held.evidence or finding.evidence,
                        "scanner": held.scanner or finding.scanner,
                    }
                )
        return finding


def is_sarif_path(path: str) -> bool:
    return path.lower().endswith((".sarif", ".sarif.json", ".json"))


def load_findings_index(repo: Repository, loaded: LoadedPolicy) -> FindingsIndex:
    """Read every findings source named by the policy, at the base commit, in one batch."""
    paths = loaded.policy.findings
    index = FindingsIndex(sources=list(paths))
    blobs = repo.read_objects(f"{loaded.base_commit}:{path}" for path in paths)
    for path in paths:
        where = f"findings source {path} on {loaded.base}"
        data = blobs.get(f"{loaded.base_commit}:{path}")
        if data is None:
            index.warnings.append(f"{where}: no such file")
            continue
        try:
            if is_sarif_path(path):
                index.sarif.extend(parse_sarif(data, where))
            else:
                for finding in parse_findings_toml(data, where):
                    index.by_id.setdefault(finding.id, finding)
        except InputError as exc:
            index.warnings.append(exc.message)
    return index
