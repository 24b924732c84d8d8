"""Render a plan for people and programs: unified diff, JSON, tables, commit messages."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from updater.edit.model import Plan, Record, Reference, Skipped
from updater.errors import escaped
from updater.trailers import (
    SET_IMAGE,
    BotTrailers,
    ImageChange,
    ImageRename,
    Trigger,
    format_trailers,
)


def _lines(text: str) -> list[str]:
    """Lines as git and patch see them, ended by ``\n`` alone: ``str.splitlines`` also
    ends one at a CR (a CR-only file), NEL or U+2028, so the diff would not apply."""
    return _NEWLINE.findall(text)


_NEWLINE = re.compile(r"[^\n]*\n|[^\n]+\Z")
# Controls a terminal would obey inside a line of the file (a CR-only file's CRs, a
# form feed): shown as escapes there; tabs and the line's own CRLF are the file's layout.
_IN_LINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _on_terminal(line: str) -> str:
    body, end = (line[:-2], "\r\n") if line.endswith("\r\n") else (line.rstrip("\n"), "")
    end = end or line[len(body) :]
    return _IN_LINE.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), body) + end


def render_diff(plan: Plan, *, color: bool = False) -> str:
    chunks: list[str] = []
    for edit in plan.edits:
        lines = difflib.unified_diff(
            _lines(edit.old_text),
            _lines(edit.new_text),
            fromfile=f"a/{one_line(edit.path)}",
            tofile=f"b/{one_line(edit.path)}",
        )
        for line in lines:
            if color:
                line = _on_terminal(line)
            if not line.endswith("\n"):
                line += "\n\\ No newline at end of file\n"
            if color and line.startswith(("+", "-")) and not line.startswith(("+++", "---")):
                line = (
                    ("\x1b[32m" if line[0] == "+" else "\x1b[31m") + line.rstrip("\n") + "\x1b[0m\n"
                )
            chunks.append(line)
    return "".join(chunks)


# --------------------------------------------------------------------------- delivery texts
# Commit messages and PR/MR titles and bodies, all rendered from the plan's records.
# Keys, file names and values come from the config repo (and tags from a registry):
# they are text to show, never markup. In a PR/MR body each one sits in a code span
# (no mention, link, image or HTML can form there); in a commit message each is one
# line that never starts a line, and the trailers (updater.trailers) are the bot's own
# last paragraph.

DEFAULT_MESSAGE = "Update {summary}\n\n{details}"
SKIP_CI_MARKER = "[skip ci]"  # honoured by GitHub Actions and GitLab CI alike
PROPOSAL_MARKER = "gitops-updater"
# GitHub refuses a PR body over 65,536 characters (GitLab's limit is far higher); the
# body is summarised to stay under this, marker included.
BODY_LIMIT = 60_000


def one_line(text: str) -> str:
    """``text`` with every control character (newlines included) shown escaped, so that
    repo text can never begin a line of its own, nor reach a terminal as a command."""
    return escaped(text)


def template_literal(text: str) -> str:
    """``text`` as literal text inside a message template: one line, braces doubled, and
    no ``\\n`` left for the template's newline escape to turn into a line break (it is
    written ``\\x0a``)."""
    return one_line(text).replace("\\n", "\\x0a").replace("{", "{{").replace("}", "}}")


def code(text: str) -> str:
    """A Markdown code span showing ``text`` literally, in a table cell too: the fence is
    longer than any backtick run inside, and ``|`` is escaped (GFM tables)."""
    text = one_line(text).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _version(ref: str) -> str:
    from updater.reference import split_reference

    parsed = split_reference(ref)
    if parsed.tag and parsed.digest:
        return f"{parsed.tag}@{parsed.digest[:19]}"
    return parsed.tag or (parsed.digest or ref)[:19]


@dataclass(frozen=True)
class _ImageLine:
    name: str  # the image as the plan found it, familiar form
    old: str  # its old versions, comma-separated
    new: str  # its new version; with the new name first when the change renames it
    files: tuple[str, ...]
    renamed: bool  # a version alone would read as "1.25 -> 1.25"


def _image_lines(plan: Plan) -> list[_ImageLine]:
    from updater.reference import familiar_name, split_reference

    rows = []
    for update in plan.image_updates():
        old = ", ".join(dict.fromkeys(_version(r) for r in update.old_refs))
        new = _version(update.new_ref)
        repository = split_reference(update.new_ref).repository
        renamed = repository != update.repository
        if renamed:
            new = f"{familiar_name(repository)} {new}"
        rows.append(_ImageLine(familiar_name(update.repository), old, new, update.files, renamed))
    return rows


def message_variables(plan: Plan, *, base: str | None = None) -> dict[str, str]:
    """The commit message template's variables. ``{count}`` is the number of changed
    values (what the commit changes, one per line of ``{details}``); ``{image_count}``
    and ``{file_count}`` count images and files."""
    rows = _image_lines(plan)
    files = tuple(dict.fromkeys(e.path for e in plan.edits))
    details = "\n".join(
        one_line(f"- {r.file}:{r.line} {r.yaml_path}: {r.old} -> {r.new}") for r in plan.records
    )
    values = {
        "summary": ", ".join(f"{r.name} {r.old} -> {r.new}" for r in rows),
        "images": ", ".join(r.name for r in rows),
        "old": ", ".join(r.old for r in rows),
        "new": ", ".join(r.new for r in rows),
        "files": ", ".join(files),
        "count": str(len(plan.records)),
        "image_count": str(len(rows)),
        "file_count": str(len(files)),
        "base": base or "",
    }
    return {**{k: one_line(v) for k, v in values.items()}, "details": details}


def image_changes(plan: Plan) -> tuple[ImageChange, ...]:
    """One :class:`ImageChange` per changed reference (site), for the trailers. A site
    whose tag and digest are separate values (kustomize ``newTag`` and ``digest``, Helm
    ``tag`` and ``digest``) is one change, at the line of its first changed value; its
    versions are the whole reference's, digests in full."""
    from updater.reference import split_reference

    def version(ref: str) -> str:
        parsed = split_reference(ref)
        return "@".join(part for part in (parsed.tag, parsed.digest) if part)

    return tuple(
        ImageChange(r.repository, version(r.old_ref), version(r.new_ref), r.file, r.line)
        for r in _site_records(plan)
    )


