"""``scan``: list every image reference the repo deploys."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from updater.commands import checkout
from updater.edit.model import Plan, ScanResult
from updater.edit.walk import scan_repo
from updater.errors import UsageError
from updater.remote import is_remote_url
from updater.report import reference_json, scan_table


def run(
    repo: str,
    paths: Sequence[str],
    *,
    as_json: bool,
    show_skipped: bool,
    clone: Mapping[str, Any] | None = None,
) -> int:
    """``clone``: how a URL ``--repo`` is cloned (branch, forge, api_url, token_env)."""

    def read(root: Path) -> ScanResult:
        return scan_repo(root, paths, workers=os.cpu_count() or 1, skipped=show_skipped)

    if is_remote_url(repo):
        result = _on_clone(repo, paths, checkout.given(clone), read)
    else:
        if not Path(repo).is_dir():
            raise UsageError(f"--repo {repo}: not a directory or a git URL")
        from updater.deliver.local import refuse_git_directory

        refuse_git_directory(repo)
        checkout.refuse_with_directory(repo, clone, "scanned")
        result = read(Path(repo))
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


def _on_clone(
    url: str,
    paths: Sequence[str],
    options: Mapping[str, Any],
    read: Callable[[Path], ScanResult],
) -> ScanResult:
    """Scan a clone made, authenticated and removed as for every other command: a
    dry-run delivery, which plans (here: reads) on the clone and writes nothing."""
    from updater.deliver import DeliveryOptions, DeliveryRequest, deliver

    found: list[ScanResult] = []

    def scan_clone(root: Path) -> Plan:
        found.append(read(root))
        return Plan(root=root, changes=())

    checked = DeliveryOptions.from_mapping(options)
    deliver(DeliveryRequest(url, "dry-run", tuple(paths), checked), scan_clone)
    return found[0]
