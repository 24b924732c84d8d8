"""kustomization ``images:`` entries (and the same list in Argo CD Applications): where
they are, and the text of new entries ``kustomize edit set image`` would add."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from updater.edit import helm, layout
from updater.edit.document import (
    Document,
    get,
    is_block_scalar,
    is_mapping,
    is_null,
    is_scalar,
    is_sequence,
    join,
    line_of,
    render_scalar,
    scalar,
)
from updater.edit.model import Skipped
from updater.edit.site import (
    Field,
    Site,
    name_is_valid,
    ref_site,
    repositories_of,
    unsupported_reason,
)
from updater.errors import EditError
from updater.reference import Change, ImageRef, familiar_name

FILE_NAMES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})
INSERT_KEYS = {"name": "newName", "tag": "newTag", "digest": "digest"}


def is_kustomization(file_name: str) -> bool:
    return file_name in FILE_NAMES


def matches(file_name: str, root: MappingNode) -> bool:
    return is_kustomization(file_name)


def find(document: Document, root: Node) -> Iterator[Site | Skipped]:
    found = list(entries(document, get(root, "images"), "images"))
    found += inline_values(document, root)
    yield from sorted(found, key=lambda item: item.line)  # in the file's order, as scan lists


def entries(document: Document, images: Node | None, path: str) -> Iterator[Site | Skipped]:
    """The ``{name, newName, newTag, digest}`` entries of an ``images:`` list: a
    kustomization's, and those Flux applies the same way (a Flux Kustomization's
    ``spec.images``, a HelmRelease's ``postRenderers[].kustomize.images``)."""
    if not is_sequence(images):
        return
    for index, entry in enumerate(images.value):
        if is_mapping(entry):
            site = entry_site(document, entry, f"{path}[{index}]")
            if site is not None:
                yield site


def inline_values(document: Document, root: Node) -> Iterator[Site | Skipped]:
    """``helmCharts[].valuesInline``: Helm values kustomize hands the chart, read as a
    values file is (its own ``global.imageRegistry`` included)."""
    charts = get(root, "helmCharts")
    if not is_sequence(charts):
        return
    for index, chart in enumerate(charts.value):
        values = get(chart, "valuesInline") if is_mapping(chart) else None
        if is_mapping(values):
            yield from helm.find(document, values, f"helmCharts[{index}].valuesInline")


def entry_site(document: Document, entry: MappingNode, path: str) -> Site | Skipped | None:
    name = scalar(entry, "name")
    if name is None:
        return None
    for key in ("newName", "newTag", "digest"):
        value = get(entry, key)
        if value is not None and not is_scalar(value):  # not a value the bot may replace
            shape = "a list" if is_sequence(value) else "a mapping"
            return Skipped(document.path, line_of(value), name.value, f"{key} is {shape}")
    new_name = scalar(entry, "newName")
    new_tag = scalar(entry, "newTag")
    digest = scalar(entry, "digest")
    for node in (name, new_name, new_tag, digest):
        if node is not None:
            reason = unsupported_reason(node.value) if node.value else None
            if reason or is_block_scalar(node):
                return Skipped(document.path, line_of(node), node.value, reason or "block scalar")
    if not name_is_valid(name.value):
        return Skipped(document.path, line_of(name), name.value, "not an image name")
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
        entry_names=repositories_of(name.value),
        fields=fields,
        mapping=entry,
        insert_keys=dict(INSERT_KEYS),
    )


def string_entries(
    document: Document, images: Node, path: str, kind: str
) -> Iterator[Site | Skipped]:
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


# --------------------------------------------------------------------------- new entries
# ``kustomize edit set image`` for images a kustomization named with --path does not list.

# The order ``kustomize edit set image`` writes an entry's keys in (it sorts them).
KUSTOMIZE_ORDER = ("digest", "name", "newName", "newTag")
WRITTEN_ORDER = ("name", "newName", "newTag", "digest")


@dataclass(frozen=True)
class NewEntries:
    """Text to splice in at ``start``..``end`` (an insertion when they are equal)."""

    start: int
    end: int
    text: str
    entries: tuple[tuple[Change, tuple[tuple[str, str], ...], int], ...]  # pairs, 1-based line
    column: int  # 1-based column of each entry's "- "
    adds_key: bool  # the text starts with a new ``images:`` key


