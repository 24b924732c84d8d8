"""Every secret a job hands the bot, learnt before anything is printed, and removed from
everything the wrappers print or write (log, step summary, outputs, dotenv, report).

The command line redacts its own output too; this is the second line of defence, and the
only one for what the wrappers themselves add (settings quoted back, error text)."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable, Mapping
from urllib.parse import quote

from updater.ci.repo import Credentials
from updater.remote import redact_userinfo

# Variables that hold a token the command line may send (its --token-env defaults, the
# wrappers' own) and the repo credentials of the command-line contract.
TOKEN_VARIABLES = (
    "UPDATER_TOKEN",
    "CI_JOB_TOKEN",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITLAB_TOKEN",
)
REPO_CREDENTIALS = "UPDATER_REPO_CREDENTIALS"
# User names git and the forges pair a token with in HTTP Basic auth.
BASIC_USERS = ("x-access-token", "oauth2", "gitlab-ci-token", "git")
# Shorter strings are too likely to be ordinary words to be cut out of every text.
MIN_LENGTH = 4


def _basic(user: str, secret: str) -> str:
    return base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")


class Secrets:
    """The secrets of one job. ``announce`` tells the CI system about each new one (on
    GitHub, ``::add-mask::``) before any text that could hold it is printed."""

    def __init__(self, placeholder: str, announce: Callable[[str], None] | None = None) -> None:
        self.placeholder = placeholder
        self.announce = announce
        self._known: set[str] = set()

    def __len__(self) -> int:
        return len(self._known)

    def add(self, secret: str) -> None:
        """A secret, line by line, and the forms it takes on the wire: percent-encoded in
        a URL, and inside a Basic ``Authorization`` header. Only the secret itself is
        announced: the derived forms appear in nothing that is not scrubbed here."""
        for line in secret.splitlines():
            line = line.strip()
            if len(line) < MIN_LENGTH or line in self._known:
                continue
            self._known.add(line)
            if self.announce is not None:
                self.announce(line)
            self._known.add(quote(line, safe=""))
            self._known.update(_basic(user, line) for user in BASIC_USERS)

    def add_credentials(self, credentials: Credentials) -> None:
        self.add(credentials.secret)
        if credentials.user and len(credentials.secret) >= MIN_LENGTH:
            self._known.add(_basic(credentials.user, credentials.secret))

    def learn(self, env: Mapping[str, str]) -> None:
        """Every secret the job's environment gives the bot."""
        for name in TOKEN_VARIABLES:
            self.add(env.get(name, ""))
        user, colon, secret = env.get(REPO_CREDENTIALS, "").partition(":")
        if user or secret:
            self.add_credentials(Credentials(user, secret) if colon else Credentials(None, user))
        for value in docker_secrets(env.get("DOCKER_AUTH_CONFIG", "")):
            self.add(value)

    def scrub(self, text: str) -> str:
        text = redact_userinfo(text)
        for secret in sorted(self._known, key=len, reverse=True):
            text = text.replace(secret, self.placeholder)
        return text


def docker_secrets(config: str) -> list[str]:
    """The passwords and tokens of a docker ``config.json`` (GitLab's DOCKER_AUTH_CONFIG)."""
    try:
        parsed = json.loads(config) if config.strip() else {}
    except ValueError:
        return [config]  # not JSON: the command line will say so; hide it whole
    auths = parsed.get("auths") if isinstance(parsed, dict) else None
    found: list[str] = []
    for entry in auths.values() if isinstance(auths, dict) else ():
        if not isinstance(entry, dict):
            continue
        for key in ("auth", "password", "identitytoken", "registrytoken"):
            value = entry.get(key)
            if isinstance(value, str) and value:
                found.append(value)
        auth = entry.get("auth")
        if isinstance(auth, str):
            with contextlib.suppress(ValueError):
                found.append(base64.b64decode(auth).decode().partition(":")[2])
    return found
