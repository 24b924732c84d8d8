"""Local checkouts under test: the delivery tests' real git remotes and sandbox."""

from __future__ import annotations

from tests.delivery.conftest import git_sandbox, remote

__all__ = ["git_sandbox", "remote"]
