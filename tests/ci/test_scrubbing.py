"""Every place a CI wrapper writes to is scrubbed on its own: a test per sink, so that
dropping the scrub of any one of them fails a test. The secrets are those the job
learnt (a token) and those it never saw (credentials in a URL quoted by an error)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.support.actions import parse_commands, parse_file_commands
from tests.support.gitlab_jobs import parse_dotenv
from updater.ci.github import GitHub
from updater.ci.gitlab import DOTENV_FILE, REPORT_FILE, GitLab
from updater.ci.invoke import CliResult, ErrorLine

TOKEN = "ghp_LearntToken0123456789abcdef"
URL_SECRET = "NeverLearnt9876"
LEAKY_URL = f"https://oauth2:{URL_SECRET}@git.example/acme/config.git"
SECRETS = (TOKEN, URL_SECRET)


def leaky_result() -> CliResult:
    """A result whose every field quotes both secrets (as a hostile remote could make
    the command line do, e.g. a pre-receive hook echoing them)."""
    leak = f"{TOKEN} {LEAKY_URL}"
    report = {
        "changed": True,
        "images": [
            {
                "repository": f"ghcr.io/acme/{leak}",
                "old_refs": [leak],
                "new_ref": leak,
                "files": [f"{leak}.yaml"],
            }
        ],
        "delivery": {
            "commit_sha": leak,
            "branch": leak,
            "pull_request_url": f"https://git.example/pull/1?{leak}",
            "pull_request_action": leak,
        },
    }
    errors = (ErrorLine(f"push refused: remote: {leak}", f"{leak}.yaml", 3),)
    return CliResult(5, report, errors, stderr=f"updater: error: remote: {leak}\n")


@pytest.fixture
def github_run(tmp_path: Path) -> dict[str, str]:
    """What GitHub's publish wrote, by sink."""
    output, summary = tmp_path / "output", tmp_path / "summary"
    output.write_text("")
    summary.write_text("")
    out = io.StringIO()
    system = GitHub({"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}, out)
    system.secrets.learn({"UPDATER_TOKEN": TOKEN})
    system.publish(leaky_result(), None)
    stdout = out.getvalue()
    commands = parse_commands(stdout)
    sinks = {
        # The log: what the runner shows, minus the ::add-mask:: line that hides the token.
        "log": "\n".join(
            line for line in stdout.splitlines() if not line.startswith("::add-mask::")
        ),
        "annotation": json.dumps([(c.data, c.properties) for c in commands if c.name == "error"]),
        "notice": json.dumps([c.data for c in commands if c.name == "notice"]),
        "summary": summary.read_text(),
    }
    for name, value in parse_file_commands(output.read_text()).items():
        sinks[f"output {name}"] = value
    return sinks


GITHUB_SINKS = [
    "log",
    "annotation",
    "notice",
    "summary",
    "output commit-sha",
    "output branch",
    "output pull-request-url",
    "output report",
]


@pytest.mark.parametrize("sink", GITHUB_SINKS)
def test_github_sink_is_scrubbed(github_run: dict[str, str], sink: str) -> None:
    text = github_run[sink]
    assert text, f"{sink}: nothing written, so nothing proven"
    for secret in SECRETS:
        assert secret not in text, f"{sink} shows {secret}"


def test_github_announces_the_token_before_anything_else(github_run: dict[str, str]) -> None:
    out = io.StringIO()
    system = GitHub({}, out)
    system.secrets.learn({"UPDATER_TOKEN": TOKEN})
    assert out.getvalue() == f"::add-mask::{TOKEN}\n"


@pytest.fixture
def gitlab_run(tmp_path: Path) -> dict[str, str]:
    out = io.StringIO()
    system = GitLab({"CI_PROJECT_DIR": str(tmp_path)}, out)
    system.secrets.learn({"UPDATER_TOKEN": TOKEN})
    system.publish(leaky_result(), None)
    dotenv = parse_dotenv(tmp_path / DOTENV_FILE)
    return {
        "log": out.getvalue(),
        "report": (tmp_path / REPORT_FILE).read_text(),
        **{f"dotenv {key}": value for key, value in dotenv.items()},
    }


GITLAB_SINKS = [
    "log",
    "report",
    "dotenv UPDATER_RESULT_COMMIT_SHA",
    "dotenv UPDATER_RESULT_BRANCH",
    "dotenv UPDATER_RESULT_MERGE_REQUEST_URL",
]


@pytest.mark.parametrize("sink", GITLAB_SINKS)
def test_gitlab_sink_is_scrubbed(gitlab_run: dict[str, str], sink: str) -> None:
    text = gitlab_run[sink]
    assert text, f"{sink}: nothing written, so nothing proven"
    for secret in SECRETS:
        assert secret not in text, f"{sink} shows {secret}"
    assert "[MASKED]" in text or "***@" in text


@pytest.mark.parametrize(
    ("env", "secret"),
    [
        ({"UPDATER_TOKEN": "tok-1234567"}, "tok-1234567"),
        ({"CI_JOB_TOKEN": "glcbt-64_job"}, "glcbt-64_job"),
        ({"GITLAB_TOKEN": "glpat-abcdef"}, "glpat-abcdef"),
        ({"GH_TOKEN": "gho_abcdef"}, "gho_abcdef"),
        ({"UPDATER_REPO_CREDENTIALS": "oauth2:s3cr3t-value"}, "s3cr3t-value"),
        ({"UPDATER_REPO_CREDENTIALS": "lone-s3cr3t"}, "lone-s3cr3t"),
        (
            {"DOCKER_AUTH_CONFIG": '{"auths": {"r.example": {"auth": "dTpwYXNzd29yZDE="}}}'},
            "password1",
        ),
        (
            {"DOCKER_AUTH_CONFIG": '{"auths": {"r.example": {"identitytoken": "idtok-99"}}}'},
            "idtok-99",
        ),
    ],
)
def test_every_secret_of_the_environment_is_masked(env: dict[str, str], secret: str) -> None:
    out = io.StringIO()
    system = GitHub({}, out)
    system.secrets.learn(env)
    assert f"::add-mask::{secret}" in out.getvalue().splitlines()
    assert secret not in system.secrets.scrub(f"x {secret} y")


def test_wire_forms_of_a_secret_are_scrubbed_too() -> None:
    import base64

    system = GitHub({}, io.StringIO())
    system.secrets.learn({"UPDATER_TOKEN": "p@ss/w0rd"})
    header = base64.b64encode(b"x-access-token:p@ss/w0rd").decode()
    text = system.secrets.scrub(f"Authorization: Basic {header} https://h/?t=p%40ss%2Fw0rd")
    assert header not in text and "p%40ss%2Fw0rd" not in text
