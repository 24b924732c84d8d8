"""Delivery modes: take a plan and turn it into a diff, written files, a commit, a push
or a pull request. Delivery never re-edits: on a race it asks for a fresh plan.

Where the work happens:
- ``--dry-run``: on ``--repo`` as it is (a directory), or on a cheap clone of a URL.
- ``--write``/``--commit``: on a local checkout only (a clone would be thrown away).
- ``--push``/``--pull-request``: always on a temporary clone of the remote, shallow
  (``--depth 1``), blobless (``--filter=blob:none``) and sparse on ``--path``, of the
  base branch tip. With a local ``--repo`` the remote is that checkout's remote
  (its upstream's, else ``origin``); the checkout itself is left alone.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from updater import faults, remote
from updater.edit.model import Plan
from updater.errors import DeliveryError, UpdaterError, UsageError

MakePlan = Callable[[Path], Plan]
MODES = ("dry-run", "write", "commit", "push", "pull-request")
BOT_BRANCH_PREFIX = "updater"


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
        from updater.forges import join_labels

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
        if values.get("merge_method", "merge") not in ("merge", "squash", "rebase"):
            raise UsageError("--merge-method: expected merge, squash or rebase")
        return cls(**values)


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
    branch: str | None = None  # the branch the commit is on (bot branch for PRs)
    pull_request_url: str | None = None
    pull_request_action: str | None = None  # created | updated | unchanged
    base: str | None = None  # the base branch pushed to / proposed against
    pull_request_number: int | None = None
    pushed: bool = False  # this run moved a remote branch
    attempts: int = 0  # push attempts (>1 after races)
    superseded: tuple[str, ...] = ()  # URLs of PRs/MRs closed as superseded
    left_alone: tuple[str, ...] = ()  # URLs of PRs/MRs seen but not the bot's own

    @property
    def changed(self) -> bool:
        return self.plan.changed

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
        }


def deliver(request: DeliveryRequest, make_plan: MakePlan) -> DeliveryResult:
    from updater import git

    if request.mode not in MODES:
        raise UsageError(f"unknown mode {request.mode!r}")
    options = DeliveryOptions.from_mapping(request.options)
    # Credentials given for the --repo URL (in it, or in UPDATER_REPO_CREDENTIALS) belong
    # to that URL alone; a local --repo takes none this way.
    repo_url, user, secret = remote.repo_credentials(request.repo)
    if remote.is_remote_url(request.repo):
        if request.mode in ("write", "commit"):
            shown = remote.redact_url(request.repo)
            raise UsageError(
                f"--{request.mode} needs a local --repo: a clone of {shown}"
                " would be thrown away (use --push or --pull-request)"
            )
        return _deliver_remote(
            repo_url, (user, secret), request, options, make_plan, base=options.branch
        )

    root = Path(request.repo)
    if not root.is_dir():
        raise UsageError(f"--repo {request.repo}: not a directory")
    if request.mode == "dry-run":
        return DeliveryResult(plan=make_plan(root), mode=request.mode)
    if request.mode == "write":
        from updater import local

        return DeliveryResult(plan=local.write(root, make_plan), mode=request.mode)
    if request.mode == "commit":
        return _commit_local(root, request, options, make_plan)
    checkout = git.open_local(root)
    upstream = git.upstream_of(checkout)
    remote_name = options.remote or (upstream[0] if upstream else "origin")
    url, user, secret = remote.split_credentials(git.remote_url(checkout, remote_name))
    base = options.branch
    if base is None and upstream and upstream[0] == remote_name:
        base = upstream[1]
    if base is None:
        base = checkout.current_branch()
    return _deliver_remote(url, (user, secret), request, options, make_plan, base=base)


# --------------------------------------------------------------------------- local commit


def _commit_local(
    root: Path, request: DeliveryRequest, options: DeliveryOptions, make_plan: MakePlan
) -> DeliveryResult:
    """Lock, recover, plan, write and commit in the checkout: see ``updater.local``."""
    from updater import local

    def spec_for(plan: Plan, branch: str | None) -> local.CommitSpec:
        message, author, committer = _commit_parts(plan, options, base=branch)
        return local.CommitSpec(message, author, committer, signoff=options.signoff)

    done = local.commit(root, make_plan, spec_for)
    return DeliveryResult(
        plan=done.plan,
        mode=request.mode,
        commit_sha=done.sha,
        branch=done.branch,
        base=done.branch,
        attempts=0,
    )


def _commit_parts(
    plan: Plan, options: DeliveryOptions, *, base: str | None
) -> tuple[str, Any, Any]:
    """(message, author, committer) of the commit for ``plan``."""
    from updater import git
    from updater.report import commit_message

    author = git.Identity.parse(options.author) if options.author else git.BOT_IDENTITY
    committer = git.Identity.parse(options.committer) if options.committer else author
    message = commit_message(plan, options.message, base=base, skip_ci=options.skip_ci)
    return message, author, committer


def _commit(
    checkout: Any, plan: Plan, files: list[str], options: DeliveryOptions, *, base: str | None
) -> str:
    message, author, committer = _commit_parts(plan, options, base=base)
    sha: str = checkout.commit(
        files, message, author=author, committer=committer, signoff=options.signoff
    )
    return sha


# --------------------------------------------------------------------------- remotes


def _http_auth(
    clean: str, given: tuple[str | None, str | None], options: DeliveryOptions, redact: Any
) -> tuple[str, remote.HttpAuth | None]:
    """(URL without credentials, HttpAuth or None) for git over HTTP(S): only a credential
    that belongs to the URL's host (see :class:`updater.remote.Trust`)."""
    user, secret = given
    redact.add(secret)
    trust = remote.Trust(forge=options.forge, api_url=options.api_url, token_env=options.token_env)
    auth, _ = remote.git_auth(clean, user, secret, trust)
    if auth is not None:
        for secret_text in auth.secrets():
            redact.add(secret_text)
    return clean, auth


