from __future__ import annotations

from pathlib import Path

from updater.edit.model import Plan
from updater.edit.planner import plan
from updater.edit.site import ResolveDigest
from updater.reference import parse_change


def make_repo(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode("utf-8")
        path.write_bytes(content)
    return root


def plan_for(
    root: Path,
    *images: str,
    paths: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
    resolve: ResolveDigest | None = None,
) -> Plan:
    changes = [parse_change(i, aliases=aliases) for i in images]
    return plan(root, changes, paths=paths, resolve_digest=resolve)


def edited(
    tmp_path: Path,
    text: str,
    *images: str,
    name: str = "file.yaml",
    aliases: tuple[str, ...] = (),
    paths: tuple[str, ...] = (),
    resolve: ResolveDigest | None = None,
) -> str:
    """The new text of one file after setting ``images``; the old text if unchanged."""
    make_repo(tmp_path, {name: text})
    result = plan_for(tmp_path, *images, paths=paths, aliases=aliases, resolve=resolve)
    for edit in result.edits:
        if edit.path == name:
            return edit.new_text
    return text
