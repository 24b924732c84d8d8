"""Helm values: any mapping shaped like an image, wherever values live (values files,
Flux ``HelmRelease.spec.values``, Argo CD ``helm.valuesObject`` and ``helm.parameters``).

Shapes, each read the way the chart's templates read it:

- ``{registry?, repository, tag?, digest? | sha?}`` (and ``image`` for ``repository``);
- ``{registry?, name, tag?}`` under a key ending in ``image``, with the repository built
  from the root ``imageRegistry`` + ``imageNamespace`` (cert-manager) when
  ``repository`` is empty;
- ``image: REF`` and any ``...Image: REF`` string key (``natsImage: nats:2.10``, read like
  Renovate does: only with a tag or digest, unless a sibling ``...Tag`` key gives it).

``global.imageRegistry`` replaces every block's registry (bitnami, kube-state-metrics), so
a block under it resolves to that registry only: the repository the chart pulls.
"""

from __future__ import annotations

from collections.abc import Iterator

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from updater.edit import chart
from updater.edit.document import (
    Document,
    get_path,
    is_block_scalar,
    is_mapping,
    is_scalar,
    is_sequence,
    is_string,
    items,
    join,
    line_of,
    scalar,
    text_of,
    walk_mappings,
)
from updater.edit.model import DEFAULT_IMAGE, Skipped
from updater.edit.site import (
    Field,
    Site,
    name_is_valid,
    parse_tag_value,
    ref_site,
    repositories_of,
    sha_to_digest,
    unsupported_reason,
)
from updater.reference import ImageRef, split_reference

TAG_KEYS = ("tag", "imageTag", "newTag")
DIGEST_KEYS = (("digest", "digest"), ("sha", "sha"))
# Keys that make a mapping an image block on their own (beside a repository).
BLOCK_KEYS = ("registry", "digest", "sha", *TAG_KEYS)
# Roles a mapping that inherits them through ``<<`` gets as keys of its own instead:
# writing the inherited node would change every mapping that merges it.
INHERITED_ROLE_KEYS = {"tag": "tag", "repository": "repository", "registry": "registry"}


def global_registries(values: Node) -> tuple[str, str]:
    """``global.imageRegistry`` (bitnami: replaces every block's registry) and
    ``global.image.registry`` (ingress-nginx: the default when a block names none)."""
    found = []
    for keys in (("global", "imageRegistry"), ("global", "image", "registry")):
        node = get_path(values, *keys)
        found.append(
            text_of(node) if is_scalar(node) and (is_string(node) or not node.value) else ""
        )
    return found[0], found[1]


def name_prefix(values: Node) -> str:
    """cert-manager's root ``imageRegistry``/``imageNamespace``: what its templates put
    before a block's ``name`` when the block's ``repository`` is empty."""
    parts = []
    for key in ("imageRegistry", "imageNamespace"):
        node = get_path(values, key)
        if is_scalar(node) and is_string(node) and node.value:
            parts.append(node.value.strip("/"))
    return "/".join(parts)


def matches(file_name: str, root: MappingNode) -> bool:
    """Any mapping no other kind claims is read as Helm values (the last kind tried)."""
    return True


def find(document: Document, values: Node, base: str = "") -> Iterator[Site | Skipped]:
    context = _Context(document, values, base)
    for path, mapping in walk_mappings(values, base):
        yield from _mapping_sites(context, mapping, path)


class _Context:
    """What every block of one values document shares."""

    def __init__(self, document: Document, values: Node, base: str) -> None:
        self.document = document
        self.override, self.default = global_registries(values)
        self.name_prefix = name_prefix(values)
        # A chart's own values file: its templates say how a ``sha`` is printed.
        self.own_values = base == ""

    def sha_form(self, path: str) -> str:
        if not self.own_values:
            return ""
        return chart.sha_form(self.document, path)


def merged_keys(mapping: MappingNode) -> tuple[dict[str, Node], dict[str, Node]]:
    """The mapping's own keys, and the keys it inherits through ``<<`` (YAML merge:
    own keys win, then the merged mappings in order)."""
    own = {name: value for name, _, value in items(mapping)}
    inherited: dict[str, Node] = {}
    for key, value in mapping.value:
        if not (is_scalar(key) and key.value == "<<"):
            continue
        sources = value.value if is_sequence(value) else [value]
        for source in sources:
            if not is_mapping(source):
                continue
            source_own, source_inherited = merged_keys(source)
            for name, node in {**source_inherited, **source_own}.items():
                if name not in own:
                    inherited.setdefault(name, node)
    return own, inherited


