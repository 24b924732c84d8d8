"""``updater serve --pull-request`` against the loopback GitHub fake: the first event
opens a PR, a newer one in a later window updates the same PR (one branch, one PR),
and the token never reaches the log."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serve.server import Server, config_text, overlay_remote, poll_until, running
from tests.support.fakeforge import FakeForgeServer
from tests.support.remotes import TOKEN

pytestmark = pytest.mark.forge

IMAGE = "ghcr.io/acme/api"
BRANCH = "updater/main/acme-api"


def test_a_later_event_updates_the_same_pull_request(
    tmp_path: Path, forge: FakeForgeServer
) -> None:
    remote = overlay_remote(tmp_path / "remotes" / "acme" / "config.git", IMAGE)
    forge.github.add_repo("acme/config", git_dir=remote.path)
    config = tmp_path / "updater.yaml"
    config.write_text(config_text(f"  - name: {IMAGE}\n    policy: semver\n", "  debounce: 0s\n"))
    mode = ["--pull-request", "--forge", "github", "--api-url", forge.url, "--project",
            "acme/config"]  # fmt: skip
    server = Server(tmp_path, config, remote.url, mode=mode, env={"GITHUB_TOKEN": TOKEN})
    with running(server):
        server.start()
        server.push_event(f"{IMAGE}:1.1.0")
        poll_until(lambda: BRANCH in remote.branches(), "the bot branch")
        poll_until(lambda: len(server.logs("delivery")) == 1, "the first delivery")
        server.push_event(f"{IMAGE}:1.2.0")
        poll_until(lambda: len(server.logs("delivery")) == 2, "the second delivery")
    first, second = server.logs("delivery")
    assert first["pull_request"] == second["pull_request"] == f"{forge.url}/acme/config/pull/1"
    assert "opened" in first["summary"] and "updated" in second["summary"]
    assert len(forge.github.repos["acme/config"].pulls) == 1
    assert 'newTag: "1.2.0"' in remote.show("apps/api/kustomization.yaml", BRANCH)
    assert remote.log(BRANCH)[1:] == remote.log()  # one commit on the base
    assert TOKEN not in server.log_path.read_text() + server.stderr()
