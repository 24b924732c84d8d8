"""A client for the registry HTTP API v2: tags, manifests, digests, creation times."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import requests

from updater.registry.auth import Challenge, TokenCache, fetch_token, parse_challenges
from updater.registry.credentials import Credential, CredentialStore
from updater.registry.errors import AuthError, NotFound, RegistryError
from updater.registry.hosts import RegistrySettings, api_base, settings_map, split_repository
from updater.registry.transport import RateLimit, RetryPolicy, Transport, parse_time

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_ACCEPT = ", ".join(
    [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST, f"{DOCKER_V1_SIGNED};q=0.5"]
)
DEFAULT_PLATFORM = "linux/amd64"
MAX_PAGES = 10_000


@dataclass(frozen=True)
class Manifest:
    media_type: str
    digest: str
    body: dict[str, Any]

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES or "manifests" in self.body


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"platform {text!r}: expected OS/ARCH or OS/ARCH/VARIANT")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else "")

    def matches(self, entry: Mapping[str, Any]) -> bool:
        if entry.get("os") != self.os or entry.get("architecture") != self.architecture:
            return False
        return not self.variant or entry.get("variant", "") == self.variant

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass
class _HostState:
    bearer: Challenge | None = None  # the realm/service this host sent us to
    basic: bool = False  # the host asked for Basic and we have credentials


def _registry_error_detail(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        first = errors[0]
        return f": {first.get('code', '')} {first.get('message', '')}".rstrip()
    except (ValueError, AttributeError, IndexError, TypeError):
        return ""


class RegistryClient:
    """Thread-safe: one client serves all the lookups of a run, concurrently."""

    def __init__(
        self,
        registries: Iterable[RegistrySettings] = (),
        *,
        credentials: CredentialStore | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        page_size: int | None = 1000,
        workers: int = 8,
    ) -> None:
        self.settings = settings_map(registries)
        self.credentials = credentials if credentials is not None else CredentialStore()
        self.transport = Transport(timeout=timeout, retry=retry, pool_size=max(workers, 4) * 2)
        self.tokens = TokenCache()
        self.page_size = page_size
        self.workers = workers
        self._hosts: dict[str, _HostState] = {}
        self._lock = threading.Lock()
        self._blobs: dict[tuple[str, str], dict[str, Any]] = {}

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    @property
    def rate_limits(self) -> dict[str, RateLimit]:
        return dict(self.transport.rate_limits)

    # -- requests with authentication ------------------------------------------------

    def _state(self, host: str) -> _HostState:
        with self._lock:
            return self._hosts.setdefault(host, _HostState())

    def _credential(self, host: str) -> Credential | None:
        return self.credentials.lookup(host)

    def _token(
        self, challenge: Challenge, scope: str, host: str, what: str, *, stale: str | None = None
    ) -> str:
        key = (challenge.realm, challenge.service, scope)
        with self.tokens.lock_for(key):
            if stale is not None:
                self.tokens.drop(key, stale)
            token = self.tokens.get(key)
            if token is None:
                token, lifetime = fetch_token(
                    self.transport, challenge, scope, self._credential(host), what
                )
                self.tokens.put(key, token, lifetime)
            return token

    def _request(
        self,
        method: str,
        repository: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        what: str,
    ) -> requests.Response:
        host, path = split_repository(repository)
        scope = f"repository:{path}:pull"
        state = self._state(host)
        sent_token: str | None = None
        sent_scope = scope
        refusal = ""
        basic: tuple[str, str] | None = None
        extra = dict(headers or {})
        if state.bearer is not None:  # known realm: fetch the token up front
            sent_token = self._token(state.bearer, scope, host, what)
        elif state.basic:
            basic = self._basic(host, what)
        for _ in range(3):  # the first try, a challenge, an insufficient_scope re-challenge
            send_headers = dict(extra)
            if sent_token is not None:
                send_headers["Authorization"] = f"Bearer {sent_token}"
            response = self.transport.send(method, url, headers=send_headers, auth=basic, what=what)
            if response.status_code not in (401, 403):
                return response
            challenges = parse_challenges(response.headers.get("WWW-Authenticate", ""))
            bearer = next((c for c in challenges if c.scheme == "bearer"), None)
            if bearer is not None and bearer.realm:
                with self._lock:
                    state.bearer = Challenge(
                        "bearer", {"realm": bearer.realm, "service": bearer.service}
                    )
                wanted = bearer.scope or scope
                # the token we sent was refused (insufficient_scope, expired): fetch anew
                stale = sent_token if wanted == sent_scope else None
                refusal = bearer.error
                response.close()
                sent_token = self._token(state.bearer, wanted, host, what, stale=stale)
                sent_scope = wanted
                continue
            if any(c.scheme == "basic" for c in challenges) and basic is None:
                response.close()
                basic = self._basic(host, what)
                with self._lock:
                    state.basic = True
                continue
            break
        status = response.status_code
        response.close()
        credential = self._credential(host)
        if status == 403:
            raise AuthError(f"{what}: access denied by {host} (HTTP 403)")
        who = "with the configured credentials" if credential else "anonymously"
        note = f", {refusal}" if refusal else ""
        raise AuthError(f"{what}: {host} refused access {who} (HTTP {status}{note})")

    def _basic(self, host: str, what: str) -> tuple[str, str]:
        credential = self._credential(host)
        if credential is None or not credential.has_basic:
            raise AuthError(
                f"{what}: {host} requires credentials; none found "
                "(docker config.json, DOCKER_AUTH_CONFIG or a credential helper)"
            )
        return credential.username, credential.password

    def _url(self, repository: str, tail: str) -> str:
        host, path = split_repository(repository)
        return f"{api_base(host, self.settings)}/v2/{path}/{tail}"

    # -- the API ------------------------------------------------------------------------

    def list_tags(self, repository: str) -> list[str]:
        """Every tag, following ``Link: <…>; rel="next"`` until there is none."""
        what = f"listing tags of {repository}"
        url = self._url(repository, "tags/list")
        if self.page_size:
            url += f"?n={self.page_size}"
        tags: list[str] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            seen.add(url)
            response = self._request("GET", repository, url, what=what)
            with response:
                if response.status_code == 404:
                    raise NotFound(
                        f"{what}: repository not found{_registry_error_detail(response)}"
                    )
                if response.status_code != 200:
                    raise RegistryError(
                        f"{what}: HTTP {response.status_code}{_registry_error_detail(response)}"
                    )
                try:
                    page = response.json().get("tags") or []
                except (ValueError, AttributeError):
                    raise RegistryError(f"{what}: the registry sent no tag list") from None
                tags.extend(str(t) for t in page)
                following = response.links.get("next", {}).get("url")
                if not following:
                    return tags
                url = urljoin(response.url, following)
            if url in seen:
                raise RegistryError(f"{what}: the registry's pagination loops")
        raise RegistryError(f"{what}: more than {MAX_PAGES} pages")

    def manifest(self, repository: str, reference: str) -> Manifest:
        what = f"reading manifest {repository}:{reference}"
        url = self._url(repository, f"manifests/{reference}")
        response = self._request(
            "GET", repository, url, headers={"Accept": MANIFEST_ACCEPT}, what=what
        )
        with response:
            if response.status_code == 404:
                raise NotFound(f"{what}: not found{_registry_error_detail(response)}")
            if response.status_code != 200:
                raise RegistryError(
                    f"{what}: HTTP {response.status_code}{_registry_error_detail(response)}"
                )
            raw = response.content
            header = response.headers.get("Docker-Content-Digest", "")
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        computed = "sha256:" + hashlib.sha256(raw).hexdigest()
        if header.startswith("sha256:") and header != computed:
            raise RegistryError(f"{what}: content does not match its digest {header}")
        if reference.startswith("sha256:") and reference != computed:
            raise RegistryError(f"{what}: content does not match the requested digest")
        try:
            body = json.loads(raw)
        except ValueError:
            raise RegistryError(f"{what}: the manifest is not JSON") from None
        if not isinstance(body, dict):
            raise RegistryError(f"{what}: the manifest is not a JSON object")
        media_type = str(body.get("mediaType") or media_type)
        return Manifest(media_type, header or computed, body)

    def digest(self, repository: str, reference: str, *, platform: str | None = None) -> str:
        """The manifest digest of a tag, by HEAD; with ``platform``, that image's digest
        inside a multi-arch index."""
        if platform is not None:
            found = self.manifest(repository, reference)
            if found.is_index:
                return str(self._platform_entry(repository, reference, found, platform)["digest"])
            return found.digest
        what = f"resolving digest of {repository}:{reference}"
        url = self._url(repository, f"manifests/{reference}")
        response = self._request(
            "HEAD", repository, url, headers={"Accept": MANIFEST_ACCEPT}, what=what
        )
        with response:
            if response.status_code == 404:
                raise NotFound(f"{what}: not found")
            if response.status_code != 200:
                raise RegistryError(f"{what}: HTTP {response.status_code}")
            header = response.headers.get("Docker-Content-Digest")
        return header or self.manifest(repository, reference).digest

    def _platform_entry(
        self, repository: str, reference: str, index: Manifest, platform: str
    ) -> dict[str, Any]:
        wanted = Platform.parse(platform)
        for entry in index.body.get("manifests") or []:
            if isinstance(entry, dict) and wanted.matches(entry.get("platform") or {}):
                return entry
        offered = sorted(
            {
                str(Platform(p.get("os", "?"), p.get("architecture", "?"), p.get("variant", "")))
                for e in index.body.get("manifests") or []
                if isinstance(e, dict)
                for p in [e.get("platform") or {}]
                if p.get("os") != "unknown"
            }
        )
        raise NotFound(
            f"{repository}:{reference}: no {wanted} image in the index"
            f" (it has {', '.join(offered) or 'none'})"
        )

    def _blob_json(self, repository: str, digest: str) -> dict[str, Any]:
        key = (repository, digest)
        with self._lock:
            if key in self._blobs:
                return self._blobs[key]
        what = f"reading image config {digest[:19]} of {repository}"
        url = self._url(repository, f"blobs/{digest}")
        response = self._request("GET", repository, url, what=what)
        with response:
            if response.status_code != 200:
                raise RegistryError(
                    f"{what}: HTTP {response.status_code}{_registry_error_detail(response)}"
                )
            raw = response.content
        if digest.startswith("sha256:") and "sha256:" + hashlib.sha256(raw).hexdigest() != digest:
            raise RegistryError(f"{what}: content does not match its digest")
        try:
            body = json.loads(raw)
        except ValueError:
            raise RegistryError(f"{what}: not JSON") from None
        result = body if isinstance(body, dict) else {}
        with self._lock:
            self._blobs[key] = result
        return result

    def created(
        self, repository: str, reference: str, *, platform: str | None = None
    ) -> datetime | None:
        """When the image was built (its config's ``created``); for an index, the
        image of ``platform`` (default linux/amd64)."""
        found = self.manifest(repository, reference)
        if found.is_index:
            entry = self._platform_entry(repository, reference, found, platform or DEFAULT_PLATFORM)
            found = self.manifest(repository, str(entry["digest"]))
        if found.body.get("schemaVersion") == 1:
            history = found.body.get("history") or [{}]
            try:
                text = json.loads(history[0].get("v1Compatibility", "{}")).get("created", "")
            except (ValueError, AttributeError):
                return None
            return parse_time(str(text)) if text else None
        config = found.body.get("config") or {}
        digest = config.get("digest") if isinstance(config, dict) else None
        if not digest:
            return None
        text = self._blob_json(repository, str(digest)).get("created")
        return parse_time(str(text)) if text else None

    def created_many(
        self, repository: str, tags: Sequence[str], *, platform: str | None = None
    ) -> dict[str, datetime | None]:
        if not tags:
            return {}
        if len(tags) == 1:
            return {tags[0]: self.created(repository, tags[0], platform=platform)}
        with ThreadPoolExecutor(max_workers=min(self.workers, len(tags))) as pool:
            results = pool.map(lambda t: self.created(repository, t, platform=platform), tags)
            return dict(zip(tags, results, strict=True))


def resolve_digest_for(
    repository: str,
    tag: str,
    *,
    registries: Iterable[RegistrySettings] = (),
    platform: str | None = None,
    credentials: CredentialStore | None = None,
) -> str:
    """The current manifest digest of ``repository:tag`` (``repository`` as
    normalised by ``updater.reference``), with credentials from docker config.json.

    Raises RegistryError (a DeliveryError) with a one-line reason."""
    with RegistryClient(registries, credentials=credentials, workers=1) as client:
        return client.digest(repository, tag, platform=platform)
