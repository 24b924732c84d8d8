"""Compose files through the command line: ``services.NAME.image``, also when a service
takes it from an extension field through a YAML merge (``<<: *base``)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tests.edit.helpers import make_repo
from updater.cli import cli

MERGED = """\
x-base: &base
  image: ghcr.io/acme/api:1.4.2   # every service's
  restart: always
services:
  api:
    <<: *base
  worker:
    <<: *base
    command: work
  pinned:
    <<: *base
    image: ghcr.io/acme/api:1.0.0
  web: &web
    image: ghcr.io/acme/web:1.4.2
  web-worker:
    <<: *web
"""


def test_an_image_merged_from_an_extension_field_is_set_once_at_its_anchor(
    tmp_path: Path,
) -> None:
    make_repo(tmp_path, {"compose.yaml": MERGED})
    scan = CliRunner().invoke(cli, ["scan", "--repo", str(tmp_path), "--json"])
    assert scan.exit_code == 0, scan.output
    found = [(r["line"], r["yaml_path"], r["image"]) for r in json.loads(scan.output)]
    assert found == [
        (2, "x-base.image", "ghcr.io/acme/api:1.4.2"),
        (12, "services.pinned.image", "ghcr.io/acme/api:1.0.0"),
        (14, "services.web.image", "ghcr.io/acme/web:1.4.2"),  # once: its worker merges it
    ]
    result = CliRunner().invoke(
        cli,
        [
            "set-image",
            "--repo",
            str(tmp_path),
            "--write",
            "ghcr.io/acme/api:1.5.0",
            "ghcr.io/acme/web:1.5.0",
        ],
    )
    assert result.exit_code == 0, result.output
    after = (tmp_path / "compose.yaml").read_text()
    assert after == MERGED.replace("1.4.2", "1.5.0").replace("1.0.0", "1.5.0")
