"""Docker Hub repository webhooks: ``push_data.tag`` and ``repository.repo_name``.

Docker Hub sends no digest (the server resolves it) and cannot sign, so the secret
travels in the webhook URL. Every Docker Hub webhook is a push.
"""

from __future__ import annotations

from updater.reference import DOCKER_HUB
from updater.serve.auth import QuerySecret
from updater.serve.events import Field, Incoming, PushEvent, SourceSpec


def parse(incoming: Incoming, payload: Field) -> list[PushEvent]:
    return [
        PushEvent(
            source=incoming.source,
            event_id=None,
            host=DOCKER_HUB,
            repository=payload["repository"]["repo_name"].repository(),
            tag=payload["push_data"]["tag"].tag(required=True),
            digest=None,
        )
    ]


SPEC = SourceSpec(name="dockerhub", check=QuerySecret(), parse=parse)
