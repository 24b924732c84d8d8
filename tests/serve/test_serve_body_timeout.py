"""``webhooks.body-timeout``: a body that trickles in slower than the configured time is
answered 408 (and queues nothing), while the server goes on answering everyone else.

The slow client sends its headers and one byte of a longer body, then stalls until it
gets an answer; the only time that matters is the configured timeout itself, and every
client-side wait is bounded far above it."""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.serve.server import WAIT, Server, config_text, poll_until, running, signed
from tests.serve.test_serve import SEMVER, make_remote

IMAGE = "registry.acme.test/acme/api"


@contextmanager
def stalled(server: Server) -> Iterator[socket.socket]:
    """A POST /hooks/generic that announces 100 bytes and sends one."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    try:
        sock.sendall(
            b"POST /hooks/generic HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        yield sock
    finally:
        sock.close()


def answer(sock: socket.socket) -> tuple[int, dict[str, str]]:
    """The status and JSON body of the response (read until the server closes, or the
    announced length arrived; the socket's timeout bounds every read)."""
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body[: _length(data)] or b"{}")


def _length(data: bytes) -> int:
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    for line in head.split("\r\n"):
        if line.startswith("content-length:"):
            return int(line.split(":", 1)[1])
    return 1 << 30


def start(tmp_path: Path, timeout: str) -> Server:
    config = tmp_path / "updater.yaml"
    config.write_text(config_text(SEMVER, f"  debounce: 0s\n  body-timeout: {timeout}\n"))
    return Server(tmp_path, config, make_remote(tmp_path).url)


def test_a_trickled_body_gets_408_and_others_are_served(tmp_path: Path) -> None:
    server = start(tmp_path, "0.3s")
    with running(server):
        server.start()
        with stalled(server) as slow:
            body = json.dumps({"image": f"{IMAGE}:1.2.0"}).encode()
            accepted = server.post("generic", body, {"X-Signature": signed(body)})
            assert accepted.status_code == 202, accepted.text
            status, refusal = answer(slow)
        assert status == 408
        assert refusal == {"error": "body not received within 0.3 s"}
        [rejected] = server.logs("rejected")
        assert rejected["status"] == 408 and rejected["source"] == "generic"
        assert 'reason="timeout",source="generic"} 1.0' in server.metrics()
        poll_until(lambda: server.state()["counts"]["delivered"] == 1, "the other event")
        assert server.state()["counts"]["queued"] == 0  # the slow body queued nothing


def test_a_stalled_body_does_not_hold_up_other_requests(tmp_path: Path) -> None:
    server = start(tmp_path, "10m")
    with running(server):
        server.start()
        with stalled(server) as slow:
            body = json.dumps({"image": f"{IMAGE}:1.2.0"}).encode()
            assert server.post("generic", body, {"X-Signature": signed(body)}).status_code == 202
            assert server.session.get(f"{server.url}/healthz", timeout=WAIT).text == "ok\n"
            # the stalled request is still open: nothing was answered to it
            readable, _, _ = select.select([slow], [], [], 0)
            assert readable == []
        assert server.logs("rejected") == []
