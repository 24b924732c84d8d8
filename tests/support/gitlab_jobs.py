"""Resolve and run a GitLab CI job the way GitLab and its runner do, for the parts the
template uses: ``include`` (mapped to local files), ``extends`` (hashes merged deeply,
everything else replaced), variable expansion and precedence, ``rules: if`` with
``==``/``!=``, the job script in one ``bash -eo pipefail`` shell, and the ``dotenv``
report parsed with GitLab's own restrictions."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.actions import load_yaml
from tests.support.job_remote import ROOT

GLOBAL_KEYWORDS = frozenset(
    {
        "include",
        "stages",
        "variables",
        "default",
        "workflow",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
        "spec",
    }
)
_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_DOTENV_LINE = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")
_RULE = re.compile(r"^\$(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>==|!=)\s*(?P<right>.+)$")
DOTENV_MAX_BYTES = 5 * 1024
DOTENV_MAX_VARIABLES = 20


def merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    return override


def load_pipeline(path: Path, includes: Mapping[str, Path]) -> dict[str, Any]:
    """The file with its includes merged in first (the including file wins)."""
    config = load_yaml(path)
    merged: dict[str, Any] = {}
    include = config.get("include") or []
    for item in include if isinstance(include, list) else [include]:
        target = item["file"] if isinstance(item, dict) else item
        merged = merge(merged, load_yaml(includes[str(target)]))
    return merge(merged, {k: v for k, v in config.items() if k != "include"})


def resolve_job(config: Mapping[str, Any], name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    assert name not in seen, f"extends loop: {seen}"
    job = dict(config[name])
    parents = job.pop("extends", [])
    resolved: dict[str, Any] = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        resolved = merge(resolved, resolve_job(config, parent, (*seen, name)))
    return merge(resolved, job)


def expand(value: str, variables: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return variables.get(match.group(1) or match.group(2), "")

    return _VARIABLE.sub(one, value)


def job_variables(
    config: Mapping[str, Any],
    job: Mapping[str, Any],
    predefined: Mapping[str, str],
    project: Mapping[str, str],
) -> dict[str, str]:
    """Precedence, lowest first: predefined, global, job, project/pipeline variables;
    a value may refer to variables defined before it."""
    variables: dict[str, str] = {**predefined, **project}
    for layer in (config.get("variables") or {}, job.get("variables") or {}):
        for key, value in layer.items():
            raw = value.get("value", "") if isinstance(value, dict) else value
            variables[key] = expand(str(raw), variables)
    variables.update(project)
    return variables


def rule_matches(condition: str, variables: Mapping[str, str]) -> bool:
    match = _RULE.match(condition.strip())
    assert match, f"rule not supported by the test: {condition}"
    right = match["right"].strip()
    if right.startswith("$"):
        wanted = variables.get(right[1:], "")
    else:
        assert right[0] == right[-1] and right[0] in "\"'", f"unquoted literal: {right}"
        wanted = right[1:-1]
    equal = variables.get(match["name"], "") == wanted
    return equal if match["op"] == "==" else not equal


def job_runs(job: Mapping[str, Any], variables: Mapping[str, str]) -> bool:
    rules = job.get("rules")
    if rules is None:
        return True
    for rule in rules:
        if "if" not in rule or rule_matches(str(rule["if"]), variables):
            return rule.get("when", "on_success") != "never"
    return False


@dataclass
class JobRun:
    status: int
    stdout: str
    stderr: str
    variables: dict[str, str]


def run_script(
    lines: list[str], variables: Mapping[str, str], base_env: Mapping[str, str], cwd: Path
) -> JobRun:
    script = "\n".join(str(line) for line in lines) + "\n"
    env = {**base_env, **variables}
    completed = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return JobRun(completed.returncode, completed.stdout, completed.stderr, dict(variables))


def parse_dotenv(path: Path) -> dict[str, str]:
    """GitLab's dotenv report rules: fail on what GitLab would reject."""
    data = path.read_bytes()
    assert len(data) < DOTENV_MAX_BYTES, f"dotenv report too large: {len(data)} bytes"
    values: dict[str, str] = {}
    for line in data.decode("utf-8").split("\n")[:-1]:
        match = _DOTENV_LINE.match(line)
        assert match, f"GitLab rejects this dotenv line: {line!r}"
        values[match["key"]] = match["value"]
    assert data.endswith(b"\n") or not data, "dotenv report: last line unterminated"
    assert len(values) <= DOTENV_MAX_VARIABLES, "too many dotenv variables"
    return values


# ------------------------------------------------------------------------- the template

# The project's own template, included as examples/gitlab includes it.

TEMPLATE = ROOT / ".gitlab-ci-template.yml"
INCLUDES = {".gitlab-ci-template.yml": TEMPLATE}
JOB_TOKEN = "glcbt-TestOnlyJobToken4567"
SHA = "0123456789abcdef0123456789abcdef01234567"


def predefined(project_dir: Path, source: str = "push") -> dict[str, str]:
    """The CI_* variables GitLab gives a job of a ``source`` pipeline on main."""
    return {
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_PROJECT_DIR": str(project_dir),
        "CI_PROJECT_PATH": "acme/api",
        "CI_SERVER_URL": "https://gitlab.example",
        "CI_API_V4_URL": "https://gitlab.example/api/v4",
        "CI_REGISTRY_IMAGE": "ghcr.io/acme/api",
        "CI_COMMIT_SHA": SHA,
        "CI_COMMIT_BRANCH": "main",
        "CI_DEFAULT_BRANCH": "main",
        "CI_PIPELINE_SOURCE": source,
        "CI_JOB_TOKEN": JOB_TOKEN,
        "CI_JOB_URL": "https://gitlab.example/acme/api/-/jobs/77",
    }
