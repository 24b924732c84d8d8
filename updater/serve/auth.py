"""How each source proves it knows the shared secret, checked before the body is parsed.

Every comparison is ``hmac.compare_digest`` on bytes, so neither the time taken nor an
error line tells a caller how much of a guess was right; no line quotes what was sent.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from updater.serve.events import Incoming, Rejected

Check = Callable[[Incoming, str], None]  # raises Rejected(401) unless the secret is proven


def _bytes(text: str) -> bytes:
    # Header values arrive decoded as latin-1 or UTF-8 depending on the server; any
    # spelling must compare, never raise.
    return text.encode("utf-8", "surrogateescape")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(_bytes(given), _bytes(expected))


def _signature(secret: str, body: bytes) -> str:
    return hmac.new(_bytes(secret), body, hashlib.sha256).hexdigest()


def _header(incoming: Incoming, name: str) -> str:
    value = incoming.headers.get(name.lower())
    if not value:
        raise Rejected(401, f"missing {name} header")
    return value


@dataclass(frozen=True)
class BearerHeader:
    """``Authorization: Bearer <secret>``, a header the registry's config sets."""

    name: str = "Authorization"

    def __call__(self, incoming: Incoming, secret: str) -> None:
        scheme, _, token = _header(incoming, self.name).strip().partition(" ")
        if not (scheme.lower() == "bearer" and _same(token.strip(), secret)):
            raise Rejected(401, f"{self.name} header does not carry the secret")


@dataclass(frozen=True)
class EqualHeader:
    """A header whose whole value is the secret."""

    name: str

    def __call__(self, incoming: Incoming, secret: str) -> None:
        if not _same(_header(incoming, self.name).strip(), secret):
            raise Rejected(401, f"{self.name} header does not carry the secret")


@dataclass(frozen=True)
class QuerySecret:
    """``?secret=<secret>`` in the URL, for senders that can neither sign nor set headers."""

    name: str = "secret"

    def __call__(self, incoming: Incoming, secret: str) -> None:
        given = incoming.query.get(self.name)
        if not given:
            raise Rejected(401, f"missing ?{self.name}= in the URL")
        if not _same(given, secret):
            raise Rejected(401, f"?{self.name}= does not match")


@dataclass(frozen=True)
class SignatureHeader:
    """``<name>: sha256=<HMAC-SHA256 hex of the body>`` (GitHub's scheme)."""

    name: str

    def __call__(self, incoming: Incoming, secret: str) -> None:
        given = _header(incoming, self.name).strip()
        if not _same(given.lower(), "sha256=" + _signature(secret, incoming.body)):
            raise Rejected(401, f"{self.name} signature does not match the body")


@dataclass(frozen=True)
class SecretOrSignatureHeader:
    """A header carrying either the secret itself or the HMAC-SHA256 hex of the body
    (Artifactory sends one or the other depending on how the webhook is set up)."""

    name: str

    def __call__(self, incoming: Incoming, secret: str) -> None:
        given = _header(incoming, self.name).strip()
        # Both comparisons always run, so timing does not say which form was sent.
        plain = _same(given, secret)
        signed = _same(given.lower(), _signature(secret, incoming.body))
        if not (plain or signed):
            raise Rejected(401, f"{self.name} header carries neither the secret nor a signature")