def image_renames(plan: Plan) -> tuple[ImageRename, ...]:
    """One :class:`ImageRename` per changed reference that deploys another repository
    after the change (with or without a new version), at the line of its first changed
    value, as on its ``Image-Updated`` line."""
    from updater.reference import InvalidReference, normalise_name, split_reference

    def repository(ref: str) -> str:
        try:
            return normalise_name(split_reference(ref).name) if ref else ""
        except InvalidReference:
            return ""

    renames = []
    for r in _site_records(plan):
        old, new = repository(r.old_ref), repository(r.new_ref)
        if old and new and old != new:
            renames.append(ImageRename(r.repository, old, new, r.file, r.line))
    return tuple(renames)


def _site_records(plan: Plan) -> list[Record]:
    """The first record of each changed reference (site)."""
    first: dict[tuple[str, ...], Record] = {}
    for r in plan.records:
        whole = r.old == r.old_ref or r.new == r.new_ref
        site = r.yaml_path if whole else r.yaml_path.rpartition(".")[0]
        first.setdefault((r.file, site, r.repository, r.old_ref, r.new_ref), r)
    return list(first.values())


def commit_message(
    plan: Plan,
    template: str | None = None,
    *,
    base: str | None = None,
    skip_ci: bool = False,
    trigger: Trigger = SET_IMAGE,
    run: str = "",
    source: str = "--message",
) -> str:
    """The commit message: ``template`` with {summary} {images} {old} {new} {files} {count}
    {image_count} {file_count} {base} {details}; ``skip_ci`` appends ``[skip ci]`` to the
    subject line. It ends with the bot's own trailer paragraph (``updater.trailers``: one
    ``Image-Updated`` per changed reference, the ``trigger`` and the ``run``), so no line
    of the template or of the repo's text is ever read as a trailer (``Signed-off-by:``,
    ``Co-authored-by:``...); ``--signoff`` adds git's to that paragraph."""
    variables = message_variables(plan, base=base)
    try:
        text = (template or DEFAULT_MESSAGE).replace("\\n", "\n").format_map(variables)
    except (KeyError, IndexError, ValueError) as error:
        from updater.errors import UsageError

        known = " ".join("{" + k + "}" for k in variables)
        raise UsageError(f"{source}: bad message template ({error}); variables: {known}") from None
    subject, sep, rest = text.strip("\n").partition("\n")
    if skip_ci and SKIP_CI_MARKER not in text:
        subject = f"{subject} {SKIP_CI_MARKER}"
    body = f"{subject}{sep}{rest}".rstrip()
    trailers = format_trailers(
        BotTrailers(image_changes(plan), str(trigger), run, image_renames(plan))
    )
    return f"{body}\n\n{trailers}\n"


def pull_request_title(plan: Plan) -> str:
    rows = _image_lines(plan)
    if len(rows) == 1:
        title = f"Update {rows[0].name} to {rows[0].new}"
    else:
        title = f"Update {len(rows)} images: " + ", ".join(
            f"{r.name} {'-> ' if r.renamed else ''}{r.new}" for r in rows
        )
    title = one_line(title)
    return title if len(title) <= 200 else title[:199] + "…"


def _marker(images: tuple[str, ...], base: str) -> str:
    import json

    data = json.dumps({"images": sorted(images), "base": base}, sort_keys=True)
    # Nothing inside may close the HTML comment early.
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"<!-- {PROPOSAL_MARKER}: {data} -->"