def _deliver_remote(
    url: str,
    given: tuple[str | None, str | None],
    request: DeliveryRequest,
    options: DeliveryOptions,
    make_plan: MakePlan,
    *,
    base: str | None,
) -> DeliveryResult:

    redact = remote.Redactor()
    clean_url, auth = _http_auth(url, given, options, redact)
    forge = None
    if request.mode == "pull-request":
        forge = _open_forge(clean_url, options, redact)
    try:
        return _deliver_checkout(
            clean_url, auth, redact, forge, request, options, make_plan, base=base
        )
    except UpdaterError as error:  # every message leaves redacted, whoever wrote it
        text = redact(str(error))
        if text == str(error):
            raise
        clean = type(error)(text)
        raise clean from None


def _deliver_checkout(
    clean_url: str,
    auth: Any,
    redact: Any,
    forge: Any,
    request: DeliveryRequest,
    options: DeliveryOptions,
    make_plan: MakePlan,
    *,
    base: str | None,
) -> DeliveryResult:
    from updater import git

    checkout = git.clone(clean_url, branch=base, paths=request.paths, auth=auth, redact=redact)
    try:
        faults.point("cloned")
        base = base or checkout.current_branch()
        if not base:
            raise DeliveryError(
                f"{remote.redact_url(clean_url)}: cannot tell its default branch; pass --branch"
            )
        if request.mode == "dry-run":
            return DeliveryResult(plan=make_plan(checkout.path), mode=request.mode, base=base)
        if request.mode == "push":
            return _push(checkout, base, request, options, make_plan)
        assert forge is not None
        return _pull_request(checkout, base, forge, request, options, make_plan)
    finally:
        checkout.close()


def _open_forge(url: str, options: DeliveryOptions, redact: Any) -> Any:
    from updater import forges

    settings = forges.settings_for(
        url,
        forge=options.forge,
        api_url=options.api_url,
        project=options.project,
        token_env=options.token_env,
    )
    forge = forges.open_forge(settings, redact)
    forge.check_access()  # a bad token or project fails here, before anything is pushed
    return forge


def _backoff(attempt: int, options: DeliveryOptions) -> float:
    """Full jitter: uniform in [0, min(4 s, step * 2**attempt)], at least 10 ms."""
    ceiling = min(4.0, options.retry_delay * (2 ** max(0, attempt - 1)))
    return max(0.01, random.uniform(0, ceiling))


def _refused(
    action: str, branch: str, url: str, result: Any, stderr_hint: str = ""
) -> DeliveryError:
    return DeliveryError(f"{action} to {branch} of {url} refused: {result.message}{stderr_hint}")


def _push(
    checkout: Any,
    base: str,
    request: DeliveryRequest,
    options: DeliveryOptions,
    make_plan: MakePlan,
) -> DeliveryResult:
    """Commit on the tip of ``base`` and push; when the branch moved, fetch the new tip,
    plan again on it and retry, with jittered exponential backoff. Never forces."""
    from updater.writing import write_plan

    shown_url = remote.redact_url(checkout.url)
    attempt = 0
    while True:
        attempt += 1
        plan = make_plan(checkout.path)
        if not plan.changed:
            return DeliveryResult(
                plan=plan, mode=request.mode, branch=base, base=base, attempts=attempt - 1
            )
        files = write_plan(plan)  # real paths: a symlinked file is committed at its target
        sha = _commit(checkout, plan, files, options, base=base)
        result = checkout.push(sha, base)
        if result.ok:
            return DeliveryResult(
                plan=plan,
                mode=request.mode,
                commit_sha=sha,
                branch=base,
                base=base,
                pushed=True,
                attempts=attempt,
            )
        if not result.retryable:
            raise _refused("push", base, shown_url, result)
        if attempt > options.max_retries:
            raise DeliveryError(
                f"push to {base} of {shown_url} still rejected after {attempt} attempts:"
                f" the branch keeps moving ({result.reason}); nothing was pushed"
            )
        time.sleep(_backoff(attempt, options))
        tip = checkout.fetch(base)
        checkout.reset_hard(tip)  # drop our commit; the next plan runs on the new tip


