"""GitHub Actions: step outputs, the step summary, ``::error`` annotations and masking.

Workflow commands are lines on stdout that the runner interprets, so anything the
command line printed is echoed inside a ``::stop-commands::`` block: a file name or an
error message cannot smuggle in a command of its own.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from updater.ci import summary
from updater.ci.invoke import CliResult
from updater.ci.repo import Forge
from updater.ci.secrets import Secrets
from updater.ci.settings import Settings
from updater.errors import UsageError

# The files the runner names for a step's results.
OUTPUT_FILES = ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str) -> str:
    """One workflow command line, e.g. ``::error file=a.yaml,line=3::bad``."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def output_entry(name: str, value: str) -> str:
    """A ``$GITHUB_OUTPUT`` entry in the heredoc form, safe for any value."""
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    while delimiter in value:  # pragma: no cover - a random delimiter never collides
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


class GitHub:
    forge_kind = "github"

    def __init__(self, env: Mapping[str, str], out: TextIO) -> None:
        self.env = env
        self.out = out
        self.secrets = Secrets("***", announce=self.mask)

    def label(self, name: str) -> str:
        return f"input '{name}'"

    def forge(self) -> Forge:
        return Forge(
            server_url=self.env.get("GITHUB_SERVER_URL") or "https://github.com",
            project=self.env.get("GITHUB_REPOSITORY", ""),
            project_variable="GITHUB_REPOSITORY",
            nested=False,
        )

    def api_url(self) -> str:
        return self.env.get("GITHUB_API_URL", "")

    def adjust(self, settings: Settings) -> Settings:
        return settings

    def mask(self, secret: str) -> None:
        """``::add-mask::``: the runner hides the secret in every later log line."""
        self.print(command("add-mask", secret))

    def print(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def echo(self, text: str) -> None:
        """Print text verbatim with workflow commands switched off."""
        if not text.strip():
            return
        token = uuid.uuid4().hex
        self.print(f"::stop-commands::{token}")
        self.out.write(summary.printable(self.secrets.scrub(text)).rstrip("\n") + "\n")
        self.print(f"::{token}::")

    def annotation_path(self, file: str, settings: Settings | None) -> str:
        # Annotations link to files of the workflow's own checkout; a config repo given
        # as a directory of it is named relative to the workspace.
        if settings is None or not settings.repo_is_local:
            return file
        workspace = Path(self.env.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()
        candidate = (Path(settings.repo) / file).resolve()
        try:
            return candidate.relative_to(workspace).as_posix()
        except ValueError:
            return file

    def check_outputs(self) -> None:
        for name in OUTPUT_FILES:
            path = self.env.get(name)
            if not path:
                continue
            try:
                # Appending nothing: the runner made the file, or this makes it empty.
                with open(path, "a", encoding="utf-8"):
                    pass
            except OSError as error:
                reason = error.strerror or type(error).__name__
                raise UsageError(f"{name}: {path}: cannot write ({reason})") from None

    def publish(self, result: CliResult, settings: Settings | None) -> None:
        scrub = self.secrets.scrub
        parts = (result.stderr, summary.plain(result, settings))
        self.echo("\n".join(part.rstrip("\n") for part in parts if part.strip()))
        for error in result.errors:
            properties = {"title": "gitops-updater"}
            if error.file:
                properties["file"] = scrub(self.annotation_path(error.file, settings))
                if error.line:
                    properties["line"] = str(error.line)
            self.print(command("error", scrub(error.message), **properties))
        url = scrub(result.delivered("pull_request_url"))
        if url:
            action = scrub(result.delivered("pull_request_action") or "opened")
            self.print(command("notice", f"Pull request {action}: {url}", title="gitops-updater"))
        report = json.dumps(result.report, sort_keys=True, separators=(",", ":"))
        outputs = {
            "changed": "true" if result.changed else "false",
            "commit-sha": result.delivered("commit_sha"),
            "pull-request-url": result.delivered("pull_request_url"),
            "branch": result.delivered("branch"),
            "report": report,
        }
        self.append(
            "GITHUB_OUTPUT",
            "".join(output_entry(name, scrub(value)) for name, value in outputs.items()),
        )
        self.append("GITHUB_STEP_SUMMARY", scrub(summary.markdown(result, settings)))

    def append(self, variable: str, text: str) -> None:
        path = self.env.get(variable)
        if path:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(text)
