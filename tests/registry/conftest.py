"""The registry client's tests: every test with an empty docker config; registries with
Basic and token auth, and the fault proxy, started once per session (per xdist worker).
The anonymous registry is the shared one of tests/support/fixtures.py."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.registry.harness import FaultProxy, start_proxy
from tests.support.registry import Registry, TokenIssuer, start_issuer, start_registry
from updater.registry import CredentialStore, RegistryClient, RegistrySettings, RetryPolicy

USER, PASSWORD = "robot", "s3cret-Pa55word"


@pytest.fixture(autouse=True)
def _isolated(isolated_credentials: Path) -> None:
    """Every test here: no docker config of the machine's."""


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
