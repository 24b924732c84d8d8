"""``updater serve --pull-request --forge gitlab`` against the loopback GitLab fake: a
registry event opens a merge request on the bot branch, a newer tag in a later window
updates the same one; every request to the forge is recorded and asserted, and the
token never reaches the log."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serve.server import Server, config_text, overlay_remote, poll_until, running
from tests.support.fakeforge import FakeForgeServer, Recorded
from tests.support.remotes import TOKEN

pytestmark = pytest.mark.forge

IMAGE = "registry.gitlab.test/acme/api"
BRANCH = "updater/main/acme-api"


def summary(requests: list[Recorded]) -> list[str]:
    return [f"{r.method} {r.path}" for r in requests]


def test_an_event_opens_a_merge_request_and_a_later_one_updates_it(
    tmp_path: Path, forge: FakeForgeServer
) -> None:
    remote = overlay_remote(tmp_path / "remotes" / "acme" / "config.git", IMAGE)
    forge.gitlab.add_project("acme/config", git_dir=remote.path)
    config = tmp_path / "updater.yaml"
    config.write_text(config_text(f"  - name: {IMAGE}\n    policy: semver\n", "  debounce: 0s\n"))
    mode = ["--pull-request", "--forge", "gitlab", "--api-url", forge.url, "--project",
            "acme/config", "--label", "deploy"]  # fmt: skip
    server = Server(tmp_path, config, remote.url, mode=mode, env={"GITLAB_TOKEN": TOKEN})
    with running(server):
        server.start()
        server.push_event(f"{IMAGE}:1.1.0")
        poll_until(lambda: len(server.logs("delivery")) == 1, "the first delivery")
        opened = list(forge.requests)
        server.push_event(f"{IMAGE}:1.2.0")
        poll_until(lambda: len(server.logs("delivery")) == 2, "the second delivery")
    updated = forge.requests[len(opened) :]
    first, second = server.logs("delivery")
    url = f"{forge.url}/acme/config/-/merge_requests/1"
    assert first["result"] == second["result"] == "changed"
    assert first["pull_request"] == second["pull_request"] == url
    assert "opened" in first["summary"] and "updated" in second["summary"]
    assert summary(opened) == [
        "GET /api/v4/projects/acme%2Fconfig",
        "GET /api/v4/projects/42/merge_requests",
        "POST /api/v4/projects/42/merge_requests",
    ]
    listing, create = opened[1], opened[2]
    assert listing.query["state"] == "opened"
    assert listing.query["source_branch"] == BRANCH and listing.query["target_branch"] == "main"
    assert create.body["title"] == f"Update {IMAGE} to 1.1.0"
    assert create.body["source_branch"] == BRANCH and create.body["target_branch"] == "main"
    assert create.body["labels"] in ("deploy", ["deploy"])
    assert summary(updated) == [
        "GET /api/v4/projects/acme%2Fconfig",
        "GET /api/v4/projects/42/merge_requests",
        "GET /api/v4/user",  # whose token this is: an MR is edited only if the bot opened it
        "PUT /api/v4/projects/42/merge_requests/1",
    ]
    assert updated[3].body["title"] == f"Update {IMAGE} to 1.2.0"
    assert all(r.headers["private-token"] == TOKEN for r in forge.requests)
    [mr] = forge.gitlab.projects["acme/config"].mrs.values()
    assert mr.source_branch == BRANCH and mr.labels == ["deploy"]
    assert 'newTag: "1.2.0"' in remote.show("apps/api/kustomization.yaml", BRANCH)
    assert remote.log(BRANCH)[1:] == remote.log()  # one commit on the base
    assert TOKEN not in server.log_path.read_text() + server.stderr()
