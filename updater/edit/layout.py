"""Where new text goes in a YAML file and which text to cut, written the way a person
would lay it out: the layout rules that every kind's insertions and removals share
(the planner's new keys, kustomize's and Argo CD's new entries, removed keys)."""

from __future__ import annotations

from ruamel.yaml.nodes import MappingNode, Node

from updater.edit.document import (
    Document,
    is_block_scalar,
    is_mapping,
    is_scalar,
    is_sequence,
    line_of,
)
from updater.edit.site import Insertion
from updater.errors import EditError


def newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def line_end(text: str, position: int) -> tuple[int, str]:
    """Where text may be inserted after the line holding ``position``, and the prefix
    the new text needs (a newline when the file does not end with one)."""
    end = text.find("\n", position)
    if end == -1:
        return len(text), newline(text)
    return end + 1, ""


def last_scalar(node: Node) -> Node:
    while (is_mapping(node) or is_sequence(node)) and node.value:
        last = node.value[-1]
        node = last[1] if is_mapping(node) else last
    return node


def dash_column(text: str, item_start: int) -> int:
    line_start = text.rfind("\n", 0, item_start) + 1
    dash = text.rfind("-", line_start, item_start)
    return dash - line_start if dash >= 0 else 0


def key_column(mapping: MappingNode, value: Node) -> int:
    for key, item in mapping.value:
        if item is value:
            return int(key.start_mark.column)
    return int(mapping.start_mark.column)


def inserted_column(text: str, position: int, inserted: str) -> int:
    """1-based column where the inserted key starts."""
    body = inserted.lstrip("\r\n")
    if len(body) != len(inserted):  # starts on a new line
        return len(body) - len(body.lstrip(" ")) + 1
    line_start = text.rfind("\n", 0, position) + 1
    lead = len(body) - len(body.lstrip(", "))
    return position - line_start + lead + 1


def block_insertion(document: Document, insertion: Insertion, pair: str) -> tuple[int, str, Node]:
    """A new line after the mapping's last line when that is a plain one-line value,
    where a person would add it; else right after the anchor field."""
    last_value = insertion.mapping.value[-1][1]
    one_line = is_scalar(last_value) and last_value.style not in ("|", ">")
    after = last_value if one_line else insertion.after
    position, lead = line_end(document.text, document.end(after))
    indent = " " * key_column(insertion.mapping, after)
    ending = newline(document.text)
    return position, f"{lead}{indent}{pair}" + ("" if lead else ending), after


def flow_insertion(document: Document, mapping: MappingNode, pair: str) -> tuple[int, str, Node]:
    """``{name: app, newTag: v1}`` gains ``, key: value`` before its closing brace."""
    text = document.text
    close = document.end(mapping) - 1
    if text[close] != "}":
        raise EditError(
            "cannot add a key to this mapping", file=document.path, line=line_of(mapping)
        )
    position = close
    while text[position - 1] in " \t\r\n":
        position -= 1
    separator = ", " if mapping.value else ""
    return position, f"{separator}{pair}", mapping.value[-1][1] if mapping.value else mapping


def pair_span(document: Document, mapping: MappingNode, value: Node) -> tuple[int, int]:
    """The text of one ``key: value`` pair of ``mapping`` to cut out, so that the rest
    reads as the mapping without it: its whole line(s) when the key starts a line, up to
    the next key when it follows the entry's ``- ``, its part of a flow mapping."""
    text = document.text
    pairs = mapping.value
    index = next(i for i, (_, v) in enumerate(pairs) if v is value)
    key = pairs[index][0]

    def refused(reason: str) -> EditError:
        return EditError(reason, file=document.path, line=line_of(key))

    if (
        not is_scalar(value)
        or is_block_scalar(value)
        or value.start_mark.line != value.end_mark.line
    ):
        raise refused(f"cannot remove {key.value!r}, not a one-line value; edit it by hand")
    if mapping.flow_style:
        if index + 1 < len(pairs):
            return document.start(key), document.start(pairs[index + 1][0])
        if index > 0:
            return document.end(pairs[index - 1][1]), document.end(value)
        raise refused("cannot remove the only key of a mapping")
    key_start = document.start(key)
    line_start = text.rfind("\n", 0, key_start) + 1
    value_end = document.end(value)
    newline_at = text.find("\n", value_end)
    end_of_line = len(text) if newline_at == -1 else newline_at + 1
    rest = text[value_end:end_of_line].strip()
    if rest and not rest.startswith("#"):
        raise refused(f"cannot remove {key.value!r} from this layout; edit it by hand")
    if not text[line_start:key_start].strip():
        return line_start, end_of_line
    if index + 1 < len(pairs):
        following = document.start(pairs[index + 1][0])
        between = text[end_of_line:following]
        if not between.strip():
            return key_start, following
    raise refused(f"cannot remove {key.value!r} from this layout; edit it by hand")
