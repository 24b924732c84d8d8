"""``choose``: which of these tags would the policy pick? Offline, through the same
``updater.policy.choose`` that ``poll`` calls, so a policy can be debugged without a
registry (the tags come from the arguments or stdin).

The policy is an image entry of a poll config (checked exactly as ``poll`` checks it,
with the same ``FILE:LINE`` messages) or spelled with flags.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from updater.errors import UsageError
from updater.policy import (
    ORDERS,
    POLICIES,
    InvalidConstraint,
    NoTagMatches,
    TagPolicy,
    choose,
    parse_constraint,
)
from updater.policy.build import applicable_keys, compile_filter, extract_problem

# Needs what only a registry has (image creation times): choose works offline.
_OFFLINE_KINDS = tuple(kind for kind in POLICIES if kind != "newest-build")


@dataclass(frozen=True)
class ChooseRequest:
    tags: tuple[str, ...]  # as given; "-" reads stdin, one tag a line
    config: str | None = None
    image: str | None = None
    policy: str | None = None
    range: str | None = None
    order: str | None = None
    filter: str | None = None
    extract: str | None = None
    ignore: tuple[str, ...] = ()
    tag: str | None = None  # the digest policy's tag
    as_json: bool = False

    def policy_flags(self) -> dict[str, Any]:
        """The policy flags given, by config key."""
        given = {
            "range": self.range,
            "order": self.order,
            "filter": self.filter,
            "extract": self.extract,
            "ignore": self.ignore or None,
            "tag": self.tag,
        }
        return {key: value for key, value in given.items() if value is not None}


@dataclass(frozen=True)
class Chosen:
    """The policy and where it came from, with what choose could not apply."""

    policy: TagPolicy
    source: str  # "FILE:LINE" or "command line"
    image: str | None
    notes: tuple[str, ...] = ()


def read_tags(given: Sequence[str], stdin: Any) -> list[str]:
    """Tags from the arguments, ``-`` standing for stdin's lines; blanks dropped,
    duplicates kept once, in order."""
    tags: list[str] = []
    for item in given:
        if item == "-":
            tags += [line.strip() for line in stdin.read().splitlines()]
        else:
            tags.append(item.strip())
    return list(dict.fromkeys(tag for tag in tags if tag))


def policy_from_flags(request: ChooseRequest) -> Chosen:
    kind = request.policy
    assert kind is not None
    if kind not in POLICIES:
        raise UsageError(f"--policy: unknown policy {kind!r} (expected {', '.join(POLICIES)})")
    if kind not in _OFFLINE_KINDS:
        raise UsageError(
            f"--policy {kind}: ranks by image creation time, which only a registry has;"
            " choose works offline"
        )
    allowed = applicable_keys(kind)
    for key in request.policy_flags():
        if key not in allowed:
            raise UsageError(f"--{key}: does not apply to policy {kind}")
    constraint = None
    if request.range is not None:
        try:
            constraint = parse_constraint(request.range)
        except InvalidConstraint as error:
            raise UsageError(f"--range: bad semver range: {error}") from None
    order = request.order or "asc"
    if order not in ORDERS:
        raise UsageError("--order: expected asc or desc")
    pattern = None
    if request.filter is not None:
        try:
            pattern = compile_filter(request.filter)
        except re.error as error:
            raise UsageError(f"--filter: bad regular expression: {error}") from None
    if request.extract is not None:
        problem = extract_problem(request.extract, pattern)
        if problem is not None:
            raise UsageError(f"--extract: {problem}")
    if kind == "digest" and request.tag is None:
        raise UsageError("--policy digest needs --tag: the tag to follow")
    policy = TagPolicy(
        kind=kind,
        range=constraint,
        order=order,
        filter=pattern,
        extract=request.extract,
        ignore=request.ignore,
        tag=request.tag,
    )
    return Chosen(policy, "command line", None)


def policy_from_config(request: ChooseRequest) -> Chosen:
    from updater.config import load_config
    from updater.reference import InvalidReference, parse

    assert request.config is not None
    if request.image is None:
        raise UsageError("--config needs --image NAME: the image entry whose policy to use")
    config = load_config(Path(request.config))
    try:
        wanted = parse(request.image).repository
    except InvalidReference as error:
        raise UsageError(f"--image: {error}") from None
    entries = [image for image in config.images if image.repository == wanted]
    if not entries:
        names = ", ".join(image.name for image in config.images)
        raise UsageError(f"no image {request.image} (it lists {names})", file=config.path)
    entry = entries[0]
    notes = []
    if len(entries) > 1:
        others = ", ".join(str(other.line) for other in entries[1:])
        notes.append(f"the entry at line {entry.line} is used (also at line {others})")
    policy = entry.policy
    if policy.kind not in _OFFLINE_KINDS:
        raise UsageError(
            f"images: {entry.name}: policy {policy.kind} ranks by image creation time,"
            " which only a registry has; choose works offline",
            file=config.path,
            line=entry.line,
        )
    if policy.min_age is not None:
        notes.append("min-age not applied: image creation times come from the registry")
        policy = replace(policy, min_age=None)
    return Chosen(policy, f"{config.path}:{entry.line}", entry.name, tuple(notes))


def _rejections(tags: Sequence[str], by_reason: dict[str, Sequence[str]]) -> list[dict[str, str]]:
    """Every tag not chosen with its reason, in the order the tags were given."""
    reason_of = {tag: reason for reason, group in by_reason.items() for tag in group}
    return [{"tag": tag, "reason": reason_of[tag]} for tag in tags if tag in reason_of]


def run(request: ChooseRequest, stdin: Any = None) -> int:
    if request.config is not None and (request.policy is not None or request.policy_flags()):
        raise UsageError("give --config FILE --image NAME, or --policy P with its flags; not both")
    if request.config is None and request.image is not None:
        raise UsageError("--image needs --config FILE")
    if request.config is None and request.policy is None:
        flags = request.policy_flags()
        if flags:
            raise UsageError(f"--{next(iter(flags))} needs --policy P")
        raise UsageError("give --config FILE --image NAME, or --policy P")
    chosen = (
        policy_from_config(request) if request.config is not None else policy_from_flags(request)
    )
    tags = read_tags(request.tags, stdin if stdin is not None else sys.stdin)
    repository = chosen.image or "the tags given"
    report: dict[str, Any] = {
        "image": chosen.image,
        "policy": chosen.policy.describe(),
        "source": chosen.source,
        "tags": len(tags),
        "notes": list(chosen.notes),
    }
    try:
        choice = choose(chosen.policy, tags, repository=repository)
    except NoTagMatches as error:
        report.update(
            chosen=None,
            value=None,
            reason=None,
            rejected=_rejections(tags, dict(error.rejected)),
            error=str(error),
        )
        _print(report, as_json=request.as_json)
        click.echo(f"updater: error: {error}", err=True)
        return error.exit_code
    by_reason: dict[str, Sequence[str]] = dict(choice.rejected)
    below = [tag for tag in choice.considered if tag != choice.tag]
    if below:
        by_reason[f"ranked below {choice.tag}"] = below
    report.update(
        chosen=choice.tag,
        value=choice.value,
        reason=choice.reason,
        rejected=_rejections(tags, by_reason),
        error=None,
    )
    _print(report, as_json=request.as_json)
    return 0


def _print(report: dict[str, Any], *, as_json: bool) -> None:
    for note in report["notes"]:
        click.echo(f"updater: note: {note}", err=True)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    if report["chosen"] is not None:
        click.echo(report["chosen"])
        click.echo(f"{report['reason']}", err=True)
