"""Compose files: ``services.NAME.image``."""

from __future__ import annotations

from collections.abc import Iterator

from ruamel.yaml.nodes import MappingNode, Node

from updater.edit.document import (
    Document,
    get,
    is_mapping,
    is_scalar,
    is_string,
    items,
    join,
    paths_of,
)
from updater.edit.helm import merged_keys
from updater.edit.manifests import image_site
from updater.edit.model import Skipped
from updater.edit.site import Site


def is_compose(root: Node) -> bool:
    services = get(root, "services")
    return is_mapping(services) and get(root, "apiVersion") is None


def matches(file_name: str, root: MappingNode) -> bool:
    return is_compose(root)


def find(document: Document, root: MappingNode) -> Iterator[Site | Skipped]:
    """Each service's image; one a service merges (``<<: *base`` from an ``x-`` field) is
    found at its anchor, once however many services share it: that is the one text
    that sets it (an anchored scalar is edited once, at its anchor)."""
    services = get(root, "services")
    found: list[tuple[Node, str]] = []
    inherited: list[Node] = []
    for name, _, service in items(services) if services is not None else ():
        image = get(service, "image")
        if image is None and is_mapping(service):
            merged = merged_keys(service)[1].get("image")
            if merged is not None and all(merged is not seen for seen in inherited):
                inherited.append(merged)
        elif image is not None:
            found.append((image, join(join("services", name), "image")))
    own = {id(node) for node, _ in found}  # ``netbox: &netbox`` merged by its worker
    inherited = [node for node in inherited if id(node) not in own]
    paths = paths_of(document, {id(node) for node in inherited})
    found += [(node, paths[id(node)]) for node in inherited]
    for node, path in sorted(found, key=lambda pair: document.start(pair[0])):
        if is_scalar(node) and is_string(node) and node.value:
            yield image_site(document, node, path, "compose")
