"""The ``webhooks:`` section of ``.image-updater.yaml``: what ``updater serve`` needs
beyond what ``poll`` reads (secrets by environment variable, debounce, body limit,
retries, the host names a registry calls itself).

Secrets are named by environment variable, never written in the file: the config
lives in the config repo, which many people can read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from updater.errors import UsageError

if TYPE_CHECKING:
    from updater.config_table import Checker as _Checker

# The sources updater/serve/sources.py reads, one per registry (and one for CI jobs).
SOURCE_NAMES = (
    "distribution", "github", "dockerhub", "harbor", "quay", "acr", "artifactory", "generic",
)  # fmt: skip
WEBHOOK_KEYS = (
    "secret-env", "sources", "debounce", "max-body", "body-timeout", "dedupe-window",
    "retries", "retry-backoff", "host-aliases",
)  # fmt: skip
SOURCE_KEYS = ("secret-env",)
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SIZE_RE = re.compile(r"^(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$")
_SIZE_UNITS = {
    None: 1, "B": 1, "KB": 1000, "KiB": 1024, "MB": 1000**2, "MiB": 1024**2,
    "GB": 1000**3, "GiB": 1024**3,
}  # fmt: skip
_HOST_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d+)?$")


@dataclass(frozen=True)
class WebhookSettings:
    secret_env: str | None = None  # default secret for every source
    source_env: Mapping[str, str] = field(default_factory=dict)  # source -> variable
    debounce: timedelta = timedelta(seconds=2)
    max_body: int = 1024 * 1024
    body_timeout: timedelta = timedelta(seconds=30)  # a body trickled slower gets 408
    dedupe_window: timedelta = timedelta(minutes=10)
    retries: int = 5  # tries of one delivery before its events are marked failed
    retry_backoff: timedelta = timedelta(seconds=5)  # first pause; doubles, capped at 5 min
    # a host as events name it -> the host as the config's image names spell it
    host_aliases: Mapping[str, str] = field(default_factory=dict)
    line: int = 0

    def secrets(
        self, environ: Mapping[str, str] | None = None
    ) -> tuple[str | None, dict[str, str]]:
        """(default secret, per-source secrets) read from the environment; a variable the
        config names but the environment lacks is an error, not an open door."""
        env = os.environ if environ is None else environ

        def read(name: str, what: str) -> str:
            value = env.get(name, "")
            if not value:
                raise UsageError(f"{what}: environment variable {name} is unset or empty")
            return value

        default = read(self.secret_env, "webhooks.secret-env") if self.secret_env else None
        per_source = {
            source: read(name, f"webhooks.sources.{source}.secret-env")
            for source, name in self.source_env.items()
        }
        return default, per_source


def parse_size(text: str) -> int:
    """``1MiB``, ``512KiB``, ``2MB``, ``65536``; raise ValueError."""
    m = _SIZE_RE.match(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not a size (like 1MiB, 512KiB, 65536)")
    return int(m.group(1)) * _SIZE_UNITS[m.group(2)]


def check_webhooks(c: _Checker, data: Any) -> WebhookSettings:
    from updater.config import parse_duration
    from updater.registry.hosts import canonical_host

    line = c.value_line(data, "webhooks")
    value = data["webhooks"]
    if value is None:
        return WebhookSettings(line=c.key_line(data, "webhooks"))
    entry = c.mapping(value, line, "webhooks", WEBHOOK_KEYS)

    def env_name(mapping: Any, key: str, path: str) -> str:
        name = c.string(mapping, key, path)
        if not _ENV_RE.match(name):
            raise c.fail(
                c.value_line(mapping, key), path, f"{name!r} is not an environment variable name"
            )
        return name

    def duration(key: str, default: timedelta) -> timedelta:
        if key not in entry:
            return default
        text = entry[key]
        if isinstance(text, int) and not isinstance(text, bool) and text == 0:
            return timedelta(0)
        try:
            return parse_duration(c.string(entry, key, f"webhooks.{key}"))
        except ValueError as error:
            raise c.fail(c.value_line(entry, key), f"webhooks.{key}", str(error)) from None

    secret_env = (
        env_name(entry, "secret-env", "webhooks.secret-env") if "secret-env" in entry else None
    )
    source_env: dict[str, str] = {}
    if "sources" in entry:
        sources = c.mapping(
            entry["sources"], c.value_line(entry, "sources"), "webhooks.sources", SOURCE_NAMES
        )
        for name, item in sources.items():
            base = f"webhooks.sources.{name}"
            one = c.mapping(item, c.value_line(sources, name), base, SOURCE_KEYS)
            if "secret-env" not in one:
                raise c.fail(c.value_line(sources, name), base, "missing key 'secret-env'")
            source_env[name] = env_name(one, "secret-env", f"{base}.secret-env")
    max_body = WebhookSettings.max_body
    if "max-body" in entry:
        raw = entry["max-body"]
        text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else None
        try:
            max_body = parse_size(text or c.string(entry, "max-body", "webhooks.max-body"))
        except ValueError as error:
            raise c.fail(c.value_line(entry, "max-body"), "webhooks.max-body", str(error)) from None
        if max_body <= 0:
            raise c.fail(c.value_line(entry, "max-body"), "webhooks.max-body", "must be above 0")
    body_timeout = duration("body-timeout", WebhookSettings.body_timeout)
    if body_timeout <= timedelta(0):
        raise c.fail(
            c.value_line(entry, "body-timeout"), "webhooks.body-timeout", "must be above 0"
        )
    retries = WebhookSettings.retries
    if "retries" in entry:
        got = entry["retries"]
        if isinstance(got, bool) or not isinstance(got, int) or got < 1:
            raise c.fail(
                c.value_line(entry, "retries"),
                "webhooks.retries",
                f"expected a whole number of tries, at least 1, got {got!r}",
            )
        retries = got
    aliases: dict[str, str] = {}
    if "host-aliases" in entry:
        table = entry["host-aliases"]
        where = c.value_line(entry, "host-aliases")
        if not isinstance(table, dict):
            raise c.fail(where, "webhooks.host-aliases", "expected a mapping of host: host")
        for name, target in table.items():
            path = f"webhooks.host-aliases.{name}"
            if not isinstance(name, str) or not _HOST_RE.match(name):
                raise c.fail(c.key_line(table, name), path, "expected a host name (HOST[:PORT])")
            if not isinstance(target, str) or not _HOST_RE.match(target):
                raise c.fail(c.value_line(table, name), path, "expected a host name (HOST[:PORT])")
            aliases[canonical_host(name)] = canonical_host(target)
    return WebhookSettings(
        secret_env=secret_env,
        source_env=source_env,
        debounce=duration("debounce", WebhookSettings.debounce),
        max_body=max_body,
        body_timeout=body_timeout,
        dedupe_window=duration("dedupe-window", WebhookSettings.dedupe_window),
        retries=retries,
        retry_backoff=duration("retry-backoff", WebhookSettings.retry_backoff),
        host_aliases=aliases,
        line=c.key_line(data, "webhooks"),
    )
