"""``python -m updater.ci github|gitlab``: one bot run inside a CI job."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TextIO

from updater.ci.github import GitHub
from updater.ci.gitlab import GitLab
from updater.ci.outcome import ErrorLine, Outcome, invoke
from updater.ci.platform import Platform
from updater.ci.settings import variable
from updater.errors import UsageError

PLATFORMS: dict[str, Callable[[Mapping[str, str], TextIO], Platform]] = {
    "github": GitHub,
    "gitlab": GitLab,
}


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] not in PLATFORMS:
        sys.stderr.write(f"usage: python -m updater.ci {{{'|'.join(PLATFORMS)}}}\n")
        return 2
    environ = dict(os.environ if env is None else env)
    platform = PLATFORMS[args[0]](environ, out or sys.stdout)
    # Before anything else is printed: nothing said later may show the token.
    for name in (variable("token"), "CI_JOB_TOKEN"):
        if environ.get(name, "").strip():
            platform.mask(environ[name].strip())
    try:
        settings = platform.read()
    except UsageError as error:
        platform.publish(Outcome(status=error.exit_code, errors=(ErrorLine(str(error)),)), None)
        return error.exit_code
    outcome = invoke(settings.argv(), platform.child_env(settings))
    platform.publish(outcome, settings)
    return outcome.status


if __name__ == "__main__":
    sys.exit(main())
