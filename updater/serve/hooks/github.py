"""GitHub Packages (GHCR): ``package`` and ``registry_package`` webhooks.

Counted: action ``published`` or ``updated`` of a package whose ``package_type`` is
``container``. The tag is ``package_version.container_metadata.tag.name``; GHCR also
sends an event per platform manifest of a multi-arch push, with an empty tag name,
which becomes ``tag=None``. ``ping`` and every other event are valid and yield nothing.
"""

from __future__ import annotations

from updater.serve.auth import SignatureHeader
from updater.serve.events import MAX_ID_CHARS, Field, Incoming, PushEvent, Rejected, SourceSpec

EVENTS = ("package", "registry_package")  # the X-GitHub-Event values; also the payload key
ACTIONS = frozenset({"published", "updated"})
GHCR = "ghcr.io"


def _sha256(field: Field) -> str | None:
    value = field.optional_text()
    return field.digest() if value is not None and value.startswith("sha256:") else None


def parse(incoming: Incoming, payload: Field) -> list[PushEvent]:
    kind = incoming.headers.get("x-github-event", "")
    if kind not in EVENTS:
        return []
    if payload["action"].text() not in ACTIONS:
        return []
    package = payload[kind]
    if package["package_type"].text().lower() != "container":
        return []
    owner = package["owner"]["login"].text()
    repository = Field(f"{owner}/{package['name'].text()}".lower(), f"{kind}.owner.login/name")
    version = package["package_version"].object()
    metadata = version["container_metadata"]
    tag = digest = None
    if not metadata.absent and not metadata["tag"].absent:
        tag = metadata["tag"]["name"].tag()
        digest = _sha256(metadata["tag"]["digest"])
    digest = digest or _sha256(version["version"]) or _sha256(version["name"])
    return [
        PushEvent(
            source=incoming.source,
            event_id=_delivery(incoming),
            host=version["package_url"].reference_host() or GHCR,
            repository=repository.repository(),
            tag=tag,
            digest=digest,
        )
    ]


def _delivery(incoming: Incoming) -> str | None:
    # The delivery GUID stays the same when GitHub redelivers, so it deduplicates.
    value = incoming.headers.get("x-github-delivery") or None
    if value is not None and (len(value) > MAX_ID_CHARS or not value.isprintable()):
        raise Rejected(400, "X-GitHub-Delivery header is not a delivery id")
    return value


SPEC = SourceSpec(name="github", check=SignatureHeader("X-Hub-Signature-256"), parse=parse)
