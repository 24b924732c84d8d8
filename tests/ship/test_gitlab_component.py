"""The GitLab CI/CD component (templates/): a catalog-shaped ``spec: inputs:`` header,
the same job as the classic template, valid against GitLab's own CI schema, and its job
run by gitlab-ci-local (shell executor: ``image:`` is not run there) against a bare
remote on disk."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.ship.artifacts import ROOT, cache_root, git
from tests.ship.gitlab import defaults, interpolate, load_component
from tests.support.job_remote import SCHEMAS, make_remote

COMPONENT = ROOT / "templates" / "gitops-updater.yml"
TEMPLATE = ROOT / ".gitlab-ci-template.yml"
GITLAB_CI_LOCAL = "4.73.0"


def template() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe", pure=True).load(TEMPLATE.read_text("utf-8"))
    return loaded


def component_job(**inputs: Any) -> dict[str, Any]:
    header, config = load_component(COMPONENT)
    (job,) = interpolate(config, {**defaults(header), **inputs}).values()
    assert isinstance(job, dict)
    return job


def test_every_input_is_typed_documented_and_has_a_default() -> None:
    header, config = load_component(COMPONENT)
    inputs = header["spec"]["inputs"]
    assert set(header) == {"spec"}
    for name, spec in inputs.items():
        assert spec["type"] in {"string", "boolean", "array", "number"}, name
        assert "default" in spec, name
        assert len(spec["description"]) > 10, name
        if "options" in spec:
            assert spec["default"] in spec["options"], name
    used = set(json.dumps(config).split("inputs.")[1:])
    assert {part.split(" ")[0] for part in used} == set(inputs)
    # The token is a masked CI/CD variable: an input would be part of the configuration.
    assert not any("token" in name for name in inputs)


def test_component_job_is_the_classic_templates_job() -> None:
    job = component_job()
    classic = template()[".image-updater"]
    for key in ("script", "artifacts", "interruptible"):
        assert job[key] == classic[key], key
    assert job["image"] == {"name": classic["variables"]["UPDATER_IMAGE"], "entrypoint": [""]}
    settings = {k for k in classic["variables"] if k not in {"UPDATER_IMAGE", "UPDATER_PACKAGE"}}
    assert set(job["variables"]) == settings - {"PIP_ROOT_USER_ACTION"}
    assert "before_script" not in job
    assert job["variables"]["UPDATER_AUTO_MERGE"] == "false"
    assert job["rules"] == [{"when": "on_success"}]
    polling = component_job(
        command="poll", mode="", rules=[{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    )
    assert polling["rules"] == template()[".image-updater-poll"]["rules"]


def test_component_and_template_pass_gitlabs_schema() -> None:
    if not (SCHEMAS / "gitlab-ci.json").is_file():
        pytest.skip("../shared/schemas/gitlab-ci.json is absent (no shared/ beside the repo)")
    import jsonschema

    schema = json.loads((SCHEMAS / "gitlab-ci.json").read_text("utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    header, config = load_component(COMPONENT)
    documents = {
        "header": header,
        "job (defaults)": interpolate(config, defaults(header)),
        "job (poll)": interpolate(
            config, {**defaults(header), "command": "poll", "rules": [{"if": "$X"}]}
        ),
        "template": template(),
    }
    for label, document in documents.items():
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
        assert errors == [], label
    # And a header that is not of the catalog's shape is refused, so the check has teeth.
    broken = {"spec": {"inputs": {"stage": {"type": "boolean", "default": "deploy"}}}}
    assert list(validator.iter_errors(broken))


def gitlab_ci_local() -> str:
    found = os.environ.get("GITLAB_CI_LOCAL") or shutil.which("gitlab-ci-local")
    installed = cache_root() / "npm" / "node_modules" / ".bin" / "gitlab-ci-local"
    if not found and installed.exists():
        found = str(installed)
    assert found, (
        f"gitlab-ci-local is missing: scripts/run-tests installs it "
        f"(npm install --prefix {cache_root() / 'npm'} gitlab-ci-local@{GITLAB_CI_LOCAL})"
    )
    assert shutil.which("rsync"), "gitlab-ci-local needs rsync: apt-get install rsync"
    return found


CLASSIC = """\
stages: [deploy]
include:
  - local: .gitlab-ci-template.yml
update-config:
  stage: deploy
  extends: .image-updater
  variables:
    UPDATER_IMAGES: registry.example.com/acme/api:1.1.0
    UPDATER_REPO: {remote}
    UPDATER_MODE: push
"""
COMPONENT_INCLUDE = """\
stages: [deploy]
include:
  - component: gitlab.example.com/tools/gitops-updater/gitops-updater@{sha}
    inputs:
      job-name: update-config
      images: registry.example.com/acme/api:1.1.0
      repo: {remote}
      mode: push
"""


@pytest.mark.slow
@pytest.mark.parametrize("pipeline", [COMPONENT_INCLUDE, CLASSIC], ids=["component", "classic"])
def test_gitlab_ci_local_runs_the_job(tmp_path: Path, pipeline: str) -> None:
    """A project that includes the component from this repo at its commit (what
    gitlab-ci-local resolves locally), or the classic template with `extends`, and
    pushes to a config repo on disk."""
    binary = gitlab_ci_local()
    remote = make_remote(
        tmp_path / "remote",
        {
            "apps/api/kustomization.yaml": (
                "images:\n  - name: registry.example.com/acme/api\n    newTag: 1.0.0\n"
            )
        },
    )
    before = remote.head()
    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(ROOT / "templates", project / "templates")
    shutil.copy2(TEMPLATE, project / TEMPLATE.name)
    git("init", "-q", "-b", "main", cwd=project)
    git("remote", "add", "origin", "git@gitlab.example.com:tools/gitops-updater.git", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "component", cwd=project)
    sha = git("rev-parse", "HEAD", cwd=project).strip()
    (project / ".gitlab-ci.yml").write_text(
        pipeline.format(sha=sha, remote=remote.url), encoding="utf-8"
    )
    shim = tmp_path / "bin"
    shim.mkdir()
    # The job's `python` is the image's; here, this interpreter with the checkout.
    (shim / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', "utf-8")
    (shim / "python").chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": f"{shim}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
    }
    done = subprocess.run(
        # gitlab-ci-local gives a shell job the container's CI_PROJECT_DIR (/builds/...)
        # while running it in the project directory: say where it really is.
        [
            binary,
            "--force-shell-executor",
            "--no-color",
            "--variable",
            f"CI_PROJECT_DIR={project}",
            "update-config",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert remote.head() != before
    assert "newTag: 1.1.0" in remote.show("apps/api/kustomization.yaml")
    # The dotenv report, collected as an artifact report.
    artifacts = project / ".gitlab-ci-local" / "artifacts" / "update-config"
    dotenv = artifacts / ".gitlab-ci-reports" / "dotenv" / "gitops-updater.env"
    assert (artifacts / "gitops-updater-report.json").is_file()
    assert "UPDATER_RESULT_CHANGED=true" in dotenv.read_text("utf-8")
