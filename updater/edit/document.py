"""YAML text -> nodes with exact character offsets; splice scalars; check the result.

The edit rule: ruamel.yaml only *locates* scalars. New text is spliced into the
original string and the document is never re-dumped, so comments, quoting, indentation,
CRLF, BOM and everything else stay byte-identical.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeGuard, cast

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

from updater.errors import EditError

STR_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"
BOM = "\ufeff"

PLAIN_TAG = "tag:gitops-updater,2026:plain"  # a plain scalar whose type is not looked up yet
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_TAGS = {name: Tag(suffix=name) for name in (PLAIN_TAG, STR_TAG, _MAP_TAG, _SEQ_TAG)}


class _LazyResolver(VersionedResolver):
    """Leaves plain scalars' types to ``scalar_tag``: composing calls the resolver for
    every node, and looking up the YAML version and regexps there was most of the cost
    of parsing a config repo, while only a few values' types are ever asked for."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        # Shared Tag objects: a Node given a str builds a new Tag every time.
        if kind is ScalarNode:
            return _TAGS[PLAIN_TAG] if implicit[0] else _TAGS[STR_TAG]
        return _TAGS[_MAP_TAG] if kind is MappingNode else _TAGS[_SEQ_TAG]


@functools.lru_cache(maxsize=65536)
def plain_tag(value: str) -> str:
    return str(_resolvers[1].resolve(ScalarNode, value, (True, False)))


def scalar_tag(node: ScalarNode) -> str:
    tag = str(node.tag)
    return plain_tag(node.value) if tag == PLAIN_TAG else tag


# What may stay a plain scalar in any context (block or flow) and still be a string.
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./@+=-]*(?::[A-Za-z0-9_./@+=-]+)*$")
# Kubernetes tooling still reads YAML 1.1 (yes/no/on/off are booleans, 010 is octal),
# so a plain value must read as a string under both versions.
_resolvers = (VersionedResolver(version=(1, 1)), VersionedResolver(version=(1, 2)))


def _node_classes() -> tuple[tuple[type, ...], tuple[type, ...], tuple[type, ...]]:
    scalar: list[type] = [ScalarNode]
    mapping: list[type] = [MappingNode]
    sequence: list[type] = [SequenceNode]
    try:
        import yaml.nodes
    except ImportError:
        pass
    else:
        scalar.append(yaml.nodes.ScalarNode)
        mapping.append(yaml.nodes.MappingNode)
        sequence.append(yaml.nodes.SequenceNode)
    return tuple(scalar), tuple(mapping), tuple(sequence)


# Nodes come from libyaml through PyYAML when it is there, else from ruamel.yaml: both
# have the same attributes (tag, value, style, flow_style, start_mark, end_mark), so the
# code is typed against ruamel's classes and tests membership with these guards.
_SCALARS, _MAPPINGS, _SEQUENCES = _node_classes()
_SCALAR_TYPES = frozenset(_SCALARS)
_MAPPING_TYPES = frozenset(_MAPPINGS)
_SEQUENCE_TYPES = frozenset(_SEQUENCES)


def is_scalar(node: object) -> TypeGuard[ScalarNode]:
    return isinstance(node, _SCALARS)


def is_mapping(node: object) -> TypeGuard[MappingNode]:
    return isinstance(node, _MAPPINGS)


def is_sequence(node: object) -> TypeGuard[SequenceNode]:
    return isinstance(node, _SEQUENCES)


_loader_class: Any = None


def _fast_loader(text: str) -> Any:
    """libyaml's composer through PyYAML, with the lazy resolver.

    Composing is most of the cost of reading a config repo: per file, ruamel.yaml.clib
    takes ~0.3 ms and libyaml through PyYAML ~0.06 ms on the same files (bench/), with
    the same parser underneath (clib is derived from libyaml) and the same character
    offsets in the marks. The class is made once, where ``compose_all`` makes one per call.
    """
    global _loader_class
    if _loader_class is None:
        from yaml._yaml import CParser
        from yaml.nodes import MappingNode as YamlMapping
        from yaml.nodes import ScalarNode as YamlScalar
        from yaml.resolver import BaseResolver

        class Loader(CParser, BaseResolver):
            def __init__(self, stream: str) -> None:
                CParser.__init__(self, stream)
                BaseResolver.__init__(self)

            # Path resolvers are never registered: skip PyYAML's per-node bookkeeping.
            def descend_resolver(self, current_node: Any, current_index: Any) -> None:
                pass

            def ascend_resolver(self) -> None:
                pass

            def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
                if kind is YamlScalar:
                    return PLAIN_TAG if implicit[0] else STR_TAG
                return _MAP_TAG if kind is YamlMapping else _SEQ_TAG

        _loader_class = Loader
    return _loader_class(text)


