"""A git credential goes only to the host it belongs to, and every git wait is bounded:
the smart-HTTP fake logs what each host received."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.gitserver import GitHttpServer, SilentServer
from tests.support.remotes import REPO_ROOT, SEED, TOKEN, Remote, git, run_updater

pytestmark = pytest.mark.git_http

PROD = "apps/overlays/prod/kustomization.yaml"
ALL_TOKENS = {
    "GITHUB_TOKEN": TOKEN,
    "GH_TOKEN": TOKEN,
    "GITLAB_TOKEN": TOKEN,
    "CI_JOB_TOKEN": TOKEN,
}


def carried_token(server: GitHttpServer) -> list[str]:
    """Every Authorization header this server saw that carries the token."""
    found = []
    for request in server.requests:
        header = request.authorization
        _, _, value = header.partition(" ")
        try:
            decoded = base64.b64decode(value).decode("utf-8", "replace")
        except ValueError:
            decoded = ""
        if TOKEN in header or TOKEN in decoded:
            found.append(header)
    return found


def serve(root: Path, host: str = "127.0.0.1") -> GitHttpServer:
    server = GitHttpServer(root, TOKEN, host=host)
    if server.backend is None:
        pytest.skip("git http-backend is not installed")
    try:
        return server.start()
    except OSError as error:  # pragma: no cover - loopback alias missing
        pytest.skip(f"cannot listen on {host}: {error}")


@pytest.fixture
def other_host(tmp_path: Path) -> Iterator[GitHttpServer]:
    """A second git server on another loopback address: another host."""
    try:
        server = GitHttpServer(tmp_path / "elsewhere", TOKEN, host="127.0.0.2")
    except OSError as error:
        pytest.skip(f"no 127.0.0.2 on this machine: {error}")
    if server.backend is None:
        pytest.skip("git http-backend is not installed")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def http_remote(git_http: GitHttpServer) -> tuple[Remote, str]:
    remote = Remote(git_http.root / "acme" / "config.git", SEED)
    git("config", "http.receivepack", "true", cwd=remote.path)
    return remote, f"{git_http.url}/acme/config.git"


@pytest.mark.parametrize("mode", ["--dry-run", "--push"])
@pytest.mark.parametrize("forge", [[], ["--forge", "github"], ["--forge", "gitlab"]])
def test_an_unknown_host_gets_no_token(
    git_http: GitHttpServer, http_remote: tuple[Remote, str], mode: str, forge: list[str]
) -> None:
    """Every forge variable set, the host answers 401: none of them is sent, dry-run too."""
    remote, url = http_remote
    result = run_updater(
        "set-image", "--repo", url, mode, *forge, "ghcr.io/acme/api:1.1.0", env=ALL_TOKENS
    )
    assert result.returncode == 5, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "authentication failed" in result.stderr and "--token-env" in result.stderr
    assert git_http.requests and not carried_token(git_http)
    assert TOKEN not in result.stdout + result.stderr
    assert len(remote.log()) == 1


def test_a_named_host_gets_the_named_token(
    git_http: GitHttpServer, http_remote: tuple[Remote, str]
) -> None:
    remote, url = http_remote
    result = run_updater(
        "set-image",
        "--repo",
        url,
        "--push",
        "--forge",
        "github",
        "--token-env",
        "DEPLOY_TOKEN",
        "ghcr.io/acme/api:1.1.0",
        env={"DEPLOY_TOKEN": TOKEN},
    )
    assert result.returncode == 0, result.stderr
    assert carried_token(git_http) and {r.host for r in git_http.requests} == {git_http.address}
    assert 'newTag: "1.1.0"' in remote.show(PROD)


def test_the_ci_platforms_own_server_gets_its_token(
    git_http: GitHttpServer, http_remote: tuple[Remote, str]
) -> None:
    """GITHUB_SERVER_URL names the GitHub this job runs on: its host is GitHub's."""
    _remote, url = http_remote
    result = run_updater(
        "set-image",
        "--repo",
        url,
        "--push",
        "ghcr.io/acme/api:1.1.0",
        env={"GITHUB_TOKEN": TOKEN, "GITHUB_SERVER_URL": git_http.url},
    )
    assert result.returncode == 0, result.stderr
    assert {r.user for r in git_http.requests if r.authorized} == {"x-access-token"}
    # ...and another port on the same address is another host.
    git_http.requests.clear()
    elsewhere = git_http.url.rsplit(":", 1)[0] + ":9"
    again = run_updater(
        "set-image",
        "--repo",
        url,
        "--push",
        "ghcr.io/acme/api:1.2.0",
        env={"GITHUB_TOKEN": TOKEN, "GITHUB_SERVER_URL": elsewhere},
    )
    assert again.returncode == 5 and not carried_token(git_http)


