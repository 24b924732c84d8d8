# ruff: noqa: E501 - the table reads best one case a line
"""The ``environments:`` list: names, paths (globs), from, soak and delivery."""

from __future__ import annotations

from datetime import timedelta

import pytest

from updater.config import ConfigError, parse_config
from updater.environments import paths_overlap

DOCUMENTED = """\
environments:
  - name: dev
    paths: [apps/*/overlays/dev]
  - name: staging
    paths: [apps/*/overlays/staging]
    from: dev
    soak: 2h
  - name: prod
    paths: [apps/*/overlays/prod, clusters/prod/releases]
    from: staging
    soak: 24h
    delivery: {mode: pull-request, labels: [promotion], reviewers: [acme/sre]}
"""


def test_the_documented_environments_load() -> None:
    dev, staging, prod = parse_config(DOCUMENTED, "c.yaml", need_images=False).environments
    assert dev.source is None and staging.source == "dev" and prod.source == "staging"
    assert staging.soak == timedelta(hours=2) and prod.soak == timedelta(hours=24)
    assert prod.mode == "pull-request"
    assert prod.delivery == {"labels": ("promotion",), "reviewers": ("acme/sre",)}
    assert prod.paths == ("apps/*/overlays/prod", "clusters/prod/releases") and prod.line == 8


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ("apps/*/overlays/dev", "apps/*/overlays/prod", False),
        ("apps/*/overlays/dev", "apps/api/overlays/dev", True),
        ("apps/api", "apps/*/overlays/dev", True),
        ("clusters/prod", "clusters/production", False),
        ("clusters/prod*", "clusters/production", True),
        (".", "anything", True),
    ],
)
def test_paths_overlap(a: str, b: str, overlap: bool) -> None:
    assert paths_overlap(a, b) is overlap and paths_overlap(b, a) is overlap


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (DOCUMENTED.replace("name: staging", "name: dev"), "c.yaml:4: environments[1].name: dev is already at line 2"),
        (DOCUMENTED.replace("soak: 2h", "sok: 2h"), "c.yaml:7: environments[1].sok: unknown key (did you mean 'soak'?)"),
        (DOCUMENTED.replace("mode: pull-request", "mode: pr"), "c.yaml:12: environments[2].delivery.mode: expected one of dry-run, write, commit, push, pull-request, got 'pr'"),
        (DOCUMENTED.replace("labels: [promotion]", "token-env: X"), "c.yaml:12: environments[2].delivery.token-env: not allowed per environment; pass it on the command line"),
        ("environments:\n  - name: Dev\n    paths: [a]\n", "c.yaml:2: environments[0].name: 'Dev': lowercase letters, digits, '.', '_' and '-' only"),
        ("environments:\n  - name: dev\n    paths: [a]\n    from: dev\n", "c.yaml:4: environments[0].from: a cycle: dev -> dev"),
    ],
)  # fmt: skip
def test_bad_environments(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.yaml", need_images=False)
    assert str(caught.value) == message
