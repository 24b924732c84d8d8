"""set-image never leaves a pinned digest stale: a tag-only change on a reference that
pins a digest resolves the new digest from the real registry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.poll import deployment
from tests.support.registry import Registry

pytestmark = pytest.mark.registry


def set_image(repo: Path, *args: str, insecure: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "updater", "set-image", "--repo", str(repo), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "UPDATER_INSECURE_REGISTRIES": insecure},
        check=False,
    )


def test_tag_only_change_resolves_the_pinned_digest(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    old = anon.push_image(repo_name, "1.0.0", salt="a")
    new = anon.push_image(repo_name, "1.1.0", salt="b")
    image = f"{anon.host}/{repo_name}"
    assert old != new
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.yaml").write_text(deployment(f"{image}:1.0.0@{old}"))
    (repo / "values.yaml").write_text(
        f"image:\n  repository: {image}\n  tag: 1.0.0\n  digest: {old}  # pinned\n"
    )
    result = set_image(repo, "--write", f"{image}:1.1.0", insecure=anon.host)
    assert result.returncode == 0, result.stderr
    assert (repo / "app.yaml").read_text() == deployment(f"{image}:1.1.0@{new}")
    assert (repo / "values.yaml").read_text() == (
        f"image:\n  repository: {image}\n  tag: 1.1.0\n  digest: {new}  # pinned\n"
    )


def test_unknown_tag_fails_and_writes_nothing(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    digest = anon.push_image(repo_name, "1.0.0")
    image = f"{anon.host}/{repo_name}"
    repo = tmp_path / "repo"
    repo.mkdir()
    before = deployment(f"{image}:1.0.0@{digest}")
    (repo / "app.yaml").write_text(before)
    result = set_image(repo, "--write", f"{image}:9.9.9", insecure=anon.host)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "9.9.9" in result.stderr
    assert (repo / "app.yaml").read_text() == before
