"""A client for the registry HTTP API v2: tags, manifests, digests, creation times."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from updater.registry.auth import Challenge, TokenCache, fetch_token, parse_challenges
from updater.registry.credentials import Credential, CredentialStore
from updater.registry.errors import AuthError, NotFound, RegistryError
from updater.registry.hosts import (
    RegistrySettings,
    api_base,
    canonical_host,
    settings_map,
    split_repository,
)
from updater.registry.transport import (
    MAX_BODY,
    RateLimit,
    RetryPolicy,
    Transport,
    describe_host,
    parse_time,
)

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
# The OCI image spec's registered algorithms and their hex lengths; a digest written
# into a config file must be one that kubelet and containerd can pull by.
DIGEST_HEX_LENGTHS = {"sha256": 64, "sha512": 128}
_DIGEST_RE = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")
MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Bounds on what one registry may make a run read (each a one-line error)."""

    max_pages: int = 1000  # pages of one tag list
    max_page_bytes: int = 8 * MiB  # one page of tags
    max_list_bytes: int = 32 * MiB  # all pages of one tag list
    max_tags: int = 200_000  # tags of one repository
    max_manifest_bytes: int = 4 * MiB  # the distribution spec's manifest limit
    max_config_bytes: int = 8 * MiB  # an image config blob


def checked_digest(value: object, what: str) -> str:
    """``value`` if it is a well-formed sha256/sha512 digest; else a RegistryError."""
    if isinstance(value, str) and _DIGEST_RE.match(value):
        return value
    if value is None or value == "":
        raise RegistryError(f"{what}: no digest")
    shown = repr(value)[:80]
    raise RegistryError(f"{what}: {shown} is not a valid digest (expected sha256:<64 hex>)")


def content_digest(raw: bytes, algorithm: str) -> str | None:
    """The digest of ``raw`` under ``algorithm``; None for one we cannot compute."""
    if algorithm not in DIGEST_HEX_LENGTHS:
        return None
    return f"{algorithm}:{hashlib.new(algorithm, raw).hexdigest()}"


def _tag_page(raw: bytes, what: str) -> list[str]:
    """The tags of one page of ``tags/list``; a malformed page is a RegistryError."""
    try:
        page = json.loads(raw)
    except ValueError:
        raise RegistryError(f"{what}: the registry's tag list is not JSON") from None
    if not isinstance(page, dict):
        raise RegistryError(f"{what}: the registry's tag list is not a JSON object")
    tags = page.get("tags")
    if tags is None:
        return []
    if not isinstance(tags, list):
        raise RegistryError(
            f"{what}: malformed tag list: 'tags' is {type(tags).__name__}, not a list"
        )
    if not all(isinstance(tag, str) for tag in tags):
        raise RegistryError(f"{what}: malformed tag list: 'tags' holds values that are not text")
    return tags


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


@dataclass(frozen=True)
class _Hop:
    """Where one request of a lookup goes, and what may be sent there.

    ``own`` is true only for the registry's own origin (host and port): its
    credentials, and tokens from realms it named, go there and nowhere else. Any
    other host (a CDN behind a redirect, a ``Link`` elsewhere) is answered
    anonymously, with its own challenge state and token cache entries."""

    url: str
    registry: str  # canonical registry host of the repository
    own: bool

    @property
    def key(self) -> str:
        return self.registry if self.own else f"{self.registry} -> {urlsplit(self.url).netloc}"


REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5


