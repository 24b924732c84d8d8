"""``command: promote`` in the CI wrappers: settings -> argv, and the GitLab template's
promote job (examples/gitlab/promote.gitlab-ci.yml) run against a bare remote."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.promote.test_promote import ENVIRONMENTS, FILES, kustomization
from tests.support.gitlab_jobs import (
    INCLUDES,
    job_runs,
    job_variables,
    load_pipeline,
    predefined,
    resolve_job,
    run_script,
)
from tests.support.job_remote import make_remote
from updater.ci.github import GitHub
from updater.ci.job import read_job
from updater.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
GITHUB_ENV = {
    "GITHUB_SERVER_URL": "https://github.example",
    "GITHUB_API_URL": "https://github.example/api/v3",
    "GITHUB_REPOSITORY": "acme/config",
}


def argv(**settings: str) -> list[str]:
    env = {**GITHUB_ENV, "UPDATER_COMMAND": "promote", **settings}
    return read_job(GitHub(env, io.StringIO()), env)[0].argv()


def test_argv_for_promote(tmp_path: Path) -> None:
    assert argv(UPDATER_ENVIRONMENT="prod", UPDATER_REPO=str(tmp_path)) == [
        "promote", "--repo", str(tmp_path), "--to", "prod", "--all", "--deliver", "--json",
        "--forge", "github", "--api-url", "https://github.example/api/v3",
    ]  # fmt: skip
    assert argv(
        UPDATER_ENVIRONMENT="prod",
        UPDATER_CONFIG=".image-updater.yaml",
        UPDATER_IMAGES="ghcr.io/acme/web, -x",
        UPDATER_MODE="pull-request",
        UPDATER_LABELS="promotion",
    ) == [
        "promote", "--repo", "https://github.example/acme/config.git",
        "--config", ".image-updater.yaml", "--to", "prod",
        "--image=ghcr.io/acme/web", "--image=-x",  # one word each: never read as a flag
        "--pull-request", "--json", "--forge", "github",
        "--api-url", "https://github.example/api/v3", "--label", "promotion",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "input 'environment': promote needs the environment to promote to"),
        (
            {"UPDATER_ENVIRONMENT": "prod"},
            "input 'config': promote of a remote repo needs the path of its config file",
        ),
    ],
)
def test_bad_promote_settings_name_the_input(settings: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        argv(**settings)


def test_gitlab_promote_job_promotes_and_pushes(
    tmp_path: Path,
    base_env: dict[str, str],
    python_bin: Path,
) -> None:
    files = {**FILES, ".image-updater.yaml": ENVIRONMENTS}
    remote = make_remote(tmp_path / "remote", files)
    project_dir = tmp_path / "builds" / "acme" / "config"
    project_dir.mkdir(parents=True)
    (project_dir / ".image-updater.yaml").write_text(ENVIRONMENTS)
    config = load_pipeline(ROOT / "examples" / "gitlab" / "promote.gitlab-ci.yml", INCLUDES)
    job = resolve_job(config, "promote-prod")
    assert job["variables"]["UPDATER_COMMAND"] == "promote"
    variables = job_variables(
        config,
        job,
        predefined(project_dir, source="schedule"),
        {"UPDATER_REPO": remote.url, "UPDATER_MODE": "push", "UPDATER_IMAGES": "api"},
    )
    assert job_runs(job, variables)
    env = {**base_env, "PATH": f"{python_bin}:{base_env['PATH']}"}
    result = run_script(list(job["script"]), variables, env, project_dir)
    assert result.status == 0, result.stdout + result.stderr
    assert remote.show("apps/api/overlays/prod/kustomization.yaml") == kustomization(
        "mirror.prod/acme/api", "1.5.0"
    )
    assert "tag: 2.0.0" in remote.show("apps/web/overlays/prod/values.yaml")  # not asked for
    assert "gitops-updater promote" in result.stdout
