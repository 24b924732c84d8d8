"""``scan``: list every image reference the repo deploys."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import click

from updater.edit.scan import scan_repo
from updater.errors import UsageError
from updater.report import reference_json, scan_table


def run(repo: str, paths: Sequence[str], *, as_json: bool, show_skipped: bool) -> int:
    root = Path(repo)
    if not root.is_dir():
        raise UsageError(f"--repo {repo}: not a directory (scan reads a local checkout)")
    result = scan_repo(root, paths, workers=os.cpu_count() or 1, skipped=show_skipped)
    if as_json:
        rows = [reference_json(reference) for reference in result.references]
        if show_skipped:
            rows += [
                {"file": s.file, "line": s.line, "skipped": s.reason, "value": s.value}
                for s in result.skipped
            ]
        # One element per line: readable, diffable, and the C encoder stays in use
        # (indent= falls back to the pure-Python one, slow on a large repo).
        click.echo("[\n" + ",\n".join(json.dumps(row) for row in rows) + ("\n]" if rows else "]"))
    else:
        skipped = result.skipped if show_skipped else []
        click.echo(scan_table(result.references, skipped), nl=False)
    return 0