def _mapping_sites(context: _Context, mapping: MappingNode, path: str) -> Iterator[Site | Skipped]:
    own, inherited = merged_keys(mapping)
    if inherited and not any(k in own for k in ("repository", "image", "name", *BLOCK_KEYS)):
        return  # only merges: the merged mapping's own site covers it
    keys = {**inherited, **own}
    repository = keys.get("repository")
    image = keys.get("image")
    if (
        is_scalar(repository)
        and _is_image_block(path, keys)
        and (text_of(repository) or not _is_name_block(path, keys))
    ):
        yield _split_site(context, mapping, path, "repository", own, keys)
    elif is_scalar(image) and any(k in keys for k in ("registry", *TAG_KEYS)):
        yield _split_site(context, mapping, path, "image", own, keys)
    elif is_scalar(image) and is_string(image) and image.value and "image" in own:
        if is_block_scalar(image):
            yield Skipped(
                context.document.path, line_of(image), image.value.strip(), "block scalar"
            )
        else:
            yield ref_site(
                file=context.document.path, kind="helm", path=join(path, "image"), node=image
            )
    elif _is_name_block(path, keys):
        yield _split_site(context, mapping, path, "name", own, keys)
    yield from _image_named_keys(context, mapping, path, own)


def _is_image_block(path: str, keys: dict[str, Node]) -> bool:
    if any(k in keys for k in BLOCK_KEYS):
        return True
    last = path.rsplit(".", 1)[-1].lower()
    return "image" in last


def _is_name_block(path: str, keys: dict[str, Node]) -> bool:
    """``image: {name: cert-manager-controller, repository: ""}``: a name under a key
    that says image (not ``imagePullSecrets[0].name``), no repository to override it."""
    name = keys.get("name")
    repository = keys.get("repository")
    if not (is_scalar(name) and is_string(name) and name.value and "image" not in keys):
        return False
    if repository is not None and not (is_scalar(repository) and not text_of(repository)):
        return False
    return path.rsplit(".", 1)[-1].lower().endswith("image")


def _image_named_keys(
    context: _Context, mapping: MappingNode, path: str, own: dict[str, Node]
) -> Iterator[Site | Skipped]:
    """``natsImage: nats:2.10.10``: a string key ending in ``Image``/``image`` holding a
    whole reference with a tag or digest (as Renovate reads them), or a bare name whose
    sibling ``natsImageTag``/``natsTag`` gives the tag."""
    document = context.document
    for key, node in own.items():
        if key == "image" or not key.endswith(("image", "Image")) or not is_scalar(node):
            continue
        if not is_string(node) or not node.value or is_block_scalar(node):
            continue
        stem = key[: -len("image")]
        tag_key = next((k for k in (f"{key}Tag", f"{stem}Tag") if k in own), None)
        if tag_key is not None and is_scalar(own[tag_key]):
            yield _named_key_site(document, mapping, path, key, node, tag_key, own[tag_key])
            continue
        if unsupported_reason(node.value):
            continue
        ref = split_reference(node.value)
        if ref.tag is None and ref.digest is None:
            continue  # a name alone is not known to be an image
        yield ref_site(file=document.path, kind="helm", path=join(path, key), node=node)


def _named_key_site(
    document: Document,
    mapping: MappingNode,
    path: str,
    key: str,
    node: ScalarNode,
    tag_key: str,
    tag: Node,
) -> Site | Skipped:
    assert is_scalar(tag)
    for part in (node, tag):
        reason = unsupported_reason(part.value) if text_of(part) else None
        if reason:
            return Skipped(document.path, line_of(part), part.value, reason)
    if not name_is_valid(node.value):
        return Skipped(document.path, line_of(node), node.value, "not an image name")
    tag_value, digest = parse_tag_value(text_of(tag))
    return Site(
        file=document.path,
        kind="helm",
        path=join(path, key),
        line=line_of(node),
        ref=ImageRef(name=node.value, tag=tag_value, digest=digest),
        repositories=repositories_of(node.value),
        fields={"repository": Field(node, join(path, key)), "tag": Field(tag, join(path, tag_key))},
    )


