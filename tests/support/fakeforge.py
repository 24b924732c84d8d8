"""A loopback GitHub + GitLab for PyGithub and python-gitlab, over real HTTP.

Honest by construction:
- every request is recorded (method, path, query, headers, JSON body, status);
- request bodies are validated against the official descriptions in ../shared/schemas
  (GitHub's OpenAPI, GitLab's Swagger); an invalid body gets the forge's 422/400;
- responses are built from the description's response schema (every required field)
  and overlaid with the fake's state; tests validate them against the same schema;
- a PR/MR can only be opened from a branch that exists in the backing git remote;
- listings come newest first and in pages, as the real APIs send them (GitHub: ``Link``
  next; GitLab: ``X-Next-Page``, ``X-Total-Pages`` and ``Link``), every next link keeping
  the request's filters; ``page_size`` makes the pages small.

Two calls outside the stored subsets are implemented and marked as such: GitHub's
``POST /graphql`` (``enablePullRequestAutoMerge``, which PyGithub sends for auto-merge)
and GitLab's ``PUT .../merge_requests/:iid/merge`` (merge when pipeline succeeds) and
``GET /users?username=``.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from tests.support import forge_schemas

Response = tuple[int, Any, dict[str, str]]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 0
    response: Any = None
    schema_path: str | None = None  # the description's path template, if any

    def __repr__(self) -> str:
        return f"{self.method} {self.path} {self.query or ''} -> {self.status}"


@dataclass
class Failure:
    method: str
    pattern: str
    status: int
    body: Any
    times: int
    location: str | None = None  # a redirect: the base URL to send the client to


class HttpError(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _branch_sha(git_dir: Path | None, branch: str) -> str | None:
    if git_dir is None:
        return "0" * 40
    result = subprocess.run(
        [
            "git",
            "--git-dir",
            str(git_dir),
            "rev-parse",
            "--verify",
            "--quiet",
            f"refs/heads/{branch}",
        ],
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() or None


# =========================================================================== GitHub


@dataclass
class GitHubPull:
    number: int
    title: str
    body: str
    head: str
    base: str
    draft: bool
    state: str = "open"
    labels: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    auto_merge: dict[str, Any] | None = None
    author: str | None = None  # who opened it (None: the token's user)
    fork: str | None = None  # owner of the fork its head branch lives in (None: same repo)

    @property
    def node_id(self) -> str:
        return base64.b64encode(f"PullRequest:{self.number}".encode()).decode()


class GitHubState:
    def __init__(self, owner: str, name: str, git_dir: Path | None, default_branch: str) -> None:
        self.owner = owner
        self.name = name
        self.git_dir = git_dir
        self.default_branch = default_branch
        self.pulls: dict[int, GitHubPull] = {}
        self.next_number = 1
        self.push_permission = True


def _user(login: str, root: str) -> dict[str, Any]:
    value = forge_schemas.synthesize(
        forge_schemas.GITHUB, {"$ref": "#/components/schemas/simple-user"}
    )
    value.update(
        login=login,
        id=abs(hash(login)) % 10**6,
        node_id=f"U_{login}",
        type="User",
        url=f"{root}/users/{login}",
        html_url=f"{root}/{login}",
    )
    return dict(value)


class GitHubFake:
    """Implements the operations of github-rest-subset.json that gitops-updater uses."""

    login = "gitops-bot"

    def __init__(self, server: FakeForgeServer) -> None:
        self.server = server
        self.repos: dict[str, GitHubState] = {}

    def open_pull(
        self,
        full_name: str,
        head: str,
        *,
        base: str = "main",
        title: str = "someone's change",
        body: str = "",
        author: str | None = None,
        fork: str | None = None,
    ) -> GitHubPull:
        """Seed an open pull request as another user, or from a fork, would open it."""
        state = self.repos[full_name]
        pr = GitHubPull(state.next_number, title, body, head, base, False)
        pr.author, pr.fork = author, fork
        state.pulls[pr.number] = pr
        state.next_number += 1
        return pr

    def add_repo(
        self, full_name: str, *, git_dir: Path | None = None, default_branch: str = "main"
    ) -> GitHubState:
        owner, name = full_name.split("/")
        state = GitHubState(owner, name, git_dir, default_branch)
        self.repos[full_name] = state
        return state

    # -- rendering

    def _repo_json(
        self, state: GitHubState, schema_ref: str = "full-repository", owner: str | None = None
    ) -> dict[str, Any]:
        """The repository; with ``owner``, that owner's fork of it."""
        root = self.server.url
        fork_of = owner is not None and owner != state.owner
        owner = owner or state.owner
        value = forge_schemas.synthesize(
            forge_schemas.GITHUB, {"$ref": f"#/components/schemas/{schema_ref}"}
        )
        value.update(
            id=1000,
            node_id="R_1",
            name=state.name,
            full_name=f"{owner}/{state.name}",
            owner=_user(owner, root),
            private=True,
            fork=fork_of,
            html_url=f"{root}/{owner}/{state.name}",
            url=f"{root}/repos/{owner}/{state.name}",
            default_branch=state.default_branch,
            permissions={
                "admin": False,
                "maintain": False,
                "push": state.push_permission,
                "triage": True,
                "pull": True,
            },
        )
        return dict(value)

    def _label(self, name: str) -> dict[str, Any]:
        value = forge_schemas.synthesize(
            forge_schemas.GITHUB, {"$ref": "#/components/schemas/label"}
        )
        value.update(
            id=abs(hash(name)) % 10**6,
            node_id=f"L_{name}",
            name=name,
            color="ededed",
            url=f"{self.server.url}/labels/{name}",
            default=False,
        )
        return dict(value)

    def _team(self, state: GitHubState, slug: str) -> dict[str, Any]:
        value = forge_schemas.synthesize(
            forge_schemas.GITHUB, {"$ref": "#/components/schemas/team"}
        )
        value.update(
            id=abs(hash(slug)) % 10**6,
            node_id=f"T_{slug}",
            name=slug,
            slug=slug,
            url=f"{self.server.url}/orgs/{state.owner}/teams/{slug}",
        )
        return dict(value)

    def _pull_json(
        self, state: GitHubState, pr: GitHubPull, schema_ref: str = "pull-request"
    ) -> dict[str, Any]:
        root = self.server.url
        value = forge_schemas.synthesize(
            forge_schemas.GITHUB, {"$ref": f"#/components/schemas/{schema_ref}"}
        )
        repo = self._repo_json(state, "repository")
        head_sha = _branch_sha(state.git_dir, pr.head) or "0" * 40
        base_sha = _branch_sha(state.git_dir, pr.base) or "0" * 40
        api = f"{root}/repos/{state.owner}/{state.name}"
        value.update(
            url=f"{api}/pulls/{pr.number}",
            id=pr.number + 5000,
            node_id=pr.node_id,
            issue_url=f"{api}/issues/{pr.number}",
            comments_url=f"{api}/issues/{pr.number}/comments",
            commits_url=f"{api}/pulls/{pr.number}/commits",
            review_comments_url=f"{api}/pulls/{pr.number}/comments",
            review_comment_url=f"{api}/pulls/comments{{/number}}",
            statuses_url=f"{api}/statuses/{head_sha}",
            diff_url=f"{root}/{state.owner}/{state.name}/pull/{pr.number}.diff",
            patch_url=f"{root}/{state.owner}/{state.name}/pull/{pr.number}.patch",
            html_url=f"{root}/{state.owner}/{state.name}/pull/{pr.number}",
            number=pr.number,
            state=pr.state,
            title=pr.title,
            body=pr.body,
            draft=pr.draft,
            locked=False,
            user=_user(pr.author or self.login, root),
            labels=[self._label(x) for x in pr.labels],
            assignees=[_user(x, root) for x in pr.assignees],
            assignee=_user(pr.assignees[0], root) if pr.assignees else None,
            requested_reviewers=[_user(x, root) for x in pr.reviewers],
            requested_teams=[self._team(state, x) for x in pr.teams],
            auto_merge=pr.auto_merge,
            head={
                **value.get("head", {}),
                "ref": pr.head,
                "sha": head_sha if pr.fork is None else "f" * 40,
                "label": f"{pr.fork or state.owner}:{pr.head}",
                "repo": repo if pr.fork is None else self._repo_json(state, "repository", pr.fork),
                "user": _user(pr.fork or state.owner, root),
            },
            base={
                **value.get("base", {}),
                "ref": pr.base,
                "sha": base_sha,
                "label": f"{state.owner}:{pr.base}",
                "repo": repo,
                "user": _user(state.owner, root),
            },
            merged=False,
            mergeable=True,
            merged_at=None,
            closed_at=None,
            created_at="2026-01-01T00:00:00Z",
            updated_at="2026-01-01T00:00:00Z",
        )
        return dict(value)

    # -- routing

    ROUTES = (
        ("GET", r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)", "/repos/{owner}/{repo}", "get_repo"),
        (
            "GET",
            r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/pulls",
            "/repos/{owner}/{repo}/pulls",
            "list_pulls",
        ),
        (
            "POST",
            r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/pulls",
            "/repos/{owner}/{repo}/pulls",
            "create_pull",
        ),
        (
            "GET",
            r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/pulls/(?P<n>\d+)",
            "/repos/{owner}/{repo}/pulls/{pull_number}",
            "get_pull",
        ),
        (
            "PATCH",
            r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/pulls/(?P<n>\d+)",
            "/repos/{owner}/{repo}/pulls/{pull_number}",
            "patch_pull",
        ),
        (
            "POST",
            r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/issues/(?P<n>\d+)/labels",
            "/repos/{owner}/{repo}/issues/{issue_number}/labels",
            "add_labels",
        ),
        (
            "POST",
            r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/pulls/(?P<n>\d+)/requested_reviewers",
            "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
            "request_reviewers",
        ),
        (
            "POST",
            r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/issues/(?P<n>\d+)/assignees",
            "/repos/{owner}/{repo}/issues/{issue_number}/assignees",
            "add_assignees",
        ),
        ("GET", r"/user", "/user", "get_user"),
        ("POST", r"/graphql", None, "graphql"),
    )

    def handle(self, record: Recorded) -> Response:
        auth = record.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() not in ("token", "bearer") or token != self.server.token:
            raise HttpError(
                401,
                {
                    "message": "Bad credentials",
                    "documentation_url": "https://docs.github.com/rest",
                    "status": "401",
                },
            )
        for method, pattern, template, action in self.ROUTES:
            match = re.fullmatch(pattern, record.path)
            if method == record.method and match:
                record.schema_path = template
                if template is not None:
                    body_schema = forge_schemas.github_request_schema(method, template)
                    if body_schema is not None:
                        problems = forge_schemas.errors(
                            forge_schemas.GITHUB, body_schema, record.body
                        )
                        if problems:
                            raise HttpError(
                                422,
                                {
                                    "message": "Invalid request.\n\n" + "; ".join(problems),
                                    "documentation_url": "https://docs.github.com/rest",
                                },
                            )
                result: Response = getattr(self, action)(record, **match.groupdict())
                return result
        raise HttpError(
            404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        )

    def _state(self, owner: str, repo: str) -> GitHubState:
        state = self.repos.get(f"{owner}/{repo}")
        if state is None:
            raise HttpError(
                404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
            )
        return state

    def _pull(self, state: GitHubState, n: str) -> GitHubPull:
        pr = state.pulls.get(int(n))
        if pr is None:
            raise HttpError(404, {"message": "Not Found"})
        return pr

    def get_repo(self, record: Recorded, owner: str, repo: str) -> Response:
        return 200, self._repo_json(self._state(owner, repo)), {}

    def get_user(self, record: Recorded) -> Response:
        value = forge_schemas.synthesize(
            forge_schemas.GITHUB, {"$ref": "#/components/schemas/public-user"}
        )
        value.update(_user(self.login, self.server.url))
        return 200, value, {}

    def list_pulls(self, record: Recorded, owner: str, repo: str) -> Response:
        state = self._state(owner, repo)
        q = record.query
        wanted_state = q.get("state", "open")
        pulls = [
            p for p in state.pulls.values() if wanted_state == "all" or p.state == wanted_state
        ]
        if "head" in q:
            head_owner, _, head_ref = q["head"].partition(":")
            pulls = [
                p for p in pulls if head_owner == (p.fork or state.owner) and p.head == head_ref
            ]
        if "base" in q:
            pulls = [p for p in pulls if p.base == q["base"]]
        # GitHub: newest first unless asked otherwise (sort=created, direction=desc).
        if q.get("sort", "created") != "created":
            raise HttpError(422, {"message": f"the fake orders by created only: {q['sort']}"})
        pulls.sort(key=lambda p: p.number, reverse=q.get("direction", "desc") == "desc")
        # GitHub: 30 a page unless per_page (at most 100) says otherwise; the fake's
        # page_size makes pages smaller so that tests cross page boundaries.
        per_page = min(int(q.get("per_page", 30)), 100, self.server.page_size)
        page = int(q.get("page", 1))
        chunk = pulls[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(pulls):
            # Like GitHub, the next link repeats every filter of the request.
            query = urlencode({**q, "page": str(page + 1)})
            nxt = f"{self.server.url}{record.path}?{query}"
            headers["Link"] = f'<{nxt}>; rel="next"'
        return 200, [self._pull_json(state, p, "pull-request-simple") for p in chunk], headers

    def create_pull(self, record: Recorded, owner: str, repo: str) -> Response:
        state = self._state(owner, repo)
        body = record.body
        head = body["head"].split(":", 1)[-1]
        if _branch_sha(state.git_dir, head) is None:
            raise HttpError(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
                    "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
                },
            )
        if _branch_sha(state.git_dir, body["base"]) is None:
            raise HttpError(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "PullRequest", "field": "base", "code": "invalid"}],
                },
            )
        for pr in state.pulls.values():
            same = pr.fork is None  # a fork's same-named branch is another branch
            if same and pr.state == "open" and pr.head == head and pr.base == body["base"]:
                raise HttpError(
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [
                            {
                                "resource": "PullRequest",
                                "code": "custom",
                                "message": f"A pull request already exists for {owner}:{head}.",
                            }
                        ],
                    },
                )
        pr = GitHubPull(
            state.next_number,
            body.get("title", ""),
            body.get("body") or "",
            head,
            body["base"],
            bool(body.get("draft")),
        )
        state.pulls[pr.number] = pr
        state.next_number += 1
        return 201, self._pull_json(state, pr), {}

    def get_pull(self, record: Recorded, owner: str, repo: str, n: str) -> Response:
        state = self._state(owner, repo)
        return 200, self._pull_json(state, self._pull(state, n)), {}

    def patch_pull(self, record: Recorded, owner: str, repo: str, n: str) -> Response:
        state = self._state(owner, repo)
        pr = self._pull(state, n)
        body = record.body or {}
        if "title" in body:
            pr.title = body["title"]
        if "body" in body:
            pr.body = body["body"]
        if "state" in body:
            pr.state = body["state"]
        if "base" in body:
            pr.base = body["base"]
        return 200, self._pull_json(state, pr), {}

    def add_labels(self, record: Recorded, owner: str, repo: str, n: str) -> Response:
        state = self._state(owner, repo)
        pr = self._pull(state, n)
        body = record.body
        items = body.get("labels", []) if isinstance(body, dict) else body
        for item in items:
            label = item["name"] if isinstance(item, dict) else item
            if label not in pr.labels:
                pr.labels.append(label)
        return 200, [self._label(x) for x in pr.labels], {}

    def request_reviewers(self, record: Recorded, owner: str, repo: str, n: str) -> Response:
        state = self._state(owner, repo)
        pr = self._pull(state, n)
        for login in record.body.get("reviewers", []):
            if login not in pr.reviewers:
                pr.reviewers.append(login)
        for slug in record.body.get("team_reviewers", []):
            if slug not in pr.teams:
                pr.teams.append(slug)
        return 201, self._pull_json(state, pr, "pull-request-simple"), {}

    def add_assignees(self, record: Recorded, owner: str, repo: str, n: str) -> Response:
        state = self._state(owner, repo)
        pr = self._pull(state, n)
        for item in record.body.get("assignees", []):
            login = item["login"] if isinstance(item, dict) else item
            if login not in pr.assignees:
                pr.assignees.append(login)
        value = forge_schemas.synthesize(
            forge_schemas.GITHUB, {"$ref": "#/components/schemas/issue"}
        )
        root = self.server.url
        value.update(
            id=pr.number + 5000,
            node_id=f"I_{pr.number}",
            number=pr.number,
            title=pr.title,
            body=pr.body,
            state=pr.state,
            url=f"{root}/repos/{owner}/{repo}/issues/{pr.number}",
            html_url=f"{root}/{owner}/{repo}/pull/{pr.number}",
            assignees=[_user(x, root) for x in pr.assignees],
            labels=[self._label(x) for x in pr.labels],
            user=_user(self.login, root),
        )
        return 201, value, {}

    def graphql(self, record: Recorded) -> Response:
        """Not in the REST subset: GraphQL ``enablePullRequestAutoMerge`` (what PyGithub
        sends for ``PullRequest.enable_automerge``)."""
        query = str(record.body.get("query", ""))
        variables = record.body.get("variables") or {}
        match = re.search(r"\b(enablePullRequestAutoMerge)\(input: \$input\)", query)
        if not match:
            return 200, {"errors": [{"message": "unsupported query in the fake"}]}, {}
        data = variables.get("input") or {}
        for state in self.repos.values():
            for pr in state.pulls.values():
                if pr.node_id == data.get("pullRequestId"):
                    pr.auto_merge = {
                        "enabled_by": _user(self.login, self.server.url),
                        "merge_method": str(data.get("mergeMethod", "MERGE")).lower(),
                        "commit_title": pr.title,
                        "commit_message": "",
                    }
                    actor = {
                        "avatarUrl": "",
                        "login": self.login,
                        "resourcePath": "/" + self.login,
                        "url": f"{self.server.url}/{self.login}",
                    }
                    return (
                        200,
                        {
                            "data": {
                                "enablePullRequestAutoMerge": {
                                    "actor": actor,
                                    "clientMutationId": None,
                                }
                            }
                        },
                        {},
                    )
        return (
            200,
            {"errors": [{"type": "NOT_FOUND", "message": "Could not resolve to a node"}]},
            {},
        )


