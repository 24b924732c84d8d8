"""Tokens over git HTTP: sent only as a per-process header, never stored, never shown."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.fakeforge import FakeForgeServer
from tests.support.gitserver import GitHttpServer
from tests.support.remotes import SEED, TOKEN, Remote, git, run_updater

pytestmark = pytest.mark.git_http

PROD = "apps/overlays/prod/kustomization.yaml"
SECRETS = (TOKEN, base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode())


def no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def authorized_only_after_a_challenge(server: GitHttpServer) -> bool:
    """git asks its credential helper after a 401: every request is either authorized
    or carries no credential at all."""
    requests = server.requests
    return any(r.authorized for r in requests) and all(
        r.authorized or not r.authorization for r in requests
    )


@pytest.fixture
def http_remote(git_http: GitHttpServer) -> tuple[Remote, str]:
    remote = Remote(git_http.root / "acme" / "config.git", SEED)
    git("config", "http.receivepack", "true", cwd=remote.path)
    return remote, f"{git_http.url}/acme/config.git"


def test_push_over_http_with_github_token(
    git_http: GitHttpServer, http_remote: tuple[Remote, str]
) -> None:
    remote, url = http_remote
    result = run_updater(
        "set-image",
        "--repo",
        url,
        "--push",
        "--json",
        "--forge",
        "github",
        "--token-env",
        "GITHUB_TOKEN",
        "ghcr.io/acme/api:1.1.0",
        env={"GITHUB_TOKEN": TOKEN},
    )
    assert result.returncode == 0, result.stderr
    no_secret(result.stdout, result.stderr)
    assert 'newTag: "1.1.0"' in remote.show(PROD)
    assert git_http.requests and authorized_only_after_a_challenge(git_http)
    assert {r.user for r in git_http.requests if r.authorized} == {"x-access-token"}
    assert any("git-receive-pack" in r.path for r in git_http.requests)
    assert all(TOKEN not in r.path + r.query for r in git_http.requests)


def test_token_env_and_gitlab_user_names(
    git_http: GitHttpServer, http_remote: tuple[Remote, str]
) -> None:
    _, url = http_remote
    result = run_updater(
        "set-image",
        "--repo",
        url,
        "--push",
        "--forge",
        "gitlab",
        "--token-env",
        "DEPLOY_TOKEN",
        "ghcr.io/acme/api:1.1.0",
        env={"DEPLOY_TOKEN": TOKEN},
    )
    assert result.returncode == 0, result.stderr
    assert {r.user for r in git_http.requests if r.authorized} == {"oauth2"}
    git_http.requests.clear()
    result = run_updater(
        "set-image",
        "--repo",
        url,
        "--push",
        "--forge",
        "gitlab",
        "ghcr.io/acme/api:1.2.0",
        env={"CI_JOB_TOKEN": TOKEN, "CI_SERVER_URL": git_http.url},  # this job's own GitLab
    )
    assert result.returncode == 0, result.stderr
    assert {r.user for r in git_http.requests if r.authorized} == {"gitlab-ci-token"}


@pytest.mark.parametrize("token", [None, "wrong-token-value"])
def test_missing_or_wrong_token(
    git_http: GitHttpServer, http_remote: tuple[Remote, str], token: str | None
) -> None:
    remote, url = http_remote
    env = {"GITHUB_TOKEN": token} if token else {}
    result = run_updater(
        "set-image", "--repo", url, "--push", "--forge", "github", "ghcr.io/acme/api:1.1.0", env=env
    )
    assert result.returncode == 5
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "authentication failed" in line, line
    assert "wrong-token-value" not in line
    assert len(remote.log()) == 1


@pytest.mark.parametrize(
    ("given", "env"),
    [
        ("url", {}),
        ("variable", {"UPDATER_REPO_CREDENTIALS": "deploy:wrong-secret-value"}),
        ("token-env", {"DEPLOY_TOKEN": "wrong-secret-value"}),
    ],
)
def test_rejected_credentials_are_named_as_rejected(
    git_http: GitHttpServer, http_remote: tuple[Remote, str], given: str, env: dict[str, str]
) -> None:
    """Credentials were sent to this host and refused: the advice is to check them, not
    to set GITHUB_TOKEN or name the host (which the command line did)."""
    remote, url = http_remote
    repo = url.replace("http://", "http://deploy:wrong-secret-value@") if given == "url" else url
    extra = ["--forge", "github", "--token-env", "DEPLOY_TOKEN"] if given == "token-env" else []
    result = run_updater(
        "set-image", "--repo", repo, "--push", *extra, "ghcr.io/acme/api:1.1.0", env=env
    )
    assert result.returncode == 5
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1, line
    assert "authentication failed: the credentials sent to this host were rejected" in line
    assert "GITHUB_TOKEN" not in line and "wrong-secret-value" not in line
    assert any(r.authorization for r in git_http.requests)
    assert len(remote.log()) == 1


def test_credentials_in_the_url_are_used_and_redacted(
    git_http: GitHttpServer, http_remote: tuple[Remote, str]
) -> None:
    _, url = http_remote
    secret_url = url.replace("http://", f"http://deploy:{TOKEN}@")
    ok = run_updater("set-image", "--repo", secret_url, "--push", "ghcr.io/acme/api:1.1.0")
    assert ok.returncode == 0, ok.stderr
    assert {r.user for r in git_http.requests if r.authorized} == {"deploy"}
    failing = run_updater(
        "set-image", "--repo", secret_url, "--branch", "missing", "--push", "ghcr.io/acme/api:1.1.0"
    )
    assert failing.returncode == 5
    no_secret(ok.stdout, ok.stderr, failing.stdout, failing.stderr)
    assert url in failing.stderr and "deploy" not in failing.stderr


def test_token_never_lands_in_git_config(
    git_http: GitHttpServer, http_remote: tuple[Remote, str], tmp_path: Path
) -> None:
    """During the run (read from inside the plan step) and after it, in the temporary
    clone and in a local checkout delivering through its remote."""
    from updater.commands.set_image import make_planner, parse_changes
    from updater.deliver import DeliveryOptions, DeliveryRequest, deliver

    _, url = http_remote
    inner = make_planner(parse_changes(("ghcr.io/acme/api:1.1.0",), ()), (), False)
    seen: list[str] = []

    def make_plan(root: Path):  # type: ignore[no-untyped-def]
        config = (root / ".git" / "config").read_text()
        seen.append(config)
        seen.append(git("remote", "get-url", "origin", cwd=root))
        return inner(root)

    os.environ["GITHUB_TOKEN"] = TOKEN
    try:
        result = deliver(
            DeliveryRequest(
                repo=url,
                mode="push",
                options=DeliveryOptions(forge="github", token_env="GITHUB_TOKEN"),
            ),
            make_plan,
        )
    finally:
        del os.environ["GITHUB_TOKEN"]
    assert result.pushed and seen
    no_secret(*seen)
    assert "extraheader" not in "".join(seen).lower()

    work = tmp_path / "work"
    subprocess.run(
        [
            "git",
            "-c",
            f"http.extraHeader=Authorization: Basic {SECRETS[1]}",
            "clone",
            "-q",
            url,
            str(work),
        ],
        check=True,
        capture_output=True,
    )
    run = run_updater(
        "set-image",
        "--repo",
        str(work),
        "--push",
        "--forge",
        "github",
        "--token-env",
        "GITHUB_TOKEN",
        "ghcr.io/acme/api:1.2.0",
        env={"GITHUB_TOKEN": TOKEN},
    )
    assert run.returncode == 0, run.stderr
    no_secret(run.stdout, run.stderr, (work / ".git" / "config").read_text())


def test_forge_failure_text_has_no_token(
    git_http: GitHttpServer, http_remote: tuple[Remote, str], forge: FakeForgeServer
) -> None:
    """The whole chain, failing at the forge: stdout, stderr and the exception text."""
    from updater.commands.set_image import make_planner, parse_changes
    from updater.deliver import DeliveryOptions, DeliveryRequest, deliver
    from updater.errors import UpdaterError

    remote, url = http_remote
    forge.github.add_repo("acme/config", git_dir=remote.path)
    forge.fail(
        "POST", r"/pulls$", 422, body={"message": f"Validation Failed: token {TOKEN} echoed"}
    )
    args = (
        "set-image",
        "--repo",
        url,
        "--pull-request",
        "--forge",
        "github",
        "--api-url",
        forge.url,
        "--token-env",
        "GITHUB_TOKEN",
        "ghcr.io/acme/api:1.1.0",
    )
    result = run_updater(*args, env={"GITHUB_TOKEN": TOKEN})
    assert result.returncode == 5 and "HTTP 422" in result.stderr
    no_secret(result.stdout, result.stderr)
    assert "***" in result.stderr  # the echoed token was redacted

    forge.fail("POST", r"/pulls$", 500, body={"message": f"boom {TOKEN}"})
    inner = make_planner(parse_changes(("ghcr.io/acme/api:1.1.0",), ()), (), False)
    os.environ["GITHUB_TOKEN"] = TOKEN
    try:
        with pytest.raises(UpdaterError) as caught:
            deliver(
                DeliveryRequest(
                    repo=url,
                    mode="pull-request",
                    options=DeliveryOptions(
                        forge="github", api_url=forge.url, token_env="GITHUB_TOKEN"
                    ),
                ),
                inner,
            )
    finally:
        del os.environ["GITHUB_TOKEN"]
    no_secret(str(caught.value), repr(caught.value))
    assert list(remote.branches()) == ["main"]


def test_pull_request_over_http_remote_derives_the_project(
    git_http: GitHttpServer, http_remote: tuple[Remote, str], forge: FakeForgeServer
) -> None:
    remote, url = http_remote
    forge.github.add_repo("acme/config", git_dir=remote.path)
    result = run_updater(
        "set-image",
        "--repo",
        url,
        "--pull-request",
        "--json",
        "--forge",
        "github",
        "--api-url",
        forge.url,
        "--token-env",
        "GH_TOKEN",
        "ghcr.io/acme/api:1.1.0",
        env={"GH_TOKEN": TOKEN},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["delivery"]["pull_request_action"] == "created"
    assert forge.requests[0].path == "/repos/acme/config"
    no_secret(result.stdout, result.stderr)


def test_repo_credentials_from_the_environment_stay_off_argv(
    git_http: GitHttpServer, http_remote: tuple[Remote, str], tmp_path: Path
) -> None:
    """UPDATER_REPO_CREDENTIALS carries what ``https://USER:SECRET@`` would, without argv."""
    remote, url = http_remote
    result = run_updater(
        "set-image",
        "--repo",
        url,
        "--push",
        "ghcr.io/acme/api:1.1.0",
        env={"UPDATER_REPO_CREDENTIALS": f"deploy:{TOKEN}"},
    )
    assert result.returncode == 0, result.stderr
    assert 'newTag: "1.1.0"' in remote.show(PROD)
    assert git_http.requests and authorized_only_after_a_challenge(git_http)
    assert {r.user for r in git_http.requests if r.authorized} == {"deploy"}
    no_secret(result.stdout, result.stderr)

    git_http.requests.clear()
    secret_only = run_updater(
        "set-image",
        "--repo",
        url,
        "--push",
        "ghcr.io/acme/api:1.2.0",
        env={"UPDATER_REPO_CREDENTIALS": TOKEN},
    )
    assert secret_only.returncode == 0, secret_only.stderr
    assert {r.user for r in git_http.requests if r.authorized} == {"x-access-token"}


