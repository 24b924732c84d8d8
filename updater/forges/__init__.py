"""Forges (GitHub, GitLab) behind one small Protocol, plus forge and token detection.

A forge module imports its client library (PyGithub, python-gitlab) only when a forge
is opened, so nothing here slows down ``--dry-run``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from updater.errors import DeliveryError, UsageError
from updater.remote import FORGES as FORGES
from updater.remote import TOKEN_VARIABLES as TOKEN_VARIABLES
from updater.remote import HttpAuth, Redactor, Trust, git_auth, origin, url_host, url_path
from updater.remote import find_token as find_token


class ForgeError(DeliveryError):
    """The forge refused or failed; the message is one redacted line."""


@dataclass(frozen=True)
class ProposalSpec:
    """What the pull/merge request should look like after this run."""

    head: str  # the bot branch
    base: str
    title: str
    body: str
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    draft: bool = False
    auto_merge: bool = False
    merge_method: str = "merge"  # merge | squash | rebase (GitHub auto-merge)


@dataclass
class Proposal:
    """A pull request (GitHub) or merge request (GitLab) as the forge reports it."""

    number: int
    url: str
    head: str
    base: str
    title: str
    body: str
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    auto_merge: bool = False
    draft: bool = False
    author: str = ""  # the user who opened it
    same_repo: bool = True  # its head branch lives in the config repo itself (not a fork)
    raw: Any = field(default=None, repr=False)  # the client library's object


class Forge(Protocol):
    """The few forge operations delivery needs; each raises ForgeError, redacted."""

    name: str

    def check_access(self) -> None:
        """Fail early (bad token, no such project) before anything is pushed."""

    def whoami(self) -> str:
        """The user the token belongs to (the bot's own user)."""

    def find_open(self, head: str, base: str) -> list[Proposal]:
        """Every open PR/MR whose head branch is named ``head``, into ``base``: from the
        config repo itself and from forks, whoever opened them."""

    def list_open(self, base: str, head_prefix: str) -> list[Proposal]:
        """Open PRs/MRs into ``base`` whose head branch starts with ``head_prefix``."""

    def create(self, spec: ProposalSpec) -> Proposal:
        """Open a PR/MR (draft if asked)."""

    def update(self, proposal: Proposal, spec: ProposalSpec) -> bool:
        """Set title and body; True if anything changed."""

    def restore(self, proposal: Proposal, title: str, body: str) -> None:
        """Put back a title and body exactly as they were (undo of :meth:`update`)."""

    def decorate(self, proposal: Proposal, spec: ProposalSpec) -> bool:
        """Add missing labels, reviewers, assignees; request auto-merge; True if any."""

    def close(self, proposal: Proposal, reason: str) -> None:
        """Close a PR/MR (superseded by a newer one)."""


@dataclass(frozen=True)
class ForgeSettings:
    kind: str  # github | gitlab
    api_url: str
    project: str  # owner/name, or group/subgroup/name
    token: str | None
    token_variable: str | None


def detect_kind(url: str, explicit: str | None, trust: Trust | None = None) -> str:
    """The forge of the repo: ``--forge``, else its host matched exactly against the
    forges' own hosts and the CI platform's server (never a substring of the name)."""
    if explicit:
        if explicit not in FORGES:
            raise UsageError(f"--forge {explicit}: expected one of {', '.join(FORGES)}")
        return explicit
    kind = (trust or Trust()).known_kind(url)
    if kind is not None:
        return kind
    host = (url_host(url) or "").lower()
    raise UsageError(
        f"cannot tell the forge of {host or 'this remote'}: pass --forge github|gitlab"
        " (and --api-url for GitHub Enterprise or self-managed GitLab)"
    )


def default_api_url(kind: str, url: str, trust: Trust | None = None) -> str:
    """The API of the forge hosting ``url``: the public one, the CI platform's, or the
    Enterprise/self-managed API on the repo's own host."""
    host = (url_host(url) or "").lower()
    env = (trust or Trust()).env
    if kind == "github":
        if host in ("github.com", "www.github.com", ""):
            return "https://api.github.com"
        server = env.get("GITHUB_SERVER_URL", "")
        if env.get("GITHUB_API_URL") and server and origin(server) == origin(f"https://{host}"):
            return env["GITHUB_API_URL"]
        return f"https://{host}/api/v3"  # GitHub Enterprise Server
    if host in ("", "gitlab.com"):
        return "https://gitlab.com"
    server = env.get("CI_SERVER_URL", "")
    if server and (url_host(server) or "").lower() == host:
        return server
    return f"https://{host}"


def settings_for(
    url: str,
    *,
    forge: str | None,
    api_url: str | None,
    project: str | None,
    token_env: str | None,
    environ: Mapping[str, str] | None = None,
) -> ForgeSettings:
    trust = Trust(forge=forge, api_url=api_url, token_env=token_env, environ=environ)
    kind = detect_kind(url, forge, trust)
    api = (api_url or default_api_url(kind, url, trust)).rstrip("/")
    if not origin(api):
        raise UsageError(f"--api-url {api}: expected an http(s) URL")
    token, variable = find_token(kind, token_env, trust.env)
    if token is not None and not trust.api_allowed(api, kind):
        raise UsageError(
            f"{kind}: not sending {variable} to {url_host(api)}: that host is not {kind}'s own"
            f" nor the CI platform's; name it with --api-url, or --token-env VAR and --forge {kind}"
        )
    return ForgeSettings(
        kind=kind,
        api_url=api,
        project=(project or url_path(url)).strip("/"),
        token=token,
        token_variable=variable,
    )


def open_forge(settings: ForgeSettings, redact: Redactor) -> Forge:
    if not settings.token:
        names = " or ".join(TOKEN_VARIABLES[settings.kind])
        raise UsageError(
            f"--pull-request on {settings.kind} needs a token: set {names} or pass --token-env NAME"
        )
    if settings.kind == "github":
        from updater.forges.github import GitHubForge

        return GitHubForge(settings, redact)
    from updater.forges.gitlab import GitLabForge

    return GitLabForge(settings, redact)


def not_ours(proposal: Proposal, me: str, *, marked: bool) -> str:
    """Why a PR/MR is not the bot's own ("" when it is): the bot touches only PRs/MRs
    whose head branch is in the config repo, that its own user opened, and that carry
    its marker."""
    if not proposal.same_repo:
        return "its branch is in a fork"
    if not me or proposal.author != me:
        return f"it was opened by {proposal.author or 'someone else'}, not by {me or 'the bot'}"
    if not marked:
        return "it does not carry the gitops-updater marker"
    return ""


def unreachable(forge: str, action: str, api_url: str, error: Exception) -> str:
    """One line for a forge that could not be reached at all."""
    return f"{forge}: {action} failed: cannot reach {api_url} ({type(error).__name__})"


def http_failure(forge: str, action: str, status: int | None, detail: str) -> str:
    """One line for a failed forge call, with advice for the usual statuses."""
    hint = {
        401: "the token was rejected (expired or wrong); check --token-env",
        403: "the token lacks permission (GitHub: contents+pull-requests write; "
        "GitLab: api scope, Developer role)",
        404: "not found (wrong project, or the token cannot see it)",
        409: "conflict",
        422: "the forge refused the request as invalid",
    }.get(status or 0, "")
    if status is not None and status >= 500:
        hint = "the forge failed (server error); try again later"
    parts = [f"{forge}: {action} failed"]
    if status is not None:
        parts.append(f"(HTTP {status})")
    text = " ".join(parts)
    extra = "; ".join(x for x in (hint, detail.strip()) if x)
    return f"{text}: {extra}" if extra else text


# --------------------------------------------------------------------------- which token


def git_credentials(
    url: str,
    given: tuple[str | None, str | None],
    *,
    forge: str | None,
    api_url: str | None,
    token_env: str | None,
    redact: Redactor,
) -> HttpAuth | None:
    """The credential git may send to ``url`` over HTTP(S), or None: the one given for the
    URL, else a forge token that belongs to its host (see :class:`updater.remote.Trust`).
    Every secret involved is added to ``redact``."""
    user, secret = given
    redact.add(secret)
    trust = Trust(forge=forge, api_url=api_url, token_env=token_env)
    auth, _ = git_auth(url, user, secret, trust)
    if auth is not None:
        for secret_text in auth.secrets():
            redact.add(secret_text)
    return auth


def connect(
    url: str,
    *,
    forge: str | None,
    api_url: str | None,
    project: str | None,
    token_env: str | None,
    redact: Redactor,
) -> Forge:
    """The forge of ``url``, its token and access checked: a bad token or project fails
    here, before anything is pushed."""
    settings = settings_for(url, forge=forge, api_url=api_url, project=project, token_env=token_env)
    opened = open_forge(settings, redact)
    opened.check_access()
    return opened
