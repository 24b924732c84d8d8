"""``updater history``'s tests: every test in the git sandbox, on a repo with a history
made by hand and by the bot (tests/support/history.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.history import Repo


@pytest.fixture(autouse=True)
def _sandboxed(git_sandbox: Path) -> None:
    """Every test here: the git sandbox."""


@pytest.fixture
def repo(tmp_path: Path, git_sandbox: Path) -> Repo:
    return Repo(tmp_path / "config")


def short(changes: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """(commit, file, old, new, by) of each change: what the tests compare."""
    return [(c["commit"], c["file"], c["old"], c["new"], c["by"]) for c in changes]
