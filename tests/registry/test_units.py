"""Registry pieces without a server: host normalisation, challenges, token expiry,
Retry-After, image times, docker config lookups."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import pytest

from updater.registry.auth import TokenCache, parse_challenges
from updater.registry.credentials import CredentialStore
from updater.registry.hosts import (
    RegistrySettings,
    api_base,
    canonical_host,
    settings_map,
    split_repository,
)
from updater.registry.transport import parse_time, retry_after


@pytest.mark.parametrize(
    ("repository", "expected"),
    [
        ("nginx", ("docker.io", "library/nginx")),
        ("docker.io/nginx", ("docker.io", "library/nginx")),
        ("index.docker.io/bitnami/redis", ("docker.io", "bitnami/redis")),
        ("registry-1.docker.io/library/alpine", ("docker.io", "library/alpine")),
        ("ghcr.io/acme/api", ("ghcr.io", "acme/api")),
        ("localhost:5000/app", ("localhost:5000", "app")),
    ],
)
def test_split_repository(repository: str, expected: tuple[str, str]) -> None:
    assert split_repository(repository) == expected


def test_api_base_and_insecure_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPDATER_INSECURE_REGISTRIES", "10.0.0.1:5000, localhost:5001")
    settings = settings_map([RegistrySettings("https://Mirror.example.com/v2/", insecure=True)])
    assert api_base("docker.io", settings) == "https://registry-1.docker.io"
    assert api_base("ghcr.io", settings) == "https://ghcr.io"
    assert api_base("mirror.example.com", settings) == "http://mirror.example.com"
    assert api_base("localhost:5001", settings) == "http://localhost:5001"
    assert canonical_host("https://index.docker.io/v1/") == "docker.io"


def test_challenges() -> None:
    (bearer,) = parse_challenges(
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",'
        'scope="repository:acme/api:pull",error="insufficient_scope"'
    )
    assert (bearer.scheme, bearer.realm, bearer.service) == (
        "bearer",
        "https://auth.example.com/token",
        "registry.example.com",
    )
    assert (bearer.scope, bearer.error) == ("repository:acme/api:pull", "insufficient_scope")
    basic, other = parse_challenges('Basic realm="Registry Realm", Bearer realm="https://x/t"')
    assert (basic.scheme, basic.realm, other.scheme, other.realm) == (
        "basic",
        "Registry Realm",
        "bearer",
        "https://x/t",
    )


def test_token_cache_expires_and_drops_only_the_stale_token() -> None:
    now = [100.0]
    cache = TokenCache(clock=lambda: now[0])
    key = ("https://auth", "svc", "repository:a:pull")
    cache.put(key, "t1", lifetime=60)
    assert cache.get(key) == "t1"
    now[0] += 49  # refreshed 10 s before the registry would refuse it
    assert cache.get(key) == "t1"
    now[0] += 2
    assert cache.get(key) is None
    cache.put(key, "t2", lifetime=300)
    cache.drop(key, "t1")  # another thread already replaced it
    assert cache.get(key) == "t2"
    cache.drop(key, "t2")
    assert cache.get(key) is None


def test_retry_after_forms() -> None:
    assert retry_after("7") == 7.0
    assert (
        retry_after(
            "Wed, 21 Oct 2015 07:28:30 GMT",
            now=datetime(2015, 10, 21, 7, 28, tzinfo=timezone.utc).timestamp(),
        )
        == 30.0
    )
    assert retry_after("soon") is None and retry_after(None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00+00:00"),
        ("2024-05-01T10:00:00.123456789Z", "2024-05-01T10:00:00.123456+00:00"),
        ("2024-05-01T12:00:00+02:00", "2024-05-01T12:00:00+02:00"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00+00:00"),
    ],
)
def test_image_times(text: str, expected: str) -> None:
    parsed = parse_time(text)
    assert parsed is not None and parsed.isoformat() == expected
    assert parse_time("yesterday") is None


def test_docker_config_lookups() -> None:
    auth = base64.b64encode(b"user:pa:ss").decode()
    store = CredentialStore.from_json(
        json.dumps(
            {
                "auths": {
                    "https://index.docker.io/v1/": {"auth": auth},
                    "ghcr.io": {"username": "bot", "password": "tok"},
                    "acr.example.io": {"identitytoken": "refresh"},
                    "empty.example.io": {},
                }
            }
        )
    )
    hub = store.lookup("docker.io")
    assert hub is not None and (hub.username, hub.password) == ("user", "pa:ss")
    assert "pa:ss" not in repr(hub)
    ghcr = store.lookup("ghcr.io")
    assert ghcr is not None and (ghcr.username, ghcr.password) == ("bot", "tok")
    acr = store.lookup("acr.example.io")
    assert acr is not None and acr.identity_token == "refresh" and not acr.has_basic
    assert store.lookup("empty.example.io") is None and store.lookup("quay.io") is None
