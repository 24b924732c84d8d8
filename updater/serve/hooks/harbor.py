"""Harbor webhooks (the default payload format): ``type: PUSH_ARTIFACT``.

``event_data.repository.repo_full_name`` names the repository and every entry of
``event_data.resources`` is one pushed artifact ``{digest, tag, resource_url}``; the
host comes from ``resource_url``. Pulls, deletions, scans and quota events yield nothing.
"""

from __future__ import annotations

from updater.serve.auth import EqualHeader
from updater.serve.events import Field, Incoming, PushEvent, SourceSpec


def parse(incoming: Incoming, payload: Field) -> list[PushEvent]:
    if not payload["specversion"].absent:
        # Ignoring it would drop every push without a word.
        raise payload.bad("a CloudEvents payload; set the webhook's payload format to Default")
    if payload["type"].text() != "PUSH_ARTIFACT":
        return []
    data = payload["event_data"]
    repository = data["repository"]["repo_full_name"].repository()
    return [
        PushEvent(
            source=incoming.source,
            event_id=None,
            host=resource["resource_url"].reference_host(),
            repository=repository,
            tag=resource["tag"].tag(),
            digest=resource["digest"].digest(),
        )
        for resource in data["resources"].items()
    ]


SPEC = SourceSpec(name="harbor", check=EqualHeader("Authorization"), parse=parse)
