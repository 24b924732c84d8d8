"""plan(root, changes) -> Plan: read, locate, splice, verify; write nothing (writing
is ``updater.writing``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ruamel.yaml.nodes import Node, ScalarNode

from updater.edit import argocd, kustomize, layout
from updater.edit.document import (
    STR_TAG,
    Document,
    Splice,
    apply_splices,
    is_null,
    render_scalar,
    scalar_index,
    scalar_tag,
    scalars,
)
from updater.edit.document import parse as parse_document
from updater.edit.kinds import find_all
from updater.edit.markers import NEEDLE as MARKER_NEEDLE
from updater.edit.model import FileEdit, Plan, Record, Skipped
from updater.edit.reading import (
    NotRegular,
    TooLarge,
    Unreadable,
    contains_any,
    max_file_size,
)
from updater.edit.site import Field, Insertion, ResolveDigest, Site, apply
from updater.edit.walk import Candidate, candidates, gc_paused, read_document
from updater.errors import EditError
from updater.reference import Change


def needles(changes: Sequence[Change]) -> tuple[bytes, ...]:
    """Text every spelling of a reference to these images contains: the last path
    component of the repository (``nginx`` in ``docker.io/library/nginx:1``)."""
    words = {change.repository.rsplit("/", 1)[-1] for change in changes}
    if any(change.aliases for change in changes):
        words.add(MARKER_NEEDLE)
    return tuple(word.encode() for word in sorted(words))


@dataclass
class _Added:
    """Text spliced in at ``start`` (replacing up to ``end``): keys or whole entries."""

    start: int
    end: int
    text: str
    values: list[str]  # every scalar the new text holds, in order (keys and values)
    records: list[Record]


@dataclass
class _FilePlan:
    document: Document
    splices: dict[int, tuple[Splice, Record, str]]  # id(node) -> splice, record, value
    insertions: list[_Added]
    removals: dict[int, tuple[int, int, Record, tuple[Node, Node]]]  # id(value) -> span

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


def _owners(found: Sequence[Site | Skipped]) -> dict[int, str]:
    """id(scalar) -> the setter-marker policy that owns it."""
    owners: dict[int, str] = {}
    for item in found:
        if isinstance(item, Site) and item.policy is not None:
            for role, field in item.fields.items():
                if not role.startswith("_") and (item.marked is None or role in item.marked):
                    owners[id(field.node)] = item.policy
    return owners


def _held(site: Site, change: Change, owners: dict[int, str]) -> Site:
    """A change that speaks for policies leaves fields another policy owns to it, and
    a block's unmarked fields alone when only its policy (not its repository) names it."""
    if not change.aliases or not owners:
        return site
    held = {
        role
        for role, field in site.fields.items()
        if not role.startswith("_") and owners.get(id(field.node), "") not in ("", *change.aliases)
    }
    if site.marked is not None and (
        change.only_marked or change.repository not in site.repositories
    ):
        held.update(r for r in site.fields if not r.startswith("_") and r not in site.marked)
    return replace(site, held=frozenset(held)) if held else site


def plan(
    root: Path,
    changes: Sequence[Change],
    *,
    paths: Sequence[str] = (),
    resolve_digest: ResolveDigest | None = None,
) -> Plan:
    """Plan ``changes`` under ``root``. Each change touches only the files under its own
    ``Change.paths``; a change without them takes ``paths``, and with neither, any file.
    Every file is read and edited once, for all the changes that may touch it."""
    with gc_paused():
        return _plan(root, changes, tuple(paths), resolve_digest)


@dataclass
class _Scope:
    """One file, and the changes that may touch it: per restriction it was found under,
    the candidate as that walk saw it (named by a path or not) and that group's changes."""

    found: list[tuple[Candidate, list[Change]]]

    @property
    def candidate(self) -> Candidate:
        return self.found[0][0]

    @property
    def changes(self) -> list[Change]:
        return [change for _, group in self.found for change in group]

    def gaining(self) -> list[Change]:
        """The changes this file may gain a new entry for: those of the walks that named
        it as a kustomization or an Argo CD override file (see ``_gains_entries``)."""
        return [change for c, group in self.found if _gains_entries(c) for change in group]


