"""Environments in real git repos; the loopback forge fake and git sandbox of tests/delivery."""

from __future__ import annotations

from tests.delivery.conftest import forge, git_sandbox  # noqa: F401
