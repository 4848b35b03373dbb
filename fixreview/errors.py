"""The exceptions the domain raises, each carrying the exit code the CLI reports.

Exit codes follow the design: 1 is a negative answer (not found, not approved),
2 is a usage or environment error (no repository, malformed input, git failing).
"""

from __future__ import annotations

EXIT_NEGATIVE = 1
EXIT_USAGE = 2


class FixreviewError(Exception):
    """An error with one clear line of explanation for a person."""

    exit_code: int = EXIT_USAGE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0])


class NotFoundError(FixreviewError):
    """Something asked for does not exist (a branch, a finding, a result): a negative answer."""

    exit_code = EXIT_NEGATIVE


class GitError(FixreviewError):
    """Git refused or failed; the message names the command and git's own words."""


class InputError(FixreviewError):
    """Malformed input: a TOML, SARIF, CodeTF or policy file that cannot be used."""


class NotARepositoryError(FixreviewError):
    """The path is not inside a git repository."""
