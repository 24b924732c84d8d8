"""What only the registry client's own tests need, in front of the real registry of
tests/support/registry.py: a loopback proxy that injects 429/5xx/slow/short answers,
and a hostile host that answers however a test tells it to."""

from __future__ import annotations

import collections
import datetime as dt
import http.server
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from tests.support.registry import serve

# --------------------------------------------------------------------------- fault proxy


@dataclass
class Fault:
    kind: str  # status | slow | drop | short
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    path: str = ""  # only requests whose path contains this


@dataclass
class FaultProxy:
    """Forwards to ``target``; each queued fault answers (or spoils) one matching request."""

    target: str
    faults: collections.deque[Fault] = field(default_factory=collections.deque)
    extra_headers: dict[str, str] = field(default_factory=dict)
    # paginate tag lists as distribution v3 and Docker Hub do (2.8 sends one page)
    page_size: int = 0
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    port: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    server: http.server.ThreadingHTTPServer | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def take(self, path: str) -> Fault | None:
        for fault in list(self.faults):
            if fault.path in path:
                self.faults.remove(fault)
                return fault
        return None

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


_HOP_HEADERS = frozenset(
    {"content-length", "connection", "transfer-encoding", "content-encoding", "date", "server"}
)


def _page(
    content: bytes, path: str, query: dict[str, list[str]], default: int
) -> tuple[bytes, str | None]:
    """One page of a full tag list: sorted, after ``last``, at most ``n``; a relative
    ``Link`` to the next page while tags remain."""
    listing = json.loads(content)
    tags = sorted(listing.get("tags") or [])
    last = query.get("last", [""])[0]
    size = int(query.get("n", [str(default)])[0]) or default
    rest = [t for t in tags if t > last] if last else tags
    listing["tags"] = rest[:size]
    link = None
    if len(rest) > size:
        link = f'<{path}?last={rest[size - 1]}&n={size}>; rel="next"'
    return json.dumps(listing).encode(), link


def start_proxy(target: str) -> FaultProxy:
    proxy = FaultProxy(target)
    upstream = requests.Session()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _forward(self) -> None:
            headers = {
                k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
            }
            proxy.seen.append((self.command, self.path, headers))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            fault = proxy.take(self.path)
            if fault is not None and fault.kind == "slow":
                proxy.release.wait(fault.seconds)
            if fault is not None and fault.kind == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault is not None and fault.kind == "status":
                data = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"injected"}]}'
                self.send_response(fault.status)
                for key, value in {**proxy.extra_headers, **fault.headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            parts = urlsplit(self.path)
            paging = proxy.page_size and self.command == "GET" and parts.path.endswith("/tags/list")
            target = proxy.target + (parts.path if paging else self.path)
            answer = upstream.request(
                self.command, target, headers=headers, data=body, allow_redirects=False
            )
            content = answer.content
            link = None
            if paging and answer.status_code == 200:
                content, link = _page(content, parts.path, parse_qs(parts.query), proxy.page_size)
            if fault is not None and fault.kind == "short" and answer.status_code == 200:
                page = json.loads(content)
                page["tags"] = page["tags"][:1]  # a short page that still links onwards
                content = json.dumps(page).encode()
            self.send_response(answer.status_code)
            for key, value in answer.headers.items():
                if key.lower() not in _HOP_HEADERS:
                    self.send_header(key, value)
            if link:
                self.send_header("Link", link)
            for key, value in proxy.extra_headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)

        do_GET = do_HEAD = do_PUT = do_POST = _forward

    proxy.server, proxy.port = serve(Handler)
    return proxy


def tags_of(count: int, prefix: str = "") -> Iterator[str]:
    for n in range(count):
        yield f"{prefix}1.{n // 10}.{n % 10}"


# --------------------------------------------------------------------------- hostile hosts


@dataclass(frozen=True)
class Seen:
    """One request as a host received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def text(self) -> str:
        """Everything the client sent, for 'no secret reached this host' checks."""
        lines = [f"{self.method} {self.path}"] + [f"{k}: {v}" for k, v in self.headers.items()]
        return "\n".join(lines) + "\n" + self.body.decode("utf-8", "replace")


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterator[bytes] = b""
    length: int | None = None  # Content-Length to declare; default: len(body) or chunked
    drip: float = 0.0  # pause before each piece of the answer, status line included
    drip_headers: bool = False  # send the status line and headers one byte at a time


Route = Callable[[Seen, "HostileHost"], Answer]


@dataclass
class HostileHost:
    """A registry fake on 127.0.0.1 that misbehaves on purpose (redirects, foreign
    links and challenges, plain-http realms, slow or endless or malformed answers)
    and records every request it receives, headers and body included."""

    routes: list[tuple[str, Route]] = field(default_factory=list)  # (path regex, route)
    seen: list[Seen] = field(default_factory=list)
    port: int = 0
    scheme: str = "http"
    release: threading.Event = field(default_factory=threading.Event)
    server: http.server.ThreadingHTTPServer | None = None
    sent_bytes: int = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def route(self, pattern: str, answer: Route | Answer) -> None:
        fixed = answer
        self.routes.append(
            (pattern, answer if callable(answer) else (lambda seen, host: fixed))  # type: ignore[misc,return-value]
        )

    def received(self) -> str:
        return "\n".join(seen.text() for seen in self.seen)

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _tls_context(directory: Path) -> tuple[Any, Path]:
    """A server context with a fresh self-signed certificate for 127.0.0.1, and the
    certificate's path (for REQUESTS_CA_BUNDLE)."""
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path


def start_hostile(tls_dir: Path | None = None) -> tuple[HostileHost, Path | None]:
    """Start a hostile host; with ``tls_dir``, on https with a certificate made there
    (returned, for the client to trust)."""
    host = HostileHost(scheme="https" if tls_dir is not None else "http")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _write(self, data: bytes, drip: float) -> None:
            if drip and host.release.wait(drip):
                raise ConnectionError("released")
            self.wfile.write(data)
            self.wfile.flush()
            host.sent_bytes += len(data)

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen = Seen(self.command, self.path, dict(self.headers.items()), body)
            host.seen.append(seen)
            path = urlsplit(self.path).path
            route = next((r for p, r in host.routes if re.fullmatch(p, path)), None)
            answer = route(seen, host) if route else Answer(404, body=b'{"errors":[]}')
            chunks = [answer.body] if isinstance(answer.body, bytes) else answer.body
            declared = answer.length
            if declared is None and isinstance(answer.body, bytes):
                declared = len(answer.body)
            head = [f"HTTP/1.1 {answer.status} X\r\n"]
            head += [f"{k}: {v}\r\n" for k, v in answer.headers.items()]
            if declared is not None:
                head.append(f"Content-Length: {declared}\r\n")
            else:
                head.append("Transfer-Encoding: chunked\r\n")
            head.append("\r\n")
            raw_head = "".join(head).encode("latin-1")
            try:
                if answer.drip_headers:
                    for byte in raw_head:
                        self._write(bytes([byte]), answer.drip)
                else:
                    self._write(raw_head, answer.drip)
                if self.command == "HEAD":
                    return
                for chunk in chunks:
                    if declared is None:
                        chunk = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
                    self._write(chunk, answer.drip)
                if declared is None:
                    self._write(b"0\r\n\r\n", 0.0)
            except (ConnectionError, OSError):
                self.close_connection = True

        do_GET = do_HEAD = do_POST = do_PUT = _answer

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    cert: Path | None = None
    if tls_dir is not None:
        context, cert = _tls_context(tls_dir)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    host.server, host.port = server, int(server.server_address[1])
    return host, cert
