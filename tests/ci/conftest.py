"""The CI integration tests: ``remote`` is the config repo behind a bare remote that
a job clones (tests/support/job_remote.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.job_remote import CONFIG_FILES, Remote, make_remote


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    return make_remote(tmp_path / "remote", CONFIG_FILES)
