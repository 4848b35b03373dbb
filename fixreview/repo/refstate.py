"""Every ref of a repository and its git configuration, as read at one moment: a ref state.

``list`` keys its whole-queue snapshot (fixreview/listsnapshot.py) by this state, then pins it
on the repository (:meth:`fixreview.repo.git.Repository.pin`): the queue it computes reads its
branches, its base, its notes refs' tips and the ``fixreview.base`` and remotes settings from
the very bytes the key was made of, never from a second look at refs that may have moved since.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LISTING_FORMAT = "%(objectname) %(objecttype) %(refname)%00%(symref)"
"""The ``git for-each-ref`` format of :attr:`RefState.listing` (``BranchRefs`` reads it too)."""


@dataclass(frozen=True)
class RefState:
    """What git said of every ref and of the configuration, at one moment."""

    listing: bytes
    """``git for-each-ref --format=LISTING_FORMAT`` over every ref (no pattern)."""
    config: bytes | None
    """``git config --null --list`` (None: git refused to read the configuration)."""
    bare_head: bytes | None
    """``git symbolic-ref -q HEAD`` in a bare repository (its exit code, a space, its output);
    None in a repository with a work tree, where nothing read here depends on HEAD."""
    values: dict[str, str] = field(default_factory=dict)
    """Every ref's full name -> the object id it points at (a symbolic ref: its target's)."""

    @classmethod
    def parse(cls, listing: bytes, config: bytes | None, bare_head: bytes | None) -> RefState:
        values: dict[str, str] = {}
        for line in listing.decode("utf-8", "surrogateescape").split("\n"):
            head = line.partition("\0")[0]
            parts = head.split(" ", 2)
            if len(parts) == 3:
                values[parts[2]] = parts[0]
        return cls(listing, config, bare_head, values)

    def key_fields(self) -> tuple[bytes, bytes | None, bytes | None]:
        """The state as result-cache key fields: everything git said, byte for byte."""
        return self.listing, self.config, self.bare_head