# =========================================================================== GitLab


@dataclass
class GitLabMR:
    iid: int
    title: str
    description: str
    source_branch: str
    target_branch: str
    state: str = "opened"
    labels: list[str] = field(default_factory=list)
    assignee_ids: list[int] = field(default_factory=list)
    reviewer_ids: list[int] = field(default_factory=list)
    merge_when_pipeline_succeeds: bool = False
    remove_source_branch: bool = False
    author_id: int = 100  # the token's user (gitops-bot) unless seeded otherwise
    source_project_id: int | None = None  # a fork's project id (None: the project itself)


class GitLabState:
    def __init__(self, path: str, git_dir: Path | None, default_branch: str) -> None:
        self.path = path
        self.id = 42
        self.git_dir = git_dir
        self.default_branch = default_branch
        self.mrs: dict[int, GitLabMR] = {}
        self.next_iid = 1
        self.access_level = 40


def _split_list(value: Any) -> Any:
    """GitLab accepts comma-separated strings for its array parameters."""
    if isinstance(value, str):
        return [x.strip() for x in value.split(",") if x.strip()]
    return value


class GitLabFake:
    """Implements the operations of gitlab-rest-subset.json that gitops-updater uses."""

    users: ClassVar[dict[str, int]] = {"alice": 101, "bob": 102, "carol": 103, "gitops-bot": 100}

    def __init__(self, server: FakeForgeServer) -> None:
        self.server = server
        self.projects: dict[str, GitLabState] = {}

    def add_project(
        self, path: str, *, git_dir: Path | None = None, default_branch: str = "main"
    ) -> GitLabState:
        state = GitLabState(path, git_dir, default_branch)
        state.id = 40 + len(self.projects) + 2
        self.projects[path] = state
        return state

    def open_mr(
        self,
        path: str,
        source_branch: str,
        *,
        target_branch: str = "main",
        title: str = "someone's change",
        description: str = "",
        author: str = "gitops-bot",
        fork_project_id: int | None = None,
    ) -> GitLabMR:
        """Seed an open merge request as another user, or a fork, would open it."""
        state = self.projects[path]
        mr = GitLabMR(state.next_iid, title, description, source_branch, target_branch)
        mr.author_id = self.users[author]
        mr.source_project_id = fork_project_id
        state.mrs[mr.iid] = mr
        state.next_iid += 1
        return mr

    def _user(self, uid: int) -> dict[str, Any]:
        name = next((n for n, i in self.users.items() if i == uid), f"user{uid}")
        return {
            "id": uid,
            "username": name,
            "name": name.title(),
            "state": "active",
            "avatar_url": None,
            "web_url": f"{self.server.url}/{name}",
        }

    def _mr_json(self, state: GitLabState, mr: GitLabMR) -> dict[str, Any]:
        value = forge_schemas.synthesize(
            forge_schemas.GITLAB, {"$ref": "#/definitions/API_Entities_MergeRequest"}
        )
        value.update(
            id=mr.iid + 9000,
            iid=mr.iid,
            project_id=state.id,
            source_project_id=mr.source_project_id or state.id,
            target_project_id=state.id,
            title=mr.title,
            description=mr.description,
            state=mr.state,
            source_branch=mr.source_branch,
            target_branch=mr.target_branch,
            labels=list(mr.labels),
            draft=mr.title.startswith(("Draft:", "[Draft]", "(Draft)")),
            work_in_progress=mr.title.startswith(("Draft:", "[Draft]", "(Draft)")),
            assignees=[self._user(i) for i in mr.assignee_ids],
            assignee=self._user(mr.assignee_ids[0]) if mr.assignee_ids else None,
            reviewers=[self._user(i) for i in mr.reviewer_ids],
            merge_when_pipeline_succeeds=mr.merge_when_pipeline_succeeds,
            force_remove_source_branch=mr.remove_source_branch,
            sha=_branch_sha(state.git_dir, mr.source_branch),
            web_url=f"{self.server.url}/{state.path}/-/merge_requests/{mr.iid}",
            author=self._user(mr.author_id),
        )
        return dict(value)

    ROUTES = (
        ("GET", r"/api/v4/projects/(?P<pid>[^/]+)", "/api/v4/projects/{id}", "get_project"),
        (
            "GET",
            r"/api/v4/projects/(?P<pid>[^/]+)/merge_requests",
            "/api/v4/projects/{id}/merge_requests",
            "list_mrs",
        ),
        (
            "POST",
            r"/api/v4/projects/(?P<pid>[^/]+)/merge_requests",
            "/api/v4/projects/{id}/merge_requests",
            "create_mr",
        ),
        (
            "GET",
            r"/api/v4/projects/(?P<pid>[^/]+)/merge_requests/(?P<iid>\d+)",
            "/api/v4/projects/{id}/merge_requests/{merge_request_iid}",
            "get_mr",
        ),
        (
            "PUT",
            r"/api/v4/projects/(?P<pid>[^/]+)/merge_requests/(?P<iid>\d+)",
            "/api/v4/projects/{id}/merge_requests/{merge_request_iid}",
            "put_mr",
        ),
        (
            "PUT",
            r"/api/v4/projects/(?P<pid>[^/]+)/merge_requests/(?P<iid>\d+)/merge",
            None,
            "merge_mr",
        ),
        ("GET", r"/api/v4/users", None, "list_users"),
        ("GET", r"/api/v4/user", None, "current_user"),
    )

    def handle(self, record: Recorded) -> Response:
        token = (
            record.headers.get("private-token")
            or record.headers.get("job-token")
            or record.headers.get("authorization", "").removeprefix("Bearer ")
        )
        if token != self.server.token:
            raise HttpError(401, {"message": "401 Unauthorized"})
        for method, pattern, template, action in self.ROUTES:
            match = re.fullmatch(pattern, record.path)
            if method == record.method and match:
                record.schema_path = template
                if template is not None and isinstance(record.body, dict):
                    body_schema = forge_schemas.gitlab_request_schema(method, template)
                    if body_schema is not None:
                        coerced = {
                            k: (
                                _split_list(v)
                                if k in ("labels", "add_labels", "remove_labels")
                                else v
                            )
                            for k, v in record.body.items()
                        }
                        problems = forge_schemas.errors(forge_schemas.GITLAB, body_schema, coerced)
                        if problems:
                            raise HttpError(400, {"error": "; ".join(problems)})
                result: Response = getattr(self, action)(record, **match.groupdict())
                return result
        raise HttpError(404, {"message": "404 Not Found"})

    def _state(self, pid: str) -> GitLabState:
        key = unquote(pid)
        for state in self.projects.values():
            if key in (state.path, str(state.id)):
                return state
        raise HttpError(404, {"message": "404 Project Not Found"})

    def _mr(self, state: GitLabState, iid: str) -> GitLabMR:
        mr = state.mrs.get(int(iid))
        if mr is None:
            raise HttpError(404, {"message": "404 Not found"})
        return mr

    def get_project(self, record: Recorded, pid: str) -> Response:
        state = self._state(pid)
        name = state.path.rsplit("/", 1)[-1]
        return (
            200,
            {
                "id": state.id,
                "name": name,
                "path": name,
                "path_with_namespace": state.path,
                "default_branch": state.default_branch,
                "web_url": f"{self.server.url}/{state.path}",
                "http_url_to_repo": f"{self.server.url}/{state.path}.git",
                "permissions": {
                    "project_access": {"access_level": state.access_level, "notification_level": 3},
                    "group_access": None,
                },
            },
            {},
        )

    def list_mrs(self, record: Recorded, pid: str) -> Response:
        state = self._state(pid)
        q = record.query
        mrs = list(state.mrs.values())
        if q.get("state", "all") != "all":
            mrs = [m for m in mrs if m.state == q["state"]]
        if "source_branch" in q:
            mrs = [m for m in mrs if m.source_branch == q["source_branch"]]
        if "target_branch" in q:
            mrs = [m for m in mrs if m.target_branch == q["target_branch"]]
        # GitLab: newest first unless asked otherwise (order_by=created_at, sort=desc).
        if q.get("order_by", "created_at") != "created_at":
            wanted = q["order_by"]
            raise HttpError(400, {"message": f"the fake orders by created_at only: {wanted}"})
        mrs.sort(key=lambda m: m.iid, reverse=q.get("sort", "desc") == "desc")
        # GitLab: 20 a page unless per_page (at most 100); offset pagination with the
        # X-* headers and a Link next that keeps every filter.
        per_page = min(int(q.get("per_page", 20)), 100, self.server.page_size)
        page = int(q.get("page", 1))
        pages = max(1, -(-len(mrs) // per_page))
        chunk = mrs[(page - 1) * per_page : page * per_page]
        headers = {
            "X-Total": str(len(mrs)),
            "X-Total-Pages": str(pages),
            "X-Per-Page": str(per_page),
            "X-Page": str(page),
            "X-Next-Page": str(page + 1) if page < pages else "",
        }
        if page < pages:
            nxt = f"{self.server.url}{record.path}?{urlencode({**q, 'page': str(page + 1)})}"
            headers["Link"] = f'<{nxt}>; rel="next"'
        return 200, [self._mr_json(state, m) for m in chunk], headers

    def create_mr(self, record: Recorded, pid: str) -> Response:
        state = self._state(pid)
        body = record.body
        if _branch_sha(state.git_dir, body["source_branch"]) is None:
            raise HttpError(400, {"message": ["Source branch does not exist"]})
        for mr in state.mrs.values():
            if (
                mr.state == "opened"
                and mr.source_project_id is None  # a fork's same-named branch is another
                and mr.source_branch == body["source_branch"]
                and mr.target_branch == body["target_branch"]
            ):
                raise HttpError(
                    409,
                    {
                        "message": [
                            "Another open merge request already exists for this source branch:"
                            f" !{mr.iid}"
                        ]
                    },
                )
        mr = GitLabMR(
            state.next_iid,
            body["title"],
            body.get("description", ""),
            body["source_branch"],
            body["target_branch"],
            labels=list(_split_list(body.get("labels", []))),
            assignee_ids=[int(x) for x in _split_list(body.get("assignee_ids", []))],
            reviewer_ids=[int(x) for x in _split_list(body.get("reviewer_ids", []))],
            remove_source_branch=bool(body.get("remove_source_branch")),
        )
        state.mrs[mr.iid] = mr
        state.next_iid += 1
        return 201, self._mr_json(state, mr), {}

    def get_mr(self, record: Recorded, pid: str, iid: str) -> Response:
        state = self._state(pid)
        return 200, self._mr_json(state, self._mr(state, iid)), {}

    def put_mr(self, record: Recorded, pid: str, iid: str) -> Response:
        state = self._state(pid)
        mr = self._mr(state, iid)
        body = record.body or {}
        if "title" in body:
            mr.title = body["title"]
        if "description" in body:
            mr.description = body["description"]
        if body.get("state_event") == "close":
            mr.state = "closed"
        if body.get("state_event") == "reopen":
            mr.state = "opened"
        if "labels" in body:
            mr.labels = list(_split_list(body["labels"]))
        for label in _split_list(body.get("add_labels", [])):
            if label not in mr.labels:
                mr.labels.append(label)
        if "assignee_ids" in body:
            mr.assignee_ids = [int(x) for x in _split_list(body["assignee_ids"])]
        if "reviewer_ids" in body:
            mr.reviewer_ids = [int(x) for x in _split_list(body["reviewer_ids"])]
        return 200, self._mr_json(state, mr), {}

    def merge_mr(self, record: Recorded, pid: str, iid: str) -> Response:
        """Not in the stored subset: PUT .../merge with merge_when_pipeline_succeeds."""
        state = self._state(pid)
        mr = self._mr(state, iid)
        body = record.body or {}
        if body.get("merge_when_pipeline_succeeds") or body.get("auto_merge"):
            mr.merge_when_pipeline_succeeds = True
        else:
            mr.state = "merged"
        return 200, self._mr_json(state, mr), {}

    def current_user(self, record: Recorded) -> Response:
        """GET /user: the token's own user (a job token may not ask)."""
        if "job-token" in record.headers:
            raise HttpError(401, {"message": "401 Unauthorized"})
        return 200, self._user(100), {}

    def list_users(self, record: Recorded) -> Response:
        """Not in the stored subset: GET /users?username=NAME."""
        name = record.query.get("username")
        uid = self.users.get(name or "")
        return 200, ([self._user(uid)] if uid else []), {}


# =========================================================================== server


class FakeForgeServer:
    """One loopback HTTP server answering as GitHub (``/repos``, ``/user``, ``/graphql``)
    and GitLab (``/api/v4``)."""

    def __init__(self, token: str, host: str = "127.0.0.1", page_size: int = 100) -> None:
        self.token = token
        self.page_size = page_size  # the largest page any listing answers with
        self.requests: list[Recorded] = []
        self.failures: list[Failure] = []
        self.lock = threading.Lock()
        self.github = GitHubFake(self)
        self.gitlab = GitLabFake(self)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                fake._dispatch(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def redirect(
        self, method: str, pattern: str, to: str, status: int = 301, times: int = 1
    ) -> None:
        """Answer the next matching requests with a redirect to the same path on ``to``."""
        self.failures.append(Failure(method, pattern, status, None, times, to.rstrip("/")))

    def start(self) -> FakeForgeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def fail(
        self, method: str, pattern: str, status: int, body: Any = None, times: int = 1
    ) -> None:
        """Answer the next ``times`` requests matching ``method`` and the path regex with
        ``status`` (GitHub/GitLab-shaped error bodies by default)."""
        if body is None:
            body = {
                "message": {
                    401: "Bad credentials",
                    403: "Resource not accessible by integration",
                    422: "Validation Failed",
                }.get(status, "Server Error")
            }
        self.failures.append(Failure(method, pattern, status, body, times))

    def calls(self, method: str | None = None, pattern: str = "") -> list[Recorded]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and re.search(pattern, r.path)
        ]

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        record = Recorded(
            handler.command,
            parts.path,
            query,
            {k.lower(): v for k, v in handler.headers.items()},
            body,
        )
        status, payload, headers = 500, {"message": "fake failed"}, {}
        try:
            with self.lock:
                self.requests.append(record)
                injected = self._injected(record)
                if injected is not None and injected.location is not None:
                    headers = {"Location": injected.location + handler.path}
                    raise HttpError(injected.status, {"message": "Moved"}, headers)
                if injected is not None:
                    raise HttpError(injected.status, injected.body)
                if parts.path.startswith("/api/v4/"):
                    status, payload, headers = self.gitlab.handle(record)
                else:
                    status, payload, headers = self.github.handle(record)
        except HttpError as error:
            status, payload, headers = error.status, error.body, error.headers
        record.status = status
        record.response = payload
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _injected(self, record: Recorded) -> Failure | None:
        for failure in self.failures:
            if (
                failure.times > 0
                and failure.method == record.method
                and re.search(failure.pattern, record.path)
            ):
                failure.times -= 1
                return failure
        return None

    def __iter__(self) -> Iterator[Recorded]:
        return iter(self.requests)
