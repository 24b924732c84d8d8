"""``--pull-request``: the bot branch and the PR/MR lifecycle, as named steps.

1. plan on the base tip; nothing to change → report the bot's open PR, if any;
2. commit, and word the proposal;
3. retitle the bot's open PR *before* its branch moves (undo: the old title back);
4. put the commit on the bot branch: force-pushed with a lease on the tip seen, and only
   when its content or base differs (undo: delete a branch this run created);
5. open the PR (or adopt one a concurrent run just opened) and decorate it (undo: close);
6. close the bot's own PRs this one supersedes.

A step that fails runs the undo of the steps before it and says what it could not undo.
"""

from __future__ import annotations

from dataclasses import dataclass

from updater import remote
from updater.deliver.branch import BOT_BRANCH_PREFIX, bot_branch
from updater.deliver.commits import commit_plan
from updater.deliver.model import DeliveryResult, Job
from updater.deliver.options import DeliveryOptions
from updater.deliver.push import Attempt, until_pushed
from updater.deliver.workspace import Workspace, on_remote
from updater.edit.model import Plan
from updater.errors import DeliveryError, UpdaterError
from updater.forges import Forge, ForgeError, Proposal, ProposalSpec, not_ours
from updater.git import BOT_IDENTITY, Checkout, Identity
from updater.report import proposal_images, pull_request_body, pull_request_title
from updater.writing import write_plan


def run(job: Job) -> DeliveryResult:
    return on_remote(job, propose)


# --------------------------------------------------------------------------- ownership


class Ownership:
    """Which PRs/MRs are the bot's own: head branch in the config repo (not a fork),
    opened by the token's own user, carrying the bot's marker. Anything else is
    reported and left alone; a stranger's PR from the bot's own branch stops the run
    before anything is pushed, since pushing would change their PR."""

    def __init__(self, forge: Forge, head: str) -> None:
        self.forge = forge
        self.head = head
        self.left_alone: list[str] = []

    def why_not_ours(self, proposal: Proposal) -> str:
        # The token's user is asked only when there is a PR/MR to judge.
        me = self.forge.whoami()
        return not_ours(proposal, me, marked=proposal_images(proposal.body) is not None)

    def find_ours(self, base: str) -> Proposal | None:
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


# --------------------------------------------------------------------------- undo records


@dataclass
class Retitle:
    """Step 3: the open PR given the new title and body, and how to give the old back."""

    forge: Forge
    proposal: Proposal | None
    old_title: str = ""
    old_body: str = ""
    done: bool = False

    def undo(self) -> str:
        if not self.done or self.proposal is None:
            return ""
        try:
            self.forge.restore(self.proposal, self.old_title, self.old_body)
        except ForgeError:
            return f"; {self.proposal.url} keeps the new title"
        return f"; {self.proposal.url} was given its old title back"


@dataclass
class BranchPush:
    """Step 4: the bot branch as this run left it, and how to take a new one back."""

    checkout: Checkout
    head: str
    sha: str
    previous: str | None = None  # the branch's tip before this run (None: it was new)
    pushed: bool = False
    attempts: int = 0

    def undo(self) -> str:
        if not self.pushed:
            return ""
        if self.previous is None:
            undone = self.checkout.delete_remote_branch(self.head, lease=self.sha)
            if undone.ok:
                return "; the bot branch was deleted again"
            return f"; bot branch {self.head} is left behind ({undone.message})"
        # A bot branch without an open PR (its PR was closed): it now carries the
        # current change, which the next run proposes again.
        return f"; bot branch {self.head} was updated but has no open pull request"


# --------------------------------------------------------------------------- the flow


def propose(job: Job, space: Workspace) -> DeliveryResult:
    assert space.forge is not None  # the workspace opens the forge for pull-request
    checkout, base, forge = space.checkout, space.base, space.forge
    base_sha = checkout.head()
    plan = job.make_plan(checkout.path)
    images = tuple(sorted({change.repository for change in plan.changes}))
    head = job.options.proposal_head or bot_branch(base, images)
    owner = Ownership(forge, head)
    if not plan.changed:
        return _unchanged(job, base, plan, head, owner)

    files = write_plan(plan)  # real paths: a symlinked file is committed at its target
    sha = commit_plan(checkout, job, plan, files, base=base)
    spec = _spec(job.options, plan, head, base, images)

    existing = owner.find_ours(base)
    retitle = _retitle(forge, existing, spec)
    try:
        branch = _push_bot_branch(checkout, head, sha, base_sha, job.options)
    except UpdaterError as error:
        raise type(error)(f"{error}{retitle.undo()}") from None

    if existing is not None:
        proposal = existing
        decorated = forge.decorate(proposal, spec)
        changed = branch.pushed or retitle.done or decorated
        action = "updated" if changed else "unchanged"
    else:
        proposal, action = _open(forge, owner, spec, base, branch)

    superseded: list[str] = []
    if job.options.close_superseded:
        superseded = _close_superseded(checkout, owner, proposal, images, base, job.options)
    return DeliveryResult(
        plan=plan,
        mode=job.request.mode,
        commit_sha=branch.sha,
        branch=head,
        base=base,
        pull_request_url=proposal.url,
        pull_request_number=proposal.number,
        pull_request_action=action,
        pushed=branch.pushed,
        attempts=branch.attempts,
        superseded=tuple(superseded),
        left_alone=tuple(dict.fromkeys(owner.left_alone)),
    )


