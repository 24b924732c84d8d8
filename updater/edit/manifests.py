"""Kubernetes objects: ``image:`` of containers, initContainers, ephemeralContainers
anywhere, other ``image:`` strings in custom resources, and a Flux HelmRelease's
``spec.values`` read as Helm values."""

from __future__ import annotations

from collections.abc import Iterator

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from updater.edit import helm, kustomize
from updater.edit.document import (
    Document,
    get,
    get_path,
    is_block_scalar,
    is_mapping,
    is_scalar,
    is_sequence,
    is_string,
    join,
    line_of,
    walk_mappings,
)
from updater.edit.model import EMBEDDED_VALUES, Skipped
from updater.edit.site import Site, ref_site

# Objects whose ``image:`` names a repository to watch or a pattern, not a deployment.
NOT_DEPLOYING_GROUPS = frozenset(
    {"image.toolkit.fluxcd.io", "argocd-image-updater.argoproj.io", "kyverno.io"}
)
HELM_RELEASE_GROUP = "helm.toolkit.fluxcd.io"
FLUX_KUSTOMIZATION_GROUP = "kustomize.toolkit.fluxcd.io"


def is_kubernetes_object(root: Node) -> bool:
    return is_string(get(root, "apiVersion")) and is_string(get(root, "kind"))


def deploys_images(root: Node) -> bool:
    api_version = get(root, "apiVersion")
    group = api_version.value.partition("/")[0] if is_scalar(api_version) else ""
    return group not in NOT_DEPLOYING_GROUPS


def matches(file_name: str, root: MappingNode) -> bool:
    return is_kubernetes_object(root)


def find(document: Document, root: MappingNode) -> Iterator[Site | Skipped]:
    prune: frozenset[int] = frozenset()
    spec = get(root, "spec")
    if is_helm_release(root):
        values = get(spec, "values")
        if is_mapping(values):
            yield from helm.find(document, values, "spec.values")
            prune = frozenset({id(values)})
        elif is_scalar(values) and is_string(values) and values.value.strip():
            yield Skipped(document.path, line_of(values), "", EMBEDDED_VALUES)
        renderers = get(spec, "postRenderers")
        for index, renderer in enumerate(renderers.value if is_sequence(renderers) else ()):
            path = f"spec.postRenderers[{index}].kustomize.images"
            yield from kustomize.entries(document, get_path(renderer, "kustomize", "images"), path)
    elif _is_kind(root, FLUX_KUSTOMIZATION_GROUP, "Kustomization"):
        yield from kustomize.entries(document, get(spec, "images"), "spec.images")
    if deploys_images(root):
        yield from images(document, root, prune)


def is_helm_release(root: Node) -> bool:
    return _is_kind(root, HELM_RELEASE_GROUP, "HelmRelease")


def _is_kind(root: Node, group: str, name: str) -> bool:
    api_version = get(root, "apiVersion")
    kind = get(root, "kind")
    return (
        is_scalar(api_version)
        and api_version.value.startswith(group + "/")
        and is_scalar(kind)
        and kind.value == name
    )


def images(
    document: Document, root: Node, prune: frozenset[int] = frozenset()
) -> Iterator[Site | Skipped]:
    """Every ``image:`` string: containers, initContainers and ephemeralContainers in any
    pod template, and the same key in custom resources (``spec.image`` of a Prometheus).
    ``prune`` holds subtrees another module owns (HelmRelease values, ...)."""
    for path, mapping in walk_mappings(root, prune=prune):
        image = get(mapping, "image")
        if is_scalar(image) and is_string(image) and image.value:
            yield image_site(document, image, join(path, "image"), "manifest")


def image_site(document: Document, node: ScalarNode, path: str, kind: str) -> Site | Skipped:
    """An ``image: REF`` string as a site (a block scalar is left alone)."""
    if is_block_scalar(node):
        return Skipped(document.path, line_of(node), node.value.strip(), "block scalar")
    return ref_site(file=document.path, kind=kind, path=path, node=node)
