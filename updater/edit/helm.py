"""Helm values: any mapping shaped like an image, wherever values live (values files,
Flux ``HelmRelease.spec.values``, Argo CD ``helm.valuesObject`` and ``helm.parameters``)."""

from __future__ import annotations

from collections.abc import Iterator

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from updater.edit.document import (
    Document,
    get_path,
    is_block_scalar,
    is_scalar,
    is_sequence,
    is_string,
    items,
    join,
    line_of,
    scalar,
    walk_mappings,
)
from updater.edit.site import (
    Field,
    Site,
    Skip,
    name_is_valid,
    parse_tag_value,
    ref_site,
    repositories_of,
    sha_to_digest,
    unsupported_reason,
)
from updater.reference import ImageRef

TAG_KEYS = ("tag", "imageTag", "newTag")
DIGEST_KEYS = (("digest", "digest"), ("sha", "sha"))


def global_registries(values: Node) -> tuple[str, ...]:
    """``global.imageRegistry`` (bitnami: overrides every block's registry) and
    ``global.image.registry`` (ingress-nginx: the default when a block names none)."""
    found = []
    for keys in (("global", "imageRegistry"), ("global", "image", "registry")):
        node = get_path(values, *keys)
        if is_scalar(node) and is_string(node) and node.value:
            found.append(node.value)
    return tuple(found)


def find(document: Document, values: Node, base: str = "") -> Iterator[Site | Skip]:
    registries = global_registries(values)
    for path, mapping in walk_mappings(values, base):
        yield from _mapping_sites(document, mapping, path, registries)


def _mapping_sites(
    document: Document, mapping: MappingNode, path: str, registries: tuple[str, ...]
) -> Iterator[Site | Skip]:
    keys = {name: value for name, _, value in items(mapping)}
    repository = keys.get("repository")
    image = keys.get("image")
    if is_scalar(repository) and _is_image_block(path, keys):
        yield _split_site(document, mapping, path, "repository", registries)
    elif is_scalar(image) and any(k in keys for k in ("registry", *TAG_KEYS)):
        yield _split_site(document, mapping, path, "image", registries)
    elif is_scalar(image) and is_string(image) and image.value:
        if is_block_scalar(image):
            yield Skip(document.path, line_of(image), "", "block scalar")
        else:
            yield ref_site(file=document.path, kind="helm", path=join(path, "image"), node=image)


def _is_image_block(path: str, keys: dict[str, Node]) -> bool:
    if any(k in keys for k in ("registry", "digest", "sha", *TAG_KEYS)):
        return True
    last = path.rsplit(".", 1)[-1].lower()
    return "image" in last


def _split_site(
    document: Document, mapping: MappingNode, path: str, name_key: str, registries: tuple[str, ...]
) -> Site | Skip:
    name_node = scalar(mapping, name_key)
    assert name_node is not None
    registry = scalar(mapping, "registry")
    tag = next((n for k in TAG_KEYS if (n := scalar(mapping, k)) is not None), None)
    tag_key = next((k for k in TAG_KEYS if scalar(mapping, k) is not None), "tag")
    digest_role, digest = next(
        ((role, n) for key, role in DIGEST_KEYS if (n := scalar(mapping, key)) is not None),
        ("digest", None),
    )
    for node in (name_node, registry, tag, digest):
        if node is None or not node.value:
            continue
        reason = unsupported_reason(node.value) or (
            "block scalar" if is_block_scalar(node) else None
        )
        if reason:
            return Skip(document.path, line_of(node), node.value, reason)
    registry_value = registry.value if registry is not None else ""
    name = f"{registry_value}/{name_node.value}" if registry_value else name_node.value
    if not name_node.value or not name_is_valid(name):
        return Skip(document.path, line_of(name_node), name_node.value, "not an image name")
    tag_value, folded_digest = parse_tag_value(tag.value) if tag is not None else (None, None)
    digest_value = folded_digest
    if digest is not None and digest.value:
        digest_value = digest.value if digest_role == "digest" else sha_to_digest(digest.value)
    names = [name, *(f"{r}/{name_node.value}" for r in registries)]
    fields: dict[str, Field] = {"repository": Field(name_node, join(path, name_key))}
    if registry is not None:
        fields["registry"] = Field(registry, join(path, "registry"))
    if tag is not None:
        fields["tag"] = Field(tag, join(path, tag_key))
    if digest is not None:
        fields[digest_role] = Field(digest, join(path, digest_role))
    return Site(
        file=document.path,
        kind="helm",
        path=path,
        line=line_of(name_node),
        ref=ImageRef(name=name, tag=tag_value, digest=digest_value),
        repositories=repositories_of(*names),
        fields=fields,
        mapping=mapping,
        insert_keys={"tag": "tag"},
    )


def find_parameters(document: Document, parameters: Node, path: str) -> Iterator[Site | Skip]:
    """Argo CD ``helm.parameters``: ``{name: image.repository, value: ...}`` pairs grouped
    by the prefix before the last dot."""
    if not is_sequence(parameters):
        return
    groups: dict[str, dict[str, tuple[str, ScalarNode]]] = {}
    for index, item in enumerate(parameters.value):
        name = scalar(item, "name")
        value = scalar(item, "value")
        if name is None or value is None:
            continue
        prefix, _, leaf = name.value.replace("\\.", "\0").rpartition(".")
        role = {
            "repository": "repository",
            "image": "repository",
            "name": "repository",
            "registry": "registry",
            "tag": "tag",
            "digest": "digest",
        }.get(leaf)
        if role is not None:
            groups.setdefault(prefix, {})[role] = (f"{path}[{index}].value", value)
    for group in groups.values():
        if "repository" not in group:
            for _, node in group.values():
                yield Skip(
                    document.path, line_of(node), node.value, "helm parameter without a repository"
                )
            continue
        for _, node in group.values():
            reason = unsupported_reason(node.value) if node.value else None
            if reason:
                yield Skip(document.path, line_of(node), node.value, reason)
                break
        else:
            yield _parameter_site(document, group)


def _parameter_site(document: Document, group: dict[str, tuple[str, ScalarNode]]) -> Site | Skip:
    repo_path, repo = group["repository"]
    registry = group.get("registry")
    name = f"{registry[1].value}/{repo.value}" if registry and registry[1].value else repo.value
    if not name_is_valid(name):
        return Skip(document.path, line_of(repo), repo.value, "not an image name")
    tag = group.get("tag")
    digest = group.get("digest")
    tag_value, folded = parse_tag_value(tag[1].value) if tag else (None, None)
    return Site(
        file=document.path,
        kind="argocd",
        path=repo_path,
        line=line_of(repo),
        ref=ImageRef(
            name=name, tag=tag_value, digest=(digest[1].value if digest else None) or folded
        ),
        repositories=repositories_of(name),
        fields={role: Field(node, p) for role, (p, node) in group.items()},
    )
