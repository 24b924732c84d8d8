"""Errors the command line turns into a one-line message and a non-zero exit status."""

from __future__ import annotations

import re
from typing import Any

# C0 and C1 controls, DEL and the Unicode line separators: repo text (a file name, a
# value) shown in an error must not move the cursor, retitle the terminal or start a line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class UpdaterError(Exception):
    """Bad input or a failed step; ``str(error)`` is the one line shown to the user.

    Where the code knows the place in a file that caused it, it passes ``file`` (and
    ``line``): the line shown is then ``file:line: message``, and ``--json`` reports the
    three apart, so a CI wrapper can annotate that line without parsing text.

    Messages must never contain a secret: callers pass redacted text.
    """

    exit_code = 1

    def __init__(self, message: str = "", *, file: str | None = None, line: int | None = None):
        self.message = message
        self.file = file or None
        self.line = line if self.file and line else None
        super().__init__(located(message, self.file, self.line))

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross process boundaries (the scan's worker pool): keep the location.
        return (_rebuild, (type(self), self.message, self.file, self.line))

    def as_json(self) -> dict[str, Any]:
        """``{"file", "line", "message"}``: the place (or nulls) and the bare message."""
        return {"file": self.file, "line": self.line, "message": self.message}


def escaped(text: str) -> str:
    """``text`` with every control character shown as its escape (``\\x1b``, ``\\n``)."""
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


def located(message: str, file: str | None, line: int | None) -> str:
    """The line shown: ``file:line: message``, escaped (both may hold repo text)."""
    message = escaped(message)
    if not file:
        return message
    file = escaped(file)
    return f"{file}:{line}: {message}" if line else f"{file}: {message}"


def _rebuild(
    cls: type[UpdaterError], message: str, file: str | None, line: int | None
) -> UpdaterError:
    error = cls.__new__(cls)
    UpdaterError.__init__(error, message, file=file, line=line)
    return error


class UsageError(UpdaterError):
    exit_code = 2


class EditError(UpdaterError):
    """A file that cannot be edited safely (malformed, ambiguous, outside the repo)."""

    exit_code = 3


class NoMatchError(UpdaterError):
    exit_code = 4


class DeliveryError(UpdaterError):
    """git or the forge refused or failed (a registry's failure is a ``RegistryError``)."""

    exit_code = 5