@pytest.mark.parametrize(
    ("repo", "message"),
    [
        (".", "is not an http(s) URL"),
        ("http://deploy:inline-secret@127.0.0.1:9/acme/config.git", "give them one way"),
        ("http://127.0.0.1:9/acme/config.git", "expected USER:SECRET or SECRET"),
    ],
)
def test_repo_credentials_misuse_is_refused(repo: str, message: str, tmp_path: Path) -> None:
    value = "deploy:" if "USER:SECRET" in message else f"deploy:{TOKEN}"
    result = run_updater(
        "set-image",
        "--repo",
        repo,
        "--push",
        "ghcr.io/acme/api:1.1.0",
        env={"UPDATER_REPO_CREDENTIALS": value},
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    no_secret(result.stdout, result.stderr)
    assert "inline-secret" not in result.stderr


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_timeout_must_be_positive_seconds(value: str) -> None:
    result = run_updater("scan", "--timeout", value)
    assert result.returncode == 2 and "--timeout" in result.stderr
    from_env = run_updater("scan", env={"UPDATER_TIMEOUT": value})
    assert from_env.returncode == 2 and "--timeout" in from_env.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["scan", "--repo", f"/nowhere/https://deploy:{TOKEN}@git.example/c"],
        ["scan", "--json", "--repo", f"/nowhere/https://deploy:{TOKEN}@git.example/c"],
        ["set-image", "--repo", f"/nowhere/https://deploy:{TOKEN}@git.example/c", "a:1"],
        ["set-image", "--json", "--repo", f"/nowhere/https://deploy:{TOKEN}@git.example/c", "a:1"],
    ],
    ids=["scan", "scan-json", "set-image", "set-image-json"],
)
def test_the_last_redaction_takes_userinfo_out_of_every_line(args: list[str]) -> None:
    """Messages that quote --repo as given, before any clone's redactor knows the token:
    the CLI's own stdout/stderr are the last line of defence."""
    result = run_updater(*args)
    assert result.returncode == 2, result.stderr
    no_secret(result.stdout, result.stderr)
    assert "https://***@" in result.stderr
    if "--json" in args:
        assert "https://***@" in json.loads(result.stdout)["error"]["message"]


def test_percent_encoded_url_credentials_reach_the_server_decoded(tmp_path: Path) -> None:
    """git decodes the user-info of a URL (RFC 3986); a password with ``@``, ``:``, ``/``
    or ``%`` must arrive as the password itself, not as its encoding."""
    from urllib.parse import quote

    secret = "p@ss:w/rd%Z"
    server = GitHttpServer(tmp_path / "remotes", secret)
    if server.backend is None:
        pytest.skip("git http-backend is not installed")
    server.start()
    try:
        remote = Remote(server.root / "acme" / "config.git", SEED)
        git("config", "http.receivepack", "true", cwd=remote.path)
        host = server.url.split("://", 1)[1]
        url = f"http://bot%2B1:{quote(secret, safe='')}@{host}/acme/config.git"
        result = run_updater("set-image", "--repo", url, "--push", "ghcr.io/acme/api:1.1.0")
        assert result.returncode == 0, result.stderr
        assert 'newTag: "1.1.0"' in remote.show(PROD)
        assert {r.user for r in server.requests if r.authorized} == {"bot+1"}
        for text in (result.stdout, result.stderr):
            assert secret not in text and quote(secret, safe="") not in text
    finally:
        server.stop()