def _gains_entries(candidate: Candidate) -> bool:
    # Named with --path, a kustomization or an Argo CD override file gains entries for
    # images it does not list, as kustomize and Argo CD Image Updater's write-back do.
    return candidate.explicit and (
        kustomize.is_kustomization(candidate.name) or _override_gains(candidate)
    )


def _scopes(
    root: Path, changes: Sequence[Change], paths: tuple[str, ...], not_read: list[Skipped]
) -> list[_Scope]:
    """Every candidate file once, with the changes whose paths reach it, in the walk's
    order (sorted by path when several restrictions are walked)."""
    groups: dict[tuple[str, ...], list[Change]] = {}
    for change in changes:
        groups.setdefault(change.paths or paths, []).append(change)
    if not groups:
        groups[paths] = []
    scopes: dict[str, _Scope] = {}
    passed_over: dict[Skipped, None] = {}
    for restriction, group in groups.items():
        walked: list[Skipped] = []
        for candidate in candidates(root, restriction, walked):
            scope = scopes.setdefault(candidate.relative, _Scope([]))
            scope.found.append((candidate, group))
        passed_over.update(dict.fromkeys(walked))
    not_read.extend(passed_over)
    if len(groups) == 1:
        return list(scopes.values())
    return [scopes[relative] for relative in sorted(scopes)]


def _plan(
    root: Path,
    changes: Sequence[Change],
    paths: tuple[str, ...],
    resolve_digest: ResolveDigest | None,
) -> Plan:
    matched: set[Change] = set()
    changed: set[Change] = set()
    edits: list[FileEdit] = []
    skipped: list[str] = []
    not_read: list[Skipped] = []
    limit = max_file_size()
    for scope in _scopes(root, changes, paths, not_read):
        candidate, here = scope.candidate, scope.changes
        gaining = scope.gaining()
        wanted = needles(here)
        raw = _read(candidate, limit, () if gaining else wanted, skipped)
        if raw is None or (not gaining and not any(word in raw for word in wanted)):
            continue
        document = read_document(candidate, raw)
        if isinstance(document, Skipped):
            skipped.append(f"{document.file}:{document.line}: {document.reason}")
            continue
        file_plan = _FilePlan(document, {}, [], {})
        found = find_all(document, candidate.name)
        owners = _owners(found)
        for item in found:
            if isinstance(item, Skipped):
                skipped.append(f"{item.file}:{item.line}: {item.reason}: {item.value}")
                continue
            for change in here:
                if item.answers_to(change):
                    matched.add(change)
                    if _plan_site(file_plan, _held(item, change, owners), change, resolve_digest):
                        changed.add(change)
        _refuse_shared_anchors(file_plan, found, here)
        missing = [
            change
            for change in gaining
            if not change.only_marked
            and not any(isinstance(s, Site) and s.answers_to(change) for s in found)
        ]
        if missing:
            if kustomize.is_kustomization(candidate.name):
                _add_kustomize_entries(file_plan, missing)
            else:
                _add_argocd_entries(file_plan, missing, os.path.dirname(candidate.path))
            matched.update(missing)
            changed.update(missing)
        edit = _finish(file_plan)
        if edit is not None:
            edits.append(edit)
    skipped[:0] = [f"{s.file}: {s.reason}" for s in not_read]
    return Plan(
        root=root,
        changes=tuple(changes),
        edits=tuple(edits),
        unmatched=tuple(c for c in changes if c not in matched),
        up_to_date=tuple(c for c in changes if c in matched and c not in changed),
        skipped=tuple(skipped),
    )


