"""What delivery is asked to do, and what it did."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from updater.deliver.options import DeliveryOptions
from updater.edit.model import Plan
from updater.errors import UsageError
from updater.trailers import SET_IMAGE, Trigger

MakePlan = Callable[[Path], Plan]
# Why the bot commits, for the commit's trailers: fixed, or read off the plan made (a
# poll names the policy of each image the plan changes).
TriggerOf = Trigger | Callable[[Plan], Trigger]
Mode = Literal["dry-run", "write", "commit", "push", "pull-request"]
MODE_NAMES: tuple[Mode, ...] = get_args(Mode)


def as_mode(value: str) -> Mode:
    """``value`` as a :data:`Mode`: a mode read from a flag or a config file."""
    for mode in MODE_NAMES:
        if value == mode:
            return mode
    raise UsageError(f"unknown mode {value!r}")


@dataclass(frozen=True)
class DeliveryRequest:
    repo: str  # a local directory or a remote URL
    mode: Mode
    paths: tuple[str, ...] = ()
    options: DeliveryOptions = field(default_factory=DeliveryOptions)
    trigger: TriggerOf = SET_IMAGE


@dataclass(frozen=True)
class DeliveryResult:
    plan: Plan
    mode: Mode
    commit_sha: str | None = None
    branch: str | None = None  # the branch the commit is on (bot branch for PRs)
    pull_request_url: str | None = None
    pull_request_action: str | None = None  # created | updated | unchanged
    base: str | None = None  # the base branch pushed to / proposed against
    pull_request_number: int | None = None
    pushed: bool = False  # this run moved a remote branch
    attempts: int = 0  # push attempts (>1 after races)
    superseded: tuple[str, ...] = ()  # URLs of PRs/MRs closed as superseded
    left_alone: tuple[str, ...] = ()  # URLs of PRs/MRs seen but not the bot's own
    ignored: tuple[str, ...] = ()  # options given that this mode does not use (their sources)

    def describe(self) -> str:
        """One line for people about what delivery did ("" for dry-run and write)."""
        short = (self.commit_sha or "")[:12]
        if self.mode == "commit":
            return f"committed {short} on {self.branch or 'HEAD'}" if short else ""
        if self.mode == "push":
            if not self.pushed:
                return f"{self.base} is already up to date; nothing pushed"
            tries = f" (after {self.attempts - 1} lost race(s))" if self.attempts > 1 else ""
            return f"pushed {short} to {self.base}{tries}"
        if self.mode == "pull-request":
            if self.pull_request_action is None:
                return f"{self.base} is already up to date; no pull request needed"
            verb = {"created": "opened", "updated": "updated", "unchanged": "unchanged:"}
            text = (
                f"{verb[self.pull_request_action]} {self.pull_request_url} (branch {self.branch})"
            )
            if self.superseded:
                text += f"; closed {len(self.superseded)} superseded"
            if self.left_alone:
                text += f"; left alone {len(self.left_alone)} not opened by the bot"
            return text
        return ""

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "base": self.base,
            "branch": self.branch,
            "commit_sha": self.commit_sha,
            "pushed": self.pushed,
            "attempts": self.attempts,
            "pull_request_url": self.pull_request_url,
            "pull_request_number": self.pull_request_number,
            "pull_request_action": self.pull_request_action,
            "superseded": list(self.superseded),
            "left_alone": list(self.left_alone),
            "ignored_options": list(self.ignored),
        }


@dataclass(frozen=True)
class Job:
    """One delivery run, options checked: what every mode's ``run`` receives."""

    request: DeliveryRequest
    options: DeliveryOptions
    make_plan: MakePlan
    # The --repo URL without credentials, and the (user, secret) that belong to it.
    repo_url: str
    given: tuple[str | None, str | None]
    run: str = ""  # this run's id in the trailers (updater.trailers.run_id)

    def trigger(self, plan: Plan) -> Trigger:
        trigger = self.request.trigger
        return trigger if isinstance(trigger, Trigger) else trigger(plan)
