"""plan(root, changes) -> Plan: read, locate, splice, verify; write nothing. And
write_plan(plan): atomic writes, only inside the repo."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from updater.edit import kustomize
from updater.edit.document import (
    STR_TAG,
    Document,
    Splice,
    apply_splices,
    get,
    is_mapping,
    is_scalar,
    is_sequence,
    line_of,
    render_scalar,
    scalar_index,
    scalar_tag,
    scalars,
)
from updater.edit.document import parse as parse_document
from updater.edit.markers import NEEDLE as MARKER_NEEDLE
from updater.edit.model import FileEdit, Plan, Record
from updater.edit.scan import Candidate, candidates, find_all, gc_paused, read_document
from updater.edit.site import Insertion, ResolveDigest, Site, Skip, apply
from updater.errors import EditError
from updater.reference import Change, familiar_name


def needles(changes: Sequence[Change]) -> tuple[bytes, ...]:
    """Text every spelling of a reference to these images contains: the last path
    component of the repository (``nginx`` in ``docker.io/library/nginx:1``)."""
    words = {change.repository.rsplit("/", 1)[-1] for change in changes}
    if any(change.aliases for change in changes):
        words.add(MARKER_NEEDLE)
    return tuple(word.encode() for word in sorted(words))


@dataclass
class _FilePlan:
    document: Document
    splices: dict[int, tuple[Splice, Record, str]]  # id(node) -> splice, record, value
    insertions: list[tuple[int, str, list[tuple[str, str]], Record | None]]

    def add_assignment(self, node: ScalarNode, value: str, record: Record) -> None:
        previous = self.splices.get(id(node))
        if previous is not None:
            if previous[2] != value:
                raise EditError(
                    f"conflicting new values {previous[2]!r} and {value!r} for {record.yaml_path}",
                    file=record.file,
                    line=record.line,
                )
            return
        start, end = self.document.start(node), self.document.end(node)
        text = render_scalar(node, value)
        if start == end and self.document.text[start - 1 : start] == ":":
            # An empty value (``tag:``) is marked right after its colon: "tag:1.5" would
            # read back as one plain scalar, so the value gets the space a person types.
            text = " " + text
        self.splices[id(node)] = (Splice(start, end, text), record, value)


def plan(
    root: Path,
    changes: Sequence[Change],
    *,
    paths: Sequence[str] = (),
    resolve_digest: ResolveDigest | None = None,
) -> Plan:
    with gc_paused():
        return _plan(root, changes, paths, resolve_digest)


def _plan(
    root: Path,
    changes: Sequence[Change],
    paths: Sequence[str],
    resolve_digest: ResolveDigest | None,
) -> Plan:
    wanted = needles(changes)
    matched: set[Change] = set()
    changed: set[Change] = set()
    edits: list[FileEdit] = []
    skipped: list[str] = []
    for candidate in candidates(root, paths):
        add_entry = candidate.explicit and kustomize.is_kustomization(candidate.name)
        raw = candidate.read()
        if not add_entry and not any(word in raw for word in wanted):
            continue
        document = read_document(candidate, raw)
        if isinstance(document, Skip):
            skipped.append(f"{document.file}:{document.line}: {document.reason}")
            continue
        file_plan = _FilePlan(document, {}, [])
        found = find_all(document, candidate.name)
        for item in found:
            if isinstance(item, Skip):
                skipped.append(f"{item.file}:{item.line}: {item.reason}: {item.value}")
                continue
            for change in changes:
                if change.repository in item.repositories or (
                    item.policy is not None and item.policy in change.aliases
                ):
                    matched.add(change)
                    if _plan_site(file_plan, item, change, resolve_digest):
                        changed.add(change)
        if add_entry:
            for change in changes:
                if not any(
                    isinstance(s, Site)
                    and (
                        change.repository in s.repositories
                        or (s.policy is not None and s.policy in change.aliases)
                    )
                    for s in found
                ):
                    _add_kustomize_entry(file_plan, candidate, change)
                    matched.add(change)
                    changed.add(change)
        edit = _finish(file_plan)
        if edit is not None:
            edits.append(edit)
    return Plan(
        root=root,
        changes=tuple(changes),
        edits=tuple(edits),
        unmatched=tuple(c for c in changes if c not in matched),
        up_to_date=tuple(c for c in changes if c in matched and c not in changed),
        skipped=tuple(skipped),
    )


def _plan_site(
    file_plan: _FilePlan, site: Site, change: Change, resolve_digest: ResolveDigest | None
) -> bool:
    outcome = apply(site, change, resolve_digest)
    if outcome is None:
        return False
    for assignment in outcome.assignments:
        node = assignment.field.node
        record = Record(
            file=site.file,
            line=int(node.start_mark.line) + 1,
            yaml_path=assignment.field.path,
            kind=site.kind,
            repository=change.repository,
            old=node.value,
            new=assignment.value,
            old_ref=outcome.old_ref,
            new_ref=outcome.new_ref,
            column=int(node.start_mark.column) + 1,
        )
        file_plan.add_assignment(node, assignment.value, record)
    for insertion in outcome.insertions:
        _insert_key(file_plan, site, insertion, change, outcome.old_ref, outcome.new_ref)
    return True


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _line_end(text: str, position: int) -> tuple[int, str]:
    """Where text may be inserted after the line holding ``position``, and the
    prefix the new text needs (a newline when the file does not end with one)."""
    end = text.find("\n", position)
    if end == -1:
        return len(text), _newline(text)
    return end + 1, ""


def _key_column(mapping: MappingNode, value: Node) -> int:
    for key, item in mapping.value:
        if item is value:
            return int(key.start_mark.column)
    return int(mapping.start_mark.column)


def _insert_key(
    file_plan: _FilePlan,
    site: Site,
    insertion: Insertion,
    change: Change,
    old_ref: str,
    new_ref: str,
) -> None:
    document = file_plan.document
    pair = f"{insertion.key}: {render_scalar(ScalarNode('', ''), insertion.value)}"
    if insertion.mapping.flow_style:
        position, text, after = _flow_insertion(document, insertion.mapping, pair)
    else:
        position, text, after = _block_insertion(document, insertion, pair)
    record = Record(
        file=site.file,
        line=int(after.end_mark.line) + 2,
        yaml_path=f"{site.path}.{insertion.key}",
        kind=site.kind,
        repository=change.repository,
        old="",
        new=insertion.value,
        old_ref=old_ref,
        new_ref=new_ref,
        inserted=True,
    )
    file_plan.insertions.append((position, text, [(insertion.key, insertion.value)], record))


def _block_insertion(document: Document, insertion: Insertion, pair: str) -> tuple[int, str, Node]:
    """A new line after the mapping's last line when that is a plain one-line value,
    where a person would add it; else right after the anchor field."""
    last_value = insertion.mapping.value[-1][1]
    one_line = is_scalar(last_value) and last_value.style not in ("|", ">")
    after = last_value if one_line else insertion.after
    position, lead = _line_end(document.text, document.end(after))
    indent = " " * _key_column(insertion.mapping, after)
    newline = _newline(document.text)
    return position, f"{lead}{indent}{pair}" + ("" if lead else newline), after


def _flow_insertion(document: Document, mapping: MappingNode, pair: str) -> tuple[int, str, Node]:
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


def _last_scalar(node: Node) -> Node:
    while (is_mapping(node) or is_sequence(node)) and node.value:
        last = node.value[-1]
        node = last[1] if is_mapping(node) else last
    return node


def _add_kustomize_entry(file_plan: _FilePlan, candidate: Candidate, change: Change) -> None:
    """``kustomize edit set image`` for an image the kustomization does not list yet."""
    document = file_plan.document
    text = document.text
    newline = _newline(text)
    name = (
        familiar_name(change.repository)
        if change.spelled == familiar_name(change.repository)
        else change.spelled
    )
    pairs = [("name", name)]
    if change.new_name:
        pairs.append(("newName", change.new_name))
    if change.tag:
        pairs.append(("newTag", change.tag))
    if change.digest:
        pairs.append(("digest", change.digest))
    root = document.roots[0] if document.roots else None
    images = get(root, "images") if root is not None else None
    if is_sequence(images) and images.value and not images.flow_style:
        first = images.value[0]
        dash_column = _dash_column(text, document.start(first))
        key_column = int(first.start_mark.column)
        position, lead = _line_end(text, document.end(_last_scalar(images)))
        prefix = lead
    elif (
        images is None
        and (root is None or is_mapping(root))
        and not (root is not None and root.flow_style)
    ):
        dash_column, key_column = 0, 2
        position = len(text)
        prefix = "" if not text or text.endswith("\n") else newline
        prefix += f"images:{newline}"
    else:
        raise EditError(
            "cannot add an images: entry to this file's layout", file=candidate.relative
        )
    lines = []
    for index, (key, value) in enumerate(pairs):
        rendered = render_scalar(ScalarNode("", ""), value)
        head = (
            " " * dash_column + "- " + " " * (key_column - dash_column - 2)
            if index == 0
            else " " * key_column
        )
        lines.append(f"{head}{key}: {rendered}{newline}")
    record = Record(
        file=candidate.relative,
        line=text[:position].count("\n") + 1 + (1 if images is None else 0),
        yaml_path="images[+]",
        kind="kustomize",
        repository=change.repository,
        old="",
        new=str(change).split("=", 1)[-1],
        old_ref="",
        new_ref=str(change).split("=", 1)[-1],
        inserted=True,
    )
    file_plan.insertions.append((position, prefix + "".join(lines), pairs, record))


def _dash_column(text: str, item_start: int) -> int:
    line_start = text.rfind("\n", 0, item_start) + 1
    dash = text.rfind("-", line_start, item_start)
    return dash - line_start if dash >= 0 else 0


def _finish(file_plan: _FilePlan) -> FileEdit | None:
    document = file_plan.document
    if not file_plan.splices and not file_plan.insertions:
        return None
    splices = [s for s, _, _ in file_plan.splices.values()]
    splices += [Splice(pos, pos, text) for pos, text, _, _ in file_plan.insertions]
    new_text = apply_splices(document.text, splices)
    index = scalar_index(document)
    expected = {index[node_id]: value for node_id, (_, _, value) in file_plan.splices.items()}
    _verify(document, new_text, expected, file_plan)
    records = [r for _, r, _ in file_plan.splices.values()]
    records += [r for _, _, _, r in file_plan.insertions if r is not None]
    records.sort(key=lambda r: (r.line, r.yaml_path))
    return FileEdit(
        path=document.path, old_text=document.text, new_text=new_text, records=tuple(records)
    )


def _verify(
    before: Document, after_text: str, expected: dict[int, str], file_plan: _FilePlan
) -> None:
    """Re-parse: exactly the intended scalars changed, each reads back as intended, and
    inserted keys read back as the pairs we meant to add."""
    try:
        after = parse_document(after_text, before.path)
    except EditError as error:
        raise EditError(
            f"{error.message}; the edit would break the file, nothing written",
            file=error.file,
            line=error.line,
        ) from None
    spans = []
    shift = 0
    # Positions of inserted text in the new string, accounting for earlier splices.
    edits = sorted(
        [(s.start, s.end, len(s.text), False) for s, _, _ in file_plan.splices.values()]
        + [(pos, pos, len(text), True) for pos, text, _, _ in file_plan.insertions]
    )
    for start, end, length, inserted in edits:
        if inserted:
            spans.append((start + shift, start + shift + length))
        shift += length - (end - start)
    old_nodes = scalars(before)
    new_nodes = []
    added: list[str] = []
    for node in scalars(after):
        position = after.start(node)
        if any(a <= position < b for a, b in spans):
            added.append(node.value)
        else:
            new_nodes.append(node)
    refused = EditError(
        "the edit would change more than the image values; nothing written", file=before.path
    )
    if len(old_nodes) != len(new_nodes):
        raise refused
    for position, (old, new) in enumerate(zip(old_nodes, new_nodes, strict=True)):
        want = expected.get(position)
        if want is not None:
            if new.value != want or scalar_tag(new) != STR_TAG:
                raise EditError(
                    f"new value reads back as {new.value!r}, not {want!r}; nothing written",
                    file=before.path,
                    line=int(old.start_mark.line) + 1,
                )
        elif (scalar_tag(old), old.value) != (scalar_tag(new), new.value):
            raise refused
    wanted_added = [
        value for _, _, pairs, _ in file_plan.insertions for pair in pairs for value in pair
    ]
    if [value for value in added if value != "images"] != wanted_added:
        raise refused


def write_plan(plan: Plan) -> None:
    """Write every edited file atomically (temp file + rename), keeping its mode;
    refuse paths that leave the repo through a symlink."""
    root = plan.root.resolve()
    targets = []
    for edit in plan.edits:
        path = plan.root / edit.path
        real = path.resolve()
        if not real.is_relative_to(root):
            raise EditError("resolves outside the repository; nothing written", file=edit.path)
        if real.read_bytes().decode("utf-8", errors="replace") != edit.old_text:
            raise EditError("changed on disk while planning; nothing written", file=edit.path)
        targets.append((real, edit))
    for real, edit in targets:
        _atomic_write(real, edit.new_text)


def _atomic_write(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
