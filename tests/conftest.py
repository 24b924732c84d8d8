"""The fixtures shared across test directories (real registry, git sandbox, forge fake,
smart-HTTP git remote) are one plugin, so no test directory imports another's."""

from __future__ import annotations

pytest_plugins = ["tests.support.fixtures"]
