"""JFrog Artifactory webhooks: ``domain: docker``, ``event_type: pushed``.

``data.{repo_key, image_name, tag, sha256}``; ``sha256`` is the checksum of the tag's
manifest file, which is the manifest digest. The repository is named the way the
repository-path access method spells it, ``<repo_key>/<image_name>``, on the host of
``jpd_origin``. Every other domain and event type yields nothing.
"""

from __future__ import annotations

import re

from updater.serve.auth import SecretOrSignatureHeader
from updater.serve.events import Field, Incoming, PushEvent, SourceSpec

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def parse(incoming: Incoming, payload: Field) -> list[PushEvent]:
    if payload["domain"].text() != "docker" or payload["event_type"].text() != "pushed":
        return []
    data = payload["data"]
    repository = Field(
        f"{data['repo_key'].text()}/{data['image_name'].text()}", "data.repo_key/image_name"
    )
    checksum = data["sha256"]
    hexdigest = checksum.optional_text()
    if hexdigest is not None and not _HEX64.fullmatch(hexdigest):
        raise checksum.bad("not a sha256 hex digest")
    return [
        PushEvent(
            source=incoming.source,
            event_id=None,
            host=payload["jpd_origin"].host(),
            repository=repository.repository(),
            tag=data["tag"].tag(required=True),
            digest=f"sha256:{hexdigest.lower()}" if hexdigest else None,
        )
    ]


SPEC = SourceSpec(
    name="artifactory", check=SecretOrSignatureHeader("X-JFrog-Event-Auth"), parse=parse
)