# --------------------------------------------------------------------------- pull requests


def bot_branch(base: str, repositories: tuple[str, ...] | list[str]) -> str:
    """``updater/<base>/<slug>``: the same for the same base and image set, whatever the
    tags, so later runs update one branch and one PR."""
    from updater.reference import split_domain

    parts = []
    for repository in sorted(set(repositories)):
        _, path = split_domain(repository)
        path = path.removeprefix("library/")
        parts.append(re.sub(r"[^a-z0-9.]+", "-", path.lower()).strip("-.") or "image")
    slug = "_".join(parts)
    if len(slug) > 80:
        digest = hashlib.sha256("\n".join(sorted(set(repositories))).encode()).hexdigest()[:12]
        slug = f"{slug[:60].rstrip('-_.')}-{digest}"
    return f"{BOT_BRANCH_PREFIX}/{base}/{slug}"


def _pull_request(
    checkout: Any,
    base: str,
    forge: Any,
    request: DeliveryRequest,
    options: DeliveryOptions,
    make_plan: MakePlan,
) -> DeliveryResult:
    from updater.forges import ForgeError, ProposalSpec
    from updater.report import pull_request_body, pull_request_title
    from updater.writing import write_plan

    shown_url = remote.redact_url(checkout.url)
    base_sha = checkout.head()
    plan = make_plan(checkout.path)
    images = tuple(sorted({change.repository for change in plan.changes}))
    head = options.proposal_head or bot_branch(base, images)
    owner = _Ownership(forge, head)
    if not plan.changed:
        existing = owner.find_ours(base)
        return DeliveryResult(
            plan=plan,
            mode=request.mode,
            branch=head,
            base=base,
            pull_request_url=existing.url if existing else None,
            pull_request_number=existing.number if existing else None,
            pull_request_action="unchanged" if existing else None,
            left_alone=tuple(owner.left_alone),
        )
    files = write_plan(plan)  # real paths: a symlinked file is committed at its target
    sha = _commit(checkout, plan, files, options, base=base)
    tree, _ = checkout.tree_and_parents(sha)

    if options.proposal_text is not None:
        title, body = options.proposal_text(plan, base)
    else:
        title, body = pull_request_title(plan), pull_request_body(plan, base=base, images=images)
    spec = ProposalSpec(
        head=head,
        base=base,
        title=title,
        body=body,
        labels=options.labels,
        reviewers=options.reviewers,
        assignees=options.assignees,
        draft=options.draft,
        auto_merge=options.auto_merge,
        merge_method=options.merge_method,
    )

    # An existing PR is retitled *before* its branch moves: if the forge refuses, nothing
    # has changed anywhere; if the push then fails, the old title and body go back.
    existing = owner.find_ours(base)
    retitled = False
    if existing is not None:
        old_text = (existing.title, existing.body)
        retitled = forge.update(existing, spec)

    def undo_retitle() -> str:
        if not retitled:
            return ""
        try:
            forge.restore(existing, *old_text)
        except ForgeError:
            return f"; {existing.url} keeps the new title"
        return f"; {existing.url} was given its old title back"

    # Put our commit on the bot branch: only this branch is ever force-pushed, with a
    # lease on the tip we saw, and only when its content or its base differs.
    previous: str | None = None
    pushed = False
    attempt = 0
    try:
        while True:
            attempt += 1
            previous = checkout.remote_branches(head).get(head)
            if previous is not None:
                checkout.fetch(head)
                old_tree, old_parents = checkout.tree_and_parents(previous)
                if old_tree == tree and old_parents == (base_sha,):
                    sha = previous  # same change on the same base: nothing to push
                    break
            result = checkout.push(sha, head, lease=previous or "")
            if result.ok:
                pushed = True
                break
            if not result.retryable:
                raise _refused("push", head, shown_url, result)
            if attempt > options.max_retries:
                raise DeliveryError(
                    f"push to {head} of {shown_url} kept racing; gave up after {attempt} attempts"
                )
            time.sleep(_backoff(attempt, options))
    except UpdaterError as error:
        raise type(error)(f"{error}{undo_retitle()}") from None

    if existing is not None:
        proposal = existing
        decorated = forge.decorate(proposal, spec)
        action = "updated" if (pushed or retitled or decorated) else "unchanged"
    else:

        def undo_push() -> str:
            if not pushed:
                return ""
            if previous is None:
                undo = checkout.delete_remote_branch(head, lease=sha)
                if undo.ok:
                    return "; the bot branch was deleted again"
                return f"; bot branch {head} is left behind ({undo.message})"
            # A bot branch without an open PR (its PR was closed): it now carries the
            # current change, which the next run proposes again.
            return f"; bot branch {head} was updated but has no open pull request"

        raced = None
        try:
            proposal = forge.create(spec)
        except ForgeError as error:
            # A concurrent run for the same images may have opened it a moment ago.
            try:
                raced = owner.find_ours(base)
            except ForgeError:
                raced = None
            if raced is None:
                raise DeliveryError(f"{error}{undo_push()}") from None
        if raced is not None:
            proposal = raced
            forge.update(proposal, spec)
            forge.decorate(proposal, spec)
            action = "updated"
        else:
            action = "created"
        try:
            if raced is None:
                forge.decorate(proposal, spec)
        except ForgeError as error:
            try:
                forge.close(proposal, "setting it up failed")
            except ForgeError:
                raise DeliveryError(
                    f"{error}; {proposal.url} is open without its labels/reviewers"
                ) from None
            raise DeliveryError(f"{error}; {proposal.url} was closed again{undo_push()}") from None

    superseded: list[str] = []
    if options.close_superseded:
        superseded = _close_superseded(checkout, forge, owner, proposal, images, base, options)
    return DeliveryResult(
        plan=plan,
        mode=request.mode,
        commit_sha=sha,
        branch=head,
        base=base,
        pull_request_url=proposal.url,
        pull_request_number=proposal.number,
        pull_request_action=action,
        pushed=pushed,
        attempts=attempt,
        superseded=tuple(superseded),
        left_alone=tuple(dict.fromkeys(owner.left_alone)),
    )


