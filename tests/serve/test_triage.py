"""Triage, in process: matching by normalised repository and host (aliases, Docker Hub's
names), each event's own tag judged by the policy, min-age scheduling at an injected
time, and the digest taken from the event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from updater.config import parse_config
from updater.serve.queue import QUEUED, Stored
from updater.serve.triage import NO_TAG, POLICY, UNMATCHED, EventFacts, repository_of, triage

CONFIG = parse_config(
    "images:\n"
    "  - name: registry.acme.example/acme/api\n    policy: semver\n    range: '^1'\n"
    "    pin-digest: true\n"
    "  - name: nginx\n    policy: semver\n    min-age: 1h\n",
    "x.yaml",
)
ALIASES = {"registry.internal:5000": "registry.acme.example"}
BUILT = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


class Facts:
    """A registry that knows one build time and counts the digests asked for."""

    def __init__(self) -> None:
        self.digests: list[tuple[str, str]] = []

    def digest(self, repository: str, reference: str, *, platform: str | None = None) -> str:
        self.digests.append((repository, reference))
        return "sha256:" + "9" * 64

    def created_many(
        self, repository: str, tags: Sequence[str], *, platform: str | None = None
    ) -> dict[str, datetime | None]:
        return dict.fromkeys(tags, BUILT)


def event(
    seq: int, host: str | None, repository: str, tag: str | None, digest: str | None = None
) -> Stored:
    return Stored(seq, "generic", None, host, repository, tag, digest, 0.0, 0.0, QUEUED)


def test_hosts_are_matched_through_aliases_and_docker_hubs_names() -> None:
    assert repository_of(event(1, "registry.internal:5000", "acme/api", "1"), ALIASES) == (
        "registry.acme.example/acme/api"
    )
    assert repository_of(event(2, "index.docker.io", "library/nginx", "1"), {}) == (
        "docker.io/library/nginx"
    )
    assert repository_of(event(3, None, "nginx", "1"), {}) == "docker.io/library/nginx"
    assert repository_of(event(4, "Registry.ACME.example", "acme/api", "1"), {}) == (
        "registry.acme.example/acme/api"
    )


def test_each_event_is_judged_on_its_own_tag() -> None:
    digest = "sha256:" + "1" * 64
    events = [
        event(1, "registry.internal:5000", "acme/api", "1.2.0", digest),
        event(2, "registry.acme.example", "acme/api", "1.3.0-rc.1"),
        event(3, "registry.acme.example", "acme/api", "2.0.0"),
        event(4, "registry.acme.example", "acme/api", None, digest),
        event(5, "registry.acme.example", "acme/api-worker", "1.2.0"),
    ]
    facts = Facts()
    out = triage(events, CONFIG, ALIASES, EventFacts(facts), BUILT.timestamp())
    [candidate] = out.candidates
    assert [e.seq for e in candidate.events] == [1]
    assert candidate.lookup is not None and candidate.lookup.choice is not None
    assert candidate.lookup.choice.tag == "1.2.0"
    assert candidate.lookup.digest == digest and facts.digests == []  # the event's own
    labels = {e.seq: label for e, label, _ in out.ignored}
    assert labels == {2: POLICY, 3: POLICY, 4: NO_TAG, 5: UNMATCHED}
    reasons = {e.seq: why for e, _, why in out.ignored}
    assert reasons[3] == "registry.acme.example/acme/api: 2.0.0: outside the range"
    assert reasons[2] == "registry.acme.example/acme/api: 1.3.0-rc.1: outside the range"


def test_min_age_is_scheduled_at_the_injected_time() -> None:
    young = event(1, "docker.io", "library/nginx", "1.27.0")
    facts = EventFacts(Facts())
    early = triage([young], CONFIG, {}, facts, BUILT.timestamp() + 600)
    assert early.candidates == [] and early.ignored == []
    [(waiting, due, reason)] = early.waiting
    assert waiting.seq == 1 and due == BUILT.timestamp() + 3600
    assert "min-age has not passed" in reason
    later = triage([young], CONFIG, {}, facts, BUILT.timestamp() + 3600)
    [candidate] = later.candidates
    assert candidate.lookup is not None and candidate.lookup.choice is not None
    assert candidate.lookup.choice.tag == "1.27.0"
