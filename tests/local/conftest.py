"""Every test of a local checkout runs in the git sandbox (tests/support/fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _sandboxed(git_sandbox: Path) -> None:
    """Every test here: the git sandbox."""
