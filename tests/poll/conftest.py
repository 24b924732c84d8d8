"""``updater poll`` (updater/commands/poll.py) against the real registry of
tests/support: every test with an empty docker config."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated(isolated_credentials: Path) -> None:
    """Every test here: no docker config of the machine's."""
