"""How many things fixreview may do at once: the usable CPUs, or ``FIXREVIEW_JOBS``.

``FIXREVIEW_JOBS`` (an integer ≥ 1; 1 = one at a time) overrides the number of workers of every
pool fixreview runs (signature checks, risk checks). A value that is not such an integer is
ignored. Callers cap the answer to what their work can use.
"""

from __future__ import annotations

import os

ENV_VAR = "FIXREVIEW_JOBS"
_MAX_JOBS = 1024  # far above any useful pool; keeps an absurd setting bounded


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the system has one), ≥ 1."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    return max(1, count)


def jobs_from_env(default: int) -> int:
    """The integer in ``FIXREVIEW_JOBS`` when it is one ≥ 1 (capped at a sane maximum), else
    DEFAULT (itself at least 1)."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if raw.isascii() and raw.isdigit():
        value = int(raw)
        if value >= 1:
            return min(value, _MAX_JOBS)
    return max(1, default)
