# ruff: noqa: E501 - the table reads best one case a line
"""The ``holds:`` list: validated like the rest of the file, one line naming file:line."""

from __future__ import annotations

import pytest

from updater.config import ConfigError, parse_config

IMAGES = "images:\n  - name: ghcr.io/acme/api\n    policy: semver\n"


def test_a_documented_hold_loads() -> None:
    text = IMAGES + (
        "holds:\n  - image: ghcr.io/acme/api\n    paths: [apps/api/overlays/prod/]\n    at: 1.4.2\n"
        '    until: ">1.5.0"\n    reason: "1.5.0 leaks memory (INC-42)"\n    by: alice\n'
        "    since: 2026-12-01T10:00:00Z\n"
    )
    (hold,) = parse_config(text, "c.yaml").holds
    assert hold.repository == "ghcr.io/acme/api" and hold.paths == ("apps/api/overlays/prod",)
    assert hold.since == "2026-12-01T10:00:00Z" and hold.line == 5
    assert hold.covers("ghcr.io/acme/api", "apps/api/overlays/prod/kustomization.yaml")
    assert not hold.covers("ghcr.io/acme/api", "apps/api/overlays/dev/kustomization.yaml")
    assert hold.satisfied_by("1.5.1") and not hold.satisfied_by("1.5.0")
    assert not hold.satisfied_by("latest")


BAD = [
    ("holds:\n  - image: x\n    untill: '>1'\n", "c.yaml:6: holds[0].untill: unknown key (did you mean 'until'?)"),
    ("holds:\n  - image: x\n    until: '>>1.5.0'\n", "c.yaml:6: holds[0].until: bad semver range: improper constraint: >>1.5.0"),
    ("holds:\n  - image: x:1.0\n", "c.yaml:5: holds[0].image: give the repository without tag or digest (the version goes in 'at')"),
    ("holds:\n  - paths: [a]\n", "c.yaml:5: holds[0]: missing key 'image'"),
    ("holds:\n  - image: x\n    paths: [../a]\n", "c.yaml:6: holds[0].paths: '../a': must be relative, inside the repo"),
    ("holds:\n  - image: x\n    since: yesterday\n", "c.yaml:6: holds[0].since: expected a time like 2026-12-01T10:00:00Z, got 'yesterday'"),
    ("holds: x\n", "c.yaml:4: holds: expected a list"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_holds(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(IMAGES + text, "c.yaml")
    assert str(caught.value) == message


def test_a_file_of_holds_alone_is_enough_for_the_hold_commands_not_for_poll() -> None:
    assert parse_config("holds: []\n", "c.yaml", need_images=False).holds == ()
    with pytest.raises(ConfigError, match="missing key 'images'"):
        parse_config("holds: []\n", "c.yaml")
