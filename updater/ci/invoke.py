"""Call the command line once and read what it said: its ``--json`` report on stdout,
or on failure the structured ``{"error": {"file", "line", "message"}}`` it prints there."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# The command line's one-line error and click's own usage error, for the failures that
# come before a structured error can be printed (an unknown option, a crash).
_ERROR_PREFIXES = ("updater: error: ", "Error: ")


@dataclass(frozen=True)
class ErrorLine:
    message: str
    file: str | None = None
    line: int | None = None

    @property
    def text(self) -> str:
        if not self.file:
            return self.message
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class CliResult:
    """What one command-line run said: exit status, JSON report, errors, stderr."""

    status: int
    report: dict[str, Any] = field(default_factory=dict)
    errors: tuple[ErrorLine, ...] = ()
    stderr: str = ""

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


def structured_error(value: object) -> ErrorLine | None:
    """The ``error`` object of a ``--json`` failure, checked field by field."""
    if not isinstance(value, dict) or not isinstance(value.get("message"), str):
        return None
    file = value.get("file") if isinstance(value.get("file"), str) else None
    line = value.get("line")
    line = line if isinstance(line, int) and not isinstance(line, bool) and line > 0 else None
    return ErrorLine(value["message"], file or None, line if file else None)


def stderr_error(stderr: str) -> ErrorLine | None:
    """The last error line on stderr, as plain text (no location is read out of it)."""
    for line in reversed(stderr.splitlines()):
        for prefix in _ERROR_PREFIXES:
            if line.startswith(prefix) and line[len(prefix) :].strip():
                return ErrorLine(line[len(prefix) :].strip())
    return None


def lookup_errors(report: Mapping[str, Any]) -> tuple[ErrorLine, ...]:
    """poll's per-image failures, which leave the other images' results standing."""
    images = report.get("images") if "plan" in report else None
    if not isinstance(images, list):
        return ()
    return tuple(
        ErrorLine(str(image["error"]))
        for image in images
        if isinstance(image, dict) and image.get("error")
    )


def read_result(status: int, stdout: str, stderr: str) -> CliResult:
    report: dict[str, Any] = {}
    if stdout.strip():
        try:
            parsed = json.loads(stdout)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            report = parsed
        elif status == 0:
            return CliResult(
                1,
                errors=(ErrorLine("the command line did not print a JSON report"),),
                stderr=stderr,
            )
    if not status:
        return CliResult(0, report, stderr=stderr)
    error = structured_error(report.pop("error", None))
    errors = (error,) if error else lookup_errors(report)
    if not errors:
        fallback = stderr_error(stderr)
        errors = (fallback or ErrorLine(f"updater exited with status {status}"),)
    return CliResult(status, report, errors, stderr)


def invoke(argv: Sequence[str], env: Mapping[str, str]) -> CliResult:
    """Run ``python -m updater ARGV`` with the interpreter running this code."""
    completed = subprocess.run(
        [sys.executable, "-m", "updater", *argv],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    return read_result(completed.returncode, completed.stdout, completed.stderr)
