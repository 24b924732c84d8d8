"""Scheduled polling through both integrations, end to end: the real registry on
127.0.0.1 (htpasswd auth) with credentials handed over the CI way (docker's config.json
as docker/login-action leaves it; GitLab's DOCKER_AUTH_CONFIG variable), the config
file in the job's checkout, and the change pushed to a bare remote."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.actions import run_action
from tests.support.gitlab_jobs import (
    INCLUDES,
    job_runs,
    job_variables,
    load_pipeline,
    parse_dotenv,
    predefined,
    resolve_job,
    run_script,
)
from tests.support.job_remote import ROOT, make_remote
from tests.support.registry import REGISTRY_BIN, start_registry

pytestmark = [pytest.mark.registry, pytest.mark.slow]

USER, PASSWORD = "ci-robot", "Pa55-for-tests-only"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not Path(REGISTRY_BIN).exists():
        pytest.skip(f"{REGISTRY_BIN} is not installed")
    started = start_registry(tmp_path_factory.mktemp("registry"), basic={USER: PASSWORD})
    yield started
    started.stop()


def auth_json(host: str) -> str:
    pair = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    return json.dumps({"auths": {host: {"auth": pair}}})


def setup(registry: Any, tmp_path: Path, name: str, delivery: str = "") -> tuple[Any, Path, str]:
    image = f"{registry.host}/acme/{name}"
    registry.push_image(f"acme/{name}", ["1.0.0", "1.1.0", "1.2.0", "2.0.0-rc.1"])
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n"
        "  template:\n    spec:\n      containers:\n        - name: app\n"
        f"          image: {image}:1.0.0  # polled\n"
    )
    config = (
        "images:\n"
        f"  - name: {image}\n"
        "    policy: semver\n"
        '    range: "^1.0.0"\n'
        "registries:\n"
        f"  - host: {registry.host}\n"
        "    insecure: true\n"
        f"{delivery}"
    )
    files = {"deploy/app.yaml": deployment, ".image-updater.yaml": config}
    remote = make_remote(tmp_path / "remote", files)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / ".image-updater.yaml").write_text(config)
    return remote, checkout, image


def test_action_poll_pushes_the_newest_allowed_tag(
    registry: Any, tmp_path: Path, base_env: dict[str, str]
) -> None:
    remote, workspace, image = setup(registry, tmp_path, "polled-by-action")
    docker = Path(base_env["HOME"]) / ".docker"
    docker.mkdir()
    (docker / "config.json").write_text(auth_json(registry.host))
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    result = run_action(
        ROOT,
        inputs={
            "command": "poll",
            "config": ".image-updater.yaml",
            "repo": remote.url,
            "mode": "push",
        },
        github={
            "token": "ghs_unused",
            "server_url": "https://github.example",
            "api_url": "https://github.example/api/v3",
            "repository": "acme/config",
            "action_path": str(ROOT),
        },
        runner={"os": "Linux", "temp": str(temp)},
        workspace=workspace,
        base_env=base_env,
        uses_outputs={"actions/setup-python": {"python-path": sys.executable}, "actions/cache": {}},
        replace={"install": {"python": sys.executable}},
    )
    step = result.steps["run"]
    assert result.status == 0, step.stdout + step.stderr
    assert result.outputs["changed"] == "true"
    assert result.outputs["commit-sha"] == remote.head()
    assert remote.show("deploy/app.yaml").endswith(f"image: {image}:1.2.0  # polled\n")
    assert f"<td><code>{image}</code></td><td><code>1.0.0</code></td><td>1.2.0" in result.summary
    assert f"<code>{image}:1.2.0</code>" in result.summary
    assert PASSWORD not in result.stdout + result.summary + json.dumps(result.outputs)


def run_poll_action(
    workspace: Path, base_env: dict[str, str], inputs: dict[str, str], temp: Path
) -> Any:
    temp.mkdir()
    return run_action(
        ROOT,
        inputs={"command": "poll", "config": ".image-updater.yaml", **inputs},
        github={
            "token": "ghs_unused",
            "server_url": "https://github.example",
            "api_url": "https://github.example/api/v3",
            "repository": "acme/config",
            "action_path": str(ROOT),
        },
        runner={"os": "Linux", "temp": str(temp)},
        workspace=workspace,
        base_env=base_env,
        uses_outputs={"actions/setup-python": {"python-path": sys.executable}, "actions/cache": {}},
        replace={"install": {"python": sys.executable}},
    )


def test_action_poll_without_a_mode_delivers_as_the_config_says(
    registry: Any, tmp_path: Path, base_env: dict[str, str]
) -> None:
    # A bare `poll` only prints a diff; the action passes --deliver, so a schedule
    # with no `mode:` input still pushes the way the config's delivery.mode says.
    delivery = "delivery:\n  mode: push\n"
    remote, workspace, image = setup(registry, tmp_path, "mode-from-config", delivery)
    docker = Path(base_env["HOME"]) / ".docker"
    docker.mkdir()
    (docker / "config.json").write_text(auth_json(registry.host))
    result = run_poll_action(workspace, base_env, {"repo": remote.url}, tmp_path / "temp")
    step = result.steps["run"]
    assert result.status == 0, step.stdout + step.stderr
    assert remote.show("deploy/app.yaml").endswith(f"image: {image}:1.2.0  # polled\n")
    assert result.outputs["changed"] == "true"
    assert result.outputs["commit-sha"] == remote.head()
    assert "gitops-updater poll (mode from the config)" in result.summary


def test_action_poll_mode_input_wins_over_the_config(
    registry: Any, tmp_path: Path, base_env: dict[str, str]
) -> None:
    delivery = "delivery:\n  mode: push\n"
    remote, workspace, image = setup(registry, tmp_path, "mode-from-input", delivery)
    before = remote.head()
    docker = Path(base_env["HOME"]) / ".docker"
    docker.mkdir()
    (docker / "config.json").write_text(auth_json(registry.host))
    inputs = {"repo": remote.url, "mode": "dry-run"}
    result = run_poll_action(workspace, base_env, inputs, tmp_path / "temp")
    step = result.steps["run"]
    assert result.status == 0, step.stdout + step.stderr
    assert remote.head() == before
    assert result.outputs["changed"] == "true"
    assert result.outputs["commit-sha"] == ""
    assert "gitops-updater poll (dry-run)" in step.stdout
    assert f"{image}:1.0.0 -> {image}:1.2.0  (deploy/app.yaml)" in step.stdout


def test_gitlab_poll_job_without_a_mode_delivers_as_the_config_says(
    registry: Any, tmp_path: Path, base_env: dict[str, str], python_bin: Path
) -> None:
    delivery = "delivery:\n  mode: push\n"
    remote, project_dir, image = setup(registry, tmp_path, "gitlab-mode-from-config", delivery)
    config = load_pipeline(ROOT / "examples" / "gitlab" / "poll.gitlab-ci.yml", INCLUDES)
    # The template's poll job as it comes, with no UPDATER_MODE of the project's own.
    config["poll-images"] = {
        "extends": ".image-updater-poll",
        "variables": {"UPDATER_CONFIG": ".image-updater.yaml"},
    }
    job = resolve_job(config, "poll-images")
    variables = job_variables(
        config,
        job,
        predefined(project_dir, source="schedule"),
        {"UPDATER_REPO": remote.url, "DOCKER_AUTH_CONFIG": auth_json(registry.host)},
    )
    assert variables["UPDATER_MODE"] == ""
    assert job_runs(job, variables)
    env = {**base_env, "PATH": f"{python_bin}:{base_env['PATH']}"}
    result = run_script(list(job["script"]), variables, env, project_dir)
    assert result.status == 0, result.stdout + result.stderr
    assert remote.show("deploy/app.yaml").endswith(f"image: {image}:1.2.0  # polled\n")
    dotenv = parse_dotenv(project_dir / "gitops-updater.env")
    assert dotenv["UPDATER_RESULT_COMMIT_SHA"] == remote.head()


def test_gitlab_poll_job_uses_docker_auth_config(
    registry: Any, tmp_path: Path, base_env: dict[str, str], python_bin: Path
) -> None:
    remote, project_dir, image = setup(registry, tmp_path, "polled-by-gitlab")
    config = load_pipeline(ROOT / "examples" / "gitlab" / "poll.gitlab-ci.yml", INCLUDES)
    job = resolve_job(config, "poll-images")
    variables = job_variables(
        config,
        job,
        predefined(project_dir, source="schedule"),
        # Project CI/CD variables, as an admin would set them.
        {
            "UPDATER_REPO": remote.url,
            "UPDATER_MODE": "push",
            "DOCKER_AUTH_CONFIG": auth_json(registry.host),
        },
    )
    assert job_runs(job, variables)
    env = {**base_env, "PATH": f"{python_bin}:{base_env['PATH']}"}
    result = run_script(list(job["script"]), variables, env, project_dir)
    assert result.status == 0, result.stdout + result.stderr
    assert remote.show("deploy/app.yaml").endswith(f"image: {image}:1.2.0  # polled\n")
    dotenv = parse_dotenv(project_dir / "gitops-updater.env")
    assert dotenv["UPDATER_RESULT_CHANGED"] == "true"
    assert dotenv["UPDATER_RESULT_COMMIT_SHA"] == remote.head()
    assert f"{image} (now 1.0.0): 1.2.0" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
