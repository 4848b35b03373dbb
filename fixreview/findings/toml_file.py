"""Findings written as TOML: one finding at the top level, or a ``[[findings]]`` list.

One finding (``--finding F.toml``)::

    id = "SEC-101"
    title = "SQL injection in invoice search"
    severity = "high"
    [[locations]]
    path = "app/invoices.py"
    start_line = 41

A findings source named by the policy holds many, as ``[[findings]]`` tables of the same keys.
"""

from __future__ import annotations

from pydantic import ValidationError

from fixreview.documents import load_toml
from fixreview.errors import InputError
from fixreview.models import Finding
from fixreview.notes.records import describe_validation


def parse_findings_toml(data: bytes, source: str) -> list[Finding]:
    """Every finding in a TOML document; InputError names the source and the bad key."""
    raw = load_toml(data, source)
    if "findings" in raw:
        items = raw["findings"]
        if not isinstance(items, list) or (len(raw) != 1):
            raise InputError(
                f"{source}: 'findings' must be the only key, a list of [[findings]] tables"
            )
        prefixes = [f"findings[{index}]." for index in range(len(items))]
    else:
        items = [raw]
        prefixes = [""]
    findings: list[Finding] = []
    for prefix, item in zip(prefixes, items, strict=True):
        try:
            findings.append(Finding.model_validate(item))
        except ValidationError as exc:
            raise InputError(f"{source}: {prefix}{describe_validation(exc)}") from None
    return findings


def parse_one_finding(data: bytes, source: str) -> Finding:
    """The single finding of a file given with ``--finding``."""
    findings = parse_findings_toml(data, source)
    if len(findings) != 1:
        ids = ", ".join(f.id for f in findings[:5])
        raise InputError(f"{source}: holds {len(findings)} findings ({ids}); give a file with one")
    return findings[0]
