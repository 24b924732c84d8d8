"""Fixtures of tests/serve: the git sandbox of tests/delivery for every test (a clean
identity, no machine tokens; the servers started by a test inherit it), and the
loopback forge fake."""

from __future__ import annotations

from tests.delivery.conftest import forge, git_sandbox

__all__ = ["forge", "git_sandbox"]
