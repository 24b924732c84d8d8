"""Run a composite action's steps the way the Actions runner does, without the runner.

What is real: each ``run:`` script runs in ``bash --noprofile --norc -eo pipefail`` (the
runner's ``shell: bash``) with its ``env:`` evaluated, fresh ``GITHUB_OUTPUT``,
``GITHUB_STEP_SUMMARY``, ``GITHUB_ENV`` and ``GITHUB_PATH`` files, and the workflow
commands it prints are parsed (``::stop-commands::`` honoured). What is stood in for:
``uses:`` steps (setup-python, cache) and any step named in ``replace``, whose outputs
the test supplies. The expression evaluator knows only what action.yml uses — a dotted
context path — and fails loudly on anything else.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
CONTEXT_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*$")
COMMAND = re.compile(r"^::(?P<name>[A-Za-z-]+)(?: (?P<props>[^:]*))?::(?P<data>.*)$")


class UnsupportedExpression(AssertionError):
    pass


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def evaluate(template: str, contexts: Mapping[str, Any]) -> str:
    """Substitute every ``${{ a.b.c }}``; a missing value is "" as on GitHub."""

    def one(match: re.Match[str]) -> str:
        expression = match.group(1).strip()
        if not CONTEXT_PATH.match(expression):
            raise UnsupportedExpression(f"expression not supported by the test: {expression}")
        value: Any = contexts
        for part in expression.split("."):
            value = value.get(part, "") if isinstance(value, Mapping) else ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    return EXPRESSION.sub(one, template)


def scalar(value: Any) -> str:
    """A YAML value as the runner passes it on: booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def unescape_data(value: str) -> str:
    return value.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(value: str) -> str:
    return unescape_data(value.replace("%3A", ":").replace("%2C", ","))


@dataclass(frozen=True)
class WorkflowCommand:
    name: str
    properties: dict[str, str]
    data: str


def parse_commands(stdout: str) -> list[WorkflowCommand]:
    commands: list[WorkflowCommand] = []
    stop_token: str | None = None
    for line in stdout.splitlines():
        if stop_token is not None:
            if line == f"::{stop_token}::":
                stop_token = None
            continue
        match = COMMAND.match(line)
        if not match:
            continue
        props: dict[str, str] = {}
        for pair in (match["props"] or "").split(","):
            if "=" in pair:
                key, _, value = pair.partition("=")
                props[key.strip()] = unescape_property(value)
        command = WorkflowCommand(match["name"], props, unescape_data(match["data"]))
        if command.name == "stop-commands":
            stop_token = command.data
            continue
        commands.append(command)
    return commands


def parse_file_commands(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` / ``$GITHUB_ENV``: ``name=value`` or ``name<<DELIM`` blocks."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, _, delimiter = line.partition("<<")
            body: list[str] = []
            while lines[index] != delimiter:
                body.append(lines[index])
                index += 1
            index += 1
            values[name] = "\n".join(body)
        else:
            name, _, value = line.partition("=")
            values[name] = value
    return values


@dataclass
class StepRun:
    id: str
    outputs: dict[str, str]
    status: int = 0
    stdout: str = ""
    stderr: str = ""
    env: dict[str, str] = field(default_factory=dict)
    commands: list[WorkflowCommand] = field(default_factory=list)
    ran: bool = True


@dataclass
class ActionRun:
    status: int
    outputs: dict[str, str]
    steps: dict[str, StepRun]
    summary: str
    with_values: dict[str, dict[str, str]]

    @property
    def stdout(self) -> str:
        return "".join(step.stdout for step in self.steps.values())

    @property
    def commands(self) -> list[WorkflowCommand]:
        return [command for step in self.steps.values() for command in step.commands]

    def errors(self) -> list[WorkflowCommand]:
        return [c for c in self.commands if c.name == "error"]


def run_action(
    action_dir: Path,
    *,
    inputs: Mapping[str, str],
    github: Mapping[str, str],
    runner: Mapping[str, str],
    workspace: Path,
    base_env: Mapping[str, str],
    uses_outputs: Mapping[str, Mapping[str, str]] = {},
    replace: Mapping[str, Mapping[str, str]] = {},
) -> ActionRun:
    action = load_yaml(action_dir / "action.yml")
    declared = action.get("inputs") or {}
    unknown = set(inputs) - set(declared)
    assert not unknown, f"inputs the action does not declare: {sorted(unknown)}"
    contexts: dict[str, Any] = {"github": dict(github), "runner": dict(runner), "steps": {}}
    contexts["inputs"] = {
        name: inputs[name] if name in inputs else evaluate(str(spec.get("default", "")), contexts)
        for name, spec in declared.items()
    }

    temp = Path(runner["temp"])
    job_env: dict[str, str] = {}
    extra_path: list[str] = []
    steps: dict[str, StepRun] = {}
    with_values: dict[str, dict[str, str]] = {}
    summary = ""
    status = 0
    for number, step in enumerate(action["runs"]["steps"]):
        step_id = str(step.get("id") or f"__{number}")
        if "uses" in step:
            name = str(step["uses"]).partition("@")[0]
            with_values[name] = {
                key: evaluate(scalar(value), contexts)
                for key, value in (step.get("with") or {}).items()
            }
        if step_id in replace or "uses" in step:
            outputs = dict(replace[step_id] if step_id in replace else uses_outputs[name])
            steps[step_id] = StepRun(step_id, outputs, ran=False)
            contexts["steps"][step_id] = {"outputs": outputs, "outcome": "success"}
            continue
        assert step.get("shell") == "bash", f"step {step_id}: the test runs only shell: bash"
        files = {
            name: temp / f"{step_id}.{name}"
            for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_PATH")
        }
        for path in files.values():
            path.write_text("", encoding="utf-8")
        step_env = {
            key: evaluate(str(value), contexts) for key, value in (step.get("env") or {}).items()
        }
        env = {
            **base_env,
            **{key: str(value) for key, value in files.items()},
            "GITHUB_ACTION_PATH": str(action_dir),
            "GITHUB_WORKSPACE": str(workspace),
            "RUNNER_TEMP": str(temp),
            "RUNNER_OS": runner["os"],
            "GITHUB_SERVER_URL": github["server_url"],
            "GITHUB_API_URL": github["api_url"],
            "GITHUB_REPOSITORY": github["repository"],
            "GITHUB_RUN_ID": str(github.get("run_id", "1")),  # the runner always sets it
            **job_env,
            **step_env,
        }
        if extra_path:
            env["PATH"] = os.pathsep.join([*extra_path, env.get("PATH", "")])
        script = temp / f"{step_id}.sh"
        script.write_text(str(step["run"]), encoding="utf-8")
        completed = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        outputs = parse_file_commands(files["GITHUB_OUTPUT"].read_text(encoding="utf-8"))
        job_env.update(parse_file_commands(files["GITHUB_ENV"].read_text(encoding="utf-8")))
        extra_path[:0] = files["GITHUB_PATH"].read_text(encoding="utf-8").split()
        summary += files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
        steps[step_id] = StepRun(
            step_id,
            outputs,
            completed.returncode,
            completed.stdout,
            completed.stderr,
            env=step_env,
            commands=parse_commands(completed.stdout),
        )
        outcome = "success" if completed.returncode == 0 else "failure"
        contexts["steps"][step_id] = {"outputs": outputs, "outcome": outcome}
        if completed.returncode:
            status = completed.returncode
            break
    outputs = {
        name: evaluate(str(spec.get("value", "")), contexts)
        for name, spec in (action.get("outputs") or {}).items()
    }
    return ActionRun(status, outputs, steps, summary, with_values)
