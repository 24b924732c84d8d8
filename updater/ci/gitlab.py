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
import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from updater.ci import summary
from updater.ci.invoke import CliResult
from updater.ci.repo import Forge
from updater.ci.secrets import Secrets
from updater.ci.settings import Settings, variable
from updater.errors import UsageError

DOTENV_FILE = "gitops-updater.env"
REPORT_FILE = "gitops-updater-report.json"

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
    forge_kind = "gitlab"

    def __init__(self, env: Mapping[str, str], out: TextIO) -> None:
        self.env = env
        self.out = out
        # GitLab masks only variables marked "masked" in the settings, and offers no way
        # to mask at run time: what it did not mask is at least never echoed here.
        self.secrets = Secrets("[MASKED]")

    def label(self, name: str) -> str:
        return variable(name)

    @property
    def server(self) -> str:
        return (self.env.get("CI_SERVER_URL") or "https://gitlab.com").rstrip("/")

    def forge(self) -> Forge:
        return Forge(
            server_url=self.server,
            project=self.env.get("CI_PROJECT_PATH", ""),
            project_variable="CI_PROJECT_PATH",
            nested=True,
        )

    def api_url(self) -> str:
        return self.server

    def adjust(self, settings: Settings) -> Settings:
        if settings.token_variable or settings.repo_is_local:
            return settings
        if settings.mode == "pull-request":
            raise UsageError(
                f"{self.label('token')}: not set; CI_JOB_TOKEN cannot open merge requests, "
                "use a project access token with the api and write_repository scopes"
            )
        if not self.env.get("CI_JOB_TOKEN") or not self.forge().hosts(settings.repo):
            return settings
        # Since GitLab 17.2 the job token may push to its own project when the project
        # allows it (Settings > CI/CD > Job token permissions); the command line sends it
        # with the user name GitLab wants for it. It is GitLab's, so only for GitLab.
        return replace(settings, token_variable="CI_JOB_TOKEN")

    def print(self, text: str, *, color: str = "") -> None:
        """Text for the job log: scrubbed, and with no control character of its own (an
        ANSI escape from the repo could rewrite the line); ``color`` is this code's."""
        clean = summary.printable(self.secrets.scrub(text))
        self.out.write(f"\x1b[{color}m{clean}\x1b[0m\n" if color else clean)
        self.out.flush()

    @property
    def root(self) -> Path:
        """Where the report and the dotenv file go: the job's checkout."""
        return Path(self.env.get("CI_PROJECT_DIR") or ".")

    def check_outputs(self) -> None:
        root = self.root
        where = f"CI_PROJECT_DIR: {root}" if self.env.get("CI_PROJECT_DIR") else f"{root}"
        if not root.is_dir():
            reason = "not a directory" if root.exists() else "no such directory"
            raise UsageError(f"{where}: {reason} (the report and {DOTENV_FILE} go there)")
        if not os.access(root, os.W_OK | os.X_OK):
            raise UsageError(f"{where}: cannot write (the report and {DOTENV_FILE} go there)")

    def publish(self, result: CliResult, settings: Settings | None) -> None:
        scrub = self.secrets.scrub
        if result.stderr.strip():
            self.print(result.stderr.rstrip("\n") + "\n")
        for error in result.errors:
            self.print(f"ERROR: {error.text}", color="31;1")
        self.print(summary.plain(result, settings))
        root = self.root
        report = json.dumps(result.report, indent=2, sort_keys=True) + "\n"
        (root / REPORT_FILE).write_text(scrub(report), encoding="utf-8")
        values = {
            "UPDATER_RESULT_STATUS": str(result.status),
            "UPDATER_RESULT_CHANGED": "true" if result.changed else "false",
            "UPDATER_RESULT_COMMIT_SHA": result.delivered("commit_sha"),
            "UPDATER_RESULT_BRANCH": result.delivered("branch"),
            "UPDATER_RESULT_MERGE_REQUEST_URL": result.delivered("pull_request_url"),
            "UPDATER_RESULT_REPORT": REPORT_FILE,
        }
        (root / DOTENV_FILE).write_text(scrub(dotenv(values)), encoding="utf-8")
