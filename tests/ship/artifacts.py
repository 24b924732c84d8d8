"""What the packaging tests build once and share: a snapshot of the source tree as a
tagged git repo, the wheel built from it, and a wheelhouse of its dependencies.

Everything lands in a cache directory keyed on its inputs and is built under a file
lock, so parallel xdist workers (and later sessions) build each thing once."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
# The release under test: the snapshot is tagged v<this>, and everything built from it
# must call itself this version.
TEST_VERSION = "9.8.7"
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "release",
    "GIT_AUTHOR_EMAIL": "release@example.invalid",
    "GIT_COMMITTER_NAME": "release",
    "GIT_COMMITTER_EMAIL": "release@example.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


def cache_root() -> Path:
    base = os.environ.get("UPDATER_TEST_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gitops-updater-tests"
    )
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def run(
    args: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> str:
    """Run a command; on failure the assertion carries its output, not just the code."""
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, (
        f"{' '.join(args)} exited {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return done.stdout


def git(*args: str, cwd: Path) -> str:
    return run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV})


@contextmanager
def locked(name: str) -> Iterator[None]:
    with open(cache_root() / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cached(name: str, key: str, build: Callable[[Path], None]) -> Path:
    """``cache/<name>-<key>``, made by ``build(directory)`` once; a failed build leaves
    nothing behind."""
    target = cache_root() / f"{name}-{key}"
    with locked(name):
        if target.is_dir():
            return target
        scratch = cache_root() / f".{name}-{key}.partial"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        try:
            build(scratch)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        scratch.rename(target)
        prune(name, keep=target)
        return target


def prune(name: str, *, keep: Path, newest: int = 4) -> None:
    """Every source change makes new entries: keep the few most recent of a kind (other
    worktrees on the machine share the cache)."""
    entries = sorted(
        (path for path in cache_root().glob(f"{name}-*") if path.is_dir() and path != keep),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    for stale in entries[newest - 1 :]:
        shutil.rmtree(stale, ignore_errors=True)


def source_files() -> list[str]:
    """The tree as a fresh clone would have it, plus uncommitted work in progress."""
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT)
    return sorted(name for name in listed.split("\0") if name and (ROOT / name).is_file())


def tree_key(files: list[str]) -> str:
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0" + (ROOT / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def tagged_snapshot() -> Path:
    """The source tree committed into a repo of its own and tagged ``v<TEST_VERSION>``."""
    files = source_files()

    def build(directory: Path) -> None:
        for name in files:
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, directory / name)
        git("init", "-q", "-b", "main", cwd=directory)
        git("add", "-A", cwd=directory)
        git("commit", "-q", "-m", "release", cwd=directory)
        git("tag", f"v{TEST_VERSION}", cwd=directory)

    return cached("snapshot", tree_key(files), build)


def project_wheel() -> Path:
    """The wheel built from the tagged snapshot (its sdist beside it)."""
    snapshot = tagged_snapshot()

    def build(directory: Path) -> None:
        # No build isolation: the dev venv has the build backend, and the test stays
        # off the network.
        run(
            [
                sys.executable,
                "-m",
                "build",
                "--no-isolation",
                "--sdist",
                "--wheel",
                "--outdir",
                str(directory),
                str(snapshot),
            ]
        )

    dist = cached("dist", snapshot.name.rpartition("-")[2], build)
    (wheel,) = dist.glob("gitops_updater-*.whl")
    return wheel


def dependencies() -> list[str]:
    """The run-time dependencies of the image: the project's and its ``serve`` extra's."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return sorted([*project["dependencies"], *project["optional-dependencies"]["serve"]])


def dependency_wheelhouse() -> Path:
    """Wheels of every run-time dependency, for this interpreter and platform."""
    requirements = dependencies()
    key = hashlib.sha256(
        "\n".join([sys.version.split()[0], sys.platform, *requirements]).encode()
    ).hexdigest()[:16]

    def build(directory: Path) -> None:
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--disable-pip-version-check",
                "--wheel-dir",
                str(directory),
                *requirements,
            ],
            timeout=600,
        )

    return cached("wheels", key, build)


def build_wheelhouse() -> Path:
    """Wheels of the build backend (pyproject's build-system.requires), so that an
    isolated ``python -m build`` runs offline with ``PIP_NO_INDEX=1``."""
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"][
        "requires"
    ]
    key = hashlib.sha256("\n".join(sorted(requires)).encode()).hexdigest()[:16]

    def build(directory: Path) -> None:
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--only-binary=:all:",
                "--dest",
                str(directory),
                *requires,
            ],
            timeout=600,
        )

    return cached("build-wheels", key, build)
