"""``scan --repo URL`` (the README's ``scan [--repo PATH|URL]``): the remote is cloned the
way every command clones it (shallow, sparse on --path, credentials bound to its host),
scanned, and the clone removed; the remote is never written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.gitserver import GitHttpServer
from tests.support.remotes import SEED, TOKEN, Remote, kustomization, run_updater


def test_scan_a_url(remote: Remote, tmp_path: Path) -> None:
    before = remote.log()
    result = run_updater("scan", "--repo", remote.url, env={"TMPDIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows == [
        ["FILE:LINE", "KIND", "IMAGE"],
        ["apps/base/deployment.yaml:10", "manifest", "ghcr.io/acme/api:1.0.0"],
        ["apps/overlays/prod/kustomization.yaml:6", "kustomize", "ghcr.io/acme/api:1.0.0"],
        ["apps/overlays/staging/kustomization.yaml:6", "kustomize", "ghcr.io/acme/web:2.0.0"],
    ]
    assert remote.log() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("updater-")]


def test_scan_a_url_with_branch_path_and_json(remote: Remote) -> None:
    remote.commit(
        {"apps/overlays/prod/kustomization.yaml": kustomization("ghcr.io/acme/api", "1.1.0")},
        "release",
        branch="release",
    )
    result = run_updater(
        "scan", "--repo", remote.url, "--branch", "release", "--path", "apps/overlays/prod",
        "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [(r["file"], r["tag"]) for r in json.loads(result.stdout)] == [
        ("apps/overlays/prod/kustomization.yaml", "1.1.0")
    ]


def test_scan_a_url_that_cannot_be_cloned(tmp_path: Path) -> None:
    result = run_updater("scan", "--repo", (tmp_path / "missing.git").as_uri())
    assert result.returncode == 5
    assert result.stderr.startswith("updater: error: cannot clone ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_scan_a_directory_that_is_not_there(tmp_path: Path) -> None:
    result = run_updater("scan", "--repo", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "not a directory" in result.stderr


@pytest.mark.git_http
def test_scan_a_url_with_its_token(git_http: GitHttpServer) -> None:
    remote = Remote(git_http.root / "acme" / "config.git", SEED)
    url = f"{git_http.url}/acme/config.git"
    result = run_updater(
        "scan", "--repo", url, "--forge", "github", "--token-env", "DEPLOY_TOKEN",
        env={"DEPLOY_TOKEN": TOKEN},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "ghcr.io/acme/web:2.0.0" in result.stdout
    assert TOKEN not in result.stdout + result.stderr
    assert any(r.authorized for r in git_http.requests)
    assert len(remote.log()) == 1


def test_scan_a_url_with_user_info_never_shows_the_token() -> None:
    result = run_updater("scan", "--repo", f"http://deploy:{TOKEN}@127.0.0.1:9/acme/config.git")
    assert result.returncode == 5, result.stderr
    assert "cannot clone http://127.0.0.1:9/acme/config.git" in result.stderr
    assert TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("flag", "value"), [("--branch", "release"), ("--forge", "github"), ("--token-env", "T")]
)
def test_clone_options_with_a_directory_are_refused(tmp_path: Path, flag: str, value: str) -> None:
    result = run_updater("scan", "--repo", str(tmp_path), flag, value)
    assert result.returncode == 2
    assert result.stderr == (
        f"updater: error: {flag}: only with a URL --repo (a directory is scanned as it is)\n"
    )


def test_scan_of_a_bare_repository_path_names_its_url(remote: Remote) -> None:
    """Not 'no image references found': the files are in the objects, not the directory."""
    result = run_updater("scan", "--repo", str(remote.path) + "/")
    assert result.returncode == 2, result.stderr
    assert "a bare repository" in result.stderr and f"--repo {remote.url}" in result.stderr
