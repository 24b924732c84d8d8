"""Registry failures; messages name the host and repository, never a credential."""

from __future__ import annotations

from updater.errors import UpdaterError


class RegistryError(UpdaterError):
    """A registry refused, failed, or answered something unusable.

    Exit 5 like a delivery failure (docs/exit-codes.md: a network failure, try again),
    but no ``DeliveryError``: a lookup is not delivery, and code catching delivery
    failures must not catch it."""

    exit_code = 5


class AuthError(RegistryError):
    """Credentials missing or refused."""


class NotFound(RegistryError):
    """The repository, tag or blob does not exist."""
