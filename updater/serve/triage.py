"""From a batch of stored events to what poll would deliver: match each event to the
config's images, judge its own tag by the image's policy, and pick each image's best.

The judgement is poll's: the same ``choose`` on the event's tag (filter, ignore,
range, min-age), and what comes out is poll's ``Lookup``, so holds, downgrades, the
plan and the delivery are poll's code, not a copy of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from updater.commands.poll import ImageFacts, Lookup
from updater.config import ImageConfig, PollConfig
from updater.policy import NoTagMatches, choose
from updater.reference import DOCKER_HUB, InvalidReference, parse, split_domain
from updater.registry.hosts import canonical_host
from updater.serve.queue import Stored

# Why an event was left alone, as a metric label (the log line has the full reason).
NO_TAG = "no-tag"
UNMATCHED = "unmatched"
POLICY = "policy"
SUPERSEDED = "superseded"


@dataclass
class Candidate:
    """One config image and the events of a batch that passed its policy."""

    image: ImageConfig
    events: list[Stored] = field(default_factory=list)
    lookup: Lookup | None = None  # the best tag among the events, set by ``pick``


@dataclass
class Triage:
    candidates: list[Candidate] = field(default_factory=list)
    ignored: list[tuple[Stored, str, str]] = field(default_factory=list)  # event, label, why
    waiting: list[tuple[Stored, float, str]] = field(default_factory=list)  # event, due, why


def repository_of(event: Stored, aliases: Mapping[str, str]) -> str | None:
    """The event's repository, normalised as the config's names are (host included,
    the host mapped through ``host-aliases``); None when it is no image name."""
    name = event.repository.strip("/")
    first = name.split("/", 1)[0]
    has_host = "/" in name and ("." in first or ":" in first or first == "localhost")
    if not has_host and event.host:
        name = f"{event.host}/{name}"
    try:
        repository = parse(name).repository
    except InvalidReference:
        return None
    host, path = split_domain(repository)
    host = canonical_host(host)
    host = aliases.get(host, host)
    if host == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return f"{host}/{path}"


def config_key(repository: str) -> str:
    host, path = split_domain(repository)
    return f"{canonical_host(host)}/{path}"


def triage(
    events: Sequence[Stored],
    config: PollConfig,
    aliases: Mapping[str, str],
    facts: ImageFacts,
    now: float,
) -> Triage:
    """Sort a batch into the images it moves, the events left alone (and why), and the
    events to wait for (min-age)."""
    when = datetime.fromtimestamp(now, timezone.utc)
    by_key: dict[str, list[ImageConfig]] = {}
    for image in config.images:
        by_key.setdefault(config_key(image.repository), []).append(image)
    out = Triage()
    candidates: dict[int, Candidate] = {}
    for event in events:
        repository = repository_of(event, aliases)
        images = by_key.get(repository or "", [])
        if not images:
            shown = repository or event.repository
            out.ignored.append((event, UNMATCHED, f"{shown} matches no image of {config.path}"))
            continue
        if not event.tag:
            out.ignored.append((event, NO_TAG, "no tag (a push by digest)"))
            continue
        reasons: list[str] = []
        wait: float | None = None
        passed = False
        for image in images:
            verdict = _judge_tag(image, event.tag, facts, when)
            if verdict is None:
                candidates.setdefault(id(image), Candidate(image)).events.append(event)
                passed = True
            elif isinstance(verdict, float):
                wait = verdict if wait is None else min(wait, verdict)
                reasons.append(f"{image.name}: {event.tag}: min-age has not passed")
            else:
                reasons.append(f"{image.name}: {event.tag}: {verdict}")
        if passed:
            continue
        if wait is not None:
            out.waiting.append((event, wait, "; ".join(reasons)))
        else:
            out.ignored.append((event, POLICY, "; ".join(reasons)))
    out.candidates = list(candidates.values())
    for candidate in out.candidates:
        pick(candidate, facts, when)
    return out


def _judge_tag(
    image: ImageConfig, tag: str, facts: ImageFacts, now: datetime
) -> str | float | None:
    """None: the tag passes the image's policy; a float: it will once min-age has
    passed (that time); else the reason it never will."""
    policy = image.policy
    if policy.kind == "digest":
        return None if tag == policy.tag else f"not the followed tag {policy.tag!r}"

    def created_of(names: Sequence[str]) -> dict[str, datetime | None]:
        return facts.created_many(image.repository, names, platform=image.platform)

    try:
        choose(policy, [tag], repository=image.repository, created_of=created_of, now=now)
    except NoTagMatches as error:
        young = [reason for reason in error.rejected if reason.startswith("younger than")]
        if young and policy.min_age is not None:
            created = created_of([tag]).get(tag)
            if created is not None:
                return (created + policy.min_age).timestamp()
        return ", ".join(error.rejected) or str(error)
    return None


def pick(candidate: Candidate, facts: ImageFacts, now: datetime) -> None:
    """The policy's best of the candidate's tags, with its digest when the image pins
    digests: the event's own, looked up only when the source sent none."""
    image = candidate.image
    tags = list(dict.fromkeys(e.tag for e in candidate.events if e.tag))

    def created_of(names: Sequence[str]) -> dict[str, datetime | None]:
        return facts.created_many(image.repository, names, platform=image.platform)

    choice = choose(image.policy, tags, repository=image.repository, created_of=created_of, now=now)
    lookup = Lookup(image, choice)
    if image.pin_digest:
        lookup.digest = event_digest(candidate.events, choice.tag, image)
        if lookup.digest is None:
            lookup.digest = facts.digest(image.repository, choice.tag, platform=image.platform)
    candidate.lookup = lookup


def event_digest(events: Sequence[Stored], tag: str, image: ImageConfig) -> str | None:
    """The digest the latest event for ``tag`` carries; None with a platform (the
    event names the index, the image pins one platform's manifest)."""
    if image.platform is not None:
        return None
    for event in reversed(events):
        if event.tag == tag and event.digest:
            return event.digest
    return None


class EventFacts:
    """The registry, answering digests from the events first: a reference that pins a
    digest (while the image entry does not) costs no lookup when the event carried it."""

    def __init__(self, client: ImageFacts) -> None:
        self.client = client
        self.known: dict[tuple[str, str], str] = {}

    def learn(self, repository: str, events: Sequence[Stored]) -> None:
        for event in events:
            if event.tag and event.digest:
                self.known[(repository, event.tag)] = event.digest

    def digest(self, repository: str, reference: str, *, platform: str | None = None) -> str:
        known = self.known.get((repository, reference)) if platform is None else None
        return known or self.client.digest(repository, reference, platform=platform)

    def created_many(
        self, repository: str, tags: Sequence[str], *, platform: str | None = None
    ) -> dict[str, datetime | None]:
        return self.client.created_many(repository, tags, platform=platform)
