"""A smart-HTTP git remote: ``git http-backend`` (CGI) behind a loopback HTTP server
that demands a token (HTTP Basic, any user name, the token as password) and logs every
request's headers, per host. Two servers on different loopback addresses or ports are
different hosts (Linux answers on all of 127.0.0.0/8).

It can also misbehave: ``redirect_to`` answers every request with a redirect to another
server, and :class:`SilentServer` accepts connections and never answers.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"


def http_backend() -> str | None:
    if os.path.exists(HTTP_BACKEND):
        return HTTP_BACKEND
    try:
        exec_path = subprocess.run(
            ["git", "--exec-path"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return None
    candidate = os.path.join(exec_path, "git-http-backend")
    return candidate if os.path.exists(candidate) else None


@dataclass
class GitRequest:
    method: str
    path: str
    query: str
    user: str | None
    authorized: bool
    status: int
    host: str = ""  # the server's own address:port (which host received this)
    headers: dict[str, str] | None = None

    @property
    def authorization(self) -> str:
        return (self.headers or {}).get("authorization", "")


class GitHttpServer:
    def __init__(self, root: Path, token: str, host: str = "127.0.0.1") -> None:
        self.root = root
        self.token = token
        self.requests: list[GitRequest] = []
        self.redirect_to: str | None = None  # base URL every request is redirected to
        self.backend = http_backend()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                server._serve(self)

            do_GET = do_POST = _serve

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> GitHttpServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _read_body(self, handler: BaseHTTPRequestHandler) -> bytes:
        if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size_line = handler.rfile.readline().strip()
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    while handler.rfile.readline().strip():
                        pass
                    break
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline()
            return b"".join(chunks)
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length else b""

    def _check(self, handler: BaseHTTPRequestHandler) -> tuple[bool, str | None]:
        auth = handler.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "basic":
            return False, None
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False, None
        return password == self.token, user

    @property
    def address(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{host}:{port}"

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        body = self._read_body(handler)
        ok, user = self._check(handler)
        received = {k.lower(): v for k, v in handler.headers.items()}

        def log(authorized: bool, status: int) -> None:
            self.requests.append(
                GitRequest(
                    handler.command,
                    parts.path,
                    parts.query,
                    user,
                    authorized,
                    status,
                    self.address,
                    received,
                )
            )

        if self.redirect_to is not None:
            log(ok, 302)
            target = self.redirect_to.rstrip("/") + handler.path
            handler.send_response(302)
            handler.send_header("Location", target)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if not ok:
            log(False, 401)
            message = b"authentication required\n"
            handler.send_response(401)
            handler.send_header("WWW-Authenticate", 'Basic realm="git"')
            handler.send_header("Content-Type", "text/plain")
            handler.send_header("Content-Length", str(len(message)))
            handler.end_headers()
            handler.wfile.write(message)
            return
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "REQUEST_METHOD": handler.command,
            "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user or "bot",
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(self.root),
        }
        if handler.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = handler.headers["Content-Encoding"]
        if handler.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = handler.headers["Git-Protocol"]
        result = subprocess.run(
            [self.backend or HTTP_BACKEND], input=body, env=env, capture_output=True, check=False
        )
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = result.stdout.partition(b"\n\n")
        status = 200
        headers: list[tuple[str, str]] = []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers.append((key.strip(), value.strip()))
        log(True, status)
        handler.send_response(status)
        for key, value in headers:
            if key.lower() != "content-length":
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)


class SilentServer:
    """Accepts TCP connections, reads what it is sent, and never answers."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.socket = socket.socket()
        self.socket.bind((host, 0))
        self.socket.listen(16)
        self.received: list[bytes] = []
        self._open: list[socket.socket] = []
        self._stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> SilentServer:
        self.thread.start()
        return self

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self.socket.accept()
            except OSError:
                return
            self._open.append(conn)
            try:
                conn.settimeout(5)
                self.received.append(conn.recv(65536))
            except OSError:
                pass

    def stop(self) -> None:
        self._stopped.set()
        self.socket.close()
        for conn in self._open:
            conn.close()
