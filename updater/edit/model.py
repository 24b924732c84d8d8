"""What planning produces: records of changed values, per-file edits and the whole plan.

Delivery, reports, commit messages and PR bodies are all rendered from these; nothing
downstream re-reads or re-edits a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from updater.reference import Change

# Why an image mapping left empty (traefik's null repository) is no reference: the chart's
# templates pick the image. The render check names it when an edit deploys nothing.
DEFAULT_IMAGE = "empty: the chart's default image"
# Helm values given as text (Argo CD ``helm.values: |``, a Flux ``spec.values`` string):
# YAML inside a string, never edited, listed whatever it holds.
EMBEDDED_VALUES = "values in a block scalar (embedded YAML)"


@dataclass(frozen=True)
class Reference:
    """One image reference found by a scan: plain data, no YAML nodes."""

    file: str
    line: int
    kind: str  # kustomize | helm | manifest | argocd | compose | marker
    image: str  # as the file spells it
    name: str  # the image name as spelled (no tag or digest)
    repository: str | None  # normalised; None for a marker whose image is unknown
    tag: str | None
    digest: str | None
    yaml_path: str
    policy: str | None  # setter marker policy


@dataclass(frozen=True)
class Skipped:
    """A value left alone, and why."""

    file: str
    line: int
    value: str
    reason: str


@dataclass
class ScanResult:
    references: list[Reference] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


@dataclass(frozen=True)
class Record:
    """One scalar value that the plan changes."""

    file: str  # path relative to the repo root, with '/'
    line: int  # 1-based line of the scalar
    yaml_path: str  # e.g. "spec.template.spec.containers[0].image"
    kind: str  # kustomize | helm | manifest | argocd | compose | marker
    repository: str  # normalised repository of the image (after a rename: the old one)
    old: str  # the scalar's old value
    new: str  # the scalar's new value
    old_ref: str  # the whole old reference, e.g. "nginx:1.25"
    new_ref: str  # the whole new reference, e.g. "nginx:1.26"
    column: int = 0  # 1-based column where the scalar (with its quote) starts
    inserted: bool = False  # a key (or images entry) the edit adds, not a value it changes
    removed: bool = False  # a key the edit takes out (a kustomize newTag beside a new digest)


@dataclass(frozen=True)
class FileEdit:
    path: str  # relative to the repo root, with '/'
    old_text: str  # decoded exactly (BOM kept as U+FEFF, newlines untranslated)
    new_text: str
    records: tuple[Record, ...]


@dataclass(frozen=True)
class ImageUpdate:
    """Per image: every distinct old reference seen and the new one (for messages)."""

    repository: str
    old_refs: tuple[str, ...]
    new_ref: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    root: Path
    changes: tuple[Change, ...]
    edits: tuple[FileEdit, ...] = ()
    unmatched: tuple[Change, ...] = ()  # referenced nowhere under the searched paths
    up_to_date: tuple[Change, ...] = ()  # referenced, and already at the wanted value
    skipped: tuple[str, ...] = field(default=())  # "file:line: reason" notes

    @property
    def changed(self) -> bool:
        return bool(self.edits)

    @property
    def records(self) -> tuple[Record, ...]:
        return tuple(r for e in self.edits for r in e.records)

    def image_updates(self) -> tuple[ImageUpdate, ...]:
        grouped: dict[str, list[Record]] = {}
        for record in self.records:
            grouped.setdefault(record.repository, []).append(record)
        updates = []
        for repository, records in grouped.items():
            old_refs = tuple(dict.fromkeys(r.old_ref for r in records))
            new_ref = records[-1].new_ref
            files = tuple(dict.fromkeys(r.file for r in records))
            updates.append(ImageUpdate(repository, old_refs, new_ref, files))
        return tuple(updates)
