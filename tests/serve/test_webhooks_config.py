# ruff: noqa: E501 - the table reads best one case a line
"""The ``webhooks:`` section: the documented example, defaults, and bad values as one
line naming the file, the line and the key."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from updater.config import ConfigError, parse_config
from updater.errors import UsageError
from updater.serve.sources import SOURCES
from updater.webhooks import SOURCE_NAMES, WebhookSettings, parse_size

IMAGES = "images:\n  - name: ghcr.io/acme/api\n    policy: semver\n"


def test_the_documented_example_loads() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "serve.md").read_text()
    block = re.search(r"```yaml\n(webhooks:\n.*?)```", doc, re.S)
    assert block, "docs/serve.md shows the webhooks: section"
    settings = parse_config(IMAGES + block.group(1), "x.yaml").webhooks
    assert settings is not None
    assert settings.secret_env == "UPDATER_WEBHOOK_SECRET"
    assert settings.source_env == {"github": "GITHUB_WEBHOOK_SECRET"}
    assert settings.debounce == timedelta(seconds=2)
    assert settings.max_body == 1024 * 1024
    assert settings.body_timeout == timedelta(seconds=30)
    assert settings.host_aliases == {"registry.internal:5000": "registry.acme.example"}


def test_defaults_without_the_section() -> None:
    assert parse_config(IMAGES, "x.yaml").webhooks is None
    assert parse_config(IMAGES + "webhooks:\n", "x.yaml").webhooks == WebhookSettings(line=4)


def test_the_source_names_are_the_sources() -> None:
    assert tuple(SOURCES) == SOURCE_NAMES


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("webhooks:\n  secrets-env: X\n", "x.yaml:5: webhooks.secrets-env: unknown key (did you mean 'secret-env'?)"),
        ("webhooks:\n  secret-env: 'NOT A NAME'\n", "x.yaml:5: webhooks.secret-env: 'NOT A NAME' is not an environment variable name"),
        ("webhooks:\n  sources:\n    gitlab: {secret-env: X}\n", "x.yaml:6: webhooks.sources.gitlab: unknown key (did you mean 'github'?)"),
        ("webhooks:\n  sources:\n    github: {}\n", "x.yaml:6: webhooks.sources.github: missing key 'secret-env'"),
        ("webhooks:\n  sources:\n    github: {secret: X}\n", "x.yaml:6: webhooks.sources.github.secret: unknown key (did you mean 'secret-env'?)"),
        ("webhooks:\n  debounce: soon\n", "x.yaml:5: webhooks.debounce: 'soon' is not a duration (like 30m, 2h, 1d, 1h30m)"),
        ("webhooks:\n  max-body: 1 megabyte\n", "x.yaml:5: webhooks.max-body: '1 megabyte' is not a size (like 1MiB, 512KiB, 65536)"),
        ("webhooks:\n  max-body: 0\n", "x.yaml:5: webhooks.max-body: must be above 0"),
        ("webhooks:\n  body-timeout: 0s\n", "x.yaml:5: webhooks.body-timeout: must be above 0"),
        ("webhooks:\n  body-timeout: later\n", "x.yaml:5: webhooks.body-timeout: 'later' is not a duration (like 30m, 2h, 1d, 1h30m)"),
        ("webhooks:\n  retries: 0\n", "x.yaml:5: webhooks.retries: expected a whole number of tries, at least 1, got 0"),
        ("webhooks:\n  host-aliases: [a]\n", "x.yaml:5: webhooks.host-aliases: expected a mapping of host: host"),
        ("webhooks:\n  host-aliases:\n    'bad host': ghcr.io\n", "x.yaml:6: webhooks.host-aliases.bad host: expected a host name (HOST[:PORT])"),
        ("webhooks: [1]\n", "x.yaml:4: webhooks: expected a mapping, got a list"),
    ],
)  # fmt: skip
def test_bad_webhooks(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(IMAGES + text, "x.yaml")
    assert str(raised.value) == message


def test_sizes_and_zero_debounce() -> None:
    assert [parse_size(t) for t in ("65536", "512KiB", "2MB", "1 MiB")] == [
        65536, 512 * 1024, 2_000_000, 1024 * 1024,
    ]  # fmt: skip
    settings = parse_config(IMAGES + "webhooks:\n  debounce: 0\n  max-body: 4096\n", "x")
    assert settings.webhooks is not None and settings.webhooks.debounce == timedelta(0)
    assert settings.webhooks.max_body == 4096


def test_a_secret_variable_that_is_unset_is_an_error() -> None:
    settings = WebhookSettings(secret_env="HOOK_SECRET", source_env={"quay": "QUAY_SECRET"})
    assert settings.secrets({"HOOK_SECRET": "a", "QUAY_SECRET": "b"}) == ("a", {"quay": "b"})
    with pytest.raises(UsageError, match=r"^webhooks.sources.quay.secret-env: environment"):
        settings.secrets({"HOOK_SECRET": "a"})
