"""HTTP with the retries and bounds a registry needs.

429 with Retry-After, 5xx, dropped connections and timeouts are retried with bounded
exponential backoff. Every request is bounded in time as a whole (all attempts, all
waits, every byte; see ``bounded``) and cut to the run's deadline, and every answer's
body is read here, up to a size limit, so a huge or endless answer ends in a one-line
error instead of exhausting memory. Redirects are never followed here: the caller
decides, per hop, which credentials may go to the next host."""

from __future__ import annotations

import email.utils
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import requests

from updater import deadline
from updater.registry.bounded import BoundedAdapter, request_deadline
from updater.registry.errors import RegistryError

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
REQUEST_DEADLINE = 120.0  # seconds for one request: every attempt, wait and byte
MAX_BODY = 16 * 1024 * 1024  # bytes of one answer; a tag list page is far smaller
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries in all, the first included
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    max_backoff: float = 8.0
    max_retry_after: float = 60.0  # a longer Retry-After fails the lookup instead
    deadline: float = REQUEST_DEADLINE  # one request as a whole, retries included
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)


@dataclass(frozen=True)
class RateLimit:
    limit: str
    remaining: str
    source: str = ""

    def as_json(self) -> dict[str, str]:
        return {"limit": self.limit, "remaining": self.remaining, "source": self.source}


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


def describe_host(url: str) -> str:
    return urlsplit(url).netloc


def _size(count: int) -> str:
    if count >= 1024 * 1024 and count % (1024 * 1024) == 0:
        return f"{count // (1024 * 1024)} MiB"
    return f"{count} bytes"


class _TooLarge(Exception):
    pass


