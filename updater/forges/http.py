"""HTTP for forge clients: a session that never carries a token off the API's origin.

python-gitlab sends ``PRIVATE-TOKEN``/``JOB-TOKEN`` as plain headers, which requests
keeps across a redirect to another host (it strips only ``Authorization``), and follows
``Link: next`` URLs wherever they point. This session refuses any request, redirect hop
included, whose origin is not the API's: the caller turns that into one line.
Imported only when a forge is opened (it brings requests).
"""

from __future__ import annotations

from typing import Any

import requests

from updater import deadline
from updater.remote import origin, redact_url

REQUEST_SECONDS = 30.0


class OffOriginRequest(requests.RequestException):
    """The forge sent the client to another origin (redirect or pagination link)."""

    def __init__(self, target: str, allowed: str) -> None:
        super().__init__(f"{redact_url(target)} is not {allowed}")
        self.target = redact_url(target)


class SameOriginSession(requests.Session):
    def __init__(self, api_url: str) -> None:
        super().__init__()
        self.allowed = origin(api_url)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if origin(request.url or "") != self.allowed:
            raise OffOriginRequest(request.url or "", self.allowed)
        given = kwargs.get("timeout")
        left = deadline.cap(REQUEST_SECONDS, "forge request")
        kwargs["timeout"] = min(given, left) if isinstance(given, (int, float)) else left
        return super().send(request, **kwargs)


def off_origin_message(forge: str, action: str, api_url: str, target: str) -> str:
    return (
        f"{forge}: {action} failed: {redact_url(api_url)} sent the client to {target}"
        " (a redirect or a next-page link to another host); the token is not sent there."
        " If that is the API, pass it as --api-url"
    )
