"""A job whose CI environment is broken (a result file that cannot be written): one
line naming the variable, exit 2, no traceback, and nothing delivered, since the run's
result could not be reported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.job_remote import Remote

IMAGE = "ghcr.io/acme/api:1.5.0"


def run_wrapper(system: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "updater.ci", system],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def settings(remote: Remote) -> dict[str, str]:
    return {"UPDATER_REPO": remote.url, "UPDATER_IMAGES": IMAGE, "UPDATER_MODE": "push"}


def assert_one_line_and_nothing_done(
    done: subprocess.CompletedProcess[str], remote: Remote, before: str, *names: str
) -> None:
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(lines) == 1 and lines[0].startswith("updater.ci: error: "), done.stderr
    assert all(name in lines[0] for name in names), lines[0]
    assert "Traceback" not in done.stdout + done.stderr
    assert remote.head() == before


@pytest.mark.parametrize("kind", ["missing", "a file"])
def test_gitlab_project_dir_that_is_no_directory(
    remote: Remote, base_env: dict[str, str], tmp_path: Path, kind: str
) -> None:
    project_dir = tmp_path / "project"
    if kind == "a file":
        project_dir.write_text("")
    env = {**base_env, **settings(remote), "CI_PROJECT_DIR": str(project_dir)}
    before = remote.head()
    done = run_wrapper("gitlab", env, tmp_path)
    reason = "no such directory" if kind == "missing" else "not a directory"
    assert_one_line_and_nothing_done(done, remote, before, "CI_PROJECT_DIR", str(project_dir))
    assert reason in done.stderr


@pytest.mark.parametrize("variable", ["GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"])
@pytest.mark.parametrize("kind", ["in a missing directory", "a directory"])
def test_github_result_file_that_cannot_be_written(
    remote: Remote, base_env: dict[str, str], tmp_path: Path, variable: str, kind: str
) -> None:
    files = {name: tmp_path / name.lower() for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")}
    for path in files.values():
        path.write_text("")
    bad = tmp_path / "gone" / "file" if kind == "in a missing directory" else tmp_path / "dir"
    if kind == "a directory":
        bad.mkdir()
    files[variable] = bad
    env = {
        **base_env,
        **settings(remote),
        "UPDATER_TOKEN": "ghs_NotNeededHere0123",
        **{name: str(path) for name, path in files.items()},
    }
    before = remote.head()
    done = run_wrapper("github", env, tmp_path)
    assert_one_line_and_nothing_done(done, remote, before, variable, str(bad))
    assert "ghs_NotNeededHere0123" not in done.stderr


def test_a_deleted_working_directory_is_one_line(
    remote: Remote, base_env: dict[str, str], tmp_path: Path
) -> None:
    # GITHUB_WORKSPACE unset and the current directory gone: the wrapper falls back to it
    # for annotation paths, and must still end in one line.
    gone = tmp_path / "gone"
    gone.mkdir()
    script = (
        "import os, sys\n"
        f"os.chdir({str(gone)!r}); os.rmdir({str(gone)!r})\n"
        "from updater.ci.__main__ import main\n"
        "sys.exit(main(['github']))\n"
    )
    workspace_repo = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", remote.url, str(workspace_repo)], check=True)
    env = {**base_env, "UPDATER_REPO": str(workspace_repo), "UPDATER_IMAGES": "ghcr.io/x/y:1"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode != 0
