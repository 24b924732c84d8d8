"""Remote URLs, redaction, and which credential may go to which host.

This sits under both ``git.py`` and ``forges/``: it knows nothing of git processes or
forge clients, only URLs, hosts and secrets. The rule it enforces is the one git and
docker apply to their own credentials: a credential belongs to one origin (scheme, host,
port) and is sent nowhere else. Hosts are compared exactly, never by substring.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from updater.errors import UsageError

# The credentials of an HTTP(S) --repo URL, given without putting them in argv.
REPO_CREDENTIALS_VARIABLE = "UPDATER_REPO_CREDENTIALS"

_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+):(?P<path>(?!//).+)$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


# --------------------------------------------------------------------------- secrets


class Redactor:
    """Removes every known secret (and any URL userinfo) from text meant for people."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4:
            self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        text = redact_userinfo(text)
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


def redact_userinfo(text: str) -> str:
    """Every ``scheme://user:secret@`` in ``text`` becomes ``scheme://***@``."""
    return _URL_USERINFO.sub(lambda m: f"{m['scheme']}***@", text)


@dataclass(frozen=True)
class HttpAuth:
    """A credential for git over HTTP(S), sent as a Basic ``Authorization`` header, and
    the one origin it belongs to."""

    token: str
    username: str = "x-access-token"
    origin: str = ""  # scheme://host:port the credential may be sent to ("" = none)

    @property
    def header(self) -> str:
        pair = base64.b64encode(f"{self.username}:{self.token}".encode()).decode("ascii")
        return f"Authorization: Basic {pair}"

    def secrets(self) -> tuple[str, ...]:
        return (self.token, self.header.partition("Basic ")[2])


# --------------------------------------------------------------------------- URLs


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``https://user:secret@host/x`` -> (``https://host/x``, user, secret), both
    percent-decoded as git decodes them (a ``%40`` in a password is an ``@``)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or "@" not in parts.netloc:
        return url, None, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    return clean, unquote(user) or None, unquote(password) or None


def redact_url(url: str) -> str:
    return split_credentials(url)[0] if "://" in url else url


def is_remote_url(text: str) -> bool:
    """True for ``https://``, ``ssh://``, ``git://``, ``file://`` and scp-like ``git@host:x``."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        return True
    if os.path.exists(text):
        return False
    match = _SCP_LIKE.match(text)
    return bool(match and match["user"])


def is_http_url(text: str) -> bool:
    return urlsplit(text).scheme.lower() in ("http", "https")


def url_host(url: str) -> str | None:
    """The host of a URL or scp-like address, lower-cased (host names are not case
    sensitive, and hosts are compared exactly)."""
    if "://" in url:
        host = urlsplit(url).hostname
        return host.lower() if host else None
    match = _SCP_LIKE.match(url)
    return match["host"].lower() if match else None


def url_path(url: str) -> str:
    """The repository path of a URL without ``.git``: ``acme/config``."""
    if "://" in url:
        path = urlsplit(url).path
    else:
        match = _SCP_LIKE.match(url)
        path = match["path"] if match else url
    path = path.strip("/")
    return path[:-4] if path.endswith(".git") else path


def origin(url: str) -> str:
    """``scheme://host:port`` of an HTTP(S) URL, lower-cased with the port made explicit;
    "" for anything else. Two URLs share credentials only when their origins are equal."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        return ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or _DEFAULT_PORTS[scheme]}"


# --------------------------------------------------------------------------- --repo credentials


def repo_credentials(
    repo: str, environ: Mapping[str, str] | None = None
) -> tuple[str, str | None, str | None]:
    """The ``--repo`` URL without its user-info, and the (user, secret) that belong to it:
    from the URL itself or from ``UPDATER_REPO_CREDENTIALS`` (``USER:SECRET`` or
    ``SECRET``), which is bound to that URL's host and to nothing else."""
    environ = os.environ if environ is None else environ
    given = environ.get(REPO_CREDENTIALS_VARIABLE, "")
    clean, user, secret = split_credentials(repo)
    if not given:
        return clean, user, secret
    if not is_remote_url(repo) or not is_http_url(repo):
        raise UsageError(
            f"{REPO_CREDENTIALS_VARIABLE} is set, but --repo {redact_url(repo)} is not an"
            " http(s) URL: the variable only carries the credentials of an http(s) --repo URL"
        )
    if secret is not None:
        raise UsageError(
            f"--repo {redact_url(repo)} carries credentials and {REPO_CREDENTIALS_VARIABLE}"
            " is set too: give them one way"
        )
    env_user, sep, env_secret = given.partition(":")
    if not sep:
        env_user, env_secret = "", given
    if not env_secret:
        raise UsageError(f"{REPO_CREDENTIALS_VARIABLE}: expected USER:SECRET or SECRET")
    return clean, env_user or user, env_secret


# --------------------------------------------------------------------------- tokens and hosts

FORGES = ("github", "gitlab")
TOKEN_VARIABLES = {
    "github": ("GITHUB_TOKEN", "GH_TOKEN"),
    "gitlab": ("GITLAB_TOKEN", "CI_JOB_TOKEN"),
}
# Basic-auth user names each forge expects in front of a token over git HTTPS.
GIT_USERNAMES = {"github": "x-access-token", "gitlab": "oauth2"}
JOB_TOKEN = "CI_JOB_TOKEN"
_BUILT_IN = {
    "github": ("https://github.com", "https://api.github.com"),
    "gitlab": ("https://gitlab.com",),
}


