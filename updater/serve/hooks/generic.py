"""The generic source, for CI jobs and bridges: ``{"image": "host/repo:tag",
"digest": "sha256:...", "id": "..."}``, signed like GitHub (``X-Signature``).

``image`` is read by the project's own reference parser; ``digest`` and ``id`` are
optional, and a digest may also be given in the image (``host/repo:tag@sha256:...``).
"""

from __future__ import annotations

from updater import reference
from updater.serve.auth import SignatureHeader
from updater.serve.events import Field, Incoming, PushEvent, SourceSpec, shown


def parse(incoming: Incoming, payload: Field) -> list[PushEvent]:
    image = payload["image"]
    text = image.text()
    try:
        ref = reference.parse(text)
    except reference.InvalidReference:
        raise image.bad(f"not an image reference: {shown(text)}") from None
    digest = payload["digest"].digest()
    if digest and ref.digest and digest != ref.digest:
        raise payload["digest"].bad("differs from the digest in image")
    if ref.tag is None and (digest or ref.digest) is None:
        raise image.bad("names neither a tag nor a digest")
    return [
        PushEvent(
            source=incoming.source,
            event_id=payload["id"].event_id(),
            host=ref.domain,
            repository=ref.path,
            tag=ref.tag,
            digest=digest or ref.digest,
        )
    ]


SPEC = SourceSpec(name="generic", check=SignatureHeader("X-Signature"), parse=parse)
