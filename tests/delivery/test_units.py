"""Small pure pieces of delivery: URLs, redaction, push output, names, results."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from updater import git, remote
from updater.deliver import DeliveryOptions, bot_branch
from updater.errors import UsageError
from updater.forges import default_api_url, detect_kind, find_token, settings_for


def test_split_credentials_and_redaction() -> None:
    url, user, secret = remote.split_credentials(
        "https://bot:s3cr3t-token@github.com/acme/config.git"
    )
    assert (url, user, secret) == ("https://github.com/acme/config.git", "bot", "s3cr3t-token")
    redact = remote.Redactor(["s3cr3t-token"])
    assert redact("fatal: https://bot:s3cr3t-token@github.com/x and s3cr3t-token") == (
        "fatal: https://***@github.com/x and ***"
    )
    assert remote.redact_url("https://x:y@host/p") == "https://host/p"


@pytest.mark.parametrize(
    ("text", "is_remote"),
    [
        ("https://github.com/acme/config.git", True),
        ("ssh://git@gitlab.com/acme/config.git", True),
        ("git@github.com:acme/config.git", True),
        ("file:///srv/config.git", True),
        (".", False),
        ("configs/prod", False),
    ],
)
def test_is_remote_url(text: str, is_remote: bool) -> None:
    assert remote.is_remote_url(text) is is_remote


def test_url_parts() -> None:
    assert remote.url_host("git@github.com:acme/config.git") == "github.com"
    assert remote.url_path("git@github.com:acme/config.git") == "acme/config"
    assert remote.url_path("https://gitlab.example.com/group/sub/config.git") == "group/sub/config"


def test_auth_environment_binds_a_helper_to_one_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = remote.HttpAuth("tok-1234", origin=remote.origin("https://github.com/acme/x.git"))
    monkeypatch.setenv("GIT_CONFIG_COUNT", "2")
    env = git.auth_environment("https://github.com/acme/config.git", auth)
    keys = {env[f"GIT_CONFIG_KEY_{i}"]: env[f"GIT_CONFIG_VALUE_{i}"] for i in range(2, 8)}
    assert env["GIT_CONFIG_COUNT"] == "8"  # appended after the caller's own two
    assert keys["http.followRedirects"] == "initial"
    assert keys["core.hooksPath"] == os.devnull  # no hook of the user's runs
    assert keys["http.lowSpeedTime"] and keys["http.lowSpeedLimit"]
    assert keys["credential.helper"].startswith("!")  # ours, after an empty reset
    assert env["UPDATER_GIT_PROTOCOL"] == "https"
    assert env["UPDATER_GIT_HOSTS"].split() == ["github.com", "github.com:443"]
    assert "tok-1234" not in "".join(keys.values())  # the secret only in its own variable
    assert not any("extraheader" in k.lower() for k in keys)
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    ssh = git.auth_environment("ssh://git@github.com/a/b", auth)
    assert "UPDATER_GIT_PASSWORD" not in ssh


def test_origins_are_exact() -> None:
    assert remote.origin("https://GitHub.com/a") == "https://github.com:443"
    assert remote.origin("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080"
    assert remote.origin("https://[::1]/x") == "https://[::1]:443"
    assert remote.origin("ssh://git@github.com/a") == ""
    assert remote.origin("https://github.com:443/a") == remote.origin("https://github.com/a")
    assert remote.origin("http://github.com/a") != remote.origin("https://github.com/a")


@pytest.mark.parametrize(
    "host",
    [
        "github.evil.example",
        "notgithub.com",
        "github.com.evil.example",
        "gitlab.evil.example",
        "my-gitlab.example",
        "www.github.com",
    ],
)
def test_a_name_containing_a_forge_is_not_that_forge(host: str) -> None:
    trust = remote.Trust(environ={"GITHUB_TOKEN": "gh-secret", "GITLAB_TOKEN": "gl-secret"})
    url = f"https://{host}/acme/config.git"
    assert trust.known_kind(url) is None
    assert trust.token_for(url, None) == (None, None)
    assert remote.git_auth(url, None, None, trust) == (None, None)
    with pytest.raises(UsageError, match="pass --forge"):
        detect_kind(url, None, trust)


def test_which_token_goes_where() -> None:
    env = {
        "GITHUB_TOKEN": "gh-secret",
        "GITLAB_TOKEN": "gl-secret",
        "CI_JOB_TOKEN": "job-secret",
        "CI_SERVER_URL": "https://gitlab.corp.example",
        "GITHUB_SERVER_URL": "https://ghe.corp.example",
        "DEPLOY": "deploy-secret",
    }
    trust = remote.Trust(environ=env)
    assert trust.token_for("https://github.com/a/b.git", None) == ("gh-secret", "GITHUB_TOKEN")
    assert trust.token_for("https://ghe.corp.example/a/b.git", None)[0] == "gh-secret"
    assert trust.token_for("https://gitlab.com/a/b.git", None)[0] == "gl-secret"
    assert trust.token_for("https://gitlab.corp.example/a/b.git", None)[0] == "gl-secret"
    assert trust.token_for("http://github.com/a/b.git", None) == (None, None)  # not over http
    assert trust.token_for("https://git.corp.example/a/b.git", None) == (None, None)
    # --forge alone names no host; with --token-env it does.
    forge_only = remote.Trust(forge="github", environ=env)
    assert forge_only.token_for("https://git.corp.example/a.git", "github") == (None, None)
    named = remote.Trust(forge="github", token_env="DEPLOY", environ=env)
    assert named.token_for("https://git.corp.example/a.git", "github")[0] == "deploy-secret"
    # --api-url with --forge makes that host the forge's own.
    api = remote.Trust(forge="gitlab", api_url="https://git.corp.example", environ=env)
    assert api.token_for("https://git.corp.example/a.git", "gitlab")[0] == "gl-secret"
    # A job token belongs to its own server only.
    job_only = remote.Trust(environ={"CI_JOB_TOKEN": "job", "CI_SERVER_URL": "https://gl.corp"})
    assert job_only.token_for("https://gl.corp/a.git", None) == ("job", "CI_JOB_TOKEN")
    assert job_only.token_for("https://gitlab.com/a.git", None) == (None, None)
    auth, _ = remote.git_auth("https://gl.corp/a.git", None, None, job_only)
    assert auth is not None and auth.username == "gitlab-ci-token"
    assert auth.origin == "https://gl.corp:443"


def test_forge_api_tokens_stay_with_their_host() -> None:
    env = {"GITHUB_TOKEN": "gh-secret"}
    settings = settings_for(
        "https://github.com/acme/config.git",
        forge=None, api_url=None, project=None, token_env=None, environ=env,
    )  # fmt: skip
    assert settings.api_url == "https://api.github.com" and settings.token == "gh-secret"
    with pytest.raises(UsageError, match=r"not sending GITHUB_TOKEN to ghe\.corp\.example"):
        settings_for(
            "https://ghe.corp.example/acme/config.git",
            forge="github", api_url=None, project=None, token_env=None, environ=env,
        )  # fmt: skip
    named = settings_for(
        "https://ghe.corp.example/acme/config.git",
        forge="github", api_url="https://ghe.corp.example/api/v3", project=None,
        token_env=None, environ=env,
    )  # fmt: skip
    assert named.token == "gh-secret"


def test_push_porcelain_parsing() -> None:
    ref = "refs/heads/main"
    ok = git._parse_push(0, f"To x\n \tabc:{ref}\t[new branch]\nDone\n", "", ref)
    assert ok.ok
    race = git._parse_push(1, f"To x\n!\tabc:{ref}\t[rejected] (fetch first)\nDone\n", "", ref)
    assert not race.ok and race.retryable and race.reason == "fetch first"
    lock = git._parse_push(1, f"!\tabc:{ref}\t[remote rejected] (failed to update ref)\n", "", ref)
    assert lock.retryable
    hook = git._parse_push(
        1,
        f"!\tabc:{ref}\t[remote rejected] (pre-receive hook declined)\n",
        "remote: no pushes\n",
        ref,
    )
    assert not hook.retryable and hook.message == "pre-receive hook declined (remote: no pushes)"


def test_identity() -> None:
    assert (
        str(git.Identity.parse("Release Bot <bot@example.com>")) == "Release Bot <bot@example.com>"
    )
    with pytest.raises(UsageError):
        git.Identity.parse("no email")


def test_bot_branch_is_deterministic() -> None:
    assert bot_branch("main", ["ghcr.io/acme/api"]) == "updater/main/acme-api"
    assert bot_branch("main", ["docker.io/library/nginx"]) == "updater/main/nginx"
    both = bot_branch("main", ["ghcr.io/acme/web", "ghcr.io/acme/api"])
    assert (
        both
        == "updater/main/acme-api_acme-web"
        == bot_branch("main", ["ghcr.io/acme/api", "ghcr.io/acme/web"])
    )
    many = bot_branch("release/1.x", [f"ghcr.io/acme/service-number-{i}" for i in range(20)])
    assert many.startswith("updater/release/1.x/") and len(many) < 120


def test_forge_detection_and_tokens() -> None:
    assert detect_kind("https://github.com/a/b.git", None) == "github"
    assert detect_kind("git@gitlab.com:a/b.git", None) == "gitlab"
    assert detect_kind("https://git.example.com/a/b.git", "gitlab") == "gitlab"
    with pytest.raises(UsageError):
        detect_kind("https://git.example.com/a/b.git", None)
    assert default_api_url("github", "https://github.com/a/b") == "https://api.github.com"
    assert (
        default_api_url("github", "https://ghe.example.com/a/b") == "https://ghe.example.com/api/v3"
    )
    assert (
        default_api_url("gitlab", "git@gitlab.example.com:g/p.git") == "https://gitlab.example.com"
    )
    assert find_token("github", None, {"GH_TOKEN": "a"}) == ("a", "GH_TOKEN")
    assert find_token("gitlab", None, {"CI_JOB_TOKEN": "j"}) == ("j", "CI_JOB_TOKEN")
    with pytest.raises(UsageError):
        find_token("github", "NOPE", {})
    settings = settings_for(
        "https://gitlab.com/group/sub/proj.git",
        forge=None,
        api_url=None,
        project=None,
        token_env=None,
        environ={"GITLAB_TOKEN": "t"},
    )
    assert (settings.kind, settings.project, settings.api_url) == (
        "gitlab",
        "group/sub/proj",
        "https://gitlab.com",
    )


def test_delivery_options() -> None:
    options = DeliveryOptions.from_mapping({"labels": ("a,b", "b", "c"), "max_retries": 3})
    assert options.labels == ("a", "b", "c") and options.max_retries == 3
    with pytest.raises(UsageError):
        DeliveryOptions.from_mapping({"bogus": 1})


def test_delivery_result_describe(tmp_path: Path) -> None:
    from updater.deliver import DeliveryResult
    from updater.edit.model import Plan

    plan = Plan(tmp_path, ())
    pushed = DeliveryResult(plan, "push", commit_sha="a" * 40, base="main", pushed=True, attempts=3)
    assert pushed.describe() == "pushed aaaaaaaaaaaa to main (after 2 lost race(s))"
    assert DeliveryResult(plan, "push", base="main").describe() == (
        "main is already up to date; nothing pushed"
    )
    opened = DeliveryResult(
        plan,
        "pull-request",
        branch="updater/main/x",
        base="main",
        pull_request_url="https://h/p/1",
        pull_request_action="created",
    )
    assert opened.describe() == "opened https://h/p/1 (branch updater/main/x)"
    assert DeliveryResult(plan, "dry-run").describe() == ""


def test_failure_reason_is_what_git_said_went_wrong(tmp_path: Path) -> None:
    import subprocess

    missing = tmp_path / "nowhere.git"
    done = subprocess.run(
        ["git", "ls-remote", "--heads", "--", missing.as_uri()], capture_output=True, text=True
    )
    assert done.returncode != 0 and "Could not read from remote repository" in done.stderr
    assert git.failure_reason(done.stderr) == (
        f"fatal: '{missing}' does not appear to be a git repository"
    )
    # ssh's answer, and a protected branch: the reason comes before git's follow-up
    assert (
        git.failure_reason(
            "ERROR: Repository not found.\nfatal: Could not read from remote repository.\n\n"
            "Please make sure you have the correct access rights\nand the repository exists.\n"
        )
        == "ERROR: Repository not found."
    )
    assert (
        git.failure_reason(
            "remote: error: GH006: Protected branch update failed for refs/heads/main.\n"
            "To https://github.com/acme/config.git\n ! [remote rejected] main -> main\n"
            "error: failed to push some refs to 'https://github.com/acme/config.git'\n"
        )
        == "remote: error: GH006: Protected branch update failed for refs/heads/main."
    )
    assert git.failure_reason("error: failed to push some refs to 'x'\n") == (
        "error: failed to push some refs to 'x'"
    )
    assert git.failure_reason("something odd\n") == "something odd"
    assert git.failure_reason("") == ""
