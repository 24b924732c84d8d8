"""What the run did, for people: a Markdown summary (GitHub's step summary) and plain
lines for a job log. Both are rendered from the JSON report alone."""

from __future__ import annotations

import html
import json
from typing import Any

from updater.ci.outcome import Outcome
from updater.ci.settings import Settings


def _code(value: object) -> str:
    # <code> rather than backticks: a value may contain a backtick; "|" would end a cell.
    return "<code>" + html.escape(str(value)).replace("|", "&#124;") + "</code>"


def _cell(value: object) -> str:
    return html.escape(str(value)).replace("|", "&#124;").replace("\n", " ")


def _link(url: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{html.escape(url)}</a>'


def describe(item: object) -> str:
    """One image of the report's ``up_to_date``/``unmatched`` lists, however it is shaped."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        for key in ("ref", "reference", "image", "new_ref"):
            if isinstance(item.get(key), str):
                return str(item[key])
        repository = item.get("repository") or item.get("name")
        if isinstance(repository, str):
            tag = f":{item['tag']}" if item.get("tag") else ""
            digest = f"@{item['digest']}" if item.get("digest") else ""
            return f"{repository}{tag}{digest}"
    return json.dumps(item, sort_keys=True)


def images(report: dict[str, Any]) -> list[dict[str, Any]]:
    found = report.get("images")
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


def _list(report: dict[str, Any], key: str) -> list[str]:
    found = report.get(key)
    return [describe(item) for item in found] if isinstance(found, list) else []


def _title(settings: Settings | None) -> str:
    if settings is None:
        return "gitops-updater"
    return f"gitops-updater {settings.command} ({settings.mode})"


def markdown(outcome: Outcome, settings: Settings | None) -> str:
    lines = [f"### {_cell(_title(settings))}", ""]
    if settings is not None and settings.repo:
        lines += [f"Config repo: {_code(settings.repo)}", ""]
    if outcome.error is not None:
        lines += [f"**Failed:** {_cell(outcome.error.text)}", ""]
        return "\n".join(lines) + "\n"
    updates = images(outcome.report)
    if updates:
        lines += ["| Image | Old | New | Files |", "| --- | --- | --- | --- |"]
        for update in updates:
            old = "<br>".join(_code(ref) for ref in update.get("old_refs") or ())
            files = "<br>".join(_code(path) for path in update.get("files") or ())
            new = _code(update.get("new_ref", ""))
            lines.append(f"| {_code(update.get('repository', ''))} | {old} | {new} | {files} |")
        lines.append("")
    elif not outcome.changed:
        lines += ["No change: every image is already up to date.", ""]
    for key, heading in (("up_to_date", "Already up to date"), ("unmatched", "Referenced nowhere")):
        found = _list(outcome.report, key)
        if found:
            lines += [f"{heading}: " + ", ".join(_code(ref) for ref in found), ""]
    url = outcome.delivered("pull_request_url")
    if url:
        action = outcome.delivered("pull_request_action")
        suffix = f" ({_cell(action)})" if action else ""
        link = _link(url) if url.startswith(("https://", "http://")) else _code(url)
        lines += [f"Pull request: {link}{suffix}", ""]
    sha = outcome.delivered("commit_sha")
    if sha:
        branch = outcome.delivered("branch")
        on_branch = f" on {_code(branch)}" if branch else ""
        lines += [f"Commit: {_code(sha)}{on_branch}", ""]
    return "\n".join(lines) + "\n"


def plain(outcome: Outcome, settings: Settings | None) -> str:
    repo = settings.repo if settings is not None else ""
    lines = [_title(settings) + (f": {repo}" if repo else "")]
    if outcome.error is not None:
        return "\n".join([*lines, f"failed: {outcome.error.text}"]) + "\n"
    for update in images(outcome.report):
        old = ", ".join(str(ref) for ref in update.get("old_refs") or ())
        files = ", ".join(str(path) for path in update.get("files") or ())
        lines.append(f"  {old} -> {update.get('new_ref', '')}  ({files})")
    if not images(outcome.report) and not outcome.changed:
        lines.append("  no change: every image is already up to date")
    for key, heading in (("up_to_date", "already up to date"), ("unmatched", "referenced nowhere")):
        found = _list(outcome.report, key)
        if found:
            lines.append(f"  {heading}: {', '.join(found)}")
    for key, heading in (
        ("pull_request_url", "merge request"),
        ("commit_sha", "commit"),
        ("branch", "branch"),
    ):
        value = outcome.delivered(key)
        if value:
            lines.append(f"  {heading}: {value}")
    return "\n".join(lines) + "\n"
