"""``updater rollback``'s tests: in the git sandbox, with an empty docker config and no
CI actor; ``repo`` is a config repo with a history (tests/support/history.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.history import Repo


@pytest.fixture(autouse=True)
def _isolated(git_sandbox: Path, isolated_credentials: Path, no_ci_actor: None) -> None:
    """Every test here: the git sandbox, no docker config, tester as the actor."""


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "config")
