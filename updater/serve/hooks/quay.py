"""Quay repository-push notifications: ``repository``, ``docker_url``, ``updated_tags``.

One event per updated tag, without a digest (Quay sends none). ``updated_tags`` is a
list of tag names; older Quay versions sent an object keyed by tag, also read.
"""

from __future__ import annotations

from updater.serve.auth import QuerySecret
from updater.serve.events import Field, Incoming, PushEvent, SourceSpec


def parse(incoming: Incoming, payload: Field) -> list[PushEvent]:
    repository = payload["repository"].repository()
    host = payload["docker_url"].reference_host()
    tags = payload["updated_tags"]
    if isinstance(tags.value, dict):
        names = [Field(key, f"{tags.path}.{key}") for key in tags.value]
    else:
        names = tags.items()
    return [
        PushEvent(
            source=incoming.source,
            event_id=None,
            host=host,
            repository=repository,
            tag=name.tag(required=True),
            digest=None,
        )
        for name in names
    ]


SPEC = SourceSpec(name="quay", check=QuerySecret(), parse=parse)