def entry_pairs(change: Change, order: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """The keys of the new entry, as kustomize would write them."""
    name = (
        familiar_name(change.repository)
        if change.spelled == familiar_name(change.repository)
        else change.spelled
    )
    values = {"name": name}
    if change.new_name:
        values["newName"] = change.new_name
    if change.tag:
        values["newTag"] = change.tag
    if change.digest:
        values["digest"] = change.digest
    return tuple((key, values[key]) for key in order if key in values)


def _key_order(images: Node | None) -> Sequence[str]:
    """The file's own order of entry keys when an entry shows one, else kustomize's."""
    if is_sequence(images):
        for entry in images.value:
            if not is_mapping(entry):
                continue
            keys = [k.value for k, _ in entry.value if is_scalar(k) and k.value in INSERT_KEYS_ALL]
            ranks = [KUSTOMIZE_ORDER.index(k) for k in keys]
            written = [WRITTEN_ORDER.index(k) for k in keys]
            if ranks != sorted(ranks):
                return WRITTEN_ORDER
            if written != sorted(written):
                return KUSTOMIZE_ORDER
    return KUSTOMIZE_ORDER


INSERT_KEYS_ALL = frozenset(KUSTOMIZE_ORDER)


def sequence_style(document: Document, root: Node | None) -> tuple[int, int]:
    """(dash indent under its key, key column after the dash) of the file's first block
    sequence of mappings or scalars: ``resources:\n  - a.yaml`` gives (2, 2); with none,
    kustomize's own style, (0, 2)."""
    text = document.text
    if is_mapping(root):
        for key, value in root.value:
            if is_sequence(value) and value.value and not value.flow_style:
                first = value.value[0]
                dash = layout.dash_column(text, document.start(first))
                indent = dash - int(key.start_mark.column)
                return max(indent, 0), max(int(first.start_mark.column) - dash, 2)
    return 0, 2


def _entry_lines(
    pairs: tuple[tuple[str, str], ...], dash: int, key_column: int, newline: str
) -> list[str]:
    lines = []
    for index, (key, value) in enumerate(pairs):
        rendered = render_scalar(ScalarNode("", ""), value)
        head = " " * dash + "-" + " " * (key_column - dash - 1) if index == 0 else " " * key_column
        lines.append(f"{head}{key}: {rendered}{newline}")
    return lines


def new_entries(document: Document, changes: Sequence[Change]) -> NewEntries:
    """One splice adding an entry per change: after the last entry of a block ``images:``
    (in its indentation), in place of an empty ``images: []``, or as a new ``images:`` key
    at the end of the file (in the file's own sequence indentation)."""
    text = document.text
    newline = layout.newline(text)
    root = document.roots[0] if document.roots else None
    images = get(root, "images") if root is not None else None
    order = _key_order(images)
    if is_sequence(images) and images.value and not images.flow_style:
        first = images.value[0]
        dash = layout.dash_column(text, document.start(first))
        key_column = int(first.start_mark.column)
        start, prefix = layout.line_end(text, document.end(layout.last_scalar(images)))
        end = start
    elif (
        (images is None or _is_empty_flow(images) or is_null(images))
        and (root is None or is_mapping(root))
        and not (root is not None and root.flow_style)
    ):
        indent, offset = sequence_style(document, root)
        if images is None:
            start = end = len(text)
            prefix = ("" if not text or text.endswith("\n") else newline) + f"images:{newline}"
            dash = indent
        else:
            # "images: []  # note" becomes "images:  # note" with the entries below it;
            # so does a null "images:" or "images: ~", which kustomize reads as no entries.
            assert is_mapping(root)
            key_node = next(k for k, v in root.value if v is images)
            start = document.end(key_node)
            value_start, value_end = document.start(images), document.end(images)
            if is_null(images) and not images.value:
                # An empty value's marks are those of the next token, perhaps lines below.
                value_start = value_end = text.find(":", start) + 1
            newline_at = text.find("\n", value_end)
            end = len(text) if newline_at == -1 else newline_at + 1
            tail = text[value_end:end].rstrip("\r\n")
            if text[start:value_start].strip() != ":" or (
                tail.strip() and not tail.strip().startswith("#")
            ):
                raise EditError(
                    "cannot add an images: entry here", file=document.path, line=line_of(images)
                )
            prefix = ":" + tail + newline
            dash = int(key_node.start_mark.column) + indent
        key_column = dash + offset
    else:
        raise EditError("cannot add an images: entry to this file's layout", file=document.path)
    first_line = (text[:start] + prefix).count("\n") + 1
    lines: list[str] = []
    entries = []
    for change in changes:
        pairs = entry_pairs(change, order)
        entries.append((change, pairs, first_line + len(lines)))
        lines += _entry_lines(pairs, dash, key_column, newline)
    if not entries:
        raise ValueError("no changes")
    return NewEntries(start, end, prefix + "".join(lines), tuple(entries), dash + 1, images is None)


def _is_empty_flow(node: Node) -> bool:
    return is_sequence(node) and node.flow_style and not node.value
