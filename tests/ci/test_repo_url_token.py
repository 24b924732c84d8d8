"""A token in the repo URL (``UPDATER_REPO=http://oauth2:SECRET@host/...``), end to end
through the action and the GitLab job: the push really happens with it (the git server
accepts nothing else), and it shows up nowhere a job leaves text: stdout, stderr, the step
summary, the step outputs, the dotenv and report files, and the argv of every process
that runs meanwhile (``/proc/*/cmdline``, sampled all along by a thread, and once more
by the git server while it holds each git request, so that git's own processes are
certainly among those sampled)."""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.support import gitserver
from tests.support.actions import run_action
from tests.support.gitlab_jobs import (
    INCLUDES,
    job_variables,
    load_pipeline,
    parse_dotenv,
    predefined,
    resolve_job,
    run_script,
)
from tests.support.job_remote import CONFIG_FILES, ROOT, Remote, make_remote

pytestmark = [pytest.mark.git_http]

IMAGE = "ghcr.io/acme/api:1.5.0"
NEW_LINE = '    newTag: "1.5.0"  # bumped by CI\n'


def snapshot() -> dict[int, str]:
    """Every process's argv now (NUL-separated words joined by spaces)."""
    found: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                raw = handle.read()
        except OSError:  # the process ended meanwhile
            continue
        found[int(entry.name)] = raw.replace(b"\0", b" ").decode("utf-8", "replace")
    return found


class Sampler:
    """Reads ``/proc/*/cmdline`` over and over in a thread until stopped."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.sweeps = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def add(self, argvs: dict[int, str]) -> None:
        with self._lock:
            self.seen.update(argvs.values())

    def _run(self) -> None:
        while not self._stop.is_set():
            self.add(snapshot())
            self.sweeps += 1
            self._stop.wait(0.002)  # yield the CPU; no result depends on this

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class SamplingGitServer(gitserver.GitHttpServer):
    """The token-checking git server, which samples every process's argv while it holds
    each request it received (the git processes that sent it are waiting meanwhile)."""

    def __init__(self, root: Path, token: str, sampler: Sampler) -> None:
        super().__init__(root, token)
        self.sampler = sampler
        self.held: list[dict[int, str]] = []

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        argvs = snapshot()
        self.held.append(argvs)
        self.sampler.add(argvs)
        super()._serve(handler)


@pytest.fixture
def secret() -> str:
    return f"SECRET{uuid.uuid4().hex}"


@pytest.fixture
def sampler() -> Iterator[Sampler]:
    with Sampler() as running:
        yield running


@pytest.fixture
def served(tmp_path: Path, secret: str, sampler: Sampler) -> Iterator[tuple[Any, Remote, str]]:
    remote = make_remote(tmp_path / "remotes" / "acme", CONFIG_FILES)
    server = SamplingGitServer(tmp_path / "remotes", secret, sampler)
    if server.backend is None:
        pytest.skip("git http-backend is not installed")
    server.start()
    host_port = server.url.removeprefix("http://")
    try:
        yield server, remote, f"http://oauth2:{secret}@{host_port}/acme/config.git"
    finally:
        server.stop()


def forms(secret: str) -> list[str]:
    """The secret and the Basic header value it travels in."""
    return [secret, base64.b64encode(f"oauth2:{secret}".encode()).decode()]


def assert_pushed_with_the_url_s_token(server: Any, remote: Remote, before: str) -> None:
    assert remote.head() != before
    assert remote.show("apps/api/overlays/staging/kustomization.yaml").endswith(NEW_LINE)
    pushes = [r for r in server.requests if r.method == "POST" and "receive-pack" in r.path]
    assert pushes and all(r.authorized and r.user == "oauth2" for r in pushes)


def assert_absent_from_every_argv(secret: str, server: Any, sampler: Sampler) -> None:
    # The git server's own samples prove git's processes were among those sampled.
    git_argvs = [argv for argvs in server.held for argv in argvs.values() if "remote-http" in argv]
    assert git_argvs, "no git-remote-http process was sampled"
    assert sampler.sweeps > 0
    leaked = [argv for argv in sampler.seen if any(form in argv for form in forms(secret))]
    assert leaked == []


def test_action_with_a_token_in_the_repo_url(
    served: tuple[Any, Remote, str],
    tmp_path: Path,
    base_env: dict[str, str],
    secret: str,
    sampler: Sampler,
) -> None:
    server, remote, url = served
    before = remote.head()
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    result = run_action(
        ROOT,
        inputs={"images": IMAGE, "repo": url, "mode": "push"},
        github={
            "token": "ghs_the_job_token_is_not_for_this_host",
            "server_url": "https://github.example",
            "api_url": "https://github.example/api/v3",
            "repository": "acme/app",
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
    assert_pushed_with_the_url_s_token(server, remote, before)
    assert result.outputs["commit-sha"] == remote.head()
    # The runner is told to mask it, and nothing else on stdout carries it.
    masks = [c.data for c in result.commands if c.name == "add-mask"]
    assert secret in masks
    stdout = result.stdout.replace(f"::add-mask::{secret}\n", "")
    texts = {
        "stdout": stdout,
        "stderr": "".join(s.stderr for s in result.steps.values()),
        "summary": result.summary,
        "outputs": json.dumps(result.outputs),
    }
    for name, text in texts.items():
        for form in forms(secret):
            assert form not in text, name
    assert f"{server.url.removeprefix('http://')}/acme/config.git" in result.summary
    assert_absent_from_every_argv(secret, server, sampler)


def test_gitlab_job_with_a_token_in_the_repo_url(
    served: tuple[Any, Remote, str],
    tmp_path: Path,
    base_env: dict[str, str],
    python_bin: Path,
    secret: str,
    sampler: Sampler,
) -> None:
    server, remote, url = served
    before = remote.head()
    project_dir = tmp_path / "builds" / "acme" / "api"
    project_dir.mkdir(parents=True)
    config = load_pipeline(
        ROOT / "examples" / "gitlab" / "build-and-deploy.gitlab-ci.yml", INCLUDES
    )
    job = resolve_job(config, "update-config")
    variables = job_variables(
        config,
        job,
        predefined(project_dir),
        {"UPDATER_REPO": url, "UPDATER_MODE": "push", "UPDATER_IMAGES": IMAGE},
    )
    env = {**base_env, "PATH": f"{python_bin}:{base_env['PATH']}"}
    result = run_script(list(job["script"]), variables, env, project_dir)
    assert result.status == 0, result.stdout + result.stderr
    assert_pushed_with_the_url_s_token(server, remote, before)
    dotenv_text = (project_dir / "gitops-updater.env").read_text()
    assert parse_dotenv(project_dir / "gitops-updater.env")["UPDATER_RESULT_COMMIT_SHA"] == (
        remote.head()
    )
    texts = {
        "stdout": result.stdout,
        "stderr": result.stderr,
        "dotenv": dotenv_text,
        "report": (project_dir / "gitops-updater-report.json").read_text(),
    }
    for name, text in texts.items():
        for form in forms(secret):
            assert form not in text, name
    assert_absent_from_every_argv(secret, server, sampler)
