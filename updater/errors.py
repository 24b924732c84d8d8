"""Errors the command line turns into a one-line message and a non-zero exit status."""

from __future__ import annotations


class UpdaterError(Exception):
    """Bad input or a failed step; ``str(error)`` is the one line shown to the user.

    Messages must never contain a secret: callers pass redacted text.
    """

    exit_code = 1


class UsageError(UpdaterError):
    exit_code = 2


class EditError(UpdaterError):
    """A file that cannot be edited safely (malformed, ambiguous, outside the repo)."""

    exit_code = 3


class NoMatchError(UpdaterError):
    exit_code = 4


class DeliveryError(UpdaterError):
    """git, the forge or the registry refused or failed."""

    exit_code = 5
