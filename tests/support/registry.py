"""The real CNCF registry (Debian ``docker-registry``) on 127.0.0.1 for tests and the
benchmarks: anonymous, htpasswd Basic or token auth (with a small JWT issuer it
trusts), images pushed through the registry's own HTTP API."""

from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import http.server
import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
import warnings
from collections.abc import Callable
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
