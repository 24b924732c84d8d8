"""Environments in real git repos; the loopback forge fake of tests/delivery (its git
sandbox is imported by the modules that want it)."""

from __future__ import annotations

from tests.delivery.conftest import forge  # noqa: F401