def _split_site(
    context: _Context,
    mapping: MappingNode,
    path: str,
    name_key: str,
    own: dict[str, Node],
    keys: dict[str, Node],
) -> Site | Skipped:
    document = context.document

    def part(key: str) -> ScalarNode | None:
        node = keys.get(key)
        return node if is_scalar(node) else None

    name_node = part(name_key)
    assert name_node is not None
    registry = part("registry")
    tag_key = next((k for k in TAG_KEYS if part(k) is not None), "tag")
    tag = part(tag_key)
    digest_key, digest = next(
        ((key, n) for key, _ in DIGEST_KEYS if (n := part(key)) is not None), ("digest", None)
    )
    for node in (name_node, registry, tag, digest):
        if node is None or not text_of(node):
            continue
        reason = unsupported_reason(node.value) or (
            "block scalar" if is_block_scalar(node) else None
        )
        if reason:
            return Skipped(document.path, line_of(node), node.value, reason)
    spelled = text_of(name_node)
    if not spelled:
        return Skipped(document.path, line_of(name_node), "", DEFAULT_IMAGE)
    block_registry = text_of(registry) if registry is not None else ""
    prefix = ""
    if name_key == "name":
        # cert-manager: [image.registry/]imageRegistry/imageNamespace/name
        prefix = "/".join(p for p in (block_registry, context.name_prefix) if p)
    elif context.override:
        prefix = context.override  # replaces the block's registry
    elif block_registry:
        prefix = ""
    elif context.default:
        prefix = context.default
    if prefix:
        name = f"{prefix}/{spelled}"
    else:
        name = f"{block_registry}/{spelled}" if block_registry else spelled
    if not name_is_valid(name):
        return Skipped(document.path, line_of(name_node), name_node.value, "not an image name")
    tag_value, folded_digest = parse_tag_value(text_of(tag)) if tag is not None else (None, None)
    digest_value = folded_digest
    if digest is not None and text_of(digest):
        digest_value = text_of(digest) if digest_key == "digest" else sha_to_digest(digest.value)
    fields: dict[str, Field] = {}
    insert_keys: dict[str, str] = {"tag": "tag"}
    roles = [("repository", name_key, name_node)]
    if registry is not None and not prefix:
        roles.append(("registry", "registry", registry))
    if tag is not None:
        roles.append(("tag", tag_key, tag))
    if digest is not None:
        roles.append((digest_key, digest_key, digest))
    for role, key, node in roles:
        if key in own:
            fields[role] = Field(node, join(path, key))
        else:
            insert_keys[role] = INHERITED_ROLE_KEYS.get(role, key)
    if not fields:
        return Skipped(document.path, line_of(name_node), spelled, "nothing of its own to set")
    return Site(
        file=document.path,
        kind="helm",
        path=path,
        line=line_of(name_node),
        ref=ImageRef(name=name, tag=tag_value, digest=digest_value),
        repositories=repositories_of(name),
        fields=fields,
        mapping=mapping,
        insert_keys=insert_keys,
        name_prefix=prefix,
        digest_form=_digest_form(context, path, digest_key, digest),
    )


def _digest_form(context: _Context, path: str, key: str, node: ScalarNode | None) -> str:
    """How a ``sha`` value is spelled: as it is now, or as the chart prints it."""
    if key != "sha" or node is None:
        return ""
    value = text_of(node)
    if value:
        return "full" if ":" in value else "hex"
    return context.sha_form(path)


def find_parameters(document: Document, parameters: Node, path: str) -> Iterator[Site | Skipped]:
    """Argo CD ``helm.parameters``: ``{name: image.repository, value: ...}`` pairs grouped
    by the prefix before the last dot."""
    if not is_sequence(parameters):
        return
    groups: dict[str, dict[str, tuple[str, ScalarNode]]] = {}
    image_leaf: set[str] = set()  # prefixes whose repository is an ``…image`` parameter
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
            if leaf == "image":
                image_leaf.add(prefix)
    for prefix, group in groups.items():
        if prefix in image_leaf and set(group) == {"repository"}:
            whole = _whole_parameter(document, *group["repository"])
            if whole is not None:
                yield whole
                continue
        if "repository" not in group:
            for _, node in group.values():
                yield Skipped(
                    document.path, line_of(node), node.value, "helm parameter without a repository"
                )
            continue
        for _, node in group.values():
            reason = unsupported_reason(node.value) if node.value else None
            if reason:
                yield Skipped(document.path, line_of(node), node.value, reason)
                break
        else:
            yield _parameter_site(document, group)


def _whole_parameter(document: Document, path: str, node: ScalarNode) -> Site | Skipped | None:
    """``worker.image=repo:tag`` (Argo CD Image Updater's ``helm.image-spec``) is a whole
    reference, as a values file's ``image: repo:tag`` is; None when it holds a name alone
    (then it is the repository of its group)."""
    if not node.value or unsupported_reason(node.value) or is_block_scalar(node):
        return None
    ref = split_reference(node.value)
    if ref.tag is None and ref.digest is None:
        return None
    return ref_site(file=document.path, kind="argocd", path=path, node=node)


def _parameter_site(document: Document, group: dict[str, tuple[str, ScalarNode]]) -> Site | Skipped:
    repo_path, repo = group["repository"]
    registry = group.get("registry")
    name = f"{registry[1].value}/{repo.value}" if registry and registry[1].value else repo.value
    if not name_is_valid(name):
        return Skipped(document.path, line_of(repo), repo.value, "not an image name")
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
