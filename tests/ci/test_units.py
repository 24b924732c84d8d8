"""updater.ci piece by piece: settings -> argv, error lines, escaping, dotenv, summary."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.support.actions import parse_commands, parse_file_commands
from updater.ci.github import GitHub, command, output_entry
from updater.ci.gitlab import GitLab, dotenv
from updater.ci.invoke import ErrorLine, read_result
from updater.ci.job import child_env, read_job
from updater.ci.repo import take_credentials
from updater.ci.settings import Settings
from updater.ci.summary import markdown
from updater.errors import UsageError

GITHUB_ENV = {
    "GITHUB_SERVER_URL": "https://github.example",
    "GITHUB_API_URL": "https://github.example/api/v3",
    "GITHUB_REPOSITORY": "acme/app",
}


def github(**settings: str) -> Settings:
    env = {**GITHUB_ENV, **settings}
    return read_job(GitHub(env, io.StringIO()), env)[0]


def test_argv_for_a_pull_request() -> None:
    settings = github(
        UPDATER_IMAGES="ghcr.io/acme/api:1.5.0,\nghcr.io/acme/worker:2.1.0",
        UPDATER_REPO="acme/config",
        UPDATER_PATHS="apps/api\napps/worker, clusters/prod",
        UPDATER_TOKEN="t0k3n",
        UPDATER_BRANCH="release",
        UPDATER_COMMIT_MESSAGE="deploy {summary}",
        UPDATER_LABELS="deploy, needs review",
        UPDATER_REVIEWERS="@alice bob",
        UPDATER_AUTO_MERGE="true",
        UPDATER_ARGS="--draft --assignee 'carol'",
    )
    assert settings.argv() == [
        "set-image",
        "--repo", "https://github.example/acme/config.git",
        "--path", "apps/api", "--path", "apps/worker", "--path", "clusters/prod",
        "--pull-request", "--json",
        "--token-env", "UPDATER_TOKEN",
        "--forge", "github",
        "--branch", "release",
        "--message", "deploy {summary}",
        "--api-url", "https://github.example/api/v3",
        "--label", "deploy", "--label", "needs review",
        "--reviewer", "alice", "--reviewer", "bob",
        "--auto-merge",
        "--draft", "--assignee", "carol",
        "--", "ghcr.io/acme/api:1.5.0", "ghcr.io/acme/worker:2.1.0",
    ]  # fmt: skip


def test_argv_for_poll_in_a_workspace_directory(tmp_path: Path) -> None:
    settings = github(
        UPDATER_COMMAND="poll",
        UPDATER_CONFIG=".image-updater.yaml",
        UPDATER_REPO=str(tmp_path),
        UPDATER_MODE="push",
        UPDATER_TOKEN="t0k3n",
        UPDATER_LABELS="ignored outside pull-request mode",
    )
    assert settings.argv() == [
        "poll", "--repo", str(tmp_path), "--config", ".image-updater.yaml", "--push", "--json",
        "--token-env", "UPDATER_TOKEN", "--forge", "github",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("repo", "url"),
    [
        ("", "https://github.example/acme/app.git"),
        ("acme/config", "https://github.example/acme/config.git"),
        ("acme/config.git", "https://github.example/acme/config.git"),
        ("https://git.example/x/y.git", "https://git.example/x/y.git"),
        ("git@github.example:acme/config.git", "git@github.example:acme/config.git"),
        ("file:///srv/config.git", "file:///srv/config.git"),
    ],
)
def test_github_repo_forms(repo: str, url: str) -> None:
    assert github(UPDATER_IMAGES="a:1", UPDATER_REPO=repo).repo == url


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"UPDATER_COMMAND": "deploy"}, "input 'command': 'deploy' is not one of set-image, poll"),
        ({"UPDATER_MODE": "yolo"}, "input 'mode': 'yolo' is not one of dry-run, write"),
        ({}, "input 'images': set-image needs at least one image reference"),
        ({"UPDATER_COMMAND": "poll"}, "input 'config': poll of a remote repo needs the path"),
        ({"UPDATER_IMAGES": "a:1", "UPDATER_REPO": "no such dir"}, "input 'repo': 'no such dir'"),
        ({"UPDATER_IMAGES": "a:1", "UPDATER_ARGS": "'open"}, "input 'args': No closing quotation"),
    ],
)
def test_bad_settings_name_the_input(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        github(**env)
    assert str(caught.value).startswith(message)


def gitlab(**env: str) -> Settings:
    base = {"CI_SERVER_URL": "https://gitlab.example", "CI_PROJECT_PATH": "acme/api"}
    merged = {**base, **env}
    return read_job(GitLab(merged, io.StringIO()), merged)[0]


def test_gitlab_merge_request_alias_and_project_paths() -> None:
    settings = gitlab(
        UPDATER_IMAGES="registry.gitlab.example/acme/api:1.2.3",
        UPDATER_REPO="acme/deploy/config",
        UPDATER_MODE="merge-request",
        UPDATER_TOKEN="glpat",
    )
    assert settings.mode == "pull-request"
    assert settings.repo == "https://gitlab.example/acme/deploy/config.git"
    args = settings.argv()
    assert args[args.index("--forge") + 1] == "gitlab"
    assert args[args.index("--api-url") + 1] == "https://gitlab.example"


def test_gitlab_falls_back_to_the_job_token_for_push_only() -> None:
    settings = gitlab(UPDATER_IMAGES="a:1", UPDATER_MODE="push", CI_JOB_TOKEN="jt")
    assert settings.repo == "https://gitlab.example/acme/api.git"
    assert settings.token_variable == "CI_JOB_TOKEN"
    with pytest.raises(UsageError, match=r"^UPDATER_TOKEN: not set; CI_JOB_TOKEN cannot open"):
        gitlab(UPDATER_IMAGES="a:1", UPDATER_MODE="merge-request", CI_JOB_TOKEN="jt")


@pytest.mark.parametrize(
    ("stdout", "stderr", "expected"),
    [
        (
            '{"error": {"file": "apps/a.yaml", "line": 12, "message": "duplicate key"}}',
            "updater: error: apps/a.yaml:12: duplicate key",
            ErrorLine("duplicate key", "apps/a.yaml", 12),
        ),
        (
            '{"error": {"file": "a.yaml", "line": null, "message": "symlink leaves"}}',
            "",
            ErrorLine("symlink leaves", "a.yaml"),
        ),
        (
            '{"error": {"file": null, "line": null, "message": "--repo x: not a directory"}}',
            "",
            ErrorLine("--repo x: not a directory"),
        ),
        # No structured error (click refused an option): the line, never parsed for a place.
        ("", "Usage: ...\nError: No such option: --bogus", ErrorLine("No such option: --bogus")),
        ("", "updater: error: a.yaml:3: bad", ErrorLine("a.yaml:3: bad")),
        ("", "Traceback ...\nKeyError: 'x'", ErrorLine("updater exited with status 3")),
    ],
)
def test_errors_come_from_the_json_report(stdout: str, stderr: str, expected: ErrorLine) -> None:
    assert read_result(3, stdout, stderr).errors == (expected,)


def test_result_without_a_report_is_a_failure() -> None:
    result = read_result(0, "not json", "")
    assert result.status == 1
    assert result.errors == (ErrorLine("the command line did not print a JSON report"),)


def test_poll_report_partial_failure() -> None:
    report = {
        "images": [
            {"name": "ghcr.io/acme/api", "current": "1.4.0", "chosen": "1.5.0", "reason": "semver"},
            {"name": "ghcr.io/acme/worker", "current": "2.0.0", "chosen": None, "error": "401"},
        ],
        "plan": {
            "changed": True,
            "images": [
                {
                    "repository": "ghcr.io/acme/api",
                    "old_refs": ["ghcr.io/acme/api:1.4.0"],
                    "new_ref": "ghcr.io/acme/api:1.5.0",
                    "files": ["a.yaml"],
                }
            ],
        },
        "delivery": {"commit_sha": "abc", "branch": "main"},
        "failed": 1,
    }
    stderr = "updater: error: ghcr.io/acme/worker: 401\n"
    result = read_result(5, json.dumps(report), stderr)
    assert result.changed
    assert [e.text for e in result.errors] == ["401"]
    text = markdown(result, None)
    assert (
        "<td><code>ghcr.io/acme/worker</code></td><td><code>2.0.0</code></td><td>error: 401</td>"
        in text
    )
    assert (
        "<td><code>ghcr.io/acme/api</code></td><td><code>ghcr.io/acme/api:1.4.0</code></td>" in text
    )
    assert "<p>Commit: <code>abc</code> on <code>main</code></p>" in text
    out = io.StringIO()
    GitHub({}, out).publish(result, None)
    errors = [c for c in parse_commands(out.getvalue()) if c.name == "error"]
    assert [e.data for e in errors] == ["401"]


def test_workflow_command_escaping_round_trips() -> None:
    line = command("error", "50% done\nnext: line", file="a,b:c.yaml", line="3")
    assert "\n" not in line
    [parsed] = parse_commands(line)
    assert parsed.name == "error"
    assert parsed.data == "50% done\nnext: line"
    assert parsed.properties == {"file": "a,b:c.yaml", "line": "3"}


def test_output_entries_survive_any_value() -> None:
    value = 'multi\nline\nname=forged\n{"json": true}'
    text = output_entry("report", value) + output_entry("changed", "true")
    assert parse_file_commands(text) == {"report": value, "changed": "true"}


def test_echoed_text_cannot_issue_commands() -> None:
    out = io.StringIO()
    platform = GitHub({}, out)
    platform.secrets.add("s3cret")
    platform.echo("::error::forged\n::add-mask::x\nleaked s3cret\n")
    commands = parse_commands(out.getvalue())
    assert [c.name for c in commands] == ["add-mask"]
    assert "leaked ***" in out.getvalue()
    assert "leaked s3cret" not in out.getvalue()


def test_dotenv_is_what_gitlab_accepts() -> None:
    text = dotenv({"A": "1", "EMPTY": "", "MULTI": "x\ny  z"})
    assert text == "A=1\nMULTI=x y z\n"
    with pytest.raises(ValueError):
        dotenv({"BAD-KEY": "1"})


def test_poll_without_a_mode_leaves_it_to_the_config(tmp_path: Path) -> None:
    # Without a mode flag the command line only prints a diff: the wrapper says --deliver
    # so that a schedule delivers the way the config's delivery.mode says.
    settings = gitlab(UPDATER_COMMAND="poll", UPDATER_REPO=str(tmp_path), UPDATER_IMAGES="a:1")
    assert settings.mode == "deliver"
    assert settings.images == ()
    assert settings.argv() == [
        "poll", "--repo", str(tmp_path), "--deliver", "--json",
        "--forge", "gitlab", "--api-url", "https://gitlab.example",
    ]  # fmt: skip
    remote = gitlab(UPDATER_COMMAND="poll", UPDATER_CONFIG="c.yaml", UPDATER_LABELS="x")
    assert remote.argv() == [
        "poll", "--repo", "https://gitlab.example/acme/api.git", "--config", "c.yaml",
        "--deliver", "--json", "--forge", "gitlab", "--api-url", "https://gitlab.example",
        "--label", "x",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("url", "clean", "credentials"),
    [
        (
            "https://oauth2:s3cret@git.example/a/b.git",
            "https://git.example/a/b.git",
            "oauth2:s3cret",
        ),
        ("https://tok3n@git.example/a.git", "https://git.example/a.git", "tok3n"),
        (
            "https://u:p%40ss%3A1@git.example:8443/a.git",
            "https://git.example:8443/a.git",
            "u:p@ss:1",
        ),
        ("https://git.example/a.git", "https://git.example/a.git", None),
        ("ssh://git@git.example/a.git", "ssh://git@git.example/a.git", None),
        ("git@git.example:a/b.git", "git@git.example:a/b.git", None),
        ("file:///srv/a.git", "file:///srv/a.git", None),
    ],
)
def test_credentials_are_taken_out_of_the_url(
    url: str, clean: str, credentials: str | None
) -> None:
    found, taken = take_credentials(url, "UPDATER_REPO")
    assert found == clean
    assert (taken.value if taken else None) == credentials


def test_a_password_in_an_ssh_url_is_refused_without_showing_it() -> None:
    with pytest.raises(UsageError) as caught:
        take_credentials("ssh://git:hunter22@git.example/a.git", "UPDATER_REPO")
    assert "hunter22" not in str(caught.value)
    assert str(caught.value).startswith("UPDATER_REPO: ssh://***@git.example/a.git: a password")


def test_a_bad_repo_setting_is_quoted_without_its_secret() -> None:
    with pytest.raises(UsageError) as caught:
        github(UPDATER_IMAGES="a:1", UPDATER_REPO="oauth2:hunter22@nowhere/x y")
    assert "hunter22" not in str(caught.value)
    assert "'***@nowhere/x y' is not a directory" in str(caught.value)


def test_the_job_s_forge_is_named_only_for_a_repo_on_it() -> None:
    on_forge = github(UPDATER_IMAGES="a:1", UPDATER_REPO="https://github.example/acme/c.git")
    assert "--forge" in on_forge.argv() and "--api-url" in on_forge.argv()
    for elsewhere in ("https://git.example/acme/c.git", "https://github.example.evil/acme/c.git"):
        args = github(UPDATER_IMAGES="a:1", UPDATER_REPO=elsewhere).argv()
        assert "--forge" not in args and "--api-url" not in args, elsewhere
    # GitLab's job token is GitLab's: never offered to another host.
    other = gitlab(
        UPDATER_IMAGES="a:1",
        UPDATER_MODE="push",
        CI_JOB_TOKEN="jt",
        UPDATER_REPO="https://git.example/a/b.git",
    )
    assert other.token_variable == ""


def test_child_gets_the_credentials_in_its_environment_only() -> None:
    env = {
        **GITHUB_ENV,
        "UPDATER_IMAGES": "a:1",
        "UPDATER_REPO": "https://oauth2:s3cr3t@git.example/a/b.git",
    }
    system = GitHub(env, io.StringIO())
    settings, credentials = read_job(system, env)
    assert "s3cr3t" not in " ".join(settings.argv())
    child = child_env(env, settings, credentials)
    assert child["UPDATER_REPO_CREDENTIALS"] == "oauth2:s3cr3t"
    assert child["UPDATER_REPO"] == "https://git.example/a/b.git"
    assert system.secrets.scrub("s3cr3t") == "***"


@pytest.mark.parametrize("command", ["poll", "set-image"])
def test_a_mode_flag_in_args_replaces_the_default_mode(tmp_path: Path, command: str) -> None:
    settings = gitlab(
        UPDATER_COMMAND=command,
        UPDATER_REPO=str(tmp_path),
        UPDATER_IMAGES="a:1",
        UPDATER_ARGS="--push",
        UPDATER_BRANCH="main",
    )
    assert settings.mode == ""
    args = settings.argv()
    assert [arg for arg in args if arg in ("--push", "--deliver", "--pull-request")] == ["--push"]
    assert args[args.index("--branch") + 1] == "main"