def _ruamel_loader(text: str) -> Any:
    from ruamel.yaml.cyaml import CParser  # type: ignore[attr-defined]

    class Loader(CParser, _LazyResolver):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _LazyResolver.__init__(self, loadumper=self)

    return Loader(text)


def _compose_all(text: str) -> list[Node]:
    for make in (_fast_loader, _ruamel_loader):
        try:
            loader = make(text)
        except (ImportError, AttributeError):
            continue
        try:
            roots = []
            while loader.check_node():
                roots.append(loader.get_node())
            return roots
        finally:
            loader.dispose()
    yaml = YAML(typ="safe", pure=True)  # no C parser at all: same marks, slower
    yaml.Resolver = _LazyResolver
    return list(yaml.compose_all(text))


@dataclass(frozen=True)
class Document:
    """One parsed file: its text and its documents' root nodes."""

    path: str  # relative, for messages
    text: str
    roots: tuple[Node, ...]
    offset: int  # characters before what the parser saw (a BOM)
    source: str = ""  # the file on disk, when it came from one (to find a chart beside it)

    def start(self, node: Node) -> int:
        """Where the node's own text starts: after an anchor (``&a``) or a tag (``!!str``),
        which the parser counts as part of the node but an edit must keep."""
        position = int(node.start_mark.index) + self.offset
        text = self.text
        while position < len(text) and text[position] in "&!":
            while position < len(text) and text[position] not in " \t\r\n":
                position += 1
            while position < len(text) and text[position] in " \t\r\n":
                position += 1
        return position

    def end(self, node: Node) -> int:
        return int(node.end_mark.index) + self.offset

    def anchor(self, node: Node) -> str:
        """The node's anchor name (``v`` of ``&v 1.0``, also after a tag), or ""."""
        text = self.text
        position = int(node.start_mark.index) + self.offset
        while position < len(text) and text[position] in "&!":
            token_start = position
            while position < len(text) and text[position] not in " \t\r\n":
                position += 1
            if text[token_start] == "&":
                return text[token_start + 1 : position]
            while position < len(text) and text[position] in " \t\r\n":
                position += 1
        return ""


