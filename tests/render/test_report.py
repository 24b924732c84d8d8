"""What --verify-render adds to the texts for people: the PR/MR body, the CI step
summary and the job log, all from the plan the check passed (or the error it raised)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.render.conftest import FIXTURES, run_cli
from updater.ci.invoke import CliResult
from updater.ci.summary import markdown, plain
from updater.edit.planner import plan
from updater.reference import parse_change
from updater.render import CheckedPlanner, RenderCheckError, VerifyOptions
from updater.report import pull_request_body


def test_the_pull_request_body_shows_what_deploys(tmp_path: Path, kubectl: str) -> None:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "kustomize" / "base", root / "base")
    changes = [parse_change("ghcr.io/acme/api:1.5.0")]
    checked = CheckedPlanner(lambda r: plan(r, changes), VerifyOptions(kustomize_bin=kubectl))
    body = pull_request_body(checked(root), base="main", images=("ghcr.io/acme/api",))
    assert (
        "#### Rendered\n\n- <code>base: Deployment/api container api: 1.4.2 → 1.5.0</code>\n"
        in (body)
    )
    # a plan that was not rendered gets no such section
    assert "Rendered" not in pull_request_body(plan(root, changes), base="main")


def test_a_refusal_raises_before_anything_is_written(tmp_path: Path, helm: str) -> None:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "charts" / "envtag", root / "chart")
    changes = [parse_change("ghcr.io/acme/api:1.5.0")]
    checked = CheckedPlanner(lambda r: plan(r, changes), VerifyOptions(helm_bin=helm))
    try:
        checked(root)
    except RenderCheckError as error:
        assert error.as_json()["render"]["status"] == "failed"
        assert "+          value: 1.5.0" in error.details
    else:
        raise AssertionError("the render check passed a tag that feeds an env var")
    assert "1.4.2" in (root / "chart/values.yaml").read_text()


def test_the_step_summary_and_log_list_the_rendered_lines(
    tmp_path: Path, renderers_path: str
) -> None:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "kustomize", root / "kustomize")
    done = run_cli(
        [
            "set-image",
            "--repo",
            str(root),
            "--json",
            "--verify-render",
            "--path",
            "kustomize/base",
            "ghcr.io/acme/api:1.5.0",
        ],
        path=renderers_path,
    )
    result = CliResult(done.returncode, json.loads(done.stdout))
    line = "kustomize/base: Deployment/api container api: 1.4.2 → 1.5.0"
    assert f"<li><code>{line}</code></li>" in markdown(result, None)
    assert f"  rendered: {line}\n" in plain(result, None)


def test_a_refused_json_run_prints_one_report_with_the_render(
    tmp_path: Path, renderers_path: str
) -> None:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "charts" / "envtag", root / "chart")
    done = run_cli(
        [
            "set-image",
            "--repo",
            str(root),
            "--json",
            "--write",
            "--verify-render",
            "ghcr.io/acme/api:1.5.0",
        ],
        path=renderers_path,
    )
    assert done.returncode == 3
    error = json.loads(done.stdout)["error"]
    assert error["render"]["failures"][0].startswith("chart: rendered change that is not an")
    summary = markdown(CliResult(3, json.loads(done.stdout)), None)
    assert "Rendered:" in summary and "API_VERSION" not in summary
