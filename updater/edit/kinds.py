"""Every reference in a parsed file: the kinds table, tried in order for each document
of the file, then setter markers, ``# updater: ignore`` and commented-out references.

A kind is a module with ``matches(file_name, root)`` and ``find(document, root)``; the
first kind that matches a document's top-level mapping finds its sites. Adding a file
kind is one module and one row here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Protocol

from ruamel.yaml.nodes import MappingNode

from updater.edit import argocd, compose, helm, kustomize, manifests, markers
from updater.edit.document import Document, is_mapping
from updater.edit.model import Skipped
from updater.edit.site import Site

# A line comment that takes a reference out (a key read as an image that is not one).
IGNORE_NEEDLE = "updater:"
IGNORE_COMMENT = re.compile(r"#[ \t]*updater:[ \t]*ignore\b")
IGNORED = "ignored (# updater: ignore)"
# "# image: nginx:1.25" and friends: worth telling a user why scan did not list them.
COMMENTED_OUT = re.compile(
    r"^[ \t]*#[ \t]*(?:-[ \t]+)?(?:image|newTag|newName|repository):[ \t]*([^\s#]+)", re.MULTILINE
)


class FileKind(Protocol):
    def matches(self, file_name: str, root: MappingNode, /) -> bool: ...

    def find(self, document: Document, root: MappingNode, /) -> Iterator[Site | Skipped]: ...


# Order matters: a file name decides first (kustomization, Argo CD override file), then
# the document's shape; an Argo CD Application is a Kubernetes object too, and Helm
# values are whatever mapping nothing else claims.
KINDS: tuple[FileKind, ...] = (kustomize, argocd, manifests, compose, helm)


def find_all(document: Document, file_name: str, *, commented: bool = True) -> list[Site | Skipped]:
    """Every site and skipped value of a parsed file, each set of fields once;
    ``commented``: also note commented-out references (for people, not for edits)."""
    found: list[Site | Skipped] = []
    seen_fields: dict[frozenset[int], int] = {}

    def add(items: Iterator[Site | Skipped]) -> None:
        for item in items:
            if isinstance(item, Site):
                key = frozenset(id(f.node) for f in item.fields.values())
                if key in seen_fields:
                    # A setter marker on a field another kind found: the marker's
                    # explicit policy wins, so aliases reach it.
                    if item.policy is not None:
                        found[seen_fields[key]] = item
                    continue
                seen_fields[key] = len(found)
            found.append(item)

    for root in document.roots:
        if is_mapping(root):
            kind = next(kind for kind in KINDS if kind.matches(file_name, root))
            add(kind.find(document, root))
    add(markers.find(document, found))
    if markers.NEEDLE in document.text:
        found = _merge_markers(found)
    if IGNORE_NEEDLE in document.text:
        found = _drop_ignored(document, found)
    for match in COMMENTED_OUT.finditer(document.text) if commented else ():
        line = document.text.count("\n", 0, match.start()) + 1
        found.append(Skipped(document.path, line, match.group(1), "commented out"))
    return found


def _merge_markers(found: list[Site | Skipped]) -> list[Site | Skipped]:
    """Part markers on the fields of one block (a Helm ``repository``/``tag``, a
    kustomization entry's ``newTag``) are that block, once: the block's kind knows the
    whole reference and how to write it (a registry split, a digest folded into the tag,
    keys it may add); the markers say who owns it, so the block takes their policy.
    Markers of several policies on one block stay apart: each policy owns its part."""
    owner_of: dict[int, int] = {}  # id(field node) -> index of the unmarked block
    for index, item in enumerate(found):
        if isinstance(item, Site) and item.policy is None:
            for role, field in item.fields.items():
                if not role.startswith("_"):
                    owner_of.setdefault(id(field.node), index)
    parts: dict[int, list[Site]] = {}
    for item in found:
        if isinstance(item, Site) and item.kind == "marker" and item.policy is not None:
            blocks = {owner_of.get(id(f.node), -1) for f in item.fields.values()}
            if len(blocks) == 1 and -1 not in blocks:
                parts.setdefault(blocks.pop(), []).append(item)
    merged: dict[int, Site] = {}
    absorbed: set[int] = set()
    for index, marked_parts in parts.items():
        block = found[index]
        assert isinstance(block, Site)
        policies = {part.policy for part in marked_parts}
        if len(policies) != 1:
            continue
        nodes = {id(f.node) for part in marked_parts for f in part.fields.values()}
        roles = frozenset(r for r, f in block.fields.items() if id(f.node) in nodes)
        whole = all(r in roles for r in block.fields if not r.startswith("_"))
        merged[index] = dataclasses.replace(
            block, policy=policies.pop(), marked=None if whole else roles
        )
        absorbed.update(id(part) for part in marked_parts)
    if not merged:
        return found
    return [merged.get(i, item) for i, item in enumerate(found) if id(item) not in absorbed]


def _drop_ignored(document: Document, found: list[Site | Skipped]) -> list[Site | Skipped]:
    """``# updater: ignore`` on a line of a reference (or on the key line just above an
    image block) takes that reference out of scan, set-image and poll."""
    lines = {
        document.text.count("\n", 0, match.start()) + 1
        for match in IGNORE_COMMENT.finditer(document.text)
    }
    kept: list[Site | Skipped] = []
    for item in found:
        if isinstance(item, Site):
            marked = {int(f.node.start_mark.line) + 1 for f in item.fields.values()}
            if item.mapping is not None:
                marked.add(int(item.mapping.start_mark.line))  # the line above, 1-based
            if marked & lines:
                kept.append(Skipped(item.file, item.line, item.image, IGNORED))
                continue
        kept.append(item)
    return kept