def test_a_redirect_to_another_host_carries_no_credential(
    git_http: GitHttpServer, other_host: GitHttpServer, tmp_path: Path
) -> None:
    """The token's host redirects to a server on another address that would accept the
    token: it never receives it, and nothing is pushed there."""
    target = Remote(other_host.root / "acme" / "config.git", SEED)
    git("config", "http.receivepack", "true", cwd=target.path)
    git_http.redirect_to = other_host.url
    url = f"{git_http.url}/acme/config.git"
    for variable_env in (
        {"UPDATER_REPO_CREDENTIALS": f"deploy:{TOKEN}"},
        {"DEPLOY_TOKEN": TOKEN},
    ):
        extra = [] if "UPDATER_REPO_CREDENTIALS" in variable_env else [
            "--forge", "github", "--token-env", "DEPLOY_TOKEN"
        ]  # fmt: skip
        result = run_updater(
            "set-image", "--repo", url, "--push", *extra, "ghcr.io/acme/api:1.1.0", env=variable_env
        )
        assert result.returncode == 5, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert TOKEN not in result.stdout + result.stderr
    assert git_http.requests and other_host.requests  # the redirect was followed...
    assert not carried_token(other_host)  # ...without the credential
    assert {r.host for r in other_host.requests} == {other_host.address}
    assert len(target.log()) == 1


def test_a_silent_server_ends_by_the_deadline() -> None:
    silent = SilentServer().start()
    try:
        result = run_updater(
            "set-image",
            "--repo",
            f"{silent.url}/acme/config.git",
            "--push",
            "--timeout",
            "3",
            "ghcr.io/acme/api:1.1.0",
            env={"UPDATER_REPO_CREDENTIALS": TOKEN},
            timeout=60,
        )
    finally:
        silent.stop()
    assert result.returncode == 5, result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "no answer in time" in line, line
    assert TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_run_removes_its_temporary_clone(
    remote: Remote, tmp_path: Path, signum: int
) -> None:
    """The push waits in a hook; the run is signalled with its clone on disk."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    started = tmp_path / "hook-started"
    remote.hook("pre-receive", f'touch "{started}"\nsleep 60\n')
    process = subprocess.Popen(
        [sys.executable, "-m", "updater", "set-image", "--repo", remote.url, "--push",
         "ghcr.io/acme/api:1.1.0"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "TMPDIR": str(scratch)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        for _ in range(1200):  # wait for the state, not for a time
            if started.exists() or process.poll() is not None:
                break
            time.sleep(0.05)
        assert started.exists(), "the push never reached the hook"
        assert [p.name for p in scratch.iterdir() if p.name.startswith("updater-")]
        process.send_signal(signum)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 128 + signum, err
    assert len(err.strip().splitlines()) == 1 and "interrupted" in err, err
    assert not [p for p in scratch.iterdir() if p.name.startswith("updater-")]


def test_a_token_echoed_by_a_hook_never_reaches_the_output(
    git_http: GitHttpServer, http_remote: tuple[Remote, str]
) -> None:
    """A pre-receive hook that prints the token in its rejection: git shows it as
    ``remote: …`` on stderr; the CLI's last redaction takes it out."""
    remote, url = http_remote
    remote.hook("pre-receive", f"echo 'rejected: bad credentials {TOKEN}' >&2\nexit 1\n")
    for flags in ([], ["--json"]):
        result = run_updater(
            "set-image",
            "--repo",
            url,
            "--push",
            *flags,
            "ghcr.io/acme/api:1.1.0",
            env={"UPDATER_REPO_CREDENTIALS": f"deploy:{TOKEN}"},
        )
        assert result.returncode == 5, result.stderr
        assert "pre-receive hook declined" in result.stderr
        assert "rejected: bad credentials ***" in result.stderr
        assert TOKEN not in result.stdout + result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_an_insteadof_to_another_host_carries_no_credential(
    git_http: GitHttpServer, other_host: GitHttpServer, git_sandbox: Path
) -> None:
    """The user's git config rewrites the --repo URL to another host: git asks that host
    for credentials, the helper gives none, and the message says why."""
    target = Remote(other_host.root / "acme" / "config.git", SEED)
    git("config", "--global", f"url.{other_host.url}/.insteadOf", f"{git_http.url}/")
    result = run_updater(
        "set-image", "--repo", f"{git_http.url}/acme/config.git", "--push",
        "--forge", "github", "--token-env", "DEPLOY_TOKEN", "ghcr.io/acme/api:1.1.0",
        env={"DEPLOY_TOKEN": TOKEN},
    )  # fmt: skip
    assert result.returncode == 5, result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "credentials of another host" in line, line
    assert "insteadOf" in line and TOKEN not in line
    assert other_host.requests and not carried_token(other_host)
    assert not git_http.requests and len(target.log()) == 1
