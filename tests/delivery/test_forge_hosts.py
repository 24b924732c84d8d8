"""Forge API tokens stay on the API's host: a redirect to another host ends the run with
one line, and the other host receives nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fakeforge import FakeForgeServer
from tests.support.remotes import TOKEN, Remote, run_updater

pytestmark = pytest.mark.forge


@pytest.fixture
def elsewhere(remote: Remote) -> Iterator[FakeForgeServer]:
    """The same forge state on another loopback address: another host."""
    try:
        server = FakeForgeServer(TOKEN, host="127.0.0.2").start()
    except OSError as error:
        pytest.skip(f"no 127.0.0.2 on this machine: {error}")
    server.github.add_repo("acme/config", git_dir=remote.path)
    server.gitlab.add_project("acme/config", git_dir=remote.path)
    try:
        yield server
    finally:
        server.stop()


def args(kind: str, forge: FakeForgeServer, remote: Remote) -> list[str]:
    return [
        "set-image", "--repo", remote.url, "--pull-request", "--forge", kind,
        "--api-url", forge.url, "--project", "acme/config", "ghcr.io/acme/api:1.1.0",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "variable", "pattern"),
    [
        ("github", "GITHUB_TOKEN", r"^/repos/acme/config$"),
        ("gitlab", "GITLAB_TOKEN", r"^/api/v4/projects/acme%2Fconfig$"),
        ("gitlab", "CI_JOB_TOKEN", r"^/api/v4/projects/acme%2Fconfig$"),
    ],
)
@pytest.mark.parametrize("status", [301, 302, 307])
def test_a_redirect_to_another_host_gets_no_token(
    forge: FakeForgeServer,
    elsewhere: FakeForgeServer,
    remote: Remote,
    kind: str,
    variable: str,
    pattern: str,
    status: int,
) -> None:
    forge.github.add_repo("acme/config", git_dir=remote.path)
    forge.gitlab.add_project("acme/config", git_dir=remote.path)
    forge.redirect("GET", pattern, elsewhere.url, status=status, times=10)
    result = run_updater(*args(kind, forge, remote), env={variable: TOKEN})
    assert result.returncode == 5, result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in result.stderr, line
    assert "the token is not sent there" in line or "(a redirect?)" in line, line
    assert TOKEN not in result.stdout + result.stderr
    assert not [r for r in elsewhere.requests if TOKEN in " ".join(r.headers.values())]
    assert list(remote.branches()) == ["main"]  # nothing pushed before the forge was checked


def test_a_redirect_on_the_same_host_is_followed(forge: FakeForgeServer, remote: Remote) -> None:
    forge.gitlab.add_project("acme/config", git_dir=remote.path)
    forge.redirect("GET", r"^/api/v4/projects/acme%2Fconfig$", forge.url + "/api/v4/projects/42x")
    # the redirect lands on a path the fake does not know: a clean HTTP error, same host
    result = run_updater(*args("gitlab", forge, remote), env={"GITLAB_TOKEN": TOKEN})
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "not sent there" not in result.stderr
