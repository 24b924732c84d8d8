"""Registry authentication: the WWW-Authenticate challenge, bearer tokens cached per
realm/service/scope until they expire, and plain Basic.

The flow is the one of the distribution token spec: a request answered 401 names a
realm, service and scope; we ask the realm for a token (anonymously, with Basic
credentials, or with an identity token as an OAuth2 refresh token), cache it, and
retry. A token later refused with ``insufficient_scope`` is dropped and the
challenge answered afresh.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from updater.registry.credentials import Credential
from updater.registry.errors import AuthError
from updater.registry.transport import Transport, describe_host

EXPIRY_SKEW = 10.0  # seconds: refresh a little before the registry would refuse
DEFAULT_LIFETIME = 60.0  # the token spec's default for a missing expires_in
CLIENT_ID = "gitops-updater"

_PARAM_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "bearer" or "basic", lower case
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")

    @property
    def service(self) -> str:
        return self.params.get("service", "")

    @property
    def scope(self) -> str:
        return self.params.get("scope", "")

    @property
    def error(self) -> str:
        return self.params.get("error", "")


def parse_challenges(header: str) -> list[Challenge]:
    """Parse ``Bearer realm="…",service="…",scope="…"`` (one or more challenges)."""
    challenges: list[Challenge] = []
    pos = 0
    scheme_re = re.compile(r"\s*,?\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:\s+|$)")
    while pos < len(header):
        m = scheme_re.match(header, pos)
        if m is None:
            break
        scheme = m.group(1).lower()
        pos = m.end()
        params: dict[str, str] = {}
        while True:
            p = _PARAM_RE.match(header, pos)
            if p is None:
                break
            value = p.group(2) if p.group(2) is not None else p.group(3)
            params[p.group(1).lower()] = re.sub(r"\\(.)", r"\1", value or "")
            pos = p.end()
            sep = re.match(r"\s*,\s*", header[pos:])
            if sep is None:
                break
            pos += sep.end()
        challenges.append(Challenge(scheme, params))
        if not params and pos < len(header) and header[pos] not in " ,":
            break
    return challenges


@dataclass
class _Token:
    value: str
    expires_at: float  # time.monotonic() deadline


class TokenCache:
    """Bearer tokens per (registry host, realm, service, scope); one fetch at a time per key."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._tokens: dict[tuple[str, str, str, str], _Token] = {}
        self._locks: dict[tuple[str, str, str, str], threading.Lock] = {}
        self._guard = threading.Lock()
        self._clock = clock

    def lock_for(self, key: tuple[str, str, str, str]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, key: tuple[str, str, str, str]) -> str | None:
        with self._guard:
            token = self._tokens.get(key)
            if token is None or token.expires_at <= self._clock():
                return None
            return token.value

    def put(self, key: tuple[str, str, str, str], value: str, lifetime: float) -> None:
        with self._guard:
            deadline = self._clock() + max(lifetime - EXPIRY_SKEW, 1.0)
            self._tokens[key] = _Token(value, deadline)

    def drop(self, key: tuple[str, str, str, str], value: str | None = None) -> None:
        with self._guard:
            token = self._tokens.get(key)
            if token is not None and (value is None or token.value == value):
                del self._tokens[key]


def fetch_token(
    transport: Transport,
    challenge: Challenge,
    scope: str,
    credential: Credential | None,
    what: str,
) -> tuple[str, float]:
    """Ask the realm for a token; return (token, lifetime in seconds)."""
    realm = challenge.realm
    if not realm.startswith(("https://", "http://")):
        raise AuthError(f"{what}: registry sent a bearer challenge without a usable realm")
    if credential is not None and credential.identity_token:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": credential.identity_token,
            "service": challenge.service,
            "scope": scope,
            "client_id": CLIENT_ID,
        }
        response = transport.send("POST", realm, data=form, what=what)
    else:
        query = {"service": challenge.service, "scope": scope}
        basic = None
        if credential is not None and credential.has_basic:
            query["account"] = credential.username
            basic = (credential.username, credential.password)
        joiner = "&" if "?" in realm else "?"
        url = f"{realm}{joiner}{urlencode({k: v for k, v in query.items() if v})}"
        response = transport.send("GET", url, auth=basic, what=what)
    with response:
        if response.status_code in (401, 403):
            who = "the given credentials" if credential else "anonymous access"
            raise AuthError(
                f"{what}: token service {describe_host(realm)} refused {who}"
                f" (HTTP {response.status_code})"
            )
        if response.status_code != 200:
            raise AuthError(
                f"{what}: token service {describe_host(realm)} failed (HTTP {response.status_code})"
            )
        try:
            body = response.json()
        except ValueError:
            raise AuthError(f"{what}: token service {describe_host(realm)} sent no JSON") from None
    token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
    if not token or not isinstance(token, str):
        raise AuthError(f"{what}: token service {describe_host(realm)} sent no token")
    try:
        lifetime = float(body.get("expires_in") or DEFAULT_LIFETIME)
    except (TypeError, ValueError):
        lifetime = DEFAULT_LIFETIME
    return token, lifetime
