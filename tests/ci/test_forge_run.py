"""Pull/merge-request mode end to end: the action and the GitLab job, with the token given
the CI way, against a smart-HTTP git remote that demands it and the loopback forge fake
of tests/delivery (real PyGithub / python-gitlab over real HTTP, every request recorded)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import fakeforge as fakes
from tests.support import gitserver
from tests.support.actions import run_action
from tests.support.gitlab_jobs import (
    INCLUDES,
    job_variables,
    load_pipeline,
    parse_dotenv,
    predefined,
    resolve_job,
    run_script,
)
from tests.support.job_remote import CONFIG_FILES, ROOT, Remote, make_remote

pytestmark = [pytest.mark.forge, pytest.mark.git_http]

TOKEN = "ghp_TestOnlyCiToken0123456789SECRET"


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[Any, Any, Remote]]:
    remote = make_remote(tmp_path / "remotes" / "acme", CONFIG_FILES)
    git_http = gitserver.GitHttpServer(tmp_path / "remotes", TOKEN)
    if git_http.backend is None:
        pytest.skip("git http-backend is not installed")
    forge = fakes.FakeForgeServer(TOKEN).start()
    git_http.start()
    try:
        yield forge, git_http, remote
    finally:
        git_http.stop()
        forge.stop()


def action_runner(
    servers: tuple[Any, Any, Remote], tmp_path: Path, base_env: dict[str, str]
) -> Any:
    forge, git_http, remote = servers
    forge.github.add_repo("acme/config", git_dir=remote.path)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    temp = tmp_path / "runner-temp"
    temp.mkdir()

    def run(**inputs: str) -> Any:
        return run_action(
            ROOT,
            inputs={
                "images": "ghcr.io/acme/api:1.5.0",
                "repo": f"{git_http.url}/acme/config.git",
                # Passed the way a workflow passes an App or PAT token.
                "token": TOKEN,
                **inputs,
            },
            github={
                "token": "ghs_the_job_token_is_not_used",
                "server_url": git_http.url,
                "api_url": forge.url,
                "repository": "acme/app",
                "action_path": str(ROOT),
            },
            runner={"os": "Linux", "temp": str(temp)},
            workspace=workspace,
            base_env=base_env,
            uses_outputs={
                "actions/setup-python": {"python-path": sys.executable},
                "actions/cache": {},
            },
            replace={"install": {"python": sys.executable}},
        )

    return run


def test_action_opens_one_pull_request_and_reports_it(
    servers: tuple[Any, Any, Remote], tmp_path: Path, base_env: dict[str, str]
) -> None:
    forge, _, remote = servers
    run = action_runner(servers, tmp_path, base_env)

    first = run(labels="deploy")
    assert first.status == 0, first.stdout + first.steps["run"].stderr
    pulls = forge.github.repos["acme/config"].pulls
    assert len(pulls) == 1
    [pull] = pulls.values()
    assert pull.labels == ["deploy"]
    url = first.outputs["pull-request-url"]
    assert url.endswith(f"/pull/{pull.number}") or url.endswith(f"/pulls/{pull.number}")
    assert first.outputs["changed"] == "true"
    assert first.outputs["commit-sha"] == remote.head(pull.head)
    assert f'<a href="{url}">' in first.summary
    notices = [c for c in first.commands if c.name == "notice"]
    assert notices and url in notices[0].data
    report = json.loads(first.outputs["report"])
    assert report["delivery"]["pull_request_action"] == "created"
    for record in forge.requests:
        assert record.headers.get("authorization", "").endswith(TOKEN), record

    # The same run again updates nothing and opens no second pull request.
    second = run(labels="deploy")
    assert second.status == 0, second.stdout
    assert len(pulls) == 1
    assert second.outputs["pull-request-url"] == url  # the same pull request, reported again
    assert json.loads(second.outputs["report"])["delivery"]["pull_request_action"] == "unchanged"
    assert second.outputs["commit-sha"] == first.outputs["commit-sha"] == remote.head(pull.head)
    for result in (first, second):
        text = result.stdout + result.summary + json.dumps(result.outputs)
        assert text.count(TOKEN) == text.count(f"::add-mask::{TOKEN}")
    assert TOKEN not in remote.log(pull.head)


def test_action_requests_reviewers(
    servers: tuple[Any, Any, Remote], tmp_path: Path, base_env: dict[str, str]
) -> None:
    forge, _, _ = servers
    result = action_runner(servers, tmp_path, base_env)(reviewers="@alice, bob")
    assert result.status == 0, result.stdout + result.steps["run"].stderr
    [pull] = forge.github.repos["acme/config"].pulls.values()
    assert pull.reviewers == ["alice", "bob"]


def test_gitlab_job_opens_a_merge_request_and_exports_it(
    servers: tuple[Any, Any, Remote],
    tmp_path: Path,
    base_env: dict[str, str],
    python_bin: Path,
) -> None:
    forge, git_http, remote = servers
    forge.gitlab.add_project("acme/config", git_dir=remote.path)
    project_dir = tmp_path / "builds" / "acme" / "api"
    project_dir.mkdir(parents=True)
    config = load_pipeline(
        ROOT / "examples" / "gitlab" / "build-and-deploy.gitlab-ci.yml", INCLUDES
    )
    job = resolve_job(config, "update-config")
    ci = {**predefined(project_dir), "CI_SERVER_URL": forge.url}
    variables = job_variables(
        config,
        job,
        ci,
        {"UPDATER_REPO": f"{git_http.url}/acme/config.git", "UPDATER_TOKEN": TOKEN},
    )
    env = {**base_env, "PATH": f"{python_bin}:{base_env['PATH']}"}
    result = run_script(list(job["script"]), variables, env, project_dir)
    assert result.status == 0, result.stdout + result.stderr

    [mr] = forge.gitlab.projects["acme/config"].mrs.values()
    assert mr.labels == ["deploy", "staging"]
    assert mr.target_branch == "main"
    dotenv = parse_dotenv(project_dir / "gitops-updater.env")
    assert dotenv["UPDATER_RESULT_CHANGED"] == "true"
    assert dotenv["UPDATER_RESULT_MERGE_REQUEST_URL"].endswith(f"/merge_requests/{mr.iid}")
    assert dotenv["UPDATER_RESULT_COMMIT_SHA"] == remote.head(mr.source_branch)
    assert TOKEN not in result.stdout + result.stderr
    assert TOKEN not in (project_dir / "gitops-updater-report.json").read_text()
