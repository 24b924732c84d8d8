"""Compose files: ``services.NAME.image``."""

from __future__ import annotations

from collections.abc import Iterator

from ruamel.yaml.nodes import MappingNode, Node

from updater.edit.document import Document, get, is_mapping, is_scalar, is_string, items, join
from updater.edit.manifests import image_site
from updater.edit.model import Skipped
from updater.edit.site import Site


def is_compose(root: Node) -> bool:
    services = get(root, "services")
    return is_mapping(services) and get(root, "apiVersion") is None


def matches(file_name: str, root: MappingNode) -> bool:
    return is_compose(root)


def find(document: Document, root: MappingNode) -> Iterator[Site | Skipped]:
    services = get(root, "services")
    for name, _, service in items(services) if services is not None else ():
        image = get(service, "image")
        if is_scalar(image) and is_string(image) and image.value:
            yield image_site(document, image, join(join("services", name), "image"), "compose")
