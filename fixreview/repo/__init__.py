"""Repository access: running git, reading objects in bulk, commits, refs and diffs."""

from fixreview.repo.git import Repository

__all__ = ["Repository"]
