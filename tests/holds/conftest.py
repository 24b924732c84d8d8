"""The hold tests: every test with an empty docker config and no CI actor (their repos
come from tests/support/repos.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated(isolated_credentials: Path) -> None:
    """Every test here: no docker config of the machine's."""


@pytest.fixture(autouse=True)
def _no_ci_actor(no_ci_actor: None) -> None:
    """Every test here: tester, not the CI job's actor, is who holds."""
