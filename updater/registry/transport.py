"""HTTP with the retries a registry needs: 429 with Retry-After, 5xx, dropped
connections and timeouts, each retried with bounded exponential backoff."""

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
from requests.adapters import HTTPAdapter

from updater.registry.errors import RegistryError

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries in all, the first included
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    max_backoff: float = 8.0
    max_retry_after: float = 60.0  # a longer Retry-After fails the lookup instead
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
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
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
    ) -> requests.Response:
        """Send with retries; ``what`` names the lookup in error messages."""
        policy = self.retry
        delay = policy.backoff
        for attempt in range(1, policy.attempts + 1):
            last = attempt == policy.attempts
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=dict(headers or {}),
                    data=data,
                    auth=auth,
                    timeout=self.timeout,
                    allow_redirects=True,
                )
            except (requests.ConnectionError, requests.Timeout) as error:
                kind = "timed out" if isinstance(error, requests.Timeout) else "connection failed"
                if last:
                    raise RegistryError(
                        f"{what}: {describe_host(url)} {kind} after {attempt} attempt(s)"
                    ) from None
                self._pause(delay)
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
                            f"{what}: rate limited by {describe_host(url)}"
                            f" (retry after {int(asked)}s){self._limit_note(url)}"
                        )
                    wait = asked
            if last:
                reason = "rate limited" if response.status_code == 429 else "server error"
                raise RegistryError(
                    f"{what}: {reason} from {describe_host(url)} (HTTP {response.status_code})"
                    f" after {attempt} attempt(s){self._limit_note(url)}"
                )
            response.close()
            self._pause(wait)
            delay = min(delay * 2, policy.max_backoff)
        raise AssertionError("unreachable")

    def _pause(self, seconds: float) -> None:
        with self._lock:
            self.retries += 1
        self.retry.sleep(min(seconds, self.retry.max_retry_after))

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
