"""Argo CD Applications and ApplicationSets (``spec.source``/``spec.sources``) and the
``.argocd-source*.yaml`` parameter-override files Argo CD writes back."""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from updater.edit import helm, kustomize, layout
from updater.edit.document import (
    Document,
    get,
    get_path,
    is_mapping,
    is_scalar,
    is_sequence,
    is_string,
    line_of,
    render_scalar,
)
from updater.edit.model import EMBEDDED_VALUES, Skipped
from updater.edit.site import Site
from updater.errors import EditError
from updater.reference import Change

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


def matches(file_name: str, root: MappingNode) -> bool:
    return is_source_file(file_name) or is_application(root)


def find(document: Document, root: MappingNode) -> Iterator[Site | Skipped]:
    """An override file is one source's parameters; an Application has its sources."""
    if is_source_file(posixpath.basename(document.path)):
        yield from find_in_source(document, root, "")
        return
    for path, source in sources(root):
        yield from find_in_source(document, source, path)


def find_in_source(document: Document, source: Node, path: str) -> Iterator[Site | Skipped]:
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
        yield Skipped(document.path, line_of(values), "", EMBEDDED_VALUES)


def _as_argocd(found: Site | Skipped) -> Site | Skipped:
    return replace(found, kind="argocd") if isinstance(found, Site) else found


# --------------------------------------------------------------------------- write-back
# A ``.argocd-source-<app>.yaml`` named with --path gains an entry for an image it does not
# list yet, the way Argo CD Image Updater's git write-back adds one: ``kustomize.images``
# strings for a kustomize source, ``helm.parameters`` (``image.name``/``image.tag``,
# ``forcestring: true``) for a Helm one.

HELM_NAME_PARAMETER = "image.name"  # Argo CD Image Updater's defaults
HELM_TAG_PARAMETER = "image.tag"
_EMPTY_VALUE = re.compile(r"^:[ \t]*(?:\{[ \t]*\}|\[[ \t]*\]|~|null|Null|NULL)?[ \t]*(?:#.*)?$")

Item = tuple[tuple[str | None, str], ...]  # one sequence item: a scalar, or key/value pairs


@dataclass(frozen=True)
class NewItems:
    start: int
    end: int
    text: str
    values: tuple[str, ...]  # every scalar of the new text, in order
    lines: tuple[int, ...]  # 1-based line of each item
    column: int  # 1-based column of each item's "- "
    path: str  # YAML path of the list


def source_kind(document: Document, directory: str) -> str:
    """``kustomize`` or ``helm``: from the file's own keys, else from the source
    directory it sits in (a Chart.yaml or a kustomization beside it)."""
    root = document.roots[0] if document.roots else None
    keys = {k for k in ("kustomize", "helm") if get(root, k) is not None}
    if len(keys) == 1:
        return keys.pop()
    has_chart = os.path.exists(os.path.join(directory, "Chart.yaml"))
    has_kustomization = any(
        os.path.exists(os.path.join(directory, name)) for name in kustomize.FILE_NAMES
    )
    if has_chart != has_kustomization:
        return "helm" if has_chart else "kustomize"
    raise EditError(
        "cannot tell whether this Argo CD source is Helm or kustomize; "
        "add a 'kustomize:' or 'helm:' key",
        file=document.path,
    )


def new_items(document: Document, changes: Sequence[Change], kind: str) -> NewItems:
    if kind == "helm" and len(changes) > 1:
        raise EditError(
            "Argo CD's image.name/image.tag parameters hold one image; "
            f"set {', '.join(str(c) for c in changes)} one at a time or by hand",
            file=document.path,
        )
    items: list[Item] = []
    for change in changes:
        if kind == "kustomize":
            items.append(((None, _kustomize_image(change)),))
        else:
            items += _helm_parameters(document, change)
    keys = ("kustomize", "images") if kind == "kustomize" else ("helm", "parameters")
    return add_items(document, keys, items, per_change=1 if kind == "kustomize" else 2)


def _kustomize_image(change: Change) -> str:
    if change.new_name:
        return f"{change.spelled}={change.target}"
    return change.target


