"""Delivery from ``updater serve``: a refused push retried then failed, several images in
one commit, and two replicas sharing one remote (nothing lost, linear history)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from tests.serve.server import Server, config_text, overlay_remote, poll_until, running
from tests.support.remotes import Remote, git

API = "registry.acme.test/acme/api"
WORKER = "registry.acme.test/acme/worker"


def refusing(remote: Remote, times: int) -> None:
    """A pre-receive hook that declines the next ``times`` pushes (-1: every push), with
    a terminal escape in its message (remote text, shown escaped)."""
    (remote.path / "refusals").write_text(str(times))
    hook = remote.path / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        "n=$(cat refusals)\n"
        'if [ "$n" -ne 0 ]; then echo $((n-1)) > refusals;'
        ' printf "frozen: release freeze\\033[2J\\n" >&2; exit 1; fi\n'
    )
    hook.chmod(0o755)


def setup(tmp_path: Path, webhooks: str) -> tuple[Remote, Path]:
    remote = overlay_remote(tmp_path / "remote.git", API, worker=WORKER)
    images = "".join(
        f"  - name: {name}\n    policy: semver\n    range: '^1'\n" for name in (API, WORKER)
    )
    config = tmp_path / "updater.yaml"
    config.write_text(config_text(images, webhooks))
    return remote, config


def tag_of(remote: Remote, app: str) -> str:
    text = git("show", f"main:apps/{app}/kustomization.yaml", cwd=remote.path)
    found = re.search(r'newTag: "?([^"\n]+)', text)
    assert found
    return found.group(1)


def test_a_refused_push_is_retried(tmp_path: Path) -> None:
    remote, config = setup(tmp_path, "  debounce: 0s\n  retries: 5\n  retry-backoff: 0.1s\n")
    refusing(remote, 2)
    server = Server(tmp_path, config, remote.url)
    with running(server):
        server.start()
        server.push_event(f"{API}:1.1.0")
        poll_until(lambda: len(remote.log()) == 2, "the commit after two refusals")
        poll_until(lambda: server.state()["counts"]["delivered"] == 1, "the event delivered")
        results = [d["result"] for d in server.logs("delivery")]
        assert results == ["retried", "retried", "changed"]
        assert "frozen: release freeze" in server.logs("delivery")[0]["reason"]
        metrics = server.metrics()
        assert 'updater_deliveries_total{result="retried"} 2.0' in metrics
        assert 'updater_deliveries_total{result="changed"} 1.0' in metrics
    assert tag_of(remote, "api") == "1.1.0"


def test_a_push_refused_every_time_is_failed_and_shown(tmp_path: Path) -> None:
    remote, config = setup(tmp_path, "  debounce: 0s\n  retries: 2\n  retry-backoff: 0.1s\n")
    refusing(remote, -1)
    server = Server(tmp_path, config, remote.url)
    with running(server):
        server.start()
        server.push_event(f"{API}:1.1.0")
        failed = poll_until(lambda: server.state()["failed"], "the event failed")
        assert failed[0]["reason"].startswith("after 2 tries: push to main of")
        assert "frozen: release freeze" in failed[0]["reason"]
        assert "updater_events_failed 1.0" in server.metrics()
        assert 'updater_deliveries_total{result="failed"} 1.0' in server.metrics()
    status = server.status()
    assert "failed 1" in status.stdout and "after 2 tries" in status.stdout
    assert "\x1b" not in status.stdout and "\\x1b[2J" in status.stdout
    assert "\x1b" not in server.log_path.read_text()
    assert len(remote.log()) == 1


def test_several_images_in_one_window_are_one_commit(tmp_path: Path) -> None:
    remote, config = setup(tmp_path, "  debounce: 1h\n")
    server = Server(tmp_path, config, remote.url)
    with running(server):
        server.start()
        for image in (f"{API}:1.1.0", f"{WORKER}:1.3.0", f"{API}:1.2.0", f"{WORKER}:1.2.0"):
            server.push_event(image)
        server.kill()  # SIGTERM would deliver the open window at once
        server.extra = ["--debounce", "0"]
        server.start()
        poll_until(lambda: len(remote.log()) == 2, "one commit")
        poll_until(lambda: server.state()["counts"]["delivered"] == 2, "the two best delivered")
    assert (tag_of(remote, "api"), tag_of(remote, "worker")) == ("1.2.0", "1.3.0")
    assert len(remote.log()) == 2


def test_two_replicas_sharing_one_remote_lose_nothing(tmp_path: Path) -> None:
    remote, config = setup(tmp_path, "  debounce: 0s\n")
    one = Server(tmp_path / "one", config, remote.url)
    two = Server(tmp_path / "two", config, remote.url)
    for replica in (one, two):
        replica.workdir.mkdir()
    with running(one, two):
        one.start()
        two.start()
        # Each replica gets a share of the pushes, as behind a Service, at the same time;
        # the last of each image also reaches both (a retried notification).
        api = [f"{API}:1.{n}.0" for n in range(1, 7)]
        worker = [f"{WORKER}:1.{n}.0" for n in range(1, 7)]

        def send(replica: Server, images: list[str]) -> None:
            for image in images:
                replica.push_event(image)

        threads = [
            threading.Thread(target=send, args=(one, api[0::2] + worker[1::2] + [api[-1]])),
            threading.Thread(target=send, args=(two, api[1::2] + worker[0::2] + [worker[-1]])),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        def settled() -> bool:
            return all(
                (c := r.state()["counts"])["queued"] == 0 and c["waiting"] == 0 for r in (one, two)
            )

        poll_until(settled, "both replicas to finish")
    assert (tag_of(remote, "api"), tag_of(remote, "worker")) == ("1.6.0", "1.6.0")
    assert git("rev-list", "--merges", "main", cwd=remote.path).strip() == ""
    first_parent = git("rev-list", "--first-parent", "main", cwd=remote.path).split()
    assert first_parent == remote.log()  # linear: every commit is on the one line
    # every commit moved something (no empty commits from a replica that lost a race)
    for sha in remote.log()[:-1]:
        assert git("diff", "--stat", f"{sha}^", sha, cwd=remote.path).strip()
    failed = [r.state()["counts"]["failed"] for r in (one, two)]
    assert failed == [0, 0]
