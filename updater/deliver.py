"""Delivery modes: take a plan and turn it into a diff, written files, a commit, a push
or a pull request. Delivery never re-edits: on a race it asks for a fresh plan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from updater.edit.model import Plan
from updater.errors import DeliveryError, UsageError

MakePlan = Callable[[Path], Plan]


@dataclass(frozen=True)
class DeliveryRequest:
    repo: str  # a local directory or a remote URL
    mode: str  # dry-run | write | commit | push | pull-request
    paths: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)  # delivery flags, by name


@dataclass(frozen=True)
class DeliveryResult:
    plan: Plan
    mode: str
    commit_sha: str | None = None
    branch: str | None = None
    pull_request_url: str | None = None
    pull_request_action: str | None = None  # created | updated | unchanged

    @property
    def changed(self) -> bool:
        return self.plan.changed

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "commit_sha": self.commit_sha,
            "branch": self.branch,
            "pull_request_url": self.pull_request_url,
            "pull_request_action": self.pull_request_action,
        }


def deliver(request: DeliveryRequest, make_plan: MakePlan) -> DeliveryResult:
    from updater.edit.planner import write_plan

    root = Path(request.repo)
    if not root.is_dir():
        raise UsageError(f"--repo {request.repo}: not a directory")
    plan = make_plan(root)
    if request.mode == "dry-run":
        return DeliveryResult(plan=plan, mode=request.mode)
    if request.mode == "write":
        write_plan(plan)
        return DeliveryResult(plan=plan, mode=request.mode)
    raise DeliveryError(f"--{request.mode} is not available yet")
