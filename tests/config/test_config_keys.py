# ruff: noqa: E501 - the table reads best one case a line
"""Every key of an ``images:`` entry, a ``registries:`` entry and ``delivery:``: each
error path (one line naming the file, the line and the key), which of two mistakes is
reported, the defaults and the result a good entry makes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from updater.cli import cli
from updater.config import ConfigError, ImageConfig, parse_config
from updater.policy import TagPolicy
from updater.registry.hosts import RegistrySettings

S = "images:\n  - name: x\n    policy: semver\n"
N = "images:\n  - name: x\n    policy: numerical\n"
D = "images:\n  - name: x\n    policy: digest\n    tag: latest\n"

BAD = [
    # the entry itself
    ("images: [1]\n", "c.yaml:1: images[0]: expected a mapping, got a number"),
    ("images:\n  - 1: x\n    policy: semver\n", "c.yaml:2: images[0]: keys must be strings, got 1"),
    ("images:\n  - name: x\n", "c.yaml:2: images[0]: missing key 'policy'"),
    ("images: x\n", "c.yaml:1: images: expected a list, got a string"),
    ("images:\n", "c.yaml:2: images: expected a list, got nothing"),
    ("registries: []\n", "c.yaml:1: missing key 'images'"),
    # name
    ("images:\n  - name: 1\n    policy: semver\n", "c.yaml:2: images[0].name: expected a string, got a number (quote it)"),
    ("images:\n  - name: ''\n    policy: semver\n", "c.yaml:2: images[0].name: must not be empty"),
    ("images:\n  - name: 'x y'\n    policy: semver\n", "c.yaml:2: images[0].name: invalid image reference 'x y': contains white space"),
    ("images:\n  - name: Ab\n    policy: semver\n", "c.yaml:2: images[0].name: invalid image reference 'Ab': repository must be lowercase 'Ab'"),
    ("images:\n  - name: x@sha256:" + "a" * 64 + "\n    policy: semver\n", "c.yaml:2: images[0].name: give the repository without tag or digest"),
    # policy, and the keys each policy takes
    ("images:\n  - name: x\n    policy: [semver]\n", "c.yaml:3: images[0].policy: expected a string, got a list"),
    (N + "    range: '<2'\n", "c.yaml:4: images[0].range: does not apply to policy numerical"),
    (D + "    min-age: 2h\n", "c.yaml:5: images[0].min-age: does not apply to policy digest"),
    (D + "    filter: '.*'\n    extract: '$1'\n", "c.yaml:5: images[0].filter: does not apply to policy digest"),
    (S + "    order: asc\n    tag: latest\n", "c.yaml:4: images[0].order: does not apply to policy semver"),
    (S + "    tag: latest\n    order: asc\n", "c.yaml:4: images[0].tag: does not apply to policy semver"),
    (S + "    range: '>>1'\n    order: asc\n", "c.yaml:5: images[0].order: does not apply to policy semver"),
    # range, order, filter, extract, ignore
    (S + "    range: ''\n", "c.yaml:4: images[0].range: must not be empty"),
    (N + "    order: up\n", "c.yaml:4: images[0].order: expected asc or desc"),
    (N + "    order: ''\n", "c.yaml:4: images[0].order: must not be empty"),
    (S + "    extract: '$1'\n", "c.yaml:4: images[0].extract: needs a filter"),
    (N + "    extract: '$1'\n    filter: '(a'\n", "c.yaml:5: images[0].filter: bad regular expression: missing ), unterminated subpattern at position 0"),
    (N + "    extract: '$9'\n    filter: '(a)'\n", "c.yaml:4: images[0].extract: $9 is not a group of the filter"),
    (S + "    ignore: 1\n", "c.yaml:4: images[0].ignore: expected a list of strings, got a number"),
    # tag (digest), platform, min-age
    ("images:\n  - name: x\n    policy: digest\n    tag: 'bad tag'\n", "c.yaml:4: images[0].tag: invalid tag 'bad tag'"),
    ("images:\n  - name: x\n    policy: digest\n    tag: 1\n", "c.yaml:4: images[0].tag: expected a string, got a number (quote it)"),
    ("images:\n  - name: x\n    policy: digest\n    pin-digest: 1\n", "c.yaml:2: images[0]: policy digest needs 'tag': the tag to follow"),
    (S + "    platform: 1\n", "c.yaml:4: images[0].platform: expected a string, got a number (quote it)"),
    (S + "    min-age: 5\n", "c.yaml:4: images[0].min-age: expected a string, got a number (quote it)"),
    (S + "    min-age: 99999999999999w\n", "c.yaml:4: images[0].min-age: '99999999999999w' is too long (at most 999999999 days)"),
    (S + "    min-age: " + "9" * 400 + "s\n", "c.yaml:4: images[0].min-age: '" + "9" * 400 + "s' is too long (at most 999999999 days)"),
    # paths, alias, only-marked, allow-downgrade
    (S + "    paths: /abs\n", "c.yaml:4: images[0].paths: '/abs': must be relative, inside the repo"),
    (S + "    paths: ../up\n", "c.yaml:4: images[0].paths: '../up': must be relative, inside the repo"),
    (S + "    paths:\n      - ok\n      - /abs\n", "c.yaml:6: images[0].paths: '/abs': must be relative, inside the repo"),
    (S + "    paths: [ok, '']\n", "c.yaml:4: images[0].paths[1]: must not be empty"),
    (S + "    paths: [ok, ' ']\n", "c.yaml:4: images[0].paths[1]: must not be empty"),
    (S + "    paths: {a: 1}\n", "c.yaml:4: images[0].paths: expected a list of strings, got a mapping"),
    (S + "    alias: nope\n", "c.yaml:4: images[0].alias: expected NAMESPACE:NAME, got 'nope'"),
    (S + "    alias:\n      - ns:ok\n      - nope\n", "c.yaml:5: images[0].alias: expected NAMESPACE:NAME, got 'nope'"),
    (S + "    only-marked: true\n", "c.yaml:4: images[0].only-marked: needs 'alias': the policies whose marked fields to update"),
    (S + "    only-marked: 1\n", "c.yaml:4: images[0].only-marked: expected true or false, got 1"),
    (S + "    allow-downgrade: 'no'\n", "c.yaml:4: images[0].allow-downgrade: expected true or false, got 'no'"),
    # two entries
    (S + "  - name: x\n    policy: semver\n    paths: [deploy]\n", "c.yaml:4: images[1].name: x is already configured at line 2 for overlapping paths"),
    ("images:\n  - name: x\n    policy: semver\n    paths: [deploy]\n  - name: x\n    policy: semver\n    paths: [deploy/prod/]\n", "c.yaml:5: images[1].name: x is already configured at line 2 for overlapping paths"),
    # registries
    (S + "registries: x\n", "c.yaml:4: registries: expected a list, got a string"),
    (S + "registries:\n  - h\n", "c.yaml:5: registries[0]: expected a mapping, got a string"),
    (S + "registries:\n  - insecure: true\n", "c.yaml:5: registries[0]: missing key 'host'"),
    (S + "registries:\n  - host: 5000\n", "c.yaml:5: registries[0].host: expected a string, got a number (quote it)"),
    (S + "registries:\n  - host: ''\n", "c.yaml:5: registries[0].host: must not be empty"),
    (S + "registries:\n  - host: h\n    insecur: true\n", "c.yaml:6: registries[0].insecur: unknown key (did you mean 'insecure'?)"),
    # delivery: its keys are read in the file's order
    (S + "delivery: x\n", "c.yaml:4: delivery: expected a mapping, got a string"),
    (S + "delivery:\n  1: x\n", "c.yaml:5: delivery: keys must be strings, got 1"),
    (S + "delivery:\n  max-retries: -1\n", "c.yaml:5: delivery.max-retries: expected a whole number, got -1"),
    (S + "delivery:\n  max-retries: true\n", "c.yaml:5: delivery.max-retries: expected a whole number, got True"),
    (S + "delivery:\n  labels: 1\n", "c.yaml:5: delivery.labels: expected a list of strings, got a number"),
    (S + "delivery:\n  draft: 'yes'\n", "c.yaml:5: delivery.draft: expected true or false, got 'yes'"),
    (S + "delivery:\n  forge: bitbucket\n", "c.yaml:5: delivery.forge: expected one of github, gitlab, got 'bitbucket'"),
    (S + "delivery:\n  draft: 1\n  mode: yolo\n", "c.yaml:5: delivery.draft: expected true or false, got 1"),
    (S + "delivery:\n  mode: yolo\n  draft: 1\n", "c.yaml:5: delivery.mode: expected one of dry-run, write, commit, push, pull-request, got 'yolo'"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD)
def test_each_bad_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.yaml")
    assert str(caught.value) == message


def test_the_defaults_and_what_an_entry_makes() -> None:
    text = (
        "images:\n  - name: x\n    policy: semver\n    paths: ''\n"
        "  - name: y\n    policy: numerical\n    paths: [a/, b]\n    ignore: '*.sig'\n"
        "    alias: [a:b]\n    only-marked: true\n    order: desc\n    min-age: 1h30m\n"
        "    allow-downgrade: true\n"
        "  - name: z\n    policy: digest\n    tag: v1\n    platform: linux/arm/v7\n"
        "registries:\n  - host: https://Index.Docker.io/v1/\n"
    )  # fmt: skip
    config = parse_config(text, "c.yaml")
    assert config.images == (
        ImageConfig("x", "docker.io/library/x", TagPolicy(kind="semver"), paths=(".",), line=2),
        ImageConfig(
            "y",
            "docker.io/library/y",
            TagPolicy(
                kind="numerical", order="desc", ignore=("*.sig",), min_age=timedelta(minutes=90)
            ),
            paths=("a", "b"),
            aliases=("a:b",),
            line=5,
            only_marked=True,
            allow_downgrade=True,
        ),
        ImageConfig(
            "z",
            "docker.io/library/z",
            TagPolicy(kind="digest", tag="v1"),
            pin_digest=True,
            platform="linux/arm/v7",
            line=14,
        ),
    )
    assert config.registries == (RegistrySettings(host="docker.io", insecure=False),)


def test_empty_sections_are_nothing() -> None:
    config = parse_config(S + "registries:\ndelivery:\n", "c.yaml")
    assert (config.registries, config.mode, config.delivery, config.delivery_lines) == (
        (),
        None,
        {},
        {},
    )
    assert parse_config("registries: []\n", "c.yaml", need_images=False).images == ()


def test_a_duration_too_long_is_a_usage_error_on_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / ".image-updater.yaml"
    config.write_text(S + "    min-age: 99999999999999w\n", encoding="utf-8")
    args = ["choose", "--config", str(config), "--image", "x", "1.0.0"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"updater: error: {config}:4: images[0].min-age: '99999999999999w' is too long"
        " (at most 999999999 days)"
    ]
