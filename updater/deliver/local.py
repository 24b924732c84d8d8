"""The modes that stay on the machine: dry-run, write and commit.

Dry-run on a local ``--repo`` plans on the directory as it is and loads no git and no
forge code; on a remote URL it plans on a cheap clone (see ``workspace``). Write and
commit work on a local checkout only: a clone would be thrown away.
"""

from __future__ import annotations

from pathlib import Path

from updater import local as in_checkout
from updater import remote
from updater.deliver.model import DeliveryResult, Job
from updater.edit.model import Plan
from updater.errors import UsageError


def local_root(job: Job) -> Path:
    """The local ``--repo`` directory; a remote URL is refused for write and commit."""
    request = job.request
    if remote.is_remote_url(request.repo):
        shown = remote.redact_url(request.repo)
        raise UsageError(
            f"--{request.mode} needs a local --repo: a clone of {shown}"
            " would be thrown away (use --push or --pull-request)"
        )
    return checked_dir(request.repo)


def checked_dir(repo: str) -> Path:
    root = Path(repo)
    if not root.is_dir():
        raise UsageError(f"--repo {repo}: not a directory")
    refuse_git_directory(repo)
    return root


def refuse_git_directory(repo: str) -> None:
    """Exit 2 for a bare repository or a ``.git`` directory: its files are in objects,
    so a walk would find no references (and git no work tree); name what works."""
    root = Path(repo)
    if not ((root / "HEAD").is_file() and (root / "objects").is_dir() and (root / "refs").is_dir()):
        return
    resolved = root.resolve()
    if resolved.name == ".git":
        raise UsageError(
            f"--repo {repo}: a git directory; give its work tree, --repo {resolved.parent}"
        )
    raise UsageError(
        f"--repo {repo}: a bare repository (no files to edit); to clone it, give its URL:"
        f" --repo {resolved.as_uri()}"
    )


def dry_run(job: Job) -> DeliveryResult:
    if remote.is_remote_url(job.request.repo):
        # Only a remote dry-run needs git: the import stays here so a local one never
        # loads it.
        from updater.deliver import workspace

        return workspace.on_remote(job, workspace.dry_run_on_clone)
    root = checked_dir(job.request.repo)
    return DeliveryResult(plan=job.make_plan(root), mode=job.request.mode)


def write(job: Job) -> DeliveryResult:
    root = local_root(job)
    return DeliveryResult(plan=in_checkout.write(root, job.make_plan), mode=job.request.mode)


def commit(job: Job) -> DeliveryResult:
    """Lock, recover, plan, write and commit in the checkout: see ``updater.local``."""
    from updater.deliver.commits import commit_parts

    root = local_root(job)
    options = job.options

    def spec_for(plan: Plan, branch: str | None) -> in_checkout.CommitSpec:
        message, author, committer = commit_parts(job, plan, base=branch)
        return in_checkout.CommitSpec(message, author, committer, signoff=options.signoff)

    done = in_checkout.commit(root, job.make_plan, spec_for)
    return DeliveryResult(
        plan=done.plan,
        mode=job.request.mode,
        commit_sha=done.sha,
        branch=done.branch,
        base=done.branch,
        attempts=0,
    )
