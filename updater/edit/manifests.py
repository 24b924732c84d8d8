"""Kubernetes objects (``image:`` of containers, initContainers, ephemeralContainers
anywhere, and other ``image:`` strings in custom resources) and compose services."""

from __future__ import annotations

from collections.abc import Iterator

from ruamel.yaml.nodes import Node, ScalarNode

from updater.edit.document import (
    Document,
    get,
    is_block_scalar,
    is_mapping,
    is_scalar,
    is_string,
    items,
    join,
    line_of,
    walk_mappings,
)
from updater.edit.model import Skipped
from updater.edit.site import Site, ref_site

# Objects whose ``image:`` names a repository to watch or a pattern, not a deployment.
NOT_DEPLOYING_GROUPS = frozenset(
    {"image.toolkit.fluxcd.io", "argocd-image-updater.argoproj.io", "kyverno.io"}
)


def is_kubernetes_object(root: Node) -> bool:
    return is_string(get(root, "apiVersion")) and is_string(get(root, "kind"))


def is_compose(root: Node) -> bool:
    services = get(root, "services")
    return is_mapping(services) and get(root, "apiVersion") is None


def deploys_images(root: Node) -> bool:
    api_version = get(root, "apiVersion")
    group = api_version.value.partition("/")[0] if is_scalar(api_version) else ""
    return group not in NOT_DEPLOYING_GROUPS


def find(
    document: Document, root: Node, prune: frozenset[int] = frozenset()
) -> Iterator[Site | Skipped]:
    """Every ``image:`` string: containers, initContainers and ephemeralContainers in any
    pod template, and the same key in custom resources (``spec.image`` of a Prometheus).
    ``prune`` holds subtrees another module owns (HelmRelease values, ...)."""
    for path, mapping in walk_mappings(root, prune=prune):
        image = get(mapping, "image")
        if is_scalar(image) and is_string(image) and image.value:
            yield _site(document, image, join(path, "image"), "manifest")


def find_compose(document: Document, root: Node) -> Iterator[Site | Skipped]:
    services = get(root, "services")
    for name, _, service in items(services) if services is not None else ():
        image = get(service, "image")
        if is_scalar(image) and is_string(image) and image.value:
            yield _site(document, image, join(join("services", name), "image"), "compose")


def _site(document: Document, node: ScalarNode, path: str, kind: str) -> Site | Skipped:
    if is_block_scalar(node):
        return Skipped(document.path, line_of(node), "", "block scalar")
    return ref_site(file=document.path, kind=kind, path=path, node=node)
