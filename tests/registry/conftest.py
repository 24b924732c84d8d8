"""Real registries on 127.0.0.1, started once per test session (per xdist worker)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.registry.harness import (
    FaultProxy,
    Registry,
    TokenIssuer,
    start_issuer,
    start_proxy,
    start_registry,
)
from updater.registry import CredentialStore, RegistryClient, RegistrySettings, RetryPolicy

USER, PASSWORD = "robot", "s3cret-Pa55word"


@pytest.fixture(autouse=True)
def isolated_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the machine's docker config; each gets an empty DOCKER_CONFIG."""
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    for name in ("DOCKER_AUTH_CONFIG", "REGISTRY_AUTH_FILE", "UPDATER_INSECURE_REGISTRIES"):
        monkeypatch.delenv(name, raising=False)
    return config_dir


@pytest.fixture(scope="session")
def anon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    registry = start_registry(tmp_path_factory.mktemp("anon"))
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    registry = start_registry(tmp_path_factory.mktemp("basic"), basic={USER: PASSWORD})
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def issuer() -> Iterator[TokenIssuer]:
    token_issuer = TokenIssuer(users={USER: PASSWORD}, refresh_tokens={"refresh-abc": USER})
    server = start_issuer(token_issuer)
    yield token_issuer
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def token_registry(
    tmp_path_factory: pytest.TempPathFactory, issuer: TokenIssuer
) -> Iterator[Registry]:
    registry = start_registry(tmp_path_factory.mktemp("token"), issuer=issuer)
    yield registry
    registry.stop()


@pytest.fixture
def proxy(anon: Registry) -> Iterator[FaultProxy]:
    fault_proxy = start_proxy(anon.url)
    yield fault_proxy
    fault_proxy.stop()


@pytest.fixture
def repo_name(request: pytest.FixtureRequest) -> str:
    """A repository name of this test's own, so tests never see each other's tags."""
    return "t/" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60]


def docker_config(directory: Path, data: dict[str, object]) -> None:
    (directory / "config.json").write_text(json.dumps(data))


def basic_auth_entry(user: str = USER, password: str = PASSWORD) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


class Sleeps(list[float]):
    """Records backoff pauses instead of sleeping: tests never wait on the clock."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(
    *hosts: str,
    sleeps: Sleeps | None = None,
    timeout: tuple[float, float] = (5.0, 30.0),
    page_size: int | None = 1000,
    credentials: CredentialStore | None = None,
) -> RegistryClient:
    retry = RetryPolicy(sleep=sleeps if sleeps is not None else Sleeps())
    return RegistryClient(
        [RegistrySettings(host, insecure=True) for host in hosts],
        retry=retry,
        timeout=timeout,
        page_size=page_size,
        credentials=credentials,
    )
