"""Options that say how to clone a URL ``--repo`` (``--branch``, ``--forge``,
``--api-url``, ``--token-env``) are refused with a directory: a checkout is read as it
is, so an ignored ``--branch`` would mislead (the run reads another branch than named)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from updater.errors import UsageError
from updater.remote import is_remote_url


def given(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The clone options given on the command line (click passes None for the rest)."""
    return {key: value for key, value in (options or {}).items() if value is not None}


def refuse_with_directory(repo: str, options: Mapping[str, Any] | None, read: str) -> None:
    """Exit 2 when ``repo`` is not a URL and a clone option was given; ``read``: how the
    command takes a directory ("scanned", "read"), for the message."""
    named = given(options)
    if named and not is_remote_url(repo):
        flag = "--" + next(iter(named)).replace("_", "-")
        raise UsageError(f"{flag}: only with a URL --repo (a directory is {read} as it is)")