def _registry_error_detail(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        first = errors[0]
        return f": {first.get('code', '')} {first.get('message', '')}".rstrip()
    except (ValueError, AttributeError, IndexError, TypeError, KeyError):
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
        limits: Limits | None = None,
    ) -> None:
        self.settings = settings_map(registries)
        self.credentials = credentials if credentials is not None else CredentialStore()
        self.transport = Transport(timeout=timeout, retry=retry, pool_size=max(workers, 4) * 2)
        self.tokens = TokenCache()
        self.page_size = page_size
        self.workers = workers
        self.limits = limits or Limits()
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

    def _state(self, key: str) -> _HostState:
        with self._lock:
            return self._hosts.setdefault(key, _HostState())

    def _credential(self, hop: _Hop) -> Credential | None:
        return self.credentials.lookup(hop.registry) if hop.own else None

    def _insecure(self, host: str) -> bool:
        setting = self.settings.get(canonical_host(host))
        return setting is not None and setting.insecure

    def _token(
        self, challenge: Challenge, scope: str, hop: _Hop, what: str, *, stale: str | None = None
    ) -> str:
        key = (hop.key, challenge.realm, challenge.service, scope)
        with self.tokens.lock_for(key):
            if stale is not None:
                self.tokens.drop(key, stale)
            token = self.tokens.get(key)
            if token is None:
                token, lifetime = fetch_token(
                    self.transport, challenge, scope, self._credential(hop), what
                )
                self.tokens.put(key, token, lifetime)
            return token

    def _check_realm(self, realm: str, hop: _Hop, what: str) -> None:
        """Tokens are asked for over https, unless the registry is configured insecure."""
        scheme = urlsplit(realm).scheme.lower()
        if scheme == "https" or (scheme == "http" and self._insecure(hop.registry)):
            return
        if scheme == "http":
            raise AuthError(
                f"{what}: {urlsplit(hop.url).netloc} names a plain-http token realm"
                f" ({describe_host(realm)}); refused, as credentials and tokens would travel"
                f" in clear (allow it with 'insecure: true' for {hop.registry} under"
                " 'registries:')"
            )
        raise AuthError(f"{what}: registry sent a bearer challenge without a usable realm")

    def _request(
        self,
        method: str,
        repository: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        what: str,
        max_bytes: int | None = None,
    ) -> requests.Response:
        """Send, following redirects one hop at a time; credentials only to the
        registry's own origin."""
        registry, _ = split_repository(repository)
        home = urlsplit(api_base(registry, self.settings))
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(current)
            scheme = parts.scheme.lower()
            if scheme not in ("http", "https"):
                raise RegistryError(f"{what}: refused a redirect or link to a {scheme!r} URL")
            if scheme == "http" and not (self._insecure(registry) or self._insecure(parts.netloc)):
                raise RegistryError(
                    f"{what}: refused to follow {registry} to plain-http {parts.netloc}"
                    f" (allow it with 'insecure: true' for {registry} under 'registries:')"
                )
            own = parts.netloc.lower() == home.netloc.lower() and (
                scheme == home.scheme or scheme == "https"
            )
            hop = _Hop(current, registry, own)
            response = self._authorised(method, repository, hop, headers, what, max_bytes)
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUS or not location:
                return response
            response.close()
            current = urljoin(current, location)
        raise RegistryError(f"{what}: more than {MAX_REDIRECTS} redirects")

    def _authorised(
        self,
        method: str,
        repository: str,
        hop: _Hop,
        headers: Mapping[str, str] | None,
        what: str,
        max_bytes: int | None,
    ) -> requests.Response:
        _, path = split_repository(repository)
        scope = f"repository:{path}:pull"
        state = self._state(hop.key)
        sent_token: str | None = None
        sent_scope = scope
        refusal = ""
        basic: tuple[str, str] | None = None
        extra = dict(headers or {})
        limit = max_bytes if max_bytes is not None else MAX_BODY
        if state.bearer is not None:  # known realm: fetch the token up front
            sent_token = self._token(state.bearer, scope, hop, what)
        elif state.basic:
            basic = self._basic(hop, what)
        for _ in range(3):  # the first try, a challenge, an insufficient_scope re-challenge
            send_headers = dict(extra)
            if sent_token is not None:
                send_headers["Authorization"] = f"Bearer {sent_token}"
            response = self.transport.send(
                method, hop.url, headers=send_headers, auth=basic, what=what, max_bytes=limit
            )
            if response.status_code not in (401, 403):
                return response
            challenges = parse_challenges(response.headers.get("WWW-Authenticate", ""))
            bearer = next((c for c in challenges if c.scheme == "bearer"), None)
            if bearer is not None and bearer.realm:
                self._check_realm(bearer.realm, hop, what)
                with self._lock:
                    state.bearer = Challenge(
                        "bearer", {"realm": bearer.realm, "service": bearer.service}
                    )
                wanted = bearer.scope or scope
                # the token we sent was refused (insufficient_scope, expired): fetch anew
                stale = sent_token if wanted == sent_scope else None
                refusal = bearer.error
                response.close()
                sent_token = self._token(state.bearer, wanted, hop, what, stale=stale)
                sent_scope = wanted
                continue
            if any(c.scheme == "basic" for c in challenges) and basic is None:
                response.close()
                basic = self._basic(hop, what)
                with self._lock:
                    state.basic = True
                continue
            break
        status = response.status_code
        response.close()
        netloc = urlsplit(hop.url).netloc
        if not hop.own:
            raise AuthError(
                f"{what}: {netloc}, reached from {hop.registry} by a redirect or link, refused"
                f" anonymous access (HTTP {status}); {hop.registry}'s credentials are never"
                " sent to another host"
            )
        credential = self._credential(hop)
        if status == 403:
            raise AuthError(f"{what}: access denied by {hop.registry} (HTTP 403)")
        who = "with the configured credentials" if credential else "anonymously"
        note = f", {refusal}" if refusal else ""
        raise AuthError(f"{what}: {hop.registry} refused access {who} (HTTP {status}{note})")

    def _basic(self, hop: _Hop, what: str) -> tuple[str, str]:
        if not hop.own:
            raise AuthError(
                f"{what}: {urlsplit(hop.url).netloc}, reached from {hop.registry} by a redirect"
                f" or link, asks for a password; {hop.registry}'s credentials are never sent"
                " to another host"
            )
        credential = self._credential(hop)
        if credential is None or not credential.has_basic:
            raise AuthError(
                f"{what}: {hop.registry} requires credentials; none found (docker config.json"
                " in $DOCKER_CONFIG or ~/.docker, DOCKER_AUTH_CONFIG, REGISTRY_AUTH_FILE"
                " or a credential helper)"
            )
        return credential.username, credential.password

    def _url(self, repository: str, tail: str) -> str:
        host, path = split_repository(repository)
        return f"{api_base(host, self.settings)}/v2/{path}/{tail}"

    # -- the API ------------------------------------------------------------------------

    def list_tags(self, repository: str) -> list[str]:
        """Every tag, following ``Link: <…>; rel="next"`` until there is none, within
        the limits on pages, bytes and tags."""
        what = f"listing tags of {repository}"
        limits = self.limits
        url = self._url(repository, "tags/list")
        if self.page_size:
            url += f"?n={self.page_size}"
        tags: list[str] = []
        seen: set[str] = set()
        received = 0
        for _ in range(limits.max_pages):
            seen.add(url)
            response = self._request(
                "GET", repository, url, what=what, max_bytes=limits.max_page_bytes
            )
            with response:
                if response.status_code == 404:
                    raise NotFound(
                        f"{what}: repository not found{_registry_error_detail(response)}"
                    )
                if response.status_code != 200:
                    raise RegistryError(
                        f"{what}: HTTP {response.status_code}{_registry_error_detail(response)}"
                    )
                received += len(response.content)
                tags.extend(_tag_page(response.content, what))
                if received > limits.max_list_bytes or len(tags) > limits.max_tags:
                    raise RegistryError(
                        f"{what}: the tag list passes the limit of {limits.max_tags} tags"
                        f" or {limits.max_list_bytes // (1024 * 1024)} MiB"
                    )
                following = response.links.get("next", {}).get("url")
                if not following:
                    return tags
                url = urljoin(response.url, following)
            if url in seen:
                raise RegistryError(f"{what}: the registry's pagination loops")
        raise RegistryError(f"{what}: more than {limits.max_pages} pages of tags")

    def manifest(self, repository: str, reference: str) -> Manifest:
        what = f"reading manifest {repository}:{reference}"
        url = self._url(repository, f"manifests/{reference}")
        response = self._request(
            "GET",
            repository,
            url,
            headers={"Accept": MANIFEST_ACCEPT},
            what=what,
            max_bytes=self.limits.max_manifest_bytes,
        )
        with response:
            if response.status_code == 404:
                raise NotFound(f"{what}: not found{_registry_error_detail(response)}")
            if response.status_code != 200:
                raise RegistryError(
                    f"{what}: HTTP {response.status_code}{_registry_error_detail(response)}"
                )
            raw = response.content
            header = response.headers.get("Docker-Content-Digest", "").strip()
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if header:
            checked_digest(header, f"{what}: Docker-Content-Digest")
            computed = content_digest(raw, header.partition(":")[0])
            if computed is not None and header != computed:
                raise RegistryError(f"{what}: content does not match its digest {header}")
        if reference.partition(":")[0] in DIGEST_HEX_LENGTHS:
            computed = content_digest(raw, reference.partition(":")[0])
            if computed is not None and reference != computed:
                raise RegistryError(f"{what}: content does not match the requested digest")
        try:
            body = json.loads(raw)
        except ValueError:
            raise RegistryError(f"{what}: the manifest is not JSON") from None
        if not isinstance(body, dict):
            raise RegistryError(f"{what}: the manifest is not a JSON object")
        kind = body.get("mediaType")
        media_type = kind if isinstance(kind, str) and kind else media_type
        return Manifest(media_type, header or content_digest(raw, "sha256") or "", body)

    def digest(self, repository: str, reference: str, *, platform: str | None = None) -> str:
        """The manifest digest of a tag, by HEAD; with ``platform``, that image's digest
        inside a multi-arch index. Always a valid digest, or a RegistryError."""
        if platform is not None:
            found = self.manifest(repository, reference)
            if found.is_index:
                entry = self._platform_entry(repository, reference, found, platform)
                return checked_digest(
                    entry.get("digest"), f"{repository}:{reference}: the {platform} entry"
                )
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
            header = response.headers.get("Docker-Content-Digest", "").strip()
        if header:
            return checked_digest(header, f"{what}: Docker-Content-Digest")
        return self.manifest(repository, reference).digest

    def _platform_entry(
        self, repository: str, reference: str, index: Manifest, platform: str
    ) -> dict[str, Any]:
        wanted = Platform.parse(platform)
        entries = index.body.get("manifests")
        if not isinstance(entries, list):
            raise RegistryError(f"{repository}:{reference}: the index has no list of manifests")
        platforms = [
            (e, e["platform"])
            for e in entries
            if isinstance(e, dict) and isinstance(e.get("platform"), dict)
        ]
        for entry, entry_platform in platforms:
            if wanted.matches(entry_platform):
                return entry
        offered = sorted(
            {
                str(Platform(str(p.get("os", "?")), str(p.get("architecture", "?")),
                             str(p.get("variant", ""))))
                for _, p in platforms
                if p.get("os") != "unknown"
            }
        )  # fmt: skip
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
        response = self._request(
            "GET", repository, url, what=what, max_bytes=self.limits.max_config_bytes
        )
        with response:
            if response.status_code != 200:
                raise RegistryError(
                    f"{what}: HTTP {response.status_code}{_registry_error_detail(response)}"
                )
            raw = response.content
        computed = content_digest(raw, digest.partition(":")[0])
        if computed is not None and computed != digest:
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
            where = f"{repository}:{reference}: the {platform or DEFAULT_PLATFORM} entry"
            found = self.manifest(repository, checked_digest(entry.get("digest"), where))
        if found.body.get("schemaVersion") == 1:
            history = found.body.get("history")
            first = history[0] if isinstance(history, list) and history else {}
            try:
                text = json.loads(first.get("v1Compatibility", "{}")).get("created", "")
            except (ValueError, AttributeError, TypeError):
                return None
            return parse_time(text) if isinstance(text, str) and text else None
        config = found.body.get("config")
        digest = config.get("digest") if isinstance(config, dict) else None
        if not digest:
            return None
        where = f"{repository}:{reference}: the image config"
        text = self._blob_json(repository, checked_digest(digest, where)).get("created")
        return parse_time(text) if isinstance(text, str) and text else None

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


def resolve_digest(
    repository: str,
    tag: str,
    *,
    registries: Iterable[RegistrySettings] = (),
    platform: str | None = None,
    credentials: CredentialStore | None = None,
) -> str:
    """The current manifest digest of ``repository:tag`` (``repository`` as
    normalised by ``updater.reference``), with credentials from docker config.json.

    Raises RegistryError with a one-line reason."""
    with RegistryClient(registries, credentials=credentials, workers=1) as client:
        return client.digest(repository, tag, platform=platform)