def _read_body(response: requests.Response, limit: int) -> bytes:
    """The whole body, decoded, or _TooLarge as soon as it passes ``limit`` bytes."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    parts: list[bytes] = []
    total = 0
    for chunk in response.iter_content(_CHUNK):
        total += len(chunk)
        if total > limit:
            raise _TooLarge
        parts.append(chunk)
    return b"".join(parts)


# what OpenSSL says when the other end answers a TLS hello in plain HTTP
_TLS_TO_PLAIN_HINTS = (
    "wrong version number",
    "record layer failure",
    "http request",
    "packet length",
)


class Transport:
    """One requests session shared by the worker threads, plus retry bookkeeping."""

    def __init__(
        self,
        *,
        timeout: tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        pool_size: int = 16,
        user_agent: str = "gitops-updater",
    ) -> None:
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.session = requests.Session()
        adapter = BoundedAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = user_agent
        self.session.trust_env = True
        self.rate_limits: dict[str, RateLimit] = {}
        self.retries = 0
        self._lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    def _note_rate_limit(self, response: requests.Response) -> None:
        limit = response.headers.get("ratelimit-limit")
        remaining = response.headers.get("ratelimit-remaining")
        if limit is None and remaining is None:
            return
        source = response.headers.get("docker-ratelimit-source", "")
        with self._lock:
            self.rate_limits[describe_host(response.url)] = RateLimit(
                limit or "", remaining or "", source
            )

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        what: str,
        max_bytes: int = MAX_BODY,
    ) -> requests.Response:
        """Send with retries, one hop (redirects are returned, not followed), the body
        read in full; ``what`` names the lookup in error messages."""
        policy = self.retry
        host = describe_host(url)
        budget = deadline.cap(policy.deadline, what)
        with request_deadline(budget) as expires:
            delay = policy.backoff
            for attempt in range(1, policy.attempts + 1):
                last = attempt == policy.attempts
                try:
                    response = self._attempt(method, url, headers, data, auth, expires, max_bytes)
                except _TooLarge:
                    raise RegistryError(
                        f"{what}: {host} sent an answer larger than {_size(max_bytes)}"
                    ) from None
                except requests.exceptions.SSLError as error:
                    raise RegistryError(self._tls_failure(url, error, what)) from None
                except (requests.RequestException, OSError) as error:
                    if time.monotonic() >= expires:
                        cut = " (what was left of the run)" if budget < policy.deadline else ""
                        raise RegistryError(
                            f"{what}: {host} did not answer in full within {budget:.2g} s{cut}"
                        ) from None
                    timed_out = isinstance(error, requests.Timeout | TimeoutError)
                    kind = "timed out" if timed_out else "connection failed"
                    if last:
                        raise RegistryError(
                            f"{what}: {host} {kind} after {attempt} attempt(s)"
                        ) from None
                    self._pause(delay, expires, what, host)
                    delay = min(delay * 2, policy.max_backoff)
                    continue
                self._note_rate_limit(response)
                if response.status_code not in RETRY_STATUS:
                    return response
                wait = delay
                if response.status_code == 429:
                    asked = retry_after(response.headers.get("Retry-After"))
                    if asked is not None:
                        if asked > policy.max_retry_after:
                            raise RegistryError(
                                f"{what}: rate limited by {host}"
                                f" (retry after {int(asked)}s){self._limit_note(url)}"
                            )
                        wait = asked
                if last:
                    reason = "rate limited" if response.status_code == 429 else "server error"
                    raise RegistryError(
                        f"{what}: {reason} from {host} (HTTP {response.status_code})"
                        f" after {attempt} attempt(s){self._limit_note(url)}"
                    )
                self._pause(wait, expires, what, host)
                delay = min(delay * 2, policy.max_backoff)
        raise AssertionError("unreachable")

    def _attempt(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
        auth: tuple[str, str] | None,
        expires: float,
        max_bytes: int,
    ) -> requests.Response:
        left = expires - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request's deadline has passed")
        connect, read = self.timeout
        response = self.session.request(
            method,
            url,
            headers=dict(headers or {}),
            data=data,
            auth=auth,
            timeout=(min(connect, left), min(read, left)),
            allow_redirects=False,
            stream=True,
        )
        try:
            body = _read_body(response, max_bytes)  # a HEAD has none; reading releases it
        except BaseException:
            response.close()
            raise
        response._content = body  # requests' own cache of the body
        return response

    def _tls_failure(self, url: str, error: Exception, what: str) -> str:
        """A TLS handshake fails for good; say so, and whether the host speaks plain http."""
        host = describe_host(url)
        text = str(error).lower()
        if any(hint in text for hint in _TLS_TO_PLAIN_HINTS) or self._answers_plain_http(url):
            return (
                f"{what}: {host} answered on plain http, not https; to allow that, set"
                f" 'insecure: true' for host {host} under 'registries:' in the config (poll),"
                f" or UPDATER_INSECURE_REGISTRIES={host} (set-image and poll)"
            )
        return f"{what}: TLS with {host} failed (certificate or protocol); not retried"

    def _answers_plain_http(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme != "https":
            return False
        try:
            with request_deadline(5.0):
                probe = self.session.request(
                    "GET",
                    f"http://{parts.netloc}/v2/",
                    timeout=(2.0, 2.0),
                    allow_redirects=False,
                    stream=True,
                )
                probe.close()
        except (requests.RequestException, OSError):
            return False
        return True

    def _pause(self, seconds: float, expires: float, what: str, host: str) -> None:
        """Wait before a retry; a wait that would pass the request's or the run's deadline
        fails now instead (Retry-After counts against both)."""
        wait = min(seconds, self.retry.max_retry_after)
        left = min(expires - time.monotonic(), deadline.cap(wait + 1.0, what))
        if wait >= left:
            raise RegistryError(
                f"{what}: {host} asks to retry in {wait:g} s, past the deadline"
                f" ({max(left, 0.0):.0f} s left)"
            )
        with self._lock:
            self.retries += 1
        self.retry.sleep(wait)

    def _limit_note(self, url: str) -> str:
        limit = self.rate_limits.get(describe_host(url))
        if limit is None:
            return ""
        return f"; ratelimit-remaining {limit.remaining} of {limit.limit}"


def parse_time(text: str) -> datetime | None:
    """RFC 3339 times as images record them (nanoseconds, 'Z'); None if unreadable."""
    m = re.match(
        r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:?\d{2})?$",
        text.strip(),
    )
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    zone = m.group(8)
    tz = timezone.utc
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:
        return None