def _unchanged(job: Job, base: str, plan: Plan, head: str, owner: Ownership) -> DeliveryResult:
    """Step 1's short way out: nothing to change; the bot's open PR, if any, as it is."""
    existing = owner.find_ours(base)
    return DeliveryResult(
        plan=plan,
        mode=job.request.mode,
        branch=head,
        base=base,
        pull_request_url=existing.url if existing else None,
        pull_request_number=existing.number if existing else None,
        pull_request_action="unchanged" if existing else None,
        left_alone=tuple(owner.left_alone),
    )


def _spec(
    options: DeliveryOptions, plan: Plan, head: str, base: str, images: tuple[str, ...]
) -> ProposalSpec:
    if options.proposal_text is not None:
        title, body = options.proposal_text(plan, base)
    else:
        title, body = pull_request_title(plan), pull_request_body(plan, base=base, images=images)
    return ProposalSpec(
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


def _retitle(forge: Forge, existing: Proposal | None, spec: ProposalSpec) -> Retitle:
    """Step 3: if the forge refuses, nothing has changed anywhere yet."""
    if existing is None:
        return Retitle(forge, None)
    return Retitle(
        forge, existing, existing.title, existing.body, done=forge.update(existing, spec)
    )


def _push_bot_branch(
    checkout: Checkout, head: str, sha: str, base_sha: str, options: DeliveryOptions
) -> BranchPush:
    """Step 4: only the bot branch is ever force-pushed, with a lease on the tip we saw,
    and only when its content or its base differs."""
    tree, _ = checkout.tree_and_parents(sha)
    shown_url = remote.redact_url(checkout.url)
    state = BranchPush(checkout, head, sha)

    def attempt_once(_: int) -> Attempt[None]:
        state.previous = checkout.remote_branches(head).get(head)
        if state.previous is not None:
            checkout.fetch(head)
            old_tree, old_parents = checkout.tree_and_parents(state.previous)
            if old_tree == tree and old_parents == (base_sha,):
                state.sha = state.previous  # same change on the same base: nothing to push
                return Attempt(None, None)
        return Attempt(None, checkout.push(sha, head, lease=state.previous or ""))

    tried, state.attempts = until_pushed(
        attempt_once,
        branch=head,
        url=shown_url,
        options=options,
        gave_up=lambda n, _: (
            f"push to {head} of {shown_url} kept racing; gave up after {n} attempts"
        ),
    )
    state.pushed = tried.push is not None
    return state


def _open(
    forge: Forge, owner: Ownership, spec: ProposalSpec, base: str, branch: BranchPush
) -> tuple[Proposal, str]:
    """Step 5: open the PR, or adopt the one a concurrent run for the same images opened a
    moment ago; then decorate it. A failure closes what this run opened, and undoes the
    branch push."""
    try:
        proposal = forge.create(spec)
    except ForgeError as error:
        try:
            raced = owner.find_ours(base)
        except ForgeError:
            raced = None
        if raced is None:
            raise DeliveryError(f"{error}{branch.undo()}") from None
        forge.update(raced, spec)
        forge.decorate(raced, spec)
        return raced, "updated"
    try:
        forge.decorate(proposal, spec)
    except ForgeError as error:
        try:
            forge.close(proposal, "setting it up failed")
        except ForgeError:
            raise DeliveryError(
                f"{error}; {proposal.url} is open without its labels/reviewers"
            ) from None
        raise DeliveryError(f"{error}; {proposal.url} was closed again{branch.undo()}") from None
    return proposal, "created"


def _close_superseded(
    checkout: Checkout,
    owner: Ownership,
    proposal: Proposal,
    images: tuple[str, ...],
    base: str,
    options: DeliveryOptions,
) -> list[str]:
    """Step 6: close the bot's own open PRs/MRs whose images this one covers; delete a
    closed PR's branch only when it is in the config repo and its tip is the bot's commit."""
    committer = Identity.parse(options.committer or options.author or str(BOT_IDENTITY))
    closed: list[str] = []
    for other in owner.forge.list_open(base, f"{BOT_BRANCH_PREFIX}/{base}/"):
        if other.head == owner.head and other.same_repo:
            continue
        if owner.why_not_ours(other):
            owner.left_alone.append(other.url)
            continue
        their_images = proposal_images(other.body)
        if not their_images or not set(their_images) <= set(images):
            continue
        owner.forge.close(other, f"superseded by {proposal.url}")
        closed.append(other.url)
        tip = checkout.remote_branches(other.head).get(other.head)
        if tip and other.head != owner.head:
            checkout.fetch(other.head)
            if checkout.committer_email(tip) == committer.email:
                checkout.delete_remote_branch(other.head, lease=tip)
    return closed
