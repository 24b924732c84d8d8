"""GitLab (gitlab.com and self-managed) merge requests through python-gitlab.

REST calls used: GET /projects/:id, GET and POST /projects/:id/merge_requests,
PUT /projects/:id/merge_requests/:iid, PUT /projects/:id/merge_requests/:iid/merge
(``merge_when_pipeline_succeeds``/``auto_merge``: merge when the pipeline succeeds) and,
only for ``--reviewer``/``--assignee`` given as user names, GET /users?username=.
Draft merge requests are the ``Draft:`` title prefix.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from updater.forges import (
    ForgeError,
    ForgeSettings,
    Proposal,
    ProposalSpec,
    http_failure,
    unreachable,
)
from updater.remote import Redactor

T = TypeVar("T")
DRAFT_PREFIX = "Draft: "


class GitLabForge:
    name = "gitlab"

    def __init__(self, settings: ForgeSettings, redact: Redactor) -> None:
        import gitlab

        from updater.forges.http import SameOriginSession

        self.settings = settings
        self.redact = redact
        if settings.token:
            redact.add(settings.token)
        job = settings.token_variable == "CI_JOB_TOKEN"
        self.client = gitlab.Gitlab(
            settings.api_url,
            private_token=None if job else settings.token,
            job_token=settings.token if job else None,
            timeout=30,
            retry_transient_errors=False,
            user_agent="gitops-updater",
            session=SameOriginSession(settings.api_url),
            keep_base_url=True,  # next-page links rebased on the API we were given
        )
        self._project: Any = None
        self._user_ids: dict[str, int] = {}
        self._me: str | None = None

    def _call(self, action: str, func: Callable[[], T]) -> T:
        import gitlab
        import requests

        from updater.forges.http import OffOriginRequest, off_origin_message

        try:
            return func()
        except OffOriginRequest as error:
            raise ForgeError(
                self.redact(
                    off_origin_message("gitlab", action, self.settings.api_url, error.target)
                )
            ) from None
        except gitlab.exceptions.GitlabError as error:
            detail = str(error.error_message or "")
            if isinstance(error.error_message, dict):
                detail = "; ".join(f"{k}: {v}" for k, v in error.error_message.items())
            raise ForgeError(
                self.redact(http_failure("gitlab", action, error.response_code, detail[:300]))
            ) from None
        except requests.RequestException as error:
            raise ForgeError(
                self.redact(unreachable("gitlab", action, self.settings.api_url, error))
            ) from None

    @property
    def project(self) -> Any:
        if self._project is None:
            self._project = self._call(
                f"reading project {self.settings.project}",
                lambda: self.client.projects.get(self.settings.project),
            )
        return self._project

    # -- Forge protocol

    def check_access(self) -> None:
        permissions = getattr(self.project, "permissions", None) or {}
        levels: list[int] = []
        if isinstance(permissions, dict):
            for key in ("project_access", "group_access"):
                access = permissions.get(key) or {}
                levels.append(int(access.get("access_level") or 0))
        best = max(levels, default=0)
        if 0 < best < 30:
            raise ForgeError(
                f"gitlab: the token cannot push to {self.settings.project} (needs Developer role)"
            )

    def whoami(self) -> str:
        if self._me is None:
            if self.settings.token_variable == "CI_JOB_TOKEN":
                # A job token cannot read /user; it acts as the user who runs the job.
                self._me = os.environ.get("GITLAB_USER_LOGIN", "")
            else:

                def read() -> str:
                    self.client.auth()
                    user = self.client.user
                    return str(getattr(user, "username", "") or "")

                self._me = self._call("telling which user the token belongs to", read)
        return self._me

    def find_open(self, head: str, base: str) -> list[Proposal]:
        def search() -> list[Proposal]:
            # Forks' merge requests into this project are listed too: a fork's branch
            # may carry the bot branch's name.
            return [
                _proposal(mr, self.project.id)
                for mr in self.project.mergerequests.list(
                    state="opened", source_branch=head, target_branch=base, get_all=True
                )
                if mr.source_branch == head and mr.target_branch == base
            ]

        return self._call("listing merge requests", search)

    def list_open(self, base: str, head_prefix: str) -> list[Proposal]:
        def search() -> list[Proposal]:
            return [
                _proposal(mr, self.project.id)
                for mr in self.project.mergerequests.list(
                    state="opened", target_branch=base, get_all=True
                )
                if mr.source_branch.startswith(head_prefix)
            ]

        return self._call("listing merge requests", search)

    def create(self, spec: ProposalSpec) -> Proposal:
        data: dict[str, Any] = {
            "source_branch": spec.head,
            "target_branch": spec.base,
            "title": (DRAFT_PREFIX + spec.title) if spec.draft else spec.title,
            "description": spec.body,
            "remove_source_branch": True,
        }
        if spec.labels:
            data["labels"] = list(spec.labels)
        if spec.assignees:
            data["assignee_ids"] = self._ids(spec.assignees)
        if spec.reviewers:
            data["reviewer_ids"] = self._ids(spec.reviewers)
        mr = self._call(
            "creating the merge request", lambda: self.project.mergerequests.create(data)
        )
        return _proposal(mr, self.project.id)

    def update(self, proposal: Proposal, spec: ProposalSpec) -> bool:
        title = spec.title
        if proposal.draft and not title.startswith(DRAFT_PREFIX):
            title = DRAFT_PREFIX + title
        if proposal.title == title and proposal.body == spec.body:
            return False
        self._put(proposal, {"title": title, "description": spec.body}, "updating")
        proposal.title, proposal.body = title, spec.body
        return True

    def restore(self, proposal: Proposal, title: str, body: str) -> None:
        self._put(proposal, {"title": title, "description": body}, "restoring")
        proposal.title, proposal.body = title, body

    def decorate(self, proposal: Proposal, spec: ProposalSpec) -> bool:
        data: dict[str, Any] = {}
        labels = [x for x in spec.labels if x not in proposal.labels]
        if labels:
            data["add_labels"] = ",".join(labels)
        current_reviewers = _ids_of(proposal.raw, "reviewers")
        current_assignees = _ids_of(proposal.raw, "assignees")
        reviewers = [i for i in self._ids(spec.reviewers) if i not in current_reviewers]
        if reviewers:
            data["reviewer_ids"] = [*current_reviewers, *reviewers]
        assignees = [i for i in self._ids(spec.assignees) if i not in current_assignees]
        if assignees:
            data["assignee_ids"] = [*current_assignees, *assignees]
        changed = False
        if data:
            self._put(proposal, data, "updating")
            changed = True
        if spec.auto_merge and not proposal.auto_merge:
            path = f"{proposal.raw.manager.path}/{proposal.number}/merge"
            self._call(
                f"setting merge request !{proposal.number} to merge when the pipeline succeeds",
                lambda: self.client.http_put(
                    path, post_data={"merge_when_pipeline_succeeds": True, "auto_merge": True}
                ),
            )
            changed = True
        return changed

    def close(self, proposal: Proposal, reason: str) -> None:
        body = (proposal.body or "").rstrip() + f"\n\n---\nClosed by gitops-updater: {reason}\n"
        self._put(proposal, {"state_event": "close", "description": body}, "closing")

    # -- helpers

    def _put(self, proposal: Proposal, data: dict[str, Any], verb: str) -> None:
        manager = self.project.mergerequests
        self._call(
            f"{verb} merge request !{proposal.number}",
            lambda: manager.update(proposal.number, data),
        )

    def _ids(self, names: tuple[str, ...]) -> list[int]:
        ids = []
        for name in names:
            if name.isdigit():
                ids.append(int(name))
                continue
            if name not in self._user_ids:
                users = self._call(
                    f"looking up user {name}",
                    lambda n=name: self.client.users.list(username=n, get_all=False),  # type: ignore[misc]
                )
                if not users:
                    raise ForgeError(f"gitlab: no user named {name!r}")
                self._user_ids[name] = int(users[0].id)
            ids.append(self._user_ids[name])
        return ids


def _ids_of(mr: Any, key: str) -> list[int]:
    return [int(u["id"]) for u in (mr.attributes.get(key) or []) if "id" in u]


def _proposal(mr: Any, project_id: int) -> Proposal:
    attrs = mr.attributes
    source = attrs.get("source_project_id")
    title = attrs.get("title") or ""
    draft = bool(attrs.get("draft") or attrs.get("work_in_progress")) or title.startswith(
        DRAFT_PREFIX
    )
    return Proposal(
        number=int(attrs["iid"]),
        url=attrs.get("web_url") or "",
        head=attrs.get("source_branch") or "",
        base=attrs.get("target_branch") or "",
        title=title,
        body=attrs.get("description") or "",
        labels=tuple(attrs.get("labels") or ()),
        reviewers=tuple(str(u.get("username")) for u in attrs.get("reviewers") or ()),
        assignees=tuple(str(u.get("username")) for u in attrs.get("assignees") or ()),
        auto_merge=bool(attrs.get("merge_when_pipeline_succeeds")),
        draft=draft,
        author=str((attrs.get("author") or {}).get("username") or ""),
        same_repo=source is not None and int(source) == int(project_id),
        raw=mr,
    )
