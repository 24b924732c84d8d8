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
from urllib.parse import urlsplit, urlunsplit

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
    """``https://user:secret@host/x`` -> (``https://host/x``, user, secret)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or "@" not in parts.netloc:
        return url, None, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    return clean, user or None, password or None


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
    if "://" in url:
        return urlsplit(url).hostname
    match = _SCP_LIKE.match(url)
    return match["host"] if match else None


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