class _Ownership:
    """Which PRs/MRs are the bot's own: head branch in the config repo (not a fork),
    opened by the token's own user, carrying the bot's marker. Anything else is
    reported and left alone; a stranger's PR from the bot's own branch stops the run
    before anything is pushed, since pushing would change their PR."""

    def __init__(self, forge: Any, head: str) -> None:
        self.forge = forge
        self.head = head
        self.left_alone: list[str] = []

    def why_not_ours(self, proposal: Any) -> str:
        from updater.forges import not_ours
        from updater.report import proposal_images

        # The token's user is asked only when there is a PR/MR to judge.
        me: str = self.forge.whoami()
        return not_ours(proposal, me, marked=proposal_images(proposal.body) is not None)

    def find_ours(self, base: str) -> Any:
        ours = None
        for proposal in self.forge.find_open(self.head, base):
            why = self.why_not_ours(proposal)
            if not why:
                ours = ours or proposal
                continue
            if proposal.same_repo:
                raise DeliveryError(
                    f"{proposal.url} is open from the bot branch {self.head} but is not the"
                    f" bot's: {why}. It is left alone and nothing was pushed; close it or move"
                    " it to another branch"
                )
            self.left_alone.append(proposal.url)
        return ours


def _close_superseded(
    checkout: Any,
    forge: Any,
    owner: _Ownership,
    proposal: Any,
    images: tuple[str, ...],
    base: str,
    options: DeliveryOptions,
) -> list[str]:
    """Close the bot's own open PRs/MRs whose images this one covers; delete a closed
    PR's branch only when it is in the config repo and its tip is the bot's commit."""
    from updater import git
    from updater.report import proposal_images

    committer = git.Identity.parse(options.committer or options.author or str(git.BOT_IDENTITY))
    closed: list[str] = []
    for other in forge.list_open(base, f"{BOT_BRANCH_PREFIX}/{base}/"):
        if other.head == owner.head and other.same_repo:
            continue
        if owner.why_not_ours(other):
            owner.left_alone.append(other.url)
            continue
        their_images = proposal_images(other.body)
        if not their_images or not set(their_images) <= set(images):
            continue
        forge.close(other, f"superseded by {proposal.url}")
        closed.append(other.url)
        tip = checkout.remote_branches(other.head).get(other.head)
        if tip and other.head != owner.head:
            checkout.fetch(other.head)
            if checkout.committer_email(tip) == committer.email:
                checkout.delete_remote_branch(other.head, lease=tip)
    return closed
