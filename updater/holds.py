"""Holds: an image kept where it is, in some paths, until a candidate satisfies a range.

A rollback is only worth something if the next scheduled run does not undo it. A hold
in ``.image-updater.yaml`` says "leave IMAGE alone under PATHS"; ``poll`` (and
``promote``) skip every reference it covers and say so, until the version they would
move to satisfies the hold's ``until`` range (the fix has shipped), or someone removes
the hold (``updater hold remove``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from updater.policy import InvalidConstraint, parse_constraint
from updater.policy.semver import Constraint, try_parse_version
from updater.policy.tags import TagPolicy, tag_value
from updater.reference import InvalidReference, parse

if TYPE_CHECKING:
    from updater.config_table import Checker as _Checker

HOLD_KEYS = ("image", "paths", "at", "until", "reason", "by", "since")

# Decisions, for programs reading poll's JSON report (beside policy/current.py's).
HELD = "held"  # a hold covers the reference and the choice does not satisfy its until
HOLD_ENDED = "hold-ended"  # the choice satisfies the hold's until: it moves again


@dataclass(frozen=True)
class Hold:
    image: str  # as spelled in the config
    repository: str  # normalised
    paths: tuple[str, ...] = ()  # empty: everywhere
    at: str | None = None  # the version held at (for people; the files say what it is)
    until: Constraint | None = None  # None: until removed
    reason: str | None = None
    by: str | None = None
    since: str | None = None  # ISO 8601, UTC
    line: int = 0

    def covers(self, repository: str, file: str) -> bool:
        if repository != self.repository:
            return False
        return not self.paths or any(
            p in (".", file) or file.startswith(f"{p}/") for p in self.paths
        )

    def satisfied_by(self, tag: str | None, policy: TagPolicy | None = None) -> bool:
        """Whether ``tag`` ends the hold: a version in ``until`` (the policy's ``extract``
        applied first, so ``v1.6.0`` and ``1.6.0-alpine`` are read as the policy reads them)."""
        if self.until is None or tag is None:
            return False
        value = tag_value(policy, tag) if policy is not None and policy.kind == "semver" else tag
        version = try_parse_version(value or tag)
        return version is not None and self.until.matches(version)

    def describe(self) -> str:
        """One line for people: where it was written, what it holds and why."""
        at = f" at {self.at}" if self.at else ""
        until = f" until {str(self.until)!r}" if self.until else " until removed"
        why = f": {self.reason}" if self.reason else ""
        return f"held{at}{until}{why}"

    def as_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "repository": self.repository,
            "paths": list(self.paths),
            "at": self.at,
            "until": str(self.until) if self.until else None,
            "reason": self.reason,
            "by": self.by,
            "since": self.since,
            "line": self.line,
        }


def holding(holds: Sequence[Hold], repository: str, file: str) -> list[Hold]:
    return [hold for hold in holds if hold.covers(repository, file)]


def now_text() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _since(c: _Checker, entry: Any, path: str) -> str:
    value = entry["since"]
    if isinstance(value, datetime):  # an unquoted timestamp: YAML reads it as one
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    text = c.string(entry, "since", path)
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise c.fail(
            c.value_line(entry, "since"),
            path,
            f"expected a time like 2026-12-01T10:00:00Z, got {text!r}",
        ) from None
    return text


def check_hold(c: _Checker, item: Any, index: int, line: int) -> Hold:
    base = f"holds[{index}]"
    entry = c.mapping(item, line, base, HOLD_KEYS)
    if "image" not in entry:
        raise c.fail(line, base, "missing key 'image'")
    image = c.string(entry, "image", f"{base}.image")
    try:
        ref = parse(image)
    except InvalidReference as error:
        raise c.fail(c.value_line(entry, "image"), f"{base}.image", str(error)) from None
    if ref.tag or ref.digest:
        raise c.fail(
            c.value_line(entry, "image"),
            f"{base}.image",
            "give the repository without tag or digest (the version goes in 'at')",
        )
    paths = c.strings(entry, "paths", f"{base}.paths") if "paths" in entry else ()
    for path in paths:
        if Path(path).is_absolute() or ".." in Path(path).parts:
            raise c.fail(
                c.value_line(entry, "paths"),
                f"{base}.paths",
                f"{path!r}: must be relative, inside the repo",
            )

    def text(key: str) -> str | None:
        return c.string(entry, key, f"{base}.{key}") if key in entry else None

    until = None
    if (spelled := text("until")) is not None:
        try:
            until = parse_constraint(spelled)
        except InvalidConstraint as error:
            raise c.fail(
                c.value_line(entry, "until"), f"{base}.until", f"bad semver range: {error}"
            ) from None
    return Hold(
        image=image,
        repository=ref.repository,
        paths=tuple(p.strip("/") or "." for p in paths),
        at=text("at"),
        until=until,
        reason=text("reason"),
        by=text("by"),
        since=_since(c, entry, f"{base}.since") if "since" in entry else None,
        line=line,
    )


def check_holds(c: _Checker, data: Any) -> tuple[Hold, ...]:
    value = data["holds"]
    if value is None:
        return ()
    if not isinstance(value, list):
        raise c.fail(c.value_line(data, "holds"), "holds", "expected a list")
    return tuple(
        check_hold(c, item, index, c.item_line(value, index)) for index, item in enumerate(value)
    )
