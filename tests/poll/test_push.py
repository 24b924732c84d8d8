"""``poll --push`` against a real registry and a real bare remote: the chosen tag lands
on the remote's branch, and a second scheduled run changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.poll import deployment
from tests.support.registry import Registry
from tests.support.remotes import Remote, run_updater

pytestmark = pytest.mark.registry


@pytest.mark.usefixtures("git_sandbox")
def test_poll_push_lands_the_chosen_tag(anon: Registry, repo_name: str, tmp_path: Path) -> None:
    anon.push_image(repo_name, ["1.0.0", "1.1.0", "2.0.0"])
    image = f"{anon.host}/{repo_name}"
    remote = Remote(tmp_path / "config.git", {"deploy/app.yaml": deployment(f"{image}:1.0.0")})
    config = tmp_path / "poll.yaml"
    config.write_text(
        f"images:\n  - name: {image}\n    policy: semver\n    range: '^1.0.0'\n"
        f"registries:\n  - host: {anon.host}\n    insecure: true\n"
    )
    first = run_updater("poll", "--repo", remote.url, "--config", str(config), "--push")
    assert first.returncode == 0, first.stderr
    assert remote.show("deploy/app.yaml") == deployment(f"{image}:1.1.0")
    assert f"{image}:1.0.0 -> {image}:1.1.0" in remote.message()
    head = remote.log()[0]
    # Said as set-image says it: a push is "pushed … to", not "committed … on".
    assert f"pushed {head[:12]} to main" in first.stderr.splitlines()
    assert "committed" not in first.stderr

    second = run_updater("poll", "--repo", remote.url, "--config", str(config), "--push")
    assert second.returncode == 0, second.stderr
    assert remote.log()[0] == head
    assert "main is already up to date; nothing pushed" in second.stderr.splitlines()
