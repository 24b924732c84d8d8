"""``set-image``: IMAGE arguments -> changes -> plan -> delivery -> report."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from updater.commands.digests import plan_locating_digests
from updater.deliver import DeliveryOptions, DeliveryRequest, DeliveryResult, as_mode, deliver
from updater.edit.model import Plan
from updater.edit.planner import plan
from updater.errors import NoMatchError, UsageError
from updater.output import show_result
from updater.reference import Change, InvalidReference, parse_change
from updater.report import one_line, plan_json
from updater.trailers import SET_IMAGE


@dataclass(frozen=True)
class SetImageRequest:
    repo: str
    paths: tuple[str, ...]
    mode: str
    images: tuple[str, ...]
    allow_no_match: bool = False
    as_json: bool = False
    aliases: tuple[str, ...] = ()
    delivery: dict[str, Any] = field(default_factory=dict)
    verify: Any = None  # updater.render.VerifyOptions for --verify-render, else None
    only_marked: bool = False


_ALIAS = re.compile(r"^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+$")


def parse_changes(
    images: tuple[str, ...], aliases: tuple[str, ...], *, only_marked: bool = False
) -> list[Change]:
    for alias in aliases:
        if not _ALIAS.match(alias):
            raise UsageError(f"--alias {alias!r}: expected NAMESPACE:NAME (a Flux ImagePolicy)")
    if only_marked and not aliases:
        raise UsageError("--only-marked needs --alias NS:NAME: the policy whose fields to set")
    changes = []
    for text in images:
        try:
            changes.append(parse_change(text, aliases=aliases, only_marked=only_marked))
        except InvalidReference as error:
            raise UsageError(str(error)) from None
    return changes


def resolve_from_registry(repository: str, tag: str) -> str:
    """Digest lookups through the registry client, imported only when a pinned digest
    needs one (it brings requests, which ``--dry-run`` otherwise never pays for)."""
    from updater.registry import resolve_digest

    return resolve_digest(repository, tag)


ADVICE = "run `updater scan` to list references, or pass --allow-no-match"


def make_planner(
    changes: list[Change], paths: tuple[str, ...], allow_no_match: bool, advice: str = ADVICE
) -> Any:
    """``advice`` ends the referenced-nowhere error: what the calling command offers."""

    def make_plan(root: Path) -> Plan:
        result = plan_locating_digests(
            lambda resolve: plan(root, changes, paths=paths, resolve_digest=resolve),
            resolve_from_registry,
        )
        if result.unmatched and not allow_no_match:
            names = ", ".join(str(c) for c in result.unmatched)
            where = f" under {', '.join(paths)}" if paths else ""
            left = _left_alone(result)
            raise NoMatchError(f"{names}: image referenced nowhere{where}{left} ({advice})")
        return result

    return make_plan


def _left_alone(result: Plan) -> str:
    """The references to an unmatched image that were passed over, and why: "nowhere"
    alone would hide a block scalar or a newTag that is a mapping."""
    import re

    from updater.reference import familiar_name

    names = {n for c in result.unmatched for n in (c.repository, familiar_name(c.repository))}
    # the name as a whole reference (``nginx`` must not find ``nginx-exporter``)
    spelled = re.compile(rf"(?<![\w./-])(?:{'|'.join(map(re.escape, sorted(names)))})(?=$|[:@\s])")
    notes = [note for note in result.skipped if spelled.search(note)]
    if not notes:
        return ""
    more = f" and {len(notes) - 2} more" if len(notes) > 2 else ""
    return f"; left alone: {'; '.join(one_line(n) for n in notes[:2])}{more}"


def run(request: SetImageRequest) -> int:
    changes = parse_changes(request.images, request.aliases, only_marked=request.only_marked)
    make_plan = make_planner(changes, request.paths, request.allow_no_match)
    checked = None
    if request.verify is not None:
        from updater.render import CheckedPlanner, RenderCheckError

        make_plan = checked = CheckedPlanner(make_plan, request.verify)
    try:
        result = deliver(
            DeliveryRequest(
                repo=request.repo,
                mode=as_mode(request.mode),
                paths=request.paths,
                options=DeliveryOptions.from_mapping(request.delivery),
                trigger=SET_IMAGE,
            ),
            make_plan,
        )
    except Exception as error:
        if checked is not None and isinstance(error, RenderCheckError):
            print_refusal(error, as_json=request.as_json)
        raise
    print_result(result, as_json=request.as_json, checked=checked)
    return 0


def print_refusal(error: Any, *, as_json: bool) -> None:
    """A failed render check shows the rendered diff (with --json, the error's report
    carries the render results instead)."""
    if not as_json:
        click.echo(error.details, err=True, nl=False)


def print_result(result: DeliveryResult, *, as_json: bool, checked: Any = None) -> None:
    verification = checked.verification if checked is not None else None
    if as_json:
        report = plan_json(result.plan)
        if verification is not None:
            report["render"] = verification.as_json()
        report["delivery"] = result.as_json()
        click.echo(json.dumps(report, indent=2))
        return
    show_result(result, verification=verification)
