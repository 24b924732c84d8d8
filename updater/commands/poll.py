"""``poll``: config -> registry lookups (concurrent) -> tag per policy -> changes ->
plan -> delivery -> report.

A lookup that fails for one image does not stop the others: their changes are
planned and delivered, and the run then exits non-zero naming every failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import click

from updater.commands.digests import plan_locating_digests
from updater.config import (
    DEFAULT_NAME,
    ImageConfig,
    PollConfig,
    confirmed_delivery,
    delivery_mode,
    load_config,
)
from updater.deliver import DeliveryOptions, DeliveryRequest, DeliveryResult, as_mode, deliver
from updater.edit.model import Plan, Record
from updater.edit.planner import plan
from updater.errors import NoMatchError, UpdaterError, UsageError
from updater.holds import HELD, HOLD_ENDED, Hold, holding
from updater.output import Verification, show_result
from updater.policy import Choice, TagPolicy, choose
from updater.policy.current import UPGRADE, Decision, decide
from updater.reference import Change, split_reference
from updater.registry import RegistryClient
from updater.report import plan_json
from updater.trailers import Trigger, trigger


class ImageFacts(Protocol):
    """What planning asks a registry (``RegistryClient``, or serve's view that answers
    from the events first)."""

    def digest(self, repository: str, reference: str, *, platform: str | None = None) -> str: ...

    def created_many(
        self, repository: str, tags: Sequence[str], *, platform: str | None = None
    ) -> dict[str, datetime | None]: ...


@dataclass(frozen=True)
class PollRequest:
    repo: str
    config: str | None  # None: .image-updater.yaml at the root of a local --repo
    mode: str | None  # the MODE flag; None: none given (dry-run); "deliver": the config's
    as_json: bool = False
    delivery: dict[str, Any] = field(default_factory=dict)
    workers: int = 8
    verify: Any = None  # updater.render.VerifyOptions for --verify-render, else None
    allow_downgrade: bool = False  # --allow-downgrade: for every image


@dataclass
class Lookup:
    """One configured image: what the registry offered, what was chosen, or why not."""

    image: ImageConfig
    choice: Choice | None = None
    digest: str | None = None
    error: UpdaterError | None = None
    current: list[str] = field(default_factory=list)  # references found in the repo
    # each reference the choice would change: (file, line, its tag now, the decision)
    decisions: list[tuple[str, int, str | None, Decision]] = field(default_factory=list)

    @property
    def left_alone(self) -> list[tuple[str, int, str | None, Decision]]:
        return [d for d in self.decisions if not d[3].move]

    @property
    def change(self) -> Change | None:
        if self.choice is None:
            return None
        return Change(
            repository=self.image.repository,
            spelled=self.image.name,
            tag=self.choice.tag,
            digest=self.digest,
            aliases=self.image.aliases,
            only_marked=self.image.only_marked,
            paths=self.image.paths,
        )

    def as_json(self) -> dict[str, Any]:
        image = self.image
        return {
            "name": image.name,
            "repository": image.repository,
            "policy": image.policy.describe(),
            "paths": list(image.paths),
            "current": self.current,
            "chosen": self.choice.tag if self.choice else None,
            "digest": self.digest,
            "reason": self.choice.reason if self.choice else None,
            "considered": list(self.choice.considered) if self.choice else [],
            "rejected": (
                {k: list(v) for k, v in self.choice.rejected.items()} if self.choice else {}
            ),
            "created": (
                self.choice.created.isoformat() if self.choice and self.choice.created else None
            ),
            "decisions": [
                {"file": file, "line": line, "current": tag, **decision.as_json()}
                for file, line, tag, decision in self.decisions
            ],
            "error": str(self.error) if self.error else None,
        }


def read_config(request: PollRequest) -> PollConfig:
    from updater.remote import is_remote_url

    if request.config is not None:
        return load_config(Path(request.config))
    if is_remote_url(request.repo):
        raise UsageError(f"with a URL --repo, give --config FILE (the {DEFAULT_NAME} to use)")
    return load_config(
        Path(request.repo) / DEFAULT_NAME, shown=str(Path(request.repo) / DEFAULT_NAME)
    )


def look_up(client: RegistryClient, image: ImageConfig, now: datetime) -> Lookup:
    result = Lookup(image)
    policy = image.policy
    try:
        if policy.kind == "digest":
            assert policy.tag is not None
            tags: Sequence[str] = [policy.tag]
        else:
            tags = client.list_tags(image.repository)

        def created_of(names: Sequence[str]) -> dict[str, datetime | None]:
            return client.created_many(image.repository, names, platform=image.platform)

        result.choice = choose(
            policy, tags, repository=image.repository, created_of=created_of, now=now
        )
        if image.pin_digest:
            result.digest = client.digest(
                image.repository, result.choice.tag, platform=image.platform
            )
    except UpdaterError as error:
        result.choice = None
        result.error = error
    return result


def look_up_all(
    client: RegistryClient, images: Sequence[ImageConfig], workers: int
) -> list[Lookup]:
    now = datetime.now(timezone.utc)
    if len(images) == 1:
        return [look_up(client, images[0], now)]
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(images)))) as pool:
        return list(pool.map(lambda image: look_up(client, image, now), images))


def _under(file: str, paths: Sequence[str]) -> bool:
    return not paths or any(p in (".", file) or file.startswith(f"{p}/") for p in paths)


def _judge(
    image: ImageConfig,
    tag: str | None,
    chosen: str,
    held: Sequence[Hold],
    allow_downgrade: bool,
    created_of: Any,
) -> Decision:
    """A hold first (its ``until`` not met: left alone), then the downgrade rule."""
    waiting = [hold for hold in held if not hold.satisfied_by(chosen, image.policy)]
    if waiting:
        hold = waiting[0]
        return Decision(False, HELD, f"{hold.describe()} (hold at line {hold.line}); left alone")
    decision = decide(
        image.policy,
        tag,
        chosen,
        allow_downgrade=allow_downgrade or image.allow_downgrade,
        created_of=created_of,
    )
    if held and decision.move:
        until = str(held[0].until)
        return Decision(
            True,
            HOLD_ENDED,
            f"hold at line {held[0].line} ended: {chosen} satisfies until {until!r};"
            f" {decision.reason}",
        )
    return decision


def _decide(
    lookup: Lookup,
    records: Sequence[Record],
    client: ImageFacts,
    allow_downgrade: bool,
    holds: Sequence[Hold] = (),
) -> tuple[str, ...] | None:
    """Judge each reference the choice would change against the holds covering it and
    its own tag (no silent downgrades). Returns None when every one may move, else the
    files that may: a file holding a reference that stays is left alone for this image
    as a whole."""
    image, choice = lookup.image, lookup.choice
    assert choice is not None
    first_line: dict[tuple[str, str], int] = {}
    for record in records:
        if record.repository == image.repository and _under(record.file, image.paths):
            first_line.setdefault((record.file, record.old_ref), record.line)

    def created_of(names: Sequence[str]) -> dict[str, datetime | None]:
        return client.created_many(image.repository, names, platform=image.platform)

    blocked: set[str] = set()
    for (file, old_ref), line in first_line.items():
        tag = split_reference(old_ref).tag
        held = holding(holds, image.repository, file)
        decision = _judge(image, tag, choice.tag, held, allow_downgrade, created_of)
        lookup.decisions.append((file, line, tag, decision))
        if not decision.move:
            blocked.add(file)
    if not blocked:
        return None
    for number, (file, line, tag, decision) in enumerate(lookup.decisions):
        if decision.move and file in blocked:
            lookup.decisions[number] = (
                file,
                line,
                tag,
                Decision(
                    False,
                    "same-file",
                    f"{tag} -> {choice.tag} not made: {file} holds a reference left alone,"
                    " and a file moves as one",
                ),
            )
    return tuple(sorted({file for file, _ in first_line} - blocked))


def make_planner(
    lookups: list[Lookup],
    client: ImageFacts,
    *,
    allow_downgrade: bool = False,
    holds: Sequence[Hold] = (),
) -> Any:
    changes: list[Change] = []
    owner: dict[int, Lookup] = {}  # by id: two entries may want equal changes
    platforms = {lookup.image.repository: lookup.image.platform for lookup in lookups}
    for lookup in lookups:
        change = lookup.change
        if change is not None:
            changes.append(change)
            owner[id(change)] = lookup

    def resolve(repository: str, tag: str) -> str:
        # a pinned digest is never left stale when only the tag was asked for
        return client.digest(repository, tag, platform=platforms.get(repository))

    def make_plan(root: Path) -> Plan:
        result = plan_locating_digests(lambda r: plan(root, changes, resolve_digest=r), resolve)
        for lookup in owner.values():
            lookup.current = []
            lookup.error = None
            lookup.decisions = []
        for record in result.records:
            for lookup in owner.values():
                known = record.old_ref in lookup.current
                if record.repository == lookup.image.repository and not known:
                    lookup.current.append(record.old_ref)
        for change in result.up_to_date:
            owner[id(change)].current = [str(change)]
        for change in result.unmatched:
            image = owner[id(change)].image
            where = f" under {', '.join(image.paths)}" if image.paths else ""
            owner[id(change)].error = NoMatchError(f"{image.name}: image referenced nowhere{where}")
        held = {
            key: allowed
            for key, lookup in owner.items()
            if (allowed := _decide(lookup, result.records, client, allow_downgrade, holds))
            is not None
        }
        if not held:
            return result
        # Plan again without the references left alone: the changes of those images go
        # only to the files where every reference of theirs may move (a file named as a
        # path may gain entries for the images of its group).
        again = [
            change if id(change) not in held else replace(change, paths=held[id(change)])
            for change in changes
            if held.get(id(change), True)
        ]
        if not again:
            return Plan(root=root, changes=(), skipped=result.skipped)
        return plan_locating_digests(lambda r: plan(root, again, resolve_digest=r), resolve)

    return make_plan


def policy_params(policy: TagPolicy) -> tuple[tuple[str, str | None], ...]:
    """The policy as the trailer names it: its kind and what it was given."""
    return (
        ("policy", policy.kind),
        ("range", str(policy.range) if policy.kind == "semver" and policy.range else None),
        ("order", policy.order if policy.kind in ("numerical", "alphabetical") else None),
        ("tag", policy.tag if policy.kind == "digest" else None),
        ("filter", policy.filter.pattern if policy.filter is not None else None),
        ("extract", policy.extract),
    )


def poll_trigger(lookups: list[Lookup], command: str = "poll") -> Callable[[Plan], Trigger]:
    """The commit's trigger: the policy of the one image the plan changes, or ``image=``
    then the policy for each of several, in the plan's order (``serve`` names itself)."""

    def of(plan: Plan) -> Trigger:
        changed = dict.fromkeys(r.repository for r in plan.records)
        policies = {lookup.image.repository: lookup.image.policy for lookup in lookups}
        params: list[tuple[str, str | None]] = []
        for repository in changed:
            if repository in policies:
                named = [("image", repository)] if len(changed) > 1 else []
                params += [*named, *policy_params(policies[repository])]
        return trigger(command, *params)

    return of


