"""Call the command line once and read what it said: the JSON report on stdout, or the
one-line ``updater: error: [file:line: ]message`` on stderr."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_ERROR_PREFIX = "updater: error: "
# "path/to/file.yaml:12: message" (a column after the line is allowed); a file name has
# no spaces, which keeps "--repo x: not a directory" from looking like a location.
_LOCATION = re.compile(r"^(?P<file>[^\s:][^\s:]*):(?P<line>[0-9]+)(?::[0-9]+)?: (?P<message>.+)$")


@dataclass(frozen=True)
class ErrorLine:
    message: str
    file: str | None = None
    line: int | None = None

    @property
    def text(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file else ""
        return where + self.message


@dataclass(frozen=True)
class Outcome:
    status: int
    report: dict[str, Any] = field(default_factory=dict)
    errors: tuple[ErrorLine, ...] = ()
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 0

    @property
    def error(self) -> ErrorLine | None:
        return self.errors[0] if self.errors else None

    @property
    def plan(self) -> dict[str, Any]:
        """The set-image-shaped part of the report: the report itself for set-image,
        its ``plan`` for poll (``null`` when no image had a newer tag)."""
        if "plan" not in self.report:
            return self.report
        plan = self.report["plan"]
        return plan if isinstance(plan, dict) else {}

    @property
    def lookups(self) -> list[dict[str, Any]]:
        """poll's per-image registry results; empty for set-image."""
        if "plan" not in self.report or not isinstance(self.report.get("images"), list):
            return []
        return [item for item in self.report["images"] if isinstance(item, dict)]

    @property
    def changed(self) -> bool:
        # A poll that failed for one image may still have delivered the others.
        return bool(self.plan.get("changed"))

    @property
    def delivery(self) -> dict[str, Any]:
        delivery = self.report.get("delivery")
        return delivery if isinstance(delivery, dict) else {}

    def delivered(self, key: str) -> str:
        value = self.delivery.get(key)
        return str(value) if value else ""


def parse_errors(stderr: str) -> tuple[ErrorLine, ...]:
    found = []
    for line in stderr.splitlines():
        if line.startswith(_ERROR_PREFIX):
            text = line[len(_ERROR_PREFIX) :].strip()
            match = _LOCATION.match(text)
            if match:
                found.append(ErrorLine(match["message"], match["file"], int(match["line"])))
            else:
                found.append(ErrorLine(text))
    return tuple(found)


def read_outcome(status: int, stdout: str, stderr: str) -> Outcome:
    report: dict[str, Any] = {}
    errors = parse_errors(stderr) if status else ()
    if stdout.strip():
        try:
            parsed = json.loads(stdout)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            report = parsed
        elif status == 0:
            status = 1
            errors = (ErrorLine("the command line did not print a JSON report"),)
    if status and not errors:
        errors = (ErrorLine(f"updater exited with status {status}"),)
    return Outcome(status=status, report=report, errors=errors, stderr=stderr)


def invoke(argv: Sequence[str], env: Mapping[str, str]) -> Outcome:
    """Run ``python -m updater ARGV`` with the interpreter running this code."""
    completed = subprocess.run(
        [sys.executable, "-m", "updater", *argv],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    return read_outcome(completed.returncode, completed.stdout, completed.stderr)
