"""The real CNCF registry (Debian ``docker-registry``) on 127.0.0.1 for tests and the
benchmark: anonymous, htpasswd Basic or token auth (with a small JWT issuer it
trusts), images pushed through the registry's own HTTP API, and a loopback proxy
that injects 429/5xx/slow/short answers in front of it."""

from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import http.server
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

REGISTRY_BIN = shutil.which("docker-registry") or "/usr/bin/docker-registry"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
SERVICE = "test-registry"
ISSUER = "test-issuer"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes] | None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"registry exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")


def htpasswd_line(user: str, password: str) -> str:
    tool = shutil.which("htpasswd")
    if tool:
        done = subprocess.run(
            [tool, "-nbB", "-C", "5", user, password], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # bcrypt through libxcrypt: no extra dependency where htpasswd is missing

        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32))
    return f"{user}:{hashed}"


# --------------------------------------------------------------------------- token issuer


@dataclass
class TokenIssuer:
    """Signs registry JWTs (ES256, certificate in ``x5c``) for /token requests."""

    users: dict[str, str] = field(default_factory=dict)  # user -> password
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # token -> user
    anonymous: bool = False  # grant pull to anyone
    expires_in: int = 300
    # scopes to answer with an empty grant this many times (insufficient_scope tests)
    stingy: collections.Counter[str] = field(default_factory=collections.Counter)
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test token issuer")])
        now = dt.datetime.now(dt.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)
        self.cert_der_b64 = base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER))
        self._lock = threading.Lock()

    def mint(self, subject: str, scopes: list[str]) -> str:
        import jwt

        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind and name:
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "exp": now + self.expires_in,
            "nbf": now - 60,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        headers = {"x5c": [self.cert_der_b64.decode()]}
        return str(jwt.encode(claims, self.key, algorithm="ES256", headers=headers))

    def handle(
        self, method: str, query: dict[str, list[str]], headers: Any, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        form = parse_qs(body.decode()) if body else {}
        params = {k: v[0] for k, v in {**query, **form}.items()}
        user = None
        auth = headers.get("Authorization", "")
        if auth.startswith("Basic "):
            name, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            if self.users.get(name) != password:
                return 401, {"details": "bad credentials"}
            user = name
        if method == "POST":
            if params.get("grant_type") != "refresh_token":
                return 400, {"details": "unsupported grant"}
            user = self.refresh_tokens.get(params.get("refresh_token", ""))
            if user is None:
                return 401, {"details": "bad refresh token"}
        if user is None and not self.anonymous:
            return 401, {"details": "authentication required"}
        scope = params.get("scope", "")
        with self._lock:
            self.requests.append({"method": method, "user": user, **params})
            stingy = self.stingy[scope] > 0
            if stingy:
                self.stingy[scope] -= 1
        token = self.mint(user or "", [] if stingy else [s for s in scope.split(" ") if s])
        key = "access_token" if method == "POST" else "token"
        return 200, {key: token, "expires_in": self.expires_in}


def serve(
    handler_factory: Callable[..., http.server.BaseHTTPRequestHandler],
) -> tuple[http.server.ThreadingHTTPServer, int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_factory)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, int(server.server_address[1])


def start_issuer(issuer: TokenIssuer) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload = issuer.handle(method, parse_qs(parts.query), self.headers, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

    server, issuer.port = serve(Handler)
    return server


# --------------------------------------------------------------------------- the registry


@dataclass
class Registry:
    """A running docker-registry; ``push_auth`` authorises the test's own pushes."""

    port: int
    process: subprocess.Popen[bytes]
    root: Path
    push_auth: Callable[[str], dict[str, str]]
    issuer: TokenIssuer | None = None
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.session.close()

    # pushing through the HTTP API ---------------------------------------------------

    def _headers(self, name: str) -> dict[str, str]:
        return self.push_auth(f"repository:{name}:pull,push")

    def push_blob(self, name: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        headers = self._headers(name)
        head = self.session.head(f"{self.url}/v2/{name}/blobs/{digest}", headers=headers)
        if head.status_code == 200:
            return digest
        started = self.session.post(f"{self.url}/v2/{name}/blobs/uploads/", headers=headers)
        assert started.status_code == 202, started.text
        location = started.headers["Location"]
        if location.startswith("/"):
            location = self.url + location
        joiner = "&" if "?" in location else "?"
        done = self.session.put(
            f"{location}{joiner}digest={digest}",
            data=data,
            headers={**headers, "Content-Type": "application/octet-stream"},
        )
        assert done.status_code == 201, done.text
        return digest

    def put_manifest(self, name: str, reference: str, body: bytes, media_type: str) -> str:
        response = self.session.put(
            f"{self.url}/v2/{name}/manifests/{reference}",
            data=body,
            headers={**self._headers(name), "Content-Type": media_type},
        )
        assert response.status_code == 201, response.text
        return str(response.headers["Docker-Content-Digest"])

    def image_manifest(
        self,
        name: str,
        *,
        created: str,
        os: str = "linux",
        architecture: str = "amd64",
        salt: str = "",
    ) -> bytes:
        config = json.dumps(
            {
                "created": created,
                "architecture": architecture,
                "os": os,
                "config": {"Labels": {"salt": salt}},
                "rootfs": {"type": "layers", "diff_ids": []},
            },
            sort_keys=True,
        ).encode()
        layer = f"layer of {name} {salt}".encode()
        config_digest = self.push_blob(name, config)
        layer_digest = self.push_blob(name, layer)
        return json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
                "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": len(layer)}],
            }
        ).encode()

    def push_image(
        self,
        name: str,
        tags: list[str] | str,
        *,
        created: str = "2024-01-01T00:00:00Z",
        salt: str = "",
    ) -> str:
        """Push one single-platform image under each tag; return its digest."""
        body = self.image_manifest(name, created=created, salt=salt)
        digest = ""
        for tag in [tags] if isinstance(tags, str) else tags:
            digest = self.put_manifest(name, tag, body, OCI_MANIFEST)
        return digest

    def push_index(
        self, name: str, tag: str, platforms: dict[str, str], salt: str = ""
    ) -> dict[str, str]:
        """Push an OCI index with one image per ``os/arch`` -> created; return digests
        by platform, plus the index's own under ``"index"``."""
        entries, digests = [], {}
        for platform, created in platforms.items():
            os_name, arch = platform.split("/")[:2]
            body = self.image_manifest(
                name, created=created, os=os_name, architecture=arch, salt=salt + platform
            )
            reference = "sha256:" + hashlib.sha256(body).hexdigest()
            digests[platform] = digest = self.put_manifest(name, reference, body, OCI_MANIFEST)
            entries.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": digest,
                    "size": len(body),
                    "platform": {"os": os_name, "architecture": arch},
                }
            )
        index = json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        ).encode()
        digests["index"] = self.put_manifest(name, tag, index, OCI_INDEX)
        return digests


