"""The bot's commit: message, author and committer from the options."""

from __future__ import annotations

from updater import git
from updater.deliver.options import DeliveryOptions
from updater.edit.model import Plan
from updater.report import commit_message


def commit_parts(
    plan: Plan, options: DeliveryOptions, *, base: str | None
) -> tuple[str, git.Identity, git.Identity]:
    """(message, author, committer) of the commit for ``plan``."""
    author = git.Identity.parse(options.author) if options.author else git.BOT_IDENTITY
    committer = git.Identity.parse(options.committer) if options.committer else author
    message = commit_message(plan, options.message, base=base, skip_ci=options.skip_ci)
    return message, author, committer


def commit_plan(
    checkout: git.Checkout,
    plan: Plan,
    files: list[str],
    options: DeliveryOptions,
    *,
    base: str | None,
) -> str:
    message, author, committer = commit_parts(plan, options, base=base)
    return checkout.commit(
        files, message, author=author, committer=committer, signoff=options.signoff
    )
