"""The HTTP side: ``POST /hooks/<source>``, ``/healthz``, ``/readyz``, ``/metrics``.

A hook request is read up to ``max-body`` (413 beyond, before anything is parsed),
authenticated and parsed by the source (401, 400 with a one-line reason), then its
events are committed to the queue and only then answered 202. No answer carries a
traceback: an unexpected error is a one-line 500 and the events were not stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from updater.serve.log import Log
from updater.serve.metrics import CONTENT_TYPE, Metrics
from updater.serve.queue import Store
from updater.serve.sources import HookSettings, Incoming, Rejected, read_events
from updater.webhooks import SOURCE_NAMES

REJECTION_LABELS = {
    400: "bad-request",
    401: "unauthorized",
    404: "unknown-source",
    408: "timeout",
    413: "too-large",
}


@dataclass
class Readiness:
    """What ``/readyz`` reports: None while the start-up checks run, then the first
    problem found ("" when there is none)."""

    problem: str | None = None


def build_app(
    store: Store,
    settings: Callable[[], HookSettings],  # the ones in force (a reload swaps them)
    metrics: Metrics,
    log: Log,
    readiness: Readiness,
    worker_alive: Callable[[], bool],
) -> Starlette:
    async def read_body(request: Request, hooks: HookSettings) -> bytes | None:
        """The body, or None once it passes ``max-body`` (read no further)."""
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > hooks.max_body:
            return None
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > hooks.max_body:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def refuse(source: str, status: int, reason: str, request: Request) -> Response:
        label = REJECTION_LABELS.get(status, "bad-request")
        metrics.rejected.labels(source if source in SOURCE_NAMES else "unknown", label).inc()
        client = request.client.host if request.client else None
        log("rejected", source=source, status=status, reason=reason, client=client)
        return JSONResponse({"error": reason}, status_code=status)

    async def hook(request: Request) -> Response:
        source = str(request.path_params["source"])
        label = source if source in SOURCE_NAMES else "unknown"
        metrics.received.labels(label).inc()
        if source not in SOURCE_NAMES:
            return refuse(source, 404, f"no such source {source!r}", request)
        hooks = settings()  # once: one request is judged by one config
        try:
            body = await asyncio.wait_for(read_body(request, hooks), hooks.body_seconds)
        except asyncio.TimeoutError:
            within = f"{hooks.body_seconds:g} s"
            return refuse(source, 408, f"body not received within {within}", request)
        if body is None:
            return refuse(source, 413, f"body over max-body ({hooks.max_body} bytes)", request)
        incoming = Incoming(
            source=source,
            headers={k.lower(): v for k, v in request.headers.items()},
            query=dict(request.query_params),
            body=body,
        )
        try:
            events = read_events(incoming, hooks.secrets, max_body=hooks.max_body)
        except Rejected as rejected:
            return refuse(source, rejected.status, str(rejected), request)
        except Exception as error:  # a source's bug: a one-line 400, never a traceback
            return refuse(source, 400, f"cannot read the payload ({type(error).__name__})", request)
        try:
            admitted = await asyncio.wrap_future(store.submit(events))
        except Exception as error:
            log("error", source=source, reason=f"cannot store events: {error}")
            return JSONResponse({"error": "cannot store the events; try again"}, status_code=503)
        metrics.accepted.labels(source).inc(len(events))
        duplicates = 0
        for event, admission in zip(events, admitted, strict=True):
            if admission.duplicate_of is not None:
                duplicates += 1
                metrics.ignored.labels("duplicate").inc()
            log(
                "event",
                seq=admission.seq,
                state="duplicate" if admission.duplicate_of is not None else "queued",
                source=source,
                event_id=event.event_id,
                host=event.host,
                repository=event.repository,
                tag=event.tag,
                digest=event.digest,
                duplicate_of=admission.duplicate_of,
            )
        return JSONResponse(
            {
                "accepted": len(events),
                "duplicates": duplicates,
                "events": [a.seq for a in admitted],
            },
            status_code=202,
        )

    async def healthz(request: Request) -> Response:
        if not worker_alive():
            return PlainTextResponse("worker stopped\n", status_code=503)
        return PlainTextResponse("ok\n")

    async def readyz(request: Request) -> Response:
        problem = readiness.problem
        if problem is None:
            return PlainTextResponse("starting: checking the config repo\n", status_code=503)
        if problem:
            return PlainTextResponse(f"not ready: {problem}\n", status_code=503)
        if not store.writable():
            return PlainTextResponse("not ready: the state dir is not writable\n", status_code=503)
        return PlainTextResponse("ready\n")

    async def render_metrics(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    return Starlette(
        routes=[
            Route("/hooks/{source}", hook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", render_metrics, methods=["GET"]),
        ]
    )
