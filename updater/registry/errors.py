"""Registry failures; messages name the host and repository, never a credential."""

from __future__ import annotations

from updater.errors import DeliveryError


class RegistryError(DeliveryError):
    """A registry refused, failed, or answered something unusable."""


class AuthError(RegistryError):
    """Credentials missing or refused."""


class NotFound(RegistryError):
    """The repository, tag or blob does not exist."""
