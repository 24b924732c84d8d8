"""``--push``, and the race loop it shares with the pull-request flow.

A push that loses a race (the branch moved under us) is retried with jittered
exponential backoff, up to ``--max-retries`` times; a push refused for any other reason
stops at once. Delivery never forces the base branch and never re-edits: after a lost
race it asks for a fresh plan on the new tip.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from updater import remote
from updater.deliver.commits import commit_plan
from updater.deliver.model import DeliveryResult, Job
from updater.deliver.options import DeliveryOptions
from updater.deliver.workspace import Workspace, on_remote
from updater.edit.model import Plan
from updater.errors import DeliveryError
from updater.git import PushResult
from updater.writing import write_plan

T = TypeVar("T")


@dataclass(frozen=True)
class Attempt(Generic[T]):
    """One try: what it made, and git's answer (None: there was nothing to push)."""

    value: T
    push: PushResult | None


def backoff(attempt: int, options: DeliveryOptions) -> float:
    """Full jitter: uniform in [0, min(4 s, step * 2**attempt)], at least 10 ms."""
    ceiling = min(4.0, options.retry_delay * (2 ** max(0, attempt - 1)))
    return max(0.01, random.uniform(0, ceiling))


def refused(action: str, branch: str, url: str, result: PushResult) -> DeliveryError:
    return DeliveryError(f"{action} to {branch} of {url} refused: {result.message}")


def until_pushed(
    attempt_once: Callable[[int], Attempt[T]],
    *,
    branch: str,
    url: str,
    options: DeliveryOptions,
    gave_up: Callable[[int, PushResult], str],
    after_race: Callable[[], object] = lambda: None,
) -> tuple[Attempt[T], int]:
    """Call ``attempt_once(n)`` until it pushes or has nothing to push; return the last
    attempt and its number. Only a lost race is retried, after a backoff and
    ``after_race``; ``gave_up(n, result)`` words the error once the retries run out."""
    attempt = 0
    while True:
        attempt += 1
        tried = attempt_once(attempt)
        result = tried.push
        if result is None or result.ok:
            return tried, attempt
        if not result.retryable:
            raise refused("push", branch, url, result)
        if attempt > options.max_retries:
            raise DeliveryError(gave_up(attempt, result))
        time.sleep(backoff(attempt, options))
        after_race()


def run(job: Job) -> DeliveryResult:
    return on_remote(job, push_to_base)


def push_to_base(job: Job, space: Workspace) -> DeliveryResult:
    """Commit on the tip of the base branch and push; when the branch moved, fetch the
    new tip, plan again on it and retry. Never forces."""
    checkout, base = space.checkout, space.base

    def attempt_once(_: int) -> Attempt[tuple[Plan, str | None]]:
        plan = job.make_plan(checkout.path)
        if not plan.changed:
            return Attempt((plan, None), None)
        files = write_plan(plan)  # real paths: a symlinked file is committed at its target
        sha = commit_plan(checkout, job, plan, files, base=base)
        return Attempt((plan, sha), checkout.push(sha, base))

    def after_race() -> None:
        checkout.reset_hard(checkout.fetch(base))  # the next plan runs on the new tip

    shown_url = remote.redact_url(checkout.url)
    tried, attempt = until_pushed(
        attempt_once,
        branch=base,
        url=shown_url,
        options=job.options,
        gave_up=lambda n, result: (
            f"push to {base} of {shown_url} still rejected after {n} attempts:"
            f" the branch keeps moving ({result.reason}); nothing was pushed"
        ),
        after_race=after_race,
    )
    plan, sha = tried.value
    if sha is None:
        return DeliveryResult(
            plan=plan, mode=job.request.mode, branch=base, base=base, attempts=attempt - 1
        )
    return DeliveryResult(
        plan=plan,
        mode=job.request.mode,
        commit_sha=sha,
        branch=base,
        base=base,
        pushed=True,
        attempts=attempt,
    )