def _refuse_shared_anchors(
    file_plan: _FilePlan, found: Sequence[Site | Skipped], changes: Sequence[Change]
) -> None:
    """An anchored value is written once, at its anchor, so every alias of it moves too:
    refused when an alias is a field of an image no change names (``tag: *v`` of another
    repository), which would deploy a version nobody asked for."""
    for item in found:
        if not isinstance(item, Site) or any(item.answers_to(c) for c in changes):
            continue
        for role, field in item.fields.items():
            planned = file_plan.splices.get(id(field.node))
            if role.startswith("_") or planned is None:
                continue
            anchor = file_plan.document.anchor(field.node)
            if not anchor:
                continue
            record = planned[1]
            raise EditError(
                f"{record.yaml_path} is set at the anchor &{anchor}, which {field.path}"
                f" ({item.image}, line {item.line}) reads too: setting it would change that"
                " image as well; give one of them a value of its own, or set both;"
                " nothing written",
                file=record.file,
                line=record.line,
            )


def _read(
    candidate: Candidate, limit: int, wanted: Sequence[bytes], skipped: list[str]
) -> bytes | None:
    """The candidate's bytes, or None for a file that cannot reference the changed
    images (not a regular file, or too large and without any of ``wanted``). A file
    that might reference them but cannot be read fails the whole plan."""
    try:
        return candidate.read(limit)
    except NotRegular as reason:
        skipped.append(f"{candidate.relative}: {reason}")
        return None
    except TooLarge as reason:
        try:
            relevant = not wanted or contains_any(candidate.path, wanted)
        except Unreadable as error:
            raise EditError(f"{error}; nothing written", file=candidate.relative) from None
        if relevant:
            raise EditError(f"{reason}; nothing written", file=candidate.relative) from None
        skipped.append(f"{candidate.relative}: {reason}")
        return None
    except Unreadable as reason:
        raise EditError(f"{reason}; nothing written", file=candidate.relative) from None


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
    for removed in outcome.removals:
        _remove_key(file_plan, site, removed, change, outcome.old_ref, outcome.new_ref)
    return True


def _remove_key(
    file_plan: _FilePlan,
    site: Site,
    removed: Field,
    change: Change,
    old_ref: str,
    new_ref: str,
) -> None:
    node = removed.node
    if id(node) in file_plan.removals:
        return
    mapping = site.mapping
    if mapping is None:
        raise EditError(f"cannot remove {removed.path}", file=site.file, line=site.line)
    start, end = layout.pair_span(file_plan.document, mapping, node)
    key = next(k for k, v in mapping.value if v is node)
    record = Record(
        file=site.file,
        line=int(node.start_mark.line) + 1,
        yaml_path=removed.path,
        kind=site.kind,
        repository=change.repository,
        old=node.value,
        new="",
        old_ref=old_ref,
        new_ref=new_ref,
        column=int(node.start_mark.column) + 1,
        removed=True,
    )
    file_plan.removals[id(node)] = (start, end, record, (key, node))


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
        position, text, after = layout.flow_insertion(document, insertion.mapping, pair)
    else:
        position, text, after = layout.block_insertion(document, insertion, pair)
    line = document.text[:position].count("\n") + 1 + (1 if text.startswith(("\n", "\r\n")) else 0)
    record = Record(
        file=site.file,
        line=line if not insertion.mapping.flow_style else int(after.end_mark.line) + 1,
        yaml_path=f"{site.path}.{insertion.key}",
        kind=site.kind,
        repository=change.repository,
        old="",
        new=insertion.value,
        old_ref=old_ref,
        new_ref=new_ref,
        column=layout.inserted_column(document.text, position, text),
        inserted=True,
    )
    file_plan.insertions.append(
        _Added(position, position, text, [insertion.key, insertion.value], [record])
    )


def _override_gains(candidate: Candidate) -> bool:
    """An Argo CD override gains entries when --path names it, or names its directory
    and no kustomization sits beside it: there the kustomization gains them, as
    ``kustomize edit set image`` would, and one new entry in two files would be noise."""
    if not argocd.is_source_file(candidate.name):
        return False
    if candidate.named:
        return True
    directory = os.path.dirname(candidate.path)
    return not any(os.path.isfile(os.path.join(directory, name)) for name in kustomize.FILE_NAMES)


