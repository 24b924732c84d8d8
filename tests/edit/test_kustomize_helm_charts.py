"""A kustomization's ``helmCharts[].valuesInline``: Helm values kustomize hands the chart,
found and edited as a values file's are, through the CLI. Nothing here renders: the
render check reports such a root "not verified" (it needs ``--enable-helm``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.edit.helpers import make_repo
from updater.cli import cli

BEFORE = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
helmCharts:
  - name: podinfo
    repo: https://stefanprodan.github.io/podinfo
    version: 6.8.0
    releaseName: podinfo
    valuesInline:
      # pinned by CI
      image:
        repository: ghcr.io/stefanprodan/podinfo
        tag: "6.8.0"
      sidecar:
        image: "docker.io/library/busybox:1.36"   # keep quotes
      proxy:
        image: {registry: quay.io, repository: acme/proxy, tag: v1.2}
  - name: redis
    valuesInline:
      global:
        imageRegistry: registry.acme.internal
      image:
        repository: bitnami/redis
        tag: 7.2.4
images:
  - name: nginx
    newTag: "1.25"
"""
IMAGES = (
    "ghcr.io/stefanprodan/podinfo:6.9.0",
    "busybox:1.37",
    "quay.io/acme/proxy:v1.3",
    "registry.acme.internal/bitnami/redis:7.2.5",
)
AFTER = (
    BEFORE.replace('tag: "6.8.0"', 'tag: "6.9.0"')
    .replace("busybox:1.36", "busybox:1.37")
    .replace("tag: v1.2", "tag: v1.3")
    .replace("tag: 7.2.4", "tag: 7.2.5")
)


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_scan_lists_inline_values_with_file_and_line(tmp_path: Path) -> None:
    make_repo(tmp_path, {"app/kustomization.yaml": BEFORE})
    status, output = run_cli("scan", "--repo", str(tmp_path), "--json")
    assert status == 0, output
    found = [(r["line"], r["kind"], r["image"], r["yaml_path"]) for r in json.loads(output)]
    assert found == [
        (11, "helm", "ghcr.io/stefanprodan/podinfo:6.8.0", "helmCharts[0].valuesInline.image"),
        (14, "helm", "docker.io/library/busybox:1.36", "helmCharts[0].valuesInline.sidecar.image"),
        (16, "helm", "quay.io/acme/proxy:v1.2", "helmCharts[0].valuesInline.proxy.image"),
        # global.imageRegistry of the same chart's values replaces the registry
        (22, "helm", "registry.acme.internal/bitnami/redis:7.2.4",
         "helmCharts[1].valuesInline.image"),
        (25, "kustomize", "nginx:1.25", "images[0]"),
    ]  # fmt: skip
    status, output = run_cli("scan", "--repo", str(tmp_path))
    assert "app/kustomization.yaml:14  helm       docker.io/library/busybox:1.36" in output


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_set_image_edits_inline_values_byte_exact(tmp_path: Path, newline: str) -> None:
    before = "\ufeff" + BEFORE.replace("\n", newline) if newline != "\n" else BEFORE
    after = "\ufeff" + AFTER.replace("\n", newline) if newline != "\n" else AFTER
    make_repo(tmp_path, {"kustomization.yaml": before})
    status, output = run_cli("set-image", "--repo", str(tmp_path), "--write", "--json", *IMAGES)
    assert status == 0, output
    assert (tmp_path / "kustomization.yaml").read_bytes() == after.encode()
    paths = [c["yaml_path"] for c in json.loads(output)["changes"]]
    assert paths == [
        "helmCharts[0].valuesInline.image.tag",
        "helmCharts[0].valuesInline.sidecar.image",
        "helmCharts[0].valuesInline.proxy.image.tag",
        "helmCharts[1].valuesInline.image.tag",
    ]
    status, output = run_cli("set-image", "--repo", str(tmp_path), "--write", *IMAGES)
    assert status == 0 and (tmp_path / "kustomization.yaml").read_bytes() == after.encode()


def test_an_image_in_inline_values_gains_no_images_entry(tmp_path: Path) -> None:
    # Named with --path, a kustomization gains an images: entry only for an image it
    # does not reference; one in its chart's values is referenced, so that is edited.
    make_repo(tmp_path, {"kustomization.yaml": BEFORE})
    status, output = run_cli(
        "set-image", "--repo", str(tmp_path), "--path", "kustomization.yaml", "--write",
        "ghcr.io/stefanprodan/podinfo:6.9.0",
    )  # fmt: skip
    assert status == 0, output
    assert (tmp_path / "kustomization.yaml").read_text() == BEFORE.replace(
        'tag: "6.8.0"', 'tag: "6.9.0"'
    )


def test_other_registrys_spelling_leaves_a_global_registry_block_alone(tmp_path: Path) -> None:
    make_repo(tmp_path, {"kustomization.yaml": BEFORE})
    status, output = run_cli("set-image", "--repo", str(tmp_path), "bitnami/redis:7.2.5")
    assert status == 4, output
