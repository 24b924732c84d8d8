"""A digest lookup that fails names the file and line that needed the digest; a
registry that answers on plain http is named, with how to allow it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.registry.test_set_image_digest import set_image
from tests.support.poll import config_repo, deployment, poll, registries
from tests.support.registry import Registry

pytestmark = pytest.mark.registry


def test_set_image_names_the_pinned_reference_whose_digest_failed(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    digest = anon.push_image(repo_name, "1.0.0")
    image = f"{anon.host}/{repo_name}"
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    (repo / "deploy/plain.yaml").write_text(deployment(f"{image}:1.0.0"))
    before = "# the api\n" + f"image:\n  repository: {image}\n  tag: 1.0.0\n  digest: {digest}\n"
    (repo / "deploy/values.yaml").write_text(before)
    result = set_image(repo, "--write", f"{image}:9.9.9", insecure=anon.host)
    assert result.returncode == 5
    assert result.stderr == (
        f"updater: error: deploy/values.yaml:5: resolving digest of {image}:9.9.9: not found;"
        f" needed for the pinned {image}:1.0.0@{digest} (image.digest)\n"
    )
    assert (repo / "deploy/values.yaml").read_text() == before
    assert (repo / "deploy/plain.yaml").read_text() == deployment(f"{image}:1.0.0")


def test_set_image_on_a_plain_http_registry_says_how_to_allow_it(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    digest = anon.push_image(repo_name, "1.0.0")
    anon.push_image(repo_name, "1.1.0", salt="new")
    image = f"{anon.host}/{repo_name}"
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.yaml").write_text(deployment(f"{image}:1.0.0@{digest}"))
    result = set_image(repo, "--write", f"{image}:1.1.0", insecure="")
    assert result.returncode == 5
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"updater: error: app.yaml:10: resolving digest of {image}:1.1.0: ")
    assert f"{anon.host} answered on plain http, not https" in line
    assert f"UPDATER_INSECURE_REGISTRIES={anon.host}" in line
    assert "connection failed" not in line
    allowed = set_image(repo, "--write", f"{image}:1.1.0", insecure=anon.host)
    assert allowed.returncode == 0, allowed.stderr


def test_poll_names_the_reference_whose_digest_failed(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    """The tag list answers; the pinned reference's digest (of a platform the index
    lacks) cannot be had: the error names that reference's file and line."""
    image = f"{anon.host}/{repo_name}"
    old = anon.push_index(repo_name, "1.0.0", {"linux/amd64": "2024-01-01T00:00:00Z"})["index"]
    anon.push_index(repo_name, "1.1.0", {"linux/amd64": "2024-02-01T00:00:00Z"})
    repo = config_repo(
        tmp_path,
        {"prod/app.yaml": deployment(f"{image}:1.0.0@{old}")},
        f"images:\n  - name: {image}\n    policy: semver\n    platform: linux/s390x\n"
        + registries(anon),
    )
    result = poll(repo, "--write", "--json")
    assert result.exit_code == 5, result.stderr
    error = json.loads(result.stdout)["error"]
    assert (error["file"], error["line"]) == ("prod/app.yaml", 10)
    assert f"{image}:1.1.0" in error["message"] and "needed for the pinned" in error["message"]
    assert "updater: error: prod/app.yaml:10: " in result.stderr


def test_poll_on_a_plain_http_registry_says_how_to_allow_it(
    anon: Registry, repo_name: str, tmp_path: Path
) -> None:
    image = f"{anon.host}/{repo_name}"
    anon.push_image(repo_name, ["1.0.0", "1.1.0"])
    repo = config_repo(
        tmp_path,
        {"app.yaml": deployment(f"{image}:1.0.0")},
        f"images:\n  - name: {image}\n    policy: semver\n",
    )
    result = poll(repo, "--write")
    assert result.exit_code == 5
    assert f"{anon.host} answered on plain http, not https" in result.stderr
    assert f"'insecure: true' for host {anon.host} under 'registries:'" in result.stderr
