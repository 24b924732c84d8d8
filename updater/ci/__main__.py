"""``python -m updater.ci github|gitlab``: one bot run inside a CI job."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TextIO

from updater.ci.github import GitHub
from updater.ci.gitlab import GitLab
from updater.ci.job import run_job
from updater.ci.system import CiSystem

SYSTEMS: dict[str, Callable[[Mapping[str, str], TextIO], CiSystem]] = {
    "github": GitHub,
    "gitlab": GitLab,
}


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] not in SYSTEMS:
        sys.stderr.write(f"usage: python -m updater.ci {{{'|'.join(SYSTEMS)}}}\n")
        return 2
    environ = dict(os.environ if env is None else env)
    system = SYSTEMS[args[0]](environ, out or sys.stdout)
    try:
        return run_job(system, environ)
    except Exception as error:  # the last line of defence against a traceback
        # A failure of the wrapper itself (an unwritable output file, a vanished
        # interpreter): one scrubbed line, never a traceback that could quote a secret.
        sys.stderr.write(
            system.secrets.scrub(f"updater.ci: error: {type(error).__name__}: {error}") + "\n"
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