def _registry_config(root: Path, port: int, auth: dict[str, Any] | None) -> str:
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(root / "data")},
            "delete": {"enabled": True},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": "test-secret"},
    }
    if auth:
        config["auth"] = auth
    return json.dumps(config)  # JSON is YAML


def start_registry(
    root: Path,
    *,
    basic: dict[str, str] | None = None,
    issuer: TokenIssuer | None = None,
) -> Registry:
    """Start docker-registry: anonymous, or htpasswd ``basic`` users, or token auth."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    auth: dict[str, Any] | None = None
    push_auth: Callable[[str], dict[str, str]] = lambda scope: {}  # noqa: E731
    if basic:
        passwd = root / "htpasswd"
        passwd.write_text("\n".join(htpasswd_line(u, p) for u, p in basic.items()) + "\n")
        auth = {"htpasswd": {"realm": "test-realm", "path": str(passwd)}}
        user, password = next(iter(basic.items()))
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        push_auth = lambda scope: {"Authorization": f"Basic {token}"}  # noqa: E731
    elif issuer is not None:
        bundle = root / "issuer.pem"
        bundle.write_bytes(issuer.cert_pem)
        auth = {
            "token": {
                "realm": f"http://127.0.0.1:{issuer.port}/token",
                "service": SERVICE,
                "issuer": ISSUER,
                "rootcertbundle": str(bundle),
            }
        }
        push_auth = lambda scope: {"Authorization": f"Bearer {issuer.mint('pusher', [scope])}"}  # noqa: E731
    config = root / "config.yml"
    config.write_text(_registry_config(root, port, auth))
    log = open(root / "registry.log", "wb")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen([REGISTRY_BIN, "serve", str(config)], stdout=log, stderr=log)
    try:
        wait_for_port(port, process)
    except BaseException:
        process.kill()
        raise
    return Registry(port, process, root, push_auth, issuer)


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
