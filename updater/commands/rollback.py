"""``rollback``: IMAGE back to an earlier version, through set-image's edit engine and
delivery (every file kind, every mode), optionally with a hold in the same commit so the
next scheduled poll does not undo it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import click

from updater.commands import set_image
from updater.commands.hold import (
    HoldRequest,
    check_until,
    hold_edit,
    hold_fields,
    normalised_paths,
    repository_of,
)
from updater.config import DEFAULT_NAME
from updater.deliver import DeliveryOptions, DeliveryRequest, as_mode, deliver
from updater.edit.model import Plan
from updater.errors import EditError, UsageError
from updater.reference import Change, InvalidReference, familiar_name, parse
from updater.report import template_literal
from updater.trailers import trigger

DEFAULT_MESSAGE = "Roll back {summary}{why}\n\n{{details}}"


@dataclass(frozen=True)
class RollbackRequest:
    repo: str
    image: str
    paths: tuple[str, ...] = ()
    mode: str = "dry-run"
    to: str | None = None
    steps: int | None = None
    hold: bool = False
    until: str | None = None
    reason: str | None = None
    by: str | None = None
    as_json: bool = False
    delivery: dict[str, Any] = field(default_factory=dict)


def parse_target(image: str, to: str) -> tuple[str | None, str | None]:
    """(tag, digest) of ``--to``: TAG, DIGEST (``sha256:...``) or TAG@DIGEST."""
    joined = f"{image}@{to}" if ":" in to.partition("@")[0] else f"{image}:{to}"
    try:
        ref = parse(joined)
    except InvalidReference as error:
        reason = str(error).rpartition(": ")[2]
        raise UsageError(f"--to {to!r}: not a tag or digest ({reason})") from None
    return ref.tag, ref.digest


def previous_version(
    root: Path, repository: str, paths: tuple[str, ...], steps: int
) -> tuple[str | None, str | None]:
    """The version IMAGE had before the ``steps``-th newest commit that changed it
    (under ``paths``), from the repo's history."""
    from updater.history import Query, Walker
    from updater.history.repo import HistoryRepo

    shown = familiar_name(repository)
    where = f" under {', '.join(paths)}" if paths else ""
    walker = Walker(HistoryRepo.open(root), Query(repository, paths, lazy=True))
    seen = 0
    for commit, entries in walker.changes():
        moved = [e for e in entries if e.new is not None]
        if not moved:
            continue  # only taken out somewhere: not a version it ran
        seen += 1
        if seen < steps:
            continue
        olds = sorted({e.old for e in moved if e.old is not None})
        if not olds:
            raise UsageError(
                f"{shown}: commit {commit.sha[:12]} added it{where}; there is no earlier"
                " version to roll back to (give --to)"
            )
        if len(olds) > 1:
            raise UsageError(
                f"{shown}: commit {commit.sha[:12]} changed it from several versions"
                f" ({', '.join(olds)}){where}; narrow it with --path, or give --to"
            )
        if not olds[0]:
            raise UsageError(f"{shown}: before commit {commit.sha[:12]} it had no tag; give --to")
        return parse_target(shown, olds[0])
    ended = (
        f"; history ends at {walker.truncated_at[:12]} (a shallow clone)"
        if walker.truncated_at
        else ""
    )
    if seen == 0:
        raise UsageError(f"{shown}: no history{where}: no commit changed its version{ended}")
    raise UsageError(
        f"{shown}: --steps {steps} goes back further than its history{where}"
        f" ({seen} change{'s' if seen > 1 else ''}){ended}"
    )


def _check(request: RollbackRequest) -> str:
    repository = repository_of(request.image)
    if request.to is not None and request.steps is not None:
        raise UsageError("--to and --steps: give one")
    if request.steps is not None and request.steps < 1:
        raise UsageError("--steps must be 1 or more")
    if request.until is not None and not request.hold:
        raise UsageError("--until needs --hold")
    check_until(request.until)
    normalised_paths(request.paths)
    return repository


def make_planner(request: RollbackRequest, repository: str, spelled: str) -> Any:
    target = parse_target(spelled, request.to) if request.to is not None else None

    def make_plan(root: Path) -> Plan:
        if target is None:
            from updater.edit.walk import candidates

            next(candidates(root, request.paths), None)  # a bad --path first, as for --to
        tag, digest = target or previous_version(
            root, repository, request.paths, request.steps or 1
        )
        change = Change(repository=repository, spelled=spelled, tag=tag, digest=digest)
        plan: Plan = set_image.make_planner(
            [change], request.paths, False, "run `updater scan` to list references"
        )(root)
        strays = sorted({r.file for r in plan.records if r.repository != repository})
        if strays:  # the engine never does this; a rollback must never move another image
            raise EditError(f"the rollback would change other images in {', '.join(strays)}")
        if request.hold:
            hold = HoldRequest(
                repo=request.repo,
                image=request.image,
                paths=request.paths,
                until=request.until,
                reason=request.reason,
                by=request.by,
            )
            edit = hold_edit(root, hold_fields(hold, tag or digest))
            plan = replace(plan, edits=(*plan.edits, edit))
        return plan

    return make_plan


def run(request: RollbackRequest) -> int:
    repository = _check(request)
    spelled = parse(request.image).name
    options = dict(request.delivery)
    why = f": {template_literal(request.reason)}" if request.reason else ""
    options.setdefault("message", DEFAULT_MESSAGE.format(summary="{summary}", why=why))
    paths = request.paths
    if request.hold and paths:  # a sparse clone must hold the config too
        paths = (*paths, DEFAULT_NAME)
    result = deliver(
        DeliveryRequest(
            repo=request.repo,
            mode=as_mode(request.mode),
            paths=paths,
            options=DeliveryOptions.from_mapping(options),
            trigger=trigger(
                "rollback",
                ("to", request.to),
                ("steps", None if request.steps is None else str(request.steps)),
            ),
        ),
        make_planner(request, repository, spelled),
    )
    set_image.print_result(result, as_json=request.as_json)
    if request.hold and not request.as_json:
        edits = [e for e in result.plan.edits if e.path == DEFAULT_NAME and not e.records]
        if edits:
            from updater.config import parse_config

            hold = parse_config(edits[0].new_text, DEFAULT_NAME, need_images=False).holds[-1]
            click.echo(f"{request.image}: {hold.describe()} (written to {DEFAULT_NAME})", err=True)
    return 0
