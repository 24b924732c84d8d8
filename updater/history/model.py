"""What ``history`` finds: one entry per reference a commit changed, newest first."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# How a change was made (``by``).
BOT = "bot"  # a commit the bot made: read from its trailers
MANUAL = "manual"  # a commit without trailers that changed a reference

# What happened to the reference (``change``).
CHANGED = "changed"
ADDED = "added"  # the file (or the reference in it) appeared with this version
REMOVED = "removed"  # the file was deleted, or the reference taken out


@dataclass(frozen=True)
class Entry:
    commit: str
    date: str  # committer date, ISO 8601: when it landed on the branch
    author: str  # "Name <email>"
    author_date: str
    subject: str
    file: str  # relative to the repo, with '/'; the new path after a rename
    line: int  # in the new version (the old one for a removal)
    kind: str  # kustomize | helm | manifest | argocd | compose | marker
    image: str  # normalised repository
    name: str  # as the file spells it
    old: str | None  # TAG, DIGEST or TAG@DIGEST before; None: added
    new: str | None  # after; None: removed
    by: str  # bot | manual
    trigger: str | None = None  # the bot's Image-Updater-Trigger, for bot commits
    run: str | None = None  # the bot's Image-Updater-Run
    rollback: bool = False  # a bot rollback, or a `git revert`
    environment: str | None = None  # from environments: in .image-updater.yaml
    renamed_from: str | None = None

    @property
    def change(self) -> str:
        if self.old is None:
            return ADDED
        if self.new is None:
            return REMOVED
        return CHANGED

    def as_json(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "date": self.date,
            "author": self.author,
            "author_date": self.author_date,
            "subject": self.subject,
            "image": self.image,
            "name": self.name,
            "file": self.file,
            "line": self.line,
            "kind": self.kind,
            "environment": self.environment,
            "change": self.change,
            "old": self.old,
            "new": self.new,
            "by": self.by,
            "trigger": self.trigger,
            "run": self.run,
            "rollback": self.rollback,
            "renamed_from": self.renamed_from,
        }


@dataclass
class History:
    """The entries found, and what the reader should know about where they stop."""

    image: str | None  # normalised repository, or None for every image
    paths: tuple[str, ...]
    entries: list[Entry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # versions not read, and why
    # The walk reached a shallow clone's boundary and could not deepen: older changes
    # are not known (the commit it stopped at).
    truncated_at: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "paths": list(self.paths),
            "changes": [entry.as_json() for entry in self.entries],
            "notes": list(self.notes),
            "truncated_at": self.truncated_at,
        }
