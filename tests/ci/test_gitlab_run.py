"""The GitLab template, included and extended as in examples/gitlab, resolved the way
GitLab resolves it, and its job script run with CI_* variables against a bare remote."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.gitlab_jobs import (
    INCLUDES,
    JOB_TOKEN,
    SHA,
    TEMPLATE,
    JobRun,
    job_runs,
    job_variables,
    load_pipeline,
    parse_dotenv,
    predefined,
    resolve_job,
    run_script,
)
from tests.support.job_remote import ROOT, Remote

TOKEN = "glpat-TestOnlyProjectToken0123"


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    path = tmp_path / "builds" / "acme" / "api"
    path.mkdir(parents=True)
    return path


def run_job(
    example: str,
    job_name: str,
    *,
    project_dir: Path,
    project_variables: dict[str, str],
    base_env: dict[str, str],
    python_bin: Path,
    source: str = "push",
) -> tuple[dict[str, Any], JobRun]:
    config = load_pipeline(ROOT / "examples" / "gitlab" / example, INCLUDES)
    job = resolve_job(config, job_name)
    variables = job_variables(config, job, predefined(project_dir, source), project_variables)
    assert job_runs(job, variables)
    # before_script installs the bot from PyPI; here it is already importable.
    env = {**base_env, "PATH": f"{python_bin}:{base_env['PATH']}"}
    return job, run_script(list(job["script"]), variables, env, project_dir)


def test_template_shape() -> None:
    config = load_pipeline(TEMPLATE, {})
    job = config[".image-updater"]
    assert job["variables"]["UPDATER_IMAGES"] == "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA"
    for name in ("UPDATER_REPO", "UPDATER_MODE", "UPDATER_BRANCH", "UPDATER_PATHS"):
        assert name in job["variables"]
    assert "UPDATER_TOKEN" not in job["variables"]  # a masked project variable, never here
    assert job["artifacts"]["reports"]["dotenv"] == "gitops-updater.env"
    assert job["artifacts"]["when"] == "always"
    assert job["script"] == ["python -m updater.ci gitlab"]
    # The bot's image needs no install; a pip requirement is installed only when given.
    assert job["before_script"] == [
        'if [ -n "$UPDATER_PACKAGE" ]; then python -m pip install --quiet'
        ' --disable-pip-version-check "$UPDATER_PACKAGE"; fi'
    ]
    assert job["variables"]["UPDATER_PACKAGE"] == ""
    poll = resolve_job(config, ".image-updater-poll")
    assert poll["variables"]["UPDATER_COMMAND"] == "poll"
    assert poll["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]


def test_template_pins_the_bot_at_its_own_version() -> None:
    """The version is the git tag; the template pins the newest release in the changelog
    (the release workflow refuses a tag the template does not pin)."""
    version = re.search(r"^## \[(\d+\.\d+\.\d+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert version
    image = load_pipeline(TEMPLATE, {})[".image-updater"]["variables"]["UPDATER_IMAGE"]
    assert image == f"ghcr.io/gitops-updater/gitops-updater:{version.group(1)}"


def test_template_image_expands_to_the_bots_image(tmp_path: Path) -> None:
    config = load_pipeline(
        ROOT / "examples" / "gitlab" / "build-and-deploy.gitlab-ci.yml", INCLUDES
    )
    job = resolve_job(config, "update-config")
    variables = job_variables(config, job, predefined(tmp_path), {})
    image = re.sub(r"\$\{(\w+)\}", lambda m: variables[m.group(1)], job["image"]["name"])
    assert image.startswith("ghcr.io/gitops-updater/gitops-updater:")
    assert job["image"]["entrypoint"] == [""]
    assert variables["UPDATER_IMAGES"] == f"ghcr.io/acme/api:{SHA}"


@pytest.mark.parametrize(("source", "runs"), [("schedule", True), ("push", False), ("web", False)])
def test_poll_job_runs_only_in_schedule_pipelines(tmp_path: Path, source: str, runs: bool) -> None:
    config = load_pipeline(ROOT / "examples" / "gitlab" / "poll.gitlab-ci.yml", INCLUDES)
    job = resolve_job(config, "poll-images")
    variables = job_variables(config, job, predefined(tmp_path, source), {})
    assert job_runs(job, variables) is runs
    assert variables["UPDATER_COMMAND"] == "poll"
    assert variables["UPDATER_CONFIG"] == ".image-updater.yaml"


def test_update_job_pushes_and_writes_the_dotenv_report(
    remote: Remote, project_dir: Path, base_env: dict[str, str], python_bin: Path
) -> None:
    before = remote.head()
    job, result = run_job(
        "build-and-deploy.gitlab-ci.yml",
        "update-config",
        project_dir=project_dir,
        # Project/pipeline variables win over the job's own, as in GitLab.
        project_variables={
            "UPDATER_REPO": remote.url,
            "UPDATER_MODE": "push",
            "UPDATER_TOKEN": TOKEN,
        },
        base_env=base_env,
        python_bin=python_bin,
    )
    assert result.status == 0, result.stdout + result.stderr

    assert remote.head() != before
    staging = remote.show("apps/api/overlays/staging/kustomization.yaml")
    assert f'    newTag: "{SHA}"  # bumped by CI\n' in staging

    dotenv = parse_dotenv(project_dir / job["artifacts"]["reports"]["dotenv"])
    assert dotenv["UPDATER_RESULT_CHANGED"] == "true"
    assert dotenv["UPDATER_RESULT_COMMIT_SHA"] == remote.head()
    assert dotenv["UPDATER_RESULT_BRANCH"] == "main"
    assert dotenv["UPDATER_RESULT_STATUS"] == "0"
    assert "UPDATER_RESULT_MERGE_REQUEST_URL" not in dotenv
    # No output may override a setting of a later updater job.
    assert not set(dotenv) & set(job["variables"])
    [report_path] = job["artifacts"]["paths"]
    assert dotenv["UPDATER_RESULT_REPORT"] == report_path
    report = json.loads((project_dir / report_path).read_text())
    assert report["delivery"]["commit_sha"] == remote.head()
    assert f"ghcr.io/acme/api:1.4.0 -> ghcr.io/acme/api:{SHA}" in result.stdout
    assert "Image-Updater-Run: https://gitlab.example/acme/api/-/jobs/77\n" in remote.log()
    for text in (
        result.stdout,
        result.stderr,
        (project_dir / report_path).read_text(),
        remote.log(),
    ):
        assert TOKEN not in text and JOB_TOKEN not in text


def test_merge_request_mode_needs_a_real_token(
    remote: Remote, project_dir: Path, base_env: dict[str, str], python_bin: Path
) -> None:
    _, result = run_job(
        "build-and-deploy.gitlab-ci.yml",
        "update-config",
        project_dir=project_dir,
        project_variables={"UPDATER_REPO": remote.url},
        base_env=base_env,
        python_bin=python_bin,
    )
    assert result.status == 2
    assert "UPDATER_TOKEN: not set; CI_JOB_TOKEN cannot open merge requests" in result.stdout
    dotenv = parse_dotenv(project_dir / "gitops-updater.env")
    assert dotenv["UPDATER_RESULT_STATUS"] == "2"
    assert dotenv["UPDATER_RESULT_CHANGED"] == "false"
    assert JOB_TOKEN not in result.stdout + result.stderr


def test_poll_job_reports_a_missing_config_file(
    remote: Remote, project_dir: Path, base_env: dict[str, str], python_bin: Path
) -> None:
    _, result = run_job(
        "poll.gitlab-ci.yml",
        "poll-images",
        project_dir=project_dir,
        project_variables={"UPDATER_REPO": remote.url, "UPDATER_MODE": "push"},
        base_env=base_env,
        python_bin=python_bin,
        source="schedule",
    )
    assert result.status != 0
    assert ".image-updater.yaml" in result.stdout
    dotenv = parse_dotenv(project_dir / "gitops-updater.env")
    assert dotenv["UPDATER_RESULT_STATUS"] == str(result.status)
