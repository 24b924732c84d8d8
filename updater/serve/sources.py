"""Turn one webhook request into push events: pure, no server, no I/O.

The order of the checks is the contract the server relies on: an unknown source is
404, a body over ``max_body`` 413, a request that does not prove the source's secret
401 (before a byte of the body is parsed), a payload that cannot be read 400 with one
line naming the field. A valid payload about something else (a ping, a pull, a
deletion) gives ``[]``. Nothing here ever raises anything but :class:`Rejected`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from updater.serve.events import (
    Incoming,
    PushEvent,
    Rejected,
    SourceSpec,
    load_json,
    shown,
)
from updater.serve.hooks import (
    acr,
    artifactory,
    distribution,
    dockerhub,
    generic,
    github,
    harbor,
    quay,
)

__all__ = [
    "MAX_EVENTS",
    "SOURCES",
    "Incoming",
    "PushEvent",
    "Rejected",
    "SourceSecrets",
    "SourceSpec",
    "read_events",
]

SOURCES: Mapping[str, SourceSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            distribution.SPEC,
            github.SPEC,
            dockerhub.SPEC,
            harbor.SPEC,
            quay.SPEC,
            acr.SPEC,
            artifactory.SPEC,
            generic.SPEC,
        )
    }
)

# One request may not queue more than this: a Quay payload naming 100k tags is an
# attack, not a push.
MAX_EVENTS = 1000


@dataclass(frozen=True)
class SourceSecrets:
    """The configured secrets: ``per_source`` wins over ``default``.

    A source with neither refuses every request (401): there is no open mode, since
    every source can send a secret (Docker Hub and Quay in the URL).
    """

    default: str | None = None
    per_source: Mapping[str, str] = field(default_factory=dict)

    def for_source(self, source: str) -> str | None:
        return self.per_source.get(source) or self.default or None


@dataclass(frozen=True)
class HookSettings:
    """What the HTTP side applies to a request, from the webhooks: section."""

    secrets: SourceSecrets
    max_body: int
    body_seconds: float = 30.0  # a body trickled slower than this is dropped (408)


def read_events(incoming: Incoming, secrets: SourceSecrets, *, max_body: int) -> list[PushEvent]:
    """The push events one request carries; raises :class:`Rejected`."""
    spec = SOURCES.get(incoming.source)
    if spec is None:
        raise Rejected(
            404, f"unknown source {shown(incoming.source)} (known: {', '.join(SOURCES)})"
        )
    if len(incoming.body) > max_body:
        raise Rejected(413, f"body of {len(incoming.body)} bytes is over max-body ({max_body})")
    secret = secrets.for_source(spec.name)
    if secret is None:
        raise Rejected(401, f"no secret is configured for source {spec.name}")
    headers = {key.lower(): value for key, value in incoming.headers.items()}
    incoming = Incoming(spec.name, headers, incoming.query, incoming.body)
    spec.check(incoming, secret)
    events = spec.parse(incoming, load_json(incoming.body))
    if len(events) > MAX_EVENTS:
        raise Rejected(400, f"{len(events)} events in one request (at most {MAX_EVENTS})")
    return events
