"""kustomization ``images:`` entries (and the same list in Argo CD Applications)."""

from __future__ import annotations

from collections.abc import Iterator

from ruamel.yaml.nodes import MappingNode, Node

from updater.edit.document import (
    Document,
    get,
    is_block_scalar,
    is_mapping,
    is_scalar,
    is_sequence,
    join,
    line_of,
    scalar,
)
from updater.edit.site import (
    Field,
    Site,
    Skip,
    name_is_valid,
    ref_site,
    repositories_of,
    unsupported_reason,
)
from updater.reference import ImageRef

FILE_NAMES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})
INSERT_KEYS = {"name": "newName", "tag": "newTag", "digest": "digest"}


def is_kustomization(file_name: str) -> bool:
    return file_name in FILE_NAMES


def find(document: Document, root: Node) -> Iterator[Site | Skip]:
    images = get(root, "images")
    if not is_sequence(images):
        return
    for index, entry in enumerate(images.value):
        if is_mapping(entry):
            found = entry_site(document, entry, f"images[{index}]")
            if found is not None:
                yield found


def entry_site(document: Document, entry: MappingNode, path: str) -> Site | Skip | None:
    name = scalar(entry, "name")
    if name is None:
        return None
    new_name = scalar(entry, "newName")
    new_tag = scalar(entry, "newTag")
    digest = scalar(entry, "digest")
    for node in (name, new_name, new_tag, digest):
        if node is not None:
            reason = unsupported_reason(node.value) if node.value else None
            if reason or is_block_scalar(node):
                return Skip(document.path, line_of(node), node.value, reason or "block scalar")
    if not name_is_valid(name.value):
        return Skip(document.path, line_of(name), name.value, "not an image name")
    effective = new_name.value if new_name is not None and new_name.value else name.value
    fields: dict[str, Field] = {}
    if new_name is not None:
        fields["name"] = Field(new_name, join(path, "newName"))
    if new_tag is not None:
        fields["tag"] = Field(new_tag, join(path, "newTag"))
    if digest is not None:
        fields["digest"] = Field(digest, join(path, "digest"))
    # The name is what the site is anchored to when keys must be added after it.
    fields.setdefault("_anchor", Field(name, join(path, "name")))
    return Site(
        file=document.path,
        kind="kustomize",
        path=path,
        line=line_of(name),
        ref=ImageRef(
            name=effective,
            tag=new_tag.value if new_tag is not None and new_tag.value else None,
            digest=digest.value if digest is not None and digest.value else None,
        ),
        repositories=repositories_of(name.value, effective),
        fields=fields,
        mapping=entry,
        insert_keys=dict(INSERT_KEYS),
    )


def string_entries(document: Document, images: Node, path: str, kind: str) -> Iterator[Site | Skip]:
    """``NAME:TAG`` / ``ALIAS=NAME:TAG`` strings, as Argo CD's kustomize.images holds."""
    if not is_sequence(images):
        return
    for index, item in enumerate(images.value):
        if not is_scalar(item):
            continue
        alias, sep, _ = item.value.partition("=")
        prefix = f"{alias}=" if sep else ""
        yield ref_site(
            file=document.path,
            kind=kind,
            path=f"{path}[{index}]",
            node=item,
            prefix=prefix,
            extra_names=(alias,) if sep else (),
        )
