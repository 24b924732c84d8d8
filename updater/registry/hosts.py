"""Where a repository lives: API base URL per registry host, Docker Hub's quirks."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from updater.reference import DOCKER_HUB, split_domain

DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"  # the key `docker login` writes
_HUB_NAMES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
INSECURE_ENV = "UPDATER_INSECURE_REGISTRIES"


@dataclass(frozen=True)
class RegistrySettings:
    host: str
    insecure: bool = False  # plain http: only when the config says so


def canonical_host(host: str) -> str:
    """``https://index.docker.io/v1/`` -> ``docker.io``; ``Host:5000/x`` -> ``host:5000``."""
    text = host.strip()
    for prefix in ("https://", "http://"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    text = text.split("/", 1)[0].lower()
    return DOCKER_HUB if text in _HUB_NAMES else text


def split_repository(repository: str) -> tuple[str, str]:
    """(canonical host, path) of a repository; Docker Hub gets ``library/``."""
    domain, path = split_domain(repository)
    return canonical_host(domain), path


def settings_map(settings: Iterable[RegistrySettings]) -> dict[str, RegistrySettings]:
    out = {canonical_host(s.host): s for s in settings}
    for host in filter(None, (h.strip() for h in os.environ.get(INSECURE_ENV, "").split(","))):
        out.setdefault(canonical_host(host), RegistrySettings(host=host, insecure=True))
    return out


def api_base(host: str, settings: Mapping[str, RegistrySettings]) -> str:
    setting = settings.get(host)
    scheme = "http" if setting is not None and setting.insecure else "https"
    return f"{scheme}://{DOCKER_HUB_API if host == DOCKER_HUB else host}"
