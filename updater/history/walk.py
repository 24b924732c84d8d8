"""Walk the history of a branch for the changes of one image (or of every image).

One ``git log --raw`` over the candidate files lists the commits that touched them with
each file's blob before and after; the blobs are read in batches (``git cat-file
--batch``) and each version's references come from the scan engine, so a change made
by hand is found exactly like one the bot made. Nothing is checked out.

Candidate files: with ``--path``, every config file under those paths (deleted ones
too); with an image and no ``--path``, the files of HEAD that mention it, followed back
through renames; with neither, every config file of the repo.

A shallow clone is deepened only when the walk runs into its boundary and more is
wanted: everything since ``--since`` in one fetch, else a few commits more at a time
for a caller that stops early (``--max-count``, rollback, soak), else all of it.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from updater.environments import Environment
from updater.history.attribution import Attribution, attribute
from updater.history.model import BOT, MANUAL, Entry, History
from updater.history.repo import Commit, FileChange, HistoryRepo
from updater.history.versions import Found, is_config_file, references
from updater.report import one_line

# Batches of commits whose blobs are read with one cat-file: small first, so a caller
# that wants one change reads (and, in a blobless clone, fetches) little.
FIRST_BATCH = 32
LAST_BATCH = 4096
FIRST_DEEPEN = 64
RENAME_HOPS = 16


@dataclass(frozen=True)
class Query:
    repository: str | None  # normalised; None: every image
    paths: tuple[str, ...] = ()
    since: datetime | None = None
    max_count: int | None = None  # commits that changed it
    environments: tuple[Environment, ...] = ()
    lazy: bool = False  # the caller stops early: deepen a shallow clone step by step


def read_history(root: Path, query: Query) -> History:
    """Every change ``query`` asks for, newest first."""
    walker = Walker(HistoryRepo.open(root), query)
    history = History(image=query.repository, paths=query.paths)
    for count, (_, entries) in enumerate(walker.changes(), start=1):
        history.entries += entries
        if query.max_count is not None and count >= query.max_count:
            break
    history.notes = walker.notes
    history.truncated_at = walker.truncated_at
    return history


def environment_of(file: str, environments: Sequence[Environment]) -> str | None:
    """The environment whose paths (glob patterns allowed) hold ``file``."""
    parts = file.split("/")
    for env in environments:
        for pattern in env.paths:
            if pattern == ".":
                return env.name
            segments = pattern.strip("/").split("/")
            if len(parts) >= len(segments) and all(
                fnmatch.fnmatchcase(part, segment)
                for part, segment in zip(parts, segments, strict=False)
            ):
                return env.name
    return None


def pair(old: list[Found], new: list[Found]) -> list[tuple[Found | None, Found | None]]:
    """Old and new references of one file matched up: same repository and YAML path
    first, then the rest of each repository in order (an entry inserted above moves the
    index); what is left was added or removed."""
    pairs: list[tuple[Found | None, Found | None]] = []
    by_key = {(f.repository, f.yaml_path): f for f in new}
    left_new = list(new)
    left_old: list[Found] = []
    for found in old:
        match = by_key.pop((found.repository, found.yaml_path), None)
        if match is not None and match in left_new:
            left_new.remove(match)
            pairs.append((found, match))
        else:
            left_old.append(found)
    for found in left_old:
        match = next((n for n in left_new if n.repository == found.repository), None)
        if match is not None:
            left_new.remove(match)
        pairs.append((found, match))
    pairs += [(None, found) for found in left_new]
    return pairs


def _epoch(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0


def since_text(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class Walker:
    """One walk; ``changes()`` yields (commit, entries) newest first, lazily."""

    def __init__(self, repo: HistoryRepo, query: Query) -> None:
        self.repo = repo
        self.query = query
        self.notes: list[str] = []
        self.truncated_at: str | None = None
        self._versions: dict[tuple[str, str], list[Found] | str] = {}
        needle = query.repository.rsplit("/", 1)[-1] if query.repository else None
        self._needle = needle
        self._needles = (needle.encode(),) if needle else ()

    # -- what to walk

    def _scope(self) -> _Scope | None:
        """What to walk; None when nothing can hold the image."""
        if self.query.paths:
            return _Scope([p.strip("/") or "." for p in self.query.paths], None)
        if self._needle is None:
            return _Scope(None, None)
        files = [f for f in self.repo.files_mentioning(self._needle, ()) if is_config_file(f)]
        if not files:
            return None
        # One directory costs git's path-limited walk far less than many files (each
        # tree entry is matched against every pathspec): walk the files' common
        # directory and keep only those files.
        common = posixpath.commonpath([posixpath.dirname(f) for f in files])
        return _Scope([common] if common else None, frozenset(files))

    def changes(self) -> Iterator[tuple[Commit, list[Entry]]]:
        head = self.repo.head()
        if head is None:
            return
        scope = self._scope()
        if scope is None:
            return  # no file of HEAD mentions the image
        since = since_text(self.query.since) if self.query.since is not None else None
        boundary = self.repo.shallow_boundary()
        if since is not None and boundary and self.query.since is not None:
            cutoff = self.query.since.timestamp()
            if any(self.repo.commit_time(b) > cutoff for b in boundary):
                self.repo.deepen(since=since)
                boundary = self.repo.shallow_boundary()
        done: set[str] = set()
        step = FIRST_DEEPEN
        while True:
            commits = self._gather([head], scope, since, boundary)
            yield from self._read(commits, boundary, done)
            if not boundary or since is not None:
                return
            reached = sorted(b for b in boundary if any(c.sha == b for c in commits))
            incremental = self.query.lazy or self.query.max_count is not None
            deeper = self.repo.deepen(by=step) if incremental else self.repo.deepen()
            step *= 4
            before, boundary = boundary, self.repo.shallow_boundary()
            if not deeper or boundary == before:
                stop = (reached or sorted(before))[0]
                self.truncated_at = stop
                self.notes.append(
                    f"history ends at {stop[:12]}: a shallow clone"
                    + (" with no remote to deepen from" if not deeper else "")
                )
                return

    def _gather(
        self, revs: list[str], scope: _Scope, since: str | None, boundary: frozenset[str]
    ) -> list[Commit]:
        """The commits that touched a candidate file, renames followed back."""
        todo: dict[str, list[str]] = {}
        tracked = set(scope.tracked) if scope.tracked is not None else None
        log = self.repo.log(revs, scope.pathspec, since=since)
        commits = self._select(log, scope.pathspec, tracked, boundary, todo)
        extra: list[Commit] = []
        for _ in range(RENAME_HOPS):
            if not todo:
                break
            found: list[Commit] = []
            later: dict[str, list[str]] = {}
            for parent, old_paths in todo.items():
                log = self.repo.log([parent], old_paths, since=since)
                found += self._select(log, old_paths, None, boundary, later)
            extra += found
            todo = later
        if not extra:
            return commits
        merged: dict[str, Commit] = {}
        for commit in [*commits, *extra]:
            seen = merged.get(commit.sha)
            merged[commit.sha] = (
                commit if seen is None else replace(seen, files=(*seen.files, *commit.files))
            )
        return sorted(merged.values(), key=lambda c: -_epoch(c.date))

    def _select(
        self,
        commits: list[Commit],
        pathspec: list[str] | None,
        tracked: set[str] | None,
        boundary: frozenset[str],
        todo: dict[str, list[str]],
    ) -> list[Commit]:
        """The candidate files each commit changed (newest first): config files, of
        ``tracked`` when given (which gains the old name of each file renamed, for the
        older commits). A file a path-limited log shows as added may have been renamed
        from outside the paths: then it becomes a rename, and ``todo`` gets the old path
        to walk from the commit's parent."""
        out = []
        for commit in commits:
            files = []
            renames: dict[str, tuple[str, str, str]] | None = None
            for change in commit.files:
                if not any(p is not None and is_config_file(p) for p in _paths(change)):
                    continue
                if tracked is not None and (change.new_path or change.old_path) not in tracked:
                    continue
                if (
                    change.status == "A"
                    and pathspec is not None
                    and commit.parents
                    and commit.sha not in boundary
                ):
                    renames = self.repo.renames_into(commit.sha) if renames is None else renames
                    source = renames.get(change.new_path or "")
                    if source is not None:
                        old_path, old_blob, old_mode = source
                        change = replace(
                            change, status="R", old_path=old_path, old_blob=old_blob,
                            old_mode=old_mode,
                        )  # fmt: skip
                        if not any(_under(old_path, p) for p in pathspec):
                            todo.setdefault(commit.parents[0], []).append(old_path)
                if change.status == "R" and tracked is not None and change.old_path:
                    tracked.add(change.old_path)
                files.append(change)
            if files:
                out.append(replace(commit, files=tuple(files)))
        return out

    # -- reading versions

    def _read(
        self, commits: list[Commit], boundary: frozenset[str], done: set[str]
    ) -> Iterator[tuple[Commit, list[Entry]]]:
        size = FIRST_BATCH
        at = 0
        while at < len(commits):
            batch = [
                c for c in commits[at : at + size] if c.sha not in done and c.sha not in boundary
            ]
            at += size
            size = min(size * 2, LAST_BATCH)
            self._load(batch)
            for commit in batch:
                done.add(commit.sha)
                entries = self._entries(commit)
                if entries:
                    yield commit, entries

    def _load(self, commits: list[Commit]) -> None:
        """Read the versions these commits' files had, each (blob, path) once."""
        wanted = {
            (oid, path)
            for commit in commits
            for change in commit.files
            for path, oid, mode in _sides(change)
            if path and oid and mode.startswith("100") and (oid, path) not in self._versions
        }
        if not wanted:
            return
        blobs = self.repo.blobs(oid for oid, _ in sorted(wanted))
        for oid, path in wanted:
            if oid in blobs:
                self._versions[(oid, path)] = references(path, blobs[oid], self._needles)

    def _version(self, path: str | None, oid: str | None, mode: str) -> list[Found] | str:
        if path is None or oid is None or not mode.startswith("100"):
            return []  # absent, a symlink or a submodule: no references of its own
        found = self._versions.get((oid, path))
        if found is None:
            return "its blob is missing from the clone"
        return found

    def _wanted(self, found: list[Found]) -> list[Found]:
        repository = self.query.repository
        if repository is None:
            return found
        return [f for f in found if repository in f.answers_to]

    def _entries(self, commit: Commit) -> list[Entry]:
        who: Attribution | None = None
        entries: list[Entry] = []
        for change in commit.files:
            old = self._version(change.old_path, change.old_blob, change.old_mode)
            new = self._version(change.new_path, change.new_blob, change.new_mode)
            if isinstance(old, str) or isinstance(new, str):
                bad = change.old_path if isinstance(old, str) else change.new_path
                reason = old if isinstance(old, str) else new
                self.notes.append(f"{one_line(bad or '')} at {commit.sha[:12]}: {reason}; skipped")
                continue
            for before, after in pair(self._wanted(old), self._wanted(new)):
                if before is not None and after is not None and before.version == after.version:
                    continue
                if who is None:
                    who = attribute(commit.message)
                entries.append(self._entry(commit, change, before, after, who))
        return entries

    def _entry(
        self,
        commit: Commit,
        change: FileChange,
        before: Found | None,
        after: Found | None,
        who: Attribution,
    ) -> Entry:
        shown = after or before
        assert shown is not None
        file = (change.new_path if after is not None else change.old_path) or ""
        repository = self.query.repository or shown.repository
        names = shown.answers_to | (before.answers_to if before is not None else frozenset())
        bot = who.by_bot(file, names)
        return Entry(
            commit=commit.sha,
            date=commit.date,
            author=f"{commit.author} <{commit.email}>",
            author_date=commit.author_date,
            subject=commit.message.partition("\n")[0],
            file=file,
            line=shown.line,
            kind=shown.kind,
            image=repository,
            name=shown.name,
            old=before.version if before is not None else None,
            new=after.version if after is not None else None,
            by=BOT if bot else MANUAL,
            trigger=who.trigger if bot else None,
            run=who.run if bot else None,
            rollback=who.rollback,
            environment=environment_of(file, self.query.environments),
            renamed_from=change.old_path
            if change.status == "R" and change.old_path != change.new_path
            else None,
        )


@dataclass(frozen=True)
class _Scope:
    pathspec: list[str] | None  # what ``git log`` is limited to (None: the whole tree)
    tracked: frozenset[str] | None  # within it, only these files (None: every config file)


def _paths(change: FileChange) -> tuple[str | None, str | None]:
    return change.old_path, change.new_path


def _sides(change: FileChange) -> tuple[tuple[str | None, str | None, str], ...]:
    return (
        (change.old_path, change.old_blob, change.old_mode),
        (change.new_path, change.new_blob, change.new_mode),
    )


def _under(path: str, prefix: str) -> bool:
    return prefix in (".", "") or path == prefix or path.startswith(prefix.rstrip("/") + "/")
