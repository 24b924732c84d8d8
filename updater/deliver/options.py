"""The delivery options, checked once: every mode reads them from here."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from updater.edit.model import Plan
from updater.errors import UsageError

MERGE_METHODS = ("merge", "squash", "rebase")


@dataclass(frozen=True)
class DeliveryOptions:
    """The delivery flags; built from the CLI's ``delivery`` dict by :meth:`from_mapping`."""

    branch: str | None = None  # base branch (default: the remote's default / upstream)
    remote: str | None = None  # remote of a local --repo (default: upstream's, else origin)
    forge: str | None = None  # github | gitlab (default: from the remote URL)
    api_url: str | None = None
    project: str | None = None  # OWNER/NAME on the forge (default: from the URL path)
    token_env: str | None = None
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    draft: bool = False
    auto_merge: bool = False
    merge_method: str = "merge"
    close_superseded: bool = False
    author: str | None = None  # "Name <email>"
    committer: str | None = None
    message: str | None = None  # template, see report.commit_message
    skip_ci: bool = False
    signoff: bool = False
    max_retries: int = 10
    retry_delay: float = 0.25  # first backoff step, seconds; doubles, jittered, capped
    # Set by commands, never by flags: promote's own branch, and its PR title and body
    # (which must keep pull_request_body's marker for the bot to know its PR again).
    proposal_head: str | None = None
    proposal_text: Callable[[Plan, str], tuple[str, str]] | None = None

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any] | None) -> DeliveryOptions:
        options = dict(options or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(k for k in options if k not in known)
        if unknown:
            raise UsageError(f"unknown delivery option(s): {', '.join(unknown)}")
        values: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
        for key in ("labels", "reviewers", "assignees"):
            if key in values:
                values[key] = join_labels(tuple(values[key]))
        if values.get("max_retries", 0) < 0:
            raise UsageError("--max-retries must be >= 0")
        if values.get("merge_method", "merge") not in MERGE_METHODS:
            raise UsageError("--merge-method: expected merge, squash or rebase")
        return cls(**values)


def join_labels(values: Sequence[str]) -> tuple[str, ...]:
    """Repeated and comma-separated values as one list, in order, without duplicates."""
    out: list[str] = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if item and item not in out:
                out.append(item)
    return tuple(out)
