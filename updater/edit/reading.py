"""Reading a candidate file: a regular file only, bounded in size.

A config repo is untrusted input. A FIFO named ``*.yaml`` would block a plain ``open``
forever and a device could have side effects, so a file is opened non-blocking and
without following a symlink, and its type is checked on the open descriptor before a
byte is read. A file above the size limit is never read whole: parsing costs tens of
bytes of memory per byte of YAML.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Mapping, Sequence

from updater.errors import UsageError

MAX_FILE_SIZE_ENV = "UPDATER_MAX_FILE_SIZE"
DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024  # far above any real config file (the corpus: < 1 MB)
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO opens at once instead of waiting for a writer
    | getattr(os, "O_NOFOLLOW", 0)  # callers pass the resolved path: a symlink here is a swap
    | getattr(os, "O_CLOEXEC", 0)
)
_CHUNK = 1 << 20


class Unreadable(Exception):
    """A file that is not read, and why: ``str(error)`` is the reason, for ``--skipped``."""


class NotRegular(Unreadable):
    """A FIFO, socket, device or directory where a file was expected."""


class TooLarge(Unreadable):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"larger than the {format_size(limit)} limit ({format_size(size)};"
            f" set {MAX_FILE_SIZE_ENV} to raise it)"
        )
        self.size = size
        self.limit = limit


class ReadFailed(Unreadable):
    """The system refused (permissions, I/O error)."""


def max_file_size(environ: Mapping[str, str] = os.environ) -> int:
    """The size limit for a YAML file: ``UPDATER_MAX_FILE_SIZE`` (``10M``, ``512K``,
    ``20971520``; 0 means no limit), else 10 MiB."""
    text = environ.get(MAX_FILE_SIZE_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_FILE_SIZE
    match = _SIZE.match(text)
    if match is None:
        raise UsageError(
            f"{MAX_FILE_SIZE_ENV}={text!r}: expected a size in bytes, or with K, M or G (10M)"
        )
    number, unit = int(match.group(1)), (match.group(2) or "")[:1].lower()
    return number * _UNITS[unit] or 0


def format_size(size: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} bytes"


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISLNK(mode):
        return "a symlink"
    return "not a regular file"


def _open(path: str) -> tuple[int, os.stat_result]:
    try:
        handle = os.open(path, _OPEN_FLAGS)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise NotRegular("became a symlink while reading") from None
        if error.errno == errno.ENXIO:  # a socket, or a FIFO opened for writing
            raise NotRegular("not a regular file") from None
        raise ReadFailed(f"cannot read: {error.strerror}") from None
    info = os.fstat(handle)
    if not stat.S_ISREG(info.st_mode):
        os.close(handle)
        raise NotRegular(f"not a regular file ({kind_of(info.st_mode)})")
    return handle, info


def read_file(path: str, limit: int) -> bytes:
    """The bytes of the regular file at ``path`` (resolved: no symlink), at most
    ``limit`` of them (0: no limit); :class:`Unreadable` says why not."""
    handle, info = _open(path)
    try:
        if limit and info.st_size > limit:
            raise TooLarge(info.st_size, limit)
        chunks = []
        total = 0
        # The size in fstat may be stale (a file still being written): read to the end,
        # but never past the limit.
        while True:
            want = _CHUNK if not limit else min(_CHUNK, limit + 1 - total)
            try:
                chunk = os.read(handle, max(want, 1))
            except OSError as error:
                raise ReadFailed(f"cannot read: {error.strerror}") from None
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if limit and total > limit:
                raise TooLarge(total, limit)
        return b"".join(chunks)
    finally:
        os.close(handle)


def contains_any(path: str, needles: Sequence[bytes]) -> bool:
    """Whether the file holds any of ``needles``, read in chunks (for files too large
    to parse: memory stays at one chunk)."""
    if not needles:
        return False
    handle, _ = _open(path)
    overlap = max(len(n) for n in needles) - 1
    tail = b""
    try:
        while True:
            try:
                chunk = os.read(handle, _CHUNK)
            except OSError as error:
                raise ReadFailed(f"cannot read: {error.strerror}") from None
            if not chunk:
                return False
            window = tail + chunk
            if any(needle in window for needle in needles):
                return True
            tail = window[-overlap:] if overlap else b""
    finally:
        os.close(handle)
