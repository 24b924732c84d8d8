"""Registry credentials from the files and helpers docker itself uses.

Sources, first hit wins:
1. ``DOCKER_AUTH_CONFIG`` (GitLab CI): the text of a docker ``config.json``;
2. ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``;
3. ``REGISTRY_AUTH_FILE`` (podman/skopeo ``auth.json``, same format).

In each: ``credHelpers[host]``, else ``auths[host]`` (``auth`` = base64 user:password,
or ``username``/``password``, or ``identitytoken``), else ``credsStore``. Helpers run
as ``docker-credential-NAME get`` with the server on stdin, exactly as docker does,
which is how ECR (``ecr-login``), Artifact Registry (``gcloud``) and ACR
(``acr-env``) credentials are fed.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from updater.reference import DOCKER_HUB
from updater.registry.errors import AuthError
from updater.registry.hosts import DOCKER_HUB_AUTH_KEY, canonical_host

HELPER_TIMEOUT = 60.0


@dataclass(frozen=True)
class Credential:
    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)  # OAuth2 refresh token
    source: str = ""  # where it came from, for messages

    @property
    def has_basic(self) -> bool:
        return bool(self.username or self.password)


@dataclass(frozen=True)
class _ConfigFile:
    name: str  # shown in messages: a path or an environment variable
    auths: dict[str, dict[str, Any]]
    cred_helpers: dict[str, str]
    creds_store: str | None


def _read_config(name: str, text: str) -> _ConfigFile:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise AuthError(f"{name}: not valid JSON (line {error.lineno})") from None
    if not isinstance(data, dict):
        raise AuthError(f"{name}: expected a JSON object")
    auths = {
        canonical_host(k): v for k, v in (data.get("auths") or {}).items() if isinstance(v, dict)
    }
    helpers = {canonical_host(k): str(v) for k, v in (data.get("credHelpers") or {}).items() if v}
    store = data.get("credsStore") or None
    return _ConfigFile(name, auths, helpers, str(store) if store else None)


def _config_files() -> list[_ConfigFile]:
    files = []
    env_text = os.environ.get("DOCKER_AUTH_CONFIG")
    if env_text:
        files.append(_read_config("DOCKER_AUTH_CONFIG", env_text))
    directory = os.environ.get("DOCKER_CONFIG")
    path = Path(directory) / "config.json" if directory else Path.home() / ".docker" / "config.json"
    paths = [path]
    auth_file = os.environ.get("REGISTRY_AUTH_FILE")
    if auth_file:
        paths.append(Path(auth_file))
    for candidate in paths:
        try:
            text = candidate.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except OSError as error:
            raise AuthError(f"{candidate}: cannot read ({error.strerror})") from None
        files.append(_read_config(str(candidate), text))
    return files


def _from_auths(entry: dict[str, Any], source: str, host: str) -> Credential | None:
    token = str(entry.get("identitytoken") or "")
    username, password = str(entry.get("username") or ""), str(entry.get("password") or "")
    encoded = entry.get("auth")
    if encoded:
        try:
            decoded = base64.b64decode(str(encoded), validate=False).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthError(f"{source}: auths[{host}].auth is not base64 user:password") from None
        user, sep, secret = decoded.partition(":")
        if not sep:
            raise AuthError(f"{source}: auths[{host}].auth is not base64 user:password")
        username, password = user, secret
    if not (username or password or token):
        return None
    return Credential(username, password, token, source)


def _server_url(host: str) -> str:
    return DOCKER_HUB_AUTH_KEY if host == DOCKER_HUB else host


def run_helper(helper: str, host: str) -> Credential | None:
    program = f"docker-credential-{helper}"
    try:
        done = subprocess.run(
            [program, "get"],
            input=_server_url(host),
            capture_output=True,
            text=True,
            timeout=HELPER_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise AuthError(f"credential helper {program} for {host} is not on PATH") from None
    except subprocess.TimeoutExpired:
        raise AuthError(f"credential helper {program} for {host} timed out") from None
    if done.returncode != 0:
        if "credentials not found" in (done.stdout + done.stderr).lower():
            return None
        first = (done.stderr.strip() or done.stdout.strip()).splitlines()[:1]
        detail = f": {first[0][:200]}" if first else ""
        raise AuthError(f"credential helper {program} failed for {host}{detail}")
    try:
        data = json.loads(done.stdout)
        username, secret = str(data.get("Username") or ""), str(data.get("Secret") or "")
    except (json.JSONDecodeError, AttributeError):
        raise AuthError(f"credential helper {program} gave no JSON for {host}") from None
    if username == "<token>":  # docker's marker for an identity token
        return Credential("", "", secret, program)
    return Credential(username, secret, "", program)


class CredentialStore:
    """Looks up credentials per canonical registry host, once per run."""

    def __init__(self, files: list[_ConfigFile] | None = None) -> None:
        self._files = files
        self._cache: dict[str, Credential | None] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_json(cls, text: str, name: str = "config.json") -> CredentialStore:
        return cls([_read_config(name, text)])

    def lookup(self, host: str) -> Credential | None:
        host = canonical_host(host)
        with self._lock:
            if host in self._cache:
                return self._cache[host]
            if self._files is None:
                self._files = _config_files()
            found = self._search(host)
            self._cache[host] = found
            return found

    def _search(self, host: str) -> Credential | None:
        assert self._files is not None
        for config in self._files:
            helper = config.cred_helpers.get(host)
            if helper:
                return run_helper(helper, host)
            entry = config.auths.get(host)
            if entry is not None:
                found = _from_auths(entry, config.name, host)
                if found is not None:
                    return found
            if config.creds_store:
                found = run_helper(config.creds_store, host)
                if found is not None:
                    return found
        return None
