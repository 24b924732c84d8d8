"""Container registries over the HTTP API v2: tags, digests, creation times, auth."""

from __future__ import annotations

from updater.registry.client import (
    DEFAULT_PLATFORM,
    MANIFEST_ACCEPT,
    Limits,
    Manifest,
    Platform,
    RegistryClient,
    resolve_digest,
)
from updater.registry.credentials import Credential, CredentialStore
from updater.registry.errors import AuthError, NotFound, RegistryError
from updater.registry.hosts import RegistrySettings, canonical_host, split_repository
from updater.registry.transport import RateLimit, RetryPolicy

__all__ = [
    "DEFAULT_PLATFORM",
    "MANIFEST_ACCEPT",
    "AuthError",
    "Credential",
    "CredentialStore",
    "Limits",
    "Manifest",
    "NotFound",
    "Platform",
    "RateLimit",
    "RegistryClient",
    "RegistryError",
    "RegistrySettings",
    "RetryPolicy",
    "canonical_host",
    "resolve_digest",
    "split_repository",
]
