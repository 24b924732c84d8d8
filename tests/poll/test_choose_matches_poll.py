"""``choose`` picks what ``poll`` picks, given the tags the registry lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.poll import config_repo, deployment, poll, registries, report
from tests.support.registry import Registry
from updater.cli import cli

pytestmark = pytest.mark.registry

TAGS = ["main-99-aaaaaaa", "main-250-bbbbbbb", "main-1000-ccccccc", "pr-5000-ddddddd", "v3"]


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_choose_and_poll_agree(anon: Registry, repo_name: str, tmp_path: Path, order: str) -> None:
    name = f"{repo_name}-{order}"
    image = f"{anon.host}/{name}"
    anon.push_image(name, TAGS)
    repo = config_repo(
        tmp_path,
        {"app.yaml": deployment(f"{image}:latest")},
        f"""\
        images:
          - name: {image}
            policy: numerical
            order: {order}
            filter: '^main-(?P<ts>\\d+)-[0-9a-f]{{7}}$'
            extract: '$ts'
        {registries(anon, 8)}""",
    )
    polled = report(poll(repo, "--json"))["images"][0]
    config = str(repo / ".image-updater.yaml")
    result = CliRunner().invoke(
        cli, ["choose", "--config", config, "--image", image, "--json", *TAGS]
    )
    assert result.exit_code == 0, result.output
    chosen = json.loads(result.stdout)
    assert chosen["chosen"] == polled["chosen"]
    assert chosen["reason"] == polled["reason"]
    assert polled["chosen"] == ("main-1000-ccccccc" if order == "asc" else "main-99-aaaaaaa")
