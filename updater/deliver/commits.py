"""The bot's commit: message (trailers included), author and committer from the job."""

from __future__ import annotations

from updater import git
from updater.deliver.model import Job
from updater.edit.model import Plan
from updater.report import commit_message


def commit_parts(
    job: Job, plan: Plan, *, base: str | None
) -> tuple[str, git.Identity, git.Identity]:
    """(message, author, committer) of the commit for ``plan``; the message's trailers
    name the job's trigger and run."""
    options = job.options
    author = git.Identity.parse(options.author) if options.author else git.BOT_IDENTITY
    committer = git.Identity.parse(options.committer) if options.committer else author
    message = commit_message(
        plan,
        options.message,
        base=base,
        skip_ci=options.skip_ci,
        trigger=job.trigger(plan),
        run=job.run,
    )
    return message, author, committer


def commit_plan(
    checkout: git.Checkout, job: Job, plan: Plan, files: list[str], *, base: str | None
) -> str:
    message, author, committer = commit_parts(job, plan, base=base)
    return checkout.commit(
        files, message, author=author, committer=committer, signoff=job.options.signoff
    )