def pull_request_body(
    plan: Plan, *, base: str, images: tuple[str, ...] = (), limit: int = BODY_LIMIT
) -> str:
    """Markdown: a table of image, old -> new and files, then every changed value. The
    hidden marker names the image set so a later run can tell which PRs it supersedes.
    Over ``limit`` characters the changed values, then the table, are summarised."""
    head = [f"This updates container images in {code(base)}.", ""]
    table = ["| Image | Old | New | Files |", "| --- | --- | --- | --- |"]
    for row in _image_lines(plan):
        shown = "<br>".join(code(f) for f in row.files)
        table.append(f"| {code(row.name)} | {code(row.old)} | {code(row.new)} | {shown} |")
    values = [
        f"- {code(f'{r.file}:{r.line}')} {code(r.yaml_path)}: {code(r.old)} -> {code(r.new)}"
        for r in plan.records
    ]
    from updater.render import markdown_section  # what will deploy, when --verify-render ran

    rendered = list(markdown_section(plan))
    tail = [
        *rendered,
        *([""] if rendered else []),
        _marker(images, base),
        "*Opened by gitops-updater. Rerunning it updates this pull request.*",
    ]
    file_count = len({e.path for e in plan.edits})
    counted = f"{len(plan.records)} changed values in {file_count} files"

    def render(rows: list[str], details: list[str]) -> str:
        return "\n".join([*head, *rows, "", *details, *tail]) + "\n"

    full = ["<details><summary>Changed values</summary>", "", *values, "", "</details>", ""]
    text = render(table, full)
    if len(text) <= limit:
        return text
    short = [f"{counted}: too many to list here; the commit lists every one.", ""]
    text = render(table, short)
    if len(text) <= limit:
        return text
    kept = list(table)
    while len(render([*kept, "", "… and more images"], short)) > limit and len(kept) > 2:
        kept.pop()
    more = len(table) - len(kept)
    return render([*kept, "", f"… and {more} more images (see the commit)."], short)


def proposal_images(body: str) -> tuple[str, ...] | None:
    """The image set recorded in a PR/MR body by :func:`pull_request_body`."""
    import json

    match = re.search(rf"<!-- {PROPOSAL_MARKER}: (\{{.*?\}}) -->", body or "")
    if not match:
        return None
    try:
        data = json.loads(match.group(1))
    except ValueError:
        return None
    images = data.get("images")
    return tuple(images) if isinstance(images, list) else None


def reference_json(reference: Reference) -> dict[str, Any]:
    return {
        "file": reference.file,
        "line": reference.line,
        "kind": reference.kind,
        "image": reference.image or None,
        "repository": reference.repository,
        "tag": reference.tag,
        "digest": reference.digest,
        "yaml_path": reference.yaml_path,
        "policy": reference.policy,
    }


def _shown_image(reference: Reference) -> str:
    """The image, and for a setter marker its policy; a lone marked tag or digest whose
    image nothing in the file names shows the policy and the part."""
    if reference.policy is None:
        return reference.image
    if reference.image:
        return f"{reference.image} (policy {reference.policy})"
    part = f"tag {reference.tag}" if reference.tag else f"digest {reference.digest or ''}"
    return f"(policy {reference.policy}) {part}".rstrip()


def scan_table(sites: list[Reference], skips: list[Skipped]) -> str:
    rows = [(f"{s.file}:{s.line}", s.kind, _shown_image(s)) for s in sites]
    rows += [
        # line 0: a whole file or directory passed over
        (
            f"{s.file}:{s.line}" if s.line else s.file,
            "skipped",
            f"{s.reason}: {s.value}".rstrip(": "),
        )
        for s in skips
    ]
    if not rows:
        return "no image references found\n"
    rows = [(one_line(a), b, one_line(c)) for a, b, c in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    header = ("FILE:LINE", "KIND", "IMAGE")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=False)]
    lines = [f"{header[0]:<{widths[0]}}  {header[1]:<{widths[1]}}  {header[2]}"]
    lines += [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}" for a, b, c in rows]
    return "\n".join(lines) + "\n"


def record_json(record: Record) -> dict[str, Any]:
    return {
        "file": record.file,
        "line": record.line,
        "column": record.column,
        "yaml_path": record.yaml_path,
        "kind": record.kind,
        "repository": record.repository,
        "old": record.old,
        "new": record.new,
        "old_ref": record.old_ref,
        "new_ref": record.new_ref,
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "changed": plan.changed,
        "changes": [record_json(r) for r in plan.records],
        "images": [
            {
                "repository": u.repository,
                "old_refs": list(u.old_refs),
                "new_ref": u.new_ref,
                "files": list(u.files),
            }
            for u in plan.image_updates()
        ],
        "files": [e.path for e in plan.edits],
        "unmatched": [str(c) for c in plan.unmatched],
        "up_to_date": [str(c) for c in plan.up_to_date],
    }


def summary(plan: Plan) -> str:
    """One line per image and spelling for people: old -> new and how many files; or
    why nothing changed."""
    files: dict[tuple[str, str], set[str]] = {}
    for record in plan.records:
        files.setdefault((record.old_ref, record.new_ref), set()).add(record.file)
    lines = [
        f"{old or '(new entry)'} -> {new} ({len(names)} file{'s' if len(names) != 1 else ''})"
        for (old, new), names in files.items()
    ]
    lines += [f"{c}: already up to date" for c in plan.up_to_date]
    return "\n".join(one_line(line) for line in lines)
