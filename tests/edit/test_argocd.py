"""Argo CD override files (``.argocd-source-<app>.yaml``) named with --path gain an entry
for an image they do not list yet, in the format Argo CD Image Updater's git write-back
uses: ``kustomize.images`` strings, or ``helm.parameters`` ``image.name``/``image.tag``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.edit.helpers import make_repo
from updater.cli import cli

DIGEST = "sha256:" + "a" * 64
NEW_DIGEST = "sha256:" + "b" * 64
NAME = ".argocd-source-api.yaml"


def write_back(root: Path, before: str, *images: str, beside: str = "") -> tuple[int, str, str]:
    files = {NAME: before}
    if beside:
        files[beside] = "name: x\n" if beside == "Chart.yaml" else "resources: []\n"
    make_repo(root, files)
    result = CliRunner().invoke(
        cli, ["set-image", "--repo", str(root), "--path", NAME, "--write", "--json", *images]
    )
    return result.exit_code, result.output, (root / NAME).read_text()


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("", "kustomize:\n  images:\n  - ghcr.io/acme/api:1.5.0\n  - web:2\n"),
        ("kustomize: {}\n", "kustomize:\n  images:\n  - ghcr.io/acme/api:1.5.0\n  - web:2\n"),
        (
            "kustomize:\n  images: []  # none yet\n",
            "kustomize:\n  images:  # none yet\n  - ghcr.io/acme/api:1.5.0\n  - web:2\n",
        ),
        # A null value (Argo writes none, people do) is no entries too.
        ("kustomize:\n", "kustomize:\n  images:\n  - ghcr.io/acme/api:1.5.0\n  - web:2\n"),
        ("kustomize: ~\n", "kustomize:\n  images:\n  - ghcr.io/acme/api:1.5.0\n  - web:2\n"),
        (
            "kustomize:\n  images:  # none yet\n",
            "kustomize:\n  images:  # none yet\n  - ghcr.io/acme/api:1.5.0\n  - web:2\n",
        ),
        (
            "kustomize:\n  images:\n    - other:1\n",
            "kustomize:\n  images:\n    - other:1\n    - ghcr.io/acme/api:1.5.0\n    - web:2\n",
        ),
        (
            "kustomize:\n  images:\n  - ghcr.io/acme/api:1.4.0\n",
            "kustomize:\n  images:\n  - ghcr.io/acme/api:1.5.0\n  - web:2\n",
        ),
    ],
)
def test_kustomize_images_gain_entries(tmp_path: Path, before: str, after: str) -> None:
    status, output, text = write_back(
        tmp_path, before, "ghcr.io/acme/api:1.5.0", "web:2", beside="kustomization.yaml"
    )
    assert status == 0, output
    assert text == after
    changes = json.loads(output)["changes"]
    assert all("column" in change for change in changes)
    added = [c for c in changes if c["yaml_path"] == "kustomize.images[+]"]
    assert added and all(c["column"] >= 3 for c in added)


def test_helm_parameters_gain_argo_image_updaters_pair(tmp_path: Path) -> None:
    before = 'helm:\n  parameters:\n  - name: replicas\n    value: "2"\n'
    status, output, text = write_back(tmp_path, before, f"ghcr.io/acme/api:1.5.0@{DIGEST}")
    assert status == 0, output
    assert text == before + (
        "  - name: image.name\n    value: ghcr.io/acme/api\n    forcestring: true\n"
        f"  - name: image.tag\n    value: 1.5.0@{DIGEST}\n    forcestring: true\n"
    )
    (tmp_path / NAME).unlink()
    status, output, text = write_back(tmp_path, "helm: {}\n", "ghcr.io/acme/api:1.5.0")
    assert status == 0, output
    assert text.startswith("helm:\n  parameters:\n  - name: image.name\n")
    for empty in ("helm:\n", "helm:\n  parameters:\n", "helm:\n  parameters: ~  # CI\n"):
        (tmp_path / NAME).unlink()
        status, output, text = write_back(tmp_path, empty, "ghcr.io/acme/api:1.5.0")
        assert status == 0, output
        assert text.startswith("helm:\n  parameters:") and "  - name: image.tag\n" in text


def test_the_source_kind_comes_from_the_directory(tmp_path: Path) -> None:
    status, output, text = write_back(tmp_path, "", "ghcr.io/acme/api:1.5.0", beside="Chart.yaml")
    assert status == 0, output
    assert text.startswith("helm:\n  parameters:\n")


def test_refused_with_a_reason(tmp_path: Path) -> None:
    status, output, text = write_back(tmp_path / "a", "", "ghcr.io/acme/api:1.5.0")
    assert status == 3 and "cannot tell whether this Argo CD source is Helm or kustomize" in output
    assert text == ""
    taken = "helm:\n  parameters:\n  - name: image.name\n    value: ghcr.io/acme/web\n"
    status, output, text = write_back(tmp_path / "b", taken, "ghcr.io/acme/api:1.5.0")
    assert status == 3 and "already sets image.name for another image" in output
    assert text == taken
    status, output, _ = write_back(tmp_path / "c", "helm: {}\n", "a:1", "b:2")
    assert status == 3 and "hold one image" in output


def _set_in_directory(root: Path, files: dict[str, str], image: str) -> dict[str, str]:
    make_repo(root, {f"app/{name}": text for name, text in files.items()})
    result = CliRunner().invoke(
        cli, ["set-image", "--repo", str(root), "--path", "app", "--write", image]
    )
    assert result.exit_code == 0, result.output
    return {name: (root / "app" / name).read_text() for name in files}


def test_a_directory_path_puts_a_new_entry_in_the_kustomization_only(tmp_path: Path) -> None:
    # Argo CD applies the override over the kustomization: one new entry in both would
    # be the same fact twice, so it goes where `kustomize edit set image` puts it.
    override = "kustomize:\n  images:\n  - ghcr.io/acme/web:1.0.0\n"
    after = _set_in_directory(
        tmp_path,
        {NAME: override, "kustomization.yaml": "resources: []\n"},
        "ghcr.io/acme/api:2.0.0",
    )
    assert after[NAME] == override
    assert after["kustomization.yaml"] == (
        "resources: []\nimages:\n- name: ghcr.io/acme/api\n  newTag: 2.0.0\n"
    )


def test_a_directory_path_with_only_an_override_puts_the_entry_there(tmp_path: Path) -> None:
    after = _set_in_directory(
        tmp_path,
        {NAME: "kustomize:\n  images:\n  - ghcr.io/acme/web:1.0.0\n", "values.yaml": "a: 1\n"},
        "ghcr.io/acme/api:2.0.0",
    )
    assert after[NAME].endswith("  - ghcr.io/acme/api:2.0.0\n")


def test_an_override_listing_the_image_is_updated_whatever_the_path(tmp_path: Path) -> None:
    after = _set_in_directory(
        tmp_path,
        {
            NAME: "kustomize:\n  images:\n  - ghcr.io/acme/api:1.0.0\n",
            "kustomization.yaml": "resources: []\n",
        },
        "ghcr.io/acme/api:2.0.0",
    )
    assert after[NAME] == "kustomize:\n  images:\n  - ghcr.io/acme/api:2.0.0\n"


def test_helm_parameter_holding_a_whole_reference_is_set(tmp_path: Path) -> None:
    """Argo CD Image Updater's ``helm.image-spec`` writes ``repo:tag`` into one parameter
    (``worker.image``); it is read as a values file's ``image: repo:tag`` is."""
    before = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
