"""The action, the workflows and the GitLab files validate against the published schemas
(SchemaStore's github-action/github-workflow, GitLab's own ci.json)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.support.actions import load_yaml
from tests.support.gitlab_jobs import GLOBAL_KEYWORDS, load_pipeline, resolve_job
from tests.support.job_remote import ROOT, SCHEMAS

GITHUB_WORKFLOWS = sorted(
    [
        *(ROOT / "examples" / "github").glob("*.yml"),
        # The project's own: the release workflow and CI.
        *(ROOT / ".github" / "workflows").glob("*.yml"),
    ]
)
GITLAB_FILES = [
    ROOT / ".gitlab-ci-template.yml",
    *sorted((ROOT / "examples" / "gitlab").glob("*.yml")),
]
TEMPLATE = {".gitlab-ci-template.yml": ROOT / ".gitlab-ci-template.yml"}


@cache
def schema(name: str) -> dict[str, Any]:
    path = SCHEMAS / name
    if not path.is_file():
        pytest.skip(f"{path} is not there (shared/ sits beside the checkout)")
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def validate(instance: Any, schema_name: str, fragment: str = "") -> None:
    root = schema(schema_name)
    target = {"$ref": f"#{fragment}", "definitions": root["definitions"]} if fragment else root
    validator = jsonschema.Draft7Validator(target)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def test_there_are_examples() -> None:
    assert len(GITHUB_WORKFLOWS) >= 3
    assert ROOT / ".github" / "workflows" / "release.yml" in GITHUB_WORKFLOWS
    assert len(GITLAB_FILES) >= 3


def test_action_validates() -> None:
    validate(load_yaml(ROOT / "action.yml"), "github-action.json")


@pytest.mark.parametrize("path", GITHUB_WORKFLOWS, ids=lambda p: p.name)
def test_github_workflow_validates(path: Path) -> None:
    validate(load_yaml(path), "github-workflow.json")


@pytest.mark.parametrize("path", GITLAB_FILES, ids=lambda p: p.name)
def test_gitlab_file_validates(path: Path) -> None:
    validate(load_yaml(path), "gitlab-ci.json")


@pytest.mark.parametrize("path", GITLAB_FILES, ids=lambda p: p.name)
def test_every_gitlab_job_validates_as_a_job(path: Path) -> None:
    # The schema lets any hidden key (".name") be an arbitrary YAML anchor, so hidden jobs
    # are checked against the job definition explicitly, and every job once more after
    # `extends` has merged the template in.
    config = load_pipeline(path, TEMPLATE)
    jobs = [name for name in config if name not in GLOBAL_KEYWORDS]
    assert jobs
    for name in jobs:
        validate(config[name], "gitlab-ci.json", "/definitions/job_template")
        resolved = resolve_job(config, name)
        validate(resolved, "gitlab-ci.json", "/definitions/job_template")
        if not name.startswith("."):
            validate({**config, name: resolved}, "gitlab-ci.json")


def test_a_misspelt_key_in_a_hidden_job_is_caught() -> None:
    job = dict(load_yaml(ROOT / ".gitlab-ci-template.yml")[".image-updater"])
    job["scirpt"] = ["true"]
    with pytest.raises(AssertionError, match="scirpt"):
        validate(job, "gitlab-ci.json", "/definitions/job_template")
