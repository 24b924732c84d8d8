"""The real CNCF registry's own notifications, read by the distribution source: the
registry is started with a ``notifications.endpoints`` entry pointing at a loopback
listener, images are pushed and pulled through its HTTP API, and every envelope it
sends must give exactly the manifest pushes (blobs and pulls left out)."""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.registry import REGISTRY_BIN, Registry, free_port, wait_for_port
from updater.serve.sources import Incoming, PushEvent, SourceSecrets, read_events

pytestmark = pytest.mark.registry

SECRET = "registry-notify-secret"


class Listener(http.server.ThreadingHTTPServer):
    """Records every notification request the registry sends."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[Incoming] = []
        self.changed = threading.Condition(threading.RLock())

    def events(self) -> list[dict[str, Any]]:
        with self.changed:
            return [event for item in self.received for event in json.loads(item.body)["events"]]

    def wait_for(self, action: str, digest: str, deadline: float = 60) -> None:
        # Waits on a condition with a generous bound; nothing asserts how long it took.
        end = time.monotonic() + deadline
        with self.changed:
            while not any(
                e["action"] == action and e["target"]["digest"] == digest for e in self.events()
            ):
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the registry sent no {action} event for {digest}")
                self.changed.wait(left)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Listener

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {key.lower(): value for key, value in self.headers.items()}
        source = self.path.rpartition("/")[2]
        with self.server.changed:
            self.server.received.append(Incoming(source, headers, {}, body))
            self.server.changed.notify_all()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def notifying(tmp_path: Path, listener: Listener) -> Iterator[Registry]:
    port = free_port()
    config = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(tmp_path / "data")}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "test-secret"},
        "notifications": {
            "endpoints": [
                {
                    "name": "updater",
                    "url": f"http://127.0.0.1:{listener.server_port}/hooks/distribution",
                    # Header values are lists in the registry's config.
                    "headers": {"Authorization": [f"Bearer {SECRET}"]},
                    "timeout": "2s",
                    "threshold": 3,
                    "backoff": "1s",
                }
            ]
        },
    }
    path = tmp_path / "config.yml"
    path.write_text(json.dumps(config))
    with open(tmp_path / "registry.log", "wb") as log:
        process = subprocess.Popen([REGISTRY_BIN, "serve", str(path)], stdout=log, stderr=log)
    try:
        wait_for_port(port, process)
        registry = Registry(port, process, tmp_path, lambda scope: {})
        yield registry
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_real_notifications_give_the_manifest_pushes(
    notifying: Registry, listener: Listener
) -> None:
    single = notifying.push_image("acme/api", "1.5.0", salt="single")
    digests = notifying.push_index("acme/api", "1.6.0", {"linux/amd64": "x", "linux/arm64": "y"})
    pulled = notifying.session.get(
        f"{notifying.url}/v2/acme/api/manifests/1.5.0",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert pulled.status_code == 200
    listener.wait_for("push", digests["index"])
    listener.wait_for("push", single)
    listener.wait_for("pull", single)

    found: list[PushEvent] = []
    for incoming in listener.received:
        assert incoming.headers["authorization"] == f"Bearer {SECRET}"
        found += read_events(incoming, SourceSecrets(default=SECRET), max_body=1 << 20)

    host = notifying.host
    assert {(e.host, e.repository, e.tag, e.digest) for e in found} == {
        (host, "acme/api", "1.5.0", single),
        (host, "acme/api", None, digests["linux/amd64"]),
        (host, "acme/api", None, digests["linux/arm64"]),
        (host, "acme/api", "1.6.0", digests["index"]),
    }
    assert all(e.event_id for e in found)
    # The registry also reported blob pushes and the pull; none of them became an event.
    reported = {(e["action"], e["target"]["mediaType"]) for e in listener.events()}
    assert ("pull", "application/vnd.oci.image.manifest.v1+json") in reported
    assert ("push", "application/octet-stream") in reported
