"""The kinds table (updater/edit/kinds.py): each file kind is a module with
``matches(file_name, root)`` and ``find(document, root)``, tried in order, first match
wins; a new kind is one row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml.nodes import MappingNode

from tests.edit.helpers import make_repo
from updater.edit import argocd, compose, helm, kinds, kustomize, manifests
from updater.edit.document import Document, get
from updater.edit.model import Skipped
from updater.edit.site import Site, ref_site
from updater.edit.walk import scan_repo


def kinds_found(tmp_path: Path, files: dict[str, str]) -> dict[str, set[str]]:
    make_repo(tmp_path, dict(files))
    found: dict[str, set[str]] = {}
    for reference in scan_repo(tmp_path).references:
        found.setdefault(reference.file, set()).add(reference.kind)
    return found


def test_every_row_is_a_module_with_matches_and_find() -> None:
    assert (kustomize, argocd, manifests, compose, helm) == kinds.KINDS
    for kind in kinds.KINDS:
        assert callable(kind.matches) and callable(kind.find)


def test_the_file_name_decides_before_the_shape_and_helm_values_come_last(
    tmp_path: Path,
) -> None:
    object_shaped = "apiVersion: v1\nkind: X\nimages:\n  - name: nginx\n    newTag: '1'\n"
    found = kinds_found(
        tmp_path,
        {
            "kustomization.yaml": object_shaped,
            ".argocd-source-app.yaml": "kustomize:\n  images: [nginx:1.25]\n",
            "app.yaml": (
                "apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec:\n  source:\n"
                "    kustomize:\n      images: [nginx:1.25]\n"
            ),
            "release.yaml": (
                "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nspec:\n"
                "  values:\n    image: {repository: nginx, tag: '1.25'}\n"
            ),
            "pod.yaml": "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: nginx:1\n",
            "compose.yaml": "services:\n  web:\n    image: nginx:1.25\n",
            "values.yaml": "image:\n  repository: nginx\n  tag: '1.25'\n",
        },
    )
    assert found == {
        "kustomization.yaml": {"kustomize"},
        ".argocd-source-app.yaml": {"argocd"},
        "app.yaml": {"argocd"},
        "release.yaml": {"helm"},
        "pod.yaml": {"manifest"},
        "compose.yaml": {"compose"},
        "values.yaml": {"helm"},
    }


class _Procfile:
    """A made-up kind: ``kind: Procfile`` with a ``run_image:`` (scan reads only files that
    say image or repository somewhere)."""

    @staticmethod
    def matches(file_name: str, root: MappingNode) -> bool:
        kind = get(root, "kind")
        return kind is not None and kind.value == "Procfile"

    @staticmethod
    def find(document: Document, root: MappingNode) -> Iterator[Site | Skipped]:
        node = get(root, "run_image")
        yield ref_site(file=document.path, kind="procfile", path="run_image", node=node)


def test_a_new_kind_is_one_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kinds, "KINDS", (_Procfile(), *kinds.KINDS))
    found = kinds_found(tmp_path, {"p.yaml": "kind: Procfile\nrun_image: ghcr.io/acme/api:1\n"})
    assert found == {"p.yaml": {"procfile"}}
