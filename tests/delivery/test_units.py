"""Small pure pieces of delivery: URLs, redaction, push output, names, messages."""

from __future__ import annotations

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


def test_auth_environment_is_scoped_and_appended(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = remote.HttpAuth("tok-1234")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "2")
    env = git.auth_environment("https://github.com/acme/config.git", auth)
    assert env["GIT_CONFIG_COUNT"] == "3"
    assert env["GIT_CONFIG_KEY_2"] == "http.https://github.com/.extraHeader"
    assert env["GIT_CONFIG_VALUE_2"].startswith("Authorization: Basic ")
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert "GIT_CONFIG_COUNT" not in git.auth_environment("ssh://git@github.com/a/b", auth)


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


def test_commit_message_and_pr_texts(tmp_path: Path) -> None:
    from updater.edit.model import FileEdit, Plan, Record
    from updater.reference import parse_change
    from updater.report import (
        commit_message,
        proposal_images,
        pull_request_body,
        pull_request_title,
    )

    record = Record(
        "apps/k.yaml",
        7,
        "images[0].newTag",
        "kustomize",
        "ghcr.io/acme/api",
        "1.0.0",
        "1.1.0",
        "ghcr.io/acme/api:1.0.0",
        "ghcr.io/acme/api:1.1.0",
    )
    plan = Plan(
        tmp_path,
        (parse_change("ghcr.io/acme/api:1.1.0"),),
        edits=(FileEdit("apps/k.yaml", "a", "b", (record,)),),
    )
    message = commit_message(plan, base="main", skip_ci=True)
    assert message.splitlines()[0] == "Update ghcr.io/acme/api 1.0.0 -> 1.1.0 [skip ci]"
    assert "- apps/k.yaml:7 images[0].newTag: 1.0.0 -> 1.1.0" in message
    assert commit_message(plan, "{images}@{new} ({count}) {files} {base}", base="main") == (
        "ghcr.io/acme/api@1.1.0 (1) apps/k.yaml main\n"
    )
    assert pull_request_title(plan) == "Update ghcr.io/acme/api to 1.1.0"
    body = pull_request_body(plan, base="main", images=("ghcr.io/acme/api",))
    assert "| `ghcr.io/acme/api` | `1.0.0` | `1.1.0` | `apps/k.yaml` |" in body
    assert proposal_images(body) == ("ghcr.io/acme/api",)


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
