"""What the run did, for people: a Markdown summary (GitHub's step summary) and plain
lines for a job log. Both are rendered from the JSON report alone."""

from __future__ import annotations

import html
import json
from typing import Any

from updater.ci.outcome import Outcome
from updater.ci.settings import Settings


def _cell(value: object) -> str:
    # "|" would end a table cell even inside <code>; a newline would end the row.
    return html.escape(str(value)).replace("|", "&#124;").replace("\n", " ")


def _code(value: object) -> str:
    # <code> rather than backticks: a value may itself contain a backtick.
    return f"<code>{_cell(value)}</code>"


def _link(url: str) -> str:
    if not url.startswith(("https://", "http://")):
        return _code(url)
    return f'<a href="{html.escape(url, quote=True)}">{html.escape(url)}</a>'


def describe(item: object) -> str:
    """One entry of the report's ``up_to_date``/``unmatched`` lists, however shaped."""
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


def _updates(outcome: Outcome) -> list[dict[str, Any]]:
    found = outcome.plan.get("images")
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


def _listed(outcome: Outcome, key: str) -> list[str]:
    found = outcome.plan.get(key)
    return [describe(item) for item in found] if isinstance(found, list) else []


def _strings(values: object) -> list[str]:
    return [str(value) for value in values] if isinstance(values, list) else []


def _current(lookup: dict[str, Any]) -> list[str]:
    """The references the repo has now, as tags (or digests) where the name is implied."""
    name = str(lookup.get("name", ""))
    found = lookup.get("current")
    refs = found if isinstance(found, list) else [found] if found else []
    return [str(ref)[len(name) + 1 :] if str(ref).startswith(name) else str(ref) for ref in refs]


def _lookup_result(lookup: dict[str, Any]) -> str:
    if lookup.get("error"):
        return f"error: {lookup['error']}"
    if lookup.get("chosen"):
        reason = f" ({lookup['reason']})" if lookup.get("reason") else ""
        return f"{lookup['chosen']}{reason}"
    return "no candidate tag"


def _title(settings: Settings | None) -> str:
    if settings is None:
        return "gitops-updater"
    return f"gitops-updater {settings.command} ({settings.mode or 'mode from the config'})"


def markdown(outcome: Outcome, settings: Settings | None) -> str:
    lines = [f"### {_cell(_title(settings))}", ""]
    if settings is not None and settings.repo:
        lines += [f"Config repo: {_code(settings.repo)}", ""]
    for error in outcome.errors:
        lines += [f"**Failed:** {_cell(error.text)}", ""]
    if outcome.lookups:
        lines += ["| Image | Current | Registry |", "| --- | --- | --- |"]
        for lookup in outcome.lookups:
            current = "<br>".join(_code(ref) for ref in _current(lookup))
            lines.append(
                f"| {_code(lookup.get('name', ''))} | {current} | {_cell(_lookup_result(lookup))} |"
            )
        lines.append("")
    updates = _updates(outcome)
    if updates:
        lines += ["| Image | Old | New | Files |", "| --- | --- | --- | --- |"]
        for update in updates:
            old = "<br>".join(_code(ref) for ref in _strings(update.get("old_refs")))
            files = "<br>".join(_code(path) for path in _strings(update.get("files")))
            new = _code(update.get("new_ref", ""))
            lines.append(f"| {_code(update.get('repository', ''))} | {old} | {new} | {files} |")
        lines.append("")
    elif not outcome.errors:
        lines += ["No change: every image is already up to date.", ""]
    for key, heading in (("up_to_date", "Already up to date"), ("unmatched", "Referenced nowhere")):
        found = _listed(outcome, key)
        if found:
            lines += [f"{heading}: " + ", ".join(_code(ref) for ref in found), ""]
    url = outcome.delivered("pull_request_url")
    if url:
        action = outcome.delivered("pull_request_action")
        lines += [f"Pull request: {_link(url)}" + (f" ({_cell(action)})" if action else ""), ""]
    sha = outcome.delivered("commit_sha")
    if sha:
        branch = outcome.delivered("branch")
        lines += [f"Commit: {_code(sha)}" + (f" on {_code(branch)}" if branch else ""), ""]
    return "\n".join(lines) + "\n"


def plain(outcome: Outcome, settings: Settings | None) -> str:
    repo = settings.repo if settings is not None else ""
    lines = [_title(settings) + (f": {repo}" if repo else "")]
    lines += [f"failed: {error.text}" for error in outcome.errors]
    for lookup in outcome.lookups:
        current = ", ".join(_current(lookup)) or "?"
        lines.append(f"  {lookup.get('name', '')} (now {current}): {_lookup_result(lookup)}")
    updates = _updates(outcome)
    for update in updates:
        old = ", ".join(_strings(update.get("old_refs")))
        files = ", ".join(_strings(update.get("files")))
        lines.append(f"  {old} -> {update.get('new_ref', '')}  ({files})")
    if not updates and not outcome.errors:
        lines.append("  no change: every image is already up to date")
    for key, heading in (("up_to_date", "already up to date"), ("unmatched", "referenced nowhere")):
        found = _listed(outcome, key)
        if found:
            lines.append(f"  {heading}: {', '.join(found)}")
    for key, heading in (
        ("pull_request_url", "pull/merge request"),
        ("commit_sha", "commit"),
        ("branch", "branch"),
    ):
        value = outcome.delivered(key)
        if value:
            lines.append(f"  {heading}: {value}")
    return "\n".join(lines) + "\n"
