"""What a CI system must provide to run the bot: where settings come from, how secrets
are hidden, and how results are shown. One module per CI system implements it."""

from __future__ import annotations

from typing import Protocol

from updater.ci.outcome import Outcome
from updater.ci.settings import Settings


class Platform(Protocol):
    def label(self, name: str) -> str:
        """How the user spells a setting in this CI system, for error messages."""

    def read(self) -> Settings:
        """The job's settings; raises UsageError naming the bad one."""

    def child_env(self, settings: Settings) -> dict[str, str]:
        """The environment for the command line (holds the token, never its argv)."""

    def mask(self, secret: str) -> None:
        """Hide ``secret`` from everything printed afterwards."""

    def publish(self, outcome: Outcome, settings: Settings | None) -> None:
        """Show the result: outputs, summary, error annotations."""
