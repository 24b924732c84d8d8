"""Write a plan's files all-or-nothing, and finish or undo one a killed run left.

A plan may touch hundreds of files; a run killed half-way must not leave some of them
edited and others not. The protocol, with the checkout lock held (``updater.lock``):

1. Check every target: inside the repo, not a symlink out of it, and still holding
   the bytes the plan was made from.
2. Journal ``preparing``: every target and the temp file that will replace it.
3. Write every temp file next to its target (same directory: same file system, so
   the rename is atomic), with the target's mode, and fsync it.
4. Journal ``ready``. From here the plan is decided: a recovery rolls it forward.
5. Rename every temp over its target; fsync the directories.
6. Delete the journal, or (for ``--commit``) mark it ``done`` with the commit still
   to make, until the commit exists.

A run that starts finds a journal and, before anything else, deletes the temps of a
``preparing`` one (no target was touched) or renames the rest of a ``ready`` one; a
pending commit is then made or dropped by the caller (``updater.deliver``). Every
journal write is itself a temp file, fsync and rename.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from updater import faults
from updater.edit.model import Plan
from updater.errors import EditError

JOURNAL_NAME = "gitops-updater.journal"
JOURNAL_VERSION = 1
TEMP_SUFFIX = ".updater-tmp"
_WRITE_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class JournalConflict(EditError):
    """A journal's files changed since the killed run: a person must look."""


@dataclass(frozen=True)
class PendingCommit:
    """The commit a ``--commit`` run was about to make, kept in the journal until it
    exists (paths relative to the work tree's top)."""

    top: str
    head: str
    files: tuple[str, ...]
    message: str
    author: str
    committer: str
    signoff: bool
    old: tuple[str, ...]  # sha256 of each file before the plan
    new: tuple[str, ...]  # and after


@dataclass(frozen=True)
class Target:
    path: Path  # resolved, absolute
    shown: str  # the plan's name for it, for messages
    before: bytes
    after: bytes
    mode: int
    owner: tuple[int, int]


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_exact(path: Path) -> bytes | None:
    """The bytes of the regular file at ``path`` (no symlink followed), None if absent."""
    try:
        handle = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return None
    try:
        with os.fdopen(handle, "rb", closefd=False) as stream:
            return stream.read()
    finally:
        os.close(handle)


def targets(plan: Plan) -> list[Target]:
    """Step 1: what the plan would write, each real file once; nothing is written."""
    root = Path(os.path.realpath(plan.root))
    found: dict[Path, Target] = {}
    for edit in plan.edits:
        real = Path(os.path.realpath(plan.root / edit.path))
        if not real.is_relative_to(root):
            raise EditError("resolves outside the repository; nothing written", file=edit.path)
        after = edit.new_text.encode("utf-8")
        other = found.get(real)
        if other is not None:
            if other.after != after:
                raise EditError(
                    f"{edit.path} and {other.shown} are the same file but would be edited"
                    " differently; nothing written"
                )
            continue
        before = edit.old_text.encode("utf-8")
        try:
            info = os.stat(real)
            current = read_exact(real)
        except OSError as error:
            raise EditError(
                f"cannot read: {error.strerror}; nothing written", file=edit.path
            ) from None
        if current != before:
            raise EditError("changed on disk while planning; nothing written", file=edit.path)
        found[real] = Target(
            real, edit.path, before, after, info.st_mode & 0o7777, (info.st_uid, info.st_gid)
        )
    return list(found.values())


def write_plan(
    plan: Plan, *, state: Path | None = None, pending: PendingCommit | None = None
) -> list[str]:
    """Write the plan's files all-or-nothing; returns them relative to the repo's resolved
    root (a symlink's target, once). ``state``: where the journal goes (default: the
    checkout's, see ``updater.lock.state_dir``); with ``pending``, the journal stays,
    marked done, until :func:`discard` (the caller's commit exists)."""
    from updater.lock import state_dir

    chosen = targets(plan)
    root = Path(os.path.realpath(plan.root))
    transact(chosen, state or state_dir(plan.root), pending)
    return [t.path.relative_to(root).as_posix() for t in chosen]


def undo(chosen: Sequence[Target], state: Path, pending: PendingCommit | None) -> str:
    """Put back the bytes the targets had before; "" when all were restored, else what
    was left (the journal then keeps ``pending``, so the next run can finish it)."""
    back = [
        Target(t.path, t.shown, t.after, t.before, t.mode, t.owner)
        for t in chosen
        if read_exact(t.path) == t.after
    ]
    try:
        transact(back, state, pending, keep=False)
    except (OSError, EditError) as error:
        names = ", ".join(t.shown for t in back[:5]) + (" ..." if len(back) > 5 else "")
        return f"could not restore {names} ({error}): they hold the new values"
    return ""


def discard(state: Path) -> None:
    """The journal's work is finished (its commit exists): remove it."""
    _remove(state / JOURNAL_NAME)
    _fsync_dir(state)


# ------------------------------------------------------------------------ the protocol


def _temp_for(path: Path, token: str) -> Path:
    return path.with_name(f".{path.name}.{token}{TEMP_SUFFIX}")


