"""The config repo setting of a job: ``owner/name`` on the job's own forge, a clone URL,
or a directory of the checkout; and the credentials a URL may carry, taken out of it so
that they reach the command line through its environment, never its arguments."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

from updater.errors import UsageError
from updater.remote import is_remote_url, redact_userinfo, url_host

# "oauth2:TOKEN@host/x" with its scheme forgotten: still a secret before an @.
_BARE_USERINFO = re.compile(r"^[^/\s@]+@")
# A URL as shown: with a scheme, or scp-like "git@host:path" whose user is a plain name
# (a user part with a colon or other punctuation is a secret, and is hidden).
_SHOWN_AS_IS = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^[\w.-]+@[\w.-]+:")


@dataclass(frozen=True)
class Forge:
    """Where the job runs: its forge's web address and the project running the job."""

    server_url: str  # https://github.com, https://gitlab.example
    project: str  # owner/name of the job's own project ("" if unknown)
    project_variable: str  # the variable that names it, for error messages
    nested: bool  # project paths may have more than two parts (GitLab groups)

    @property
    def host(self) -> str:
        return url_host(self.server_url) or ""

    @property
    def shorthand(self) -> re.Pattern[str]:
        more = "+" if self.nested else ""
        return re.compile(rf"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+){more}$")

    def hosts(self, url: str) -> bool:
        """True if the clone URL is on this forge (exact host match, never a substring)."""
        return bool(self.host) and url_host(url) == self.host


@dataclass(frozen=True)
class Credentials:
    """``USER:SECRET`` or a lone ``SECRET``, as the URL carried them (percent-decoded)."""

    user: str | None
    secret: str = field(repr=False)

    @property
    def value(self) -> str:
        """The form of ``UPDATER_REPO_CREDENTIALS``."""
        return f"{self.user}:{self.secret}" if self.user else self.secret


def shown(value: str) -> str:
    """A setting as it may be quoted back to the user: no user-info, with or without a
    scheme."""
    value = redact_userinfo(value)
    return value if _SHOWN_AS_IS.match(value) else _BARE_USERINFO.sub("***@", value)


def take_credentials(url: str, label: str) -> tuple[str, Credentials | None]:
    """Split ``https://USER:SECRET@host/x`` into the URL without them and the credentials.

    ``ssh://git@host/x`` keeps its user (ssh needs it; it is no secret); a password in a
    URL of any scheme other than http(s) is refused, since git would put it in argv.
    """
    if "://" not in url:
        return url, None
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if parts.scheme.lower() not in ("http", "https"):
        if colon:
            raise UsageError(
                f"{label}: {shown(url)}: a password in a {parts.scheme}:// URL is not "
                "supported; use an SSH key, or an https:// URL"
            )
        return url, None
    clean = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    if not colon:  # https://TOKEN@host: the one part is the secret
        return clean, Credentials(None, unquote(user)) if user else None
    return clean, Credentials(unquote(user) or None, unquote(password)) if password else None


def resolve_repo(value: str, forge: Forge, label: str) -> str:
    """A clone URL for the repo setting (a local directory is checked by the caller)."""
    if not value:
        if not forge.project:
            raise UsageError(f"{label}: empty, and {forge.project_variable} is not set")
        return f"{forge.server_url.rstrip('/')}/{forge.project}.git"
    if is_remote_url(value):
        return value
    if forge.shorthand.match(value):
        return f"{forge.server_url.rstrip('/')}/{value.removesuffix('.git')}.git"
    kind = "a project path" if forge.nested else "owner/name"
    raise UsageError(f"{label}: {shown(value)!r} is not a directory, a clone URL or {kind}")
