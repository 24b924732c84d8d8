"""``history``: every change of an image (or of every image) in the repo's history,
newest first: when, which commit, who, where, old -> new, and how it was made.

A URL ``--repo`` is cloned the way every command clones (shallow, blobless, sparse on
``--path``, credentials bound to their host) and deepened only as far as needed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from updater.commands import checkout
from updater.commands.hold import normalised_paths, repository_of
from updater.config import DEFAULT_NAME, load_config, parse_duration
from updater.edit.model import Plan
from updater.environments import Environment
from updater.errors import UsageError
from updater.history import Entry, History, Query, read_history
from updater.report import one_line


@dataclass(frozen=True)
class HistoryRequest:
    repo: str
    image: str | None = None
    paths: tuple[str, ...] = ()
    since: str | None = None
    max_count: int | None = None
    as_json: bool = False
    delivery: dict[str, Any] = field(default_factory=dict)  # branch, token-env, forge


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``--since``: a duration back from now (``30m``, ``2h``, ``7d``) or an ISO 8601
    date or time (UTC unless it says otherwise)."""
    now = now or datetime.now(timezone.utc)
    if re.fullmatch(r"\s*\d+\s*[a-z].*", text):
        try:
            return now - parse_duration(text)
        except ValueError:
            pass
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--since {text!r}: not a duration (30m, 2h, 7d) or an ISO 8601 date"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def environments_of(root: Path) -> tuple[Environment, ...]:
    """The environments of the checkout's own config, if it has one."""
    path = root / DEFAULT_NAME
    if not path.is_file():
        return ()
    return load_config(path, shown=DEFAULT_NAME, need_images=False).environments


def _check(request: HistoryRequest) -> Query:
    checkout.refuse_with_directory(request.repo, request.delivery, "read")
    repository = repository_of(request.image) if request.image else None
    if request.max_count is not None and request.max_count < 1:
        raise UsageError("--max-count must be 1 or more")
    since = parse_since(request.since) if request.since is not None else None
    return Query(
        repository=repository,
        paths=normalised_paths(request.paths),
        since=since,
        max_count=request.max_count,
    )


def run(request: HistoryRequest) -> int:
    from dataclasses import replace

    from updater.deliver import DeliveryOptions, DeliveryRequest, deliver

    query = _check(request)
    found: list[History] = []

    def read(root: Path) -> Plan:
        found.append(read_history(root, replace(query, environments=environments_of(root))))
        return Plan(root=root, changes=())

    options = DeliveryOptions.from_mapping(request.delivery)
    # A dry-run delivery plans on the local directory, or on a clone of a URL made,
    # authenticated and removed as for every other command.
    deliver(DeliveryRequest(request.repo, "dry-run", query.paths, options), read)
    history = found[0]
    if request.as_json:
        click.echo(json.dumps(history.as_json(), indent=2))
        return 0
    click.echo(table(history.entries), nl=False)
    for note in history.notes:
        click.echo(f"note: {one_line(note)}", err=True)
    if not history.entries:
        what = one_line(request.image or "any image")
        click.echo(f"no changes of {what} found", err=True)
    return 0


def _how(entry: Entry) -> str:
    how = entry.by
    if entry.trigger:
        how += f" ({entry.trigger})"
    if entry.rollback:
        how += ", rollback"
    return how


def _when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M %z")
    except ValueError:
        return iso


def _move(entry: Entry) -> str:
    if entry.old is None:
        return f"added {entry.new or '(no tag)'}"
    if entry.new is None:
        return f"removed {entry.old or '(no tag)'}"
    return f"{entry.old or '(no tag)'} -> {entry.new or '(no tag)'}"


def table(entries: Sequence[Entry]) -> str:
    """One line per change, columns aligned; every value from the repo escaped."""
    if not entries:
        return ""
    header = ("DATE", "COMMIT", "WHERE", "IMAGE", "CHANGE", "BY", "AUTHOR")
    rows = [
        tuple(
            one_line(text)
            for text in (
                _when(e.date),
                e.commit[:12],
                (f"{e.environment}: " if e.environment else "") + f"{e.file}:{e.line}",
                e.name,
                _move(e),
                _how(e),
                e.author,
            )
        )
        for e in entries
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = [
        "  ".join(f"{cell:<{width}}" for cell, width in zip(row, widths, strict=False))
        + "  "
        + row[-1]
        for row in [header, *rows]
    ]
    return "\n".join(lines) + "\n"
