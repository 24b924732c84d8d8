"""Where push, pull-request and a remote dry-run work: a temporary clone of the remote.

With a URL ``--repo`` the remote is that URL; with a local ``--repo`` it is that
checkout's remote (its upstream's, else ``origin``) and the checkout itself is left
alone. The clone is shallow (``--depth 1``), blobless (``--filter=blob:none``) and sparse
on ``--path``, of the base branch tip. Every error leaves this module redacted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from updater import faults, forges, git, remote
from updater.deliver.local import checked_dir
from updater.deliver.model import DeliveryResult, Job
from updater.errors import DeliveryError, UpdaterError


@dataclass(frozen=True)
class Workspace:
    """A clone on the base branch's tip, and what it takes to talk to its remote."""

    checkout: git.Checkout
    base: str
    redact: remote.Redactor
    forge: forges.Forge | None  # opened (and its access checked) for pull-request only


Work = Callable[[Job, Workspace], DeliveryResult]


def on_remote(job: Job, work: Work) -> DeliveryResult:
    """Run ``work`` on a fresh clone of the job's remote, then remove the clone."""
    if remote.is_remote_url(job.request.repo):
        url, given, base = job.repo_url, job.given, job.options.branch
    else:
        url, given, base = _remote_of_checkout(job)
    redact = remote.Redactor()
    options = job.options
    auth = forges.git_credentials(
        url,
        given,
        forge=options.forge,
        api_url=options.api_url,
        token_env=options.token_env,
        redact=redact,
    )
    forge = None
    if job.request.mode == "pull-request":
        forge = forges.connect(
            url,
            forge=options.forge,
            api_url=options.api_url,
            project=options.project,
            token_env=options.token_env,
            redact=redact,
        )
    try:
        return _in_clone(job, work, url, auth, redact, forge, base)
    except UpdaterError as error:  # every message leaves redacted, whoever wrote it
        text = redact(str(error))
        if text == str(error):
            raise
        raise type(error)(text) from None


def dry_run_on_clone(job: Job, space: Workspace) -> DeliveryResult:
    return DeliveryResult(
        plan=job.make_plan(space.checkout.path), mode=job.request.mode, base=space.base
    )


def _remote_of_checkout(job: Job) -> tuple[str, tuple[str | None, str | None], str | None]:
    """(URL, credentials, base) of a local checkout's remote: the base is --branch, else
    the upstream's branch when the remote is the upstream's, else the current branch."""
    checkout = git.open_local(checked_dir(job.request.repo))
    upstream = git.upstream_of(checkout)
    remote_name = job.options.remote or (upstream[0] if upstream else "origin")
    url, user, secret = remote.split_credentials(git.remote_url(checkout, remote_name))
    base = job.options.branch
    if base is None and upstream and upstream[0] == remote_name:
        base = upstream[1]
    if base is None:
        base = checkout.current_branch()
    return url, (user, secret), base


def _in_clone(
    job: Job,
    work: Work,
    url: str,
    auth: remote.HttpAuth | None,
    redact: remote.Redactor,
    forge: forges.Forge | None,
    base: str | None,
) -> DeliveryResult:
    checkout = git.clone(url, branch=base, paths=job.request.paths, auth=auth, redact=redact)
    try:
        faults.point("cloned")
        base = base or checkout.current_branch()
        if not base:
            raise DeliveryError(
                f"{remote.redact_url(url)}: cannot tell its default branch; pass --branch"
            )
        return work(job, Workspace(checkout, base, redact, forge))
    finally:
        checkout.close()
