"""Argo CD Applications and ApplicationSets (``spec.source``/``spec.sources``) and the
``.argocd-source*.yaml`` parameter-override files Argo CD writes back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from ruamel.yaml.nodes import MappingNode, Node

from updater.edit import helm, kustomize
from updater.edit.document import (
    Document,
    get,
    get_path,
    is_mapping,
    is_scalar,
    is_sequence,
    is_string,
    line_of,
)
from updater.edit.site import Site, Skip

KINDS = frozenset({"Application", "ApplicationSet"})


def is_application(root: Node) -> bool:
    api_version = get(root, "apiVersion")
    kind = get(root, "kind")
    return (
        is_scalar(api_version)
        and api_version.value.startswith("argoproj.io/")
        and is_scalar(kind)
        and kind.value in KINDS
    )


def is_source_file(file_name: str) -> bool:
    return file_name.startswith(".argocd-source") and file_name.endswith((".yaml", ".yml"))


def sources(root: Node) -> Iterator[tuple[str, MappingNode]]:
    spec = get(root, "spec")
    for base, holder in (
        ("spec", spec),
        ("spec.template.spec", get_path(spec, "template", "spec")),
    ):
        single = get(holder, "source")
        if is_mapping(single):
            yield f"{base}.source", single
        many = get(holder, "sources")
        if is_sequence(many):
            for index, item in enumerate(many.value):
                if is_mapping(item):
                    yield f"{base}.sources[{index}]", item


def find(document: Document, root: Node) -> Iterator[Site | Skip]:
    for path, source in sources(root):
        yield from find_in_source(document, source, path)


def find_in_source(document: Document, source: Node, path: str) -> Iterator[Site | Skip]:
    prefix = f"{path}." if path else ""
    images = get_path(source, "kustomize", "images")
    if images is not None:
        yield from kustomize.string_entries(document, images, f"{prefix}kustomize.images", "argocd")
    helm_node = get(source, "helm")
    if helm_node is None:
        return
    parameters = get(helm_node, "parameters")
    if parameters is not None:
        yield from helm.find_parameters(document, parameters, f"{prefix}helm.parameters")
    values_object = get(helm_node, "valuesObject")
    if is_mapping(values_object):
        for found in helm.find(document, values_object, f"{prefix}helm.valuesObject"):
            yield _as_argocd(found)
    values = get(helm_node, "values")
    if is_string(values) and is_scalar(values) and values.value.strip():
        # Listed whatever it holds: a reader cannot tell it names no image.
        yield Skip(document.path, line_of(values), "", "values in a block scalar (embedded YAML)")


def _as_argocd(found: Site | Skip) -> Site | Skip:
    return replace(found, kind="argocd") if isinstance(found, Site) else found
