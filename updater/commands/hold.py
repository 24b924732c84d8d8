"""``hold list|add|remove``: manage the holds of ``.image-updater.yaml`` without
hand-editing it; every change is a byte-minimal edit delivered like set-image's."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from updater.config import DEFAULT_NAME, ConfigError, PollConfig, parse_config
from updater.deliver import DeliveryOptions, DeliveryRequest, as_mode, deliver
from updater.edit.model import FileEdit, Plan
from updater.errors import NoMatchError, UsageError
from updater.hold_edit import add_hold, checked, remove_holds
from updater.holds import Hold, now_text
from updater.policy import InvalidConstraint, parse_constraint
from updater.reference import InvalidReference, familiar_name, parse
from updater.report import one_line, template_literal
from updater.trailers import Trigger, trigger

HOLD_MODES = ("dry-run", "write", "commit", "push")


@dataclass(frozen=True)
class HoldRequest:
    repo: str
    image: str
    paths: tuple[str, ...] = ()
    mode: str = "write"
    at: str | None = None
    until: str | None = None
    reason: str | None = None
    by: str | None = None
    as_json: bool = False
    delivery: dict[str, Any] = field(default_factory=dict)


def repository_of(image: str, what: str = "IMAGE") -> str:
    try:
        ref = parse(image)
    except InvalidReference as error:
        raise UsageError(f"{what} {image!r}: {error}") from None
    if ref.tag or ref.digest:
        raise UsageError(f"{what} {image!r}: give the repository without tag or digest")
    return ref.repository


def check_until(until: str | None) -> None:
    if until is None:
        return
    try:
        parse_constraint(until)
    except InvalidConstraint as error:
        raise UsageError(f"--until {until!r}: bad semver range: {error}") from None


def default_by() -> str | None:
    """Who holds: the CI's actor when there is one, else the local user."""
    for name in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "USER"):
        if os.environ.get(name):
            return os.environ[name]
    return None


def read_text(root: Path) -> tuple[str, str]:
    """(text, shown name) of the config at ``root``, exactly as stored."""
    path = root / DEFAULT_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            "no such file: holds live there, where poll and promote read them"
            " (create it, e.g. with 'holds: []')",
            file=DEFAULT_NAME,
        ) from None
    try:
        return raw.decode("utf-8"), DEFAULT_NAME
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8", file=DEFAULT_NAME) from None


def normalised_paths(paths: Sequence[str]) -> tuple[str, ...]:
    out = []
    for path in paths:
        if Path(path).is_absolute() or ".." in Path(path).parts:
            raise UsageError(f"--path {path!r}: must be relative, inside the repo")
        out.append(path.strip("/") or ".")
    return tuple(out)


def hold_fields(request: HoldRequest, at: str | None) -> dict[str, Any]:
    return {
        "image": request.image,
        "paths": list(normalised_paths(request.paths)),
        "at": at,
        "until": request.until,
        "reason": one_line(request.reason) if request.reason else None,
        "by": one_line(by) if (by := request.by or default_by()) else None,
        "since": now_text(),
    }


def expected_hold(fields: dict[str, Any]) -> Hold:
    until = fields.get("until")
    return Hold(
        image=fields["image"],
        repository=repository_of(fields["image"]),
        paths=tuple(fields.get("paths") or ()),
        at=fields.get("at"),
        until=parse_constraint(until) if until else None,
        reason=fields.get("reason"),
        by=fields.get("by"),
        since=fields.get("since"),
    )


def hold_edit(root: Path, fields: dict[str, Any]) -> FileEdit:
    """The edit of ``root``'s config adding the hold ``fields``, checked; refuses a hold
    that one already in the file covers the same way."""
    text, shown = read_text(root)
    config = parse_config(text, shown, need_images=False)
    hold = expected_hold(fields)
    for other in config.holds:
        if other.repository == hold.repository and set(other.paths) == set(hold.paths):
            raise UsageError(
                f"{shown}:{other.line}: {hold.image} is already held there"
                " (updater hold remove it first)"
            )
    new = add_hold(text, shown, fields)
    return FileEdit(shown, text, checked(text, new, shown, config, (*config.holds, hold)), ())


def _matching(config: PollConfig, repository: str, paths: tuple[str, ...]) -> list[int]:
    return [
        index
        for index, hold in enumerate(config.holds)
        if hold.repository == repository and (not paths or set(hold.paths) == set(paths))
    ]


