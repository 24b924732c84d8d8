"""The hold and rollback tests: the CLI in-process, every test with an empty docker
config and no CI actor (their repos come from tests/support/repos.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated(isolated_credentials: Path) -> None:
    """Every test here: no docker config of the machine's."""


@pytest.fixture(autouse=True)
def no_ci_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("USER", "tester")
