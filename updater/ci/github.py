"""GitHub Actions: step outputs, the step summary, ``::error`` annotations and masking.

Workflow commands are lines on stdout that the runner interprets, so anything the
command line printed is echoed inside a ``::stop-commands::`` block: a file name or an
error message cannot smuggle in a command of its own.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from updater.ci import summary
from updater.ci.outcome import Outcome
from updater.ci.settings import Settings, read_settings
from updater.errors import UsageError

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^[\w.-]+@[\w.-]+:")
_SHORTHAND = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


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
    def __init__(self, env: Mapping[str, str], out: TextIO) -> None:
        self.env = env
        self.out = out
        self.secrets: list[str] = []

    def label(self, name: str) -> str:
        return f"input '{name}'"

    def resolve_repo(self, value: str) -> str:
        server = self.env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        if not value:
            current = self.env.get("GITHUB_REPOSITORY", "")
            if not current:
                raise UsageError(f"{self.label('repo')}: empty, and GITHUB_REPOSITORY is not set")
            return f"{server}/{current}.git"
        if _URL.match(value):
            return value
        if _SHORTHAND.match(value):
            return f"{server}/{value.removesuffix('.git')}.git"
        raise UsageError(
            f"{self.label('repo')}: {value!r} is not a directory, a clone URL or owner/name"
        )

    def read(self) -> Settings:
        return read_settings(
            self.env,
            label=self.label,
            resolve_repo=self.resolve_repo,
            forge="github",
            api_url=self.env.get("GITHUB_API_URL", ""),
        )

    def child_env(self, settings: Settings) -> dict[str, str]:
        return dict(self.env)

    def mask(self, secret: str) -> None:
        for line in secret.splitlines():
            if line.strip():
                self.secrets.append(line)
                self.print(command("add-mask", line))

    def print(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def echo(self, text: str) -> None:
        """Print text verbatim with workflow commands switched off."""
        if not text.strip():
            return
        token = uuid.uuid4().hex
        self.print(f"::stop-commands::{token}")
        self.out.write(self.scrub(text).rstrip("\n") + "\n")
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

    def publish(self, outcome: Outcome, settings: Settings | None) -> None:
        parts = (outcome.stderr, summary.plain(outcome, settings))
        self.echo("\n".join(part.rstrip("\n") for part in parts if part.strip()))
        for error in outcome.errors:
            properties = {"title": "gitops-updater"}
            if error.file:
                properties["file"] = self.annotation_path(error.file, settings)
                properties["line"] = str(error.line)
            self.print(command("error", self.scrub(error.message), **properties))
        url = outcome.delivered("pull_request_url")
        if url:
            action = outcome.delivered("pull_request_action") or "opened"
            self.print(command("notice", f"Pull request {action}: {url}", title="gitops-updater"))
        report = json.dumps(outcome.report, sort_keys=True, separators=(",", ":"))
        self.append(
            "GITHUB_OUTPUT",
            output_entry("changed", "true" if outcome.changed else "false")
            + output_entry("commit-sha", outcome.delivered("commit_sha"))
            + output_entry("pull-request-url", url)
            + output_entry("branch", outcome.delivered("branch"))
            + output_entry("report", self.scrub(report)),
        )
        self.append("GITHUB_STEP_SUMMARY", self.scrub(summary.markdown(outcome, settings)))

    def append(self, variable: str, text: str) -> None:
        path = self.env.get(variable)
        if path:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(text)
