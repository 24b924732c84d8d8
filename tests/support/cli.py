"""The CLI in-process (click's runner): exit code, stdout and stderr of one command."""

from __future__ import annotations

from click.testing import CliRunner, Result

from updater.cli import cli


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)
