"""``--write`` and ``--commit`` on a local checkout: lock, recover, plan, write, commit.

Every writing run takes the checkout's lock (``updater.lock``) before it plans, so a
second run plans on what the first one left and never interleaves with it. Under the
lock it first finishes whatever a killed run left (``updater.writing.recover``): temp
files are renamed or removed, and a commit that run was about to make is made, when
the files still hold exactly what it wrote and HEAD has not moved; so a rerun never
says "nothing to change" while the plan's files differ from HEAD. A ``--commit`` after a
``--write`` of the same change commits it: the plan made against HEAD must match the
work tree exactly, so nobody else's edits are ever committed.

A failed ``git commit`` puts the files back as they were (through the same journal);
if even that fails, the journal keeps the commit for the next run and the error says
which files were left.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from updater import faults, writing
from updater.edit.model import Plan
from updater.errors import DeliveryError, UpdaterError
from updater.lock import checkout_lock

if TYPE_CHECKING:
    from updater.git import Checkout, Identity


@dataclass(frozen=True)
class CommitSpec:
    message: str
    author: Identity
    committer: Identity
    signoff: bool = False


@dataclass(frozen=True)
class Committed:
    plan: Plan
    sha: str | None  # None: nothing was committed
    branch: str | None


def write(root: Path, make_plan: Callable[[Path], Plan]) -> Plan:
    """``--write``: plan and write under the lock."""
    with checkout_lock(root) as state:
        _recover(root, state)
        plan = make_plan(root)
        writing.write_plan(plan, state=state)
        return plan


def commit(
    root: Path,
    make_plan: Callable[[Path], Plan],
    spec_for: Callable[[Plan, str | None], CommitSpec],
) -> Committed:
    """``--commit``: plan, write and commit exactly the plan's files, under the lock;
    a failure leaves the files as they were, or says which were left."""
    from updater import git

    checkout = git.open_local(root)
    with checkout_lock(root) as state:
        finished = _recover(root, state, checkout)
        plan = make_plan(root)
        branch = checkout.current_branch()
        if not plan.changed:
            if finished is None and plan.up_to_date:
                written = _written_not_committed(checkout, root, make_plan)
                if written is not None:
                    return _commit_written(checkout, written, spec_for(written, branch), branch)
            return Committed(plan, finished, branch)
        chosen = writing.targets(plan)
        top = Path(os.path.realpath(checkout.path))
        files = [target.path.relative_to(top).as_posix() for target in chosen]
        dirty = checkout.dirty(files)
        if dirty:
            raise DeliveryError(
                f"uncommitted changes in {', '.join(dirty[:3])}: commit or stash them first"
            )
        _check_index(checkout)
        spec = spec_for(plan, branch)
        pending = writing.PendingCommit(
            top=str(top),
            head=_head(checkout),
            files=tuple(files),
            message=spec.message,
            author=str(spec.author),
            committer=str(spec.committer),
            signoff=spec.signoff,
            old=tuple(writing.digest(t.before) for t in chosen),
            new=tuple(writing.digest(t.after) for t in chosen),
        )
        writing.transact(chosen, state, pending)
        faults.point("commit")
        try:
            sha = checkout.commit(
                files,
                spec.message,
                author=spec.author,
                committer=spec.committer,
                signoff=spec.signoff,
            )
        except UpdaterError as error:
            left = writing.undo(chosen, state, pending)
            reason = _commit_failure(error, checkout)
            if left:
                raise DeliveryError(
                    f"{reason}; {left}, uncommitted (the next run commits them)"
                ) from None
            raise DeliveryError(f"{reason}; the files were put back, nothing changed") from None
        writing.discard(state)
        return Committed(plan, sha, branch)


def _written_not_committed(
    checkout: Checkout, root: Path, make_plan: Callable[[Path], Plan]
) -> Plan | None:
    """The plan made against HEAD, when the work tree already holds exactly what it
    would write (``--write``, then ``--commit``): that change is still to be committed.
    None when HEAD already holds it too, or when the files differ from HEAD in any
    other way (those are someone's edits, not ours to commit)."""
    top = Path(os.path.realpath(checkout.path))
    inside = Path(os.path.realpath(root)).relative_to(top)
    with tempfile.TemporaryDirectory(prefix="updater-head-") as scratch:
        tree = Path(scratch) / "head"
        # A detached worktree of HEAD: the index and the work tree are not touched, and
        # no hook runs.
        status, _, _ = checkout.run(
            "-c", "core.hooksPath=/dev/null", "worktree", "add", "--quiet", "--detach",
            "--", str(tree), "HEAD", check=False,
        )  # fmt: skip
        if status != 0:
            return None
        try:
            planned = make_plan(tree / inside)
        finally:
            checkout.run("worktree", "remove", "--force", "--", str(tree), check=False)
    if not planned.changed:
        return None
    for edit in planned.edits:
        real = Path(os.path.realpath(root / edit.path))
        if not real.is_relative_to(top):
            return None
        if writing.read_exact(real) != edit.new_text.encode("utf-8"):
            return None
    return dataclasses.replace(planned, root=root)


def _commit_written(
    checkout: Checkout, plan: Plan, spec: CommitSpec, branch: str | None
) -> Committed:
    top = Path(os.path.realpath(checkout.path))
    files = sorted(
        {Path(os.path.realpath(plan.root / e.path)).relative_to(top).as_posix() for e in plan.edits}
    )
    _check_index(checkout)
    try:
        sha = checkout.commit(
            files, spec.message, author=spec.author, committer=spec.committer, signoff=spec.signoff
        )
    except UpdaterError as error:
        raise DeliveryError(
            f"{_commit_failure(error, checkout)}; the files are as they were"
        ) from None
    return Committed(plan, sha, branch)


def _head(checkout: Checkout) -> str:
    status, out, _ = checkout.run("rev-parse", "--verify", "--quiet", "HEAD", check=False)
    return out.strip() if status == 0 else ""


def _index_lock(checkout: Checkout) -> Path:
    out = checkout.git("rev-parse", "--git-path", "index.lock").strip()
    path = Path(out)
    return path if path.is_absolute() else checkout.path / path


def _check_index(checkout: Checkout) -> None:
    """A stale ``index.lock`` (a git command killed in this checkout) makes every git
    command that writes the index fail: say so before writing anything."""
    path = _index_lock(checkout)
    if path.exists():
        raise DeliveryError(
            f"{path} exists: another git command is running in this checkout, or one was"
            " killed and left it (remove it if no git process is running); nothing written"
        )


def _commit_failure(error: UpdaterError, checkout: Checkout) -> str:
    if "index.lock" in str(error):
        return f"git commit failed: {_index_lock(checkout)} exists (another git command?)"
    return str(error)


def _recover(root: Path, state: Path, checkout: Checkout | None = None) -> str | None:
    """Finish what a killed run left; returns the sha of a commit it had still to make."""
    pending = writing.recover(state)
    if pending is None:
        return None
    from updater import git

    checkout = checkout or git.open_local(root)
    journal = state / writing.JOURNAL_NAME
    top = Path(pending.top)
    current = [writing.digest(writing.read_exact(top / name) or b"") for name in pending.files]
    if current == list(pending.old):  # the files were put back: nothing to commit
        writing.discard(state)
        return None
    if current != list(pending.new):
        raise writing.JournalConflict(
            f"an interrupted --commit left {journal}; its files changed since"
            f" ({', '.join(pending.files[:3])}): check them, then delete the journal"
        )
    if not checkout.dirty(list(pending.files)):  # it was committed before the kill
        writing.discard(state)
        return None
    if _head(checkout) != pending.head:
        raise writing.JournalConflict(
            f"an interrupted --commit left {journal} and HEAD moved since; its files"
            f" ({', '.join(pending.files[:3])}) hold its change, uncommitted: commit or"
            " restore them, then delete the journal"
        )
    _check_index(checkout)
    sha = checkout.commit(
        list(pending.files),
        pending.message,
        author=git.Identity.parse(pending.author),
        committer=git.Identity.parse(pending.committer),
        signoff=pending.signoff,
    )
    writing.discard(state)
    subject = pending.message.splitlines()[0] if pending.message else ""
    print(
        f"updater: finished an interrupted commit: {sha[:12]} {subject}",
        file=sys.stderr,
    )
    return sha