def _add_argocd_entries(file_plan: _FilePlan, changes: Sequence[Change], directory: str) -> None:
    document = file_plan.document
    kind = argocd.source_kind(document, directory)
    added = argocd.new_items(document, changes, kind)
    records = [
        _entry_record(document, change, line, added.column, f"{added.path}[+]", "argocd")
        for change, line in zip(changes, added.lines, strict=True)
    ]
    file_plan.insertions.append(
        _Added(added.start, added.end, added.text, list(added.values), records)
    )


def _add_kustomize_entries(file_plan: _FilePlan, changes: Sequence[Change]) -> None:
    """``kustomize edit set image`` for images the kustomization does not list yet: one
    splice for all of them, so a missing ``images:`` key is written once."""
    document = file_plan.document
    added = kustomize.new_entries(document, changes)
    records = []
    values: list[str] = ["images"] if added.adds_key else []
    for change, pairs, line in added.entries:
        for key, value in pairs:
            values += [key, value]
        records.append(
            _entry_record(document, change, line, added.column, "images[+]", "kustomize")
        )
    file_plan.insertions.append(_Added(added.start, added.end, added.text, values, records))


def _entry_record(
    document: Document, change: Change, line: int, column: int, yaml_path: str, kind: str
) -> Record:
    """The record of a list entry added for ``change`` (it replaces nothing)."""
    return Record(
        file=document.path,
        line=line,
        yaml_path=yaml_path,
        kind=kind,
        repository=change.repository,
        old="",
        new=change.target,
        old_ref="",
        new_ref=change.target,
        column=column,
        inserted=True,
    )


def _finish(file_plan: _FilePlan) -> FileEdit | None:
    document = file_plan.document
    if not file_plan.splices and not file_plan.insertions and not file_plan.removals:
        return None
    splices = [s for s, _, _ in file_plan.splices.values()]
    splices += [Splice(a.start, a.end, a.text) for a in file_plan.insertions]
    splices += [Splice(start, end, "") for start, end, _, _ in file_plan.removals.values()]
    try:
        new_text = apply_splices(document.text, splices)
    except ValueError:
        raise EditError(
            "two edits overlap; nothing written (edit it by hand)", file=document.path
        ) from None
    index = scalar_index(document)
    expected = {index[node_id]: value for node_id, (_, _, value) in file_plan.splices.items()}
    removed = {index[id(node)] for _, _, _, nodes in file_plan.removals.values() for node in nodes}
    _verify(document, new_text, expected, removed, file_plan)
    records = [r for _, r, _ in file_plan.splices.values()]
    records += [r for added in file_plan.insertions for r in added.records]
    records += [r for _, _, r, _ in file_plan.removals.values()]
    records.sort(key=lambda r: (r.line, r.yaml_path))
    return FileEdit(
        path=document.path, old_text=document.text, new_text=new_text, records=tuple(records)
    )


def _verify(
    before: Document,
    after_text: str,
    expected: dict[int, str],
    removed: set[int],
    file_plan: _FilePlan,
) -> None:
    """Re-parse: exactly the intended scalars changed, each reads back as intended, the
    removed keys are gone, and inserted text reads back as the scalars we meant to add."""
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
        + [(a.start, a.end, len(a.text), True) for a in file_plan.insertions]
        + [(start, end, 0, False) for start, end, _, _ in file_plan.removals.values()]
    )
    for start, end, length, inserted in edits:
        if inserted:
            spans.append((start + shift, start + shift + length))
        shift += length - (end - start)
    # A null value that an insertion replaces ("images:", "kustomize: ~" becoming the
    # list or mapping written there) is gone, like a removed key.
    replaced = [(a.start, a.end) for a in file_plan.insertions if a.end > a.start]
    removed = removed | {
        i
        for i, node in enumerate(scalars(before))
        if is_null(node) and any(a <= before.start(node) <= b for a, b in replaced)
    }
    old_nodes = [node for i, node in enumerate(scalars(before)) if i not in removed]
    old_positions = [i for i in range(len(old_nodes) + len(removed)) if i not in removed]
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
    for position, old, new in zip(old_positions, old_nodes, new_nodes, strict=True):
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
    if added != [value for a in file_plan.insertions for value in a.values]:
        raise refused
