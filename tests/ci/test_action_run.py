"""action.yml executed: its bash steps run for real against a config repo behind a bare
remote on disk; setup-python and actions/cache are stood in for, and the install step is
replaced by this interpreter with the checkout on PYTHONPATH (see actions.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.actions import ActionRun, run_action
from tests.support.job_remote import ROOT, Remote, git, make_remote

TOKEN = "ghs_TestOnlyJobToken0123456789abcdef"
RunAction = Callable[..., ActionRun]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


@pytest.fixture
def run(tmp_path: Path, workspace: Path, base_env: dict[str, str]) -> RunAction:
    temp = tmp_path / "runner-temp"
    temp.mkdir()

    def go(inputs: dict[str, str], *, real_install: bool = False) -> ActionRun:
        github = {
            "token": TOKEN,
            "server_url": "https://github.example",
            "api_url": "http://127.0.0.1:9/api/v3",
            "repository": "acme/app",
            "run_id": "4242",
            "action_path": str(ROOT),
            "workspace": str(workspace),
        }
        return run_action(
            ROOT,
            inputs=inputs,
            github=github,
            runner={"os": "Linux", "temp": str(temp)},
            workspace=workspace,
            base_env=base_env,
            uses_outputs={
                "actions/setup-python": {"python-path": sys.executable, "python-version": "3"},
                "actions/cache": {"cache-hit": "false"},
            },
            replace={} if real_install else {"install": {"python": sys.executable}},
        )

    return go


def assert_no_token(result: ActionRun, remote: Remote | None = None) -> None:
    """The token shows up only in the ::add-mask:: line that hides it."""
    for step in result.steps.values():
        for line in (step.stdout + step.stderr).splitlines():
            assert TOKEN not in line or line == f"::add-mask::{TOKEN}", line
    assert TOKEN not in result.summary
    assert TOKEN not in json.dumps(result.outputs)
    if remote is not None:
        assert TOKEN not in remote.log()
        assert TOKEN not in (remote.path / "config").read_text()


def test_push_sets_outputs_and_summary(run: RunAction, remote: Remote) -> None:
    before = remote.head()
    result = run(
        {
            "images": "ghcr.io/acme/api:1.5.0",
            "repo": remote.url,
            "mode": "push",
            "paths": "apps/api",
        }
    )
    assert result.status == 0, result.stdout + result.steps["run"].stderr

    assert result.outputs["changed"] == "true"
    assert result.outputs["commit-sha"] == remote.head() != before
    assert result.outputs["pull-request-url"] == ""
    report = json.loads(result.outputs["report"])
    assert report["changed"] is True
    assert {c["file"] for c in report["changes"]} == {
        "apps/api/overlays/staging/kustomization.yaml",
        "apps/api/base/deployment.yaml",
    }
    assert report["delivery"]["commit_sha"] == result.outputs["commit-sha"]

    # Only the tag bytes changed on the remote.
    assert remote.show("apps/api/overlays/staging/kustomization.yaml").endswith(
        '    newTag: "1.5.0"  # bumped by CI\n'
    )
    assert "image: ghcr.io/acme/api:1.5.0\n" in remote.show("apps/api/base/deployment.yaml")
    # the commit's trailers name the workflow run that made it
    assert "Image-Updater-Run: https://github.example/acme/app/actions/runs/4242\n" in remote.log()

    summary = result.summary
    assert "gitops-updater set-image (push)" in summary
    assert "<code>docker.io" not in summary
    assert "<code>ghcr.io/acme/api:1.4.0</code>" in summary
    assert "<code>ghcr.io/acme/api:1.5.0</code>" in summary
    assert "<code>apps/api/overlays/staging/kustomization.yaml</code>" in summary
    assert f"Commit: <code>{remote.head()}</code>" in summary
    assert result.errors() == []
    assert result.commands[0].name == "add-mask" and result.commands[0].data == TOKEN
    assert_no_token(result, remote)


def test_dry_run_changes_nothing_and_says_what_it_would_do(run: RunAction, remote: Remote) -> None:
    before = remote.head()
    result = run({"images": "ghcr.io/acme/api:1.5.0", "repo": remote.url, "mode": "dry-run"})
    assert result.status == 0, result.stdout
    assert result.outputs["changed"] == "true"
    assert result.outputs["commit-sha"] == ""
    assert remote.head() == before
    assert "<code>ghcr.io/acme/api:1.5.0</code>" in result.summary


def test_second_run_is_up_to_date(run: RunAction, remote: Remote) -> None:
    inputs = {"images": "ghcr.io/acme/api:1.5.0", "repo": remote.url, "mode": "push"}
    first = run(inputs)
    assert first.status == 0, first.stdout
    head = remote.head()
    second = run(inputs)
    assert second.status == 0, second.stdout
    assert second.outputs["changed"] == "false"
    assert second.outputs["commit-sha"] == ""  # nothing was committed this time
    assert remote.head() == head
    assert "<p>Already up to date: <code>ghcr.io/acme/api:1.5.0</code></p>" in second.summary


def test_image_referenced_nowhere_fails_with_an_annotation(run: RunAction, remote: Remote) -> None:
    before = remote.head()
    result = run({"images": "ghcr.io/acme/nothing:1.0.0", "repo": remote.url, "mode": "push"})
    assert result.status != 0
    assert result.outputs["changed"] == "false"
    [error] = result.errors()
    assert "ghcr.io/acme/nothing:1.0.0" in error.data
    assert "referenced nowhere" in error.data
    assert error.properties["title"] == "gitops-updater"
    assert "<p><strong>Failed:</strong> " in result.summary
    assert remote.head() == before


def test_unsafe_file_becomes_a_file_and_line_annotation(
    run: RunAction, tmp_path: Path, workspace: Path
) -> None:
    files = {
        "apps/api/values.yaml": "image:\n  repository: ghcr.io/acme/api\n  tag: 1.4.0\n",
        # Two `image` keys: the bot cannot tell which one is meant and must refuse.
        "apps/api/deploy.yaml": (
            "kind: Pod\nspec:\n  containers:\n    - name: api\n"
            "      image: ghcr.io/acme/api:1.4.0\n      image: ghcr.io/acme/api:1.3.0\n"
        ),
    }
    remote = make_remote(tmp_path / "bad", files)
    # A config repo that is a directory of the workspace: annotations link to it.
    git("clone", "-q", str(remote.path), str(workspace / "config"), cwd=tmp_path)
    result = run({"images": "ghcr.io/acme/api:1.5.0", "repo": "config", "mode": "write"})
    assert result.status != 0
    [error] = result.errors()
    assert error.properties.get("file") == "config/apps/api/deploy.yaml", error
    assert int(error.properties["line"]) in (5, 6)
    assert error.data
    assert "config/apps/api/deploy.yaml" not in error.data
    assert (workspace / "config" / "apps/api/values.yaml").read_text().endswith("tag: 1.4.0\n")


def test_hostile_input_is_data_never_shell(
    run: RunAction, remote: Remote, workspace: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    hostile = f'ghcr.io/acme/api:1.5.0 $(touch {marker}) `touch {marker}` "; touch {marker}'
    result = run(
        {
            "images": hostile,
            "repo": remote.url,
            "mode": "push",
            "branch": f"main;touch {marker}",
            "commit-message": f"::error::forged $(touch {marker})",
        }
    )
    assert result.status != 0
    assert not marker.exists()
    # The only error annotation is the bot's own; nothing the CLI echoed became one.
    assert all(e.properties.get("title") == "gitops-updater" for e in result.errors())
    assert len(result.errors()) == 1


def test_error_text_cannot_inject_workflow_commands(run: RunAction, remote: Remote) -> None:
    result = run(
        {"images": "ghcr.io/acme/api:1.5.0", "repo": remote.url, "args": "--bogus-flag ::error::x"}
    )
    assert result.status != 0
    names = [c.name for c in result.commands]
    assert names.count("error") == 1
    assert "set-output" not in names


def test_usage_error_names_the_input(run: RunAction) -> None:
    result = run({"command": "poll", "mode": "push"})
    assert result.status == 2
    [error] = result.errors()
    assert error.data.startswith("input 'config':")
    assert result.outputs["changed"] == "false"
    assert "input &#x27;config&#x27;" in result.summary or "input 'config'" in result.summary


def test_bad_boolean_names_the_input(run: RunAction, remote: Remote) -> None:
    result = run({"images": "ghcr.io/acme/api:1.5.0", "repo": remote.url, "auto-merge": "maybe"})
    assert result.status == 2
    assert (
        result.errors()[0].data
        == "input 'auto-merge': 'maybe' is not a boolean (use true or false)"
    )


def test_pip_cache_step_runs_and_keys_on_the_action_pyproject(run: RunAction) -> None:
    result = run({"command": "poll", "mode": "push"})
    outputs = result.steps["pip-cache"].outputs
    assert Path(outputs["dir"]).is_absolute()
    assert outputs["key"].startswith("gitops-updater-pip-Linux-3.")
    cache = result.with_values["actions/cache"]
    assert cache == {
        "path": outputs["dir"],
        "key": outputs["key"],
        "restore-keys": "gitops-updater-pip-Linux-",
    }
    setup = result.with_values["actions/setup-python"]
    assert setup == {"python-version": "3.12", "update-environment": "false"}
