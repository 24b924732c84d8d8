"""What the run did, for people: a Markdown summary (GitHub's step summary) and plain
lines for a job log. Both are rendered from the JSON report alone."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from updater.ci.invoke import CliResult
from updater.ci.settings import CONFIG_MODE, Settings

# GitHub renders the step summary as Markdown, and Markdown would act on text from the
# repo (a file named "[x](https://evil)" is a link, even inside <code>). So every block is
# an HTML block (a line that starts with <p>, <table> or <h3>, ended only by a blank
# line): Markdown leaves its content alone, and html.escape() is then all the escaping
# it needs. Line breaks in values become spaces, so no value can end a block early.
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")
# "@name" at the start of a word is a mention; a zero-width space after the @ keeps it
# text (as Renovate does). "api@sha256:..." is no mention and is left alone.
_MENTION = re.compile(r"(?<![\w@])@(?=[A-Za-z0-9])")
# Terminal control characters (an ANSI escape could rewrite a job log line).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape(value: object) -> str:
    return html.escape(_LINE_BREAKS.sub(" ", str(value)), quote=True)


def _text(value: object) -> str:
    """Prose from the repo or the report: escaped, no mentions."""
    return _MENTION.sub("@&#8203;", _escape(value))


def _code(value: object) -> str:
    # GitHub never links mentions inside <code>; a value is shown exactly as it is.
    return f"<code>{_escape(value)}</code>"


def _link(url: str) -> str:
    if not url.startswith(("https://", "http://")):
        return _code(url)
    return f'<a href="{_escape(url)}">{_escape(url)}</a>'


def _table(headings: list[str], rows: list[list[str]]) -> list[str]:
    head = "".join(f"<th>{heading}</th>" for heading in headings)
    lines = ["<table>", f"<thead><tr>{head}</tr></thead>", "<tbody>"]
    lines += ["<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows]
    return [*lines, "</tbody>", "</table>", ""]


def printable(text: str) -> str:
    """Text for a job log: control characters (other than newline and tab) replaced."""
    return _CONTROL.sub("\ufffd", text)


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


def _updates(result: CliResult) -> list[dict[str, Any]]:
    found = result.plan.get("images")
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


def _listed(result: CliResult, key: str) -> list[str]:
    found = result.plan.get(key)
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


def _rendered(result: CliResult) -> list[str]:
    """``--verify-render``'s lines: what deploys, what was not verified, what failed (the
    report's ``render``, or the error's when the check refused the change)."""
    render = result.report.get("render")
    error = result.report.get("error")
    if not isinstance(render, dict) and isinstance(error, dict):
        render = error.get("render")
    if not isinstance(render, dict):
        return []
    return _strings(render.get("summary")) + _strings(render.get("failures"))


def _title(settings: Settings | None) -> str:
    if settings is None:
        return "gitops-updater"
    modes = {CONFIG_MODE: "mode from the config", "": "mode from args"}
    mode = modes.get(settings.mode, settings.mode)
    return f"gitops-updater {settings.command} ({mode})"


def markdown(result: CliResult, settings: Settings | None) -> str:
    """The step summary: HTML blocks only (see above), each followed by a blank line."""
    lines = [f"<h3>{_text(_title(settings))}</h3>", ""]
    if settings is not None and settings.repo:
        lines += [f"<p>Config repo: {_code(settings.repo)}</p>", ""]
    for error in result.errors:
        lines += [f"<p><strong>Failed:</strong> {_text(error.text)}</p>", ""]
    if result.lookups:
        rows = [
            [
                _code(lookup.get("name", "")),
                "<br>".join(_code(ref) for ref in _current(lookup)),
                _text(_lookup_result(lookup)),
            ]
            for lookup in result.lookups
        ]
        lines += _table(["Image", "Current", "Registry"], rows)
    updates = _updates(result)
    if updates:
        rows = [
            [
                _code(update.get("repository", "")),
                "<br>".join(_code(ref) for ref in _strings(update.get("old_refs"))),
                _code(update.get("new_ref", "")),
                "<br>".join(_code(path) for path in _strings(update.get("files"))),
            ]
            for update in updates
        ]
        lines += _table(["Image", "Old", "New", "Files"], rows)
    elif not result.errors:
        lines += ["<p>No change: every image is already up to date.</p>", ""]
    for key, heading in (("up_to_date", "Already up to date"), ("unmatched", "Referenced nowhere")):
        found = _listed(result, key)
        if found:
            lines += [f"<p>{heading}: " + ", ".join(_code(ref) for ref in found) + "</p>", ""]
    rendered = _rendered(result)
    if rendered:
        items = "".join(f"<li>{_code(line)}</li>" for line in rendered)
        lines += [f"<p>Rendered:</p><ul>{items}</ul>", ""]
    url = result.delivered("pull_request_url")
    if url:
        action = result.delivered("pull_request_action")
        suffix = f" ({_text(action)})" if action else ""
        lines += [f"<p>Pull request: {_link(url)}{suffix}</p>", ""]
    sha = result.delivered("commit_sha")
    if sha:
        branch = result.delivered("branch")
        lines += [
            f"<p>Commit: {_code(sha)}" + (f" on {_code(branch)}" if branch else "") + "</p>",
            "",
        ]
    return printable("\n".join(lines) + "\n")


def plain(result: CliResult, settings: Settings | None) -> str:
    repo = settings.repo if settings is not None else ""
    lines = [_title(settings) + (f": {repo}" if repo else "")]
    lines += [f"failed: {error.text}" for error in result.errors]
    for lookup in result.lookups:
        current = ", ".join(_current(lookup)) or "?"
        lines.append(f"  {lookup.get('name', '')} (now {current}): {_lookup_result(lookup)}")
    updates = _updates(result)
    for update in updates:
        old = ", ".join(_strings(update.get("old_refs")))
        files = ", ".join(_strings(update.get("files")))
        lines.append(f"  {old} -> {update.get('new_ref', '')}  ({files})")
    if not updates and not result.errors:
        lines.append("  no change: every image is already up to date")
    for key, heading in (("up_to_date", "already up to date"), ("unmatched", "referenced nowhere")):
        found = _listed(result, key)
        if found:
            lines.append(f"  {heading}: {', '.join(found)}")
    lines += [f"  rendered: {line}" for line in _rendered(result)]
    for key, heading in (
        ("pull_request_url", "pull/merge request"),
        ("commit_sha", "commit"),
        ("branch", "branch"),
    ):
        value = result.delivered(key)
        if value:
            lines.append(f"  {heading}: {value}")
    return printable("\n".join(lines) + "\n")