def _delivered(
    request: HoldRequest,
    make_plan: Callable[[Path], Plan],
    subject: str,
    why: Trigger,
    paths: tuple[str, ...] = (DEFAULT_NAME,),
) -> dict[str, Any]:
    """Deliver the config edit; ``paths``: what a sparse clone needs (() for all)."""
    if request.mode not in HOLD_MODES:
        raise UsageError(f"--{request.mode}: hold takes --dry-run, --write, --commit or --push")
    options = DeliveryOptions.from_mapping(
        {"message": template_literal(subject), **request.delivery}
    )
    result = deliver(
        DeliveryRequest(
            repo=request.repo, mode=as_mode(request.mode), paths=paths, options=options, trigger=why
        ),
        make_plan,
    )
    if result.mode == "dry-run":
        if not request.as_json:  # the JSON report is all of stdout
            from updater.output import wants_color
            from updater.report import render_diff

            click.echo(render_diff(result.plan, color=wants_color()), nl=False)
    elif line := result.describe():
        click.echo(line, err=True)
    return result.as_json()


def _at_from_scan(root: Path, repository: str, paths: tuple[str, ...]) -> str | None:
    """The one version the image is at under ``paths``, for ``at:`` when not given."""
    from updater.edit.walk import scan_repo

    found = {
        (r.tag, r.digest)
        for r in scan_repo(root, paths, workers=1).references
        if r.repository == repository
    }
    if len(found) != 1:
        return None
    tag, digest = found.pop()
    return tag or digest


def add(request: HoldRequest) -> int:
    repository = repository_of(request.image)
    check_until(request.until)
    normalised_paths(request.paths)
    seen: dict[str, Any] = {}

    def make_plan(root: Path) -> Plan:
        at = request.at or _at_from_scan(root, repository, normalised_paths(request.paths))
        fields = hold_fields(request, at)
        seen.update(fields)
        return Plan(root=root, changes=(), edits=(hold_edit(root, fields),))

    where = f" in {', '.join(request.paths)}" if request.paths else ""
    subject = f"Hold {familiar_name(repository)}{where}"
    if request.reason:
        subject += f": {request.reason}"
    # --at's default is found by scanning the held paths: a sparse clone must hold them
    needed = (DEFAULT_NAME, *request.paths) if request.paths else ()
    why = trigger("hold add", ("image", repository))
    delivery = _delivered(
        request, make_plan, subject, why, (DEFAULT_NAME,) if request.at is not None else needed
    )
    if request.as_json:
        click.echo(json.dumps({"hold": _shown(seen), "delivery": delivery}, indent=2))
    else:
        click.echo(f"{request.image}: {expected_hold(seen).describe()}", err=True)
    return 0


def _shown(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v not in (None, [])}


def remove(request: HoldRequest) -> int:
    repository = repository_of(request.image)
    paths = normalised_paths(request.paths)
    removed: list[Hold] = []

    def make_plan(root: Path) -> Plan:
        text, shown = read_text(root)
        config = parse_config(text, shown, need_images=False)
        indexes = _matching(config, repository, paths)
        if not indexes:
            where = f" with paths {', '.join(paths)}" if paths else ""
            raise NoMatchError(f"no hold of {request.image}{where}", file=shown)
        new = remove_holds(text, shown, indexes)
        kept = tuple(h for n, h in enumerate(config.holds) if n not in indexes)
        removed[:] = [config.holds[n] for n in indexes]
        edit = FileEdit(shown, text, checked(text, new, shown, config, kept), ())
        return Plan(root=root, changes=(), edits=(edit,))

    subject = f"Release the hold of {familiar_name(repository)}"
    delivery = _delivered(
        request, make_plan, subject, trigger("hold remove", ("image", repository))
    )
    if request.as_json:
        shown = [h.as_json() for h in removed]
        click.echo(json.dumps({"removed": shown, "delivery": delivery}, indent=2))
    else:
        done = "would be removed" if request.mode == "dry-run" else "removed"
        for hold in removed:
            where = f" in {', '.join(hold.paths)}" if hold.paths else ""
            click.echo(f"{hold.image}{where}: hold {done} (was line {hold.line})", err=True)
    return 0


def list_holds(repo: str, image: str | None, *, as_json: bool) -> int:
    root = Path(repo)
    if not root.is_dir():
        raise UsageError(f"--repo {repo}: not a directory (hold list reads a local checkout)")
    text, shown = read_text(root)
    holds = parse_config(text, shown, need_images=False).holds
    if image is not None:
        repository = repository_of(image)
        holds = tuple(h for h in holds if h.repository == repository)
    if as_json:
        click.echo(json.dumps([h.as_json() for h in holds], indent=2))
        return 0
    for hold in holds:
        where = f"in {', '.join(hold.paths)}" if hold.paths else "everywhere"
        since = f"; since {hold.since}" if hold.since else ""
        by = f" by {hold.by}" if hold.by else ""
        click.echo(f"{shown}:{hold.line}: {hold.image} {where}: {hold.describe()}{by}{since}")
    if not holds:
        click.echo("no holds", err=True)
    return 0