def transact(
    chosen: Sequence[Target],
    state: Path,
    pending: PendingCommit | None,
    *,
    keep: bool | None = None,
) -> None:
    """Steps 2 to 6 for ``chosen``; ``keep``: leave the journal ``done`` (default:
    when there is a pending commit)."""
    keep = pending is not None if keep is None else keep
    if not chosen:
        if not keep:
            discard(state)
        return
    token = secrets.token_hex(6)
    temps = [_temp_for(t.path, token) for t in chosen]
    entries = [
        {
            "path": str(t.path),
            "temp": str(temp),
            "before": digest(t.before),
            "after": digest(t.after),
        }
        for t, temp in zip(chosen, temps, strict=True)
    ]
    journal: dict[str, Any] = {
        "version": JOURNAL_VERSION,
        "state": "preparing",
        "pid": os.getpid(),
        "files": entries,
        "commit": asdict(pending) if pending else None,
    }
    _save(state, journal)
    try:
        jobs = list(zip(temps, chosen, strict=True))
        for index, _ in enumerate(_each(_write_temp, jobs), 1):
            faults.point(f"temp:{index}")
        journal["state"] = "ready"
        _save(state, journal)
    except BaseException:
        for temp in temps:
            _remove(temp)
        _remove(state / JOURNAL_NAME)
        raise
    faults.point("ready")
    for index, (target, temp) in enumerate(zip(chosen, temps, strict=True), 1):
        os.replace(temp, target.path)
        faults.point(f"renamed:{index}")
    for _ in _each(_fsync_dir, sorted({t.path.parent for t in chosen})):
        pass
    if keep:
        journal["state"] = "done"
        _save(state, journal)
    else:
        discard(state)


_T = TypeVar("_T")


def _each(work: Callable[[_T], None], items: Sequence[_T]) -> Iterator[None]:
    """``work`` on every item, in order of the results. fsync is the cost of a large
    plan (milliseconds each, one after the other); file systems batch concurrent
    ones into one journal commit, so a few threads make it several times faster."""
    if len(items) < 4:
        for item in items:
            work(item)
            yield None
        return
    with ThreadPoolExecutor(max_workers=min(8, len(items))) as pool:
        yield from pool.map(work, items)


def _write_temp(job: tuple[Path, Target]) -> None:
    temp, target = job
    handle = os.open(temp, _WRITE_FLAGS, 0o600)
    try:
        view = memoryview(target.after)
        while view:
            view = view[os.write(handle, view) :]
        os.fchmod(handle, target.mode)
        if os.geteuid() == 0:  # keep a user's file theirs when root edits it
            with contextlib.suppress(OSError):
                os.fchown(handle, *target.owner)
        os.fsync(handle)
    finally:
        os.close(handle)


def _save(state: Path, journal: dict[str, Any]) -> None:
    path = state / JOURNAL_NAME
    temp = state / (JOURNAL_NAME + TEMP_SUFFIX)
    _remove(temp)
    handle = os.open(temp, _WRITE_FLAGS, 0o600)
    try:
        os.write(handle, json.dumps(journal, indent=1).encode("utf-8"))
        os.fsync(handle)
    finally:
        os.close(handle)
    os.replace(temp, path)
    _fsync_dir(state)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        handle = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


# ------------------------------------------------------------------------ recovery


def recover(state: Path) -> PendingCommit | None:
    """Before anything else, under the lock: finish or undo the file writes a killed
    run left. Returns the commit it still meant to make (the journal stays until the
    caller makes or drops it with :func:`discard`), else None."""
    _remove(state / (JOURNAL_NAME + TEMP_SUFFIX))
    path = state / JOURNAL_NAME
    raw = read_exact(path)
    if raw is None:
        return None
    try:
        journal = json.loads(raw)
        entries = [
            (Path(e["path"]), Path(e["temp"]), e["before"], e["after"]) for e in journal["files"]
        ]
        phase = journal["state"]
        commit = journal.get("commit")
        pending = (
            PendingCommit(
                **{
                    **commit,
                    "files": tuple(commit["files"]),
                    "old": tuple(commit["old"]),
                    "new": tuple(commit["new"]),
                }
            )
            if commit
            else None
        )
    except (ValueError, KeyError, TypeError) as error:
        raise JournalConflict(
            f"{path}: unreadable journal ({error}); check the files it names, then delete it"
        ) from None
    if phase == "preparing":  # no target was touched yet
        for _, temp, _, _ in entries:
            _remove(temp)
    elif phase == "ready":
        _roll_forward(path, entries)
    if pending is None:
        discard(state)
    return pending


def _roll_forward(journal: Path, entries: list[tuple[Path, Path, str, str]]) -> None:
    conflicts = []
    moves: list[tuple[Path, Path | None]] = []
    for target, temp, before, after in entries:
        current = read_exact(target)
        now = digest(current) if current is not None else None
        has_temp = os.path.lexists(temp)
        if has_temp and now == before and digest(read_exact(temp) or b"") == after:
            moves.append((temp, target))
        elif now == after:
            if has_temp:
                moves.append((temp, None))
        else:
            conflicts.append(str(target))
    if conflicts:
        shown = ", ".join(conflicts[:5]) + (" ..." if len(conflicts) > 5 else "")
        raise JournalConflict(
            f"an interrupted run left {journal}; {shown} changed since: check them, then"
            " delete the journal and any .*" + TEMP_SUFFIX + " files beside them"
        )
    for temp, destination in moves:
        if destination is None:
            _remove(temp)
        else:
            os.replace(temp, destination)
    for _ in _each(_fsync_dir, sorted({t.parent for t, _, _, _ in entries})):
        pass
