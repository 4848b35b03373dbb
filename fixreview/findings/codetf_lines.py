"""A CodeTF change's line numbers, mapped back onto the files as they were before the run.

A combined codemodder run applies its codemods one after the other to the same checkout: each
result's changeset diff, and the ``lineNumber`` of its changes, are on a file as the results
before it left it. The scanner's findings, the merge-base and the policy's findings sources are
all on the file before the run, so a finding's lines must be too.

Which side of its own diff a line is on: the CodeTF v3 schema says a ``right`` line is on the
new side, and its example (codemodder-specs' juice-shop report) numbers it so; a v3 ``right``
line is first mapped onto the old side (:meth:`DiffLayer.to_old`). A v2 line is read as on the
old side whatever its ``diffSide`` says: codemodder-python labels every change ``right`` while
its numbers are on the old side (in tests/fixtures/codetf/pygoat.codetf.json, result 14 reports
line 421 of introduction/views.py, the line its diff removes; the new side has the replacement
at 423), and codemodder-java says ``left``.

:class:`RunLines` walks a report's results in report order: :meth:`RunLines.to_base` maps a line
back through each earlier result's diff of the same file, newest first; :meth:`RunLines.applied`
then records this result's diff as a layer above. A line that a codemod added maps to the line
it replaced (the first added line of a change to the first removed one, and so on; the extra
ones to the last), else to the line it was inserted before. The work is bounded whatever the
report holds: a diff is read once (with :mod:`unidiff`), a line is mapped through at most
:data:`MAX_LAYERS` diffs of its file (older ones are not undone: the line is then approximate),
and a diff that does not parse is a layer that moves nothing.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

MAX_LAYERS = 64
"""The most earlier diffs of one file that a line is mapped back through."""


@dataclass(frozen=True)
class _Hunk:
    new_start: int
    new_end: int  # past the last new-side line
    shift: int  # new-side lines minus old-side lines of the hunks before this one
    to_old: tuple[int, ...]  # the old-side line of each new-side line of the hunk


@dataclass(frozen=True)
class DiffLayer:
    """One diff of one file, as a map from its new side's lines to its old side's."""

    hunks: tuple[_Hunk, ...]
    starts: tuple[int, ...]  # each hunk's new_start, for bisection
    shift: int  # of every hunk: what a line after the last one moves by

    @classmethod
    def read(cls, diff: str) -> DiffLayer:
        """The layer of DIFF, a unified diff of one file; one that moves nothing when DIFF is
        not one."""
        from unidiff.errors import UnidiffParseError  # imported when a report has diffs
        from unidiff.patch import PatchSet

        try:
            files = PatchSet(diff)
        except (UnidiffParseError, ValueError, IndexError):
            return _NOTHING
        hunks: list[_Hunk] = []
        shift = 0
        for patched in files[:1]:
            for hunk in patched:
                old_line = hunk.source_start or 1
                to_old: list[int] = []
                removed: list[int] = []  # the old lines the current block of changes removed
                added = 0  # the lines it added so far
                for line in hunk:
                    if line.is_removed:
                        removed.append(old_line)
                        old_line += 1
                    elif line.is_added:  # the line it replaced, else where it was inserted
                        replaced = removed[min(added, len(removed) - 1)] if removed else old_line
                        to_old.append(replaced)
                        added += 1
                    elif line.is_context:
                        to_old.append(old_line)
                        old_line += 1
                        removed, added = [], 0
                start = hunk.target_start or 1
                hunks.append(_Hunk(start, start + len(to_old), shift, tuple(to_old)))
                shift += hunk.added - hunk.removed
        hunks.sort(key=lambda h: h.new_start)
        return cls(tuple(hunks), tuple(h.new_start for h in hunks), shift)

    def to_old(self, line: int) -> int:
        """LINE of the new side on the old side."""
        at = bisect_right(self.starts, line) - 1
        if at < 0:
            return line
        hunk = self.hunks[at]
        if line < hunk.new_end:
            return hunk.to_old[line - hunk.new_start]
        following = self.hunks[at + 1].shift if at + 1 < len(self.hunks) else self.shift
        return max(1, line - following)


_NOTHING = DiffLayer((), (), 0)


class RunLines:
    """The diffs a run applied so far, by file, to map a later result's lines onto the base."""

    def __init__(self) -> None:
        self._layers: dict[str, list[DiffLayer]] = {}

    def to_base(self, path: str, line: int) -> int:
        """LINE of PATH as the result being read found it, on the file before the run."""
        for layer in reversed(self._layers.get(path, ())[-MAX_LAYERS:]):
            line = layer.to_old(line)
        return line

    def applied(self, path: str, layer: DiffLayer) -> None:
        """Record that the result just read changed PATH by LAYER."""
        self._layers.setdefault(path, []).append(layer)