def decode(data: bytes, shown: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise EditError(f"not UTF-8 text (byte {error.start})", file=shown, line=line) from None


def parse(text: str, shown: str) -> Document:
    offset = 1 if text.startswith(BOM) else 0
    try:
        roots = tuple(r for r in _compose_all(text[offset:]) if r is not None)
    except RecursionError:
        raise EditError("nested too deeply to parse; not a config file", file=shown) from None
    except Exception as error:
        if not _is_yaml_error(error):
            raise
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(error, "problem", None) or getattr(error, "context", None)
        if not problem:
            problem = (str(error).strip().splitlines() or ["malformed"])[0]
        raise EditError(f"malformed YAML: {problem}", file=shown, line=line) from None
    document = Document(path=shown, text=text, roots=roots, offset=offset)
    for root in roots:
        _check_duplicate_keys(document, root)
    return document


def _is_yaml_error(error: Exception) -> bool:
    if isinstance(error, YAMLError):
        return True
    try:
        import yaml
    except ImportError:
        return False
    return isinstance(error, yaml.YAMLError)


# Deeper than any real config (Helm values rarely pass 15 levels), and shallow enough
# that every recursive walk over nodes stays far from Python's recursion limit.
MAX_DEPTH = 200


def _check_duplicate_keys(document: Document, root: Node) -> None:
    """Refuse duplicate keys and nesting deeper than MAX_DEPTH, one level at a time.

    Hot on a large repo: node types are tested with set lookups, not isinstance calls,
    and only a file with anchors can reach one node twice."""
    shared = "&" in document.text
    seen: set[int] = set()
    level = [root]
    depth = 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            raise EditError(
                f"nested deeper than {MAX_DEPTH} levels; not a config file",
                file=document.path,
                line=line_of(level[0]),
            )
        below: list[Node] = []
        for node in level:
            if shared:
                if id(node) in seen:
                    continue
                seen.add(id(node))
            kind = type(node)
            if kind in _MAPPING_TYPES:
                pairs = node.value
                if len(pairs) > 1:
                    names = [k.value for k, _ in pairs if type(k) in _SCALAR_TYPES]
                    if len(set(names)) != len(names):
                        _report_duplicate(document, cast(MappingNode, node))
                for key, value in pairs:
                    if type(value) not in _SCALAR_TYPES:
                        below.append(value)
                    if type(key) not in _SCALAR_TYPES:  # "? [a, b]": complex keys nest too
                        below.append(key)
            elif kind in _SEQUENCE_TYPES:
                below.extend(item for item in node.value if type(item) not in _SCALAR_TYPES)
        level = below


def _report_duplicate(document: Document, node: MappingNode) -> None:
    seen: set[str] = set()
    for key, _ in node.value:
        if is_scalar(key) and key.value != "<<":
            if key.value in seen:
                raise EditError(
                    f"duplicate key {key.value!r}",
                    file=document.path,
                    line=key.start_mark.line + 1,
                )
            seen.add(key.value)


def is_string(node: Node | None) -> bool:
    return is_scalar(node) and scalar_tag(node) == STR_TAG


def is_null(node: Node | None) -> bool:
    """A plain scalar that reads as null: nothing after the colon, ``~`` or ``null``."""
    return is_scalar(node) and scalar_tag(node) == NULL_TAG


def text_of(node: ScalarNode) -> str:
    """The scalar's text, with null spelled as the empty string (``tag: ~`` is no tag)."""
    return "" if is_null(node) else str(node.value)


def is_block_scalar(node: Node) -> bool:
    return is_scalar(node) and node.style in ("|", ">")


def items(node: Node) -> Iterator[tuple[str, Node, Node]]:
    """Key/value pairs of a mapping with scalar keys, merges (<<) left out."""
    if is_mapping(node):
        for key, value in node.value:
            if is_scalar(key) and key.value != "<<":
                yield key.value, key, value


def get(node: Node | None, key: str) -> Node | None:
    if not is_mapping(node):
        return None
    for name, value in node.value:
        # Only a scalar key has a str value equal to ``key``; "<<" is never asked for.
        if name.value == key:
            found: Node = value
            return found
    return None


def get_path(node: Node | None, *keys: str) -> Node | None:
    for key in keys:
        node = get(node, key)
    return node


def scalar(node: Node | None, key: str) -> ScalarNode | None:
    value = get(node, key)
    return value if is_scalar(value) else None


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
        if is_scalar(node):
            found.append(node)
        elif is_mapping(node):
            for key, value in node.value:
                walk(key)
                walk(value)
        elif is_sequence(node):
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
    scalars = _SCALAR_TYPES
    while stack:
        here, current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        kind = type(current)
        if kind in _MAPPING_TYPES:
            yield here, cast(MappingNode, current)
            for key, value in reversed(current.value):
                if type(value) not in scalars and type(key) in scalars and key.value != "<<":
                    stack.append((join(here, key.value), value))
        elif kind in _SEQUENCE_TYPES:
            items = current.value
            for index in range(len(items) - 1, -1, -1):
                if type(items[index]) not in scalars:
                    stack.append((f"{here}[{index}]", items[index]))


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
        if is_mapping(node):
            for key, value in node.value:
                name = key.value if is_scalar(key) else "?"
                walk(value, join(path, name))
        elif is_sequence(node):
            for index, item in enumerate(node.value):
                walk(item, f"{path}[{index}]")

    for root in document.roots:
        walk(root, "")  # like every other YAML path: relative to its own document
    return found
