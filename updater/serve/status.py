"""``updater serve --status``: what the state dir says, read-only (a running server
keeps writing; SQLite's WAL lets both be)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import click

from updater.errors import UsageError
from updater.report import one_line
from updater.serve.queue import (
    FAILED,
    FILE_NAME,
    QUEUED,
    WAITING,
    Stored,
    connect,
    read_counts,
    read_rows,
)

SHOWN = 50  # rows per state listed


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _line(row: Stored) -> str:
    name = f"{row.host}/{row.repository}" if row.host else row.repository
    ref = name + (f":{row.tag}" if row.tag else "") + (f"@{row.digest}" if row.digest else "")
    due = f" due {_when(row.due)}" if row.state in (QUEUED, WAITING) else ""
    tries = f" tries {row.attempts}" if row.attempts else ""
    why = f": {one_line(row.reason)}" if row.reason else ""
    # json.dumps escapes what a registry sent, so a crafted name cannot move the cursor
    return f"  #{row.seq} {row.source} {json.dumps(ref)}{due}{tries}{why}"


def run(state_dir: Path, *, as_json: bool) -> int:
    path = state_dir / FILE_NAME
    if not path.is_file():
        raise UsageError(f"--state-dir {state_dir}: no {FILE_NAME} here (has serve run with it?)")
    db = connect(path, readonly=True)
    try:
        counts = read_counts(db)
        rows = {state: read_rows(db, [state], SHOWN) for state in (FAILED, WAITING, QUEUED)}
    finally:
        db.close()
    if as_json:
        report = {
            "counts": counts,
            **{state: [r.as_json() for r in found] for state, found in rows.items()},
        }
        click.echo(json.dumps(report, indent=2))
        return 0
    click.echo(" ".join(f"{state} {number}" for state, number in counts.items()))
    for state, found in rows.items():
        if found:
            more = counts[state] - len(found)
            click.echo(f"{state}:" + (f" (latest {len(found)}; {more} more)" if more > 0 else ""))
            for row in found:
                click.echo(_line(row))
    return 0
