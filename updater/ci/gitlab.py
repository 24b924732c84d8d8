"""GitLab CI: a ``dotenv`` report for later jobs, the full JSON report as an artifact, and
a readable summary in the job log.

GitLab's dotenv parser is strict (one ``KEY=value`` per line, no blank lines, no
comments, no multi-line values, a 5 KB file) and its variables override the later
job's own ``variables:``. So the outputs are few, single-line, and named
``UPDATER_RESULT_*`` so that they can never override an ``UPDATER_*`` setting of a later
updater job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from updater.ci import summary
from updater.ci.outcome import Outcome
from updater.ci.settings import Settings, read_settings, variable
from updater.errors import UsageError

DOTENV_FILE = "gitops-updater.env"
REPORT_FILE = "gitops-updater-report.json"

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^[\w.-]+@[\w.-]+:")
_SHORTHAND = re.compile(r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def dotenv(values: Mapping[str, str]) -> str:
    """Lines GitLab's dotenv report accepts; empty values are left out."""
    lines = []
    for key, value in values.items():
        if not _KEY.match(key):
            raise ValueError(f"not a dotenv key: {key!r}")
        value = " ".join(value.split())
        if value:
            lines.append(f"{key}={value}")
    return "".join(line + "\n" for line in lines)


class GitLab:
    def __init__(self, env: Mapping[str, str], out: TextIO) -> None:
        self.env = env
        self.out = out
        self.secrets: list[str] = []

    def label(self, name: str) -> str:
        return variable(name)

    @property
    def server(self) -> str:
        return self.env.get("CI_SERVER_URL", "https://gitlab.com").rstrip("/")

    def resolve_repo(self, value: str) -> str:
        if not value:
            current = self.env.get("CI_PROJECT_PATH", "")
            if not current:
                raise UsageError(f"{self.label('repo')}: empty, and CI_PROJECT_PATH is not set")
            return f"{self.server}/{current}.git"
        if _URL.match(value):
            return value
        if _SHORTHAND.match(value):
            return f"{self.server}/{value.removesuffix('.git')}.git"
        raise UsageError(
            f"{self.label('repo')}: {value!r} is not a directory, a clone URL or a project path"
        )

    def read(self) -> Settings:
        settings = read_settings(
            self.env,
            label=self.label,
            resolve_repo=self.resolve_repo,
            forge="gitlab",
            api_url=self.server,
        )
        if settings.token_variable or settings.repo_is_local:
            return settings
        if settings.mode == "pull-request":
            raise UsageError(
                f"{self.label('token')}: not set; CI_JOB_TOKEN cannot open merge requests, "
                "use a project access token with the api and write_repository scopes"
            )
        if not self.env.get("CI_JOB_TOKEN"):
            return settings
        # Since GitLab 17.2 the job token may push to its own project when the project
        # allows it (Settings > CI/CD > Job token permissions); the command line sends it
        # with the user name GitLab wants for it.
        return replace(settings, token_variable="CI_JOB_TOKEN")

    def child_env(self, settings: Settings) -> dict[str, str]:
        return dict(self.env)

    def mask(self, secret: str) -> None:
        # GitLab masks only variables marked "masked" in the settings; what it did not
        # mask is at least never echoed by this code.
        self.secrets += [line for line in secret.splitlines() if line.strip()]

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[MASKED]")
        return text

    def print(self, text: str) -> None:
        self.out.write(self.scrub(text))
        self.out.flush()

    def publish(self, outcome: Outcome, settings: Settings | None) -> None:
        if outcome.stderr.strip():
            self.print(outcome.stderr.rstrip("\n") + "\n")
        for error in outcome.errors:
            self.print(f"\x1b[31;1mERROR: {error.text}\x1b[0m\n")
        self.print(summary.plain(outcome, settings))
        root = Path(self.env.get("CI_PROJECT_DIR") or ".")
        report = json.dumps(outcome.report, indent=2, sort_keys=True) + "\n"
        (root / REPORT_FILE).write_text(self.scrub(report), encoding="utf-8")
        values = {
            "UPDATER_RESULT_STATUS": str(outcome.status),
            "UPDATER_RESULT_CHANGED": "true" if outcome.changed else "false",
            "UPDATER_RESULT_COMMIT_SHA": outcome.delivered("commit_sha"),
            "UPDATER_RESULT_BRANCH": outcome.delivered("branch"),
            "UPDATER_RESULT_MERGE_REQUEST_URL": outcome.delivered("pull_request_url"),
            "UPDATER_RESULT_REPORT": REPORT_FILE,
        }
        (root / DOTENV_FILE).write_text(self.scrub(dotenv(values)), encoding="utf-8")
