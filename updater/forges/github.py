"""GitHub (and GitHub Enterprise Server) pull requests through PyGithub.

REST calls used (all in the GitHub REST description): GET /repos/{o}/{r}, GET and POST
/repos/{o}/{r}/pulls, PATCH /repos/{o}/{r}/pulls/{n}, POST /repos/{o}/{r}/issues/{n}/labels,
POST /repos/{o}/{r}/pulls/{n}/requested_reviewers, POST /repos/{o}/{r}/issues/{n}/assignees.
Auto-merge is GraphQL only (``enablePullRequestAutoMerge``), which PyGithub sends to
``/graphql`` (``/api/graphql`` on Enterprise).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any, TypeVar

from updater import deadline
from updater.forges import (
    ForgeError,
    ForgeSettings,
    Proposal,
    ProposalSpec,
    http_failure,
    unreachable,
)
from updater.forges.http import off_origin_message
from updater.remote import Redactor

T = TypeVar("T")


class GitHubForge:
    name = "github"

    def __init__(self, settings: ForgeSettings, redact: Redactor) -> None:
        import github
        from github import Auth

        self.settings = settings
        self.redact = redact
        if settings.token:
            redact.add(settings.token)
        if "/" not in settings.project:
            raise ForgeError(
                f"github: project {settings.project!r} is not OWNER/NAME (use --project)"
            )
        self.owner = settings.project.split("/", 1)[0]
        interval = float(os.environ.get("UPDATER_FORGE_WRITE_INTERVAL", "1.0"))
        self.client = github.Github(
            base_url=settings.api_url,
            auth=Auth.Token(settings.token or ""),
            timeout=max(1, int(deadline.cap(30.0, "github"))),  # per request, within the run's
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=interval or None,
            user_agent="gitops-updater",
        )
        self._repo: Any = None
        self._me: str | None = None

    # -- error mapping

    def _call(self, action: str, func: Callable[[], T]) -> T:
        import github
        import requests

        try:
            return func()
        except github.GithubException as error:
            detail = _github_detail(error.data)
            raise ForgeError(
                self.redact(http_failure("github", action, error.status, detail))
            ) from None
        except requests.RequestException as error:
            raise ForgeError(
                self.redact(unreachable("github", action, self.settings.api_url, error))
            ) from None
        except (RuntimeError, AssertionError) as error:
            # PyGithub's own refusals: a redirect to another host or scheme (RuntimeError),
            # a next-page link to another host (an assert in its URL check).
            raise ForgeError(
                self.redact(
                    off_origin_message("github", action, self.settings.api_url, _target_of(error))
                )
            ) from None

    @property
    def repo(self) -> Any:
        if self._repo is None:
            self._repo = self._call(
                f"reading repository {self.settings.project}",
                lambda: self.client.get_repo(self.settings.project),
            )
        return self._repo

    # -- Forge protocol

    def check_access(self) -> None:
        repo = self.repo
        if not repo.raw_data.get("full_name"):
            # PyGithub takes any non-error answer as the repository, a 302 included.
            raise ForgeError(
                f"github: reading repository {self.settings.project} failed: the API answered"
                " without a repository (a redirect?); check --api-url"
            )
        permissions = repo.raw_data.get("permissions") or {}
        if permissions and not (permissions.get("push") or permissions.get("admin")):
            raise ForgeError(
                f"github: the token cannot push to {self.settings.project}"
                " (needs contents and pull-requests write)"
            )

    def whoami(self) -> str:
        if self._me is None:
            action = "telling which user the token belongs to (GET /user)"
            try:
                self._me = self._call(action, lambda: str(self.client.get_user().login))
            except ForgeError as error:
                # An Actions GITHUB_TOKEN (an app installation token) cannot read /user;
                # what it opens is authored by the Actions bot.
                if "(HTTP 403)" not in str(error) or os.environ.get("GITHUB_ACTIONS") != "true":
                    raise
                self._me = "github-actions[bot]"
        return self._me

    def find_open(self, head: str, base: str) -> list[Proposal]:
        def search() -> list[Proposal]:
            # ``head=OWNER:BRANCH`` already leaves out forks owned by someone else.
            pulls = self.repo.get_pulls(state="open", head=f"{self.owner}:{head}", base=base)
            return [_proposal(pr) for pr in pulls if pr.head.ref == head and pr.base.ref == base]

        return self._call("listing pull requests", search)

    def list_open(self, base: str, head_prefix: str) -> list[Proposal]:
        def search() -> list[Proposal]:
            return [
                _proposal(pr)
                for pr in self.repo.get_pulls(state="open", base=base)
                if pr.head.ref.startswith(head_prefix)
            ]

        return self._call("listing pull requests", search)

    def create(self, spec: ProposalSpec) -> Proposal:
        pr = self._call(
            "creating the pull request",
            lambda: self.repo.create_pull(
                base=spec.base, head=spec.head, title=spec.title, body=spec.body, draft=spec.draft
            ),
        )
        return _proposal(pr)

    def update(self, proposal: Proposal, spec: ProposalSpec) -> bool:
        if proposal.title == spec.title and proposal.body == spec.body:
            return False
        pr = proposal.raw
        self._call(
            f"updating pull request #{proposal.number}",
            lambda: pr.edit(title=spec.title, body=spec.body),
        )
        proposal.title, proposal.body = spec.title, spec.body
        return True

    def restore(self, proposal: Proposal, title: str, body: str) -> None:
        pr = proposal.raw
        self._call(
            f"restoring pull request #{proposal.number}", lambda: pr.edit(title=title, body=body)
        )
        proposal.title, proposal.body = title, body

    def decorate(self, proposal: Proposal, spec: ProposalSpec) -> bool:
        pr = proposal.raw
        changed = False
        labels = [x for x in spec.labels if x not in proposal.labels]
        if labels:
            self._call("adding labels", lambda: pr.add_to_labels(*labels))
            changed = True
        missing = [x for x in spec.reviewers if x not in proposal.reviewers]
        users = [x for x in missing if "/" not in x]
        teams = [x.split("/", 1)[1] for x in missing if "/" in x]
        if users or teams:
            wanted: dict[str, list[str]] = {}  # PyGithub wants a list or nothing, not None
            if users:
                wanted["reviewers"] = users
            if teams:
                wanted["team_reviewers"] = teams
            self._call("requesting reviewers", lambda: pr.create_review_request(**wanted))
            changed = True
        assignees = [x for x in spec.assignees if x not in proposal.assignees]
        if assignees:
            self._call("adding assignees", lambda: pr.add_to_assignees(*assignees))
            changed = True
        if spec.auto_merge and not proposal.auto_merge:
            method = spec.merge_method.upper()
            self._call("enabling auto-merge", lambda: pr.enable_automerge(merge_method=method))
            changed = True
        return changed

    def close(self, proposal: Proposal, reason: str) -> None:
        pr = proposal.raw
        body = (proposal.body or "").rstrip() + f"\n\n---\nClosed by gitops-updater: {reason}\n"
        self._call(
            f"closing pull request #{proposal.number}", lambda: pr.edit(state="closed", body=body)
        )


def _target_of(error: Exception) -> str:
    text = str(error)
    match = re.search(r"redirected (?:from host \S+ to|to) (\S+?),?(?:\s|$)", text)
    if match:
        return match[1]
    return text.split(",")[0][:100] or "another host"


def _proposal(pr: Any) -> Proposal:
    raw = pr.raw_data
    reviewers = tuple(u["login"] for u in raw.get("requested_reviewers") or ()) + tuple(
        f"{raw['base']['repo']['owner']['login']}/{t['slug']}"
        for t in raw.get("requested_teams") or ()
    )
    return Proposal(
        number=pr.number,
        url=pr.html_url,
        head=pr.head.ref,
        base=pr.base.ref,
        title=pr.title or "",
        body=pr.body or "",
        labels=tuple(label["name"] for label in raw.get("labels") or ()),
        reviewers=reviewers,
        assignees=tuple(u["login"] for u in raw.get("assignees") or ()),
        auto_merge=bool(raw.get("auto_merge")),
        draft=bool(raw.get("draft")),
        author=str((raw.get("user") or {}).get("login") or ""),
        same_repo=_same_repo(raw),
        raw=pr,
    )


def _same_repo(raw: dict[str, Any]) -> bool:
    """The head branch lives in the base repository (a deleted fork has no head repo)."""
    head = (raw.get("head") or {}).get("repo") or {}
    base = (raw.get("base") or {}).get("repo") or {}
    name = str(head.get("full_name") or "").lower()
    return bool(name) and name == str(base.get("full_name") or "").lower()


def _github_detail(data: Any) -> str:
    if not isinstance(data, dict):
        return str(data or "")[:200]
    message = str(data.get("message") or "")
    errors = data.get("errors") or []
    notes = []
    for item in errors if isinstance(errors, list) else []:
        if isinstance(item, dict):
            notes.append(str(item.get("message") or item.get("code") or ""))
        else:
            notes.append(str(item))
    notes = [n for n in notes if n]
    return f"{message} ({'; '.join(notes)})" if notes else message
