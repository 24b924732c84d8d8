# ruff: noqa: E501 - the table reads best one case a line
"""Bad config files: one line naming the file, the line and the key."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from updater.config import ConfigError, load_config, parse_config, parse_duration

GOOD = """\
images:
  - name: ghcr.io/acme/api        # repository to watch, as the files reference it
    policy: semver
    range: ">=1.2.0 <2.0.0"
    filter: '^v?(?<v>.*)$'
    extract: '$v'
    ignore: ['*.sig', '*-debug']
    pin-digest: false
    platform: linux/amd64
    min-age: 2h
    paths: [deploy/prod]
    alias: flux-system:api
  - name: nginx
    policy: digest
    tag: latest
registries:
  - host: 127.0.0.1:5000
    insecure: true
delivery:
  mode: pull-request
  branch: main
  labels: [images]
  auto-merge: true
"""


def test_the_documented_example_loads() -> None:
    config = parse_config(GOOD, "c.yaml")
    api, nginx = config.images
    assert api.repository == "ghcr.io/acme/api" and api.paths == ("deploy/prod",)
    assert api.policy.min_age == timedelta(hours=2) and api.aliases == ("flux-system:api",)
    assert api.policy.filter is not None and api.policy.filter.groupindex == {"v": 1}
    assert nginx.repository == "docker.io/library/nginx" and nginx.pin_digest
    assert config.mode == "pull-request"
    assert config.delivery == {"branch": "main", "labels": ("images",), "auto_merge": True}
    assert config.registries[0].host == "127.0.0.1:5000" and config.registries[0].insecure


BAD = [
    ("images:\n  - name: x\n    polcy: semver\n", "c.yaml:3: images[0].polcy: unknown key (did you mean 'policy'?)"),
    ("images:\n  - name: x\n    policy: semver\n    range: '>=1.2 <<2'\n", "c.yaml:4: images[0].range: bad semver range: improper constraint: >=1.2 <<2"),
    ("images:\n  - name: x\n    policy: numerical\n    filter: '(a'\n", "c.yaml:4: images[0].filter: bad regular expression: missing ), unterminated subpattern at position 0"),
    ("images:\n  - name: x\n    policy: semver\n    range: 1.2\n", "c.yaml:4: images[0].range: expected a string, got a number (quote it)"),
    ("images:\n  - name: x\n    policy: semver\n    pin-digest: yes\n", "c.yaml:4: images[0].pin-digest: expected true or false, got 'yes'"),
    ("images:\n  - name: x\n    policy: semver\n    order: asc\n", "c.yaml:4: images[0].order: does not apply to policy semver"),
    ("images:\n  - name: x\n    policy: newest\n", "c.yaml:3: images[0].policy: unknown policy 'newest' (expected semver, numerical, alphabetical, newest-build, digest)"),
    ("images:\n  - name: x\n    policy: digest\n", "c.yaml:2: images[0]: policy digest needs 'tag': the tag to follow"),
    ("images:\n  - policy: semver\n", "c.yaml:2: images[0]: missing key 'name'"),
    ("images:\n  - name: x:1.0\n    policy: semver\n", "c.yaml:2: images[0].name: give the repository without tag or digest"),
    ("images:\n  - name: x\n    policy: semver\n    min-age: soon\n", "c.yaml:4: images[0].min-age: 'soon' is not a duration (like 30m, 2h, 1d, 1h30m)"),
    ("images:\n  - name: x\n    policy: numerical\n    extract: '$1'\n", "c.yaml:4: images[0].extract: needs a filter"),
    ("images:\n  - name: x\n    policy: numerical\n    filter: '(\\d+)'\n    extract: '$2'\n", "c.yaml:5: images[0].extract: $2 is not a group of the filter"),
    ("images:\n  - name: x\n    policy: semver\n    paths: [../up]\n", "c.yaml:4: images[0].paths: '../up': must be relative, inside the repo"),
    ("images:\n  - name: x\n    policy: semver\n    ignore: [1]\n", "c.yaml:4: images[0].ignore[0]: expected a string, got a number"),
    ("images:\n  - name: x\n    policy: semver\n    platform: amd64\n", "c.yaml:4: images[0].platform: expected OS/ARCH or OS/ARCH/VARIANT, got 'amd64'"),
    ("images:\n  - name: x\n    policy: semver\n  - name: docker.io/library/x\n    policy: semver\n", "c.yaml:4: images[1].name: docker.io/library/x is already configured at line 2 for overlapping paths"),
    ("images: []\n", "c.yaml:1: images: lists no image"),
    ("image:\n  - name: x\n", "c.yaml:1: image: unknown key (did you mean 'images'?)"),
    ("images:\n  - name: x\n    policy: semver\nregistries:\n  - host: h\n    insecure: 1\n", "c.yaml:6: registries[0].insecure: expected true or false, got 1"),
    ("images:\n  - name: x\n    policy: semver\ndelivery:\n  mode: yolo\n", "c.yaml:5: delivery.mode: expected one of dry-run, write, commit, push, pull-request, got 'yolo'"),
    ("images:\n  - name: x\n    policy: semver\ndelivery:\n  brnach: main\n", "c.yaml:5: delivery.brnach: unknown key (did you mean 'branch'?)"),
    ("images:\n  - name: x\n    policy: semver\n    range: >=1.2\n", "c.yaml:4: not valid YAML: expected chomping or indentation indicators, but found '='"),
    ("", "c.yaml: empty; expected a mapping with 'images:'"),
    ("- 1\n", "c.yaml:1: expected a mapping, got a list"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_configs(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.yaml")
    assert str(caught.value) == message
    assert caught.value.exit_code == 2


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.yaml: no such config file"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"images:\n  - name: caf\xe9\n")
    with pytest.raises(ConfigError, match=r"latin1.yaml: not UTF-8"):
        load_config(bad)


def test_paths_of_different_images_may_overlap(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        images:
          - name: ghcr.io/acme/api
            policy: semver
            paths: [deploy/prod]
          - name: ghcr.io/acme/api
            policy: semver
            range: '<2'
            paths: [deploy/dev]
        """
    )
    first, second = parse_config(text, "c.yaml").images
    assert (first.paths, second.paths) == (("deploy/prod",), ("deploy/dev",))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2h", 7200), ("90m", 5400), ("1h30m", 5400), ("1d", 86400), ("1w", 604800), ("45s", 45)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
