"""One lock per checkout: two runs that write the same working tree never interleave.

The lock and the write journal (see ``updater.writing``) live in the checkout's own git
directory (``.git/``, or a linked worktree's ``.git/worktrees/NAME/``), where git's own
state is and where nothing is ever committed. A directory that is not in a git work tree
gets a per-user directory keyed on its resolved path
(``$XDG_STATE_HOME/gitops-updater/<hash>/``, default ``~/.local/state``), so nothing
is added to the directory itself.

``flock`` locks belong to the open file: a run that is killed releases its lock at once,
and there is no stale lock file to remove.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import stat
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from updater import deadline
from updater.errors import UpdaterError, UsageError

LOCK_NAME = "gitops-updater.lock"
LOCK_TIMEOUT_ENV = "UPDATER_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 120.0  # seconds; a run on a large repo takes a few


class LockTimeout(UpdaterError):
    """Another run holds the checkout's lock for longer than we may wait."""

    exit_code = 5


def lock_timeout(environ: Mapping[str, str] = os.environ) -> float:
    """Seconds a run waits for another run's lock: ``UPDATER_LOCK_TIMEOUT``, else 120."""
    text = environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_LOCK_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also refuses nan
        raise UsageError(f"{LOCK_TIMEOUT_ENV}={text!r}: expected a number of seconds (>= 0)")
    return seconds


def state_dir(root: Path) -> Path:
    """Where the lock and the journal of the checkout holding ``root`` live."""
    real = Path(os.path.realpath(root))
    for directory in (real, *real.parents):
        dotgit = directory / ".git"
        try:
            info = os.stat(dotgit)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode):
            return dotgit
        if stat.S_ISREG(info.st_mode):  # a linked worktree or a submodule: "gitdir: PATH"
            text = dotgit.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                target = Path(text.partition(":")[2].strip())
                return Path(os.path.realpath(directory / target))
    key = hashlib.sha256(os.fsencode(real)).hexdigest()[:32]
    return _private_dir(_user_state_home() / key)


def _user_state_home() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    home = Path(base) / "gitops-updater"
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:  # no writable home (some CI containers): the temp directory
        home = _private_dir(Path(tempfile.gettempdir()) / f"gitops-updater-{os.getuid()}")
    return home


def _private_dir(path: Path) -> Path:
    """``path`` as a directory of ours alone: a shared temp directory must not let
    another user plant a symlink or a directory there for us to write through."""
    try:
        path.mkdir(mode=0o700, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create {path} for the checkout lock: {error.strerror}") from None
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise UsageError(f"{path}: not a private directory of this user; refusing to use it")
    return path


@contextlib.contextmanager
def checkout_lock(root: Path, timeout: float | None = None) -> Iterator[Path]:
    """Hold the checkout's lock (waiting at most ``timeout`` seconds, by default
    ``UPDATER_LOCK_TIMEOUT``, cut to the run's deadline); yields the state directory."""
    directory = state_dir(root)
    wait = lock_timeout() if timeout is None else timeout
    wait = deadline.cap(wait, "waiting for the checkout lock")
    path = directory / LOCK_NAME
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        handle = os.open(path, flags, 0o644)
    except OSError as error:
        raise UsageError(f"cannot open the checkout lock {path}: {error.strerror}") from None
    try:
        _acquire(handle, path, wait)
        os.ftruncate(handle, 0)
        os.write(handle, f"{os.getpid()}\n".encode())
        yield directory
    finally:
        os.close(handle)  # releases the lock


def _acquire(handle: int, path: Path, wait: float) -> None:
    give_up = time.monotonic() + wait
    pause = 0.01
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise UsageError(f"cannot lock {path}: {error.strerror}") from None
        remaining = give_up - time.monotonic()
        if remaining <= 0:
            holder = _holder(handle)
            raise LockTimeout(
                f"another updater run{holder} is writing this checkout (lock {path});"
                f" gave up after {wait:g} s (set {LOCK_TIMEOUT_ENV} to wait longer)"
            )
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, 0.25)


def _holder(handle: int) -> str:
    try:
        text = os.pread(handle, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return f" (pid {text})" if text.isdigit() else ""
