"""What a webhook request is, what it yields, and how a payload is read field by field.

Every payload reader goes through :class:`Field`, so a wrong type or a missing value
anywhere becomes one :class:`Rejected` line naming the field, never a ``KeyError`` or
``TypeError`` escaping to the server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from updater.reference import (
    InvalidReference,
    normalise_domain,
    split_domain,
    split_reference,
    validate_digest,
    validate_domain,
    validate_path,
    validate_tag,
)

SHOWN_CHARS = 60  # how much of a bad value an error line quotes
MAX_ID_CHARS = 200


@dataclass(frozen=True)
class Incoming:
    """What the server hands over for ``POST /hooks/<source>``."""

    source: str
    headers: Mapping[str, str]  # lower-cased keys
    query: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class PushEvent:
    """One pushed manifest, as the source reported it.

    ``repository`` is the path inside the registry (``acme/api``), without the host;
    ``host`` is the registry host when the source says which one. A manifest pushed by
    digest only (the per-platform manifests under a multi-arch index) has ``tag=None``.
    """

    source: str
    event_id: str | None
    host: str | None
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """The image name to normalise and match: ``ghcr.io/acme/api``."""
        return f"{self.host}/{self.repository}" if self.host else self.repository


@dataclass(frozen=True)
class SourceSpec:
    """One webhook source: how it authenticates and how its payload reads.

    ``check`` raises ``Rejected(401)`` unless the request proves the secret; it runs
    before anything in the body is read. ``parse`` returns the push events a valid
    payload carries, ``[]`` for a valid payload about something else (a ping, a pull, a
    deletion), and raises ``Rejected(400)`` for one it cannot read.
    """

    name: str
    check: Callable[[Incoming, str], None]
    parse: Callable[[Incoming, Field], list[PushEvent]]


class Rejected(Exception):
    """A request that is refused; ``str(e)`` is one line and never quotes a secret."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def shown(value: object) -> str:
    """A value quoted for an error line: escaped (no control characters) and short."""
    text = ascii(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


class _Missing:
    pass


MISSING = _Missing()


class Field:
    """A value in a decoded JSON payload, with the path that names it in errors."""

    __slots__ = ("path", "value")

    def __init__(self, value: object, path: str = "") -> None:
        self.value = value
        self.path = path

    def bad(self, reason: str) -> Rejected:
        where = f"payload field {self.path}" if self.path else "payload"
        return Rejected(400, f"{where}: {reason}")

    @property
    def absent(self) -> bool:
        return self.value is MISSING or self.value is None

    def _object(self) -> dict[str, object]:
        if isinstance(self.value, dict):
            return self.value
        if self.value is MISSING:
            raise self.bad("missing")
        raise self.bad(f"expected an object, got {_kind(self.value)}")

    def __getitem__(self, key: str) -> Field:
        child = self._object().get(key, MISSING)
        return Field(child, f"{self.path}.{key}" if self.path else key)

    def object(self) -> Field:
        """This field, checked to be an object."""
        self._object()
        return self

    def items(self) -> list[Field]:
        if self.value is MISSING:
            raise self.bad("missing")
        if not isinstance(self.value, list):
            raise self.bad(f"expected a list, got {_kind(self.value)}")
        return [Field(item, f"{self.path}[{i}]") for i, item in enumerate(self.value)]

    def optional_text(self) -> str | None:
        """A string, or None when the field is missing, null or empty."""
        if self.absent:
            return None
        if not isinstance(self.value, str):
            raise self.bad(f"expected a string, got {_kind(self.value)}")
        return self.value or None

    def text(self) -> str:
        value = self.optional_text()
        if value is None:
            raise self.bad("missing" if self.value is MISSING else "empty")
        return value

    def repository(self) -> str:
        value = self.text()
        try:
            validate_path(value, original=value)
        except InvalidReference:
            raise self.bad(f"not a repository name: {shown(value)}") from None
        return value

    def tag(self, *, required: bool = False) -> str | None:
        value = self.text() if required else self.optional_text()
        if value is not None:
            try:
                validate_tag(value, original=value)
            except InvalidReference:
                raise self.bad(f"not a tag: {shown(value)}") from None
        return value

    def event_id(self) -> str | None:
        """The source's own id for an event, which the server deduplicates on."""
        value = self.optional_text()
        if value is not None and (len(value) > MAX_ID_CHARS or not value.isprintable()):
            raise self.bad(f"not an event id: {shown(value)}")
        return value

    def digest(self) -> str | None:
        value = self.optional_text()
        if value is not None:
            try:
                validate_digest(value, original=value)
            except InvalidReference:
                raise self.bad(f"not a digest: {shown(value)}") from None
        return value

    def host(self) -> str | None:
        """A registry host, bare (``127.0.0.1:5000``) or as a URL's host part."""
        value = self.optional_text()
        if value is None:
            return None
        host = value
        if "://" in host:
            try:
                host = urlsplit(host).netloc.rpartition("@")[2]
            except ValueError:
                host = ""
        return self._checked_host(host.lower(), value)

    def reference_host(self) -> str | None:
        """The registry host of an image reference (``quay.io/acme/api:1``), read the way
        Docker reads it: no host-like first component means Docker Hub."""
        value = self.optional_text()
        if value is None:
            return None
        name = split_reference(value).name
        return self._checked_host(split_domain(name)[0].lower(), value)

    def _checked_host(self, host: str, value: str) -> str:
        try:
            validate_domain(host, original=host)
        except InvalidReference:
            # A URL may carry user:password@; such a value is not quoted back.
            quoted = "" if "@" in value else f" {shown(value)}"
            raise self.bad(f"no registry host in{quoted or ' the value'}") from None
        return normalise_domain(host)


def load_json(body: bytes) -> Field:
    """Decode a request body; anything but strict UTF-8 JSON is one 400 line."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise Rejected(400, f"body is not UTF-8 (byte {err.start})") from None
    try:
        return Field(json.loads(text.removeprefix("\ufeff"), parse_constant=_no_constant))
    except json.JSONDecodeError as err:
        raise Rejected(
            400, f"body is not JSON: {err.msg} at line {err.lineno} column {err.colno}"
        ) from None
    except RecursionError:
        raise Rejected(400, "body is not JSON this server reads: nested too deeply") from None
    except ValueError as err:  # NaN/Infinity, or an integer too long to convert
        raise Rejected(400, f"body is not JSON this server reads: {shown(str(err))}") from None


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")
