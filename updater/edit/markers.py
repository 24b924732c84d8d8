"""Setter markers: a line comment ``# {"$imagepolicy": "NS:NAME[:tag|:name|:digest]"}``
marks the scalar on its line (Flux image-automation syntax)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence

from ruamel.yaml.nodes import ScalarNode

from updater.edit.document import Document, is_block_scalar, paths_of, scalars
from updater.edit.model import Skipped
from updater.edit.site import Field, Site, ref_site, repositories_of
from updater.reference import ImageRef

MARKER = re.compile(r'#\s*\{\s*"\$imagepolicy"\s*:\s*"([^"]+)"\s*\}')
NEEDLE = "$imagepolicy"
ROLES = ("tag", "name", "digest")


@dataclasses.dataclass(frozen=True)
class Marker:
    line: int  # 1-based
    column: int  # where the comment starts, as an offset into the text
    policy: str  # "ns:name"
    role: str  # ref | tag | name | digest


def markers(text: str) -> list[Marker]:
    found = []
    for match in MARKER.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        policy, role = match.group(1), "ref"
        head, _, last = policy.rpartition(":")
        if last in ROLES and head.count(":") >= 1:
            policy, role = head, last
        elif last in ROLES and ":" not in head and head:
            # "name:tag" without namespace is ambiguous; Flux reads it as policy "name".
            policy, role = head, last
        found.append(Marker(line, match.start(), policy, role))
    return found


def find(document: Document, found: Sequence[Site | Skipped] = ()) -> Iterator[Site | Skipped]:
    """Marked fields; ``found``: the file's other sites, which name the image of a lone
    part marker on one of their fields (a ``:tag`` marker on a kustomize ``newTag``)."""
    if NEEDLE not in document.text:
        return
    marked = markers(document.text)
    if not marked:
        return
    lines = {m.line for m in marked}
    by_line: dict[int, list[ScalarNode]] = {}
    for node in scalars(document):
        line = int(node.end_mark.line) + 1
        if line in lines and int(node.start_mark.line) + 1 == line:
            by_line.setdefault(line, []).append(node)
    targets: list[tuple[Marker, ScalarNode]] = []
    for marker in marked:
        before = [n for n in by_line.get(marker.line, []) if document.end(n) <= marker.column]
        if before:
            targets.append((marker, before[-1]))
    names: dict[str, str] = {}
    for marker, node in targets:
        if marker.role == "ref":
            names.setdefault(
                marker.policy,
                node.value.partition("@")[0].rpartition(":")[0]
                if ":" in node.value.rpartition("/")[2]
                else node.value.partition("@")[0],
            )
        elif marker.role == "name":
            names.setdefault(marker.policy, node.value)
    enclosing = {
        id(f.node): site.ref.name
        for site in found
        if isinstance(site, Site) and site.policy is None and site.ref.name
        for role, f in site.fields.items()
        if not role.startswith("_")
    }
    paths = paths_of(document, {id(node) for _, node in targets})
    for marker, node in targets:
        path = paths.get(id(node), f"(line {marker.line})")
        name = names.get(marker.policy) or enclosing.get(id(node), "")
        yield _site(document, marker, node, name, path)


def _site(
    document: Document, marker: Marker, node: ScalarNode, name: str, path: str
) -> Site | Skipped:
    if is_block_scalar(node):
        return Skipped(document.path, marker.line, node.value.strip(), "block scalar")
    if marker.role == "ref":
        found = ref_site(file=document.path, kind="marker", path=path, node=node)
        return (
            dataclasses.replace(found, policy=marker.policy) if isinstance(found, Site) else found
        )
    value = node.value
    if marker.role == "name":
        ref = ImageRef(name=value)
    elif marker.role == "tag":
        ref = ImageRef(name=name, tag=value or None)
    else:
        ref = ImageRef(name=name, digest=value or None)
    return Site(
        file=document.path,
        kind="marker",
        path=path,
        line=marker.line,
        ref=ref,
        repositories=repositories_of(ref.name),
        fields={marker.role: Field(node, path)},
        policy=marker.policy,
    )
