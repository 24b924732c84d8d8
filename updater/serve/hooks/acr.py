"""Azure Container Registry webhooks: ``action: push`` with ``target.{repository, tag,
digest}`` and ``request.host``. ``delete``, ``chart_push``, ``quarantine`` and the
portal's ``ping`` yield nothing.

ACR cannot sign; a webhook's custom headers carry the secret (``X-Updater-Secret``).
"""

from __future__ import annotations

from updater.serve.auth import EqualHeader
from updater.serve.events import Field, Incoming, PushEvent, SourceSpec

SECRET_HEADER = "X-Updater-Secret"


def parse(incoming: Incoming, payload: Field) -> list[PushEvent]:
    if payload["action"].text() != "push":
        return []
    target = payload["target"]
    request = payload["request"]
    return [
        PushEvent(
            source=incoming.source,
            event_id=payload["id"].event_id(),
            host=None if request.absent else request["host"].host(),
            repository=target["repository"].repository(),
            tag=target["tag"].tag(),
            digest=target["digest"].digest(),
        )
    ]


SPEC = SourceSpec(name="acr", check=EqualHeader(SECRET_HEADER), parse=parse)
