"""What a CI system must provide to run the bot: where the job runs, how a setting is
spelled, how secrets are hidden and how results are shown. One module per CI system
(``github.py``, ``gitlab.py``) implements it; ``job.py`` does everything else once.

Named for the CI system, not a "platform": ``registry`` already has an image
``Platform`` (os/arch), and this is GitHub Actions or GitLab CI."""

from __future__ import annotations

from typing import Protocol

from updater.ci.invoke import CliResult
from updater.ci.repo import Forge
from updater.ci.secrets import Secrets
from updater.ci.settings import Settings


class CiSystem(Protocol):
    forge_kind: str  # the command line's --forge: "github" or "gitlab"
    secrets: Secrets

    def label(self, name: str) -> str:
        """How the user spells a setting in this CI system, for error messages."""

    def forge(self) -> Forge:
        """The forge the job runs on: its address and the job's own project."""

    def api_url(self) -> str:
        """The command line's --api-url for this forge."""

    def adjust(self, settings: Settings) -> Settings:
        """This system's own rules on top of the shared settings (GitLab's job token)."""

    def check_outputs(self) -> None:
        """Raise ``UsageError`` naming the variable if a place the results go to cannot
        be written, before anything is done that those results would report."""

    def publish(self, result: CliResult, settings: Settings | None) -> None:
        """Show the result: log, outputs, summary, error annotations; all scrubbed."""
