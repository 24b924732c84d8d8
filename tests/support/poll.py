"""Building blocks of the tests that run ``updater poll`` against the real registry: a
Deployment naming an image, a config repo with its ``.image-updater.yaml``, the
``registries:`` entry for a test registry, and the poll itself through the CLI."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from click.testing import CliRunner, Result

from tests.support.registry import Registry
from updater.cli import cli


def deployment(image: str, name: str = "app") -> str:
    return textwrap.dedent(
        f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {name}  # keep this comment
        spec:
          template:
            spec:
              containers:
                - name: {name}
                  image: {image}
        """
    )


def config_repo(tmp_path: Path, files: dict[str, str], config: str) -> Path:
    repo = tmp_path / "config-repo"
    repo.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (repo / ".image-updater.yaml").write_text(textwrap.dedent(config))
    return repo


def poll(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["poll", "--repo", str(repo), *args], catch_exceptions=False)


def report(result: Result) -> dict:  # type: ignore[type-arg]
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def registries(registry: Registry, indent: int = 0) -> str:
    pad = " " * indent
    return f"registries:\n{pad}  - host: {registry.host}\n{pad}    insecure: true\n"