def find_token(
    kind: str, token_env: str | None, environ: Mapping[str, str] | None = None
) -> tuple[str | None, str | None]:
    """(token, variable name) from --token-env or the usual variables of the forge."""
    environ = os.environ if environ is None else environ
    if token_env:
        value = environ.get(token_env)
        if not value:
            raise UsageError(f"--token-env {token_env}: that variable is not set or empty")
        return value, token_env
    for name in TOKEN_VARIABLES.get(kind, ()):
        value = environ.get(name)
        if value:
            return value, name
    return None, None


@dataclass(frozen=True)
class Trust:
    """What the user (command line) and the CI platform say about forges and hosts.

    A forge's tokens go only to that forge's origins: the public ones (github.com and
    api.github.com, gitlab.com), the CI platform's own server (``GITHUB_SERVER_URL``,
    ``GITHUB_API_URL``; ``CI_SERVER_URL``/``CI_SERVER_HOST``, ``CI_API_V4_URL``) and an
    ``--api-url`` given on the command line. Any other host is unknown and gets a token
    only when the user names it: ``--token-env`` together with ``--forge`` or
    ``--api-url``. Never decided from repo content, never by substring.
    """

    forge: str | None = None  # --forge
    api_url: str | None = None  # --api-url
    token_env: str | None = None  # --token-env
    environ: Mapping[str, str] | None = None

    @property
    def env(self) -> Mapping[str, str]:
        return os.environ if self.environ is None else self.environ

    def ci_server(self, kind: str) -> set[str]:
        """Origins of the CI platform's own forge (its job token belongs there only)."""
        env = self.env
        found: set[str] = set()
        if kind == "github":
            names = [env.get("GITHUB_SERVER_URL", ""), env.get("GITHUB_API_URL", "")]
        else:
            names = [env.get("CI_SERVER_URL", ""), env.get("CI_API_V4_URL", "")]
            host = env.get("CI_SERVER_HOST", "")
            if host:
                port = env.get("CI_SERVER_PORT", "")
                scheme = env.get("CI_SERVER_PROTOCOL", "https")
                names.append(f"{scheme}://{host}" + (f":{port}" if port else ""))
        for name in names:
            if name and origin(name):
                found.add(origin(name))
        return found

    def origins(self, kind: str) -> set[str]:
        """Origins ``kind``'s tokens may go to over git and its API."""
        found = {origin(name) for name in _BUILT_IN.get(kind, ())} | self.ci_server(kind)
        if self.api_url and self.forge == kind and origin(self.api_url):
            found.add(origin(self.api_url))
        return found

    def known_kind(self, url: str) -> str | None:
        """The forge a URL's host is known to belong to, matched exactly; None when
        unknown. An ssh or scp-like URL is matched on its host's https origin."""
        place = origin(url)
        if not place and url_host(url):
            place = origin(f"https://{url_host(url)}")
        for kind in FORGES:
            if place and place in self.origins(kind):
                return kind
        return None

    def kind_of(self, url: str) -> str | None:
        """The forge of the repo at ``url``: ``--forge``, else its host's, else None."""
        return self.forge or self.known_kind(url)

    def api_allowed(self, api_url: str, kind: str) -> bool:
        """May ``kind``'s token go to ``api_url``? An ``--api-url`` on the command line is
        the user naming the API host."""
        place = origin(api_url)
        if not place:
            return False
        if place in self.origins(kind) or self.named:
            return True
        return place == self._explicit_api()

    def _explicit_api(self) -> str:
        return origin(self.api_url) if self.api_url else ""

    @property
    def named(self) -> bool:
        """The user named the host for --token-env's token themselves."""
        return bool(self.token_env and (self.forge or self.api_url))

    def token_for(self, url: str, kind: str | None) -> tuple[str | None, str | None]:
        """(token, variable) that may be sent to ``url`` for forge ``kind``; (None, None)
        when no token belongs there."""
        place = origin(url)
        if not place:
            return None, None
        known = self.known_kind(url)
        if known is not None and kind in (None, known):
            token, variable = find_token(known, self.token_env, self.env)
            named = place == self._explicit_api()
            if variable == JOB_TOKEN and place not in self.ci_server("gitlab") and not named:
                token, variable = None, None  # a job token belongs to its own server
            return token, variable
        if self.named:
            return find_token(kind or "", self.token_env, self.env)
        return None, None


def git_auth(
    url: str, user: str | None, secret: str | None, trust: Trust
) -> tuple[HttpAuth | None, str | None]:
    """(HttpAuth or None, the variable it came from) for git over HTTP(S) to ``url``:
    credentials given for this URL, else a forge token that belongs to its host."""
    place = origin(url)
    if not place:
        return None, None
    kind = trust.kind_of(url)
    if secret is not None:
        return HttpAuth(
            secret, user or GIT_USERNAMES.get(kind or "", "x-access-token"), place
        ), None
    token, variable = trust.token_for(url, kind)
    if token is None:
        return None, None
    username = user or (
        "gitlab-ci-token"
        if variable == JOB_TOKEN
        else GIT_USERNAMES.get(kind or "", "x-access-token")
    )
    return HttpAuth(token, username, place), variable