def delivery_paths(lookups: list[Lookup]) -> tuple[str, ...]:
    if any(not lookup.image.paths for lookup in lookups):
        return ()
    return tuple(dict.fromkeys(p for lookup in lookups for p in lookup.image.paths))


def run(request: PollRequest) -> int:
    config = read_config(request)
    mode = as_mode(delivery_mode(request.mode, config))
    options = DeliveryOptions.from_mapping(
        {**confirmed_delivery(config, request.delivery), **request.delivery}
    )
    with RegistryClient(config.registries, workers=request.workers) as client:
        lookups = look_up_all(client, config.images, request.workers)
        result: DeliveryResult | None = None
        checked = None
        if any(lookup.choice is not None for lookup in lookups):
            make_plan = make_planner(
                lookups, client, allow_downgrade=request.allow_downgrade, holds=config.holds
            )
            if request.verify is not None:
                from updater.render import CheckedPlanner, RenderCheckError

                make_plan = checked = CheckedPlanner(make_plan, request.verify)
            try:
                result = deliver(
                    DeliveryRequest(
                        repo=request.repo,
                        mode=mode,
                        paths=delivery_paths(lookups),
                        options=options,
                        trigger=poll_trigger(lookups),
                    ),
                    make_plan,
                )
            except Exception as error:
                if checked is not None and isinstance(error, RenderCheckError):
                    _print_refusal(error, lookups, as_json=request.as_json)
                raise
        rate_limits = {host: limit.as_json() for host, limit in client.rate_limits.items()}
    failures = [lookup for lookup in lookups if lookup.error is not None]
    if request.as_json:
        report: dict[str, Any] = {
            "images": [lookup.as_json() for lookup in lookups],
            "plan": plan_json(result.plan) if result is not None else None,
            "delivery": result.as_json() if result is not None else None,
            "registries": rate_limits,
        }
        if checked is not None and checked.verification is not None:
            report["render"] = checked.verification.as_json()
        report["failed"] = len(failures)
        click.echo(json.dumps(report, indent=2))
    else:
        _print_text(lookups, result, checked.verification if checked is not None else None)
    for lookup in failures:
        click.echo(f"updater: error: {lookup.error}", err=True)
    if not failures:
        return 0
    codes = {lookup.error.exit_code for lookup in failures if lookup.error is not None}
    return codes.pop() if len(codes) == 1 else 1


def _print_refusal(error: Any, lookups: list[Lookup], *, as_json: bool) -> None:
    """A failed render check shows the rendered diff (with --json, the error's report
    carries the render results instead)."""
    if not as_json:
        click.echo(error.details, err=True, nl=False)


def _print_text(
    lookups: list[Lookup], result: DeliveryResult | None, verification: Verification | None
) -> None:
    for lookup in lookups:
        if lookup.choice is not None:
            pinned = f"@{lookup.digest}" if lookup.digest else ""
            click.echo(
                f"{lookup.image.name}: {lookup.choice.tag}{pinned} ({lookup.choice.reason})",
                err=True,
            )
        for file, line, _, decision in lookup.decisions:
            if decision.verdict != UPGRADE:
                click.echo(f"{lookup.image.name}: {file}:{line}: {decision.reason}", err=True)
    if result is not None:
        show_result(result, verification=verification)
