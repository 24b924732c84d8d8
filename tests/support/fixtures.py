"""The fixtures several test directories share, registered for every test by
tests/conftest.py. None is autouse here: a directory whose every test wants the git
sandbox or the isolated docker config says so in its own conftest.py."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fakeforge import FakeForgeServer
from tests.support.gitserver import GitHttpServer
from tests.support.job_remote import ROOT
from tests.support.registry import Registry, start_registry
from tests.support.remotes import SEED, TOKEN, TOKEN_VARIABLES, Remote

# ------------------------------------------------------------------------- git and forges


@pytest.fixture
def git_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean git identity and no tokens from the machine; loopback forge writes unthrottled."""
    home = tmp_path / "home"
    home.mkdir()
    config = home / ".gitconfig"
    config.write_text(
        "[user]\n\tname = Test Person\n\temail = test@example.invalid\n"
        '[init]\n\tdefaultBranch = main\n[protocol "file"]\n\tallow = always\n'
        "[advice]\n\tdetachedHead = false\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("UPDATER_FORGE_WRITE_INTERVAL", "0")
    for name in (*TOKEN_VARIABLES, "GIT_CONFIG_COUNT", "GIT_ASKPASS", "SSH_ASKPASS"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    return Remote(tmp_path / "remotes" / "acme" / "config.git", SEED)


@pytest.fixture
def forge() -> Iterator[FakeForgeServer]:
    server = FakeForgeServer(TOKEN).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def git_http(tmp_path: Path) -> Iterator[GitHttpServer]:
    server = GitHttpServer(tmp_path / "remotes", TOKEN)
    if server.backend is None:
        pytest.skip("git http-backend is not installed")
    server.start()
    try:
        yield server
    finally:
        server.stop()


# ------------------------------------------------------------------------- the registry


@pytest.fixture
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


@pytest.fixture
def repo_name(request: pytest.FixtureRequest) -> str:
    """A repository name of this test's own, so tests never see each other's tags."""
    return "t/" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60]


# ------------------------------------------------------------------------- who acts


@pytest.fixture
def no_ci_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CI actor in the environment and USER=tester: who holds and rollbacks name."""
    for name in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("USER", "tester")


# ------------------------------------------------------------------------- CI jobs


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    """A job's environment: the checked-out bot importable, no user git config."""
    home = tmp_path / "home"
    home.mkdir()
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
    }


@pytest.fixture
def python_bin(tmp_path: Path) -> Path:
    """A directory whose ``python`` is this interpreter, for jobs that call ``python``."""
    directory = tmp_path / "bin"
    directory.mkdir()
    # A script, not a symlink: a venv is found next to the path python was started by.
    shim = directory / "python"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    return directory
