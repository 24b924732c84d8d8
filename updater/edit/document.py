"""YAML text -> nodes with exact character offsets; splice scalars; check the result.

The edit rule: ruamel.yaml only *locates* scalars. New text is spliced into the
original string and the document is never re-dumped, so comments, quoting, indentation,
CRLF, BOM and everything else stay byte-identical.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from updater.errors import EditError

STR_TAG = "tag:yaml.org,2002:str"
BOM = "\ufeff"

_loader: YAML | None = None
# Kubernetes tooling still reads YAML 1.1 (yes/no/on/off are booleans, 010 is octal),
# so a plain value must read as a string under both versions.
_resolvers = (VersionedResolver(version=(1, 1)), VersionedResolver(version=(1, 2)))
# What may stay a plain scalar in any context (block or flow) and still be a string.
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./@+=-]*(?::[A-Za-z0-9_./@+=-]+)*$")


def _yaml() -> YAML:
    global _loader
    if _loader is None:
        # The C composer (ruamel.yaml.clib) is ~10x faster than the pure-Python one and
        # gives the same marks; ruamel falls back to pure Python where clib is missing.
        _loader = YAML(typ="safe")
    return _loader


@dataclass(frozen=True)
class Document:
    """One parsed file: its text and its documents' root nodes."""

    path: str  # relative, for messages
    text: str
    roots: tuple[Node, ...]
    offset: int  # characters before what the parser saw (a BOM)

    def start(self, node: Node) -> int:
        return int(node.start_mark.index) + self.offset

    def end(self, node: Node) -> int:
        return int(node.end_mark.index) + self.offset


def read_text(path: Path, shown: str) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise EditError(f"{shown}:{line}: not UTF-8 text (byte {error.start})") from None


def parse(text: str, shown: str) -> Document:
    offset = 1 if text.startswith(BOM) else 0
    try:
        roots = tuple(r for r in _yaml().compose_all(text[offset:]) if r is not None)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{shown}:{mark.line + 1}" if mark is not None else shown
        problem = error.problem or error.context or "malformed YAML"
        raise EditError(f"{where}: malformed YAML: {problem}") from None
    except YAMLError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "malformed"
        raise EditError(f"{shown}: malformed YAML: {first_line}") from None
    document = Document(path=shown, text=text, roots=roots, offset=offset)
    for root in roots:
        _check_duplicate_keys(document, root, set())
    return document


def _check_duplicate_keys(document: Document, node: Node, seen: set[int]) -> None:
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, MappingNode):
        keys: set[Any] = set()
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value != "<<":
                marker = (key.tag, key.value)
                if marker in keys:
                    raise EditError(
                        f"{document.path}:{key.start_mark.line + 1}: duplicate key {key.value!r}"
                    )
                keys.add(marker)
            _check_duplicate_keys(document, value, seen)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            _check_duplicate_keys(document, item, seen)


def is_string(node: Node | None) -> bool:
    return isinstance(node, ScalarNode) and node.tag == STR_TAG


def is_block_scalar(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.style in ("|", ">")


def items(node: Node) -> Iterator[tuple[str, Node, Node]]:
    """Key/value pairs of a mapping with scalar keys, merges (<<) left out."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value != "<<":
                yield key.value, key, value


def get(node: Node | None, key: str) -> Node | None:
    if not isinstance(node, MappingNode):
        return None
    for name, _, value in items(node):
        if name == key:
            return value
    return None


def get_path(node: Node | None, *keys: str) -> Node | None:
    for key in keys:
        node = get(node, key)
    return node


def scalar(node: Node | None, key: str) -> ScalarNode | None:
    value = get(node, key)
    return value if isinstance(value, ScalarNode) else None


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


def needs_quotes(value: str) -> bool:
    """True if ``value`` written plain would not read back as this same string."""
    if not _PLAIN_SAFE.match(value):
        return True
    return any(r.resolve(ScalarNode, value, (True, False)) != STR_TAG for r in _resolvers)


def render_scalar(node: ScalarNode, value: str) -> str:
    """``value`` written in the node's own style, quoted when it must be."""
    style = node.style
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"' or needs_quotes(value):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    return value


@dataclass(frozen=True)
class Splice:
    start: int
    end: int
    text: str


def apply_splices(text: str, splices: list[Splice]) -> str:
    pieces: list[str] = []
    position = 0
    for splice in sorted(splices, key=lambda s: (s.start, s.end)):
        if splice.start < position:
            raise ValueError("overlapping splices")
        pieces.append(text[position : splice.start])
        pieces.append(splice.text)
        position = splice.end
    pieces.append(text[position:])
    return "".join(pieces)


def scalars(document: Document) -> list[ScalarNode]:
    """Every scalar of the file in document order, each node once (aliases are the
    anchored node itself, so they count once)."""
    found: list[ScalarNode] = []
    seen: set[int] = set()

    def walk(node: Node) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            found.append(node)
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                walk(key)
                walk(value)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                walk(item)

    for root in document.roots:
        walk(root)
    return found


def scalar_index(document: Document) -> dict[int, int]:
    """id(node) -> index in document order, to name nodes across a re-parse."""
    return {id(node): index for index, node in enumerate(scalars(document))}


def walk_mappings(
    node: Node, path: str = "", prune: frozenset[int] = frozenset()
) -> Iterator[tuple[str, MappingNode]]:
    """Every mapping under ``node`` with its YAML path; merged/aliased ones once;
    subtrees whose id is in ``prune`` are not entered."""
    seen: set[int] = set(prune)
    stack: list[tuple[str, Node]] = [(path, node)]
    while stack:
        here, current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, MappingNode):
            yield here, current
            children = [(join(here, name), value) for name, _, value in items(current)]
            stack.extend(reversed(children))
        elif isinstance(current, SequenceNode):
            stack.extend(reversed([(f"{here}[{i}]", item) for i, item in enumerate(current.value)]))


def join(path: str, key: str) -> str:
    if "." in key or "[" in key:
        key = f'"{key}"'
    return f"{path}.{key}" if path else key


def paths_of(document: Document, wanted: set[int]) -> dict[int, str]:
    """YAML paths of the scalar nodes whose ids are in ``wanted``."""
    found: dict[int, str] = {}
    seen: set[int] = set()

    def walk(node: Node, path: str) -> None:
        if id(node) in seen or len(found) == len(wanted):
            return
        seen.add(id(node))
        if id(node) in wanted:
            found[id(node)] = path
        if isinstance(node, MappingNode):
            for key, value in node.value:
                name = key.value if isinstance(key, ScalarNode) else "?"
                walk(value, join(path, name))
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, f"{path}[{index}]")

    for number, root in enumerate(document.roots):
        walk(root, f"[doc {number}]" if len(document.roots) > 1 else "")
    return found
