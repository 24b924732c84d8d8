"""action.yml read as data: what it promises without running it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.actions import EXPRESSION, load_yaml
from tests.support.job_remote import ROOT
from updater.ci.settings import variable

REQUIRED_INPUTS = {
    "command",
    "images",
    "repo",
    "branch",
    "mode",
    "paths",
    "token",
    "config",
    "commit-message",
    "labels",
    "reviewers",
    "auto-merge",
    "python-version",
}
REQUIRED_OUTPUTS = {"changed", "commit-sha", "pull-request-url", "report"}


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    return load_yaml(ROOT / "action.yml")  # type: ignore[no-any-return]


def steps(action: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(step.get("id")): step for step in action["runs"]["steps"]}


def test_no_expression_inside_any_run_script(action: dict[str, Any]) -> None:
    # `${{ }}` in a script is pasted in as shell text before bash runs: an image tag or a
    # branch name would become code. Values must arrive through env: instead.
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"], f"expression in run script of {step.get('id')}"
            assert not EXPRESSION.search(step["run"])


def test_the_check_above_would_catch_one() -> None:
    bad = load_yaml(ROOT / "action.yml")
    bad["runs"]["steps"][-1]["run"] = 'echo "${{ inputs.images }}"'
    with pytest.raises(AssertionError, match="expression in run script"):
        test_no_expression_inside_any_run_script(bad)


def test_inputs_and_outputs(action: dict[str, Any]) -> None:
    assert set(action["inputs"]) >= REQUIRED_INPUTS
    assert set(action["outputs"]) >= REQUIRED_OUTPUTS
    for name, spec in action["outputs"].items():
        assert spec["value"] == f"${{{{ steps.run.outputs.{name} }}}}"


def test_every_input_reaches_the_bot_through_env(action: dict[str, Any]) -> None:
    run = steps(action)["run"]
    env = run["env"]
    for name in action["inputs"]:
        if name == "python-version":
            continue
        assert env[variable(name)] == f"${{{{ inputs.{name} }}}}", name
    referenced = set(re.findall(r"inputs\.([\w-]+)", str(action)))
    assert referenced <= set(action["inputs"]), referenced - set(action["inputs"])


def test_token_defaults_to_the_job_token(action: dict[str, Any]) -> None:
    assert action["inputs"]["token"]["default"] == "${{ github.token }}"


def test_bot_is_installed_from_the_action_checkout_into_its_own_venv(
    action: dict[str, Any],
) -> None:
    by_id = steps(action)
    setup = by_id["python"]
    assert setup["uses"].startswith("actions/setup-python@")
    assert setup["with"]["python-version"] == "${{ inputs.python-version }}"
    assert setup["with"]["update-environment"] is False
    install = by_id["install"]["run"]
    assert '-m venv "$venv"' in install
    assert 'pip install --quiet --disable-pip-version-check "$GITHUB_ACTION_PATH"' in install
    assert 'echo "python=$bin" >> "$GITHUB_OUTPUT"' in install
    assert by_id["run"]["env"]["UPDATER_PYTHON"] == "${{ steps.install.outputs.python }}"
    assert by_id["run"]["run"].strip().strip("'") == '"$UPDATER_PYTHON" -m updater.ci github'


def test_pip_downloads_are_cached_by_the_action_pyproject(action: dict[str, Any]) -> None:
    ordered = [
        step.get("id") or step.get("uses", "").partition("@")[0] for step in action["runs"]["steps"]
    ]
    assert ordered.index("pip-cache") < ordered.index("actions/cache") < ordered.index("install")
    cache = next(
        s for s in action["runs"]["steps"] if s.get("uses", "").startswith("actions/cache@")
    )
    assert cache["with"]["path"] == "${{ steps.pip-cache.outputs.dir }}"
    assert cache["with"]["key"] == "${{ steps.pip-cache.outputs.key }}"
    assert '"$GITHUB_ACTION_PATH/pyproject.toml"' in steps(action)["pip-cache"]["run"]


def test_the_package_ships_the_ci_module() -> None:
    # The install step installs the checkout as a package; updater.ci must be in it.
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert any(re.fullmatch(pattern.replace("*", ".*"), "updater.ci") for pattern in include)
    assert (ROOT / "updater" / "ci" / "__main__.py").is_file()
