"""One bot run inside a CI job, the same for every CI system: learn the secrets, read the
settings, take credentials out of the repo URL, call the command line once with them in
its environment, and hand the result to the CI system to show."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from updater.ci.invoke import CliResult, ErrorLine, invoke
from updater.ci.repo import Credentials, take_credentials
from updater.ci.secrets import REPO_CREDENTIALS
from updater.ci.settings import Settings, read_settings, variable
from updater.ci.system import CiSystem
from updater.errors import UsageError


def child_env(
    env: Mapping[str, str], settings: Settings, credentials: Credentials | None
) -> dict[str, str]:
    """The command line's environment: the job's, with the repo URL's credentials moved
    to ``UPDATER_REPO_CREDENTIALS`` (the command line binds them to the repo's host) and
    the repo setting without them. The token stays in the variable ``--token-env`` names."""
    child = dict(env)
    child[variable("repo")] = settings.repo
    if credentials is not None:
        child[REPO_CREDENTIALS] = credentials.value
    return child


def read_job(system: CiSystem, env: Mapping[str, str]) -> tuple[Settings, Credentials | None]:
    """The job's settings, its repo URL without credentials, and those credentials."""
    raw_repo = env.get(variable("repo"), "").strip()
    repo, credentials = take_credentials(raw_repo, system.label("repo"))
    if credentials is not None:
        system.secrets.add_credentials(credentials)
    forge = system.forge()
    settings = read_settings(
        {**env, variable("repo"): repo},
        label=system.label,
        forge=forge,
        forge_kind=system.forge_kind,
        api_url=system.api_url(),
    )
    return system.adjust(settings), credentials


def run_job(system: CiSystem, env: Mapping[str, str]) -> int:
    # Before anything else is printed: nothing said later may show a secret.
    system.secrets.learn(env)
    try:
        system.check_outputs()
    except UsageError as error:
        # Nowhere to publish the result: one line in the log, and nothing is done.
        sys.stderr.write(system.secrets.scrub(f"updater.ci: error: {error}") + "\n")
        return error.exit_code
    try:
        settings, credentials = read_job(system, env)
    except UsageError as error:
        system.publish(CliResult(error.exit_code, errors=(ErrorLine(str(error)),)), None)
        return error.exit_code
    result = invoke(settings.argv(), child_env(env, settings, credentials))
    system.publish(result, settings)
    return result.status
