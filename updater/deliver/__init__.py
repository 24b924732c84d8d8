"""Delivery: take a plan and turn it into a diff, written files, a commit, a push or a
pull request. Delivery never re-edits: on a race it asks for a fresh plan.

One module per job (see docs/design.md): ``options`` checks the delivery options once,
``local`` runs dry-run, write and commit, ``workspace`` clones the remote the other modes
work on, ``push`` holds the one race loop, ``pull_request`` the PR lifecycle as steps.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import replace

from updater import remote
from updater.deliver.branch import BOT_BRANCH_PREFIX, bot_branch
from updater.deliver.model import (
    DeliveryRequest,
    DeliveryResult,
    Job,
    MakePlan,
    Mode,
    TriggerOf,
    as_mode,
)
from updater.deliver.options import DeliveryOptions, ignored
from updater.errors import UsageError
from updater.trailers import run_id

__all__ = [
    "BOT_BRANCH_PREFIX",
    "MODES",
    "DeliveryOptions",
    "DeliveryRequest",
    "DeliveryResult",
    "MakePlan",
    "Mode",
    "TriggerOf",
    "as_mode",
    "bot_branch",
    "deliver",
]

# Each mode and the function that runs it, as "module:function" under this package. A
# mode's module is imported only when that mode runs: a dry-run on a local directory
# never loads git or the forges, and a run loads only the code it uses.
MODES: dict[str, str] = {
    "dry-run": "local:dry_run",
    "write": "local:write",
    "commit": "local:commit",
    "push": "push:run",
    "pull-request": "pull_request:run",
}


# The modes that make a commit, whose commit options are checked before any work.
COMMITTING = ("commit", "push", "pull-request")


def deliver(request: DeliveryRequest, make_plan: MakePlan) -> DeliveryResult:
    if request.mode not in MODES:
        raise UsageError(f"unknown mode {request.mode!r}")
    options = request.options
    # Credentials given for the --repo URL (in it, or in UPDATER_REPO_CREDENTIALS) belong
    # to that URL alone; a local --repo takes none this way.
    repo_url, user, secret = remote.repo_credentials(request.repo)
    # One id for the whole run: a commit made again after a lost push race keeps it.
    job = Job(request, options, make_plan, repo_url, (user, secret), run_id(os.environ))
    if request.mode in COMMITTING:
        from updater.deliver.commits import check_parts

        check_parts(job)
    result = _runner(request.mode)(job)
    return replace(result, ignored=ignored(options, request.mode))


def _runner(mode: str) -> Callable[[Job], DeliveryResult]:
    module, name = MODES[mode].split(":")
    run: Callable[[Job], DeliveryResult] = getattr(
        importlib.import_module(f"{__name__}.{module}"), name
    )
    return run
