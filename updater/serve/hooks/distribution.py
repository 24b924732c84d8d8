"""CNCF distribution (``registry:2``, Debian ``docker-registry``) notifications.

An envelope ``{"events": [...]}`` of events ``{id, action, target{mediaType, digest,
repository, tag, url}, request{host}}``. Only pushes of manifests count: blob pushes
and every pull are skipped. A multi-arch push sends one event per platform manifest
(pushed by digest, no tag) and one for the index (with the tag); all are returned.
"""

from __future__ import annotations

from updater.serve.auth import BearerHeader
from updater.serve.events import Field, Incoming, PushEvent, SourceSpec

MANIFEST_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    }
)


def parse(incoming: Incoming, payload: Field) -> list[PushEvent]:
    found = []
    for event in payload["events"].items():
        if event["action"].text() != "push":
            continue
        target = event["target"]
        if target["mediaType"].optional_text() not in MANIFEST_TYPES:
            continue
        request = event["request"]
        host = None if request.absent else request["host"].host()
        found.append(
            PushEvent(
                source=incoming.source,
                event_id=event["id"].event_id(),
                host=host if host is not None else target["url"].host(),
                repository=target["repository"].repository(),
                tag=target["tag"].tag(),
                digest=target["digest"].digest(),
            )
        )
    return found


SPEC = SourceSpec(name="distribution", check=BearerHeader(), parse=parse)
