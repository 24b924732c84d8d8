"""``updater serve`` behind the real registry: ``skopeo copy`` pushes, the registry's own
notifications reach the server, and the commit appears in a bare config remote."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from tests.serve.registry import (
    OCI_INDEX,
    OCI_MANIFEST,
    SKOPEO,
    Layout,
    notifying_registry,
    now_iso,
    skopeo_copy,
)
from tests.serve.server import Server, config_text, poll_until, running
from tests.support.registry import Registry, free_port
from tests.support.remotes import Remote, git

pytestmark = [
    pytest.mark.registry,
    pytest.mark.skipif(SKOPEO is None, reason="skopeo is not installed"),
]

OLD_DIGEST = "sha256:" + "0" * 64


def deployment(image: str) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: api\n"
        f"          image: {image}\n"
    )


@dataclass
class Stack:
    tmp: Path
    registry: Registry
    remote: Remote
    port: int

    @property
    def image(self) -> str:
        return f"{self.registry.host}/acme/api"

    def config(self, image_keys: str = "", webhooks: str = "", extra: str = "") -> Path:
        images = (
            f"  - name: {self.image}\n    policy: semver\n    range: '>=1.0.0 <2.0.0'\n{image_keys}"
        )
        registries = f"registries:\n  - host: {self.registry.host}\n    insecure: true\n"
        path = self.tmp / "updater.yaml"
        path.write_text(config_text(images, webhooks, registries + extra))
        return path

    def server(self, config: Path, **kw: object) -> Server:
        return Server(self.tmp, config, self.remote.url, port=self.port, **kw)  # type: ignore[arg-type]

    def file(self) -> str:
        return git("show", "main:deploy/api.yaml", cwd=self.remote.path)

    def digest(self, tag: str) -> str:
        """What the registry serves for ``tag`` (skopeo may rewrite what it copies)."""
        response = self.registry.session.head(
            f"{self.registry.url}/v2/acme/api/manifests/{tag}",
            headers={"Accept": f"{OCI_INDEX}, {OCI_MANIFEST}"},
        )
        assert response.status_code == 200
        return str(response.headers["Docker-Content-Digest"])

    def image_line(self) -> str:
        found = re.search(r"image: (\S+)", self.file())
        assert found
        return found.group(1)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    port = free_port()
    with notifying_registry(
        tmp_path / "registry", f"http://127.0.0.1:{port}/hooks/distribution"
    ) as registry:
        remote = Remote(
            tmp_path / "remote.git",
            {"deploy/api.yaml": deployment(f"{registry.host}/acme/api:1.0.0@{OLD_DIGEST}")},
        )
        yield Stack(tmp_path, registry, remote, port)


def test_skopeo_copy_gives_a_commit_with_the_pushed_digest(stack: Stack) -> None:
    server = stack.server(stack.config("    pin-digest: true\n", "  debounce: 0s\n"))
    layout = Layout(stack.tmp / "oci")
    layout.single("1.2.0", "one")
    with running(server):
        server.start()
        skopeo_copy(layout, "1.2.0", stack.registry, "acme/api")
        poll_until(lambda: len(stack.remote.log()) == 2, "the commit")
        assert stack.image_line() == f"{stack.image}:1.2.0@{stack.digest('1.2.0')}"
        [delivered] = poll_until(
            lambda: [e for e in server.logs("event") if e.get("state") == "delivered"], "the log"
        )
        assert delivered["commit"] == stack.remote.log()[0]
        assert 'updater_webhook_events_accepted_total{source="distribution"}' in server.metrics()


def test_a_multi_arch_push_gives_one_commit(stack: Stack) -> None:
    server = stack.server(stack.config("    pin-digest: true\n", "  debounce: 1s\n"))
    layout = Layout(stack.tmp / "oci")
    layout.multi("1.3.0", "multi", ["linux/amd64", "linux/arm64"])
    with running(server):
        server.start()
        skopeo_copy(layout, "1.3.0", stack.registry, "acme/api")
        poll_until(lambda: len(stack.remote.log()) == 2, "the commit")
        # the two platform manifests (pushed by digest) and the index: one change
        poll_until(lambda: server.state()["counts"]["ignored"] >= 2, "the platform events")
        assert stack.image_line() == f"{stack.image}:1.3.0@{stack.digest('1.3.0')}"
        assert len(stack.remote.log()) == 2
        reasons = [e.get("reason", "") for e in server.logs("event") if e["state"] == "ignored"]
        assert all("no tag" in r for r in reasons), reasons


def test_a_burst_of_tags_gives_one_commit_with_the_best(stack: Stack) -> None:
    """Twenty tags queued in one debounce window (held open by a long debounce, then the
    server restarted with none: the batch is the twenty, whatever the timing)."""
    config = stack.config(webhooks="  debounce: 1h\n")
    server = stack.server(config)
    tags = [f"1.{minor}.{patch}" for minor in range(1, 5) for patch in range(5)]
    with running(server):
        server.start()
        for number, tag in enumerate(tags):
            stack.registry.push_image("acme/api", tag, salt=f"burst{number}")
        poll_until(lambda: server.state()["counts"]["queued"] == 20, "twenty queued")
        server.kill()  # SIGTERM would deliver the open window at once
        server.extra = ["--debounce", "0"]
        server.start()
        poll_until(lambda: len(stack.remote.log()) == 2, "the commit")
        poll_until(lambda: server.state()["counts"]["delivered"] == 1, "the best delivered")
    assert stack.image_line().startswith(f"{stack.image}:1.4.4@")
    counts = server.state()["counts"]
    assert counts["ignored"] == 19 and counts["queued"] == 0
    assert [d["result"] for d in server.logs("delivery")] == ["changed"]


def test_a_held_image_is_left_alone(stack: Stack) -> None:
    holds = (
        "holds:\n"
        f"  - image: {stack.image}\n    at: 1.0.0\n    until: '>=1.9.0'\n    reason: bad release\n"
    )
    server = stack.server(stack.config(webhooks="  debounce: 0s\n", extra=holds))
    with running(server):
        server.start()
        stack.registry.push_image("acme/api", "1.5.0", salt="held")
        poll_until(lambda: server.state()["counts"]["ignored"] == 1, "the event judged")
        [event] = [e for e in server.logs("event") if e["state"] == "ignored"]
        assert "held at 1.0.0 until '>=1.9.0': bad release" in event["reason"]
        assert event["label"] == "held"
        assert 'updater_webhook_events_ignored_total{reason="held"} 1.0' in server.metrics()
    assert len(stack.remote.log()) == 1


def test_min_age_schedules_the_event(stack: Stack) -> None:
    server = stack.server(stack.config("    min-age: 3s\n", "  debounce: 0s\n"))
    with running(server):
        server.start()
        stack.registry.push_image("acme/api", "1.6.0", created=now_iso(), salt="young")
        poll_until(lambda: len(stack.remote.log()) == 2, "the commit once old enough")
        assert stack.image_line().startswith(f"{stack.image}:1.6.0@")
    # Read from the log, not from a poll of the live state: the 3 s window may pass
    # before a loaded machine's poll sees it.
    events = server.logs("event")
    [waiting] = [e for e in events if e.get("state") == "waiting"]
    assert "min-age has not passed" in waiting["reason"]
    [delivered] = [e for e in events if e.get("state") == "delivered"]
    assert events.index(waiting) < events.index(delivered)
    # not before it was due (the log's clock is the server's; its times are to the ms)
    assert datetime.fromisoformat(delivered["time"]).timestamp() >= waiting["due"] - 0.001


def test_sigkill_after_the_202_loses_nothing(stack: Stack) -> None:
    server = stack.server(stack.config(webhooks="  debounce: 1h\n"))
    layout = Layout(stack.tmp / "oci")
    layout.single("1.7.0", "killed")
    with running(server):
        server.start()
        skopeo_copy(layout, "1.7.0", stack.registry, "acme/api")
        poll_until(lambda: server.state()["counts"]["queued"] >= 1, "the event stored")
        server.kill()
        assert len(stack.remote.log()) == 1
        server.extra = ["--debounce", "0"]
        server.start()
        poll_until(lambda: len(stack.remote.log()) == 2, "the commit after the restart")
    assert stack.image_line().startswith(f"{stack.image}:1.7.0@")


def test_an_event_without_a_digest_is_resolved_with_the_registry(stack: Stack) -> None:
    """Docker Hub and Quay send no digest: the image pins digests, so it is looked up.
    (The registry's own notifications are refused here, by a secret of their own, so
    the digest-less event is the only one.)"""
    webhooks = "  debounce: 0s\n  sources:\n    distribution: {secret-env: OTHER_SECRET}\n"
    config = stack.config("    pin-digest: true\n", webhooks)
    server = stack.server(config, env={"OTHER_SECRET": "not-what-the-registry-sends"})
    with running(server):
        server.start()
        stack.registry.push_image("acme/api", "1.8.0", salt="nodigest")
        server.push_event(f"{stack.image}:1.8.0")
        poll_until(lambda: len(stack.remote.log()) == 2, "the commit")
        assert stack.image_line() == f"{stack.image}:1.8.0@{stack.digest('1.8.0')}"
        [event] = [e for e in server.logs("event") if e.get("state") == "queued"]
        assert event["source"] == "generic" and "digest" not in event