def _helm_parameters(document: Document, change: Change) -> list[Item]:
    if change.tag is None:
        raise EditError(
            f"{change}: a Helm parameter needs the tag (give IMAGE:TAG or IMAGE:TAG@DIGEST)",
            file=document.path,
        )
    root = document.roots[0] if document.roots else None
    parameters = get_path(root, "helm", "parameters")
    if is_sequence(parameters):
        for item in parameters.value:
            name = get(item, "name")
            if is_scalar(name) and name.value in (HELM_NAME_PARAMETER, HELM_TAG_PARAMETER):
                raise EditError(
                    f"helm.parameters already sets {name.value} for another image; "
                    f"add {change.spelled}'s parameters by hand",
                    file=document.path,
                    line=line_of(name),
                )
    tag = f"{change.tag}@{change.digest}" if change.digest else change.tag
    return [
        (("name", HELM_NAME_PARAMETER), ("value", change.new_name or change.spelled),
         ("forcestring", "true")),
        (("name", HELM_TAG_PARAMETER), ("value", tag), ("forcestring", "true")),
    ]  # fmt: skip


def _render_item(item: Item, dash: int, content: int, newline: str) -> str:
    lines = []
    for index, (key, value) in enumerate(item):
        rendered = value if value == "true" and key == "forcestring" else _scalar(value)
        body = rendered if key is None else f"{key}: {rendered}"
        head = " " * dash + "-" + " " * (content - dash - 1) if index == 0 else " " * content
        lines.append(f"{head}{body}{newline}")
    return "".join(lines)


def _scalar(value: str) -> str:
    return render_scalar(ScalarNode("", ""), value)


def add_items(
    document: Document, keys: tuple[str, ...], items: Sequence[Item], per_change: int = 1
) -> NewItems:
    """Splice ``items`` onto the list at ``keys``, creating the keys that are missing or
    empty (``{}``, ``[]``, null) in the file's own indentation."""
    text = document.text
    newline = "\r\n" if "\r\n" in text else "\n"
    root = document.roots[0] if document.roots else None
    if root is not None and not (is_mapping(root) and not root.flow_style):
        raise EditError("cannot add entries to this file's layout", file=document.path)
    indent, offset = kustomize.sequence_style(document, root)
    parent: Node | None = root
    created: tuple[str, ...] = ()
    new_key_column = 0  # where created keys go
    list_key_column: int | None = None  # column of the key holding the list, when it exists
    start = end = len(text)
    prefix = "" if not text or text.endswith("\n") else newline
    dash = content = -1
    for depth, key in enumerate(keys):
        pairs = parent.value if is_mapping(parent) else []
        found = next(((k, v) for k, v in pairs if is_scalar(k) and k.value == key), None)
        if found is None:
            created = keys[depth:]
            if parent is not root and is_mapping(parent):
                new_key_column = int(parent.value[0][0].start_mark.column)
                start, prefix = layout.line_end(text, document.end(layout.last_scalar(parent)))
                end = start
            break
        key_node, value = found
        if (is_mapping(value) or is_sequence(value)) and value.value and not value.flow_style:
            parent = value
            continue
        start = document.end(key_node)
        newline_at = text.find("\n", start)
        end = len(text) if newline_at == -1 else newline_at + 1
        tail = text[start:end].rstrip("\r\n")
        if not _EMPTY_VALUE.match(tail):
            raise EditError(
                f"cannot add to {'.'.join(keys[: depth + 1])} here",
                file=document.path,
                line=line_of(key_node),
            )
        comment = tail[tail.index("#") :] if "#" in tail else ""
        prefix = ":" + (f"  {comment}" if comment else "") + newline
        created = keys[depth + 1 :]
        new_key_column = int(key_node.start_mark.column) + 2
        list_key_column = None if created else int(key_node.start_mark.column)
        break
    else:
        assert is_sequence(parent) and parent.value
        first = parent.value[0]
        dash = layout.dash_column(text, document.start(first))
        content = int(first.start_mark.column)
        start, prefix = layout.line_end(text, document.end(layout.last_scalar(parent)))
        end = start
    values: list[str] = []
    column = new_key_column
    for key in created:
        prefix += " " * column + key + ":" + newline
        values.append(key)
        list_key_column = column
        column += 2
    if dash < 0:
        assert list_key_column is not None
        dash = list_key_column + indent
        content = dash + offset
    body = ""
    lines = []
    line = (text[:start] + prefix).count("\n") + 1
    for index, item in enumerate(items):
        if index % per_change == 0:
            lines.append(line)
        rendered = _render_item(item, dash, content, newline)
        body += rendered
        line += rendered.count("\n")
        for item_key, value in item:
            if item_key is not None:
                values.append(item_key)
            values.append(value)
    path = ".".join(keys)
    return NewItems(start, end, prefix + body, tuple(values), tuple(lines), dash + 1, path)
