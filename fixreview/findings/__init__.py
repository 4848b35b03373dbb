"""Importers that turn scanners' and producers' output into findings.

:func:`finding_from` is how each importer makes one: the fields it read, validated by the
model, and a failure said in one line naming the input, the place in it and the field.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from fixreview.errors import InputError
from fixreview.models import Finding


def finding_from(fields: dict[str, Any], source: str, where: str) -> Finding:
    """The finding FIELDS make; InputError ("SOURCE: WHERE: cannot make a finding: FIELD: …")
    when the model refuses them."""
    try:
        return Finding(**fields)
    except ValidationError as exc:
        problem = exc.errors()[0]
        name = ".".join(str(part) for part in problem["loc"])
        raise InputError(
            f"{source}: {where}: cannot make a finding: {name}: {problem['msg']}"
        ) from None
