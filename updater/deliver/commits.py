"""The bot's commit: message (trailers included), author and committer from the job."""

from __future__ import annotations

from pathlib import Path

from updater import git
from updater.deliver.model import Job
from updater.deliver.options import DeliveryOptions
from updater.edit.model import Plan
from updater.errors import UsageError
from updater.report import commit_message


def commit_parts(
    job: Job, plan: Plan, *, base: str | None
) -> tuple[str, git.Identity, git.Identity]:
    """(message, author, committer) of the commit for ``plan``; the message's trailers
    name the job's trigger and run."""
    options = job.options
    author = _identity(options, "author") or git.BOT_IDENTITY
    committer = _identity(options, "committer") or author
    message = commit_message(
        plan,
        options.message,
        source=options.where("message"),
        base=base,
        skip_ci=options.skip_ci,
        trigger=job.trigger(plan),
        run=job.run,
    )
    return message, author, committer


def check_parts(job: Job) -> None:
    """Refuse a bad ``--message``, ``--author`` or ``--committer`` before anything runs,
    also when the plan will turn out to need no commit (a CI job would otherwise learn
    of it only on its first real change)."""
    commit_parts(job, Plan(root=Path("."), changes=()), base=None)


def _identity(options: DeliveryOptions, option: str) -> git.Identity | None:
    """The author or committer option, refused naming where its value came from."""
    text = getattr(options, option)
    if not text:
        return None
    try:
        return git.Identity.parse(text)
    except UsageError as error:
        raise UsageError(f"{options.where(option)}: {error}") from None


def commit_plan(
    checkout: git.Checkout, job: Job, plan: Plan, files: list[str], *, base: str | None
) -> str:
    message, author, committer = commit_parts(job, plan, base=base)
    return checkout.commit(
        files, message, author=author, committer=committer, signoff=job.options.signoff
    )