spec:
  source:
    helm:
      parameters:
      - name: worker.image
        value: ghcr.io/acme/api:1.4.2  # image-spec
      - name: image
        value: "ghcr.io/acme/web@{DIGEST}"
      - name: sidecar.image
        value: busybox
"""
    make_repo(tmp_path, {"app.yaml": before})
    images = ["ghcr.io/acme/api:1.5.0", f"ghcr.io/acme/web@{NEW_DIGEST}"]
    result = CliRunner().invoke(cli, ["set-image", "--repo", str(tmp_path), "--write", *images])
    assert result.exit_code == 0, result.output
    after = (tmp_path / "app.yaml").read_text()
    assert after == before.replace("1.4.2", "1.5.0").replace(DIGEST, NEW_DIGEST)
    scan = CliRunner().invoke(cli, ["scan", "--repo", str(tmp_path), "--json", "--skipped"])
    found = [(r["yaml_path"], r.get("image")) for r in json.loads(scan.output)]
    assert found == [
        ("spec.source.helm.parameters[0].value", "ghcr.io/acme/api:1.5.0"),
        ("spec.source.helm.parameters[1].value", f"ghcr.io/acme/web@{NEW_DIGEST}"),
        ("spec.source.helm.parameters[2].value", "busybox"),  # a name alone, as before
    ]
